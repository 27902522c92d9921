"""Injected faults: counts match the rates, the registry shows them, and faults.parquet holds the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dtsen.core.errors import ValidationFailed
from dtsen.registry.nik import InvalidNik, parse_nik
from dtsen.synth import services
from dtsen.synth.faults import FaultRates
from dtsen.synth.services import DEFAULT_AS_OF, population_generate
from tests.synth.conftest import FAULT_RATES


def expected_count(rate: float, sizes: np.ndarray, chunk: int) -> int:
    """round(rate x items) per chunk of `chunk` families, summed (`sizes` = items per family)."""
    return sum(round(rate * sizes[i : i + chunk].sum()) for i in range(0, len(sizes), chunk))


def test_counts_match_the_rates(faulty, faulty_tables):
    faults, truth = faulty_tables["faults"], faulty_tables["ground_truth"]
    members = truth["members"].to_numpy()
    chunk = services.CHUNK_FAMILIES
    kinds = faults["kind"].value_counts()
    assert kinds["duplicate"] == expected_count(FAULT_RATES.duplicates, members, chunk)
    assert kinds["deceased"] == expected_count(FAULT_RATES.deceased, members, chunk)
    assert kinds["excluded"] == expected_count(FAULT_RATES.excluded, members, chunk)
    assert kinds["stale_kk"] == expected_count(FAULT_RATES.stale_kk, np.ones(len(members), int), chunk)
    assert faulty.manifest["fault_counts"] == kinds.sort_index().to_dict()
    assert faults["fault_id"].is_unique


def test_counts_over_several_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_FAMILIES", 700)
    rates = FaultRates(duplicates=0.05, deceased=0.02, excluded=0.02, stale_kk=0.05)
    result = population_generate(
        out_dir=tmp_path, region_code="34.01.03", n_families=2000, seed=4, rates=rates
    )
    faults = pd.read_parquet(tmp_path / "faults.parquet")
    persons = pd.read_parquet(tmp_path / "persons.parquet")
    families = pd.read_parquet(tmp_path / "families.parquet")
    members = pd.read_parquet(tmp_path / "ground_truth.parquet")["members"].to_numpy()
    assert (faults["kind"] == "duplicate").sum() == expected_count(0.05, members, 700)
    assert (faults["kind"] == "stale_kk").sum() == expected_count(0.05, np.ones(2000, int), 700)
    assert persons["person_code"].is_unique
    assert families["family_code"].is_unique
    dup_codes = set(faults.loc[faults["kind"] == "duplicate", "person_code"])
    assert persons.loc[~persons["person_code"].isin(dup_codes), "nik"].is_unique  # across chunks too
    assert result.manifest["counts"]["persons"] == len(persons)


def test_duplicates_carry_the_recorded_values_and_point_to_the_original(faulty_tables):
    faults, persons, families = faulty_tables["faults"], faulty_tables["persons"], faulty_tables["families"]
    dups = faults[faults["kind"] == "duplicate"].set_index("person_code")
    rows = persons.set_index("person_code").loc[dups.index]
    assert (rows["name"] == dups["recorded_name"]).all()
    assert (rows["nik"] == dups["recorded_nik"]).all()
    assert (rows["birth_date"] == dups["recorded_birth_date"]).all()
    assert (rows["family_code"] == dups["family_code"]).all()
    originals = persons.set_index("person_code").loc[dups["original_person_code"]]
    assert (originals["name"].to_numpy() == dups["original_name"].to_numpy()).all()
    assert (originals["nik"].to_numpy() == dups["original_nik"].to_numpy()).all()
    assert (originals["sex"].to_numpy() == rows["sex"].to_numpy()).all()
    village = families.set_index("family_code")["village_code"]
    assert (village.loc[dups["family_code"]].to_numpy() == dups["recorded_village_code"].to_numpy()).all()


def test_duplicates_mix_every_variant_consistently(faulty_tables):
    dups = faulty_tables["faults"].query("kind == 'duplicate'")
    variants = dups["variants"].str.split("|").explode()
    assert set(variants) == {
        "name_typo",
        "name_variant",
        "nik_digit",
        "date_swap",
        "stale_kk",
        "moved",
        "exact",
    }
    has = dups["variants"].str.split("|").apply(set)
    name_changed = dups["original_name"] != dups["recorded_name"]
    assert (name_changed == has.apply(lambda v: bool(v & {"name_typo", "name_variant"}))).all()
    nik_changed = dups["original_nik"] != dups["recorded_nik"]
    assert (nik_changed == has.apply(lambda v: "nik_digit" in v)).all()
    swapped = dups[has.apply(lambda v: "date_swap" in v)]
    assert (
        swapped["recorded_birth_date"].apply(lambda d: (d.day, d.month))
        == swapped["original_birth_date"].apply(lambda d: (d.month, d.day))
    ).all()
    same_date = dups[~has.apply(lambda v: "date_swap" in v)]
    assert (same_date["recorded_birth_date"] == same_date["original_birth_date"]).all()
    moved = dups[has.apply(lambda v: "moved" in v)]
    assert (moved["recorded_village_code"] != moved["original_village_code"]).all()
    stayed = dups[~has.apply(lambda v: "moved" in v)]
    assert (stayed["recorded_village_code"] == stayed["original_village_code"]).all()
    variant_names = dups[has.apply(lambda v: v == {"name_variant"})]
    assert variant_names["recorded_name"].str.contains(r"\.|^M|^St", regex=True).any()


def test_stale_kk_duplicates_sit_in_a_ghost_family_with_the_old_kk(faulty_tables):
    faults, families, persons = faulty_tables["faults"], faulty_tables["families"], faulty_tables["persons"]
    stale = faults[(faults["kind"] == "duplicate") & faults["variants"].str.contains("stale_kk")]
    assert len(stale)
    fam = families.set_index("family_code")
    ghosts = fam.loc[stale["family_code"]]
    assert (ghosts["head_person_code"].to_numpy() == stale["person_code"].to_numpy()).all()
    assert (ghosts["kk_number"].to_numpy() == stale["recorded_kk_number"].to_numpy()).all()
    originals = fam.loc[stale["original_family_code"]]
    assert all(
        kk in (prev or "").split("|")
        for kk, prev in zip(ghosts["kk_number"], originals["kk_previous"], strict=True)
    )
    assert set(stale["family_code"]) <= set(faulty_tables["conditions"]["family_code"])
    assert not set(stale["family_code"]) & set(faulty_tables["ground_truth"]["family_code"])
    assert (persons.set_index("person_code").loc[stale["person_code"], "relationship"] == "kepala").all()


def test_mistyped_niks_are_nobody_elses(faulty_tables):
    faults, persons = faulty_tables["faults"], faulty_tables["persons"]
    typo = faults[(faults["kind"] == "duplicate") & (faults["original_nik"] != faults["recorded_nik"])]
    assert len(typo)
    assert persons["nik"].value_counts().loc[typo["recorded_nik"]].eq(1).all()
    assert typo["recorded_nik"].str.fullmatch(r"[0-9]{16}").all()
    invalid = 0
    for nik in typo["recorded_nik"]:
        try:
            parse_nik(nik, today=DEFAULT_AS_OF, region_known=lambda code: code.startswith("3401"))
        except InvalidNik:
            invalid += 1
    assert 0 < invalid < len(typo)  # some typos break the structure, others only change the digits


def test_deceased_persons_are_still_listed_alive(faulty_tables):
    faults, persons = faulty_tables["faults"], faulty_tables["persons"]
    dead = faults[faults["kind"] == "deceased"]
    rows = persons.set_index("person_code").loc[dead["person_code"]]
    assert (rows["life_status"] == "hidup").all()
    assert rows["death_date"].isna().all()
    assert (dead["death_date"] > dead["original_birth_date"]).all()
    assert (dead["death_date"] < DEFAULT_AS_OF).all()
    birth = pd.to_datetime(dead["original_birth_date"])
    assert (pd.Timestamp(DEFAULT_AS_OF) - birth).dt.days.median() / 365.25 > 55  # mostly old people


def test_excluded_persons_are_flagged_with_a_consistent_occupation(faulty_tables):
    faults, persons, exclusions = (
        faulty_tables["faults"],
        faulty_tables["persons"],
        faulty_tables["exclusions"],
    )
    flagged = faults[faults["kind"] == "excluded"].set_index("person_code")
    assert len(exclusions) == len(flagged)
    ex = exclusions.set_index("person_code")
    assert (ex.loc[flagged.index, "category"] == flagged["exclusion_category"]).all()
    rows = persons.set_index("person_code").loc[flagged.index]
    active = flagged["exclusion_category"] != "pensiunan"
    assert (rows.loc[active, "employment_type"] == "formal").all()
    assert (
        rows.loc[flagged["exclusion_category"] == "asn", "occupation"].eq("Pegawai Negeri Sipil (PNS)").all()
    )
    assert (exclusions["observed_on"] < DEFAULT_AS_OF).all()


def test_stale_kk_families_show_an_older_number(faulty_tables):
    faults, families = faulty_tables["faults"], faulty_tables["families"]
    stale = faults[faults["kind"] == "stale_kk"]
    fam = families.set_index("family_code").loc[stale["family_code"]]
    assert (fam["kk_number"].to_numpy() == stale["recorded_kk_number"].to_numpy()).all()
    assert (stale["original_kk_number"] != stale["recorded_kk_number"]).all()
    assert not set(stale["original_kk_number"]) & set(families["kk_number"])

    def issued(kk: pd.Series) -> pd.Series:
        return pd.to_datetime(kk.str[6:12], format="%d%m%y")

    assert (issued(stale["recorded_kk_number"]) < issued(stale["original_kk_number"])).all()


@pytest.mark.parametrize("rate", [-0.1, 0.9])
def test_rates_out_of_range_are_refused(tmp_path, rate):
    with pytest.raises(ValidationFailed) as exc:
        population_generate(out_dir=tmp_path, n_families=10, seed=1, rates=FaultRates(deceased=rate))
    assert "antara" in exc.value.message_id
    assert "between" in exc.value.message_en


def test_a_single_village_region_has_no_moved_duplicates(tmp_path):
    rates = FaultRates(duplicates=0.1)
    result = population_generate(
        out_dir=tmp_path, region_code="34.01.01.2001", n_families=300, seed=3, rates=rates
    )
    families = pd.read_parquet(tmp_path / "families.parquet")
    faults = pd.read_parquet(tmp_path / "faults.parquet")
    assert set(families["village_code"]) == {"34.01.01.2001"}
    assert result.manifest["region"]["level"] == 4
    assert not faults["variants"].str.contains("moved").any()
    assert faults["variants"].str.contains("exact").any()
