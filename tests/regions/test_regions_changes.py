"""Changes between editions: the 2022 → 2025 diff in the database, and the matching rules on small cases."""

import pytest

from dtsen.regions.changes import ADDED, RECODED, REMOVED, RENAMED, changes_compute, name_normalise
from dtsen.regions.models import RegionChange
from dtsen.regions.selectors import edition_changes


@pytest.mark.django_db
class TestPapuaBaratDaya:
    """Province 96 Papua Barat Daya (UU 29/2022) was formed from 92 Papua Barat."""

    def test_province_96_is_added(self):
        added = edition_changes("2022", "2025", kind=ADDED, level=1)
        assert list(added.values_list("new_code", "new_name")) == [("96", "Papua Barat Daya")]

    def test_its_kab_kota_are_recoded_from_92(self):
        recoded = dict(
            edition_changes("2022", "2025", kind=RECODED, level=2).values_list("old_code", "new_code")
        )
        assert recoded == {
            "92.01": "96.01",  # Kabupaten Sorong
            "92.04": "96.02",  # Kabupaten Sorong Selatan
            "92.05": "96.03",  # Kabupaten Raja Ampat
            "92.09": "96.04",  # Kabupaten Tambrauw
            "92.10": "96.05",  # Kabupaten Maybrat
            "92.71": "96.71",  # Kota Sorong
        }

    def test_kabupaten_and_kota_sorong(self):
        kab = RegionChange.objects.get(
            from_edition__code="2022", to_edition__code="2025", kind=RECODED, old_code="92.01"
        )
        assert (kab.new_code, kab.old_name, kab.new_name) == ("96.01", "KAB. SORONG", "Kabupaten Sorong")
        kota = RegionChange.objects.get(kind=RECODED, old_code="92.71")
        assert (kota.new_code, kota.new_name) == ("96.71", "Kota Sorong")

    def test_their_kecamatan_and_villages_follow(self):
        # Every kecamatan and village under the six recoded kab/kota moved to a 96.xx code
        moved_out = {"92.01", "92.04", "92.05", "92.09", "92.10", "92.71"}
        removed_under = edition_changes("2022", "2025", kind=REMOVED).filter(
            old_code__regex=r"^92\.(01|04|05|09|10|71)\."
        )
        recoded_under = edition_changes("2022", "2025", kind=RECODED, level=3).filter(
            old_code__startswith="92."
        )
        assert {code[:5] for code in recoded_under.values_list("old_code", flat=True)} == moved_out
        assert all(c.startswith("96.") for c in recoded_under.values_list("new_code", flat=True))
        # Makbon (92.01.01) became 96.01.01; Beraur was renumbered 92.01.04 → 96.01.02
        assert recoded_under.get(old_code="92.01.01").new_code == "96.01.01"
        assert recoded_under.get(old_code="92.01.04").new_code == "96.01.02"
        # Only the villages with no counterpart are left removed (dissolved, or renamed beyond recognition)
        assert removed_under.count() < 10

    def test_papua_barat_keeps_its_other_regions(self):
        assert not edition_changes("2022", "2025").filter(old_code="92.02").exists()  # Manokwari


@pytest.mark.django_db
def test_change_totals():
    totals = {
        kind: edition_changes("2022", "2025", kind=kind).count()
        for kind in (ADDED, REMOVED, RENAMED, RECODED)
    }
    # 1,258 codes are new and 1,250 gone; most of them are the same regions under a new code
    assert totals[RECODED] + totals[ADDED] == 1258
    assert totals[RECODED] + totals[REMOVED] == 1250
    assert totals[RECODED] > 1200


@pytest.mark.django_db
def test_cosmetic_renames_are_not_changes():
    renamed = edition_changes("2022", "2025", kind=RENAMED)
    # "KAB. ACEH SELATAN" → "Kabupaten Aceh Selatan" is the same name, differently written
    assert not renamed.filter(old_code="11.01").exists()
    # "Pasi Raja" → "Pasie Raja" is a real rename
    assert renamed.get(old_code="11.01.10").new_name == "Pasie Raja"


