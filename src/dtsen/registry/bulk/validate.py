"""Set-based checks of the staged files, each one SQL statement run by DuckDB over all rows at once.

Every check inserts into `errors` one row per problem: (file, row as in the file, key of the row, field,
code, value). The codes and their bilingual messages are in `codes.py`. Checks of single values come from
the schema (required, type, code list, length) and from the models (lengths); the rest are written out
below. Checks that need the register (does this family exist? who else is a member?) read the `db_*` tables
that `load.state_fetch` copied from the database inside the import transaction.

Row-level rules (all of them are run, so one report lists every problem of every row):
- families: KK number of 16 digits, earlier KK numbers likewise; RW/RT of 1-3 digits; the village is a
  village of the current region edition and inside the actor's scope (and so is the family's village in
  the register); coordinates complete and inside Indonesia; building number and family serial positive;
  a building number or coordinates only with a dwelling code, and families sharing a dwelling agree on it;
  the head is a member with the relationship `kepala`, the family has exactly one `kepala`, the pengurus
  is a member.
- persons: NIK structure (`nik.py` rules, vectorised), no NIK twice in a family, the family exists (file
  or register), dates not in the future nor before 1900, death not before birth, a date or source of
  death only for the deceased, pregnancy only for women; a person who heads (or is pengurus of) a family
  that the file does not update may not leave it.
- conditions: the family exists, floor area 1-5000 m², power 0-1,000,000 VA.
- exclusions: the person exists (file or register).
- every table: the key is unique within the file.
"""
# ruff: noqa: S608
# (SQL text is built from schema column names, code lists and constants of this module; citizen values are
# only ever read from the staged tables.)

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import models

from dtsen.accounts.selectors import Scope
from dtsen.registry import choices as c
from dtsen.registry.schema import CONDITIONS, EXCLUSIONS, FAMILIES, PERSONS, TABLES, Table

if TYPE_CHECKING:
    from dtsen.registry.bulk.read import Staging

MIN_DATE = dt.date(1900, 1, 1)
LATITUDE = (-11.5, 6.5)  # Indonesia, with a margin
LONGITUDE = (94.0, 141.5)
FLOOR_AREA = (1, 5000)  # as services.condition_record
POWER_VA = (0, 1_000_000)
VALUE_MAX = 200  # characters of a value copied into the report

# Columns whose key identifies a row of each table (conditions: the whole row; exclusions: four columns).
ROW_KEY: dict[str, tuple[str, ...]] = {
    "families": ("family_code",),
    "persons": ("person_code",),
    "conditions": tuple(CONDITIONS.names),
    "exclusions": ("person_code", "category", "source", "observed_on"),
}
KEY_COLUMN = {name: table.key for name, table in TABLES.items()}


@dataclass
class ValidationResult:
    errors: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # file table -> rejected rows
    by_code: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.errors == 0


@dataclass(frozen=True)
class NikChecked:
    """Per NIK: the first problem code (null when valid or empty) and, when well formed, its parts."""

    error: pa.Array  # string
    sex: pa.Array  # "L" / "P"
    day: pa.Array  # birth day (women's +40 removed)
    month: pa.Array
    yy: pa.Array  # two-digit birth year


_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return _DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)


