"""Loading the shipped editions: counts, kinds, figures, idempotency, the command."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from dtsen.regions.models import Edition, Region, RegionChange
from dtsen.regions.services import regions_load

pytestmark = pytest.mark.django_db


def _counts(edition: str) -> dict[str, int]:
    rows = Region.objects.filter(edition__code=edition).values("kind").annotate(n=Count("id"))
    return {row["kind"]: row["n"] for row in rows}


def test_2025_counts_match_the_kepmendagri():
    # Given the session-wide load; then 2025 has the official counts per level
    by_level = dict(
        Region.objects.filter(edition__code="2025").values_list("level").annotate(n=Count("id")).order_by()
    )
    assert by_level == {1: 38, 2: 514, 3: 7285, 4: 83762}
    kinds = _counts("2025")
    assert kinds["kabupaten"] == 416
    assert kinds["kota"] == 98
    assert kinds["kelurahan"] == 8496
    assert kinds["desa"] + kinds["desa_adat"] == 75266


def test_2022_counts():
    by_level = dict(
        Region.objects.filter(edition__code="2022").values_list("level").annotate(n=Count("id")).order_by()
    )
    assert by_level == {1: 37, 2: 514, 3: 7277, 4: 83763}


def test_editions():
    editions = {e.code: e for e in Edition.objects.all()}
    assert set(editions) == {"2022", "2025"}
    assert editions["2025"].is_current
    assert not editions["2022"].is_current
    assert "300.2.2-2430" in editions["2025"].regulation
    assert "100.1.1-6117" in editions["2022"].regulation
    assert editions["2022"].valid_from < editions["2025"].valid_from


@pytest.mark.parametrize("edition", ["2022", "2025"])
def test_kind_agrees_with_code(edition):
    # kab 01–69, kota 71–99; village number starting 1 kelurahan, 2 desa, 3 desa adat
    expected_village = {"1": "kelurahan", "2": "desa", "3": "desa_adat"}
    for code, level, kind, parent in Region.objects.filter(edition__code=edition).values_list(
        "code", "level", "kind", "parent_code"
    ):
        last = code.rsplit(".", 1)[-1]
        if level == 2:
            assert kind == ("kabupaten" if 1 <= int(last) <= 69 else "kota"), code
            assert 1 <= int(last) <= 69 or 71 <= int(last) <= 99, code
        elif level == 4:
            assert kind == expected_village[last[0]], code
        else:
            assert kind == {1: "provinsi", 3: "kecamatan"}[level], code
        assert parent == code.rpartition(".")[0], code


def test_every_parent_exists():
    for edition in ("2022", "2025"):
        codes = set(Region.objects.filter(edition__code=edition).values_list("code", flat=True))
        parents = set(
            Region.objects.filter(edition__code=edition, level__gt=1).values_list("parent_code", flat=True)
        )
        assert parents <= codes


def test_kulon_progo_population_and_area_from_the_shipped_files():
    kulon_progo = Region.objects.get(edition__code="2025", code="34.01")
    assert kulon_progo.name == "Kabupaten Kulon Progo"
    assert (kulon_progo.population_male, kulon_progo.population_female, kulon_progo.population_total) == (
        220557,
        224437,
        444994,
    )
    assert kulon_progo.area_km2 == Decimal("576.803")


def test_figures_cover_provinces_and_kab_kota_of_2025_only():
    current = Region.objects.filter(edition__code="2025")
    assert current.filter(level__lte=2, population_total__isnull=True).count() == 0
    assert current.filter(level__lte=2, area_km2__isnull=True).count() == 0
    assert current.filter(level__gte=3, population_total__isnull=False).count() == 0
    assert Region.objects.filter(edition__code="2022", population_total__isnull=False).count() == 0


def test_mangled_area_codes_are_repaired():
    # Upstream wrote 11.10 as "11.1" and province 31 as "31.0"; the loader restores them
    assert Region.objects.get(edition__code="2025", code="11.10").area_km2 == Decimal("1851.615")
    assert Region.objects.get(edition__code="2025", code="31").area_km2 == Decimal("661.530")


def test_second_load_changes_nothing(django_assert_max_num_queries):
    # Given the loaded tables
    before = list(Region.objects.order_by("pk").values_list("pk", "code", "name", "population_total"))
    changes_before = list(
        RegionChange.objects.order_by("pk").values_list("pk", "kind", "old_code", "new_code")
    )

    # When loading again
    result = regions_load(progress=False)

    # Then nothing was written and ids are stable
    assert not result.changed_anything
    assert all(e.regions.written == 0 and not e.edition_written for e in result.editions)
    assert list(Region.objects.order_by("pk").values_list("pk", "code", "name", "population_total")) == before
    assert (
        list(RegionChange.objects.order_by("pk").values_list("pk", "kind", "old_code", "new_code"))
        == changes_before
    )


def test_load_repairs_a_tampered_table():
    # Given a deleted village, a renamed kab and a stray region
    Region.objects.filter(edition__code="2025", code="34.01.01.2001").delete()
    Region.objects.filter(edition__code="2025", code="34.01").update(
        name="Kulon Progo (salah)", population_total=1
    )
    Region.objects.create(
        edition=Edition.objects.get(code="2025"),
        code="34.01.99",
        name="Fiktif",
        level=3,
        kind="kecamatan",
        parent_code="34.01",
    )
    kulon_progo_pk = Region.objects.get(edition__code="2025", code="34.01").pk

    # When loading only the current edition
    result = regions_load(edition="2025", progress=False)

    # Then exactly those rows are put right, and the same row keeps its id
    (current,) = result.editions
    assert (current.regions.created, current.regions.updated, current.regions.deleted) == (1, 1, 1)
    kulon_progo = Region.objects.get(edition__code="2025", code="34.01")
    assert kulon_progo.pk == kulon_progo_pk
    assert (kulon_progo.name, kulon_progo.population_total) == ("Kabupaten Kulon Progo", 444994)
    assert Region.objects.filter(edition__code="2025", code="34.01.01.2001", name="Jangkaran").exists()
    assert not Region.objects.filter(code="34.01.99").exists()
    assert Region.objects.filter(edition__code="2025").count() == 91599


def test_command_prints_one_bilingual_line():
    out = StringIO()
    call_command("load_regions", "--edition", "2025", "--no-progress", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Wilayah sudah mutakhir")
    assert "Regions already up to date" in lines[0]
    assert "2025: 91599" in lines[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", [1, 2])
def test_regions_survive_transactional_tests(run):
    # A transactional test flushes every table when it ends; the next one still finds the regions
    assert Region.objects.filter(edition__code="2025", code="34.01").exists()
    assert RegionChange.objects.filter(kind="recoded", old_code="92.01").exists()
