"""Reference data from other agencies applied to the register: deaths (Dukcapil) and exclusion categories
(civil servants ASN/TNI/Polri from BKN, pensioners, BUMN staff, ...), with their source, appealable and undoable.

A file (CSV or Parquet) has one row per person: `nik` (required), `name` and `birth_date` (sanity checks when
given), `death_date` (deaths), `category` and `observed_on` (exclusions). Each row is matched by the NIK's keyed
blind index; an unknown NIK, a NIK held by several persons, a name or birth date that does not match, an invalid
value or a person outside the importer's regions is reported and not applied. Applied rows go through the
registry's own services (`person_record_death`, `exclusion_flag_add`), so versions, events and audit records
are written exactly as for any other change, with a reason naming the batch, the row and the source.

The batch (`ReferenceImport`) and each row (`ReferenceRow`, linked to the flag or death event it produced) are
kept: a contested row is undone (`reference_row_undo`, by a Dinsos or Pusdatin user over the person's region),
or a whole batch (`reference_import_undo`, registry.bulk). The same file imported again is a no-op.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone

from dtsen.accounts.permissions import REGISTRY_BULK, REGISTRY_CHANGE
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.exchange.files import file_sha256
from dtsen.exchange.models import ImportStatus, ReferenceImport, ReferenceKind, ReferenceRow, RowOutcome
from dtsen.registry import choices as c
from dtsen.registry import services as reg
from dtsen.registry.crypto import nik_hash, nik_mask
from dtsen.registry.history import stamp
from dtsen.registry.models import Event, ExclusionFlag, Person
from dtsen.registry.nik import nik_validate

NAME_SIMILARITY = 0.85
LOOKUP_CHUNK = 2000
CIVIL_SERVANT_CATEGORIES = {c.ExclusionCategory.ASN, c.ExclusionCategory.TNI, c.ExclusionCategory.POLRI}
DEFAULT_AGENCY = {
    ReferenceKind.DEATHS: c.DeathSource.DUKCAPIL,
    ReferenceKind.CIVIL_SERVANTS: c.ExclusionSource.BKN,
    ReferenceKind.EXCLUSIONS: c.ExclusionSource.AGENCY_FILE,
}
Progress = Callable[[int], None]


def _invalid(field_name: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field_name)


@dataclass
class RowReport:
    row_no: int
    nik_masked: str
    outcome: str
    detail: str = ""
    person_id: int | None = None


@dataclass
class ImportReport:
    batch: ReferenceImport | None
    dry_run: bool
    already_imported: bool
    counts: dict[str, int]
    rows: list[RowReport] = field(default_factory=list)

    @property
    def problems(self) -> list[RowReport]:
        return [r for r in self.rows if r.outcome not in (RowOutcome.APPLIED, RowOutcome.ALREADY)]


def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").upper()
    return " ".join(re.sub(r"[^A-Z ]+", " ", text).split())


def names_match(a: str, b: str) -> bool:
    x, y = normalise_name(a), normalise_name(b)
    return x == y or difflib.SequenceMatcher(None, x, y).ratio() >= NAME_SIMILARITY


def _read(path: Path) -> list[dict[str, str]]:
    if path.suffix.lower() == ".parquet":
        table = pq.read_table(path)
    else:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding="utf-8-sig"),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False, auto_dict_encode=False,
                                                 column_types={}, timestamp_parsers=[]),
        )  # fmt: skip
        table = table.cast(pa.schema([(n, pa.string()) for n in table.column_names]))
    names = [n.strip().lower() for n in table.column_names]
    if "nik" not in names:
        raise _invalid("file", "Berkas tidak memiliki kolom 'nik'.", "The file has no 'nik' column.")
    rows = []
    for record in table.to_pylist():
        rows.append({k.strip().lower(): ("" if v is None else str(v).strip()) for k, v in record.items()})
    return rows


def _date(text: str) -> dt.date | None:
    text = text.strip()[:10]
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class _Row:
    row_no: int
    nik: str
    name: str
    birth_date: dt.date | None
    when: dt.date | None  # death_date or observed_on
    category: str


def _parse(kind: str, raw: dict[str, str], row_no: int, default_category: str) -> _Row | RowReport:
    nik = re.sub(r"\s+", "", raw.get("nik", ""))
    masked = nik_mask(nik) if len(nik) == 16 else "*" * min(len(nik), 16)
    error = nik_validate(nik)
    if error is not None:
        return RowReport(row_no, masked, RowOutcome.INVALID, f"NIK: {error.code}")
    try:
        birth = _date(raw.get("birth_date", ""))
        when = _date(raw.get("death_date" if kind == ReferenceKind.DEATHS else "observed_on", ""))
    except ValueError as exc:
        return RowReport(row_no, masked, RowOutcome.INVALID, f"date: {exc}")
    if kind == ReferenceKind.DEATHS and when is None:
        return RowReport(row_no, masked, RowOutcome.INVALID, "death_date is required")
    category = (raw.get("category", "") or default_category).strip().lower()
    if kind != ReferenceKind.DEATHS:
        allowed: set[str] = (
            set(CIVIL_SERVANT_CATEGORIES) if kind == ReferenceKind.CIVIL_SERVANTS else set(c.ExclusionCategory.values)
        )
        if category not in allowed:
            return RowReport(row_no, masked, RowOutcome.INVALID, f"category: {category or '-'}")
    return _Row(row_no, nik, raw.get("name", ""), birth, when, category)


def _lookup(rows: list[_Row]) -> dict[str, list[Person]]:
    """Persons by NIK blind index (every region: a person outside the importer's scope is reported as such)."""
    hashes = {nik_hash(r.nik) for r in rows}
    found: dict[str, list[Person]] = {}
    ordered = sorted(hashes)
    for i in range(0, len(ordered), LOOKUP_CHUNK):
        for person in Person.objects.filter(nik_hash__in=ordered[i : i + LOOKUP_CHUNK]).select_related("family"):
            found.setdefault(person.nik_hash, []).append(person)
    return found


def _check(row: _Row, people: list[Person], change_scope: Any) -> RowReport | Person:
    masked = nik_mask(row.nik)
    if not people:
        return RowReport(row.row_no, masked, RowOutcome.UNKNOWN_NIK, "")
    active = [p for p in people if p.status == c.RecordStatus.ACTIVE] or people
    if len(active) > 1:
        return RowReport(row.row_no, masked, RowOutcome.AMBIGUOUS, f"{len(active)} persons")
    person = active[0]
    if row.name and not names_match(row.name, person.name):
        return RowReport(row.row_no, masked, RowOutcome.NAME_MISMATCH, "name differs", person.pk)
    if row.birth_date and row.birth_date != person.birth_date:
        return RowReport(row.row_no, masked, RowOutcome.BIRTH_MISMATCH, "birth date differs", person.pk)
    if not change_scope.covers(person.family.village_code):
        return RowReport(row.row_no, masked, RowOutcome.OUT_OF_SCOPE, "", person.pk)
    return person


def _already(kind: str, row: _Row, person: Person, agency: str, today: dt.date) -> str:
    """Why applying the row would change nothing ('' when it would)."""
    if kind == ReferenceKind.DEATHS:
        return "already recorded deceased" if person.life_status == c.LifeStatus.DECEASED else ""
    if ExclusionFlag.objects.filter(person=person, category=row.category, active=True).exists():
        return "an active flag of this category exists"
    if ExclusionFlag.objects.filter(person=person, category=row.category, source=agency,
                                    observed_on=row.when or today).exists():  # fmt: skip
        return "the same flag was ended before (appeal): not set again"
    return ""


def _reason(batch: ReferenceImport, row_no: int) -> str:
    return f"Impor rujukan / reference import #{batch.pk} baris/row {row_no}: {batch.source}"[:200]


def _apply(
    kind: str, batch: ReferenceImport, row: _Row, person: Person, *, actor: Actor, today: dt.date
) -> ReferenceRow:
    reason = _reason(batch, row.row_no)
    link: dict[str, Any] = {}
    if kind == ReferenceKind.DEATHS:
        assert row.when is not None
        reg.person_record_death(actor=actor, person=person, death_date=row.when, source=batch.agency,
                                channel=c.Channel.ADMIN_MATCH, reason=reason)  # fmt: skip
        event = Event.objects.filter(person=person, kind=c.EventKind.DEATH).order_by("-pk").first()
        if event is not None:
            # the event was created just now, in this transaction: name the agency file and the batch on it
            Event.objects.filter(pk=event.pk).update(
                source=batch.source[:60],
                data={**event.data, "reference_import": batch.pk, "row": row.row_no, "file_sha256": batch.file_sha256},
            )
        link["event"] = event
    else:
        flag = reg.exclusion_flag_add(
            actor=actor, person=person, category=row.category, source=batch.agency, observed_on=row.when or today,
            channel=c.Channel.ADMIN_MATCH, reason=reason, source_ref=f"impor#{batch.pk}:{row.row_no}",
        )  # fmt: skip
        link["flag"] = flag
    return ReferenceRow(batch=batch, row_no=row.row_no, nik_masked=nik_mask(row.nik), nik_hash=person.nik_hash,
                        person=person, outcome=RowOutcome.APPLIED, **link)  # fmt: skip


def _check_kind(kind: str, agency: str | None) -> str:
    if kind not in ReferenceKind.values:
        raise _invalid("kind", "Jenis data rujukan tidak dikenal.", "Unknown reference kind.")
    agency = agency or DEFAULT_AGENCY[ReferenceKind(kind)]
    allowed = c.DeathSource.values if kind == ReferenceKind.DEATHS else c.ExclusionSource.values
    if agency not in allowed:
        raise _invalid("agency", "Instansi sumber tidak dikenal.", "Unknown source agency.")
    return agency


def reference_batch_lookup(
    *, kind: str, source: str, path: str | Path
) -> tuple[str, Path, str, ReferenceImport | None]:
    """The cleaned source, the file, its sha256 and the batch already made from that file (importing the same
    file again is a no-op)."""
    source = source.strip()
    if not source:
        raise _invalid("source", "Sumber wajib diisi (mis. Dukcapil 2026-11).", "The source is required.")
    file = Path(path)
    if not file.is_file():
        raise NotFound("Berkas tidak ditemukan.", "File not found.", file=str(file))
    sha = file_sha256(file)
    return source, file, sha, ReferenceImport.objects.filter(kind=kind, file_sha256=sha).first()


def reference_import(
    *,
    actor: Actor,
    path: str | Path,
    kind: str,
    source: str,
    agency: str | None = None,
    category: str = c.ExclusionCategory.ASN,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Apply an agency's reference file (see the module docstring). One transaction: all applied or none."""
    require_scope(actor, REGISTRY_BULK)
    change_scope = require_scope(actor, REGISTRY_CHANGE)
    agency = _check_kind(kind, agency)
    source, file, sha, existing = reference_batch_lookup(kind=kind, source=source, path=path)
    if existing is not None:
        return ImportReport(batch=existing, dry_run=dry_run, already_imported=True, counts=dict(existing.counts))
    today = timezone.localdate()
    parsed: list[_Row] = []
    reports: list[RowReport] = []
    for row_no, raw in enumerate(_read(file), start=1):
        item = _parse(kind, raw, row_no, category)
        if isinstance(item, RowReport):
            reports.append(item)
        else:
            parsed.append(item)
    people = _lookup(parsed)
    plan: list[tuple[_Row, Person]] = []
    for row in parsed:
        checked = _check(row, people.get(nik_hash(row.nik), []), change_scope)
        if isinstance(checked, RowReport):
            reports.append(checked)
            continue
        why = _already(kind, row, checked, agency, today)
        if why:
            reports.append(RowReport(row.row_no, nik_mask(row.nik), RowOutcome.ALREADY, why, checked.pk))
        else:
            plan.append((row, checked))
    if dry_run:
        reports += [RowReport(r.row_no, nik_mask(r.nik), RowOutcome.APPLIED, "dry run", p.pk) for r, p in plan]
        if progress:
            progress(len(reports))
        return _report(None, reports, dry_run=True)
    with transaction.atomic():
        batch = ReferenceImport.objects.create(kind=kind, source=source[:120], agency=agency, file_name=file.name[:255],
                                               file_sha256=sha, created_by=author_of(actor))  # fmt: skip
        rows: list[ReferenceRow] = []
        for report in reports:
            rows.append(ReferenceRow(batch=batch, row_no=report.row_no, nik_masked=report.nik_masked,
                                     person_id=report.person_id, outcome=report.outcome, detail=report.detail[:300]))
            if progress:
                progress(1)
        for row, person in plan:
            try:
                applied = _apply(kind, batch, row, person, actor=actor, today=today)
            except ApplicationError as exc:  # e.g. a death date before the birth date: reported, not applied
                applied = ReferenceRow(batch=batch, row_no=row.row_no, nik_masked=nik_mask(row.nik),
                                       person=person, outcome=RowOutcome.INVALID, detail=exc.message_en[:300])
            rows.append(applied)
            reports.append(RowReport(row.row_no, applied.nik_masked, applied.outcome, applied.detail, person.pk))
            if progress:
                progress(1)
        ReferenceRow.objects.bulk_create(sorted(rows, key=lambda r: r.row_no), batch_size=2000)
        result = _report(batch, reports, dry_run=False)
        batch.counts = result.counts
        batch.save(update_fields=["counts"])
        audit_record(actor=actor, action="exchange.reference_import", object_type="referenceimport",
                     object_id=batch.pk, after={"kind": kind, "source": batch.source, "agency": agency,
                                                "file": batch.file_name, "file_sha256": sha, "counts": batch.counts},
                     reason=batch.source, channel=c.Channel.ADMIN_MATCH)  # fmt: skip
    return result


def _report(batch: ReferenceImport | None, reports: list[RowReport], *, dry_run: bool) -> ImportReport:
    reports.sort(key=lambda r: r.row_no)
    counts = {"rows": len(reports)}
    for outcome in RowOutcome.values:
        counts[outcome] = sum(1 for r in reports if r.outcome == outcome)
    return ImportReport(batch=batch, dry_run=dry_run, already_imported=False, counts=counts, rows=reports)


def _death_revoke(*, actor: Actor, person: Person, reason: str, data: dict[str, Any]) -> Event | None:
    """Undo a death recorded from a reference file, the way the registry writes changes: a new version stamped
    with actor/channel/reason, an audit record with before/after, and an event. (No registry service exists for
    this yet: see docs/exchange.md.) A pengurus replaced at the death is not changed back."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.life_status != c.LifeStatus.DECEASED:
        return None
    before = reg.snapshot(person)
    person.life_status = c.LifeStatus.ALIVE
    person.death_date = None
    person.death_source = ""
    stamp(person, actor=actor, channel=c.Channel.ADMIN, reason=reason)
    person.save(update_fields=["life_status", "death_date", "death_source", "updated_at"])
    audit_record(actor=actor, action="person_death_revoke", object_type="person", object_id=person.pk,
                 before=before, after=reg.snapshot(person), reason=reason, channel=c.Channel.ADMIN,
                 person_ids=[person.pk])  # fmt: skip
    return Event.objects.create(kind=c.EventKind.RESTORED, family=person.family, person=person,
                                event_date=timezone.localdate(), channel=c.Channel.ADMIN, actor=author_of(actor),
                                reason=reason, data={"undo": c.EventKind.DEATH, **data})  # fmt: skip


def _undo_row(row: ReferenceRow, *, actor: Actor, reason: str) -> None:
    text = f"Pembatalan impor rujukan / reference import undone #{row.batch_id} baris/row {row.row_no}: {reason}"[:200]
    if row.flag_id is not None:
        assert row.flag is not None
        reg.exclusion_flag_end(actor=actor, flag=row.flag, ended_on=timezone.localdate(), channel=c.Channel.ADMIN,
                               reason=text)  # fmt: skip
    elif row.person_id is not None:
        _death_revoke(actor=actor, person=row.person, reason=text,  # type: ignore[arg-type]
                      data={"reference_import": row.batch_id, "row": row.row_no})
    row.undone_at = timezone.now()
    row.undone_by = author_of(actor)
    row.undo_reason = reason[:200]
    row.save(update_fields=["undone_at", "undone_by", "undo_reason"])
    audit_record(actor=actor, action="exchange.reference_row_undo", object_type="referencerow", object_id=row.pk,
                 after={"batch": row.batch_id, "row": row.row_no, "flag": row.flag_id, "event": row.event_id},
                 reason=reason, channel=c.Channel.ADMIN, person_ids=[row.person_id] if row.person_id else None)


def _check_undo_reason(reason: str) -> None:
    if len(reason.strip()) < 5:
        raise _invalid("reason", "Alasan pembatalan wajib diisi.", "A reason for the undo is required.")


@transaction.atomic
def reference_row_undo(*, actor: Actor, row_id: int, reason: str) -> ReferenceRow:
    """Undo one applied row (a contested flag or death): a Dinsos or Pusdatin user over the person's region."""
    _check_undo_reason(reason)
    scope = require_scope(actor, REGISTRY_CHANGE)
    row = ReferenceRow.objects.select_for_update(of=("self",)).select_related("person__family", "flag", "batch").filter(
        pk=row_id).first()  # fmt: skip
    if row is None or row.person is None or not scope.covers(row.person.family.village_code):
        raise NotFound("Baris impor tidak ditemukan.", "Import row not found.")
    if row.outcome != RowOutcome.APPLIED:
        raise Conflict("Baris ini tidak diterapkan.", "This row was not applied.", code="row_not_applied")
    if row.undone_at is not None:
        return row
    _undo_row(row, actor=actor, reason=reason)
    return row


@transaction.atomic
def reference_import_undo(*, actor: Actor, batch_id: int, reason: str) -> ReferenceImport:
    """Undo every applied row of a batch (registry.bulk and registry.change over every person concerned)."""
    _check_undo_reason(reason)
    require_scope(actor, REGISTRY_BULK)
    scope = require_scope(actor, REGISTRY_CHANGE)
    batch = ReferenceImport.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("Impor rujukan tidak ditemukan.", "Reference import not found.")
    if batch.status == ImportStatus.UNDONE:
        return batch
    rows = list(batch.rows.select_related("person__family", "flag").filter(outcome=RowOutcome.APPLIED,
                                                                           undone_at__isnull=True))  # fmt: skip
    if any(r.person is None or not scope.covers(r.person.family.village_code) for r in rows):
        raise PermissionDenied("Sebagian baris di luar wilayah Anda.", "Some rows are outside your regions.")
    for row in rows:
        _undo_row(row, actor=actor, reason=reason)
    batch.status = ImportStatus.UNDONE
    batch.undone_at = timezone.now()
    batch.undone_by = author_of(actor)
    batch.undo_reason = reason[:200]
    batch.save(update_fields=["status", "undone_at", "undone_by", "undo_reason"])
    audit_record(actor=actor, action="exchange.reference_import_undo", object_type="referenceimport",
                 object_id=batch.pk, after={"rows_undone": len(rows)}, reason=reason, channel=c.Channel.ADMIN)
    return batch
