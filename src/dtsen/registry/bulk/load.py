"""The writer: compare the staged files with the register and write only the differences, set-based.

Inside the one import transaction (`services.bulk_import`):

1. `state_fetch` copies the rows of the register the files touch (by code) into DuckDB `db_*` tables, as
   text; an empty register is not read at all.
2. `plan_build` gives each file row, in narrow DuckDB tables (`k_*`, in file order), its register id
   (existing rows) or a new id (reserved after the current maximum), its foreign keys resolved by code, and
   its `change`: `new`, `changed` or `same`; `w_*` views line them up with the file rows. A row identical
   to the register is `same` and is not written.
3. `Writer.run` inserts the new rows (PostgreSQL COPY / SQLite executemany), updates the changed rows from a
   temporary table (`UPDATE ... FROM`, the same SQL on both), and adds one version per new or changed row
   with `INSERT INTO historical_x SELECT ... FROM x`: history_type "+" or "~", history_user = the actor,
   history_channel, history_change_reason and one history_date for the whole batch. Condition snapshots
   are append-only (a row that matches an existing snapshot in every value is `same`); a new KK number
   closes the open `FamilyKkNumber` row and opens a new one; earlier numbers listed in `kk_previous` that
   the register does not know are added as closed rows.

Column lists come from the models' `_meta` (main and historical), so a new model field either gets its
default or, if it has none, stops the import with an explicit error instead of being silently skipped.
"""
# ruff: noqa: S608
# (SQL text is built from the models' table and column names and constants of this module; citizen values
# are only read from staged tables or bound as parameters.)

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from django.db import models
from tqdm import tqdm

from dtsen.registry.bulk.engine import Engine
from dtsen.registry.bulk.read import Staging
from dtsen.registry.models import Condition, Dwelling, ExclusionFlag, Family, FamilyKkNumber, Person
from dtsen.registry.schema import CONDITIONS, EXCLUSIONS, PERSONS, TABLES

PERSON_VALUE_COLUMNS = [n for n in PERSONS.names if n not in {"person_code", "family_code", "nik"}]

# Which model field each schema column is stored in (lengths and decimal places come from there).
SCHEMA_FIELDS: dict[str, dict[str, tuple[type[models.Model], str]]] = {
    "families": {
        "family_code": (Family, "family_code"),
        "kk_number": (Family, "kk_number"),
        "village_code": (Family, "village_code"),
        "rw": (Family, "rw"),
        "rt": (Family, "rt"),
        "address": (Family, "address"),
        "dwelling_code": (Dwelling, "dwelling_code"),
        "building_no": (Dwelling, "building_no"),
        "family_no": (Family, "family_no"),
        "latitude": (Dwelling, "latitude"),
        "longitude": (Dwelling, "longitude"),
        "head_person_code": (Person, "person_code"),
        "pengurus_person_code": (Person, "person_code"),
    },
    "persons": {
        "person_code": (Person, "person_code"),
        "family_code": (Family, "family_code"),
        **{name: (Person, name) for name in PERSON_VALUE_COLUMNS},
    },
    "conditions": {
        "family_code": (Family, "family_code"),
        **{name: (Condition, name) for name in CONDITIONS.names if name != "family_code"},
    },
    "exclusions": {
        "person_code": (Person, "person_code"),
        **{name: (ExclusionFlag, name) for name in EXCLUSIONS.names if name != "person_code"},
    },
}

HISTORY_COLUMNS = {
    "history_id", "history_date", "history_change_reason", "history_type", "history_user_id",
    "history_channel",
}
LOCKED_MODELS = (Dwelling, Family, Person, FamilyKkNumber, Condition, ExclusionFlag)
# An initial load of at least this many rows into an empty table drops its secondary indexes (PostgreSQL:
# and foreign keys) first and builds them once at the end, in the same transaction.
SUSPEND_INDEXES_MIN_ROWS = 20_000


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


def _duck_type(f: models.Field) -> str:
    kind = f.get_internal_type()
    if kind in {"CharField", "TextField", "JSONField", "DateTimeField"}:
        return "VARCHAR"  # timestamps travel as text in the database's own format
    if kind == "BooleanField":
        return "BOOLEAN"
    if kind == "DateField":
        return "DATE"
    if kind == "DecimalField":
        return f"DECIMAL({f.max_digits}, {f.decimal_places})"  # type: ignore[attr-defined]
    return "BIGINT"  # integer fields, foreign keys and ids


def _decimal(model: type[models.Model], name: str) -> str:
    f = model._meta.get_field(name)
    assert isinstance(f, models.Field)
    return _duck_type(f)


# ------------------------------------------------------------------------------------ typed source views


