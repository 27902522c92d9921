"""From the 45 covariates of each family to the integer-scaled model features (DuckDB, run once per run).

Input: a relation ``raw_families`` with ``family_id``, ``family_code``, ``village_code``, ``has_condition``
and the covariates of `dtsen.registry.covariates` (``hhsize`` is also the family's number of persons, its
weight in the national ranking). ``province`` (the first two digits of the village code, as an integer)
and ``regency`` (kab/kota code) are derived here, so a spec may use either as its region column.

Output: ``features_all`` (see `sql.py`), one row per family, with flags saying why it cannot be ranked:

``no_condition``       no condition snapshot as of the cut-off;
``no_members``         no living member as of the cut-off (hhsize 0);
``has_missing``        a model input is NULL although the family has a snapshot and members;
``has_undefined``      a feature is not finite though its inputs are present (a ratio over 0);
``has_out_of_range``   a feature is beyond +-FEATURE_BOUND (an implausible value that could overflow).

`not_rankable_sql` lists those families with the reason and, for the last three, the names of the inputs
or features concerned. A family that is not rankable gets no desil: it is never put in desil 1 or 10.

Every feature is the PMT core's value rounded half-to-even to ``spec.scale`` decimals (``np.round``), stored
as BIGINT = value x 10^scale. Features that are exact in integers (an integer covariate, its square over a
divisor of 10^scale, a product or an indicator of integer covariates) are computed in integers; the others
(logarithms, ratios, floating covariates) in double precision, rounded once here. This is the only
floating-point step of a run, done once by DuckDB: every engine then scores the same integers.
"""
# ruff: noqa: S608
# (SQL text built from code constants and the model's feature names, which are identifiers: no citizen
# value ever enters it.)

from __future__ import annotations

from dataclasses import dataclass

from dtsen.ranking.engine.sql import FEATURE_BOUND
from dtsen.ranking.pmt import ColumnMissing, FeatureDef, PmtModel

DERIVED_REGION_COLUMNS = {
    "province": ("TRY_CAST(substr(village_code, 1, 2) AS INTEGER)", "INTEGER"),
    "regency": ("substr(village_code, 1, 5)", "VARCHAR"),
}
VILLAGE_KEY_MISSING = "NOT regexp_full_match(COALESCE(village_code, ''), '[0-9]{2}[.][0-9]{2}[.][0-9]{2}[.][0-9]{4}')"
"""A village code that is not pp.kk.cc.vvvv (the register validates them; a family without one is not rankable)."""
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "BOOLEAN"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Feature:
    name: str
    exact: str | None  # integer SQL of value x 10^scale, or None: computed in double
    double: str  # SQL of the unrounded value in double precision


def _plan(f: FeatureDef, types: dict[str, str], scale: int) -> _Feature:
    unit = 10**scale
    ints = all(types.get(c, "") in INTEGER_TYPES for c in f.columns)
    cols = [f"CAST({_q(c)} AS BIGINT)" for c in f.columns]
    double = f"CAST(({f.sql_expression(_q)}) AS DOUBLE)"
    exact: str | None = None
    if ints and f.transform == "identity":
        exact = f"{cols[0]} * {unit}"
    elif ints and f.transform == "square" and float(f.divisor).is_integer() and unit % int(f.divisor) == 0:
        exact = f"{cols[0]} * {cols[0]} * {unit // int(f.divisor)}"
    elif ints and f.transform == "product":
        exact = f"{cols[0]} * {cols[1]} * {unit}"
    elif f.transform == "indicator" and ints and f.category is not None and float(f.category).is_integer():
        exact = f"CASE WHEN {cols[0]} = {int(f.category)} THEN {unit} WHEN {cols[0]} IS NOT NULL THEN 0 END"
    return _Feature(f.name, exact, double)


def _checked_inputs(model: PmtModel) -> list[str]:
    spec = model.spec
    checked = [c for c in spec.input_columns if c != "hhsize"]
    if spec.region_column is not None and spec.region_column not in checked:
        checked.append(spec.region_column)
    return checked


def _types(model: PmtModel, raw_types: dict[str, str]) -> dict[str, str]:
    spec = model.spec
    types = {**{k: t for k, (_, t) in DERIVED_REGION_COLUMNS.items()}, **raw_types}
    missing = sorted({c for c in spec.input_columns if c not in types})
    if spec.region_column is not None and spec.region_column not in types:
        missing.append(spec.region_column)
    if missing:
        names = ", ".join(missing)
        raise ColumnMissing(
            f"Kolom masukan model tidak tersedia: {names}.",
            f"Model input columns not available: {names}.",
            columns=missing,
        )
    return types


