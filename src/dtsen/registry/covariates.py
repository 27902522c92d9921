"""The 45 PMT covariates of Alatas et al. (2012), derived from registry tables in the `schema` format.

One function, `family_covariates`, used by the synthetic population's calibration and by the ranking. It is a
single DuckDB query over the families, persons and conditions tables (pandas DataFrames, pyarrow Tables, or
paths of Parquet/CSV files), so a million families take a few seconds.

Names, order and meaning follow the survey's `variables.csv` (../shared/data/alatas-2012-indonesia). Mapping
from registry codes (`dtsen.registry.choices`), evaluated as of a reference date `as_of`:

Members. A person counts as a member when listed in the family, born on or before `as_of`, not deceased
(`life_status` is not ``meninggal`` and `death_date`, if any, is after `as_of`) and, when the table has a
`status` column (database export), not ``nonaktif``. Age is in completed years at `as_of` (a 29 February
birthday falls on 1 March in common years).

Head. The member named by `families.head_person_code`; when that person is not a member (deceased or removed
and not yet replaced), the oldest member (ties: smallest person_code) stands in.

Housing (latest condition snapshot with `observed_on <= as_of`):
    pcfloor    floor_area_m2 / hhsize                      ("household floor area per capita", m²)
    tfloor     floor_material != 'tanah'                    ("non-earth floor")
    twall      wall_material == 'tembok'                    ("brick or cement walls")
    troof      roof_material in ('beton', 'seng')           ("concrete or corrugated roof")
    toilet     toilet == 'sendiri'                          ("private toilet")
    water      drinking_water in choices.CLEAN_WATER        ("clean drinking water")
    lighting   lighting in ('pln_meter', 'pln_tanpa_meter') ("PLN electricity")
    fcook      cooking_fuel == 'kayu_bakar'                 ("cooks with firewood")
    house      tenure == 'milik_sendiri'                    ("owns house privately")
Demography:
    hhsize     number of members
    hhage      age of the head; hhmale: head's sex == 'L'; hhmarried: head's marital_status == 'kawin'
    age04      members aged 0–4
    depratio   (members aged < 15 or >= 65) / (members aged 15–64). Checked on the survey: with
               dep = depratio·hhsize/(1+depratio), dep is an integer on all 3,500 rows, dep >= age04 + eschild
               on all but 2, every head aged 65+ makes dep >= 1 while heads aged 55–64 often give dep = 0, and
               secondary-school pupils (16–18) are not counted. The survey has no household without a member
               aged 15–64 (undefined ratio, dropped as incomplete); here the denominator is then taken as 1,
               so depratio = dep.
    eschild, jschild, sschild   members currently enrolled (school_level) in 'sd', 'smp', 'sma'
Education (completed level: 'sd' = elementary, 'smp' = junior high, 'sma'/'diploma'/'s1_plus' = senior
high or higher; 'tidak_sekolah' is the omitted category):
    hheduc2..4   head's level;  higheduc2..4   highest level among members
Work of the head:
    formal     employment_type == 'formal';  informal  employment_type == 'informal'
    hhsector1  sector == 'pertanian';  hhsector2  sector == 'industri';  hhsector3  sector == 'jasa'
Credit and assets (condition snapshot):
    credit = received_credit; ac = asset_ac; computer = asset_computer; radio = asset_radio; tv = asset_tv;
    dvd = asset_dvd; satellite = asset_satellite; gas = asset_gas_stove; refrigerator = asset_refrigerator;
    bicycle = asset_bicycle; motorcycle = asset_motorcycle; auto = asset_car; hp = asset_mobile_phone;
    jewelry = asset_gold; chicken = asset_chicken; cow = asset_cow (cows or buffalo, the survey's "caribou")

Every family of the families table gets a row. Values are NULL where undefined: head variables when the family
has no member, housing and asset variables when it has no condition snapshot, pcfloor when hhsize is 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import pandas as pd
import pyarrow as pa

from dtsen.registry import schema
from dtsen.registry.choices import CLEAN_WATER

COVARIATES: tuple[str, ...] = (
    "pcfloor",
    "tfloor",
    "twall",
    "troof",
    "toilet",
    "water",
    "lighting",
    "fcook",
    "house",
    "hhsize",
    "hhage",
    "hhmale",
    "hhmarried",
    "age04",
    "depratio",
    "eschild",
    "jschild",
    "sschild",
    "hheduc2",
    "hheduc3",
    "hheduc4",
    "higheduc2",
    "higheduc3",
    "higheduc4",
    "formal",
    "informal",
    "hhsector1",
    "hhsector2",
    "hhsector3",
    "credit",
    "ac",
    "computer",
    "radio",
    "tv",
    "dvd",
    "satellite",
    "gas",
    "refrigerator",
    "bicycle",
    "motorcycle",
    "auto",
    "hp",
    "jewelry",
    "chicken",
    "cow",
)
"""The 45 covariates in the survey's order (variables.csv, column Order)."""

