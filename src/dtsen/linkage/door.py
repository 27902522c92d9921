"""The check at the door: a new record (an usulan's new member, a citizen's usul, an import row) is compared with
the register before it is accepted, and likely duplicates are returned with the reasons in words.

A quick lookup, not a batch run: candidates come from the database by indexed keys only (the NIK's keyed blind
index `nik_hash`, and the birth date and its day/month swap — index `registry_person_birth_date`, migration
registry 0003), over the whole register (a duplicate in another kabupaten is exactly what the check is for).
About 30 persons share one birth date per million persons, so one check reads a few dozen rows. Each candidate
and the new record are prepared with `dtsen.linkage.prepare.linkage_input` and scored with the trained model in
Python (`dtsen.linkage.scorer`, equal to Splink's evidence); a candidate with at least `REVIEW_BITS` of evidence
is a likely duplicate.

What the keys miss: a duplicate whose NIK *and* birth date both differ from the registered record (a NIK typo and
a wrong birth date at once). Catching those needs a stored phonetic key of the name (a `name_phon` column with an
index on (name_phon, village_code)), which the register does not have yet.

Results carry the masked NIK and masked name only, and say whether the person is in the actor's regions; the
check itself is audited (action `person.door_check`) with the persons it returned.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from dtsen.accounts import permissions as perm
from dtsen.accounts.models import RoleAssignment
from dtsen.accounts.permissions import MATRIX
from dtsen.accounts.selectors import Actor, Scope
from dtsen.audit.services import audit_read
from dtsen.core.errors import Conflict, PermissionDenied, ValidationFailed
from dtsen.core.masking import mask_name
from dtsen.linkage.engine import REVIEW_BITS
from dtsen.linkage.model import ModelParams
from dtsen.linkage.prepare import linkage_input
from dtsen.linkage.scorer import Scorer
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_hash, nik_mask
from dtsen.registry.models import Person

# Who may run the check: anyone who drafts, checks or changes records of a region.
DOOR_PERMISSIONS = (perm.REGISTRY_CHANGE, perm.REGISTRY_BULK, perm.USULAN_DRAFT, perm.USULAN_CHECK)
MAX_CANDIDATES = 2000  # a safety cap on one lookup (a birth date shared by thousands: 1 January of old records)


@dataclass
class LikelyDuplicate:
    person_id: int
    person_code: str
    nik_masked: str
    name_masked: str
    evidence: float  # bits
    reasons: list[str]
    in_scope: bool  # the person lives in the actor's regions
    levels: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id, "person_code": self.person_code, "nik_masked": self.nik_masked,
            "name_masked": self.name_masked, "evidence": round(self.evidence, 1), "reasons": self.reasons,
            "in_scope": self.in_scope,
        }  # fmt: skip


# ----- the trained parameters ------------------------------------------------------------------------------------


def params_source() -> str:
    """Where the door reads the trained model from. One place to switch: today the file named by the setting
    `LINKAGE_PARAMS_FILE`; once linkage runs are stored, the parameters of the latest run."""
    path = getattr(settings, "LINKAGE_PARAMS_FILE", "") or ""
    if not path:
        raise Conflict(
            "Model pencocokan belum dilatih: atur LINKAGE_PARAMS_FILE.",
            "The linkage model is not trained yet: set LINKAGE_PARAMS_FILE.",
            code="linkage_model_missing",
        )
    return str(path)


@lru_cache(maxsize=4)
def _scorer_for(path: str, mtime: float) -> Scorer:
    params = ModelParams.from_json(Path(path).read_text())
    tf_path = Path(path).with_suffix(".tf.json")  # optional term frequencies next to the parameters
    tf = json.loads(tf_path.read_text()) if tf_path.is_file() else None
    return Scorer(params, tf)


def current_scorer() -> Scorer:
    path = params_source()
    file = Path(path)
    if not file.is_file():
        raise Conflict("Berkas model pencocokan tidak ditemukan.", "The linkage parameters file is missing.",
                       code="linkage_model_missing", path=path)  # fmt: skip
    return _scorer_for(path, file.stat().st_mtime)


# ----- reasons in words ----------------------------------------------------------------------------------------


def _reason_texts() -> dict[str, str]:
    return {
        "nik_same": _("same NIK"),
        "name_same": _("same name"),
        "name_typo": _("name with a typo"),
        "name_sound": _("name sounds the same"),
        "name_abbrev": _("name abbreviated"),
        "name_last_typo": _("similar name"),
        "name_similar": _("similar name"),
        "birth_same": _("same birth date"),
        "birth_swap": _("birth day and month swapped"),
        "birth_month": _("birth date in the same month"),
        "village_same": _("same village"),
        "kec_same": _("same kecamatan"),
        "kab_same": _("same kabupaten/kota"),
        "place_same": _("same birth place"),
    }


def reasons(levels: dict[str, str]) -> list[str]:
    """The agreeing comparisons of a scored pair, in words (NIK, name, birth date, residence, birth place)."""
    texts = _reason_texts()
    order = ("nik", "name", "birth_date", "residence", "birth_place")
    return [texts[levels[k]] for k in order if levels.get(k) in texts]


# ----- the check -------------------------------------------------------------------------------------------------


def _swap(day: dt.date) -> dt.date | None:
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)


def _check_candidate(candidate: dict[str, Any]) -> dict[str, Any]:
    name = str(candidate.get("name") or "").strip()
    born = candidate.get("birth_date")
    if isinstance(born, str):
        try:
            born = dt.date.fromisoformat(born)
        except ValueError:
            born = None
    if not name or not isinstance(born, dt.date):
        raise ValidationFailed("Nama dan tanggal lahir wajib untuk pemeriksaan ganda.",
                               "A name and a birth date are needed for the duplicate check.",
                               code="door_incomplete")  # fmt: skip
    return {
        "person_code": "",
        "nik": "".join(ch for ch in str(candidate.get("nik") or "") if ch.isdigit()),
        "name": name,
        "sex": str(candidate.get("sex") or "") or None,
        "birth_date": born,
        "birth_place": str(candidate.get("birth_place") or ""),
        "village_code": str(candidate.get("village_code") or "") or None,
    }


def door_scope(actor: Actor) -> Scope:
    """Where the actor may run the check (any of `DOOR_PERMISSIONS`), in one query of the role assignments (the
    same rules as `dtsen.accounts.selectors.scope_for`, for several permissions at once)."""
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied("Anda tidak berwenang melakukan tindakan ini.", "You are not allowed to do this.")
    if getattr(actor, "is_superuser", False):
        return Scope(True, ())
    prefixes: set[str] = set()
    rows = RoleAssignment.objects.filter(user_id=actor.pk, active=True).values_list("role", "region_code")
    for role, region in rows:
        if MATRIX.get(role, frozenset()) & set(DOOR_PERMISSIONS):
            if not region:
                return Scope(True, ())
            prefixes.add(region)
    if not prefixes:
        raise PermissionDenied("Anda tidak berwenang melakukan tindakan ini.", "You are not allowed to do this.")
    roots = tuple(sorted(p for p in prefixes if not any(p != o and p.startswith(o + ".") for o in prefixes)))
    return Scope(False, roots)


def candidates(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Registered active persons sharing the NIK (blind index), the birth date or the swapped birth date."""
    born: dt.date = row["birth_date"]
    dates = [born] + [d for d in (_swap(born),) if d is not None]
    q = Q(birth_date__in=dates)
    if len(row["nik"]) == 16:
        q |= Q(nik_hash=nik_hash(row["nik"]))
    fields = ("pk", "person_code", "nik_enc", "name", "sex", "birth_date", "birth_place", "family__village_code")
    rows = Person.objects.filter(q, status=c.RecordStatus.ACTIVE).values_list(*fields)[:MAX_CANDIDATES]
    out = []
    for pk, code, enc, name, sex, birth, place, village in rows:
        out.append({"pk": pk, "person_code": code, "nik": nik_decrypt(enc), "name": name, "sex": sex,
                    "birth_date": birth, "birth_place": place, "village_code": village})  # fmt: skip
    return out


