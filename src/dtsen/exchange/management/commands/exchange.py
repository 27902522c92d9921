"""`dtsen exchange`: bulk exchange with other agencies (docs/exchange.md).

    dtsen exchange export ranking RUN_ID --out DIR [--format parquet,csv] [--region CODE] [--actor USER]
    dtsen exchange export program PROGRAM RUN_ID|PERIOD --out DIR [--format parquet,csv] [--outcome terpilih,...]
                               [--nik none|masked|keyed|plain] [--link-key-file F] [--agreement REF] [--region CODE]
    dtsen exchange verify DIR
    dtsen exchange schedule-add NAME --dataset ranking|program --cadence monthly|after_run --destination DIR
                               [--program P] [--format parquet,csv] [--region CODE] [--actor USER]
    dtsen exchange schedules
    dtsen exchange run-scheduled [--force]
    dtsen exchange import-reference FILE --kind deaths|civil-servants|exclusions --source "Dukcapil 2026-11"
                               [--agency CODE] [--category asn] [--dry-run] [--report FILE.csv] [--actor USER]
    dtsen exchange undo-reference (--row ID | --batch ID) --reason TEXT [--actor USER]
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dtsen.core.errors import ApplicationError
from dtsen.exchange import reference as ref
from dtsen.exchange import services as svc
from dtsen.exchange.files import manifest_verify
from dtsen.exchange.models import Cadence, Dataset, ReferenceKind
from dtsen.exchange.selectors import schedule_list
from dtsen.programs.models import Outcome
from dtsen.registry.bulk.services import actor_for


def _fail(exc: ApplicationError) -> CommandError:
    return CommandError(f"{exc.message_id}\n{exc.message_en}")


class Command(BaseCommand):
    help = "Pertukaran data massal / bulk data exchange: exports with a manifest, schedules, reference imports."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="export a ranking run or a program list")
        export.add_argument("dataset", choices=Dataset.values)
        export.add_argument("target", nargs="+", help="ranking: RUN_ID; program: PROGRAM RUN_ID|PERIOD")
        export.add_argument("--out", required=True, help="destination folder (created; must be empty)")
        export.add_argument("--format", default="parquet", help="parquet, csv or parquet,csv")
        export.add_argument("--region", help="limit to this region (within your scope)")
        export.add_argument("--outcome", default=Outcome.SELECTED, help="program: outcomes, comma separated")
        export.add_argument("--nik", choices=svc.NIK_MODES, default="none", help="program: the NIK column")
        export.add_argument("--link-key-file", help="program, --nik keyed: file holding the partner key (hex)")
        export.add_argument("--agreement", default="", help="program, --nik plain: partner agreement reference")
        export.add_argument("--actor")
        verify = sub.add_parser("verify", help="check a folder against its manifest.json")
        verify.add_argument("directory")
        add = sub.add_parser("schedule-add", help="create an export schedule")
        add.add_argument("name")
        add.add_argument("--dataset", choices=Dataset.values, required=True)
        add.add_argument("--cadence", choices=Cadence.values, required=True)
        add.add_argument("--destination", required=True)
        add.add_argument("--program")
        add.add_argument("--format", default="parquet")
        add.add_argument("--region")
        add.add_argument("--actor")
        sched = sub.add_parser("schedules", help="list export schedules")
        sched.add_argument("--actor")
        run = sub.add_parser("run-scheduled", help="run every active schedule (cron / systemd timer)")
        run.add_argument("--force", action="store_true", help="export again even if already exported")
        imp = sub.add_parser("import-reference", help="apply an agency's reference file")
        imp.add_argument("file")
        imp.add_argument("--kind", choices=ReferenceKind.values, required=True)
        imp.add_argument("--source", required=True, help='e.g. "Dukcapil 2026-11"')
        imp.add_argument("--agency", help="source code (dukcapil, bkn, bpjs, instansi, ...)")
        imp.add_argument("--category", default="asn", help="default exclusion category when the file has none")
        imp.add_argument("--dry-run", action="store_true")
        imp.add_argument("--report", help="write the per-row report (CSV, masked NIK) here")
        imp.add_argument("--actor")
        undo = sub.add_parser("undo-reference", help="undo one applied row or a whole reference import")
        group = undo.add_mutually_exclusive_group(required=True)
        group.add_argument("--row", type=int)
        group.add_argument("--batch", type=int)
        undo.add_argument("--reason", required=True)
        undo.add_argument("--actor")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except ApplicationError as exc:
            raise _fail(exc) from exc

    def _bar(self, options: dict[str, Any], desc: str, total: int | None = None) -> tqdm:
        return tqdm(total=total, desc=desc, unit=" baris/rows", unit_scale=True, disable=options["verbosity"] == 0)

    def _export(self, options: dict[str, Any]) -> None:
        actor = actor_for(options["actor"])
        formats = options["format"].split(",")
        target = options["target"]
        with self._bar(options, "ekspor / export") as bar:
            def progress(table: str, rows: int) -> None:
                bar.set_postfix_str(table)
                bar.update(rows)

            if options["dataset"] == Dataset.RANKING:
                if len(target) != 1 or not target[0].isdigit():
                    raise CommandError("ranking: RUN_ID")
                record = svc.export_ranking(actor=actor, run_id=int(target[0]), out_dir=options["out"],
                                            formats=formats, region=options["region"], progress=progress)
            else:
                if len(target) != 2:
                    raise CommandError("program: PROGRAM RUN_ID|PERIOD")
                key = b""
                if options["link_key_file"]:
                    key = bytes.fromhex(Path(options["link_key_file"]).read_text().strip())
                nik = svc.nik_option(actor=actor, mode=options["nik"], link_key=key, agreement=options["agreement"],
                                     region=options["region"])  # fmt: skip
                record = svc.export_program(
                    actor=actor, program=target[0], run_ref=target[1], out_dir=options["out"], formats=formats,
                    outcomes=[o for o in options["outcome"].split(",") if o], region=options["region"], nik=nik,
                    progress=progress,
                )  # fmt: skip
        self.stdout.write(self.style.SUCCESS(
            f"Ekspor #{record.pk} / export #{record.pk}: {record.rows:,} baris/rows in {record.seconds:.1f} s "
            f"-> {record.directory}"))  # fmt: skip
        for f in record.files:
            self.stdout.write(f"  {f['name']}  {f['rows']:,} rows  {f['bytes']:,} bytes  sha256 {f['sha256']}")

    def _verify(self, options: dict[str, Any]) -> None:
        problems = manifest_verify(options["directory"])
        if problems:
            for p in problems:
                self.stderr.write(f"{p.file}: {p.code}: {p.detail}")
            raise CommandError(f"Manifes tidak cocok / manifest check failed: {len(problems)} problem(s)")
        self.stdout.write(self.style.SUCCESS("Manifes cocok / manifest OK"))

    def _schedule_add(self, options: dict[str, Any]) -> None:
        params: dict[str, Any] = {"formats": options["format"].split(",")}
        if options["program"]:
            params["program"] = options["program"]
        if options["region"]:
            params["region"] = options["region"]
        schedule = svc.schedule_create(actor=actor_for(options["actor"]), name=options["name"],
                                       dataset=options["dataset"], cadence=options["cadence"],
                                       destination=options["destination"], params=params)  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"Jadwal / schedule #{schedule.pk} {schedule.name}"))

    def _schedules(self, options: dict[str, Any]) -> None:
        for s in schedule_list(actor=actor_for(options["actor"])):
            self.stdout.write(f"#{s.pk} {s.name} {s.dataset} {s.cadence} {json.dumps(s.params)} -> {s.destination} "
                              f"[{s.owner.get_username()}] last: {s.last_run_at or '-'} {s.last_status or '-'}")

    def _run_scheduled(self, options: dict[str, Any]) -> None:
        outcomes = svc.schedules_run(force=options["force"])
        failed = 0
        for o in outcomes:
            self.stdout.write(f"#{o.schedule.pk} {o.schedule.name}: {o.status} {o.message}")
            failed += o.status == "failed"
        if failed:
            raise CommandError(f"{failed} jadwal gagal / schedule(s) failed")

    def _import_reference(self, options: dict[str, Any]) -> None:
        with self._bar(options, "impor rujukan / reference import") as bar:
            report = ref.reference_import(
                actor=actor_for(options["actor"]), path=options["file"], kind=options["kind"],
                source=options["source"], agency=options["agency"], category=options["category"],
                dry_run=options["dry_run"], progress=bar.update,
            )  # fmt: skip
        if report.already_imported:
            assert report.batch is not None
            self.stdout.write(self.style.WARNING(
                f"Berkas ini sudah diimpor / this file was already imported: #{report.batch.pk} "
                f"({report.batch.source}); nothing done"))  # fmt: skip
            return
        label = "UJI COBA / DRY RUN (nothing written)" if report.dry_run else f"#{report.batch.pk}"  # type: ignore[union-attr]
        self.stdout.write(self.style.SUCCESS(f"Impor rujukan / reference import {label}: {report.counts}"))
        for row in report.problems[:50]:
            self.stdout.write(f"  baris/row {row.row_no}: {row.nik_masked} {row.outcome} {row.detail}")
        if len(report.problems) > 50:
            self.stdout.write(f"  ... {len(report.problems) - 50} more (see --report)")
        if options["report"]:
            with Path(options["report"]).open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["row", "nik_masked", "outcome", "detail"])
                for row in report.rows:
                    writer.writerow([row.row_no, row.nik_masked, row.outcome, row.detail])

    def _undo_reference(self, options: dict[str, Any]) -> None:
        actor = actor_for(options["actor"])
        if options["row"]:
            row = ref.reference_row_undo(actor=actor, row_id=options["row"], reason=options["reason"])
            self.stdout.write(self.style.SUCCESS(f"Baris / row #{row.pk} dibatalkan / undone"))
        else:
            batch = ref.reference_import_undo(actor=actor, batch_id=options["batch"], reason=options["reason"])
            self.stdout.write(self.style.SUCCESS(f"Impor / import #{batch.pk} dibatalkan / undone"))
