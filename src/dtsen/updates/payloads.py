"""What each kind of usulan carries (`Usulan.payload`, JSON), how it is checked and how it is read back.

NIKs never sit in clear in a payload: a member's NIK is kept as `nik_enc` (AES-GCM), `nik_hash` (blind index)
and `nik_masked` (for lists), like the registry keeps it.

- keluarga_baru: kk_number, rw, rt, address, members: [member]; the condition comes from the verification
  visit (its candidate snapshot), so a new family is never registered without one.
- perbaikan: any of address {rw, rt, address}, members_update [{person_id, changes}], members_add [member],
  members_remove [{person_id, removal_reason}], condition_from_visit (bool).
- program: program (pkh, sembako, pbi_jk, pip, blt), note.
- penonaktifan: reason (meninggal, pindah, tidak_ditemukan, mampu, pengecualian, duplikat), category (the
  exclusion category, for pengecualian), death_date (for meninggal), note. `Usulan.person` set = one member,
  else the whole family.
A member is {nik, name, sex, birth_date (YYYY-MM-DD), relationship, marital_status, education, occupation,
birth_place}; every field is checked with the registry's own rules before anything is saved.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone

from dtsen.core.errors import ValidationFailed
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_encrypt, nik_hash, nik_mask
from dtsen.registry.models import Family, Person
from dtsen.registry.services import PERSON_FIELDS, PersonData, person_data_check
from dtsen.updates.models import DeactivationReason, Program, UsulanKind

_KK = re.compile(r"[0-9]{16}")
_SLS = re.compile(r"[0-9]{1,3}")
MEMBER_FIELDS = ("name", "sex", "birth_date", "relationship", "marital_status", "education", "occupation",
                 "birth_place")
CORRECTABLE_PERSON_FIELDS = (*tuple(f for f in PERSON_FIELDS if f not in ("relationship",)), "relationship")
MAX_MEMBERS = 30
# PersonData fields with defaults a payload may also carry (corrections of schooling, work, disability).
_OPTIONAL_PERSON_FIELDS = ("school_level", "sector", "employment_type", "disability", "disability_severity",
                           "pregnant")


def _bad(field: str, message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, field=field)


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _bad(field, f"Tanggal tidak valid: {value!r} (YYYY-MM-DD).",
                   f"Invalid date: {value!r} (YYYY-MM-DD).") from None


def _sls(value: Any, field: str) -> str:
    text = str(value or "").strip()
    if text and not _SLS.fullmatch(text):
        raise _bad(field, f"{field.upper()} harus berupa angka 1-3 digit.", f"{field.upper()} must be 1-3 digits.")
    return text.zfill(3) if text else ""


def member_data(member: dict[str, Any]) -> PersonData:
    """A payload member as the registry's PersonData (decrypting the NIK)."""
    nik = member.get("nik") or nik_decrypt(member["nik_enc"])
    return PersonData(
        nik=nik,
        name=str(member.get("name", "")).strip(),
        sex=member.get("sex", ""),
        birth_date=_date(member.get("birth_date"), "birth_date"),
        relationship=member.get("relationship", ""),
        marital_status=member.get("marital_status") or c.MaritalStatus.SINGLE,
        education=member.get("education") or c.Education.NONE,
        occupation=str(member.get("occupation", ""))[:60],
        birth_place=str(member.get("birth_place", ""))[:60],
        **{f: member[f] for f in _OPTIONAL_PERSON_FIELDS if member.get(f) not in (None, "")},
    )


