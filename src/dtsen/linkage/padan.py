"""Reference matching (padan): the persons of the register matched against a reference population file, the
shape of a Dukcapil extract: `nik`, `name`, `birth_date`, `sex` (L/P), `kk_number`, `life_status`
(hidup/meninggal) and `death_date` (CSV or Parquet).

For every active person in the actor's regions (registry.bulk and registry.change):
- padan: the NIK is in the reference and the name (canonical form of `dtsen.linkage.prepare`: equal, same
  phonetic skeleton, Jaro-Winkler >= 0.9 without a leading common given name, or a compatible abbreviation),
  the birth date and the sex agree with the reference row; a different KK number is only a note;
- tidak_padan, with the reasons: NIK not in the reference; NIK found but the name differs; the birth date
  differs; the sex differs (several at once);
- a reference death of a padan person still alive in the register becomes a death through
  `registry.services.person_record_death` (source Dukcapil, channel admin_match, the death date of the file),
  its event naming the file and the batch.

The run is one batch of `dtsen.exchange` (`ReferenceImport`, kind "padan", agency dukcapil) with one
`ReferenceRow` per person checked (outcome padan / tidak_padan, or applied when a death was recorded; detail:
the reasons), so its report, the undo of a death (`reference_row_undo`) and of the whole batch
(`reference_import_undo`) are the exchange's own. The undo reverts the deaths; the padan status stays (it is an
observation of the file; the next file sets it again).

`padan_status` is written registry-style, only when it changes: a new version of the person stamped with actor,
channel and reason (the batch), written in bulk, and one audit record per 5,000 persons naming them
(`_statuses_save`; `person_set_padan_status` is the one-person service). All-or-nothing per batch: one
transaction. The same file again is a no-op (the batch of that file is returned); a new file re-evaluates every
person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.db import transaction
from django.utils import timezone
from rapidfuzz.distance import JaroWinkler
from simple_history.utils import bulk_update_with_history

from dtsen.accounts.permissions import REGISTRY_BULK, REGISTRY_CHANGE
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import ApplicationError, ValidationFailed
from dtsen.exchange import reference as xref
from dtsen.exchange.models import ReferenceImport, ReferenceRow, RowOutcome
from dtsen.linkage.prepare import name_core, name_normalise, name_phonetic
from dtsen.registry import choices as c
from dtsen.registry import services as reg
from dtsen.registry.crypto import nik_hash
from dtsen.registry.models import Event, Person

KIND = "padan"  # ReferenceImport.kind of a padan batch (see docs/linkage-door.md: to add to ReferenceKind)
PADAN = "padan"
TIDAK_PADAN = "tidak_padan"
BELUM = "belum_dipadankan"
STATUSES = (PADAN, TIDAK_PADAN, BELUM)
NAME_JW = 0.9
REQUIRED = ("nik", "name", "birth_date", "sex")
Progress = Callable[[int], None]

# Reasons (codes stored in the report; the words are in docs/linkage-door.md and the page that shows them).
NIK_NOT_IN_REFERENCE = "nik_not_in_reference"
NAME_DIFFERS = "name_differs"
BIRTH_DIFFERS = "birth_date_differs"
SEX_DIFFERS = "sex_differs"
KK_DIFFERS = "kk_differs"  # a note: padan all the same
DEATH_RECORDED = "death_recorded"
DEATH_ALREADY = "death_already_recorded"
DEATH_INVALID = "death_not_recorded"


@dataclass
class PadanReport:
    batch: ReferenceImport | None
    dry_run: bool
    already_imported: bool
    counts: dict[str, int]
    persons: list[dict[str, Any]] = field(default_factory=list)  # person_id, status, reasons (dry run and run)


@dataclass
class _Ref:
    row_no: int
    name: str
    birth_date: dt.date | None
    sex: str
    kk_number: str
    deceased: bool
    death_date: dt.date | None


def _invalid(field_name: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field_name)


def _sex(text: str) -> str:
    t = text.strip().upper()
    return {"L": "L", "LAKI-LAKI": "L", "LAKI": "L", "M": "L", "1": "L",
            "P": "P", "PEREMPUAN": "P", "F": "P", "2": "P"}.get(t, t)  # fmt: skip


def _deceased(text: str) -> bool:
    return text.strip().lower() in ("meninggal", "mati", "deceased", "dead", "m")


def read_reference(path: Path) -> tuple[dict[str, _Ref], list[str]]:
    """The reference rows by NIK blind index, and the problems of rows that cannot be used."""
    rows = xref._read(path)  # the exchange's reader: CSV/Parquet, lower-cased column names, strings
    if rows:
        missing = [col for col in REQUIRED if col not in rows[0]]
        if missing:
            raise _invalid("file", f"Kolom wajib tidak ada: {', '.join(missing)}.",
                           f"Required columns missing: {', '.join(missing)}.")  # fmt: skip
    out: dict[str, _Ref] = {}
    problems: list[str] = []
    for row_no, raw in enumerate(rows, start=1):
        nik = "".join(ch for ch in raw.get("nik", "") if ch.isdigit())
        if len(nik) != 16:
            problems.append(f"row {row_no}: invalid NIK")
            continue
        try:
            born = xref._date(raw.get("birth_date", ""))
            died = xref._date(raw.get("death_date", ""))
        except ValueError:
            problems.append(f"row {row_no}: invalid date")
            continue
        key = nik_hash(nik)
        if key in out:
            problems.append(f"row {row_no}: NIK repeated in the file (row {out[key].row_no} used)")
            continue
        out[key] = _Ref(row_no, raw.get("name", ""), born, _sex(raw.get("sex", "")), raw.get("kk_number", "").strip(),
                        _deceased(raw.get("life_status", "")), died)  # fmt: skip
    return out, problems


def _name_forms(names: list[str]) -> list[tuple[str, str, str]]:
    """(canonical, core, phonetic) of each name, computed as the linkage input does."""
    arr = pa.array(names, pa.string())
    norm = name_normalise(arr)
    core = name_core(norm)
    phon = name_phonetic(norm)
    return list(zip(norm.to_pylist(), core.to_pylist(), phon.to_pylist(), strict=True))


def names_agree(a: tuple[str, str, str], b: tuple[str, str, str]) -> bool:
    """Canonical names equal, same phonetic skeleton, Jaro-Winkler >= 0.9 on the core, or compatible
    abbreviations (same first word and last initial, or same last word and first initial)."""
    (norm_a, core_a, phon_a), (norm_b, core_b, phon_b) = a, b
    if not norm_a or not norm_b:
        return False
    if norm_a == norm_b or phon_a == phon_b or JaroWinkler.similarity(core_a, core_b) >= NAME_JW:
        return True
    wa, wb = core_a.split(), core_b.split()
    if len(wa) > 1 and len(wb) > 1:
        if wa[0] == wb[0] and wa[-1][0] == wb[-1][0]:
            return True
        if wa[-1] == wb[-1] and wa[0][0] == wb[0][0]:
            return True
    return False


def person_set_padan_status(*, actor: Actor, person: Person, status: str, channel: str, reason: str) -> Person:
    """Set a person's padan status as the registry writes changes: a new version with actor, channel and reason,
    audited with before and after. (The registry should own this service: see docs/linkage-door.md.)"""
    if status not in STATUSES:
        raise _invalid("padan_status", "Status padan tidak dikenal.", "Unknown padan status.")
    if person.padan_status == status:
        return person
    before = reg.snapshot(person)
    person.padan_status = status
    reg._save_version("person_set_padan_status", person, actor=actor, channel=channel, reason=reason,
                      before=before, update_fields=["padan_status", "updated_at"], persons=[person.pk])  # fmt: skip
    return person


STATUS_CHUNK = 5000


def _statuses_save(actor: Actor, batch: ReferenceImport, persons: list[Person]) -> None:
    """The padan statuses of a batch, written in bulk: one new version of each person whose status changed
    (stamped with the actor, channel admin_match and the batch as reason) and one audit record per
    `STATUS_CHUNK` persons naming them (a version and an audit record per person cost about 8 ms each: two hours
    for a million persons). The single-person path is `person_set_padan_status`."""
    reason = f"Pemadanan / padan #{batch.pk}: {batch.source}"[:200]
    now = timezone.now()
    for person in persons:
        person.updated_at = now
    for i in range(0, len(persons), STATUS_CHUNK):
        chunk = persons[i : i + STATUS_CHUNK]
        bulk_update_with_history(chunk, Person, ["padan_status", "updated_at"], batch_size=2000,
                                 default_user=author_of(actor), default_change_reason=reason, default_date=now,
                                 custom_historical_attrs={"history_channel": c.Channel.ADMIN_MATCH})  # fmt: skip
        counts: dict[str, int] = {}
        for person in chunk:
            counts[person.padan_status] = counts.get(person.padan_status, 0) + 1
        audit_record(actor=actor, action="person_set_padan_status", object_type="referenceimport",
                     object_id=batch.pk, after={"padan_status": counts, "persons": len(chunk)}, reason=reason,
                     channel=c.Channel.ADMIN_MATCH, person_ids=[p.pk for p in chunk])  # fmt: skip


def _evaluate(person: Person, ref: _Ref | None, forms: dict[int, tuple[str, str, str]],
              ref_form: tuple[str, str, str] | None) -> tuple[str, list[str]]:  # fmt: skip
    if ref is None:
        return TIDAK_PADAN, [NIK_NOT_IN_REFERENCE]
    reasons = []
    if ref_form is None or not names_agree(forms[person.pk], ref_form):
        reasons.append(NAME_DIFFERS)
    if ref.birth_date != person.birth_date:
        reasons.append(BIRTH_DIFFERS)
    if ref.sex != person.sex:
        reasons.append(SEX_DIFFERS)
    status = TIDAK_PADAN if reasons else PADAN
    if ref.kk_number and ref.kk_number != person.family.kk_number:
        reasons.append(KK_DIFFERS)
    return status, reasons


def padan_run(
    *,
    actor: Actor,
    path: str | Path,
    source: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PadanReport:
    """Match the persons in the actor's regions against a reference population file (see the module)."""
    require_scope(actor, REGISTRY_BULK)
    scope = require_scope(actor, REGISTRY_CHANGE)
    source, file, sha, existing = xref.reference_batch_lookup(kind=KIND, source=source, path=path)
    if existing is not None:
        return PadanReport(batch=existing, dry_run=dry_run, already_imported=True, counts=dict(existing.counts))
    refs, problems = read_reference(file)
    with transaction.atomic():
        persons = list(
            Person.objects.select_for_update(of=("self",)).select_related("family")
            .filter(scope.q("family__village_code"), status=c.RecordStatus.ACTIVE).order_by("pk")
        )  # fmt: skip
        forms = dict(zip([p.pk for p in persons], _name_forms([p.name for p in persons]), strict=True))
        ref_list = [r for r in (refs.get(p.nik_hash) for p in persons) if r is not None]
        ref_forms = dict(zip([r.row_no for r in ref_list], _name_forms([r.name for r in ref_list]), strict=True))
        plans = []
        for person in persons:
            ref = refs.get(person.nik_hash)
            status, reasons = _evaluate(person, ref, forms, ref_forms.get(ref.row_no) if ref else None)
            plans.append((person, ref, status, reasons))
        batch = None
        if not dry_run:
            batch = ReferenceImport.objects.create(kind=KIND, source=source[:120], agency=c.DeathSource.DUKCAPIL,
                                                   file_name=file.name[:255], file_sha256=sha,
                                                   created_by=author_of(actor))  # fmt: skip
        report_rows: list[dict[str, Any]] = []
        rows: list[ReferenceRow] = []
        changed: list[Person] = []
        counts = {PADAN: 0, TIDAK_PADAN: 0, DEATH_RECORDED: 0, DEATH_ALREADY: 0, DEATH_INVALID: 0,
                  "persons": len(persons), "reference_rows": len(refs), "reference_problems": len(problems)}
        for row_no, (person, ref, status, reasons) in enumerate(plans, start=1):
            counts[status] += 1
            outcome, link = status, {}
            if ref is not None and ref.deceased and status == PADAN:
                if person.life_status == c.LifeStatus.DECEASED:
                    reasons.append(DEATH_ALREADY)
                elif ref.death_date is None:
                    reasons.append(DEATH_INVALID)
                elif batch is None:
                    reasons.append(DEATH_RECORDED)
                else:
                    try:
                        with transaction.atomic():
                            event = _record_death(actor, batch, person, ref)
                        reasons.append(DEATH_RECORDED)
                        outcome, link = RowOutcome.APPLIED, {"event": event}
                    except ApplicationError:  # e.g. a death date before the birth date: reported, not applied
                        reasons.append(DEATH_INVALID)
                counts[reasons[-1]] += 1
            if batch is not None:
                if person.padan_status != status:
                    person.padan_status = status
                    changed.append(person)
                rows.append(ReferenceRow(batch=batch, row_no=row_no, nik_masked=_masked(person),
                                         nik_hash=person.nik_hash, person=person, outcome=outcome,
                                         detail=_detail(ref, reasons), **link))  # fmt: skip
            report_rows.append({"person_id": person.pk, "status": status, "reasons": reasons})
            if progress:
                progress(1)
        if batch is not None:
            _statuses_save(actor, batch, changed)
            ReferenceRow.objects.bulk_create(rows, batch_size=2000)
            batch.counts = counts
            batch.save(update_fields=["counts"])
            audit_record(actor=actor, action="linkage.padan_run", object_type="referenceimport", object_id=batch.pk,
                         after={"kind": KIND, "source": batch.source, "file": batch.file_name, "file_sha256": sha,
                                "counts": counts, "reference_problems": problems[:50]},
                         reason=batch.source, channel=c.Channel.ADMIN_MATCH)  # fmt: skip
    return PadanReport(batch=batch, dry_run=dry_run, already_imported=False, counts=counts, persons=report_rows)


