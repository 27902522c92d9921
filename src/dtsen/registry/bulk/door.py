"""`registry_import --door-check`: the check at the door (dtsen.linkage.door) of the persons an import would add.

Before the import is validated and written, every staged person row whose `person_code` is not yet in the register
is compared with the register (candidates by the NIK's blind index and the birth date, scored with the trained
model), with the scope and the scorer fetched once for all rows. The likely duplicates go to a CSV report, one line
per (row, registered person); nothing is refused: a bulk load is reviewed afterwards by the batch run.

The clear NIK is decrypted in process memory for the lookup only; the report holds masked NIKs and names.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from dtsen.accounts.selectors import Actor
from dtsen.core.errors import Conflict
from dtsen.core.masking import mask_name
from dtsen.linkage import door
from dtsen.registry.bulk.read import Source, Staging
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Family, Person

REPORT_NAME = "door-check.csv"  # must not start with a table name: an input directory may hold it
REPORT_COLUMNS = ["file", "row", "person_code", "nik_masked", "name_masked", "matched_person_code",
                  "matched_nik_masked", "matched_name_masked", "evidence", "in_scope", "reasons_id", "reasons_en"]
_CHUNK = 2000


@dataclass
class DoorSummary:
    """What `--door-check` did: rows read, new persons checked, rows with at least one likely duplicate."""

    ran: bool
    report: str = ""
    rows: int = 0
    new_persons: int = 0
    checked: int = 0
    incomplete: int = 0
    flagged_rows: int = 0
    hits: int = 0
    note_id: str = ""
    note_en: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def messages(self) -> tuple[str, str]:
        if not self.ran:
            return self.note_id, self.note_en
        return (
            f"Pemeriksaan ganda: {self.checked} orang baru diperiksa, {self.flagged_rows} baris kemungkinan "
            f"ganda ({self.hits} kecocokan), {self.incomplete} tidak dapat diperiksa. Laporan: {self.report}",
            f"Duplicate check: {self.checked} new persons checked, {self.flagged_rows} rows likely duplicates "
            f"({self.hits} matches), {self.incomplete} could not be checked. Report: {self.report}",
        )


def default_report(sources: dict[str, Source]) -> Path:
    """Next to the input: the directory of the persons file."""
    return sources["persons"].path.parent / REPORT_NAME


def _staged(staging: Staging) -> Iterator[tuple[Any, ...]]:
    cursor = staging.con.execute(
        'SELECT p."_row", p.person_code, p.nik, p.nik_enc, p.name, p.sex, p.birth_date, p.birth_place, '
        "p.family_code, f.village_code FROM src_persons p "
        "LEFT JOIN (SELECT family_code, any_value(village_code) AS village_code FROM src_families "
        "GROUP BY family_code) f USING (family_code) ORDER BY p._row"
    )
    while chunk := cursor.fetchmany(_CHUNK):
        yield from chunk


def _registered(codes: list[str]) -> set[str]:
    return set(Person.objects.filter(person_code__in=codes).values_list("person_code", flat=True))


def _villages(family_codes: set[str]) -> dict[str, str]:
    return dict(Family.objects.filter(family_code__in=family_codes).values_list("family_code", "village_code"))


def bulk_door_check(
    staging: Staging, *, actor: Actor, report: Path, file_name: str, progress: bool = False
) -> DoorSummary:
    """Check the new persons of the staged import against the register and write `report` (CSV). Without a
    trained model the check is not run (`ran` False, the note says why) and no report is written."""
    try:
        model = door.current_model()
    except Conflict:
        return DoorSummary(ran=False, note_id=door.MISSING_ID, note_en=door.MISSING_EN)
    scope = door.door_scope(actor)
    rows = list(_staged(staging))
    registered: set[str] = set()
    for start in range(0, len(rows), _CHUNK):
        registered |= _registered([r[1] for r in rows[start:start + _CHUNK] if r[1]])
    new = [r for r in rows if r[1] not in registered]
    missing_village = {r[8] for r in new if not r[9] and r[8]}
    villages = _villages(missing_village) if missing_village else {}
    summary = DoorSummary(ran=True, report=str(report), rows=len(rows), new_persons=len(new))
    report.parent.mkdir(parents=True, exist_ok=True)
    with report.open("w", encoding="utf-8", newline="") as out, \
            tqdm(total=len(new), desc="cek ganda/door check", unit=" orang/persons", disable=not progress) as bar:
        writer = csv.writer(out)
        writer.writerow(REPORT_COLUMNS)
        for row_no, code, nik_masked, nik_enc, name, sex, born, place, family_code, village in new:
            bar.update(1)
            candidate = {"nik": nik_decrypt(nik_enc) if nik_enc else "", "name": name, "sex": sex,
                         "birth_date": _date(born), "birth_place": place or "",
                         "village_code": village or villages.get(family_code, "")}
            result = door.check_or_note(actor, candidate, scope=scope, model=model)
            if not result["checked"]:
                summary.incomplete += 1
                continue
            summary.checked += 1
            hits = result["likely_duplicates"]
            summary.flagged_rows += bool(hits)
            summary.hits += len(hits)
            for hit in hits:
                writer.writerow([file_name, row_no, code, nik_masked, mask_name(name or ""), hit["person_code"],
                                 hit["nik_masked"], hit["name_masked"], hit["evidence"], hit["in_scope"],
                                 "; ".join(hit["reasons"]), "; ".join(hit["reasons_en"])])
    return summary


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        return None

