"""Data-subject access (UU 27/2022: the right to access and to obtain a copy): everything the registry holds
about a verified citizen's family, as JSON and as PDF.

What is included:
- the citizen's own account (e-mail, phone, name as on the KTP, status, review outcome, the citizen's NIK);
- the family (codes, KK number, address), every KK number it has held, every version of the family row and
  of each person's rows while in this family (the NIK ciphertext and blind index are never exported);
- every member (removed or deceased ones too): all recorded fields; the NIK in clear only on the citizen's own
  row, masked on the others;
- every condition snapshot, the members' exclusion flags (active or ended) and the family's events;
- the documents kept about the citizen or the family (metadata, not the bytes: those are opened one by one);
- the audit records of every read and write that concerns the family, its members, their snapshots and flags,
  the citizen's account and documents. Staff are named by role and region, not by user name or IP address.

Each download is itself audited (`dsar.download`, with the format) before the data are collected, so it
appears in the export.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone
from fpdf import FPDF

from dtsen.accounts.citizen_selectors import OwnFamily, citizen_own_family
from dtsen.accounts.models import CitizenAccount
from dtsen.accounts.selectors import Actor
from dtsen.audit.models import AuditRecord
from dtsen.audit.services import audit_record
from dtsen.core.masking import mask_nik
from dtsen.documents.models import Document
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Condition, Event, ExclusionFlag, Family, FamilyKkNumber, Person

FORMAT_VERSION = "dtsen-dsar-1"
_NEVER = {"nik_enc", "nik_hash", "otp_hash"}


def _row(obj: Any, skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in _NEVER and f.attname not in skip
    }


def _account(account: CitizenAccount) -> dict[str, Any]:
    return {
        "nik": nik_decrypt(account.nik_enc),
        "kk_number": account.kk_number,
        "name_on_ktp": account.name_on_ktp,
        "email": account.email,
        "phone": account.phone,
        "status": account.status,
        "registered_at": account.created_at,
        "consent_at": account.consent_at,
        "match_result": account.match_result,
        "match_reason": account.match_reason,
        "reviewed_at": account.reviewed_at,
        "review_reason": account.review_reason,
    }


def _member(person: Person, own: Person) -> dict[str, Any]:
    nik = nik_decrypt(person.nik_enc)
    row = _row(person, skip={"family_id"})
    return {"is_you": person.pk == own.pk, "nik": nik if person.pk == own.pk else mask_nik(nik), **row}


def _versions(family: Family) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    skip = {"history_user_id", "history_id"}
    for rec in Family.history.filter(id=family.pk).order_by("history_date", "history_id"):
        out.append({"subject": "family", **_row(rec, skip=skip)})
    for rec in Person.history.filter(family_id=family.pk).order_by("history_date", "history_id"):
        out.append({"subject": "person", **_row(rec, skip=skip)})
    return out


def _audit_trail(account: CitizenAccount, family: Family, person_ids: list[int]) -> list[dict[str, Any]]:
    concerns = Q(object_type="family", object_id=str(family.pk)) | Q(
        object_type="citizenaccount", object_id=str(account.pk)
    )
    for pid in person_ids:
        concerns |= Q(persons__contains=f",{pid},") | Q(object_type="person", object_id=str(pid))
    condition_ids = [str(pk) for pk in Condition.objects.filter(family=family).values_list("pk", flat=True)]
    flags = ExclusionFlag.objects.filter(person_id__in=person_ids)
    flag_ids = [str(pk) for pk in flags.values_list("pk", flat=True)]
    document_ids = [str(pk) for pk in _documents_qs(account, family).values_list("pk", flat=True)]
    concerns |= Q(object_type="condition", object_id__in=condition_ids)
    concerns |= Q(object_type="exclusionflag", object_id__in=flag_ids)
    concerns |= Q(object_type="document", object_id__in=document_ids)
    # another member's own citizen account is that member's business, not the family's
    others = Q(object_type="citizenaccount") & ~Q(object_id=str(account.pk))
    rows = AuditRecord.objects.filter(concerns).exclude(others).order_by("seq")
    return [
        {
            "seq": r.seq, "at": r.at, "action": r.action, "object_type": r.object_type,
            "object_id": r.object_id,
            "by_you": r.actor_id == account.user_id, "actor_roles": r.roles, "actor_regions": r.region,
            "channel": r.channel, "reason": r.reason,
        }
        for r in rows
    ]


def _documents_qs(account: CitizenAccount, family: Family) -> Any:
    return Document.objects.filter(Q(owner_id=account.user_id) | Q(family=family)).order_by("created_at")


def _collect(own: OwnFamily) -> dict[str, Any]:
    account, person, family = own.account, own.person, own.family
    people = list(Person.objects.filter(family=family).order_by("pk"))  # current members, removed ones too
    ids = [p.pk for p in people]
    members = [_member(p, person) for p in people]
    return {
        "format": FORMAT_VERSION,
        "generated_at": timezone.now(),
        "legal_basis": "UU 27/2022 tentang Pelindungan Data Pribadi: hak akses dan salinan data pribadi",
        "account": _account(account),
        "family": _row(family),
        "kk_history": [_row(k, skip={"family_id"}) for k in FamilyKkNumber.objects.filter(family=family)
                       .order_by("valid_from", "pk")],
        "members": members,
        "conditions": [_row(cond, skip={"recorded_by_id", "family_id"}) for cond in
                       Condition.objects.filter(family=family).order_by("observed_on", "recorded_at", "pk")],
        "exclusion_flags": [
            {"person_code": f.person.person_code, **_row(f, skip={"person_id"})}
            for f in ExclusionFlag.objects.filter(person_id__in=ids).select_related("person").order_by("pk")
        ],
        "events": [
            {
                "person_code": e.person.person_code if e.person else "",
                "other_family_code": e.other_family.family_code if e.other_family else "",
                **_row(e, skip={"actor_id", "person_id", "other_family_id"}),
            }
            for e in Event.objects.filter(Q(family=family) | Q(other_family=family))
            .select_related("person", "other_family").order_by("event_date", "pk")
        ],
        "versions": _versions(family),
        "documents": [
            _row(d, skip={"storage_path", "owner_id", "uploaded_by_id"})
            for d in _documents_qs(account, family)
        ],
        "audit": _audit_trail(account, family, ids),
    }


def _download(actor: Actor, fmt: str) -> dict[str, Any]:
    own = citizen_own_family(actor=actor)
    ids = list(Person.objects.filter(family=own.family).values_list("pk", flat=True))
    audit_record(actor=actor, action="dsar.download", object_type="family", object_id=own.family.pk,
                 after={"format": fmt}, person_ids=ids)
    return _collect(own)


def dsar_json(*, actor: Actor) -> bytes:
    """Everything held about the verified citizen's family, as UTF-8 JSON. Audited."""
    data = _download(actor, "json")
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


