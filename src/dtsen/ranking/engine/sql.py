"""The scoring and ranking SQL: ONE text, run unchanged by DuckDB and by Spark SQL.

Inputs (registered by the engine under these names):

``features_all``
    one row per family: ``family_id``, ``family_code``, ``village_key`` (the village code's digits as a
    BIGINT: a narrow row to sort), ``region``, ``persons``,
    ``rankable`` and the integer-scaled model features ``x_<feature>`` (BIGINT, value x 10^feature_scale;
    NULL when not rankable). Built by `features.py` (DuckDB), the one place floating point is rounded.
``coefficients``
    one row per region group (``pooled`` included): ``region_group``, ``group_key`` (0 for pooled, then 1,
    2, ... in group order), ``intercept`` (x 10^score_scale)
    and ``c_<feature>`` (x 10^coefficient_scale), all BIGINT.
``region_groups``
    ``region`` -> ``region_group`` for every region with its own coefficients (others use ``pooled``).

Scores are therefore exact integers (log per-capita expenditure x 10^score_scale) on both engines: only
BIGINT multiplications and additions, which raise on overflow on both (Spark with ANSI mode on), never
wrap. Ranking is national and person-weighted with a total order (score, then family_code):

``persons_before``
    persons in all families ranked before this one (``total_persons``: in all ranked families);
``desil``
    the decile holding the midpoint of the family's persons: ``1 + #{k in 1..9 : 10*(2*before + persons)
    >= 2*k*total}`` - integer comparisons only, so no engine rounds differently;
``percentile_e4``
    ``floor(10^6 * (2*before + persons) / (2*total))``: the midpoint's percentile x 10^4. The quotient of
    two integers below 2^53 is correctly rounded in IEEE double on both engines, and its floor is exact.

The portable subset used: CTEs, ``CAST(... AS BIGINT)``, ``COALESCE``, ``CASE``, ``FLOOR``, ``SUM() OVER
(... ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)``, ``SUM() OVER ()``. No hash functions, no
percentile functions, no ``::`` casts, no integer-division operator (``//`` vs ``DIV``).
"""
# ruff: noqa: S608
# (SQL text built from code constants and the model's feature names, which are identifiers: no citizen
# value ever enters it.)

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from dtsen.ranking.engine.errors import ModelUnsupported
from dtsen.ranking.pmt import POOLED, PmtModel

DESILS = 10
FEATURE_BOUND = 10**5
"""A feature whose absolute value exceeds this is implausible: the family is not rankable (out_of_range)."""
BIGINT_MAX = 2**63 - 1
BUCKET_DIGITS = 3
"""Two-level ranking buckets are 10^-3 log points wide."""


@dataclass(frozen=True)
class ModelTables:
    """A linear PMT model as the integer tables the SQL joins, plus its scales."""

    model_id: str
    feature_names: tuple[str, ...]
    feature_scale: int
    coefficient_scale: int
    coefficients: pa.Table
    region_groups: pa.Table
    region_column: str | None

    def group_names_sql(self, column: str = "group_key") -> str:
        """SQL turning a group key back into the region group's name."""
        cases = " ".join(
            f"WHEN {k} THEN '{g}'" for k, g in zip(self.coefficients["group_key"].to_pylist(),
                                                  self.coefficients["region_group"].to_pylist(), strict=True)
        )  # fmt: skip
        return f"CASE {column} {cases} END"

    @property
    def score_scale(self) -> int:
        return self.feature_scale + self.coefficient_scale


def _scaled(value: Decimal, scale: int, what: str) -> int:
    shifted = value.scaleb(scale)
    if shifted != shifted.to_integral_value():
        raise ModelUnsupported(
            f"Koefisien {what} punya lebih dari {scale} desimal; tidak dapat dihitung eksak.",
            f"Coefficient {what} has more than {scale} decimals; it cannot be scored exactly.",
        )
    return int(shifted)