def _base_sql(
    model: PmtModel, raw_types: dict[str, str], source: str = "raw_families"
) -> tuple[str, list[_Feature]]:
    """The CTEs ``raw`` and ``fx`` (flags and features) shared by `features_sql` and `not_rankable_sql`."""
    spec = model.spec
    types = _types(model, raw_types)
    derived = ", ".join(f"{expr} AS {name}" for name, (expr, _) in DERIVED_REGION_COLUMNS.items()
                        if name not in raw_types)  # fmt: skip
    region = "CAST(NULL AS VARCHAR)"
    if spec.region_column is not None:
        region = f"CAST({_q(spec.region_column)} AS VARCHAR)"
    plans = [_plan(f, types, spec.scale) for f in spec.features]
    unit = 10**spec.scale
    missing = " OR ".join([f"{_q(c)} IS NULL" for c in _checked_inputs(model)] + [VILLAGE_KEY_MISSING])
    doubles = [p for p in plans if p.exact is None]
    undefined = " OR ".join(f"NOT isfinite(f_{p.name})" for p in doubles) or "false"
    out_of_range = " OR ".join(
        [f"abs(f_{p.name}) > {FEATURE_BOUND}" for p in doubles]
        + [f"abs(x_{p.name}) > {FEATURE_BOUND * unit}" for p in plans if p.exact is not None]
    ) or "false"  # fmt: skip
    values = ",\n         ".join(
        f"{p.exact} AS x_{p.name}" if p.exact is not None else f"{p.double} AS f_{p.name}" for p in plans
    )
    sql = f"""WITH raw AS (
  SELECT *{", " + derived if derived else ""} FROM {source}
),
fx AS (
  SELECT *,
         {region} AS region,
         CAST(COALESCE(hhsize, 0) AS BIGINT) AS persons,
         TRY_CAST(replace(village_code, '.', '') AS BIGINT) AS village_key,
         NOT COALESCE(has_condition, false) AS no_condition,
         COALESCE(hhsize, 0) = 0 AS no_members,
         {values}
  FROM raw
),
fm AS (
  SELECT *, NOT no_condition AND NOT no_members AND ({missing}) AS has_missing FROM fx
),
fu AS (
  SELECT *, CASE WHEN NOT no_condition AND NOT no_members AND NOT has_missing
                 THEN COALESCE({undefined}, true) ELSE false END AS has_undefined
  FROM fm
),
fr AS (
  SELECT *, CASE WHEN NOT no_condition AND NOT no_members AND NOT has_missing AND NOT has_undefined
                 THEN COALESCE({out_of_range}, true) ELSE false END AS has_out_of_range
  FROM fu
),
ff AS (
  SELECT *, NOT (no_condition OR no_members OR has_missing OR has_undefined OR has_out_of_range) AS rankable
  FROM fr
)"""
    return sql, plans


def features_sql(model: PmtModel, raw_types: dict[str, str]) -> str:
    """DuckDB SQL of ``features_all`` over ``raw_families`` (column name -> DuckDB type in `raw_types`)."""
    base, plans = _base_sql(model, raw_types)
    xs = ",\n       ".join(
        f"x_{p.name}" if p.exact is not None
        else f"CASE WHEN rankable THEN CAST(round_even(f_{p.name} * {10**model.spec.scale}, 0) AS BIGINT) "
             f"END AS x_{p.name}"
        for p in plans
    )  # fmt: skip
    return f"""{base}
SELECT family_id, family_code, village_code, village_key, region, persons, rankable,
       no_condition, no_members, has_missing, has_undefined, has_out_of_range,
       {xs}
FROM ff"""


def _names(items: list[tuple[str, str]]) -> str:
    parts = ", ".join(f"CASE WHEN {cond} THEN '{name}' END" for cond, name in items)
    return f"substr(concat_ws(', ', {parts}), 1, 300)" if items else "''"


def not_rankable_wide_sql(model: PmtModel, raw_types: dict[str, str], source: str = "raw_families") -> str:
    """One row per family of `source` that is not rankable, its reasons as columns: the flags and, for the
    last three, the names of the missing inputs or of the undefined or out-of-range features. One scan; the
    names are only built for the (few) families filtered."""
    base, plans = _base_sql(model, raw_types, source)
    unit = 10**model.spec.scale
    inputs = [(f"{_q(c)} IS NULL", c) for c in _checked_inputs(model)]
    missing = _names([*inputs, (VILLAGE_KEY_MISSING, "village_code")])
    undefined = _names([(f"NOT isfinite(f_{p.name})", p.name) for p in plans if p.exact is None])
    out_of_range = _names(
        [(f"abs(f_{p.name}) > {FEATURE_BOUND}", p.name) for p in plans if p.exact is None]
        + [(f"abs(x_{p.name}) > {FEATURE_BOUND * unit}", p.name) for p in plans if p.exact is not None]
    )
    return f"""{base}
SELECT family_id, family_code, village_code, no_condition, no_members,
       CASE WHEN has_missing THEN {missing} END AS missing,
       CASE WHEN has_undefined THEN {undefined} END AS undefined,
       CASE WHEN has_out_of_range THEN {out_of_range} END AS out_of_range
FROM ff WHERE NOT rankable"""


def not_rankable_long_sql(wide: str) -> str:
    """One row per (family, reason) from the relation `wide` (see `not_rankable_wide_sql`)."""
    cols = "family_id, family_code, village_code"
    return f"""SELECT {cols}, 'no_condition' AS reason, '' AS detail FROM {wide} WHERE no_condition
UNION ALL
SELECT {cols}, 'no_members' AS reason, '' AS detail FROM {wide} WHERE no_members
UNION ALL
SELECT {cols}, 'missing_feature' AS reason, missing AS detail FROM {wide} WHERE missing IS NOT NULL
UNION ALL
SELECT {cols}, 'undefined_feature' AS reason, undefined AS detail FROM {wide} WHERE undefined IS NOT NULL
UNION ALL
SELECT {cols}, 'out_of_range' AS reason, out_of_range AS detail FROM {wide} WHERE out_of_range IS NOT NULL"""
