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

The trained model is that of the latest finished linkage run (or the file of `LINKAGE_PARAMS_FILE`, an override).
The workflows call the check through `members_check` / `check_or_note` (usulan drafts, the importer) and
`door_check_system` (a citizen's usul), which store the result with the record and never fail because of it:
without a model they note that the check was not run. See docs/linkage.md, "Check at the door".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
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
from dtsen.linkage.models import LinkageRun, RunStatus
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

MISSING_ID = "Pemeriksaan ganda tidak dijalankan: model pencocokan belum dilatih."
MISSING_EN = "Duplicate check not run: the linkage model is not trained yet."


@dataclass(frozen=True)
class ParamsSource:
    """Where the trained model comes from: the latest finished linkage run (`kind` "run", `ref` its id, `version`
    its params_sha256) or the file of the setting `LINKAGE_PARAMS_FILE` (`kind` "file", `ref` the path,
    `version` its modification time)."""

    kind: str
    ref: str
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.kind, "ref": self.ref, "version": self.version}


def _missing(**extra: Any) -> Conflict:
    return Conflict(MISSING_ID, MISSING_EN, code="linkage_model_missing", **extra)


def params_source() -> ParamsSource:
    """Where the door reads the trained model from, the one place that says it: the file named by the setting
    `LINKAGE_PARAMS_FILE` when it is set (an explicit override), else the parameters of the latest finished
    `LinkageRun`. Raises `linkage_model_missing` (a Conflict) when there are none."""
    path = getattr(settings, "LINKAGE_PARAMS_FILE", "") or ""
    if path:
        file = Path(path)
        if not file.is_file():
            raise Conflict("Berkas model pencocokan tidak ditemukan.", "The linkage parameters file is missing.",
                           code="linkage_model_missing", path=str(path))  # fmt: skip
        return ParamsSource("file", str(path), repr(file.stat().st_mtime))
    latest = (LinkageRun.objects.filter(status=RunStatus.DONE).exclude(params_sha256="")
              .order_by("-finished_at", "-pk").values_list("pk", "params_sha256").first())  # fmt: skip
    if latest is None:
        raise _missing()
    return ParamsSource("run", str(latest[0]), latest[1])


_SCORERS: dict[ParamsSource, Scorer] = {}  # per process, keyed by (run id, sha256) or (path, mtime)


def _load(source: ParamsSource) -> Scorer:
    if source.kind == "file":
        params = ModelParams.from_json(Path(source.ref).read_text())
        tf_path = Path(source.ref).with_suffix(".tf.json")  # optional term frequencies next to the parameters
        tf = json.loads(tf_path.read_text()) if tf_path.is_file() else None
        return Scorer(params, tf)
    body = LinkageRun.objects.values_list("params", flat=True).get(pk=int(source.ref))
    params = ModelParams.from_json(json.dumps(body))
    if params.sha256 != source.version:
        raise Conflict("Parameter model pencocokan rusak (sha256 tidak cocok).",
                       "The linkage parameters are damaged (sha256 mismatch).",
                       code="linkage_model_missing", run=int(source.ref))  # fmt: skip
    return Scorer(params)


def current_model() -> tuple[Scorer, ParamsSource]:
    """The scorer of `params_source()` and that source; the scorer is built once per process and source (a new
    run or a changed file replaces it)."""
    source = params_source()
    scorer = _SCORERS.get(source)
    if scorer is None:
        scorer = _load(source)
        _SCORERS.clear()  # one model at a time: an older run's scorer is not needed again
        _SCORERS[source] = scorer
    return scorer, source


def current_scorer() -> Scorer:
    return current_model()[0]


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


# ----- for callers that store the result -------------------------------------------------------------------------


def hit_record(hit: LikelyDuplicate) -> dict[str, Any]:
    """A hit as stored with a record (JSON, masked data only): `as_dict()` with the reasons in Indonesian
    (`reasons`) and in English (`reasons_en`), so a page shows them in the reader's language."""
    with translation.override("id"):
        words_id = reasons(hit.levels)
    with translation.override("en"):
        words_en = reasons(hit.levels)
    return {**hit.as_dict(), "reasons": words_id, "reasons_en": words_en}


def _not_run(code: str, message_id: str, message_en: str) -> dict[str, Any]:
    return {"checked": False, "code": code, "note": message_id, "note_en": message_en, "likely_duplicates": []}


