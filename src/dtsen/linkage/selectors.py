"""Reads of the linkage app, scoped by the acting user.

- The run input (`linkage_persons`): the active persons of active families of a region, for an actor with
  `registry.bulk` or `usulan.check` over that region. The NIK is decrypted in memory only, into the Arrow
  table handed to the engine; it is never stored or logged.
- The review queue, one pair, the merge history: `usulan.check` (Dinsos) of the pair's kabupaten and of both
  persons' villages. A pair outside the actor's scope is "not found", like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import pyarrow as pa
from django.db.models import QuerySet

from dtsen.accounts.permissions import REGISTRY_BULK, USULAN_CHECK
from dtsen.accounts.selectors import Actor, Scope, require_scope, scope_for
from dtsen.audit.services import audit_read
from dtsen.core.errors import NotFound, PermissionDenied
from dtsen.linkage.models import CandidatePair, LinkageRun, Merge, PairStatus
from dtsen.linkage.prepare import linkage_input
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Person

_PAIR_NOT_FOUND = ("Pasangan data tidak ditemukan.", "Pair not found.")
_MERGE_NOT_FOUND = ("Penggabungan tidak ditemukan.", "Merge not found.")


def review_scope(actor: Actor) -> Scope:
    """Where the actor may review pairs (usulan.check: Dinsos)."""
    return require_scope(actor, USULAN_CHECK)


def run_scope_check(actor: Actor, region_code: str) -> None:
    """A run reads a whole region: `registry.bulk` (Pusdatin) or `usulan.check` (Dinsos) covering it."""
    for permission in (REGISTRY_BULK, USULAN_CHECK):
        if scope_for(actor, permission).covers(region_code):
            return
    raise PermissionDenied("Wilayah ini di luar kewenangan Anda.", "This region is outside your scope.")


@dataclass
class LinkagePersons:
    table: pa.Table  # INPUT_COLUMNS + birth_place, one row per person (NIK in clear, in memory only)
    ids: dict[str, int]  # person_code -> Person id


def linkage_persons(*, actor: Actor, region_code: str) -> LinkagePersons:
    """The raw linkage input of a region (prepare with `dtsen.linkage.prepare.linkage_input`)."""
    run_scope_check(actor, region_code)
    rows = (
        Person.objects.filter(status=c.RecordStatus.ACTIVE, family__status=c.RecordStatus.ACTIVE)
        .filter(_region_q(region_code))
        .order_by("pk")
        .values_list("pk", "person_code", "nik_enc", "name", "sex", "birth_date", "birth_place",
                     "family__village_code")
    )
    cols: dict[str, list[Any]] = {k: [] for k in
                                  ("person_code", "nik", "name", "sex", "birth_date", "birth_place", "village_code")}
    ids: dict[str, int] = {}
    for pk, code, enc, name, sex, born, place, village in rows.iterator(chunk_size=5000):
        ids[code] = pk
        cols["person_code"].append(code)
        cols["nik"].append(nik_decrypt(enc))
        cols["name"].append(name)
        cols["sex"].append(sex)
        cols["birth_date"].append(born)
        cols["birth_place"].append(place or "")
        cols["village_code"].append(village)
    schema = pa.schema([("person_code", pa.string()), ("nik", pa.string()), ("name", pa.string()),
                        ("sex", pa.string()), ("birth_date", pa.date32()), ("birth_place", pa.string()),
                        ("village_code", pa.string())])
    return LinkagePersons(table=pa.table(cols, schema=schema), ids=ids)


def _region_q(region_code: str) -> Any:
    from django.db.models import Q

    return Q(family__village_code=region_code) | Q(family__village_code__startswith=region_code + ".")


def decided_pairs(*, person_ids: set[int]) -> set[tuple[int, int]]:
    """Unordered pairs (low, high) among `person_ids` already decided or already pending (internal: the run)."""
    from dtsen.linkage.models import PairDecision

    ids = list(person_ids)
    out: set[tuple[int, int]] = set()
    step = 20_000
    for i in range(0, len(ids), step):
        chunk = ids[i:i + step]
        out.update(PairDecision.objects.filter(person_low_id__in=chunk).values_list("person_low_id", "person_high_id"))
        out.update(CandidatePair.objects.filter(person_a_id__in=chunk, status=PairStatus.PENDING)
                   .values_list("person_a_id", "person_b_id"))
    return out


def covers_pair(scope: Scope, pair: CandidatePair) -> bool:
    return (scope.covers(pair.region_code) and scope.covers(pair.person_a.family.village_code)
            and scope.covers(pair.person_b.family.village_code))


def _pairs(scope: Scope) -> QuerySet[CandidatePair]:
    return CandidatePair.objects.filter(scope.q("region_code")).select_related(
        "person_a__family", "person_b__family", "run", "decided_by"
    )


def pair_queue(*, actor: Actor, status: str = PairStatus.PENDING, limit: int = 100,
               offset: int = 0) -> list[CandidatePair]:
    """Pairs of the actor's kabupaten, strongest evidence first."""
    scope = review_scope(actor)
    qs = _pairs(scope).filter(status=status).order_by("-evidence", "pk")
    return [p for p in qs[offset:offset + limit] if covers_pair(scope, p)]


