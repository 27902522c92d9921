"""`dtsen usulan`: the monthly cut-off, the report and the monthly deadlines of the update channels.

    dtsen usulan cutoff [--month YYYY-MM] [--today YYYY-MM-DD] [--format text|json]
    dtsen usulan report [--region CODE] [--level 1-4] [--format text|json|csv]
    dtsen usulan schedule --month YYYY-MM [--musdes-until N] [--input-until N] [--cutoff-day N] [--pull-day N]
                          [--reason TEXT] [--format text|json]

`cutoff` applies every usulan ratified by the month's cut-off day, each in its own transaction; one that
cannot be applied goes back to the village with the reason (docs/workflows.md). Without --month it runs the
month whose cut-off is the latest one not after today. `report` counts usulan by status, by region, by age
of the open ones and per month. `schedule` shows a month's deadlines, or sets them when a day is given.
Everything runs as the system actor (national data administrator). A refused operation prints its message in
Indonesian and English on stderr and exits with status 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from tqdm import tqdm

from dtsen.accounts.services import system_actor
from dtsen.core.errors import ApplicationError
from dtsen.regions.selectors import region_get
from dtsen.updates import selectors
from dtsen.updates.cutoff import CutoffResult, cutoff_run
from dtsen.updates.models import UsulanKind, UsulanStatus
from dtsen.updates.schedule import DAY_FIELDS, Schedule, month_check, month_of, schedule_for, schedule_set

LEVELS = {1: "provinsi / province", 2: "kabupaten/kota / regency/city", 3: "kecamatan / district",
          4: "desa/kelurahan / village"}
SCHEDULE_LABELS = (
    ("musdes_until", "Batas musdes / village meetings until"),
    ("input_until", "Batas input desa / village input until"),
    ("cutoff", "Cut-off"),
    ("pull", "Tarik data pusat / central pull"),
)


def _error(exc: ApplicationError) -> CommandError:
    return CommandError(f"{exc.message_id}\n{exc.message_en}")


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{name} '{value}' bukan tanggal yang sah; gunakan TTTT-BB-HH.\n"
            f"{name} '{value}' is not a date; use YYYY-MM-DD."
        ) from None


def previous_month(month: str) -> str:
    y, m = month_check(month)
    return f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"


def default_cutoff_month(today: dt.date) -> str:
    """The month whose cut-off day is the latest one not after `today`."""
    month = month_of(today)
    return month if schedule_for(month).cutoff <= today else previous_month(month)


def region_name(code: str) -> str:
    try:
        return region_get(code).name
    except ApplicationError:  # a code of an older edition, or one the tables do not know
        return ""


def _label(choices: Any, value: str) -> str:
    """The English label (the value itself is the Indonesian name)."""
    try:
        with translation.override("en"):
            return str(choices(value).label)
    except ValueError:
        return value


def schedule_json(sched: Schedule) -> dict[str, Any]:
    return {"month": sched.month, "musdes_until": sched.musdes_until.isoformat(),
            "input_until": sched.input_until.isoformat(), "cutoff": sched.cutoff.isoformat(),
            "pull": sched.pull.isoformat(), "configured": sched.configured}


class Command(BaseCommand):
    help = (
        "Cut-off bulanan, laporan dan jadwal usulan. / Monthly cut-off, report and deadlines of the usulan."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{cutoff,report,schedule}")
        cutoff = sub.add_parser("cutoff", help="terapkan usulan yang disahkan / apply the ratified usulan")
        cutoff.add_argument("--month", help="bulan / month YYYY-MM (default: the latest cut-off not after today)")
        cutoff.add_argument("--today", help="hari ini / today YYYY-MM-DD (default: the server's date)")
        cutoff.add_argument("--format", choices=("text", "json"), default="text")

        report = sub.add_parser("report", help="rekap usulan / counts of usulan")
        report.add_argument("--region", default="", help="kode wilayah / region code, e.g. 34.01")
        report.add_argument("--level", type=int, choices=sorted(LEVELS), default=2,
                            help="tingkat wilayah / region level of the breakdown: 1 province ... 4 village")
        report.add_argument("--format", choices=("text", "json", "csv"), default="text")

        schedule = sub.add_parser("schedule", help="jadwal bulanan / monthly deadlines (show or set)")
        schedule.add_argument("--month", required=True, help="bulan / month YYYY-MM")
        for name in DAY_FIELDS:
            schedule.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, metavar="N",
                                  help="hari / day of the month")
        schedule.add_argument("--reason", default="", help="alasan perubahan / reason for the change")
        schedule.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "cutoff":
                self.cutoff(options)
            elif action == "report":
                self.report(options)
            else:
                self.schedule(options)
        except ApplicationError as exc:
            raise _error(exc) from exc

    # ------------------------------------------------------------------------------------------ cutoff

    def cutoff(self, options: dict[str, Any]) -> None:
        today = _date(options["today"], "--today") if options["today"] else timezone.localdate()
        month = options["month"] or default_cutoff_month(today)
        month_check(month)
        bar = tqdm(desc=f"cut-off {month}", unit="usulan",
                   disable=options["format"] == "json" or options["verbosity"] == 0)  # fmt: skip

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        actor = system_actor()
        try:
            result = cutoff_run(actor=actor, month=month, today=today, progress=progress)
        finally:
            bar.close()
        kinds = selectors.usulan_kinds(actor=actor, references=[ref for ref, _ in result.returned])
        returned_by_kind = Counter(kinds.get(ref, "") for ref, _ in result.returned)
        if options["format"] == "json":
            self.stdout.write(json.dumps(self._cutoff_json(result, kinds, returned_by_kind)))
            return
        self.stdout.write(self.style.SUCCESS(
            f"Cut-off {result.month} (hari batas / cut-off day {result.cutoff:%d-%m-%Y}): "
            f"{len(result.applied)} diterapkan / applied, {len(result.returned)} dikembalikan / returned"
        ))  # fmt: skip
        self.stdout.write(f"{'jenis / kind':<16} {'diterapkan/applied':>19} {'dikembalikan/returned':>22}")
        for kind in UsulanKind.values:
            self.stdout.write(f"{kind:<16} {result.by_kind.get(kind, 0):>19} {returned_by_kind.get(kind, 0):>22}")
        if result.returned:
            self.stdout.write("Dikembalikan ke desa / returned to the village:")
            for ref, reason in result.returned:
                self.stdout.write(f"  {ref} ({kinds.get(ref, '-')}): {reason}")

    @staticmethod
    def _cutoff_json(result: CutoffResult, kinds: dict[str, str], returned_by_kind: Counter[str]) -> dict[str, Any]:
        return {
            "month": result.month,
            "cutoff": result.cutoff.isoformat(),
            "applied": result.applied,
            "returned": [{"reference": ref, "kind": kinds.get(ref, ""), "reason": reason}
                         for ref, reason in result.returned],
            "applied_by_kind": {k: result.by_kind.get(k, 0) for k in UsulanKind.values},
            "returned_by_kind": {k: returned_by_kind.get(k, 0) for k in UsulanKind.values},
        }

    # ------------------------------------------------------------------------------------------ report

    def report(self, options: dict[str, Any]) -> None:
        region = options["region"].strip()
        if region:
            region = region_get(region).code  # unknown code: RegionNotFound, bilingual
        level = options["level"]
        rep = selectors.report(actor=system_actor(), region_code=region, level=level)
        names = {code: region_name(code) for code in rep.by_region}
        fmt = options["format"]
        if fmt == "json":
            self.stdout.write(json.dumps({
                "region": region, "level": level,
                "by_status": {s: rep.by_status.get(s, 0) for s in UsulanStatus.values},
                "by_region": [{"code": code, "name": names[code], "total": sum(counts.values()),
                               "by_status": dict(sorted(counts.items()))}
                              for code, counts in rep.by_region.items()],
                "by_age": {label: rep.by_age.get(label, 0) for _, label in selectors.AGE_BUCKETS},
                "throughput": [{"month": m, "created": created, "applied": applied}
                               for m, created, applied in rep.throughput],
            }))  # fmt: skip
            return
        if fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(["section", "key", "name", "status", "count"])
            for status in UsulanStatus.values:
                writer.writerow(["status", status, _label(UsulanStatus, status), status, rep.by_status.get(status, 0)])
            for code, counts in rep.by_region.items():
                for status, n in sorted(counts.items()):
                    writer.writerow(["region", code, names[code], status, n])
            for _, label in selectors.AGE_BUCKETS:
                writer.writerow(["age", label, "", "", rep.by_age.get(label, 0)])
            for m, created, applied in rep.throughput:
                writer.writerow(["throughput", m, "", "created", created])
                writer.writerow(["throughput", m, "", "applied", applied])
            return
        where = f"{region} {region_name(region)}" if region else "nasional / national"
        self.stdout.write(self.style.SUCCESS(f"Laporan usulan / usulan report: {where}"))
        self.stdout.write("Per status / by status:")
        for status in UsulanStatus.values:
            self.stdout.write(f"  {status:<20} {rep.by_status.get(status, 0):>8}  {_label(UsulanStatus, status)}")
        self.stdout.write(f"Per wilayah / by region ({LEVELS[level]}):")
        for code, counts in rep.by_region.items():
            detail = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
            self.stdout.write(f"  {code:<14} {names[code][:30]:<30} {sum(counts.values()):>8}  ({detail})")
        self.stdout.write("Umur usulan terbuka / age of the open usulan:")
        for _, label in selectors.AGE_BUCKETS:
            self.stdout.write(f"  {label:<12} {rep.by_age.get(label, 0):>8}")
        self.stdout.write("Per bulan / per month:  dibuat/created  diterapkan/applied")
        for m, created, applied in rep.throughput:
            self.stdout.write(f"  {m:<8} {created:>22} {applied:>19}")

    # ---------------------------------------------------------------------------------------- schedule

    def schedule(self, options: dict[str, Any]) -> None:
        month = options["month"]
        month_check(month)
        days = {name: options[name] for name in DAY_FIELDS if options.get(name) is not None}
        if days:
            schedule_set(actor=system_actor(), month=month, reason=options["reason"], **days)
        elif options["reason"].strip():
            raise CommandError(
                "Sebutkan hari yang diubah (--musdes-until, --input-until, --cutoff-day, --pull-day).\n"
                "Give the days to change (--musdes-until, --input-until, --cutoff-day, --pull-day)."
            )
        sched = schedule_for(month)
        if options["format"] == "json":
            self.stdout.write(json.dumps(schedule_json(sched)))
            return
        state = "diatur / configured" if sched.configured else "bawaan / default"
        head = f"Jadwal / schedule {month} ({state})"
        self.stdout.write(self.style.SUCCESS(("Disimpan / saved. " if days else "") + head))
        for name, label in SCHEDULE_LABELS:
            day: dt.date = getattr(sched, name)
            self.stdout.write(f"  {label:<42} {day:%d-%m-%Y}")