def _typed_views(staging: Staging) -> None:
    """`t_<table>`: the staged rows with typed values (after validation every parse succeeds)."""
    lat = _decimal(Dwelling, "latitude")
    area = _decimal(Condition, "floor_area_m2")
    con = staging.con
    con.execute(f"""CREATE OR REPLACE VIEW t_families AS SELECT _row, family_code, kk_number, village_code,
        rw, rt, address, dwelling_code, p_int(building_no) AS building_no, p_int(family_no) AS family_no,
        CAST(p_float(latitude) AS {lat}) AS latitude, CAST(p_float(longitude) AS {lat}) AS longitude,
        head_person_code, pengurus_person_code, kk_previous FROM src_families""")
    con.execute("""CREATE OR REPLACE VIEW t_persons AS
        SELECT _row, person_code, family_code, nik_hash, nik_enc,
        coalesce(nik_sex = sex AND nik_day = day(p_date(birth_date)) AND nik_month = month(p_date(birth_date))
                 AND nik_yy = year(p_date(birth_date)) % 100, false) AS nik_consistent,
        upper(name) AS name, sex, birth_place, p_date(birth_date) AS birth_date, relationship, marital_status,
        education, school_level, sector, employment_type, occupation, disability, disability_severity,
        p_bool(pregnant) AS pregnant, life_status, p_date(death_date) AS death_date, death_source
        FROM src_persons""")
    bools = ", ".join(f"p_bool({n}) AS {n}" for n in CONDITIONS.names if _col_type("conditions", n) == "bool")
    texts = ", ".join(n for n in CONDITIONS.names if _col_type("conditions", n) == "str")
    con.execute(f"""CREATE OR REPLACE VIEW t_conditions AS SELECT _row, p_date(observed_on) AS observed_on,
        CAST(p_float(floor_area_m2) AS {area}) AS floor_area_m2, p_int(power_va) AS power_va, {texts}, {bools}
        FROM src_conditions""")
    con.execute("""CREATE OR REPLACE VIEW t_exclusions AS SELECT _row, person_code, category, source,
        source_ref, p_date(observed_on) AS observed_on FROM src_exclusions""")


def _col_type(table: str, name: str) -> str:
    return next(col.type for col in TABLES[table].columns if col.name == name)


# ------------------------------------------------------------------------------------- register state

# The register's rows as text: (DuckDB table, columns, SQL with %s params, typed view).
_CONDITION_VALUE_COLUMNS = [n for n in CONDITIONS.names if n != "family_code"]


