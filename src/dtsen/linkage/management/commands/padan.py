"""`dtsen padan FILE --source "Dukcapil 2026-11" [--dry-run] [--report FILE.csv] [--actor USER]`: match the register
against a reference population file (dtsen.linkage.padan; docs/linkage-door.md)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dtsen.core.errors import ApplicationError
from dtsen.linkage import padan
from dtsen.registry.bulk.services import actor_for


class Command(BaseCommand):
    help = "Pemadanan dengan data rujukan kependudukan / match persons against a reference population file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="reference file (CSV or Parquet): nik, name, birth_date, sex, kk_number, "
                                         "life_status (hidup/meninggal), death_date")
        parser.add_argument("--source", required=True,
                            help='who sent the file and which edition, e.g. "Dukcapil 2026-11"')
        parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
        parser.add_argument("--report", help="write the outcome of every person to this CSV file")
        parser.add_argument("--actor", help="acting user (default: the system actor)")

    def handle(self, *args: Any, **options: Any) -> None:
        bar = tqdm(desc="padan", unit=" orang/persons", unit_scale=True, disable=options["verbosity"] == 0)
        try:
            report = padan.padan_run(actor=actor_for(options["actor"]), path=options["file"], source=options["source"],
                                     dry_run=options["dry_run"], progress=bar.update)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id}\n{exc.message_en}") from exc
        finally:
            bar.close()
        if options["report"]:
            with Path(options["report"]).open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["person_id", "status", "reasons"])
                for row in report.persons:
                    writer.writerow([row["person_id"], row["status"], " ".join(row["reasons"])])
        self.stdout.write(padan.padan_summary(report))
