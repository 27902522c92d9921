"""`dtsen rank`: the national welfare ranking (desil) of one period.

    dtsen rank --period 2026-Q1 --cutoff 2026-03-17 [--engine duckdb|spark] [--method window|two_level]
               [--model MODEL.json] [--actor USERNAME] [--work-dir DIR] [--keep-files] [--format text|json]

Freezes the register as of the end of the cut-off day, scores every family with the PMT model of its
region (the shipped default model unless --model), ranks nationally over persons and stores an immutable
run with its results, the families that could not be ranked and the diff against the previous run.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dtsen.core.errors import ApplicationError
from dtsen.ranking.engine import ENGINES
from dtsen.ranking.models import RankMethod
from dtsen.ranking.services import STEPS, ranking_run
from dtsen.registry.bulk.services import actor_for

STEP_LABELS = {
    "snapshot": "pembekuan data / snapshot",
    "covariates": "kovariat / covariates",
    "features": "fitur / features",
    "rank": "skor & peringkat / score & rank",
    "results": "hasil / results",
    "write": "simpan / write",
}


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"Tanggal batas '{value}' tidak sah; gunakan TTTT-BB-HH.\n"
            f"The cut-off '{value}' is not a date; use YYYY-MM-DD."
        ) from None


class Command(BaseCommand):
    help = (
        "Peringkat kesejahteraan nasional (desil) satu periode. / "
        "National welfare ranking (desil) of one period."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="periode / period, e.g. 2026-Q1")
        parser.add_argument("--cutoff", required=True, help="tanggal batas / cut-off date, YYYY-MM-DD")
        parser.add_argument("--engine", choices=ENGINES, default="duckdb")
        parser.add_argument(
            "--method",
            choices=RankMethod.values,
            default=RankMethod.WINDOW,
            help="window (one level) or two_level (bucket counts, prefix sums; for clusters)",
        )
        parser.add_argument(
            "--model", help="model PMT / PMT model artefact JSON (default: the shipped model)"
        )
        parser.add_argument("--actor", help="pengguna / username (default: the system actor)")
        parser.add_argument("--work-dir", help="working directory for the Parquet files (default: DATA_DIR)")
        parser.add_argument("--keep-files", action="store_true", help="keep the snapshot and engine files")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = _date(options["cutoff"])
        bar = tqdm(total=len(STEPS), desc="peringkat / ranking", unit="langkah/step",
                   disable=options["format"] == "json" or options["verbosity"] == 0)  # fmt: skip

        def progress(step: str) -> None:
            bar.set_postfix_str(STEP_LABELS.get(step, step))
            bar.update(1)

        try:
            actor = actor_for(options["actor"])
            run = ranking_run(
                actor=actor, period=options["period"], cutoff=cutoff, engine=options["engine"],
                model=options["model"], method=options["method"], work_dir=options["work_dir"],
                keep_files=options["keep_files"], progress=progress,
            )  # fmt: skip
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id}\n{exc.message_en}") from exc
        finally:
            bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps({
                "run": run.pk, "period": run.period, "cutoff": run.cutoff.isoformat(),
                "engine": run.engine_version,
                "method": run.method, "model_id": run.model_id, "input_sha256": run.input_sha256,
                "counts": run.counts, "cut_points": run.cut_points, "diff": run.diff_summary,
                "timings": run.timings,
            }))  # fmt: skip
            return
        counts = run.counts
        self.stdout.write(self.style.SUCCESS(
            f"Peringkat #{run.pk} {run.period} selesai / ranking run #{run.pk} {run.period} finished "
            f"({run.engine_version}, {run.method})"
        ))  # fmt: skip
        self.stdout.write(f"Model: {run.model_id}")
        self.stdout.write(f"Masukan / input sha256: {run.input_sha256}")
        self.stdout.write(
            f"Diperingkat / ranked: {counts['families_ranked']:,} keluarga/families, "
            f"{counts['persons_ranked']:,} jiwa/persons; tidak dapat diperingkat / not rankable: "
            f"{counts['families_not_rankable']:,} {counts['not_rankable_by_reason']}"
        )
        self.stdout.write("Desil  keluarga/families  jiwa/persons  batas atas / upper bound (log pce)")
        for cp in run.cut_points:
            self.stdout.write(
                f"{cp['desil']:>5}  {cp['families']:>17,}  {cp['persons']:>12,}  {cp['upper_log_pce']} "
                f"({cp['upper_family_code']})"
            )
        diff = run.diff_summary
        if diff.get("has_previous"):
            self.stdout.write(
                f"Dibanding peringkat sebelumnya / vs previous run: naik/up {sum(diff['up']):,} "
                f"lintasan/crossings, turun/down {sum(diff['down']):,}, baru/entered {diff['entered']:,}, "
                f"keluar/left {diff['left']:,}"
            )
        self.stdout.write(f"Waktu / timings (s): {run.timings}")