def model_tables(model: PmtModel) -> ModelTables:
    """The coefficient and region-group tables of a `linear_regional` model, checked for exactness and for
    overflow: with every feature within +-FEATURE_BOUND, no partial sum of a score can leave BIGINT."""
    if model.linear is None:
        raise ModelUnsupported(
            f"Model '{model.model_id}' bukan model linear; peringkat nasional memerlukan model "
            "linear_regional.",
            f"Model '{model.model_id}' is not linear; the national ranking needs a linear_regional model.",
        )
    lin = model.linear
    names = tuple(lin.feature_names)
    fscale, cscale = model.spec.scale, lin.scale
    score_scale = fscale + cscale
    groups = [(POOLED, lin.pooled), *sorted(lin.groups.items())]
    rows: dict[str, list[object]] = {"region_group": [], "group_key": [], "intercept": []}
    for name in names:
        rows[f"c_{name}"] = []
    for group, coefs in groups:
        intercept = _scaled(coefs.intercept, score_scale, f"{group}/(intercept)")
        scaled = {n: _scaled(coefs.coefficients[n], cscale, f"{group}/{n}") for n in names}
        bound = abs(intercept) + sum(abs(c) for c in scaled.values()) * FEATURE_BOUND * 10**fscale
        if bound > BIGINT_MAX:
            raise ModelUnsupported(
                f"Koefisien kelompok '{group}' terlalu besar: skor bisa melampaui BIGINT.",
                f"The coefficients of group '{group}' are too large: a score could overflow BIGINT.",
            )
        rows["region_group"].append(group)
        rows["group_key"].append(len(rows["group_key"]))
        rows["intercept"].append(intercept)
        for n in names:
            rows[f"c_{n}"].append(scaled[n])
    schema = pa.schema(
        [("region_group", pa.string()), ("group_key", pa.int32()), ("intercept", pa.int64())]
        + [(f"c_{n}", pa.int64()) for n in names]
    )
    coefficients = pa.table(rows, schema=schema)
    mapping: dict[str, str] = {}
    for region, group in lin.region_map.items():
        if group in lin.groups:
            mapping[region] = group
    for group in lin.groups:
        if group not in lin.region_map:
            mapping.setdefault(group, group)
    region_groups = pa.table(
        {"region": sorted(mapping), "region_group": [mapping[r] for r in sorted(mapping)]},
        schema=pa.schema([("region", pa.string()), ("region_group", pa.string())]),
    )
    return ModelTables(
        model_id=model.model_id,
        feature_names=names,
        feature_scale=fscale,
        coefficient_scale=cscale,
        coefficients=coefficients,
        region_groups=region_groups,
        region_column=model.spec.region_column,
    )


def features_view_sql() -> str:
    return "CREATE OR REPLACE TEMPORARY VIEW features AS SELECT * FROM features_all WHERE rankable"


def score_sql(feature_names: Sequence[str]) -> str:
    """Integer score with the coefficients of the family's region group (pooled when it has none)."""
    terms = "\n         + ".join(f"c.c_{n} * f.x_{n}" for n in feature_names)
    return f"""SELECT f.family_id, f.family_code, f.village_key, f.persons, c.group_key,
       c.intercept
         + {terms} AS score
FROM features f
LEFT JOIN region_groups g ON g.region = f.region
JOIN coefficients c ON c.region_group = COALESCE(g.region_group, '{POOLED}')"""


def scored_view_sql(feature_names: Sequence[str]) -> str:
    return f"CREATE OR REPLACE TEMPORARY VIEW scored AS\n{score_sql(feature_names)}"


def _desil_expr() -> str:
    terms = " + ".join(
        f"CASE WHEN 10 * (2 * r.persons_before + r.persons) >= {2 * k} * r.total_persons THEN 1 ELSE 0 END"
        for k in range(1, DESILS)
    )
    return f"1 + {terms}"


def _rank_tail() -> str:
    return f"""SELECT r.family_id, r.family_code, r.village_key, r.group_key, r.persons, r.score,
       r.persons_before, r.total_persons,
       {_desil_expr()} AS desil,
       CAST(FLOOR((2 * r.persons_before + r.persons) * 500000 / r.total_persons) AS BIGINT) AS percentile_e4
FROM r"""


def rank_window_sql() -> str:
    """One level: a running sum of persons over the whole country in (score, family_code) order. On Spark a
    window without PARTITION BY runs on a single partition (fine up to ~10^8 narrow rows, not distributed)."""
    return f"""WITH r AS (
  SELECT s.family_id, s.family_code, s.village_key, s.group_key, s.persons, s.score,
         CAST(SUM(s.persons) OVER (ORDER BY s.score, s.family_code
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT)
           - s.persons AS persons_before,
         CAST(SUM(s.persons) OVER () AS BIGINT) AS total_persons
  FROM scored s
)
{_rank_tail()}"""