def _member(raw: dict[str, Any], index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad("members", "Data anggota tidak valid.", "Invalid member data.")
    if raw.get("nik_enc") and not raw.get("nik"):
        raw = {**raw, "nik": nik_decrypt(raw["nik_enc"])}
    data = member_data(raw)
    try:
        person_data_check(data)
    except ValidationFailed as exc:
        raise ValidationFailed(
            f"Anggota ke-{index + 1}: {exc.message_id}", f"Member {index + 1}: {exc.message_en}",
            code=exc.code, field=f"members.{index}.{exc.extra.get('field', '')}",
        ) from None
    out = {f: getattr(data, f) for f in MEMBER_FIELDS}
    out["birth_date"] = data.birth_date.isoformat()
    out |= {"nik_enc": nik_encrypt(data.nik), "nik_hash": nik_hash(data.nik), "nik_masked": nik_mask(data.nik)}
    return out


def _members(raw: Any, *, need_head: bool) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or (need_head and not raw):
        raise _bad("members", "Sedikitnya satu anggota (kepala keluarga) wajib diisi.",
                   "At least one member (the head of the family) is required.")
    if len(raw) > MAX_MEMBERS:
        raise _bad("members", f"Paling banyak {MAX_MEMBERS} anggota.", f"At most {MAX_MEMBERS} members.")
    members = [_member(m, i) for i, m in enumerate(raw)]
    heads = [m for m in members if m["relationship"] == c.Relationship.HEAD]
    if need_head and (len(heads) != 1 or members[0]["relationship"] != c.Relationship.HEAD):
        raise _bad("members", "Anggota pertama harus satu-satunya kepala keluarga.",
                   "The first member must be the family's only head.")
    if not need_head and heads:
        raise _bad("members", "Keluarga sudah punya kepala.", "The family already has a head.")
    hashes = [m["nik_hash"] for m in members]
    if len(set(hashes)) != len(hashes):
        raise _bad("members", "NIK anggota keluarga tidak boleh sama.", "Members' NIKs must differ.")
    known = Person.objects.filter(nik_hash__in=hashes, status=c.RecordStatus.ACTIVE).count()
    if known:
        raise ValidationFailed(
            "NIK anggota sudah terdaftar di registri; gunakan usulan perbaikan data untuk keluarganya.",
            "A member's NIK is already in the registry; propose a correction of that family instead.",
            code="nik_already_registered", field="members",
        )
    return members


def _family_person(family: Family | None, person_id: Any, field: str) -> Person:
    try:
        person = Person.objects.get(pk=int(person_id))
    except (TypeError, ValueError, Person.DoesNotExist):
        raise _bad(field, "Anggota keluarga tidak ditemukan.", "Family member not found.") from None
    if family is None or person.family_id != family.pk:
        raise _bad(field, "Orang tersebut bukan anggota keluarga ini.", "That person is not a member of this family.")
    return person


def payload_clean(kind: str, payload: dict[str, Any], *, family: Family | None, person: Person | None
                  ) -> tuple[dict[str, Any], str]:
    """Check a payload for `kind`; return it normalised (NIKs encrypted) and a one-line summary (no NIK)."""
    if not isinstance(payload, dict):
        raise _bad("payload", "Data usulan tidak valid.", "Invalid proposal data.")
    if kind == UsulanKind.NEW_FAMILY:
        kk = str(payload.get("kk_number", "")).strip()
        if not _KK.fullmatch(kk):
            raise _bad("kk_number", "Nomor KK harus 16 digit angka.", "The KK number must be 16 digits.")
        members = _members(payload.get("members"), need_head=True)
        new: dict[str, Any] = {"kk_number": kk, "rw": _sls(payload.get("rw"), "rw"),
                               "rt": _sls(payload.get("rt"), "rt"),
                               "address": str(payload.get("address", "")).strip()[:200], "members": members}
        return new, f"Keluarga baru: {members[0]['name']} ({len(members)} jiwa)"
    if family is None:
        raise _bad("family", "Keluarga yang dimaksud wajib dipilih.", "The family concerned is required.")
    if kind == UsulanKind.CORRECTION:
        out: dict[str, Any] = {}
        parts = []
        if payload.get("address"):
            addr = payload["address"]
            out["address"] = {"rw": _sls(addr.get("rw", family.rw), "rw"),
                              "rt": _sls(addr.get("rt", family.rt), "rt"),
                              "address": str(addr.get("address", family.address)).strip()[:200]}
            parts.append("alamat")
        updates = []
        for i, item in enumerate(payload.get("members_update") or []):
            p = _family_person(family, item.get("person_id"), f"members_update.{i}")
            changes = dict(item.get("changes") or {})
            unknown = set(changes) - set(CORRECTABLE_PERSON_FIELDS)
            if unknown or not changes:
                raise _bad(f"members_update.{i}", f"Isian tidak dapat dikoreksi: {sorted(unknown) or '-'}",
                           f"Fields that cannot be corrected: {sorted(unknown) or '-'}")
            if "birth_date" in changes:
                changes["birth_date"] = _date(changes["birth_date"], "birth_date").isoformat()
            current = {f: getattr(p, f) for f in PERSON_FIELDS} | {"nik": nik_decrypt(p.nik_enc)}
            try:  # the member as it would be after the correction, checked by the registry's rules
                person_data_check(member_data({**current, **changes}))
            except ValidationFailed as exc:
                raise ValidationFailed(f"Koreksi anggota: {exc.message_id}", f"Member correction: {exc.message_en}",
                                       code=exc.code, field=f"members_update.{i}") from None
            updates.append({"person_id": p.pk, "changes": changes})
        if updates:
            out["members_update"] = updates
            parts.append(f"{len(updates)} anggota dikoreksi")
        if payload.get("members_add"):
            out["members_add"] = _members(payload["members_add"], need_head=False)
            parts.append(f"{len(out['members_add'])} anggota baru")
        removes = []
        for i, item in enumerate(payload.get("members_remove") or []):
            p = _family_person(family, item.get("person_id"), f"members_remove.{i}")
            if p.pk in (family.head_id, family.pengurus_id):
                raise _bad(f"members_remove.{i}",
                           "Kepala keluarga atau pengurus tidak dapat dikeluarkan sendiri; usulkan penggantinya "
                           "dulu atau usulkan penonaktifan keluarga.",
                           "The head or pengurus cannot be removed alone; propose a replacement first or "
                           "propose deactivating the family.")
            reason = item.get("removal_reason", "")
            if reason not in c.RemovalReason.values:
                raise _bad(f"members_remove.{i}", "Alasan penghapusan anggota tidak dikenal.",
                           "Unknown removal reason.")
            removes.append({"person_id": p.pk, "removal_reason": reason})
        if removes:
            out["members_remove"] = removes
            parts.append(f"{len(removes)} anggota dikeluarkan")
        if payload.get("condition_from_visit"):
            out["condition_from_visit"] = True
            parts.append("kondisi rumah/aset dari kunjungan")
        if not parts:
            raise _bad("payload", "Usulan perbaikan tidak berisi perubahan apa pun.",
                       "The correction does not contain any change.")
        out["note"] = str(payload.get("note", ""))[:300]
        return out, "Perbaikan: " + ", ".join(parts)
    if kind == UsulanKind.PROGRAM:
        program = payload.get("program", "")
        if program not in Program.values:
            raise _bad("program", "Program tidak dikenal.", "Unknown program.")
        return {"program": program, "note": str(payload.get("note", ""))[:300]}, f"Usulan program {program.upper()}"
    if kind == UsulanKind.DEACTIVATION:
        reason = payload.get("reason", "")
        if reason not in DeactivationReason.values:
            raise _bad("reason", "Alasan penonaktifan tidak dikenal.", "Unknown deactivation reason.")
        out = {"reason": reason, "note": str(payload.get("note", ""))[:300]}
        if person is not None and person.family_id != family.pk:
            raise _bad("person", "Orang tersebut bukan anggota keluarga ini.",
                       "That person is not a member of this family.")
        if reason == DeactivationReason.EXCLUDED:
            if person is None:
                raise _bad("person", "Pilih anggota yang termasuk kategori pengecualian.",
                           "Choose the member in the exclusion category.")
            if payload.get("category") not in c.ExclusionCategory.values:
                raise _bad("category", "Kategori pengecualian tidak dikenal.", "Unknown exclusion category.")
            out["category"] = payload["category"]
        if reason == DeactivationReason.DECEASED and payload.get("death_date"):
            day = _date(payload["death_date"], "death_date")
            if day > timezone.localdate():
                raise _bad("death_date", "Tanggal kematian tidak boleh di masa depan.",
                           "The date of death cannot be in the future.")
            out["death_date"] = day.isoformat()
        who = person.name if person is not None else "seluruh keluarga"
        return out, f"Penonaktifan ({reason}): {who}"
    raise _bad("kind", "Jenis usulan tidak dikenal.", "Unknown kind of proposal.")
