"""`dtsen odk`: the ODK/KoboToolbox bridge of the verification visits (docs/odk.md).

    dtsen odk form --out visit.xlsx [--check]
    dtsen odk import <export.zip|folder|file.csv|file.json> [--dry-run] [--as USERNAME] [--format text|json|csv]

`form` writes the visit questionnaire as an XLSForm (built from the phone page's definition) and, with --check,
converts it with pyxform and fails on any error or warning. `import` turns the submissions of an ODK Central
export into visits of their tasks, each in its own transaction, and prints one line per submission: accepted,
refused (with the reason in Indonesian and English) or already imported. --dry-run checks everything, photos
included, and writes nothing. --as: the Dinsos user who imports (default: the system actor). The exit status is
0 when no submission was refused, 2 when some were, 1 when the export cannot be read.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dtsen.accounts.services import system_actor
from dtsen.core.errors import ApplicationError
from dtsen.fieldforms.export import read_export
from dtsen.fieldforms.services import REFUSED, RowResult, result_dict, submissions_import
from dtsen.fieldforms.xlsform import form_sheets, xlsform_bytes

COLUMNS = ("row", "instance_id", "task", "submitter", "status", "visit_id", "code", "reason_id", "reason_en",
           "flags")


def pyxform_problems(data: bytes) -> list[str]:
    """pyxform's errors and warnings for an XLSForm (empty: it converts cleanly)."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    warnings: list[str] = []
    try:
        convert(xlsform=io.BytesIO(data), warnings=warnings, file_type=".xlsx")
    except PyXFormError as exc:
        return [f"error: {exc}"]
    return [f"warning: {w}" for w in warnings]


def _table(results: list[RowResult]) -> str:
    lines = [f"{'#':>4}  {'status':<16} {'task':<10} {'submitter':<20} {'visit':>7}  reason"]
    for r in results:
        reason = f"{r.reason_id} / {r.reason_en}" if r.reason_id else r.flags
        lines.append(f"{r.row:>4}  {r.status:<16} {r.task:<10} {r.submitter[:20]:<20} {r.visit_id or '':>7}  {reason}")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append("; ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "0 submissions")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "ODK/KoboToolbox bridge: the visit XLSForm and the import of submissions as visits."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{form,import}")
        form = sub.add_parser("form", help="write the visit questionnaire as an XLSForm")
        form.add_argument("--out", required=True, help="the .xlsx file to write")
        form.add_argument("--check", action="store_true", help="convert it with pyxform; fail on errors/warnings")
        imp = sub.add_parser("import", help="import an ODK Central export (zip, folder, CSV or JSON)")
        imp.add_argument("export")
        imp.add_argument("--dry-run", action="store_true", help="check every submission, write nothing")
        imp.add_argument("--as", dest="importer", default="", help="the importing user (default: system actor)")
        imp.add_argument("--format", choices=("text", "json", "csv"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "form":
            self._form(options)
        else:
            self._import(options)

    def _form(self, options: dict[str, Any]) -> None:
        data = xlsform_bytes()
        if options["check"]:
            problems = pyxform_problems(data)
            if problems:
                raise CommandError("\n".join(problems))
        Path(options["out"]).write_bytes(data)
        settings = form_sheets()["settings"][0]
        self.stdout.write(f"{options['out']}: form_id {settings['form_id']}, version {settings['version']}")

    def _import(self, options: dict[str, Any]) -> None:
        importer: Any
        if options["importer"]:
            importer = get_user_model().objects.filter(username=options["importer"], is_active=True).first()
            if importer is None:
                raise CommandError(f"Pengguna '{options['importer']}' tidak ditemukan.\n"
                                   f"User '{options['importer']}' not found.")
        else:
            importer = system_actor()
        path = Path(options["export"])
        if not path.exists():
            raise CommandError(f"Berkas tidak ditemukan: {path}\nFile not found: {path}")
        try:
            submissions, files = read_export(path)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id}\n{exc.message_en}") from None
        fmt = options["format"]
        bar = tqdm(total=len(submissions), desc="ODK import", unit="submission",
                   disable=fmt != "text" or options["verbosity"] == 0)
        results = submissions_import(importer=importer, submissions=submissions, files=files,
                                     dry_run=options["dry_run"], progress=lambda _r: bar.update(1))
        bar.close()
        if fmt == "json":
            self.stdout.write(json.dumps([result_dict(r) for r in results], ensure_ascii=False, indent=1))
        elif fmt == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(result_dict(r) for r in results)
            self.stdout.write(out.getvalue(), ending="")
        else:
            self.stdout.write(_table(results))
        if any(r.status == REFUSED for r in results):
            sys.exit(2)