def nik_check(niks: pa.Array, *, today: dt.date, region_known: Callable[[str], bool]) -> NikChecked:
    """`nik.parse_nik` for a whole column at once, with the same codes in the same order: nik_length,
    nik_not_digits, nik_region_unknown, nik_date_invalid, nik_serial_zero. Values must be trimmed."""
    n = len(niks)
    chars = pc.utf8_length(niks).to_numpy(zero_copy_only=False)
    well_sized = (chars == 16) & (pc.binary_length(niks).to_numpy(zero_copy_only=False) == 16)
    filled = pc.if_else(pa.array(well_sized), niks, "0" * 16)
    offsets = np.frombuffer(filled.buffers()[1], dtype=np.int32)[filled.offset : filled.offset + n + 1]
    start = int(offsets[0]) if n else 0
    raw = np.frombuffer(filled.buffers()[2], dtype=np.uint8)[start : start + 16 * n].reshape(n, 16)
    digits = raw.astype(np.int32) - ord("0")
    all_digits = ((digits >= 0) & (digits <= 9)).all(axis=1) & well_sized
    d = np.where(all_digits[:, None], digits, 0)
    code6 = d[:, 0] * 100_000 + d[:, 1] * 10_000 + d[:, 2] * 1_000 + d[:, 3] * 100 + d[:, 4] * 10 + d[:, 5]
    known = {c: region_known(f"{c:06d}") for c in np.unique(code6[all_digits]).tolist()}
    region_ok = np.fromiter((known.get(c, False) for c in code6.tolist()), dtype=bool, count=n)
    dd, month, yy = d[:, 6] * 10 + d[:, 7], d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11]
    serial = d[:, 12] * 1000 + d[:, 13] * 100 + d[:, 14] * 10 + d[:, 15]
    female = dd > 40
    day = np.where(female, dd - 40, dd)
    plausible = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    # the century: the latest year not after today (a day invalid in that year counts as the 28th)
    year = 2000 + yy
    candidate_day = np.where(day <= _days_in_month(year, month), day, 28)
    today_int = today.year * 10_000 + today.month * 100 + today.day
    year = np.where(year * 10_000 + month * 100 + candidate_day > today_int, year - 100, year)
    date_ok = plausible & (day <= _days_in_month(year, month))
    present = chars > 0
    error = np.full(n, None, dtype=object)
    # from the last rule to the first, so that the first problem found (as parse_nik) is the one kept
    for failed, code in reversed([
        (chars != 16, "nik_length"), (~all_digits, "nik_not_digits"), (~region_ok, "nik_region_unknown"),
        (~date_ok, "nik_date_invalid"), (serial == 0, "nik_serial_zero"),
    ]):
        error[failed & present] = code
    parsed = present & all_digits
    return NikChecked(
        error=pa.array(error, pa.string()),
        sex=pa.array(np.where(female, "P", "L"), pa.string(), mask=~parsed),
        day=pa.array(day, pa.int32(), mask=~parsed),
        month=pa.array(month, pa.int32(), mask=~parsed),
        yy=pa.array(yy, pa.int32(), mask=~parsed),
    )


def _lit(value: str) -> str:
    """A SQL string literal of a trusted constant (code names, column names), never of citizen data."""
    return "'" + value.replace("'", "''") + "'"


def scope_sql(scope: Scope, expr: str) -> str:
    """True when the village code `expr` lies in the scope: a village's ancestors have fixed lengths."""
    if scope.national:
        return "true"
    prefixes = "[" + ", ".join(_lit(p) for p in scope.prefixes) + "]"
    return f"list_has_any({prefixes}, [left({expr}, 2), left({expr}, 5), left({expr}, 8), {expr}])"


