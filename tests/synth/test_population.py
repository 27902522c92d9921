"""Realism rules of a clean synthetic population: codes, NIK, KK, sizes, composition, dates, geography."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dtsen.registry import schema
from dtsen.registry.nik import nik_matches, parse_nik
from dtsen.synth.geography import population_load, wilayah_load
from dtsen.synth.services import DEFAULT_AS_OF, population_generate


def ages(persons: pd.DataFrame) -> pd.Series:
    birth = pd.to_datetime(persons["birth_date"])
    later = birth.dt.month * 100 + birth.dt.day > DEFAULT_AS_OF.month * 100 + DEFAULT_AS_OF.day
    return DEFAULT_AS_OF.year - birth.dt.year - later.astype(int)


@pytest.fixture(scope="module")
def kecamatan_codes() -> set[str]:
    regions = wilayah_load()
    return set(regions.loc[regions["level"] == 3, "kode"].str.replace(".", "", regex=False))


def test_tables_follow_the_schema(clean_tables):
    for name in ("families", "persons", "conditions", "exclusions"):
        table = schema.TABLES[name]
        frame = clean_tables[name]
        assert list(frame.columns) == table.names
        for col in table.columns:
            if col.required and len(frame):
                assert frame[col.name].notna().all(), f"{name}.{col.name}"
            if col.choices:
                assert set(frame[col.name].dropna()) <= set(col.choices), f"{name}.{col.name}"


def test_codes_are_unique_and_heads_are_members(clean_tables):
    fam, per = clean_tables["families"], clean_tables["persons"]
    assert fam["family_code"].is_unique
    assert per["person_code"].is_unique
    assert len(fam) == 4000
    members = per.groupby("family_code")["person_code"].agg(set)
    assert all(h in members[f] for f, h in zip(fam["family_code"], fam["head_person_code"], strict=True))
    assert all(p in members[f] for f, p in zip(fam["family_code"], fam["pengurus_person_code"], strict=True))
    heads = per[per["relationship"] == "kepala"]
    assert heads["family_code"].is_unique
    assert len(heads) == len(fam)


def test_mean_size_about_3_8_and_poorer_families_larger(clean_tables):
    truth = clean_tables["ground_truth"]
    size = clean_tables["persons"].groupby("family_code").size()
    assert 3.6 <= size.mean() <= 4.0
    assert size.max() <= 16
    merged = truth.set_index("family_code").join(size.rename("size"))
    poorest, richest = merged.sort_values("log_consumption_pc")["size"].to_numpy()[[0, -1]], None
    quintile = pd.qcut(merged["log_consumption_pc"], 5, labels=False)
    by_q = merged.groupby(quintile)["size"].mean()
    assert by_q.iloc[0] > by_q.iloc[-1] + 0.5
    del poorest, richest


def test_every_nik_is_valid_unique_and_matches_kecamatan_birth_date_and_sex(clean_tables, kecamatan_codes):
    per, fam = clean_tables["persons"], clean_tables["families"]
    assert per["nik"].is_unique
    kec = per["family_code"].map(fam.set_index("family_code")["village_code"]).str[:8].str.replace(".", "")
    for nik, birth, sex, kec6 in zip(per["nik"], per["birth_date"], per["sex"], kec, strict=True):
        parsed = parse_nik(nik, today=DEFAULT_AS_OF, region_known=kecamatan_codes.__contains__)
        assert nik_matches(parsed, birth_date=birth, sex=sex)
        assert nik[:6] == kec6
        assert parsed.birth_date == birth  # the century is resolved right at the reference date


def test_kk_numbers_unique_16_digits_with_kecamatan_and_issue_date(clean_tables):
    fam, per = clean_tables["families"], clean_tables["persons"]
    numbers = pd.concat([fam["kk_number"], fam["kk_previous"].dropna()])
    assert numbers.is_unique
    assert numbers.str.fullmatch(r"[0-9]{16}").all()
    assert (fam["kk_number"].str[:6] == fam["village_code"].str[:8].str.replace(".", "")).all()
    issued = pd.to_datetime(fam["kk_number"].str[6:12], format="%d%m%y")
    issued = issued.where(issued.dt.date <= DEFAULT_AS_OF, issued - pd.DateOffset(years=100))
    youngest = pd.to_datetime(per.groupby("family_code")["birth_date"].max())
    assert (
        issued.to_numpy() > youngest.loc[fam["family_code"]].to_numpy()
    ).all()  # a new KK after each birth
    assert (issued.dt.date < DEFAULT_AS_OF).all()


def test_families_live_in_real_villages_of_the_region_with_rt_rw_dwellings_and_geotags(clean_tables):
    fam = clean_tables["families"]
    regions = wilayah_load()
    villages = set(regions.loc[(regions["level"] == 4) & regions["kode"].str.startswith("34.01."), "kode"])
    assert set(fam["village_code"]) <= villages
    assert fam["village_code"].nunique() > 0.9 * len(villages)
    assert fam["rt"].str.fullmatch(r"[0-9]{3}").all()
    assert fam["rw"].str.fullmatch(r"[0-9]{3}").all()
    shared = fam.groupby("dwelling_code").size()
    assert 0.01 < (shared > 1).mean() < 0.15  # a few multi-family buildings
    assert fam["latitude"].between(-8.3, -7.4).all()
    assert fam["longitude"].between(109.9, 110.8).all()


def test_province_families_spread_over_kabupaten_by_population(tmp_path):
    result = population_generate(out_dir=tmp_path, region_code="34", n_families=5000, seed=1)
    fam = pd.read_parquet(result.out_dir / "families.parquet")
    share = fam["village_code"].str[:5].value_counts(normalize=True)
    pop = population_load().set_index("kode")["total"]
    expected = pop[share.index] / pop[share.index].sum()
    assert np.abs(share - expected).max() < 0.005


def test_ages_roles_and_sexes_are_consistent(clean_tables):
    per = clean_tables["persons"].copy()
    per["age"] = ages(per)
    head = per[per["relationship"] == "kepala"].set_index("family_code")
    per["head_age"] = per["family_code"].map(head["age"])
    per["head_sex"] = per["family_code"].map(head["sex"])
    assert head["age"].between(17, 95).all()
    children = per[per["relationship"] == "anak"]
    assert (children["head_age"] - children["age"] >= 15).all()  # parents were at least 16 at the birth
    spouse = per[per["relationship"] == "pasangan"].set_index("family_code")
    assert (spouse["sex"] != head.loc[spouse.index, "sex"]).all()
    assert (spouse["marital_status"] == "kawin").all()
    assert (head.loc[spouse.index, "marital_status"] == "kawin").all()
    with_spouse = children[children["family_code"].isin(spouse.index)]
    assert (with_spouse["family_code"].map(spouse["age"]) - with_spouse["age"] >= 15).all()
    grand = per[per["relationship"] == "cucu"]
    assert (grand["head_age"] - grand["age"] >= 30).all()
    parents = per[per["relationship"] == "orang_tua"]
    assert (parents["age"] - parents["head_age"] >= 19).all()
    assert (per.loc[per["age"] < 17, "marital_status"] == "belum_kawin").all()


def test_school_education_work_pregnancy_and_disability_fit_age(clean_tables):
    per = clean_tables["persons"].copy()
    age = ages(per)
    level_ages = {"paud": (3, 6), "sd": (6, 14), "smp": (12, 17), "sma": (15, 20), "pt": (17, 24)}
    for level, (lo, hi) in level_ages.items():
        assert age[per["school_level"] == level].between(lo, hi).all(), level
    sd_age = age.between(7, 12)
    assert 0.8 < (per.loc[sd_age, "school_level"] == "sd").mean() < 1.0
    assert (per.loc[per["school_level"] == "smp", "education"] == "sd").all()
    assert (age[per["education"] == "s1_plus"] >= 22).all()
    assert (age[per["education"].isin(["sma", "diploma"])] >= 15).all()
    assert (per.loc[age < 15, "employment_type"] == "tidak_bekerja").all()
    working = per["employment_type"] != "tidak_bekerja"
    assert (per.loc[working, "sector"] != "tidak_bekerja").all()
    assert (per.loc[~working, "sector"] == "tidak_bekerja").all()
    assert (
        per.loc[per["school_level"].isin(["sd", "smp", "sma", "pt"]), "occupation"] == "Pelajar/Mahasiswa"
    ).all()
    pregnant = per[per["pregnant"]]
    assert (pregnant["sex"] == "P").all()
    assert (pregnant["marital_status"] == "kawin").all()
    assert age[per["pregnant"]].between(15, 49).all()
    assert 0.0 < per["pregnant"].mean() < 0.05
    disabled = per["disability"] != "tidak_ada"
    assert 0.01 < disabled.mean() < 0.08
    assert ((per["disability_severity"] == "tidak_ada") == ~disabled).all()


def test_dates_are_real_calendar_dates_before_the_reference_date(clean_tables):
    per = clean_tables["persons"]
    births = per["birth_date"]
    assert all(isinstance(b, dt.date) for b in births.head(100))
    assert (births < DEFAULT_AS_OF).all()
    feb29 = births[[b.month == 2 and b.day == 29 for b in births]]
    assert all(b.year % 4 == 0 and (b.year % 100 != 0 or b.year % 400 == 0) for b in feb29)
    cond = clean_tables["conditions"]
    assert (cond["observed_on"] < DEFAULT_AS_OF).all()
    assert cond["family_code"].is_unique


def test_names_are_indonesian_and_ground_truth_is_separate(clean_tables):
    per = clean_tables["persons"]
    assert per["name"].str.len().between(2, 60).all()
    assert per["name"].str.startswith(("Muhammad ", "Siti ")).mean() > 0.02
    assert "consumption" not in " ".join(clean_tables["conditions"].columns)
    truth = clean_tables["ground_truth"]
    assert list(truth["family_code"]) == list(clean_tables["families"]["family_code"])
    assert truth["consumption_pc_month_rp"].between(20_000, 60_000_000).all()
    assert np.allclose(
        np.log(truth["consumption_pc_month_rp"] / 1000), truth["log_consumption_pc"], atol=1e-3
    )