def _state_queries() -> list[tuple[str, list[str], str, str]]:
    fam, per, dwe = _table(Family), _table(Person), _table(Dwelling)
    kk, cond, excl = _table(FamilyKkNumber), _table(Condition), _table(ExclusionFlag)
    person_fields = PERSON_VALUE_COLUMNS
    cond_cols = _CONDITION_VALUE_COLUMNS
    moved_families = f"SELECT p2.family_id FROM {per} p2 JOIN tmp_bulk_pc t2 ON t2.code = p2.person_code"
    lat = _decimal(Dwelling, "latitude")
    area = _decimal(Condition, "floor_area_m2")
    cond_typed = ", ".join(
        f"p_date({n}) AS {n}" if _col_type("conditions", n) == "date"
        else f"p_bool({n}) AS {n}" if _col_type("conditions", n) == "bool"
        else f"CAST({n} AS {area}) AS {n}" if n == "floor_area_m2"
        else f"p_int({n}) AS {n}" if _col_type("conditions", n) == "int"
        else f"coalesce({n}, '') AS {n}"
        for n in cond_cols
    )
    return [
        (
            "db_family",
            ["id", "family_code", "kk_number", "village_code", "rw", "rt", "address", "dwelling_id",
             "family_no", "head_id", "pengurus_id", "head_code", "pengurus_code"],
            f"""SELECT CAST(f.id AS TEXT), f.family_code, f.kk_number, f.village_code, f.rw, f.rt, f.address,
                CAST(f.dwelling_id AS TEXT), CAST(f.family_no AS TEXT), CAST(f.head_id AS TEXT),
                CAST(f.pengurus_id AS TEXT), h.person_code, g.person_code
            FROM {fam} f LEFT JOIN {per} h ON h.id = f.head_id LEFT JOIN {per} g ON g.id = f.pengurus_id
            WHERE f.family_code IN (SELECT code FROM tmp_bulk_fc) OR f.id IN ({moved_families})""",
            """SELECT CAST(id AS BIGINT) AS id, family_code, kk_number, village_code, rw, rt, address,
                CAST(dwelling_id AS BIGINT) AS dwelling_id, CAST(family_no AS BIGINT) AS family_no,
                CAST(head_id AS BIGINT) AS head_id, CAST(pengurus_id AS BIGINT) AS pengurus_id, head_code,
                pengurus_code""",
        ),
        (
            "db_person",
            ["id", "person_code", "family_id", "family_code", "family_village_code", "nik_hash",
             "nik_consistent", *person_fields],
            f"""SELECT CAST(p.id AS TEXT), p.person_code, CAST(p.family_id AS TEXT), f.family_code,
                f.village_code, p.nik_hash, CAST(p.nik_consistent AS TEXT),
                {", ".join(f"CAST(p.{n} AS TEXT)" for n in person_fields)}
            FROM {per} p JOIN {fam} f ON f.id = p.family_id
            WHERE p.person_code IN (SELECT code FROM tmp_bulk_pc)
               OR f.family_code IN (SELECT code FROM tmp_bulk_fc) OR p.family_id IN ({moved_families})""",
            """SELECT CAST(id AS BIGINT) AS id, person_code, CAST(family_id AS BIGINT) AS family_id,
                family_code, family_village_code, nik_hash, p_bool(nik_consistent) AS nik_consistent,
                name, sex,
                coalesce(birth_place, '') AS birth_place, CAST(birth_date AS DATE) AS birth_date,
                relationship, marital_status, education, school_level, sector, employment_type,
                coalesce(occupation, '') AS occupation,
                disability, disability_severity, p_bool(pregnant) AS pregnant, life_status,
                CAST(death_date AS DATE) AS death_date, coalesce(death_source, '') AS death_source""",
        ),
        (
            "db_dwelling",
            ["id", "dwelling_code", "village_code", "building_no", "latitude", "longitude"],
            f"""SELECT CAST(id AS TEXT), dwelling_code, village_code, CAST(building_no AS TEXT),
                CAST(latitude AS TEXT), CAST(longitude AS TEXT)
            FROM {dwe} WHERE dwelling_code IN (SELECT code FROM tmp_bulk_dc)""",
            f"""SELECT CAST(id AS BIGINT) AS id, dwelling_code, village_code,
                CAST(building_no AS BIGINT) AS building_no,
                CAST(latitude AS {lat}) AS latitude, CAST(longitude AS {lat}) AS longitude""",
        ),
        (
            "db_kk",
            ["id", "family_id", "kk_number", "valid_from", "valid_to"],
            f"""SELECT CAST(k.id AS TEXT), CAST(k.family_id AS TEXT), k.kk_number, CAST(k.valid_from AS TEXT),
                CAST(k.valid_to AS TEXT)
            FROM {kk} k JOIN {fam} f ON f.id = k.family_id JOIN tmp_bulk_fc t ON t.code = f.family_code""",
            """SELECT CAST(id AS BIGINT) AS id, CAST(family_id AS BIGINT) AS family_id, kk_number,
                CAST(valid_from AS DATE) AS valid_from, CAST(valid_to AS DATE) AS valid_to""",
        ),
        (
            "db_condition",
            ["family_code", *cond_cols],
            f"""SELECT f.family_code, {", ".join(f"CAST(k.{n} AS TEXT)" for n in cond_cols)}
            FROM {cond} k JOIN {fam} f ON f.id = k.family_id JOIN tmp_bulk_cc t ON t.code = f.family_code""",
            f"SELECT family_code, {cond_typed}",
        ),
        (
            "db_exclusion",
            ["id", "person_code", "category", "source", "source_ref", "observed_on"],
            f"""SELECT CAST(e.id AS TEXT), p.person_code, e.category, e.source, e.source_ref,
                CAST(e.observed_on AS TEXT)
            FROM {excl} e JOIN {per} p ON p.id = e.person_id JOIN tmp_bulk_ec t ON t.code = p.person_code""",
            """SELECT CAST(id AS BIGINT) AS id, person_code, category, source,
                coalesce(source_ref, '') AS source_ref,
                CAST(observed_on AS DATE) AS observed_on""",
        ),
    ]


_CODE_SETS = {
    # temporary table in the register's database: the codes of the staged files it holds
    "tmp_bulk_fc": """SELECT family_code AS code FROM src_families UNION SELECT family_code FROM src_persons
                      UNION SELECT family_code FROM src_conditions""",
    "tmp_bulk_pc": """SELECT person_code AS code FROM src_persons UNION SELECT person_code FROM src_exclusions
                      UNION SELECT head_person_code FROM src_families
                      UNION SELECT pengurus_person_code FROM src_families""",
    "tmp_bulk_dc": "SELECT dwelling_code AS code FROM src_families",
    "tmp_bulk_cc": "SELECT family_code AS code FROM src_conditions",
    "tmp_bulk_ec": "SELECT person_code AS code FROM src_exclusions",
}


