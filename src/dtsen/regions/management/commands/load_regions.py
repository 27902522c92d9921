"""`dtsen load_regions [--edition 2025]`: load the shipped region editions (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dtsen.regions.data_files import EDITIONS
from dtsen.regions.services import RegionsLoadResult, regions_load


class Command(BaseCommand):
    help = (
        "Memuat kode wilayah Kemendagri yang dikirim bersama dtsen (semua edisi, atau satu). "
        "/ Load the Kemendagri region codes shipped with dtsen (every edition, or one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--edition",
            choices=[spec.code for spec in EDITIONS],
            help="Edisi yang dimuat (bawaan: semua) / Edition to load (default: all)",
        )
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="Tanpa bilah kemajuan / No progress bar",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = options["verbosity"] > 0 and not options["no_progress"]
        result = regions_load(edition=options["edition"], progress=progress)
        self.stdout.write(self.style.SUCCESS(summary_line(result)))


def summary_line(result: RegionsLoadResult) -> str:
    """One line, Indonesian then English."""
    parts = []
    for e in result.editions:
        c = e.regions
        parts.append(f"{e.edition}: {e.regions_total} (+{c.created} ~{c.updated} -{c.deleted})")
    for key, c in result.changes.items():
        parts.append(f"{key}: {result.changes_total[key]} (+{c.created} ~{c.updated} -{c.deleted})")
    detail = "; ".join(parts)
    seconds = f"{result.seconds:.1f}"
    if result.changed_anything:
        message = f"Wilayah dimuat dalam {seconds} dtk / Regions loaded in {seconds} s"
    else:
        message = "Wilayah sudah mutakhir, tidak ada perubahan / Regions already up to date, nothing changed"
    return f"{message} — {detail}"