class Checker:
    def __init__(self, staging: Staging, *, files: Mapping[str, str], today: dt.date, scope: Scope,
                 max_lengths: Mapping[tuple[str, str], int]) -> None:
        self.con = staging.con
        self.files = files
        self.today = today
        self.scope = scope
        self.max_lengths = max_lengths
        self.pending: dict[str, list[_Check]] = {}

    def emit(self, table: str, fld: str, code: str, where: str, *, value: str | None = None,
             source: str | None = None, params: list[Any] | None = None) -> None:
        """One error per row of `source` matching `where`. A check of the row alone (no `source`) waits
        for `flush`, which runs all of them over the rows that fail at least one."""
        check = _Check(fld, code, where, value, params or [])
        if source is None:
            self.pending.setdefault(table, []).append(check)
        else:
            self._insert(table, check, source)

    def _insert(self, table: str, check: _Check, source: str) -> None:
        value = check.value if check.value is not None else f's."{check.field}"'
        file, key = _lit(self.files[table]), KEY_COLUMN[table]
        head = f"{file}, s._row, s.{key}, {_lit(check.field)}, {_lit(check.code)}"
        self.con.execute(
            f"INSERT INTO errors SELECT {head}, left(CAST({value} AS VARCHAR), {VALUE_MAX}) "
            f"FROM {source} WHERE {check.where}",
            check.params,
        )

    def flush(self, table: str) -> None:
        """The row checks of `table`: one scan keeps the rows failing any of them (none, in a clean file),
        then each check runs over those rows only."""
        checks = self.pending.pop(table, [])
        if not checks:
            return
        any_bad = " OR ".join(f"({check.where})" for check in checks)
        params = [p for check in checks for p in check.params]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE bad_{table} AS SELECT * FROM src_{table} s "
                         f"WHERE {any_bad}", params)
        if self.con.execute(f"SELECT count(*) FROM bad_{table}").fetchall()[0][0]:
            for check in checks:
                self._insert(table, check, f"bad_{table} s")
        self.con.execute(f"DROP TABLE bad_{table}")

    # ------------------------------------------------------------------------------------------ values
    def values(self, table: Table) -> None:
        t = table.name
        for col in table.columns:
            raw = f's."{col.name}"'
            if col.required:
                self.emit(t, col.name, "required", f"{raw} = ''")
            if col.type in _PARSERS:
                code, parser = _PARSERS[col.type]
                self.emit(t, col.name, code, f"{raw} <> '' AND {parser}({raw}) IS NULL")
            if col.type == "date":
                self.emit(t, col.name, "future_date", f"p_date({raw}) > ?", params=[self.today])
                self.emit(t, col.name, "out_of_range", f"p_date({raw}) < ?", params=[MIN_DATE])
            if col.choices:
                self.emit(t, col.name, "unknown_code", f"{raw} <> '' AND NOT list_contains(?, {raw})",
                          params=[list(col.choices)])
            limit = self.max_lengths.get((t, col.name))
            if limit and col.name != "nik":
                self.emit(t, col.name, "too_long", f"length({raw}) > {int(limit)}")

    def duplicates(self, table: Table) -> None:
        cols = ", ".join(f'"{n}"' for n in ROW_KEY[table.name])
        first = ROW_KEY[table.name][0]
        source = (
            f"(SELECT *, count(*) OVER (PARTITION BY {cols}) AS _n FROM src_{table.name} "
            f"WHERE \"{first}\" <> '') s"
        )
        self.emit(table.name, table.key, "duplicate_key", "s._n > 1", source=source)

    def range(self, table: str, fld: str, parse: str, low: float, high: float) -> None:
        self.emit(table, fld, "out_of_range", f'NOT ({parse}(s."{fld}") BETWEEN {low} AND {high})')

    def in_scope(self, column: str) -> str:
        return scope_sql(self.scope, column)

    # -------------------------------------------------------------------------------------- families
    def families(self) -> None:
        t = "families"
        self.emit(t, "kk_number", "kk_invalid",
                  f"s.kk_number <> '' AND NOT regexp_full_match(s.kk_number, {_KK})")
        self.emit(t, "kk_previous", "kk_invalid",
                  f"s.kk_previous <> '' AND NOT regexp_full_match(s.kk_previous, {_KK_LIST})")
        for name in ("rw", "rt"):
            self.emit(t, name, "bad_format",
                      f"s.{name} <> '' AND NOT regexp_full_match(s.{name}, '[0-9]{{1,3}}')")
        self.emit(t, "village_code", "village_unknown", """s.village_code <> ''
            AND NOT EXISTS (SELECT 1 FROM villages v WHERE v.code = s.village_code)""")
        self.emit(t, "village_code", "out_of_scope",
                  f"s.village_code <> '' AND NOT ({self.in_scope('s.village_code')})")
        self.emit(t, "village_code", "out_of_scope", f"NOT ({self.in_scope('d.village_code')})",
                  value="d.village_code",
                  source="src_families s JOIN db_family d ON d.family_code = s.family_code")
        self.range(t, "latitude", "p_float", *LATITUDE)
        self.range(t, "longitude", "p_float", *LONGITUDE)
        self.range(t, "building_no", "p_int", 1, 2_147_483_647)
        self.range(t, "family_no", "p_int", 1, 32_767)
        self.emit(t, "longitude", "coordinates_incomplete", "(s.latitude = '') <> (s.longitude = '')")
        self.emit(t, "dwelling_code", "dwelling_missing",
                  "s.dwelling_code = '' AND (s.building_no <> '' OR s.latitude <> '' OR s.longitude <> '')")
        self.emit(t, "dwelling_code", "dwelling_conflict", "s._n > 1", source="""(
            SELECT *, count(DISTINCT struct_pack(v := village_code, b := p_int(building_no),
                                                 la := round(p_float(latitude), 6),
                                                 lo := round(p_float(longitude), 6)))
                      OVER (PARTITION BY dwelling_code) AS _n
            FROM src_families WHERE dwelling_code <> '') s""")
        # Head and pengurus, against the members the family will have after the import.
        self.emit(t, "head_person_code", "head_not_member", """s.head_person_code <> '' AND NOT EXISTS (
            SELECT 1 FROM after_person a
            WHERE a.person_code = s.head_person_code AND a.family_code = s.family_code)""")
        self.emit(t, "head_person_code", "head_not_kepala", f"""EXISTS (
            SELECT 1 FROM after_person a
            WHERE a.person_code = s.head_person_code AND a.family_code = s.family_code
              AND a.relationship <> {_lit(c.Relationship.HEAD)})""")
        self.emit(t, "head_person_code", "head_count", "s.family_code <> '' AND coalesce(k.heads, 0) <> 1",
                  value="coalesce(k.heads, 0)",
                  source="src_families s LEFT JOIN kepala_count k ON k.family_code = s.family_code")
        self.emit(t, "pengurus_person_code", "pengurus_not_member", """s.pengurus_person_code <> ''
            AND NOT EXISTS (SELECT 1 FROM after_person a WHERE a.person_code = s.pengurus_person_code
                                                             AND a.family_code = s.family_code)""")

    # --------------------------------------------------------------------------------------- persons
    def persons(self) -> None:
        t = "persons"
        for code in NIK_CODES:
            self.emit(t, "nik", code, f"s.nik_err = {_lit(code)}")
        self.emit(t, "nik", "nik_duplicate_family", "s._n > 1", source="""(
            SELECT s.*, a._n FROM src_persons s JOIN (
                SELECT person_code, family_code, count(*) OVER (PARTITION BY family_code, nik_hash) AS _n
                FROM after_person WHERE nik_hash IS NOT NULL) a
              ON a.person_code = s.person_code AND a.family_code = s.family_code) s""")
        self.emit(t, "family_code", "family_unknown", """s.family_code <> '' AND NOT EXISTS (
            SELECT 1 FROM fam_where w WHERE w.family_code = s.family_code)""")
        self.emit(t, "family_code", "out_of_scope", f"NOT ({self.in_scope('w.village_code')})",
                  value="w.village_code",
                  source="src_persons s JOIN fam_where w ON w.family_code = s.family_code")
        self.emit(t, "family_code", "out_of_scope", f"NOT ({self.in_scope('d.family_village_code')})",
                  value="d.family_village_code",
                  source="src_persons s JOIN db_person d ON d.person_code = s.person_code")
        self.emit(t, "death_date", "death_before_birth", "p_date(s.death_date) < p_date(s.birth_date)")
        self.emit(t, "death_date", "death_inconsistent",
                  f"s.life_status = {_lit(c.LifeStatus.ALIVE)} "
                  "AND (s.death_date <> '' OR s.death_source <> '')")
        self.emit(t, "pregnant", "pregnant_not_female", f"p_bool(s.pregnant) AND s.sex = {_lit(c.Sex.MALE)}")
        # A family that the file does not update keeps its head and pengurus: they may not move away.
        self.emit(t, "family_code", "head_leaves_family",
                  "s.family_code <> '' AND s.family_code <> s.left_family",
                  value="s.left_family", source="""(
                      SELECT s.*, f.family_code AS left_family FROM src_persons s JOIN db_family f
                        ON f.head_code = s.person_code OR f.pengurus_code = s.person_code
                      WHERE f.family_code IN (SELECT family_code FROM affected)) s""")
        self.emit(t, "relationship", "head_count", "coalesce(k.heads, 0) <> 1", value="coalesce(k.heads, 0)",
                  source="""src_persons s JOIN affected f ON f.family_code = s.family_code
                            LEFT JOIN kepala_count k ON k.family_code = s.family_code""")
        self.emit(t, "relationship", "head_not_kepala", f"s.relationship <> {_lit(c.Relationship.HEAD)}",
                  source="""src_persons s
                            JOIN db_family f ON f.head_code = s.person_code AND f.family_code = s.family_code
                            JOIN affected a ON a.family_code = f.family_code""")

    # ------------------------------------------------------------------------------------ conditions
    def conditions(self) -> None:
        t = "conditions"
        self.emit(t, "family_code", "family_unknown", """s.family_code <> '' AND NOT EXISTS (
            SELECT 1 FROM fam_where w WHERE w.family_code = s.family_code)""")
        self.emit(t, "family_code", "out_of_scope", f"NOT ({self.in_scope('w.village_code')})",
                  value="w.village_code",
                  source="src_conditions s JOIN fam_where w ON w.family_code = s.family_code")
        self.range(t, "floor_area_m2", "p_float", *FLOOR_AREA)
        self.range(t, "power_va", "p_int", *POWER_VA)

    # ------------------------------------------------------------------------------------ exclusions
    def exclusions(self) -> None:
        t = "exclusions"
        self.emit(t, "person_code", "person_unknown", """s.person_code <> '' AND NOT EXISTS (
            SELECT 1 FROM after_person a WHERE a.person_code = s.person_code)""")
        self.emit(t, "person_code", "out_of_scope", f"NOT ({self.in_scope('w.village_code')})",
                  value="w.village_code", source="""src_exclusions s
                      JOIN (SELECT DISTINCT person_code, family_code FROM after_person) a
                        ON a.person_code = s.person_code
                      JOIN fam_where w ON w.family_code = a.family_code""")