def bucket_expr(score_scale: int, alias: str = "s") -> str:
    """The fine score bucket of a row: 10^-BUCKET_DIGITS log points wide, monotone in the score."""
    width = 10 ** max(score_scale - BUCKET_DIGITS, 0)
    return f"CAST(FLOOR({alias}.score / {width}) AS BIGINT)"


BUCKET_COUNTS = "SELECT bucket, CAST(SUM(persons) AS BIGINT) AS bucket_persons FROM {source} GROUP BY bucket"
"""Level 1: persons per bucket (``{source}`` has ``bucket`` and ``persons``)."""

BUCKET_OFFSETS = """SELECT bucket,
       CAST(SUM(bucket_persons) OVER (ORDER BY bucket
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT)
         - bucket_persons AS bucket_offset,
       CAST(SUM(bucket_persons) OVER () AS BIGINT) AS total_persons
FROM {source}"""
"""Prefix sums over the small bucket table: persons in all lower buckets, and in all."""

RANK_IN_BUCKETS = """SELECT b.family_id, b.family_code, b.village_key, b.group_key, b.persons, b.score,
       bo.bucket_offset
         + CAST(SUM(b.persons) OVER (PARTITION BY b.bucket ORDER BY b.score, b.family_code
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT)
         - b.persons AS persons_before,
       bo.total_persons
FROM {rows} b JOIN {offsets} bo ON bo.bucket = b.bucket"""
"""Level 2: the running sum within each bucket (PARTITION BY bucket: distributed), plus the bucket offset."""


def rank_in_buckets_sql(rows: str, offsets: str) -> str:
    """Ranked rows of the buckets in `rows` (scored rows with ``bucket``), given every bucket's offset."""
    return f"WITH r AS (\n{RANK_IN_BUCKETS.format(rows=rows, offsets=offsets)}\n)\n{_rank_tail()}"


def rank_two_level_sql(score_scale: int) -> str:
    """Two levels, for a cluster: persons per fine score bucket; prefix sums over the (small) bucket table;
    running sum within each bucket (PARTITION BY bucket, distributed). Same persons_before as one level,
    because buckets are monotone in score and the within-bucket order is the same total order."""
    return f"""WITH b AS (
  SELECT s.family_id, s.family_code, s.village_key, s.group_key, s.persons, s.score,
         {bucket_expr(score_scale)} AS bucket
  FROM scored s
),
bc AS ({BUCKET_COUNTS.format(source="b")}),
bo AS (
{BUCKET_OFFSETS.format(source="bc")}
),
r AS (
{RANK_IN_BUCKETS.format(rows="b", offsets="bo")}
)
{_rank_tail()}"""


def rank_sql(method: str, score_scale: int) -> str:
    if method == "two_level":
        return rank_two_level_sql(score_scale)
    if method == "window":
        return rank_window_sql()
    raise ValueError(f"unknown ranking method {method!r}")


def cut_points_sql(source: str = "ranked") -> str:
    """Per desil: families, persons, lowest and highest score, and the family_code that breaks the tie at
    the upper bound (the last family of the desil in (score, family_code) order)."""
    return f"""WITH d AS (
  SELECT desil, CAST(COUNT(*) AS BIGINT) AS families, CAST(SUM(persons) AS BIGINT) AS persons,
         MIN(score) AS lower_score,
         MAX(score) AS upper_score
  FROM {source} r GROUP BY desil
)
SELECT d.desil, d.families, d.persons, d.lower_score, d.upper_score, MAX(r.family_code) AS upper_family_code
FROM d JOIN {source} r ON r.desil = d.desil AND r.score = d.upper_score
GROUP BY d.desil, d.families, d.persons, d.lower_score, d.upper_score
ORDER BY d.desil"""


def desil_from_cut_points(score: int, family_code: str, cut_points: Sequence[dict[str, object]]) -> int:
    """The desil of (score, family_code) under a run's cut-points: the first desil whose upper bound
    (score, then family_code) is not below it; above every bound: the top desil (10)."""
    for cp in sorted(cut_points, key=lambda c: int(str(c["desil"]))):
        upper = (int(str(cp["upper_score"])), str(cp["upper_family_code"]))
        if (score, family_code) <= upper:
            return int(str(cp["desil"]))
    return DESILS