def state_fetch(engine: Engine, staging: Staging, *, progress: bool = False) -> dict[str, int]:
    """Copy the register rows the staged files refer to into DuckDB (`db_*` tables, typed)."""
    empty = not engine.has_rows(_table(Family)) and not engine.has_rows(_table(Person))
    counts: dict[str, int] = {}
    if not empty:
        limit = 64
        for name, sql in _CODE_SETS.items():
            codes = staging.con.sql(
                f"SELECT DISTINCT code FROM ({sql}) WHERE code <> '' AND length(code) <= {limit}"
            ).to_arrow_table()
            engine.temp_codes(name, codes.column("code").combine_chunks())
    queries = _state_queries()
    bar = tqdm(queries, desc="basis data/database", disable=not progress, leave=False)
    for target, columns, sql, typed in bar:
        raw = f"{target}_raw"
        if empty:
            cols = ", ".join(f'"{col}" VARCHAR' for col in columns)
            staging.con.execute(f"CREATE OR REPLACE TABLE {raw} ({cols})")
        else:
            engine.fetch_into(staging, raw, sql, [], columns)
        staging.con.execute(f"CREATE OR REPLACE TABLE {target} AS {typed} FROM {raw}")
        staging.con.execute(f"DROP TABLE {raw}")
        counts[target] = staging.count(target)
    if not empty:
        for name in _CODE_SETS:
            engine.temp_drop(name)
    return counts


# ------------------------------------------------------------------------------------------------ plan


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Plan:
    counts: dict[str, Counts] = field(default_factory=dict)
    first_id: dict[str, int] = field(default_factory=dict)  # model label -> id before the first new row
    kk_numbers: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: vars(v) for k, v in self.counts.items()}
        out["kk_numbers"] = {"created": self.kk_numbers}
        return out


FAMILY_COMPARED = ["kk_number", "village_code", "rw", "rt", "address", "dwelling_id", "family_no", "head_id",
                   "pengurus_id"]
PERSON_COMPARED = ["family_id", "nik_hash", "nik_consistent", "name", "sex", "birth_place", "birth_date",
                   "relationship", "marital_status", "education", "school_level", "sector", "employment_type",
                   "occupation", "disability", "disability_severity", "pregnant", "life_status", "death_date",
                   "death_source"]
DWELLING_COMPARED = ["village_code", "building_no", "latitude", "longitude"]
EXCLUSION_COMPARED = ["source_ref"]


def _keys(staging: Staging, engine: Engine, plan: Plan, *, name: str, source: str, db_join: str,
          model: type[models.Model]) -> None:
    """`ids_<name>(_row, db_id, id)` in file order: the register id of each row, or a new id for a new row
    (consecutive, after the register's current maximum, in file order)."""
    con = staging.con
    con.execute(f"""CREATE OR REPLACE TABLE ids_{name} AS SELECT s._row, d.id AS db_id
        FROM {source} s LEFT JOIN {db_join} ORDER BY s._row""")
    new = staging.count(f"ids_{name}", "db_id IS NULL")
    base = engine.ids_reserve(_table(model), new) if new else 0
    plan.first_id[model._meta.label] = base
    con.execute(f"""CREATE OR REPLACE TABLE ids_{name} AS SELECT _row, db_id,
        CASE WHEN db_id IS NULL
             THEN {int(base)} + row_number() OVER (PARTITION BY db_id IS NULL ORDER BY _row)
             ELSE db_id END AS id
        FROM ids_{name} ORDER BY _row""")


def _classify(staging: Staging, plan: Plan, *, name: str, label: str, source: str, joins: str,
              resolved: Mapping[str, str], compared: Sequence[str], db: str, outer: str = "") -> None:
    """`k_<name>`: narrow and in file order (so it lines up row by row with `source`): the row's ids and
    foreign keys (`resolved`: column -> expression over s and the `joins`) and its `change`, comparing
    `compared` with the register's row; `w_<name>`: the source rows with them, for the writer."""
    con = staging.con
    inner = ", ".join(f"{expr} AS {col}" for col, expr in resolved.items())
    differs = " OR ".join(f"s.{col} IS DISTINCT FROM d.{col}" for col in compared)
    keep = ", ".join(f"s.{col}" for col in resolved)
    con.execute(f"""CREATE OR REPLACE TABLE k_{name} AS
        SELECT s._row, {keep}, {outer}
            CASE WHEN s.db_id IS NULL THEN 'new' WHEN {differs} THEN 'changed' ELSE 'same' END AS change
        FROM (SELECT s.*, {inner} FROM {source} s {joins}) s
        LEFT JOIN {db} d ON d.id = s.db_id ORDER BY s._row""")
    if staging.count(f"k_{name}") != staging.count(source):
        raise RuntimeError(f"bulk import: {name} keys do not line up with the file rows")
    con.execute(f"""CREATE OR REPLACE VIEW w_{name} AS SELECT s.*, k.* EXCLUDE (_row)
        FROM {source} s POSITIONAL JOIN k_{name} k""")
    got = dict(con.execute(f"SELECT change, count(*) FROM k_{name} GROUP BY change").fetchall())
    plan.counts[label] = Counts(int(got.get("new", 0)), int(got.get("changed", 0)), int(got.get("same", 0)))