@dataclass(frozen=True)
class _Check:
    field: str
    code: str
    where: str
    value: str | None
    params: list[Any]


_PARSERS = {"int": ("bad_int", "p_int"), "float": ("bad_number", "p_float"), "bool": ("bad_bool", "p_bool"),
            "date": ("bad_date", "p_date")}
_KK = "'[0-9]{16}'"
NIK_CODES = ("nik_length", "nik_not_digits", "nik_region_unknown", "nik_date_invalid", "nik_serial_zero")
_KK_LIST = r"'[0-9]{16}(\|[0-9]{16})*'"

_AFTER_SQL = [
    # Who belongs where after the import: the file's persons, and the register's persons it leaves alone.
    """CREATE OR REPLACE TABLE after_person AS
       SELECT person_code, family_code, relationship, nik_hash FROM src_persons WHERE person_code <> ''
       UNION ALL
       SELECT d.person_code, d.family_code, d.relationship, d.nik_hash FROM db_person d
       WHERE NOT EXISTS (SELECT 1 FROM src_persons s WHERE s.person_code = d.person_code)""",
    f"""CREATE OR REPLACE TABLE kepala_count AS
        SELECT family_code, count(*) FILTER (WHERE relationship = {_lit(c.Relationship.HEAD)}) AS heads
        FROM after_person GROUP BY family_code""",
    # Where each family will be: the file's village for a family in the file, else the register's.
    """CREATE OR REPLACE TABLE fam_where AS
       SELECT family_code, any_value(village_code) AS village_code FROM src_families
       WHERE family_code <> '' GROUP BY family_code
       UNION ALL
       SELECT d.family_code, d.village_code FROM db_family d
       WHERE NOT EXISTS (SELECT 1 FROM src_families s WHERE s.family_code = d.family_code)""",
    # Families of the register that the file does not update but whose members it moves in or out.
    """CREATE OR REPLACE TABLE affected AS
       SELECT DISTINCT d.family_code FROM db_family d
       WHERE NOT EXISTS (SELECT 1 FROM src_families s WHERE s.family_code = d.family_code)
         AND (EXISTS (SELECT 1 FROM src_persons p WHERE p.family_code = d.family_code)
              OR EXISTS (SELECT 1 FROM db_person p JOIN src_persons s ON s.person_code = p.person_code
                         WHERE p.family_code = d.family_code))""",
]


