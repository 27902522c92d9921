"""The 45 Alatas covariates derived from registry tables (`dtsen.registry.covariates.family_covariates`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dtsen.registry import choices, schema
from dtsen.registry.covariates import BINARY_COVARIATES, COVARIATES, family_covariates

AS_OF = dt.date(2025, 6, 30)


def person(code: str, family: str, birth: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "person_code": code,
        "family_code": family,
        "nik": "3401010101800001",
        "name": code,
        "sex": "L",
        "birth_date": dt.date.fromisoformat(birth),
        "birth_place": "",
        "relationship": "anak",
        "marital_status": "belum_kawin",
        "education": "tidak_sekolah",
        "school_level": "tidak",
        "sector": "tidak_bekerja",
        "employment_type": "tidak_bekerja",
        "occupation": "",
        "disability": "tidak_ada",
        "disability_severity": "tidak_ada",
        "pregnant": False,
        "life_status": "hidup",
        "death_date": None,
        "death_source": None,
    }
    row.update(kw)
    return row


def condition(family: str, observed: str = "2025-01-10", **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "family_code": family,
        "observed_on": dt.date.fromisoformat(observed),
        "source_ref": "",
        "officer": "",
        "tenure": "milik_sendiri",
        "floor_area_m2": 60.0,
        "floor_material": "keramik",
        "wall_material": "tembok",
        "roof_material": "genteng",
        "toilet": "sendiri",
        "drinking_water": "ledeng",
        "lighting": "pln_meter",
        "power_va": 900,
        "cooking_fuel": "lpg_3kg",
        "received_credit": False,
    }
    for name, _, _ in choices.ASSETS:
        row[f"asset_{name}"] = False
    row.update(kw)
    return row


def family(code: str, head: str) -> dict[str, Any]:
    return {
        "family_code": code,
        "kk_number": "3401010101200001",
        "village_code": "34.01.01.2001",
        "rw": "001",
        "rt": "001",
        "address": "",
        "dwelling_code": None,
        "building_no": None,
        "family_no": None,
        "latitude": None,
        "longitude": None,
        "head_person_code": head,
        "pengurus_person_code": head,
        "kk_previous": None,
    }


@pytest.fixture
def registry() -> dict[str, pd.DataFrame]:
    """Given: three families.

    F1: married male head 45 (SMP, formal services), wife 40 (SMA), children 10 (in SD), 13 (in SMP),
        16 (in SMA), 3, a grandmother 70, and a deceased grandfather; two condition snapshots (the later
        one counts).
    F2: a widow of 66 living alone, no schooling, informal farmer; earth floor, bamboo walls, firewood,
        unprotected well, no electricity, rented; many assets.
    F3: the named head has died; the oldest remaining member (30) stands in; no condition snapshot.
    """
    persons = [
        person(
            "P1",
            "F1",
            "1980-01-15",
            relationship="kepala",
            marital_status="kawin",
            education="smp",
            sector="jasa",
            employment_type="formal",
        ),
        person(
            "P2",
            "F1",
            "1985-03-01",
            sex="P",
            relationship="pasangan",
            marital_status="kawin",
            education="sma",
        ),
        person("P3", "F1", "2015-02-01", school_level="sd"),
        person("P4", "F1", "2012-01-01", school_level="smp", education="sd"),
        person("P5", "F1", "2009-01-01", school_level="sma", education="smp"),
        person("P6", "F1", "2022-06-30"),  # turns 3 on the reference date
        person("P7", "F1", "1955-01-01", sex="P", relationship="orang_tua", marital_status="cerai_mati"),
        person(
            "P8",
            "F1",
            "1950-01-01",
            relationship="orang_tua",
            life_status="meninggal",
            death_date=dt.date(2024, 1, 1),
        ),
        person(
            "Q1",
            "F2",
            "1959-06-30",
            sex="P",
            relationship="kepala",
            marital_status="cerai_mati",
            sector="pertanian",
            employment_type="informal",
        ),
        person(
            "R1",
            "F3",
            "1950-01-01",
            relationship="kepala",
            marital_status="kawin",
            life_status="meninggal",
            death_date=dt.date(2025, 1, 1),
        ),
        person(
            "R2",
            "F3",
            "1995-01-01",
            relationship="anak",
            marital_status="kawin",
            education="s1_plus",
            sector="industri",
            employment_type="informal",
        ),
        person(
            "R3",
            "F3",
            "1994-06-30",
            sex="P",
            relationship="menantu",
            marital_status="kawin",
            education="diploma",
        ),
        person("R4", "F3", "2030-01-01"),  # not born yet at the reference date (bad data): not a member
    ]
    conditions = [
        condition("F1", "2023-01-01", floor_area_m2=10.0, asset_tv=False),
        condition(
            "F1",
            "2025-03-01",
            floor_area_m2=140.0,
            roof_material="seng",
            asset_tv=True,
            asset_car=True,
            asset_mobile_phone=True,
            asset_gold=True,
            asset_gas_stove=True,
            received_credit=True,
        ),
        condition("F1", "2026-01-01", floor_area_m2=999.0),  # after the reference date: ignored
        condition(
            "F2",
            tenure="kontrak_sewa",
            floor_area_m2=20.0,
            floor_material="tanah",
            wall_material="anyaman_bambu",
            roof_material="beton",
            toilet="tidak_ada",
            drinking_water="sumur_tak_terlindung",
            lighting="bukan_listrik",
            cooking_fuel="kayu_bakar",
            asset_ac=True,
            asset_computer=True,
            asset_radio=True,
            asset_dvd=True,
            asset_satellite=True,
            asset_refrigerator=True,
            asset_bicycle=True,
            asset_motorcycle=True,
            asset_chicken=True,
            asset_cow=True,
        ),
    ]
    families = [family("F1", "P1"), family("F2", "Q1"), family("F3", "R1")]
    return {
        "families": pd.DataFrame(families, columns=schema.FAMILIES.names),
        "persons": pd.DataFrame(persons, columns=schema.PERSONS.names),
        "conditions": pd.DataFrame(conditions, columns=schema.CONDITIONS.names),
    }


def covariates(tables: dict[str, Any]) -> pd.DataFrame:
    return family_covariates(**tables, as_of=AS_OF).set_index("family_code")


def test_columns_are_the_45_in_survey_order(registry):
    # When
    cov = family_covariates(**registry, as_of=AS_OF)
    # Then
    assert list(cov.columns) == ["family_code", *COVARIATES]
    assert len(COVARIATES) == 45
    assert list(cov["family_code"]) == ["F1", "F2", "F3"]


def test_demography_of_a_large_family(registry):
    row = covariates(registry).loc["F1"]
    assert row["hhsize"] == 7  # the deceased grandfather is not counted
    assert row["hhage"] == 45
    assert (row["hhmale"], row["hhmarried"]) == (1, 1)
    assert row["age04"] == 1  # the child who turns 3 today
    # dependents: 10, 13, 3 (< 15) and 70 (>= 65) = 4; working age: 45, 40, 16 = 3
    assert row["depratio"] == pytest.approx(4 / 3)
    assert (row["eschild"], row["jschild"], row["sschild"]) == (1, 1, 1)
    assert (row["hheduc2"], row["hheduc3"], row["hheduc4"]) == (0, 1, 0)
    assert (row["higheduc2"], row["higheduc3"], row["higheduc4"]) == (0, 0, 1)
    assert (row["formal"], row["informal"]) == (1, 0)
    assert (row["hhsector1"], row["hhsector2"], row["hhsector3"]) == (0, 0, 1)


def test_latest_condition_snapshot_before_the_reference_date(registry):
    row = covariates(registry).loc["F1"]
    assert row["pcfloor"] == pytest.approx(140.0 / 7)
    assert (row["tfloor"], row["twall"], row["troof"], row["toilet"]) == (1, 1, 1, 1)
    assert (row["water"], row["lighting"], row["fcook"], row["house"]) == (1, 1, 0, 1)
    assert (row["tv"], row["auto"], row["hp"], row["jewelry"], row["gas"], row["credit"]) == (
        1,
        1,
        1,
        1,
        1,
        1,
    )
    assert (row["ac"], row["computer"], row["cow"]) == (0, 0, 0)


def test_poor_housing_and_every_other_asset(registry):
    row = covariates(registry).loc["F2"]
    assert row["hhsize"] == 1
    assert row["hhage"] == 66  # born 30 June 1959: 66 on 30 June 2025
    assert (row["hhmale"], row["hhmarried"]) == (0, 0)
    assert row["depratio"] == pytest.approx(1.0)  # only a dependent: denominator taken as 1
    assert (row["hheduc2"], row["hheduc3"], row["hheduc4"]) == (0, 0, 0)
    assert (row["informal"], row["hhsector1"]) == (1, 1)
    assert row["pcfloor"] == pytest.approx(20.0)
    assert (row["tfloor"], row["twall"], row["toilet"], row["water"], row["lighting"]) == (0, 0, 0, 0, 0)
    assert (row["troof"], row["fcook"], row["house"]) == (
        1,
        1,
        0,
    )  # concrete roof counts as "concrete or corrugated"
    for name in (
        "ac",
        "computer",
        "radio",
        "dvd",
        "satellite",
        "refrigerator",
        "bicycle",
        "motorcycle",
        "chicken",
        "cow",
    ):
        assert row[name] == 1, name
    assert (row["tv"], row["gas"], row["auto"], row["hp"], row["jewelry"], row["credit"]) == (
        0,
        0,
        0,
        0,
        0,
        0,
    )


def test_deceased_head_replaced_by_the_oldest_member_and_no_snapshot(registry):
    row = covariates(registry).loc["F3"]
    assert row["hhsize"] == 2  # the dead head and the not-yet-born child are not members
    assert row["hhage"] == 31  # R3, born 30 June 1994, is the oldest member
    assert (row["hhmale"], row["hhmarried"], row["hheduc4"], row["higheduc4"]) == (0, 1, 1, 1)
    assert row["depratio"] == 0
    for name in ("pcfloor", "tfloor", "house", "tv", "credit", "cow"):
        assert pd.isna(row[name]), name


def test_removed_persons_are_excluded_when_the_table_has_a_status_column(registry):
    # Given: a database export with record status; P3 (the SD pupil) was removed
    registry["persons"]["status"] = ["aktif"] * len(registry["persons"])
    registry["persons"].loc[registry["persons"]["person_code"] == "P3", "status"] = "nonaktif"
    # When
    row = covariates(registry).loc["F1"]
    # Then
    assert (row["hhsize"], row["eschild"]) == (6, 0)


def test_reference_date_moves_ages(registry):
    assert (
        family_covariates(**registry, as_of=dt.date(2025, 6, 29)).set_index("family_code").loc["F2", "hhage"]
        == 65
    )
    assert (
        family_covariates(**registry, as_of=dt.date(2025, 1, 14)).set_index("family_code").loc["F1", "hhage"]
        == 44
    )


def test_arrow_tables_and_files_give_the_same_result(registry, tmp_path):
    expected = family_covariates(**registry, as_of=AS_OF)
    arrow = {name: pa.Table.from_pandas(frame, preserve_index=False) for name, frame in registry.items()}
    paths = {}
    for name, table in arrow.items():
        pq.write_table(table, tmp_path / f"{name}.parquet")
        paths[name] = tmp_path / f"{name}.parquet"
    from_arrow = family_covariates(**arrow, as_of=AS_OF)
    from_files = family_covariates(**paths, as_of=AS_OF)
    pd.testing.assert_frame_equal(from_arrow, expected)
    pd.testing.assert_frame_equal(from_files, expected)


def test_binary_covariates_are_0_or_1(registry):
    cov = family_covariates(**registry, as_of=AS_OF)
    for name in BINARY_COVARIATES:
        assert set(cov[name].dropna().unique()) <= {0, 1}, name