def _masked(person: Person) -> str:
    from dtsen.registry.crypto import nik_decrypt, nik_mask

    return nik_mask(nik_decrypt(person.nik_enc))


def _reason(batch: ReferenceImport, ref: _Ref | None) -> str:
    where = f" baris/row {ref.row_no}" if ref else ""
    return f"Pemadanan / padan #{batch.pk}{where}: {batch.source}"[:200]


def _detail(ref: _Ref | None, reasons: list[str]) -> str:
    where = f"reference row {ref.row_no}; " if ref else ""
    return (where + ", ".join(reasons))[:300]


def _record_death(actor: Actor, batch: ReferenceImport, person: Person, ref: _Ref) -> Event | None:
    assert ref.death_date is not None
    reg.person_record_death(actor=actor, person=person, death_date=ref.death_date, source=c.DeathSource.DUKCAPIL,
                            channel=c.Channel.ADMIN_MATCH, reason=_reason(batch, ref))  # fmt: skip
    person.refresh_from_db()
    event = Event.objects.filter(person=person, kind=c.EventKind.DEATH).order_by("-pk").first()
    if event is not None:  # created just now in this transaction: name the file and the batch on it
        Event.objects.filter(pk=event.pk).update(
            source=batch.source[:60],
            data={**event.data, "reference_import": batch.pk, "row": ref.row_no, "file_sha256": batch.file_sha256},
        )
    return event


def padan_summary(report: PadanReport) -> str:
    counts = report.counts
    if report.already_imported:
        return f"already matched: batch #{report.batch.pk if report.batch else '?'} {counts}"
    head = "dry run" if report.dry_run else f"batch #{report.batch.pk if report.batch else '?'}"
    return (f"{head}: {counts.get('persons', 0)} persons, padan {counts.get(PADAN, 0)}, tidak padan "
            f"{counts.get(TIDAK_PADAN, 0)}, deaths recorded {counts.get(DEATH_RECORDED, 0)} "
            f"(already {counts.get(DEATH_ALREADY, 0)}, not recorded {counts.get(DEATH_INVALID, 0)}), "
            f"reference rows {counts.get('reference_rows', 0)} ({counts.get('reference_problems', 0)} unusable)")
