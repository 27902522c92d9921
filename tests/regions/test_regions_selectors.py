"""Selectors: lookups, hierarchy, subtree filters, population, and the NIK-prefix check."""

import time

import pytest
from django.db.models import Q

from dtsen.regions import selectors
from dtsen.regions.errors import RegionNotFound
from dtsen.regions.models import Edition, Region, RegionChange
from dtsen.regions.selectors import (
    RegionPopulation,
    edition_current,
    region_ancestors,
    region_children,
    region_code_current,
    region_code_is_known,
    region_get,
    region_population,
    region_subtree_codes,
    region_subtree_filter,
    villages_in,
)

pytestmark = pytest.mark.django_db


def test_current_edition():
    assert edition_current().code == "2025"


def test_region_get_defaults_to_the_current_edition(django_assert_num_queries):
    with django_assert_num_queries(1):
        region = region_get("34.01")
    assert region.name == "Kabupaten Kulon Progo"
    assert region.edition.code == "2025"
    assert region_get("3401").pk == region.pk  # undotted form


def test_region_get_in_an_older_edition():
    assert region_get("92.01", edition="2022").name == "KAB. SORONG"
    assert region_get("92.01", edition=Edition.objects.get(code="2022")).code == "92.01"
    with pytest.raises(RegionNotFound) as exc:
        region_get("92.01")  # gone from 2025: now 96.01
    assert exc.value.code == "region_not_found"
    assert "tidak ditemukan" in exc.value.message_id
    assert "not found" in exc.value.message_en


@pytest.mark.parametrize("code", ["99.99", "abc", "34.1", ""])
def test_region_get_unknown(code):
    with pytest.raises(RegionNotFound):
        region_get(code)


def test_children():
    provinces = region_children("")
    assert provinces.count() == 38
    kecamatan = list(region_children("34.01").values_list("name", flat=True))
    assert len(kecamatan) == 12
    assert kecamatan[0] == "Temon"
    assert region_children("34.01.01.2001").count() == 0


def test_subtree_filter_builds_a_prefix_query():
    q = region_subtree_filter("340101", field="village_code")
    assert q == Q(village_code="34.01.01") | Q(village_code__startswith="34.01.01.")
    assert region_subtree_filter("", field="village_code") == Q()


def test_subtree_filter_on_a_code_column():
    # Used here on RegionChange.new_code, as another app would on its own village-code column
    under_96 = RegionChange.objects.filter(region_subtree_filter("96", field="new_code"))
    assert under_96.count() > 1000
    assert all(code == "96" or code.startswith("96.") for code in under_96.values_list("new_code", flat=True))
    # The region itself is included, its siblings are not
    kulon_progo = Region.objects.filter(region_subtree_filter("34.01", field="code"), edition__code="2025")
    assert kulon_progo.filter(code="34.01").exists()
    assert not kulon_progo.exclude(code__startswith="34.01").exists()
    # A malformed code is refused rather than silently matching a prefix of something else
    with pytest.raises(RegionNotFound):
        region_subtree_filter("34.0", field="code")


def test_subtree_codes_and_villages():
    kulon_progo_villages = villages_in("34.01")
    assert kulon_progo_villages.count() == 88
    assert {v.kind for v in kulon_progo_villages} <= {"desa", "kelurahan"}
    codes = region_subtree_codes("34.01")
    assert codes.count() == 1 + 12 + 88
    assert list(region_subtree_codes("34.01", level=4)) == list(
        kulon_progo_villages.values_list("code", flat=True)
    )
    # Usable as a subquery
    assert (
        Region.objects.filter(code__in=region_subtree_codes("34.01", level=3), edition__code="2025").count()
        == 12
    )
    assert villages_in("").count() == 83762


def test_subtree_in_the_older_edition():
    assert villages_in("92.01", edition="2022").exists()
    assert not villages_in("92.01").exists()
    assert villages_in("96.01").exists()


def test_ancestors_give_the_address_chain(django_assert_num_queries):
    with django_assert_num_queries(1):
        chain = region_ancestors("3401012001")
    assert [(r.level, r.name) for r in chain] == [
        (1, "Daerah Istimewa Yogyakarta"),
        (2, "Kabupaten Kulon Progo"),
        (3, "Temon"),
        (4, "Jangkaran"),
    ]
    # An unknown village still shows the part of the chain that exists
    assert [r.code for r in region_ancestors("34.01.01.2999")] == ["34", "34.01", "34.01.01"]
    assert region_ancestors("") == []


def test_population():
    assert region_population("34.01") == RegionPopulation(male=220557, female=224437, total=444994)
    yogyakarta = region_population("34")
    assert yogyakarta is not None
    assert yogyakarta.total == 3743365
    nation = region_population("0")
    assert nation == RegionPopulation(male=143863392, female=141110251, total=284973643)
    assert region_population("") == nation
    assert region_population("34.01.01") is None  # no kecamatan figures in the source
    assert region_population("34.01", edition="2022") is None
    with pytest.raises(RegionNotFound):
        region_population("99.99")


def test_code_current_follows_recoding():
    assert region_code_current("34.01") == "34.01"
    assert region_code_current("920101") == "96.01.01"  # Makbon, under Kabupaten Sorong
    assert region_code_current("92.71") == "96.71"
    assert region_code_current("99.99") is None
    assert region_code_current("x") is None


@pytest.mark.parametrize(
    ("code", "known"),
    [
        ("340101", True),  # Temon, Kulon Progo
        ("34.01.01", True),
        ("960101", True),  # only in 2025
        ("920101", True),  # only in 2022: an old NIK can still carry it
        ("3401012001", True),
        ("34.01.01.2999", False),
        ("999999", False),
        ("340199", False),
        ("34", True),
        ("", False),
        ("34010", False),
        ("abcdef", False),
    ],
)
def test_code_is_known_in_any_edition(code, known, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert region_code_is_known(code) is known


def test_code_is_known_agrees_with_the_database():
    kecamatan_in_db = set(Region.objects.filter(level=3).values_list("code", flat=True))
    assert selectors._known_codes(frozenset({1, 2, 3})) >= kecamatan_in_db
    assert {c for c in selectors._known_codes(frozenset({1, 2, 3})) if c.count(".") == 2} == kecamatan_in_db


def test_code_is_known_is_fast():
    region_code_is_known("340101")  # warm the cache
    started = time.perf_counter()
    for _ in range(10_000):
        region_code_is_known("340101")
    assert time.perf_counter() - started < 0.5