BINARY_COVARIATES: tuple[str, ...] = tuple(
    name
    for name in COVARIATES
    if name not in {"pcfloor", "hhsize", "hhage", "age04", "depratio", "eschild", "jschild", "sschild"}
)

TableLike: TypeAlias = pd.DataFrame | pa.Table | str | Path

_ASSET_MAP = {
    "credit": "received_credit",
    "ac": "asset_ac",
    "computer": "asset_computer",
    "radio": "asset_radio",
    "tv": "asset_tv",
    "dvd": "asset_dvd",
    "satellite": "asset_satellite",
    "gas": "asset_gas_stove",
    "refrigerator": "asset_refrigerator",
    "bicycle": "asset_bicycle",
    "motorcycle": "asset_motorcycle",
    "auto": "asset_car",
    "hp": "asset_mobile_phone",
    "jewelry": "asset_gold",
    "chicken": "asset_chicken",
    "cow": "asset_cow",
}

_EDU_RANK = (
    "CASE {col} WHEN 'sd' THEN 2 WHEN 'smp' THEN 3 WHEN 'sma' THEN 4 WHEN 'diploma' THEN 4 "
    "WHEN 's1_plus' THEN 4 ELSE 1 END"
)


def _relation(con: duckdb.DuckDBPyConnection, obj: TableLike, name: str) -> list[str]:
    """Register `obj` as view `name`; return its column names."""
    if isinstance(obj, str | Path):
        path = str(obj)
        if path.endswith((".csv", ".csv.gz")):
            rel = con.read_csv(path, dtype=_csv_types(path), header=True)
        else:
            rel = con.read_parquet(path)
        rel.create_view(name, replace=True)
    else:
        con.register(name, obj)
    return [row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()]


_DUCK_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "date": "DATE"}