@pytest.mark.django_db
def test_villages_moved_to_a_new_kecamatan_are_recoded():
    # Toili Jaya (72.01.24) was split from 72.01.09; its villages kept their names
    assert edition_changes("2022", "2025", kind=ADDED).filter(new_code="72.01.24").exists()
    moved = edition_changes("2022", "2025", kind=RECODED).filter(new_code__startswith="72.01.24.")
    assert moved.count() == 10
    assert set(moved.values_list("old_code", flat=True)) <= {f"72.01.09.{n}" for n in range(2000, 3000)}


# Pure cases of the matching rules


def _edition(**regions: str) -> dict[str, tuple[str, int]]:
    return {code.replace("_", "."): (name, code.count("_") + 1) for code, name in regions.items()}


def _kinds(changes):
    return {(c.kind, c.old_code, c.new_code) for c in changes}


def test_name_normalise():
    assert name_normalise("KAB. ACEH SELATAN") == name_normalise("Kabupaten Aceh Selatan")
    assert name_normalise("Fak Fak") == name_normalise("Fakfak")
    assert name_normalise("Kota Sorong") != name_normalise("Kabupaten Sorong")


def test_recode_follows_the_parent_chain():
    old = _edition(**{"11": "Satu", "11_01": "Kab. A", "11_01_01": "Hulu", "11_01_01_2001": "Sukamaju"})
    new = _edition(
        **{
            "11": "Satu",
            "12": "Dua",
            "12_01": "Kabupaten A",
            "12_01_01": "Hulu",
            "12_01_01_2001": "Sukamaju",
        }
    )
    assert _kinds(changes_compute(old, new)) == {
        (ADDED, "", "12"),
        (RECODED, "11.01", "12.01"),
        (RECODED, "11.01.01", "12.01.01"),
        (RECODED, "11.01.01.2001", "12.01.01.2001"),
    }


def test_same_name_elsewhere_is_not_a_recode():
    # A removed village and an added one of the same name, but in different provinces
    old = _edition(
        **{
            "11": "P",
            "11_01": "K",
            "11_01_01": "C",
            "11_01_01_2001": "Sukamaju",
            "12": "Q",
            "12_01": "L",
            "12_01_01": "D",
        }
    )
    new = _edition(
        **{
            "11": "P",
            "11_01": "K",
            "11_01_01": "C",
            "12": "Q",
            "12_01": "L",
            "12_01_01": "D",
            "12_01_01_2001": "Sukamaju",
        }
    )
    assert _kinds(changes_compute(old, new)) == {
        (REMOVED, "11.01.01.2001", ""),
        (ADDED, "", "12.01.01.2001"),
    }


def test_ambiguous_names_stay_added_and_removed():
    # Two removed "Sukamaju" under the same kecamatan, one added: no way to tell which one moved
    base = {"11": "P", "11_01": "K", "11_01_01": "C"}
    old = _edition(**base, **{"11_01_01_2001": "Sukamaju", "11_01_01_2002": "Suka Maju"})
    new = _edition(**base, **{"11_01_01_2003": "Sukamaju"})
    assert {c.kind for c in changes_compute(old, new)} == {ADDED, REMOVED}


def test_spelling_fix_under_the_same_parent_is_a_recode():
    base = {"11": "P", "11_01": "K", "11_01_01": "C"}
    old = _edition(**base, **{"11_01_01_2004": "Malaban"})
    new = _edition(**base, **{"11_01_01_2002": "Malabam"})
    assert _kinds(changes_compute(old, new)) == {(RECODED, "11.01.01.2004", "11.01.01.2002")}


def test_unrelated_names_are_not_fuzzily_matched():
    base = {"11": "P", "11_01": "K", "11_01_01": "C"}
    old = _edition(**base, **{"11_01_01_2004": "Kaladum"})
    new = _edition(**base, **{"11_01_01_2002": "Klasbon"})
    assert {c.kind for c in changes_compute(old, new)} == {ADDED, REMOVED}
