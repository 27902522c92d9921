"""The PostgreSQL fast path of large exports, outside a transaction (as the command and the benchmark run):
parallel COPY streams over family-id ranges, read through the psql client when it is installed, and through
psycopg when it is not. The files must hold every row exactly once, equal to the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from dtsen.exchange import services as svc
from dtsen.exchange import stream
from dtsen.exchange.files import manifest_verify
from dtsen.ranking.models import RankingResult, RankingRun
from tests.exchange import fixtures as fx

pytestmark = pytest.mark.django_db(transaction=True)

synth_dir = fx.synth_dir
work_dir = fx.work_dir
ranked = fx.ranked
pusdatin = fx.pusdatin

FIELDS = ("family_code", "village_code", "score", "predicted_pce", "percentile", "desil", "previous_desil")


@pytest.mark.parametrize("client", ["psql", "psycopg"])
def test_parallel_streams_write_every_row_once(ranked: RankingRun, pusdatin: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, client: str) -> None:  # fmt: skip
    if connection.vendor != "postgresql":
        pytest.skip("the parallel COPY path is PostgreSQL's")
    if client == "psql" and not stream.PSQL:
        pytest.skip("psql is not installed")
    if client == "psycopg":
        monkeypatch.setattr(stream, "PSQL", "")
    monkeypatch.setattr(svc, "PARALLEL_MIN_SPAN", 10)
    monkeypatch.setattr(svc, "EXPORT_STREAMS", 3)
    calls: list[Any] = []
    original = svc._write_parallel
    monkeypatch.setattr(svc, "_write_parallel", lambda *a, **k: calls.append(k["ranges"]) or original(*a, **k))
    record = svc.export_ranking(actor=pusdatin, run_id=ranked.pk, out_dir=tmp_path / "out",
                                formats=["parquet", "csv"])  # fmt: skip
    assert len(calls) == 1
    assert len(calls[0]) == 3
    files = {(f["table"], f["format"]): Path(record.directory) / f["name"] for f in record.files}
    expected = sorted(RankingResult.objects.filter(run=ranked).values_list(*FIELDS))
    for fmt in ("parquet", "csv"):
        path = files[("results", fmt)]
        table = fx.read_parquet(path) if fmt == "parquet" else fx.read_csv(path, fx.ds.RANKING_RESULTS.schema)
        got = sorted(tuple(r[k] for k in FIELDS) for r in table.to_pylist())
        assert got == expected
    assert manifest_verify(record.directory) == []


def test_psql_failure_is_raised(ranked: RankingRun, pusdatin: Any, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if connection.vendor != "postgresql" or not stream.PSQL:
        pytest.skip("PostgreSQL with psql only")
    monkeypatch.setitem(connection.settings_dict, "NAME", "no_such_database_xchg")
    with pytest.raises(RuntimeError, match="psql COPY failed"):
        list(stream.batches("SELECT 1 AS a", [], fx.pa.schema([("a", fx.pa.int64())])))
    assert not (tmp_path / "out").exists()
