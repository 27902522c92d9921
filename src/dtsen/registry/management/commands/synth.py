"""`dtsen synth`: write a synthetic population (registry tables + ground truth + faults) into a directory."""

from __future__ import annotations

import datetime as dt
import sys
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dtsen.core.errors import ApplicationError
from dtsen.synth.faults import FaultRates
from dtsen.synth.services import DEFAULT_AS_OF, DEFAULT_REGION, population_generate


def _count(value: str) -> int:
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise ArgumentTypeError(f"bukan bilangan bulat / not an integer: {value!r}") from None
    return number


def _rate(value: str) -> float:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise ArgumentTypeError(f"bukan angka / not a number: {value!r}") from None
    return number


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(
            f"tanggal tidak valid, gunakan YYYY-MM-DD / invalid date, use YYYY-MM-DD: {value!r}"
        ) from None


class Command(BaseCommand):
    help = (
        "Membuat populasi sintetis (keluarga, anggota, kondisi, pengecualian) beserta data kebenaran dan "
        "daftar "
        "kesalahan yang disisipkan. / Generate a synthetic population (families, persons, conditions, "
        "exclusions) with its ground truth and the list of injected faults."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--region",
            default=DEFAULT_REGION,
            help="Kode wilayah: provinsi, kab/kota, kecamatan atau desa / region code (default 34.01)",
        )
        parser.add_argument(
            "--families", type=_count, required=True, help="Jumlah keluarga / number of families"
        )
        parser.add_argument("--seed", type=_count, default=0, help="Seed (default 0)")
        parser.add_argument(
            "--out",
            help="Direktori keluaran / output directory (default: DTSEN_DATA_DIR/synth/<region>-<seed>-<families>)",
        )
        parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
        parser.add_argument(
            "--as-of",
            type=_date,
            default=DEFAULT_AS_OF,
            help=f"Tanggal acuan / reference date (default {DEFAULT_AS_OF.isoformat()})",
        )
        parser.add_argument(
            "--fault-duplicates",
            type=_rate,
            default=0.0,
            metavar="RATE",
            help="Bagian orang yang dicatat ganda / share of persons duplicated",
        )
        parser.add_argument(
            "--fault-deceased",
            type=_rate,
            default=0.0,
            metavar="RATE",
            help="Bagian orang yang sudah meninggal tetapi masih tercatat / share of persons dead "
            "but still listed",
        )
        parser.add_argument(
            "--fault-excluded",
            type=_rate,
            default=0.0,
            metavar="RATE",
            help="Bagian orang dengan kategori pengecualian / share of persons flagged as excluded",
        )
        parser.add_argument(
            "--fault-stale-kk",
            type=_rate,
            default=0.0,
            metavar="RATE",
            help="Bagian keluarga dengan No. KK lama / share of families with a stale KK number",
        )
        parser.add_argument("--quiet", action="store_true", help="Tanpa progress bar / no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        rates = FaultRates(
            duplicates=options["fault_duplicates"],
            deceased=options["fault_deceased"],
            excluded=options["fault_excluded"],
            stale_kk=options["fault_stale_kk"],
        )
        total = options["families"]
        bar = tqdm(total=max(total, 0), unit="keluarga", disable=options["quiet"], file=sys.stderr)
        out = options["out"] or str(
            Path(settings.DATA_DIR) / "synth" / f"{options['region']}-{options['seed']}-{total}"
        )
        try:
            result = population_generate(
                out_dir=out,
                region_code=options["region"],
                n_families=total,
                seed=options["seed"],
                fmt=options["format"],
                rates=rates,
                as_of=options["as_of"],
                progress=bar.update,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}") from exc
        finally:
            bar.close()
        counts = result.manifest["counts"]
        self.stdout.write(
            f"{counts['families']} keluarga, {counts['persons']} orang, {counts['faults']} kesalahan -> "
            f"{result.out_dir} / {counts['families']} families, {counts['persons']} persons, "
            f"{counts['faults']} faults"
        )
