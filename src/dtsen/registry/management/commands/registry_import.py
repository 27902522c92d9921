"""`dtsen registry_import DIR_OR_FILES`: bulk import of families, persons, conditions and exclusions.

Whole or nothing: if any row is bad nothing is written, `rejected.csv` lists every problem and the command
exits with 1; unusable input (missing or unreadable file, missing columns) exits with 2; success with 0.
Importing the same files again changes nothing. See docs/import-format.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dtsen.core.errors import ApplicationError, NotFound
from dtsen.registry import choices as c
from dtsen.registry.bulk.door import DoorSummary
from dtsen.registry.bulk.services import actor_for, bulk_import


class Command(BaseCommand):
    help = (
        "Impor massal keluarga, orang, kondisi dan pengecualian dari CSV atau Parquet (semua atau tidak "
        "sama sekali). / Bulk import of families, persons, conditions and exclusions from CSV or Parquet "
        "(whole or nothing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="Direktori atau berkas / Directory or files")
        parser.add_argument("--format", dest="fmt", choices=["auto", "csv", "parquet"], default="auto",
                            help="Format berkas (bawaan: dari akhiran) / File format (default: by extension)")
        parser.add_argument("--actor",
                            help="Nama pengguna pelaku (bawaan: system) / Acting user (default: system)")
        parser.add_argument("--channel", choices=list(c.Channel.values), default=c.Channel.IMPORT,
                            help="Kanal perubahan / Channel of the change")
        parser.add_argument("--reason", help="Alasan perubahan / Reason for the change")
        parser.add_argument("--report-dir", help="Direktori laporan / Report directory")
        parser.add_argument("--dry-run", action="store_true",
                            help="Periksa dan hitung tanpa menyimpan / Check and count without saving")
        parser.add_argument("--no-progress", action="store_true",
                            help="Tanpa bilah kemajuan / No progress bar")
        parser.add_argument("--door-check", action="store_true",
                            help="Periksa orang baru terhadap registri sebelum impor (kemungkinan ganda; tidak "
                                 "menolak baris) / Check new persons against the register before the import "
                                 "(likely duplicates; rows are not refused)")
        parser.add_argument("--door-report", metavar="PATH",
                            help="Laporan CSV pemeriksaan ganda (bawaan: door-check.csv di samping berkas "
                                 "persons) / CSV report of the duplicate check (default: door-check.csv next to "
                                 "the persons file)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            actor = actor_for(options["actor"])
        except NotFound as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}", returncode=2) from None
        try:
            summary = bulk_import(
                actor=actor,
                paths=options["paths"],
                fmt=options["fmt"],
                channel=options["channel"],
                reason=options["reason"],
                report_dir=options["report_dir"],
                dry_run=options["dry_run"],
                progress=options["verbosity"] > 0 and not options["no_progress"],
                door_check=options["door_check"],
                door_report=options["door_report"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}", returncode=1) from None
        if options["door_check"]:
            self._door_summary(summary.door_check)
        if summary.exit_code:
            raise CommandError(summary.message, returncode=summary.exit_code)
        self.stdout.write(summary.message_id)
        self.stdout.write(summary.message_en)
        self.stdout.write(f"Laporan / Report: {summary.report_dir}")

    def _door_summary(self, result: dict[str, Any]) -> None:
        if not result:
            self.stdout.write("Pemeriksaan ganda: tidak ada berkas persons. / Duplicate check: no persons file.")
            return
        message_id, message_en = DoorSummary(**result).messages()
        self.stdout.write(message_id)
        self.stdout.write(message_en)