def _csv_types(path: str) -> dict[str, str]:
    """DuckDB types of the schema columns present in a CSV file (an empty column would otherwise be text)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    known = {col.name: _DUCK_TYPES[col.type] for table in schema.TABLES.values() for col in table.columns}
    return {name: known[name] for name in header if name in known}


def _sql(*, person_has_status: bool, family_has_status: bool) -> str:
    clean = ", ".join(f"'{code}'" for code in sorted(CLEAN_WATER))
    member_status = "AND coalesce(p.status, 'aktif') <> 'nonaktif'" if person_has_status else ""
    family_status = "WHERE coalesce(f.status, 'aktif') <> 'nonaktif'" if family_has_status else ""
    assets = ",\n        ".join(f"c.{col}::INTEGER AS {name}" for name, col in _ASSET_MAP.items())
    # Only constant fragments are formatted into the SQL; the one value (as_of) is a bound parameter.
    sql = f"""
    WITH fam AS (
        SELECT f.family_code, f.head_person_code FROM _cov_families f {family_status}
    ),
    mem AS (
        SELECT p.person_code, p.family_code, p.sex, p.marital_status, p.school_level, p.sector,
               p.employment_type,
               {_EDU_RANK.format(col="p.education")} AS edu,
               year($as_of) - year(p.birth_date)
                 - CASE WHEN month(p.birth_date) * 100 + day(p.birth_date)
                             > month($as_of) * 100 + day($as_of) THEN 1 ELSE 0 END AS age
        FROM _cov_persons p
        WHERE p.birth_date <= $as_of
          AND coalesce(p.life_status, 'hidup') <> 'meninggal'
          AND (p.death_date IS NULL OR p.death_date > $as_of)
          {member_status}
    ),
    agg AS (
        SELECT m.family_code,
               count(*) AS hhsize,
               count_if(m.age <= 4) AS age04,
               count_if(m.age < 15 OR m.age >= 65) AS dep,
               count_if(m.age >= 15 AND m.age < 65) AS working_age,
               count_if(m.school_level = 'sd') AS eschild,
               count_if(m.school_level = 'smp') AS jschild,
               count_if(m.school_level = 'sma') AS sschild,
               max(m.edu) AS highest,
               -- the named head if a member, else the oldest member (ties: smallest person_code)
               arg_min(
                   {{'age': m.age, 'sex': m.sex, 'marital_status': m.marital_status, 'edu': m.edu,
                     'sector': m.sector, 'employment_type': m.employment_type}},
                   {{'not_named': coalesce(m.person_code <> fam.head_person_code, true), 'age': -m.age,
                     'code': m.person_code}}
               ) AS h
        FROM mem m JOIN fam USING (family_code)
        GROUP BY m.family_code
    ),
    cond AS (
        SELECT * FROM _cov_conditions
        WHERE observed_on <= $as_of
        QUALIFY row_number() OVER (PARTITION BY family_code ORDER BY observed_on DESC) = 1
    )
    SELECT fam.family_code,
        CASE WHEN coalesce(agg.hhsize, 0) > 0 THEN c.floor_area_m2::DOUBLE / agg.hhsize END AS pcfloor,
        (c.floor_material <> 'tanah')::INTEGER AS tfloor,
        (c.wall_material = 'tembok')::INTEGER AS twall,
        (c.roof_material IN ('beton', 'seng'))::INTEGER AS troof,
        (c.toilet = 'sendiri')::INTEGER AS toilet,
        (c.drinking_water IN ({clean}))::INTEGER AS water,
        (c.lighting IN ('pln_meter', 'pln_tanpa_meter'))::INTEGER AS lighting,
        (c.cooking_fuel = 'kayu_bakar')::INTEGER AS fcook,
        (c.tenure = 'milik_sendiri')::INTEGER AS house,
        coalesce(agg.hhsize, 0)::INTEGER AS hhsize,
        agg.h.age::INTEGER AS hhage,
        (agg.h.sex = 'L')::INTEGER AS hhmale,
        (agg.h.marital_status = 'kawin')::INTEGER AS hhmarried,
        coalesce(agg.age04, 0)::INTEGER AS age04,
        CASE WHEN coalesce(agg.hhsize, 0) > 0 THEN agg.dep::DOUBLE / greatest(agg.working_age, 1) END
            AS depratio,
        coalesce(agg.eschild, 0)::INTEGER AS eschild,
        coalesce(agg.jschild, 0)::INTEGER AS jschild,
        coalesce(agg.sschild, 0)::INTEGER AS sschild,
        (agg.h.edu = 2)::INTEGER AS hheduc2,
        (agg.h.edu = 3)::INTEGER AS hheduc3,
        (agg.h.edu = 4)::INTEGER AS hheduc4,
        (agg.highest = 2)::INTEGER AS higheduc2,
        (agg.highest = 3)::INTEGER AS higheduc3,
        (agg.highest = 4)::INTEGER AS higheduc4,
        (agg.h.employment_type = 'formal')::INTEGER AS formal,
        (agg.h.employment_type = 'informal')::INTEGER AS informal,
        (agg.h.sector = 'pertanian')::INTEGER AS hhsector1,
        (agg.h.sector = 'industri')::INTEGER AS hhsector2,
        (agg.h.sector = 'jasa')::INTEGER AS hhsector3,
        {assets}
    FROM fam
    LEFT JOIN agg USING (family_code)
    LEFT JOIN cond c USING (family_code)
    ORDER BY fam.family_code
    """  # noqa: S608
    return sql


def family_covariates(
    *,
    families: TableLike,
    persons: TableLike,
    conditions: TableLike,
    as_of: dt.date,
    con: duckdb.DuckDBPyConnection | None = None,
    as_arrow: bool = False,
) -> Any:
    """One row per family: `family_code` and the 45 covariates (see the module docstring), sorted by code.

    Returns a pandas DataFrame (or a pyarrow Table with `as_arrow=True`). Integer columns are nullable.
    """
    own = con is None
    db = duckdb.connect() if con is None else con
    if own:
        db.execute("SET enable_progress_bar = false")
    try:
        fam_cols = _relation(db, families, "_cov_families")
        per_cols = _relation(db, persons, "_cov_persons")
        _relation(db, conditions, "_cov_conditions")
        query = _sql(person_has_status="status" in per_cols, family_has_status="status" in fam_cols)
        table = db.sql(query, params={"as_of": as_of}).to_arrow_table()
        if as_arrow:
            return table
        return table.to_pandas(types_mapper=_nullable_types)
    finally:
        if own:
            db.close()
        else:
            for name in ("_cov_families", "_cov_persons", "_cov_conditions"):
                db.unregister(name)
                db.execute(f"DROP VIEW IF EXISTS {name}")


def _nullable_types(arrow_type: pa.DataType) -> Any:
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    return None