_IDS = {"id": "k.id", "db_id": "k.db_id"}


def plan_build(staging: Staging, engine: Engine, *, today: dt.date) -> Plan:
    """Ids, foreign keys and change (new / changed / same) of every file row, in narrow `k_*` tables, and
    `w_*` views that line them up with the file rows for the writer."""
    _typed_views(staging)
    con = staging.con
    plan = Plan()
    # Dwellings: one per dwelling_code, its values from the first family row that names it.
    con.execute("""CREATE OR REPLACE TABLE s_dwelling AS
        SELECT dwelling_code, min(_row) AS _row, arg_min(village_code, _row) AS village_code,
               arg_min(building_no, _row) AS building_no, arg_min(latitude, _row) AS latitude,
               arg_min(longitude, _row) AS longitude
        FROM t_families WHERE dwelling_code <> '' GROUP BY dwelling_code ORDER BY _row""")
    _keys(staging, engine, plan, name="dwelling", source="s_dwelling",
          db_join="db_dwelling d ON d.dwelling_code = s.dwelling_code", model=Dwelling)
    _keys(staging, engine, plan, name="person", source="t_persons",
          db_join="db_person d ON d.person_code = s.person_code", model=Person)
    _keys(staging, engine, plan, name="family", source="t_families",
          db_join="db_family d ON d.family_code = s.family_code", model=Family)
    # Every code the file may refer to, with its id (the file's rows first, then the register's).
    con.execute("""CREATE OR REPLACE TABLE id_person AS
        SELECT s.person_code, k.id FROM t_persons s POSITIONAL JOIN ids_person k UNION ALL
        SELECT person_code, id FROM db_person d
        WHERE NOT EXISTS (SELECT 1 FROM src_persons w WHERE w.person_code = d.person_code)""")
    con.execute("""CREATE OR REPLACE TABLE id_family AS
        SELECT s.family_code, k.id FROM t_families s POSITIONAL JOIN ids_family k UNION ALL
        SELECT family_code, id FROM db_family d
        WHERE NOT EXISTS (SELECT 1 FROM src_families w WHERE w.family_code = d.family_code)""")
    con.execute("""CREATE OR REPLACE TABLE id_dwelling AS
        SELECT s.dwelling_code, k.id FROM s_dwelling s POSITIONAL JOIN ids_dwelling k""")

    _classify(staging, plan, name="dwelling", label="dwellings", source="s_dwelling",
              joins="JOIN ids_dwelling k ON k._row = s._row", resolved=_IDS, compared=DWELLING_COMPARED,
              db="db_dwelling")
    _classify(staging, plan, name="family", label="families", source="t_families",
              joins="""JOIN ids_family k ON k._row = s._row
                       JOIN id_person h ON h.person_code = s.head_person_code
                       LEFT JOIN id_person g ON g.person_code = s.pengurus_person_code
                       LEFT JOIN id_dwelling w ON w.dwelling_code = s.dwelling_code""",
              resolved={**_IDS, "head_id": "h.id", "pengurus_id": "g.id", "dwelling_id": "w.id"},
              compared=FAMILY_COMPARED, db="db_family")
    # The writer keeps a changed person's stored ciphertext unless the NIK itself changed (nik_enc NULL).
    _classify(staging, plan, name="person", label="persons", source="t_persons",
              joins="JOIN ids_person k ON k._row = s._row JOIN id_family f ON f.family_code = s.family_code",
              resolved={**_IDS, "family_id": "f.id"}, compared=PERSON_COMPARED, db="db_person",
              outer="coalesce(d.nik_hash = s.nik_hash, false) AS keep_enc,")
    con.execute("""CREATE OR REPLACE VIEW w_person AS
        SELECT s.* EXCLUDE (nik_enc), CASE WHEN k.keep_enc THEN NULL ELSE s.nik_enc END AS nik_enc,
               k.* EXCLUDE (_row, keep_enc)
        FROM t_persons s POSITIONAL JOIN k_person k""")

    con.execute("""CREATE OR REPLACE TABLE s_exclusion AS SELECT s.*, p.id AS person_id FROM t_exclusions s
        JOIN id_person p ON p.person_code = s.person_code ORDER BY s._row""")
    _keys(staging, engine, plan, name="exclusion", source="s_exclusion", model=ExclusionFlag,
          db_join="""db_exclusion d ON d.person_code = s.person_code AND d.category = s.category
                     AND d.source = s.source AND d.observed_on = s.observed_on""")
    _classify(staging, plan, name="exclusion", label="exclusions", source="s_exclusion",
              joins="JOIN ids_exclusion k ON k._row = s._row", resolved=_IDS, compared=EXCLUSION_COMPARED,
              db="db_exclusion")

    same = " AND ".join(f"d.{n} IS NOT DISTINCT FROM s.{n}" for n in _CONDITION_VALUE_COLUMNS)
    con.execute(f"""CREATE OR REPLACE TABLE k_condition AS SELECT s._row, f.id AS family_id,
            CASE WHEN EXISTS (SELECT 1 FROM db_condition d WHERE d.family_code = s.family_code AND {same})
                 THEN 'same' ELSE 'new' END AS change
        FROM t_conditions s JOIN id_family f ON f.family_code = s.family_code ORDER BY s._row""")
    if staging.count("k_condition") != staging.count("t_conditions"):
        raise RuntimeError("bulk import: condition keys do not line up with the file rows")
    con.execute("""CREATE OR REPLACE VIEW w_condition AS SELECT s.*, k.* EXCLUDE (_row)
        FROM t_conditions s POSITIONAL JOIN k_condition k""")
    got = dict(con.execute("SELECT change, count(*) FROM k_condition GROUP BY change").fetchall())
    plan.counts["conditions"] = Counts(int(got.get("new", 0)), 0, int(got.get("same", 0)))

    _plan_kk(staging, today)
    plan.kk_numbers = staging.count("w_kk_insert")
    return plan


