"""What an import leaves behind: `rejected.csv` (every problem, one line each), `summary.json`, and the
bilingual summary line the command prints (Indonesian first, English second).

`rejected.csv` columns: file, row, key, field, code, value, message_id, message_en. `row` is the row number
as in the file (CSV: the header is row 1; Parquet: the first record is row 1), empty for a problem of the
whole file. A NIK is never written in clear: its value is masked (`340101******0012`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dtsen.registry.bulk.codes import CODES

REJECTED_COLUMNS = ["file", "row", "key", "field", "code", "value", "message_id", "message_en"]

IMPORTED, REJECTED, UNUSABLE, DRY_RUN = "imported", "rejected", "unusable", "dry_run"
EXIT_CODES = {IMPORTED: 0, DRY_RUN: 0, REJECTED: 1, UNUSABLE: 2}


@dataclass
class ImportSummary:
    status: str
    actor: str
    channel: str
    reasons: dict[str, str]
    started_at: str
    finished_at: str = ""
    dry_run: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: int = 0
    rejected_rows: int = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    report_dir: str = ""
    door_check: dict[str, Any] = field(default_factory=dict)  # `--door-check`: see bulk/door.py
    message_id: str = ""
    message_en: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def message(self) -> str:
        return f"{self.message_id} / {self.message_en}"


def rejected_write(path: Path, rows: Iterable[tuple[Any, ...]]) -> int:
    """Write rejected.csv from (file, row, key, field, code, value) tuples; returns the number of lines."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(REJECTED_COLUMNS)
        for file, row, key, fld, code, value in rows:
            message_id, message_en = CODES[code].render(fld) if code in CODES else (code, code)
            writer.writerow(
                [file, "" if row is None else row, key or "", fld, code, value or "", message_id, message_en]
            )
            count += 1
    return count


def summary_write(path: Path, summary: ImportSummary) -> None:
    path.write_text(
        json.dumps(asdict(summary), ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )


def _changes_text(changes: dict[str, Any], *, lang: str) -> str:
    names = {
        "families": ("keluarga", "families"),
        "persons": ("orang", "persons"),
        "conditions": ("kondisi", "conditions"),
        "exclusions": ("pengecualian", "exclusions"),
        "dwellings": ("bangunan", "dwellings"),
    }
    parts = []
    for key, (name_id, name_en) in names.items():
        got = changes.get(key)
        if not got:
            continue
        if lang == "id":
            parts.append(
                f"{name_id} {got['created']} baru, {got['updated']} diubah, {got['unchanged']} tetap"
            )
        else:
            parts.append(
                f"{name_en} {got['created']} new, {got['updated']} changed, {got['unchanged']} unchanged"
            )
    return "; ".join(parts)


def summary_messages(summary: ImportSummary) -> tuple[str, str]:
    """The one-line outcome in Indonesian and in English."""
    where = summary.report_dir
    errors, rows = summary.errors, summary.rejected_rows
    if summary.status == UNUSABLE:
        return (
            f"Berkas masukan tidak dapat dipakai ({errors} masalah); tidak ada yang disimpan. "
            f"Rincian: {where}",
            f"The input files cannot be used ({errors} problems); nothing was saved. Details: {where}",
        )
    if summary.status == REJECTED:
        return (
            f"Impor ditolak: {rows} baris bermasalah ({errors} kesalahan); tidak ada yang disimpan. "
            f"Rincian: {where}",
            f"Import rejected: {rows} rows with problems ({errors} errors); nothing was saved. "
            f"Details: {where}",
        )
    if summary.status == DRY_RUN:
        return (
            f"Uji coba tanpa menyimpan — {_changes_text(summary.changes, lang='id')}",
            f"Dry run, nothing saved — {_changes_text(summary.changes, lang='en')}",
        )
    versions = sum(summary.versions.values())
    return (
        f"Impor selesai — {_changes_text(summary.changes, lang='id')}; {versions} versi riwayat",
        f"Import done — {_changes_text(summary.changes, lang='en')}; {versions} history versions",
    )
