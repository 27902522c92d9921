"""`dtsen registry_export OUT_DIR`: the current register (of the actor's scope) in the import format."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dtsen.core.errors import ApplicationError, NotFound
from dtsen.registry.bulk.export import EXPORT_FORMATS, bulk_export
from dtsen.registry.bulk.services import actor_for


class Command(BaseCommand):
    help = (
        "Ekspor register (keluarga, orang, kondisi, pengecualian) ke CSV atau Parquet dalam format impor. / "
        "Export the register (families, persons, conditions, exclusions) to CSV or Parquet in the import "
        "format."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out_dir", help="Direktori keluaran / Output directory")
        parser.add_argument("--region", default="",
                            help="Kode wilayah, mis. 34.01 / Region code, e.g. 34.01")
        parser.add_argument("--format", dest="fmt", choices=list(EXPORT_FORMATS), default="csv")
        parser.add_argument("--actor",
                            help="Nama pengguna pelaku (bawaan: system) / Acting user (default: system)")
        parser.add_argument("--no-progress", action="store_true",
                            help="Tanpa bilah kemajuan / No progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            actor = actor_for(options["actor"])
        except NotFound as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}", returncode=2) from None
        try:
            result = bulk_export(
                actor=actor, out_dir=options["out_dir"], region=options["region"], fmt=options["fmt"],
                progress=options["verbosity"] > 0 and not options["no_progress"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}", returncode=1) from None
        self.stdout.write(result.message)
