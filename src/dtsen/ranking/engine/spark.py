"""Apache Spark: the same SQL on a cluster (or `local[2]` in tests).

Session settings, each overridable by the environment (and ignored when `spark-submit` already set them):

    DTSEN_SPARK_MASTER          default local[2]   (spark://host:7077, yarn, k8s://... on a cluster)
    DTSEN_SPARK_DRIVER_MEMORY   default 2g
    DTSEN_SPARK_SHUFFLE         default 4          (spark.sql.shuffle.partitions; ~2-3 x cores on a cluster)

ANSI mode is forced on, so an integer overflow raises instead of wrapping (DuckDB raises too), and the
session time zone is UTC. Inputs and outputs must be paths every executor can read: a local directory in
local mode, HDFS/S3/shared storage on a cluster.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa

from dtsen.ranking.engine.base import BatchEngine
from dtsen.ranking.engine.errors import EngineUnavailable


def spark_available() -> bool:
    """pyspark importable and a Java runtime present."""
    try:
        import pyspark  # noqa: F401 - optional dependency
    except ImportError:
        return False
    java_home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (java_home and Path(java_home, "bin", "java").exists()))


def _splink_jar() -> str | None:
    try:
        from splink.internals.spark.jar_location import similarity_jar_location
    except ImportError:
        return None
    return similarity_jar_location()


def spark_session(*, app_name: str = "dtsen-ranking") -> Any:
    """The active Spark session, or a new one configured from the environment."""
    if not spark_available():
        raise EngineUnavailable(
            "Spark tidak tersedia: pasang pyspark dan Java 17.",
            "Spark is not available: install pyspark and Java 17.",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pyspark import SparkConf
        from pyspark.sql import SparkSession

    conf = SparkConf()
    builder = SparkSession.builder.appName(app_name)
    if not conf.contains("spark.master"):
        builder = builder.master(os.environ.get("DTSEN_SPARK_MASTER", "local[2]"))
    if not conf.contains("spark.driver.memory"):
        builder = builder.config("spark.driver.memory", os.environ.get("DTSEN_SPARK_DRIVER_MEMORY", "2g"))
    if not conf.contains("spark.sql.shuffle.partitions"):
        builder = builder.config("spark.sql.shuffle.partitions", os.environ.get("DTSEN_SPARK_SHUFFLE", "4"))
    if not conf.contains("spark.ui.enabled"):
        builder = builder.config("spark.ui.enabled", "false")
    if not conf.contains("spark.ui.showConsoleProgress"):
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    if not conf.contains("spark.jars"):
        jar = _splink_jar()
        if jar:  # string-similarity functions for person linkage (dtsen.linkage), shipped with Splink
            builder = builder.config("spark.jars", jar)
    builder = builder.config("spark.sql.ansi.enabled", "true").config("spark.sql.session.timeZone", "UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel(os.environ.get("DTSEN_SPARK_LOG_LEVEL", "ERROR"))
    return session


class SparkEngine(BatchEngine):
    name = "spark"

    def __init__(self, session: Any = None, *, stop_on_close: bool = False) -> None:
        self.spark = session if session is not None else spark_session()
        self._stop = stop_on_close

    @property
    def version(self) -> str:
        return f"spark {self.spark.version}"

    def register_parquet(self, name: str, path: str | Path) -> None:
        self.spark.read.parquet(str(path)).createOrReplaceTempView(name)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            frame = self.spark.createDataFrame(table)
        frame.createOrReplaceTempView(name)

    def execute(self, statement: str) -> None:
        self.spark.sql(statement)

    def write_parquet(self, query: str, path: str | Path) -> None:
        self.spark.sql(query).write.mode("overwrite").parquet(str(path))

    def fetch(self, query: str) -> pa.Table:
        return self.spark.sql(query).toArrow()

    def close(self) -> None:
        if self._stop:
            self.spark.stop()