def max_lengths_from(
    fields: Mapping[str, Mapping[str, tuple[type[models.Model], str]]],
) -> dict[tuple[str, str], int]:
    """(table, column) -> the max_length of the model field the column is stored in."""
    out = {}
    for table, columns in fields.items():
        for column, (model, name) in columns.items():
            limit = getattr(model._meta.get_field(name), "max_length", None)
            if limit:
                out[(table, column)] = int(limit)
    return out


def validate(
    staging: Staging,
    *,
    files: Mapping[str, str],
    today: dt.date,
    scope: Scope,
    max_lengths: Mapping[tuple[str, str], int],
) -> ValidationResult:
    """Run every check; `files` maps each table to the file name reported (a table without file is empty)."""
    con = staging.con
    con.execute("""CREATE OR REPLACE TABLE errors (file VARCHAR, "row" BIGINT, "key" VARCHAR, field VARCHAR,
                   code VARCHAR, value VARCHAR)""")
    for sql in _AFTER_SQL:
        con.execute(sql)
    checker = Checker(staging, files=files, today=today, scope=scope, max_lengths=max_lengths)
    for table in (FAMILIES, PERSONS, CONDITIONS, EXCLUSIONS):
        checker.values(table)
        checker.duplicates(table)
        getattr(checker, table.name)()
        checker.flush(table.name)
    result = ValidationResult()
    by_code = con.execute("SELECT code, count(*) FROM errors GROUP BY code ORDER BY code").fetchall()
    for code, count in by_code:
        result.by_code[code] = int(count)
        result.errors += int(count)
    for file, count in con.execute('SELECT file, count(DISTINCT "row") FROM errors GROUP BY file').fetchall():
        result.rows[file] = int(count)
    return result