def pair_count(*, actor: Actor, status: str = PairStatus.PENDING) -> int:
    return _pairs(review_scope(actor)).filter(status=status).count()


def pair_get(*, actor: Actor, pair_id: int) -> CandidatePair:
    scope = review_scope(actor)
    try:
        pair = _pairs(scope).get(pk=pair_id)
    except (CandidatePair.DoesNotExist, ValueError, TypeError):
        raise NotFound(*_PAIR_NOT_FOUND) from None
    if not covers_pair(scope, pair):
        raise NotFound(*_PAIR_NOT_FOUND)
    return pair


def merge_list(*, actor: Actor, limit: int = 100) -> list[Merge]:
    scope = review_scope(actor)
    qs = (Merge.objects.filter(scope.q("pair__region_code"))
          .select_related("pair__person_a__family", "pair__person_b__family", "kept", "absorbed",
                          "created_by", "undone_by")
          .order_by("-created_at", "-pk"))
    return [m for m in qs[:limit] if covers_pair(scope, m.pair)]


def merge_get(*, actor: Actor, merge_id: int) -> Merge:
    scope = review_scope(actor)
    try:
        merge = Merge.objects.select_related("pair__person_a__family", "pair__person_b__family", "kept",
                                             "absorbed").get(pk=merge_id)
    except (Merge.DoesNotExist, ValueError, TypeError):
        raise NotFound(*_MERGE_NOT_FOUND) from None
    if not covers_pair(scope, merge.pair):
        raise NotFound(*_MERGE_NOT_FOUND)
    return merge


def run_list(*, actor: Actor, limit: int = 20) -> list[LinkageRun]:
    scope = review_scope(actor)
    return list(LinkageRun.objects.filter(scope.q("region_code")).order_by("-started_at")[:limit])


# ------------------------------------------------------------------------------------------- side by side


@dataclass
class Side:
    person: Person
    nik_masked: str
    village: str
    programs: list[str] = field(default_factory=list)


@dataclass
class Level:
    key: str  # nik, name, birth_date, sex, residence, birth_place
    label: str
    value: str
    strength: str  # "exact", "close", "none", "missing"


@dataclass
class PairView:
    pair: CandidatePair
    a: Side
    b: Side
    levels: list[Level]


def _region_name(code: str) -> str:
    from dtsen.regions.selectors import region_get

    try:
        return f"{region_get(code).name} ({code})"
    except Exception:
        return code


def _programs(family_id: int) -> list[str]:
    from dtsen.programs.models import Membership, MembershipStatus

    return sorted(Membership.objects.filter(family_id=family_id, status=MembershipStatus.ACTIVE)
                  .values_list("program", flat=True))


