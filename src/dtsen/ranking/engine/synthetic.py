"""Synthetic engine input at any size (1M to 95M families), for benchmarks and engine-level tests.

Writes ``raw_families`` rows - the real column set (ids, village code, ``has_condition`` and the 45
covariates of `dtsen.registry.covariates` with their types) - generated in DuckDB SQL from a few 64-bit
hashes of the row number, so it is deterministic for a seed and fast (no Python per row). The values are
plausible, not realistic: household sizes 1-10 (mean ~3.8 persons), the survey's region groups 12, 33 and 73
among 38 province codes, about 0.2 % of families without a condition snapshot and 0.05 % without members
(not rankable), and heavy ties in the covariates so the tie-break is exercised.
"""
# ruff: noqa: S608
# (SQL text built from code constants and the model's feature names, which are identifiers: no citizen
# value ever enters it.)

from __future__ import annotations

from pathlib import Path

import duckdb

from dtsen.ranking.engine.duck import sql_string
from dtsen.registry.covariates import BINARY_COVARIATES

PROVINCES = (
    11, 12, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 31, 32, 32, 32, 32, 33, 33, 33, 34, 35, 35, 35, 36, 36,
    51, 52, 53, 61, 62, 63, 64, 65, 71, 72, 73, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
)  # fmt: skip
"""Province codes, repeated roughly by population (38 provinces)."""

_SHARES = {  # percent of families with the item (binary covariates), for plausibility only
    "tfloor": 85, "twall": 70, "troof": 40, "toilet": 75, "water": 80, "lighting": 95, "fcook": 20,
    "house": 80, "hhmale": 85, "hhmarried": 80, "hheduc2": 40, "hheduc3": 15, "hheduc4": 20,
    "higheduc2": 30, "higheduc3": 25, "higheduc4": 35, "formal": 25, "informal": 55, "hhsector1": 30,
    "hhsector2": 15, "hhsector3": 35, "credit": 15, "ac": 8, "computer": 12, "radio": 20, "tv": 85,
    "dvd": 25, "satellite": 15, "gas": 70, "refrigerator": 50, "bicycle": 35, "motorcycle": 75, "auto": 10,
    "hp": 85, "jewelry": 30, "chicken": 25, "cow": 8,
}  # fmt: skip


_PERSON_LEVEL = {
    "hhmale", "hhmarried", "hheduc2", "hheduc3", "hheduc4", "higheduc2", "higheduc3", "higheduc4", "formal",
    "informal", "hhsector1", "hhsector2", "hhsector3",
}  # fmt: skip
"""Covariates from the members, present without a condition snapshot."""


def _bits(k: int) -> str:
    """A value 0..99 (almost uniform) from 10 bits of one of the row's hashes (6 values per 64-bit hash)."""
    return f"CAST(((h{k // 6} >> {(k % 6) * 10}) & 1023) % 100 AS INTEGER)"


def synthetic_sql(families: int, seed: int) -> str:
    provinces = ", ".join(str(p) for p in PROVINCES)
    binaries = []
    for k, name in enumerate(BINARY_COVARIATES):
        binaries.append(
            f"CASE WHEN has_condition OR {name in _PERSON_LEVEL} "
            f"THEN CAST({_bits(k + 10)} < {_SHARES.get(name, 30)} AS INTEGER) END AS {name}"
        )
    binary_sql = ",\n       ".join(binaries)
    return f"""WITH base AS (
  SELECT i,
         {", ".join(f"hash(i, {seed}, {k}) AS h{k}" for k in range(10))}
  FROM range({families}) t(i)
),
g AS (
  SELECT *,
         list_extract([{provinces}], CAST(h0 % {len(PROVINCES)} AS INTEGER) + 1) AS province,
         CAST(h0 % 1000 >= 2 AS BOOLEAN) AS has_condition,
         CASE WHEN h1 % 2000 = 0 THEN 0
              ELSE CASE WHEN {_bits(1)} < 7 THEN 1 WHEN {_bits(1)} < 23 THEN 2 WHEN {_bits(1)} < 46 THEN 3
                        WHEN {_bits(1)} < 71 THEN 4 WHEN {_bits(1)} < 86 THEN 5 WHEN {_bits(1)} < 94 THEN 6
                        WHEN {_bits(1)} < 97 THEN 7 ELSE 8 + CAST(h1 % 3 AS INTEGER) END END AS hhsize
  FROM base
)
SELECT i AS family_id,
       printf('F%02d%010d', province, i) AS family_code,
       printf('%02d.%02d.%02d.%04d', province, 1 + CAST(h2 % 20 AS INTEGER), 1 + CAST(h2 % 15 AS INTEGER),
              2001 + CAST(h2 % 12 AS INTEGER)) AS village_code,
       has_condition,
       CASE WHEN has_condition AND hhsize > 0 THEN (150 + CAST(h3 % 2500 AS INTEGER)) / 10.0 / hhsize END
         AS pcfloor,
       hhsize,
       CASE WHEN hhsize > 0 THEN 20 + CAST(h4 % 60 AS INTEGER) END AS hhage,
       CASE WHEN hhsize > 1 THEN least(hhsize - 1, CAST(h4 % 3 AS INTEGER)) ELSE 0 END AS age04,
       CASE WHEN hhsize > 0 THEN CAST(least(hhsize - 1, CAST(h5 % 4 AS INTEGER)) AS DOUBLE)
                                 / greatest(hhsize - least(hhsize - 1, CAST(h5 % 4 AS INTEGER)), 1) END
         AS depratio,
       CASE WHEN hhsize > 2 THEN CAST(h5 % 3 AS INTEGER) ELSE 0 END AS eschild,
       CASE WHEN hhsize > 3 THEN CAST((h5 >> 8) % 2 AS INTEGER) ELSE 0 END AS jschild,
       CASE WHEN hhsize > 4 THEN CAST((h5 >> 16) % 2 AS INTEGER) ELSE 0 END AS sschild,
       {binary_sql}
FROM g"""


def synthetic_raw_families(
    con: duckdb.DuckDBPyConnection, *, families: int, seed: int, path: str | Path
) -> Path:
    """Write `families` synthetic ``raw_families`` rows to the Parquet file `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY ({synthetic_sql(families, seed)}) TO {sql_string(target)} (FORMAT parquet, COMPRESSION zstd)"
    )
    return target