def prepare_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = pa.table({
        "person_code": pa.array([r["person_code"] for r in rows], pa.string()),
        "nik": pa.array([r["nik"] for r in rows], pa.string()),
        "name": pa.array([r["name"] for r in rows], pa.string()),
        "sex": pa.array([r["sex"] for r in rows], pa.string()),
        "birth_date": pa.array([r["birth_date"] for r in rows], pa.date32()),
        "birth_place": pa.array([r["birth_place"] for r in rows], pa.string()),
        "village_code": pa.array([r["village_code"] for r in rows], pa.string()),
    })
    return linkage_input(table).to_pylist()


def door_check(
    actor: Actor,
    candidate: dict[str, Any],
    *,
    min_bits: float = REVIEW_BITS,
    scorer: Scorer | None = None,
    scope: Scope | None = None,
) -> list[LikelyDuplicate]:
    """Likely duplicates of `candidate` (nik, name, sex, birth_date, birth_place?, village_code) in the register,
    best first. Needs a permission to draft, check or change records (`scope`: `door_scope(actor)` computed once,
    for a caller that checks many rows); see the module for what it looks up."""
    scope = scope or door_scope(actor)
    row = _check_candidate(candidate)
    scorer = scorer or current_scorer()
    found = candidates(row)
    if not found:
        return []
    prepared = prepare_rows([row, *found])
    new = prepared[0]
    out: list[LikelyDuplicate] = []
    for person, other in zip(found, prepared[1:], strict=True):
        score = scorer.score(other, new)
        if score.evidence < min_bits:
            continue
        out.append(LikelyDuplicate(
            person_id=person["pk"], person_code=person["person_code"], nik_masked=nik_mask(person["nik"]),
            name_masked=mask_name(person["name"]), evidence=score.evidence, reasons=reasons(score.levels),
            in_scope=bool(person["village_code"]) and scope.covers(person["village_code"]), levels=score.levels,
        ))  # fmt: skip
    out.sort(key=lambda d: -d.evidence)
    if out:
        audit_read(actor=actor, object_type="person", object_id=out[0].person_id, action="door_check",
                   person_ids=[d.person_id for d in out])  # fmt: skip
    return out