def check_or_note(
    actor: Actor,
    candidate: dict[str, Any],
    *,
    scope: Scope | None = None,
    model: tuple[Scorer, ParamsSource] | None = None,
) -> dict[str, Any]:
    """`door_check` for a caller that stores the outcome with a record and must not fail because of it: a JSON-safe
    dict {checked, code, note, note_en, likely_duplicates: [hit_record]}. Without trained parameters (code
    `model_missing`) or without a name and birth date (code `incomplete`) the check is not run and the note
    says so (Indonesian `note`, English `note_en`); "not run" never reads as "no duplicate".
    `model`: `current_model()` fetched once by a caller that checks many records."""
    try:
        scorer, source = model or current_model()
    except Conflict:
        return _not_run("model_missing", MISSING_ID, MISSING_EN)
    try:
        hits = door_check(actor, candidate, scorer=scorer, scope=scope)
    except ValidationFailed as exc:
        return _not_run("incomplete", exc.message_id, exc.message_en)
    return {"checked": True, "code": "checked", "note": "", "note_en": "", "model": source.as_dict(),
            "likely_duplicates": [hit_record(h) for h in hits]}  # fmt: skip


def review_scope(region_code: str) -> Scope:
    """The region whose Dinsos reviews a record of `region_code`: its kabupaten/kota. A hit's `in_scope` then says
    whether the registered person lives in the reviewer's region."""
    return Scope(False, (region_code[:5],))


def door_check_system(actor: Actor, candidate: dict[str, Any], *, region_code: str) -> dict[str, Any]:
    """The check run by the system for an actor who may not run it (a citizen's usul): scored against the whole
    register as usual, `in_scope` relative to the reviewing kabupaten of `region_code`, audited with `actor` as
    the one who caused it (`person.door_check`). The actor's permissions are not widened: nothing is returned
    to them through a page. The result has the shape of `members_check` (one member) and is for staff only: the
    caller stores it with the record for the reviewing officer and shows the actor nothing of it."""
    result = members_check(actor, [("members", 0, candidate)], region_code=region_code)
    assert result is not None
    return result


def members_check(
    actor: Actor, members: list[tuple[str, int, dict[str, Any]]], *, region_code: str
) -> dict[str, Any] | None:
    """The door check of the new persons of one record (an usulan's new family or added members): `members` as
    (list name, index, candidate with a clear `nik`). Returns what the record stores (JSON, masked data only):
    {checked, code, note, note_en, at, model, flagged, members: [{list, index, name (the new person's own, as
    in the record), nik_masked, checked, code, likely_duplicates}]}, or None when there is no new person. The
    actor must already hold the right to draft or check in `region_code` (the caller's service checks it), or
    the check runs as a system check (`door_check_system`); hits are `in_scope` for the kabupaten of
    `region_code`."""
    if not members:
        return None
    scope = review_scope(region_code)
    try:
        model: tuple[Scorer, ParamsSource] | None = current_model()
    except Conflict:
        model = None
    rows = []
    for list_name, index, candidate in members:
        result = (check_or_note(actor, candidate, scope=scope, model=model) if model is not None
                  else _not_run("model_missing", MISSING_ID, MISSING_EN))  # fmt: skip
        rows.append({"list": list_name, "index": index, "name": str(candidate.get("name") or "")[:120],
                     "nik_masked": nik_mask(str(candidate.get("nik") or "")) if candidate.get("nik") else "",
                     "checked": result["checked"], "code": result["code"],
                     "likely_duplicates": result["likely_duplicates"]})  # fmt: skip
    first_problem = next((r for r in rows if not r["checked"]), None)
    if model is None:
        note = _not_run("model_missing", MISSING_ID, MISSING_EN)
    elif first_problem is not None:
        note = _not_run("incomplete", "Sebagian anggota tidak dapat diperiksa (nama atau tanggal lahir kosong).",
                        "Some members could not be checked (no name or birth date).")  # fmt: skip
    else:
        note = {"checked": True, "code": "checked", "note": "", "note_en": ""}
    return {
        "checked": note["checked"], "code": note["code"], "note": note["note"], "note_en": note["note_en"],
        "at": timezone.now().isoformat(), "model": model[1].as_dict() if model else None,
        "flagged": sum(1 for r in rows if r["likely_duplicates"]), "members": rows,
    }  # fmt: skip
