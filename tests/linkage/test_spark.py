"""The same trained parameters give the same clusters on DuckDB and on Spark (local mode)."""

import os
from collections import defaultdict

import pyarrow as pa
import pytest

from dtsen.linkage import engine
from dtsen.linkage.model import ModelParams
from tests.ranking.conftest_run import spark_or_skip

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    # The engines read a prepared Arrow table, never the database: the suite's PostgreSQL pass would repeat
    # the same minutes of Spark for nothing.
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="independent of the database; runs in the SQLite pass",
    ),
]


def _groups(clusters: pa.Table) -> dict[str, frozenset[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for cid, uid in zip(clusters["cluster_id"].to_pylist(), clusters["unique_id"].to_pylist(), strict=True):
        members[str(cid)].add(uid)
    return {uid: frozenset(ids) for ids in members.values() for uid in ids}


def test_duckdb_and_spark_agree(prepared: pa.Table, trained: ModelParams) -> None:
    spark = spark_or_skip()
    on_duckdb = engine.predict(prepared, trained, engine="duckdb")
    on_spark = engine.predict(prepared, trained, engine="spark", spark=spark)
    assert (on_duckdb.engine, on_spark.engine) == ("duckdb", "spark")
    a, b = _groups(on_duckdb.clusters), _groups(on_spark.clusters)
    assert a.keys() == b.keys()
    same = sum(a[u] == b[u] for u in a) / len(a)
    assert same >= 0.999, same
    assert sum(len(g) > 1 for g in a.values()) > 500  # duplicates were found, not only singletons