def _plan_kk(staging: Staging, today: dt.date) -> None:
    """KK history: numbers to add (earlier ones closed, the new current one open), rows to close or reopen."""
    con = staging.con
    con.execute("""CREATE OR REPLACE TABLE w_kk_family AS SELECT f.id AS family_id, f._row, f.kk_number,
            f.kk_previous, f.change, d.kk_number AS db_kk_number
        FROM w_family f LEFT JOIN db_family d ON d.id = f.db_id""")
    # Earlier numbers the register does not know yet, each once, in the order listed.
    con.execute("""CREATE OR REPLACE TABLE w_kk_prev AS
        WITH listed AS (
            SELECT f.family_id, f._row, f.kk_number AS current_kk,
                   unnest(string_split(f.kk_previous, '|')) AS kk,
                   generate_subscripts(string_split(f.kk_previous, '|'), 1) AS pos
            FROM w_kk_family f WHERE f.kk_previous <> '')
        SELECT l.family_id, any_value(l._row) AS _row, l.kk AS kk_number, min(l.pos) AS pos FROM listed l
        WHERE l.kk <> l.current_kk
          AND NOT EXISTS (SELECT 1 FROM db_kk k WHERE k.family_id = l.family_id AND k.kk_number = l.kk)
        GROUP BY l.family_id, l.kk""")
    # New families, and families whose current number changes (their open row is closed first).
    con.execute("""CREATE OR REPLACE TABLE w_kk_switch AS
        SELECT family_id, _row, kk_number, change FROM w_kk_family
        WHERE change = 'new' OR kk_number IS DISTINCT FROM db_kk_number""")
    con.execute("""CREATE OR REPLACE TABLE w_kk_reopen AS SELECT k.id FROM w_kk_switch s
        JOIN db_kk k ON k.family_id = s.family_id AND k.kk_number = s.kk_number AND k.valid_from = $today""",
                {"today": today})
    con.execute("""CREATE OR REPLACE TABLE w_kk_insert AS
        SELECT family_id, kk_number, $today::DATE AS valid_from, $today::DATE AS valid_to, _row, pos
        FROM w_kk_prev
        UNION ALL
        SELECT s.family_id, s.kk_number, $today::DATE, NULL, s._row, 1000000 FROM w_kk_switch s
        WHERE NOT EXISTS (SELECT 1 FROM db_kk k WHERE k.family_id = s.family_id AND k.kk_number = s.kk_number
                          AND k.valid_from = $today)""", {"today": today})


# ----------------------------------------------------------------------------------------------- write


@dataclass(frozen=True)
class Stamp:
    """Who, why, through which channel and when: the same for every version this import writes."""

    user_id: int | None
    channel: str
    reasons: Mapping[str, str]  # table of the file -> reason
    now: dt.datetime
    today: dt.date


@dataclass(frozen=True)
class Value:
    """A constant bound as a parameter (in a column mapping, next to SQL expressions)."""

    value: Any


def _default(f: models.Field) -> Value:
    if f.has_default():
        value = f.get_default()
        return Value(json.dumps(value) if f.get_internal_type() == "JSONField" else value)
    if f.null:
        return Value(None)
    if f.blank and f.empty_strings_allowed:
        return Value("")
    raise RuntimeError(f"bulk import: no value for {f.model.__name__}.{f.name}; map it in bulk/load.py")