# ---------------------------------------------------------------------------------------------- PDF

_PUNCTUATION = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
                              "•": "-", "²": "2"})


def _latin1(value: Any) -> str:
    """The PDF's core font (Helvetica) prints Latin-1: Indonesian needs nothing else; other characters are
    decomposed (accents dropped) or replaced by "?"."""
    text = _scalar(value).translate(_PUNCTUATION)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = text.encode("latin-1", "replace").decode("latin-1")
    return text


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "ya / yes" if value else "tidak / no"
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            return str(value)
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return str(value)


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 8, _latin1(f"DTSEN - salinan data pribadi / personal data copy - {self.page_no()}"),
                  align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.multi_cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)


def _line(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 4.5, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _pairs(pdf: FPDF, row: dict[str, Any]) -> None:
    for key, value in row.items():
        _line(pdf, f"{key}: {_scalar(value)}")
    pdf.ln(1.5)


def render_pdf(data: dict[str, Any]) -> bytes:
    """The collected data as a PDF (A4, Helvetica, compressed page streams)."""
    pdf = _Pdf(format="A4")
    pdf.set_title("DTSEN - salinan data pribadi / personal data copy")
    pdf.set_author("DTSEN")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=15)
    pdf.multi_cell(0, 8, "Salinan data pribadi keluarga / Copy of your family's personal data",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    _line(pdf, f"{data['legal_basis']}. Dibuat / generated: {_scalar(data['generated_at'])}. "
               f"Format: {data['format']}.")
    _line(pdf, "NIK anggota lain disamarkan; riwayat lengkap ada di berkas JSON. / Other members' NIKs are "
               "masked; the complete history is in the JSON file.")
    _heading(pdf, "Akun / Account")
    _pairs(pdf, data["account"])
    _heading(pdf, "Keluarga / Family")
    _pairs(pdf, data["family"])
    _heading(pdf, "Nomor KK / KK numbers")
    for row in data["kk_history"]:
        _pairs(pdf, row)
    _heading(pdf, f"Anggota keluarga / Members ({len(data['members'])})")
    for row in data["members"]:
        _pairs(pdf, row)
    _heading(pdf, f"Kondisi sosial ekonomi / Condition snapshots ({len(data['conditions'])})")
    for row in data["conditions"]:
        _pairs(pdf, row)
    _heading(pdf, f"Status pengecualian / Exclusion flags ({len(data['exclusion_flags'])})")
    for row in data["exclusion_flags"]:
        _pairs(pdf, row)
    _heading(pdf, f"Peristiwa / Events ({len(data['events'])})")
    for row in data["events"]:
        _pairs(pdf, row)
    _heading(pdf, f"Dokumen / Documents ({len(data['documents'])})")
    for row in data["documents"]:
        _pairs(pdf, row)
    _heading(pdf, f"Riwayat perubahan / Versions ({len(data['versions'])})")
    for row in data["versions"]:
        _line(pdf, f"{_scalar(row.get('history_date'))} {row['subject']} {row.get('history_type', '')} "
                   f"{row.get('history_channel', '')} {row.get('history_change_reason') or ''}")
    _heading(pdf, f"Catatan akses dan perubahan / Access and change log ({len(data['audit'])})")
    for row in data["audit"]:
        who = "Anda / you" if row["by_you"] else (row["actor_roles"] or "sistem / system")
        reason = f" - {row['reason']}" if row["reason"] else ""
        _line(pdf, f"#{row['seq']} {_scalar(row['at'])} {row['action']} ({who}; {row['channel']}){reason}")
    return bytes(pdf.output())


def dsar_pdf(*, actor: Actor) -> bytes:
    """The same content as `dsar_json`, as a PDF. Audited."""
    return render_pdf(_download(actor, "pdf"))
