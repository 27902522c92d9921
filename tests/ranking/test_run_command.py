"""`dtsen rank`: a run from the command line, and its bilingual errors."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from dtsen.ranking.models import RankingResult, RankingRun, RunStatus
from tests.ranking import conftest_run as fx

pytestmark = pytest.mark.django_db

ranker = fx.ranker
synth_dir = fx.synth_dir
work_dir = fx.work_dir


def _rank(*args: str) -> str:
    out = StringIO()
    call_command("rank", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rank_runs_and_reports_the_cut_points(ranker, synth_dir, work_dir):
    fx.registry_load(synth_dir, limit=100)
    today = timezone.localdate().isoformat()
    text = _rank(
        "--period", "2026-Q1", "--cutoff", today, "--actor", "bps.analis", "--work-dir", str(work_dir)
    )
    run = RankingRun.objects.get()
    assert run.status == RunStatus.FINISHED
    assert run.created_by == ranker
    assert f"Peringkat #{run.pk} 2026-Q1 selesai / ranking run #{run.pk} 2026-Q1 finished" in text
    assert "Diperingkat / ranked: 100 keluarga/families" in text
    assert RankingResult.objects.filter(run=run).count() == 100
    report = json.loads(_rank("--period", "2026-Q1", "--cutoff", today, "--work-dir", str(work_dir),
                              "--format", "json", "--method", "two_level"))  # fmt: skip
    assert report["input_sha256"] == run.input_sha256
    assert report["cut_points"] == run.cut_points
    assert report["method"] == "two_level"
    assert report["diff"]["same"] == 100


@pytest.mark.parametrize(
    ("args", "message_id", "message_en"),
    [
        (["--period", "Q1-2026"], "Periode 'Q1-2026' tidak sah", "Period 'Q1-2026' is invalid"),
        (["--cutoff", "17-03-2026"], "Tanggal batas '17-03-2026' tidak sah", "is not a date"),
        (["--cutoff", "2999-01-01"], "ada di masa depan", "is in the future"),
        (
            ["--model", "/nonexistent/model.json"],
            "Berkas model tidak dapat dibaca",
            "Cannot read the model file",
        ),
        ([], "tidak ada yang diperingkat", "there is nothing to rank"),
    ],
)
def test_rank_errors_are_bilingual(db, work_dir, args, message_id, message_en):
    base = {"--period": "2026-Q1", "--cutoff": (timezone.localdate() - dt.timedelta(days=1)).isoformat()}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [x for pair in base.items() for x in pair] + ["--work-dir", str(work_dir)]
    with pytest.raises(CommandError) as failed:
        _rank(*argv)
    assert message_id in str(failed.value)
    assert message_en in str(failed.value)
    assert not RankingRun.objects.exists()
