"""`dtsen linkage run --region 34.01 [--engine duckdb|spark] [--params FILE.json] [--actor USER]
[--train-only --out FILE.json] [--format text|json]`: find likely duplicate persons in a region.

Without --params the run trains the model on the region first (expectation maximisation, no labels) and keeps
the parameters in the run; with --train-only it only trains and writes the parameters to --out. The pairs with
enough evidence go to the review queue of the kabupaten (/duplikat/); pairs already decided are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dtsen.audit.context import audit_context
from dtsen.core.errors import ApplicationError
from dtsen.linkage import services
from dtsen.linkage.engine import ENGINES
from dtsen.linkage.model import ModelParams
from dtsen.registry.bulk.services import actor_for


class Command(BaseCommand):
    help = "Cari data ganda / find likely duplicate persons (Splink). Subcommand: run."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, title="subcommands")
        run = sub.add_parser("run", help="Jalankan pencocokan / run the linkage of a region")
        run.add_argument("--region", required=True, help="kode wilayah / region code, e.g. 34.01")
        run.add_argument("--engine", choices=ENGINES, default="duckdb")
        run.add_argument("--params", help="trained parameters JSON (default: train on the region first)")
        run.add_argument("--train-only", action="store_true", help="only train; write the parameters to --out")
        run.add_argument("--out", help="where --train-only writes the parameters JSON")
        run.add_argument("--actor", help="pengguna / username (default: the system actor)")
        run.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["train_only"] and not options["out"]:
            raise CommandError("--train-only memerlukan --out / --train-only needs --out FILE.json")
        if options["train_only"] and options["params"]:
            raise CommandError("--train-only tidak memakai --params / --train-only does not take --params")
        params = None
        if options["params"]:
            try:
                params = ModelParams.from_json(Path(options["params"]).read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError) as exc:
                raise CommandError(f"Parameter tidak terbaca / cannot read parameters: {exc}") from exc
        quiet = options["format"] == "json" or options["verbosity"] == 0
        steps = 2 if options["train_only"] else (4 if params else 5)
        bar = tqdm(total=steps, desc="linkage", unit="langkah/step", disable=quiet)

        def progress(message: str) -> None:
            bar.set_postfix_str(message[:60])
            bar.update(1)

        try:
            with audit_context(channel="system"):
                actor = actor_for(options["actor"])
                if options["train_only"]:
                    trained = services.linkage_train(actor=actor, region_code=options["region"],
                                                     engine=options["engine"], progress=progress)
                    Path(options["out"]).write_text(trained.as_json(), encoding="utf-8")
                    progress("written")
                else:
                    run = services.linkage_run(actor=actor, region_code=options["region"],
                                               engine=options["engine"], params=params, progress=progress)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id}\n{exc.message_en}") from exc
        finally:
            bar.close()
        if options["train_only"]:
            summary = {"out": options["out"], "params_sha256": trained.sha256, "trained_on": trained.trained_on}
            if options["format"] == "json":
                self.stdout.write(json.dumps(summary))
            else:
                self.stdout.write(self.style.SUCCESS(
                    f"Parameter dilatih / parameters trained: {options['out']} (sha256 {trained.sha256[:12]})"))
            return
        summary = {"run": run.pk, "region": run.region_code, "engine": run.engine, "status": run.status,
                   "params_sha256": run.params_sha256, "trained_here": run.trained_here, "persons": run.persons,
                   "pairs_scored": run.pairs_scored, "pairs_queued": run.pairs_queued,
                   "pairs_skipped": run.pairs_skipped, "clusters": run.clusters, "timings": run.info}
        if options["format"] == "json":
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(self.style.SUCCESS(
            f"Linkage #{run.pk} {run.region_code} selesai / finished ({run.engine}, "
            f"{'dilatih di sini / trained here' if run.trained_here else 'parameter diberikan / given params'}, "
            f"sha256 {run.params_sha256[:12]})"))
        self.stdout.write(
            f"Orang / persons: {run.persons:,}; pasangan >= ambang / pairs at or above threshold: "
            f"{run.pairs_scored:,}; masuk antrean / queued: {run.pairs_queued:,}; sudah diputuskan atau menunggu "
            f"/ already decided or pending: {run.pairs_skipped:,}; klaster ganda / clusters of 2+: {run.clusters:,}")