def _digits_differ(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[Level]:
    """Which comparison levels the two prepared rows (from `linkage_input`) reach, in words for the reviewer.
    A readable summary of the model's comparisons, not the model itself (see dtsen.linkage.model)."""
    from django.utils.translation import gettext as _

    out: list[Level] = []
    na, nb = a.get("nik"), b.get("nik")
    if not na or not nb:
        out.append(Level("nik", _("NIK"), _("missing"), "missing"))
    elif na == nb:
        out.append(Level("nik", _("NIK"), _("identical"), "exact"))
    elif _digits_differ(na, nb) == 1:
        out.append(Level("nik", _("NIK"), _("one digit differs"), "close"))
    elif sorted(na) == sorted(nb) and _digits_differ(na, nb) == 2:
        out.append(Level("nik", _("NIK"), _("two digits swapped"), "close"))
    else:
        out.append(Level("nik", _("NIK"), _("different"), "none"))
    if a["name_norm"] == b["name_norm"]:
        out.append(Level("name", _("Name"), _("same after normalising spelling and abbreviations"), "exact"))
    elif a["name_phon"] == b["name_phon"]:
        out.append(Level("name", _("Name"), _("sounds the same"), "close"))
    elif SequenceMatcher(None, a["name_norm"], b["name_norm"]).ratio() >= 0.85:
        out.append(Level("name", _("Name"), _("similar spelling"), "close"))
    elif a["first_word"] == b["first_word"] or (a["last_word"] and a["last_word"] == b["last_word"]):
        out.append(Level("name", _("Name"), _("shares a first or last name"), "close"))
    else:
        out.append(Level("name", _("Name"), _("different"), "none"))
    if a["birth_date"] == b["birth_date"]:
        out.append(Level("birth_date", _("Birth date"), _("identical"), "exact"))
    elif a["birth_swap"] and a["birth_swap"] == b["birth_date"]:
        out.append(Level("birth_date", _("Birth date"), _("day and month swapped"), "close"))
    elif a["birth_year"] == b["birth_year"]:
        out.append(Level("birth_date", _("Birth date"), _("same year"), "close"))
    else:
        out.append(Level("birth_date", _("Birth date"), _("different"), "none"))
    out.append(Level("sex", _("Sex"), _("same") if a["sex"] == b["sex"] else _("different"),
                     "exact" if a["sex"] == b["sex"] else "none"))
    if a["village_code"] == b["village_code"]:
        out.append(Level("residence", _("Residence"), _("same village"), "exact"))
    elif a["kec_code"] == b["kec_code"]:
        out.append(Level("residence", _("Residence"), _("same kecamatan"), "close"))
    elif a["kab_code"] == b["kab_code"]:
        out.append(Level("residence", _("Residence"), _("same kabupaten"), "close"))
    else:
        out.append(Level("residence", _("Residence"), _("different"), "none"))
    pa_, pb_ = a.get("birth_place"), b.get("birth_place")
    if not pa_ or not pb_:
        out.append(Level("birth_place", _("Birth place"), _("missing"), "missing"))
    else:
        out.append(Level("birth_place", _("Birth place"), _("same") if pa_ == pb_ else _("different"),
                         "exact" if pa_ == pb_ else "none"))
    return out


def pair_view(*, actor: Actor, pair_id: int) -> PairView:
    """Both records of a pair side by side (NIK masked) with the comparison levels they reach; audited as a
    read of both persons."""
    pair = pair_get(actor=actor, pair_id=pair_id)
    people = [pair.person_a, pair.person_b]
    niks = [nik_decrypt(p.nik_enc) for p in people]
    raw = pa.table({
        "person_code": [p.person_code for p in people], "nik": niks, "name": [p.name for p in people],
        "sex": [p.sex for p in people], "birth_date": pa.array([p.birth_date for p in people], pa.date32()),
        "birth_place": [p.birth_place or "" for p in people],
        "village_code": [p.family.village_code for p in people],
    })
    rows = linkage_input(raw).to_pylist()
    sides = [Side(person=p, nik_masked=nik_mask(n), village=_region_name(p.family.village_code),
                  programs=_programs(p.family_id)) for p, n in zip(people, niks, strict=True)]
    audit_read(actor=actor, object_type="candidatepair", object_id=pair.pk,
               person_ids=[pair.person_a_id, pair.person_b_id])
    return PairView(pair=pair, a=sides[0], b=sides[1], levels=compare(rows[0], rows[1]))