def _model_select(
    model: type[models.Model], exprs: Mapping[str, str | Value], *, now: Value, with_id: bool = True
) -> tuple[list[str], str, list[Any], dict[str, Any]]:
    """Every concrete column of `model`: the mapped expression, the batch time for automatic timestamps,
    else the field's default. Returns (columns computed per row, their DuckDB select list, its parameters,
    constant columns -> value)."""
    columns: list[str] = []
    select: list[str] = []
    params: list[Any] = []
    constants: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.primary_key and not with_id:
            continue
        if f.column in exprs:
            expr = exprs[f.column]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            expr = now
        else:
            expr = _default(f)
        if isinstance(expr, Value):
            constants[f.column] = expr.value
            continue
        columns.append(f.column)
        select.append(f"CAST({expr} AS {_duck_type(f)}) AS {f.column}")
    return columns, ", ".join(select), params, constants


def _reader(staging: Staging, sql: str, params: list[Any]) -> Iterator[pa.RecordBatch]:
    yield from staging.con.sql(sql, params=params or None).to_arrow_reader(65_536)


_FILE_OF = {
    "w_dwelling": "families", "w_family": "families", "w_person": "persons", "w_exclusion": "exclusions",
    "w_condition": "conditions",
}


class Writer:
    def __init__(self, engine: Engine, staging: Staging, stamp: Stamp, plan: Plan,
                 progress: Callable[[int], None] | None = None) -> None:
        self.engine = engine
        self.staging = staging
        self.stamp = stamp
        self.plan = plan
        self.progress = progress or (lambda n: None)
        now = stamp.now.isoformat() if engine.vendor == "postgresql" else str(engine.when(stamp.now))
        self.now = Value(now)
        self.versions: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.suspended: list[str] = []

    @contextlib.contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[step] = round(self.timings.get(step, 0.0) + time.monotonic() - started, 3)

    # -- generic pieces
    def insert_new(self, model: type[models.Model], source: str, exprs: Mapping[str, str | Value],
                   *, with_id: bool = True) -> int:
        columns, select, params, constants = _model_select(model, exprs, now=self.now, with_id=with_id)
        # `source` is in file order (= id order of the new rows): no sort needed
        sql = f"SELECT {select} FROM {source} WHERE change = 'new'"
        with self._timed(f"insert {model._meta.model_name}"):
            count = self.engine.copy_in(_table(model), columns, _reader(self.staging, sql, params), constants)
        self.progress(count)
        return count

    def update_changed(self, model: type[models.Model], source: str, columns: Sequence[str],
                       overrides: Mapping[str, str] | None = None) -> int:
        tmp = f"tmp_bulk_upd_{model._meta.model_name}"
        fields = {f.column: f for f in model._meta.concrete_fields}
        select = ", ".join(["id", *(f"CAST({col} AS {_duck_type(fields[col])}) AS {col}" for col in columns)])
        self.engine.temp_like(tmp, _table(model), ["id", *columns])
        count = self.engine.copy_in(
            tmp, ["id", *columns],
            _reader(self.staging, f"SELECT {select} FROM {source} WHERE change = 'changed' ORDER BY id", []),
        )
        if count:
            self.engine.temp_ready(tmp)
            sets = [f"{col} = {(overrides or {}).get(col, f't.{col}')}" for col in columns]
            params = []
            if "updated_at" in fields:
                sets.append("updated_at = %s")
                params.append(self.engine.when(self.stamp.now))
            with self._timed(f"update {model._meta.model_name}"):
                self.engine.execute(
                    f"UPDATE {_table(model)} AS m SET {', '.join(sets)} FROM {tmp} AS t WHERE m.id = t.id",
                    params,
                )
            self.version(model, f"id IN (SELECT id FROM {tmp})", [], kind="~", source=source)
            self.progress(count)
        self.engine.temp_drop(tmp)
        return count

    def version(self, model: type[models.Model], where: str, params: list[Any], *, kind: str,
                source: str) -> int:
        """One version row per matching row of `model`, a copy of its current state."""
        history = model.history.model  # type: ignore[attr-defined]
        hist_cols = [f.column for f in history._meta.concrete_fields]
        extra = {col for col in hist_cols if col.startswith("history_")}
        if extra != HISTORY_COLUMNS:
            raise RuntimeError(f"bulk import: unexpected version columns {sorted(extra ^ HISTORY_COLUMNS)}")
        names = ", ".join(col for col in hist_cols if not col.startswith("history_"))
        sql = (
            f"INSERT INTO {_table(history)} ({names}, history_date, history_change_reason, history_type, "
            f"history_user_id, history_channel) SELECT {names}, %s, %s, %s, %s, %s FROM {_table(model)} "
            f"WHERE {where}"
        )
        reason = self.stamp.reasons[_FILE_OF[source]]
        with self._timed(f"version {model._meta.model_name}"):
            stamp = self.stamp
            count = self.engine.execute(
                sql, [self.engine.when(stamp.now), reason, kind, stamp.user_id, stamp.channel, *params]
            )
        label = model._meta.label
        self.versions[label] = self.versions.get(label, 0) + count
        return count

    def insert_versioned(self, model: type[models.Model], source: str, exprs: Mapping[str, str | Value],
                         counts: Counts) -> None:
        if not counts.created:
            return
        self.insert_new(model, source, exprs)
        base = self.plan.first_id[model._meta.label]
        last = base + counts.created
        self.version(model, "id BETWEEN %s AND %s", [base + 1, last], kind="+", source=source)
        self.engine.ids_commit(_table(model), last)

    def _suspend_indexes(self) -> None:
        """An initial load (empty tables, many rows) builds each index once at the end, not row by row."""
        counts = self.plan.counts
        rows = {Dwelling: counts["dwellings"].created, Family: counts["families"].created,
                Person: counts["persons"].created, Condition: counts["conditions"].created,
                FamilyKkNumber: self.plan.kk_numbers, ExclusionFlag: counts["exclusions"].created}
        tables = []
        for model, count in rows.items():
            if count < SUSPEND_INDEXES_MIN_ROWS:
                continue
            history = getattr(model, "history", None)
            for table in (_table(model), *([_table(history.model)] if history is not None else [])):
                if not self.engine.has_rows(table):
                    tables.append(table)
        if tables:
            with self._timed("suspend indexes"):
                self.suspended = self.engine.indexes_suspend(tables, forward_referencing=[_table(Family)])

    # -- the import
    def run(self) -> None:
        counts = self.plan.counts
        self._suspend_indexes()
        dwelling: dict[str, str | Value] = {n: n for n in ("id", "dwelling_code", *DWELLING_COMPARED)}
        self.insert_versioned(Dwelling, "w_dwelling", dwelling, counts["dwellings"])
        self.update_changed(Dwelling, "w_dwelling", DWELLING_COMPARED)

        family: dict[str, str | Value] = {n: n for n in ("id", "family_code", *FAMILY_COMPARED)}
        person: dict[str, str | Value] = {n: n for n in ("id", "person_code", "nik_enc", *PERSON_COMPARED)}
        # New families point at new persons and the other way round: both foreign keys are checked at commit.
        self.insert_versioned(Family, "w_family", family, counts["families"])
        self.insert_versioned(Person, "w_person", person, counts["persons"])
        self.update_changed(Family, "w_family", FAMILY_COMPARED)
        self.update_changed(Person, "w_person", ["nik_enc", *PERSON_COMPARED],
                            overrides={"nik_enc": "COALESCE(t.nik_enc, m.nik_enc)"})
        self._write_kk()

        condition: dict[str, str | Value] = {n: n for n in _CONDITION_VALUE_COLUMNS}
        condition.update(family_id="family_id", channel=Value(self.stamp.channel),
                         recorded_by_id=Value(self.stamp.user_id), evidence=Value("[]"))
        if counts["conditions"].created:
            self.insert_new(Condition, "w_condition", condition, with_id=False)

        exclusion: dict[str, str | Value] = {
            n: n for n in ("id", "person_id", "category", "source", "source_ref", "observed_on")
        }
        self.insert_versioned(ExclusionFlag, "w_exclusion", exclusion, counts["exclusions"])
        self.update_changed(ExclusionFlag, "w_exclusion", EXCLUSION_COMPARED)
        if self.suspended:
            with self._timed("rebuild indexes"):
                self.engine.indexes_restore()

    def _write_kk(self) -> None:
        con = self.staging.con
        table = _table(FamilyKkNumber)
        switching = con.sql(
            "SELECT DISTINCT s.family_id AS id FROM w_kk_switch s WHERE s.change <> 'new'"
        ).to_arrow_table()
        if switching.num_rows:
            self.engine.temp_ids("tmp_bulk_kk", switching.column("id").combine_chunks())
            self.engine.execute(
                f"UPDATE {table} SET valid_to = %s WHERE valid_to IS NULL "
                "AND family_id IN (SELECT id FROM tmp_bulk_kk)", [self.stamp.today])
            reopen = con.sql("SELECT id FROM w_kk_reopen").to_arrow_table()
            if reopen.num_rows:
                self.engine.temp_ids("tmp_bulk_kk", reopen.column("id").combine_chunks())
                self.engine.execute(
                    f"UPDATE {table} SET valid_to = NULL WHERE id IN (SELECT id FROM tmp_bulk_kk)"
                )
            self.engine.temp_drop("tmp_bulk_kk")
        exprs: dict[str, str | Value] = {"family_id": "family_id", "kk_number": "kk_number",
                                         "valid_from": "valid_from", "valid_to": "valid_to",
                                         "reason": Value(self.stamp.reasons["families"])}
        columns, select, params, constants = _model_select(FamilyKkNumber, exprs, now=self.now, with_id=False)
        sql = f"SELECT {select} FROM w_kk_insert ORDER BY _row, pos"
        with self._timed("insert familykknumber"):
            self.progress(self.engine.copy_in(table, columns, _reader(self.staging, sql, params), constants))
