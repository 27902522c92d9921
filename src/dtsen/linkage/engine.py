"""Training and prediction of the person-linkage model on DuckDB (default) or Spark, with a cap on pairs.

A loose blocking rule can make billions of pairs (one rule made about 2.1 billion here and died at 21 GB), so
every rule's pairs are counted first (`pair_counts`: exact for equality rules, from the sizes of its blocks,
one cheap GROUP BY on DuckDB) and a step whose rules would make more than the cap is refused before Splink
runs (`PairCapExceeded`). Training also passes the cap to Splink's own samplers.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute  # pa.compute below
from splink import Linker, block_on

from dtsen.core.errors import ValidationFailed
from dtsen.linkage import model as m

ENGINES = ("duckdb", "spark")
DEFAULT_MAX_PAIRS = 50_000_000  # per step; about 40 pairs a person at 1M persons
EM_PAIRS = 2_000_000  # expectation maximisation samples at most this many blocked pairs per rule
U_PAIRS = 2_000_000  # random pairs for the u estimates
DUCKDB_MEMORY = "2500MB"  # DuckDB spills to disk beyond this (peak process memory stays under 4 GB at 1M)
# Thresholds are evidence in bits (the sum of the comparisons' log2 Bayes factors, without the prior): the
# prior of two random records matching shrinks with the size of the register, but the pairs scored are only
# the blocked ones, so a fixed amount of evidence keeps precision steady from a kabupaten to the nation.
MATCH_BITS = 25.0  # clusters: pairs with at least this much evidence are the same person (docs/linkage.md)
REVIEW_BITS = 20.0  # pairs kept for review start here
SPLINK_LOG_LEVEL = logging.WARNING


class PairCapExceeded(ValidationFailed):
    code = "pair_cap_exceeded"


@dataclass
class LinkageResult:
    engine: str
    pairs: pa.Table  # unique_id_l, unique_id_r, match_weight, match_probability, evidence (bits >= REVIEW_BITS)
    clusters: pa.Table  # cluster_id, unique_id (every input row)
    pair_counts: dict[str, int]
    seconds: float
    params_sha256: str
    info: dict[str, Any] = field(default_factory=dict)


def rule_name(rule: Sequence[str]) -> str:
    return "+".join(rule)


def pair_counts(table: pa.Table, rules: Sequence[Sequence[str]]) -> dict[str, int]:
    """For each rule (equal columns, or "a=b" for one row's a equal to the other's b, a symmetric relation),
    the number of pairs of distinct rows it generates, from the sizes of its blocks (nulls never match)."""
    con = duckdb.connect()
    try:
        con.register("t", table)
        out = {}
        for rule in rules:
            sides = [m._sides(c) for c in rule]
            left = ", ".join(f'"{a}" AS k{i}' for i, (a, _) in enumerate(sides))
            right = ", ".join(f'"{b}" AS k{i}' for i, (_, b) in enumerate(sides))
            keys = ", ".join(f"k{i}" for i in range(len(sides)))
            on = " AND ".join(f"l.k{i} = r.k{i}" for i in range(len(sides)))
            if all(a == b for a, b in sides):
                sql = (f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM "  # noqa: S608
                       f"(SELECT {left} FROM t) WHERE NOT ({keys}) IS NULL GROUP BY {keys})")
            else:  # each unordered pair is seen from both sides; a row never pairs with itself here
                sql = (f"SELECT coalesce(sum(l.n * r.n) / 2, 0) FROM "  # noqa: S608
                       f"(SELECT {keys}, count(*) AS n FROM (SELECT {left} FROM t) GROUP BY {keys}) l JOIN "
                       f"(SELECT {keys}, count(*) AS n FROM (SELECT {right} FROM t) GROUP BY {keys}) r ON {on}")
            row = con.execute(sql).fetchone()
            out[rule_name(rule)] = int(row[0]) if row else 0
        return out
    finally:
        con.close()


def pair_cap_check(counts: dict[str, int], max_pairs: int, *, step: str) -> None:
    total = sum(counts.values())
    if total > max_pairs:
        worst = max(counts, key=lambda k: counts[k])
        raise PairCapExceeded(
            f"Langkah {step} akan membandingkan {total:,} pasangan, melebihi batas {max_pairs:,}; aturan blok "
            f"'{worst}' menghasilkan {counts[worst]:,}. Perketat aturan blok atau naikkan batas dengan sadar.",
            f"Step {step} would compare {total:,} pairs, over the cap of {max_pairs:,}; blocking rule "
            f"'{worst}' makes {counts[worst]:,}. Tighten the blocking rules or raise the cap deliberately.",
            counts=counts,
            max_pairs=max_pairs,
        )


def _db_api(engine: str, spark: Any = None) -> Any:
    if engine == "duckdb":
        from splink import DuckDBAPI

        con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY, "temp_directory": tempfile.gettempdir()})
        return DuckDBAPI(connection=con)
    if engine == "spark":
        from splink import SparkAPI

        from dtsen.ranking.engine.spark import spark_session

        session = spark or spark_session(app_name="dtsen-linkage")
        if not session.sparkContext.getCheckpointDir():  # Splink checkpoints to cut long query plans
            session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="dtsen-linkage-spark-"))
        return SparkAPI(spark_session=session)
    raise ValidationFailed(
        f"Mesin tidak dikenal: {engine}. Pilih salah satu: {', '.join(ENGINES)}.",
        f"Unknown engine: {engine}. Choose one of: {', '.join(ENGINES)}.",
        code="unknown_engine",
    )


def _register(db_api: Any, engine: str, table: pa.Table) -> Any:
    if engine == "spark":
        session = db_api.spark
        frame = session.createDataFrame(table.to_pandas())
        return db_api.register(frame, dataset_display_name="persons")
    return db_api.register(table, dataset_display_name="persons")


def train(
    table: pa.Table,
    *,
    engine: str = "duckdb",
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = 20261128,
    spark: Any = None,
) -> m.ModelParams:
    """Train the model without labels on a prepared table: the prior from the deterministic rule, u from
    random pairs, m by expectation maximisation on each training rule. Refuses a rule over the cap."""
    pair_cap_check(pair_counts(table, m.TRAINING_RULES), max_pairs * len(m.TRAINING_RULES), step="training")
    for rule in m.TRAINING_RULES:
        pair_cap_check(pair_counts(table, [rule]), max_pairs, step=f"EM {rule_name(rule)}")
    db_api = _db_api(engine, spark)
    linker = Linker(_register(db_api, engine, table), m.settings(), log_level=SPLINK_LOG_LEVEL)
    linker.training.estimate_probability_two_random_records_match(
        [m.DETERMINISTIC_RULE], recall=m.DETERMINISTIC_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=min(max_pairs, U_PAIRS), seed=seed)
    for rule in m.TRAINING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), max_pairs=min(max_pairs, EM_PAIRS), record_sample_proportion=0.1
        )
    return m.params_from_linker(linker, {"rows": table.num_rows, "engine": engine, "seed": seed})


def predict(
    table: pa.Table,
    params: m.ModelParams,
    *,
    engine: str = "duckdb",
    max_pairs: int = DEFAULT_MAX_PAIRS,
    match_bits: float = MATCH_BITS,
    review_bits: float = REVIEW_BITS,
    spark: Any = None,
) -> LinkageResult:
    """Score the candidate pairs of the prediction rules with trained `params` and cluster the persons
    (pairs with at least `match_bits` of evidence join a cluster)."""
    counts = pair_counts(table, m.PREDICTION_RULES)
    pair_cap_check(counts, max_pairs, step="prediction")
    started = time.perf_counter()
    db_api = _db_api(engine, spark)
    linker = Linker(_register(db_api, engine, table), m.settings(params), log_level=SPLINK_LOG_LEVEL)
    prior_bits = math.log2(params.prior / (1 - params.prior))
    scored = linker.inference.predict(threshold_match_weight=review_bits + prior_bits)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        scored, threshold_match_weight=match_bits + prior_bits
    )
    pairs = _arrow(scored, engine, ["unique_id_l", "unique_id_r", "match_weight", "match_probability"])
    pairs = pairs.append_column("evidence", pa.compute.subtract(pairs["match_weight"], prior_bits))
    clusters = _arrow(clustered, engine, ["cluster_id", "unique_id"])
    return LinkageResult(
        engine=engine,
        pairs=pairs,
        clusters=clusters,
        pair_counts=counts,
        seconds=time.perf_counter() - started,
        params_sha256=params.sha256,
    )


def _arrow(frame: Any, engine: str, columns: list[str]) -> pa.Table:
    cols = ", ".join(columns)
    sql = f"SELECT {cols} FROM {frame.physical_name}"  # noqa: S608 - Splink's own table name
    if engine == "spark":
        pdf = frame.db_api.spark.sql(sql).toPandas()
        return pa.Table.from_pandas(pdf, preserve_index=False)
    return frame.db_api.duckdb_con.sql(sql).to_arrow_table()
