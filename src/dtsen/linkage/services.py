"""Writes of the linkage app: runs, merges, their undo and dismissals (docs/linkage.md, "Review and merge").

- `linkage_run` reads a region through `selectors.linkage_persons` (NIK decrypted in memory only), trains
  when no parameters are given, predicts, and stores in one transaction the run and every pair with at least
  `REVIEW_BITS` of evidence that is neither decided (`PairDecision`) nor already pending.
- `pair_merge` deactivates the absorbed record through the registry's own services (`person_remove` with
  removal reason `duplikat`; for the head of a family with no other active member, a "ghost family", the
  family through `family_remove`), so versions, events and audit are written the registry way; the
  `Merge` row keeps the status fields before the merge. The head or pengurus of a family with other active
  members cannot be absorbed (the registry refuses it too): keep that record, or change the head first.
- `merge_undo` restores exactly those status fields. The registry has no re-activation service yet, so the
  reverse is written here the way registry services write (stamped version, `aktif_kembali` event, audit
  record with before/after); it belongs in dtsen.registry.services (`person_restore`, `family_restore`).
- `pair_dismiss` records "not a duplicate"; the decision is remembered by the unordered pair of persons.

Permission: `usulan.check` (Dinsos) covering the pair's kabupaten and both persons' villages (outside: not
found); the registry services check `registry.change` as well. Concurrency: a decision claims the pair with a
conditional UPDATE (status still pending), so of two reviewers deciding the same pair one wins and the other
gets a conflict; an undo claims the merge the same way.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dtsen.accounts.permissions import REGISTRY_CHANGE
from dtsen.accounts.selectors import Actor, author_of, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.linkage import engine as eng
from dtsen.linkage import selectors as sel
from dtsen.linkage.model import MODEL_NAME, ModelParams
from dtsen.linkage.models import (
    CandidatePair,
    LinkageRun,
    Merge,
    MergeAction,
    PairDecision,
    PairStatus,
    RunStatus,
)
from dtsen.linkage.prepare import linkage_input
from dtsen.registry import choices as c
from dtsen.registry import services as registry
from dtsen.registry.history import stamp
from dtsen.registry.models import Event, Family, Person

Progress = Callable[[str], None]


class LinkageFailed(ApplicationError):
    """The engine failed (e.g. training found no pairs for a rule on a small region); the run is recorded."""

    code = "linkage_failed"
    status = 500

STATUS_FIELDS = ("status", "status_reason")


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Alasan wajib diisi.", "A reason is required.", field="reason")
    if len(reason) > 300:
        raise ValidationFailed("Alasan paling banyak 300 karakter.", "The reason is at most 300 characters.",
                               field="reason")
    return reason


def _check_region(region_code: str) -> None:
    from dtsen.regions.selectors import region_get

    try:
        region_get(region_code)
    except Exception:
        raise ValidationFailed(f"Kode wilayah '{region_code}' tidak dikenal.", f"Unknown region code "
                               f"'{region_code}'.", field="region") from None


# ------------------------------------------------------------------------------------------------- runs


def linkage_train(*, actor: Actor, region_code: str, engine: str = "duckdb",
                  progress: Progress | None = None) -> ModelParams:
    """Train parameters on the persons of a region (nothing is stored; the caller saves the JSON)."""
    say = progress or (lambda _m: None)
    _check_region(region_code)
    persons = sel.linkage_persons(actor=actor, region_code=region_code)
    say(f"{persons.table.num_rows} persons read")
    params = eng.train(linkage_input(persons.table), engine=engine)
    # a bulk read of the region's persons (NIKs decrypted in memory): on the record like a run
    audit_record(actor=actor, action="linkage.train", object_type="region", object_id=region_code,
                 after={"persons": persons.table.num_rows, "engine": engine, "params_sha256": params.sha256})
    return params


def linkage_run(
    *,
    actor: Actor,
    region_code: str,
    engine: str = "duckdb",
    params: ModelParams | None = None,
    progress: Progress | None = None,
    spark: Any = None,
) -> LinkageRun:
    """Score the persons of a region and queue the likely duplicates for review. A failure is recorded as a
    failed run (no pair written) and raised again (an engine error as `LinkageFailed`)."""
    say = progress or (lambda _m: None)
    if engine not in eng.ENGINES:
        raise ValidationFailed(f"Mesin '{engine}' tidak dikenal.", f"Unknown engine '{engine}'.", field="engine")
    _check_region(region_code)
    sel.run_scope_check(actor, region_code)
    started = timezone.now()
    trained_here = params is None
    info: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        persons = sel.linkage_persons(actor=actor, region_code=region_code)
        table = linkage_input(persons.table)
        info["read_seconds"] = round(time.perf_counter() - t0, 2)
        say(f"{table.num_rows} persons read and prepared")
        if params is None:
            t0 = time.perf_counter()
            say("training (expectation maximisation)...")
            params = eng.train(table, engine=engine, spark=spark)
            info["train_seconds"] = round(time.perf_counter() - t0, 2)
        say("predicting...")
        result = eng.predict(table, params, engine=engine, spark=spark)
        info["predict_seconds"] = round(result.seconds, 2)
        info["pair_counts"] = result.pair_counts
    except Exception as exc:
        run = _run_failed(actor=actor, region_code=region_code, engine=engine, params=params, started=started,
                          trained_here=trained_here, error=exc)
        if isinstance(exc, ApplicationError):
            raise
        raise LinkageFailed(f"Pencocokan #{run.pk} gagal: {exc}", f"Linkage run #{run.pk} failed: {exc}",
                            run=run.pk) from exc
    sizes: dict[Any, int] = {}
    for cid in result.clusters.column("cluster_id").to_pylist():
        sizes[cid] = sizes.get(cid, 0) + 1
    rows = []
    ids = persons.ids
    for left, right, prob, bits in zip(
        result.pairs.column("unique_id_l").to_pylist(), result.pairs.column("unique_id_r").to_pylist(),
        result.pairs.column("match_probability").to_pylist(), result.pairs.column("evidence").to_pylist(),
        strict=True,
    ):
        a, b = sorted((ids[left], ids[right]))
        rows.append((a, b, float(prob), float(bits)))
    say(f"{len(rows)} pairs at or above {eng.REVIEW_BITS:g} bits")
    with transaction.atomic():
        run = LinkageRun.objects.create(
            region_code=region_code, engine=engine, model_name=params.model, params=_params_body(params),
            params_sha256=params.sha256, trained_here=trained_here, review_bits=eng.REVIEW_BITS,
            match_bits=eng.MATCH_BITS, status=RunStatus.DONE, started_at=started, finished_at=timezone.now(),
            created_by=author_of(actor), persons=table.num_rows, pairs_scored=len(rows),
            clusters=sum(1 for n in sizes.values() if n > 1), info=info,
        )
        skip = sel.decided_pairs(person_ids={x for r in rows for x in r[:2]})
        villages = dict(Person.objects.filter(pk__in={x for r in rows for x in r[:2]})
                        .values_list("pk", "family__village_code"))
        new = [
            CandidatePair(run=run, person_a_id=a, person_b_id=b, evidence=bits, match_probability=prob,
                          region_code=villages[a][:5])
            for a, b, prob, bits in rows if (a, b) not in skip
        ]
        CandidatePair.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        run.pairs_queued = CandidatePair.objects.filter(run=run).count()
        run.pairs_skipped = len(rows) - run.pairs_queued
        run.save(update_fields=["pairs_queued", "pairs_skipped"])
        audit_record(actor=actor, action="linkage.run", object_type="linkagerun", object_id=run.pk,
                     after=_run_summary(run), reason=f"linkage {region_code}")
    say(f"{run.pairs_queued} pairs queued for review, {run.pairs_skipped} already decided or pending")
    return run


def _params_body(params: ModelParams) -> dict[str, Any]:
    import json

    body: dict[str, Any] = json.loads(params.as_json())
    return body


def _run_summary(run: LinkageRun) -> dict[str, Any]:
    return {k: getattr(run, k) for k in ("region_code", "engine", "model_name", "params_sha256", "trained_here",
                                          "status", "persons", "pairs_scored", "pairs_queued", "pairs_skipped",
                                          "clusters")}


def _run_failed(*, actor: Actor, region_code: str, engine: str, params: ModelParams | None, started: dt.datetime,
                trained_here: bool, error: Exception) -> LinkageRun:
    with transaction.atomic():
        run = LinkageRun.objects.create(
            region_code=region_code, engine=engine, model_name=params.model if params else MODEL_NAME,
            params=_params_body(params) if params else {}, params_sha256=params.sha256 if params else "",
            trained_here=trained_here, review_bits=eng.REVIEW_BITS, match_bits=eng.MATCH_BITS,
            status=RunStatus.FAILED, started_at=started, finished_at=timezone.now(), created_by=author_of(actor),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        audit_record(actor=actor, action="linkage.run", object_type="linkagerun", object_id=run.pk,
                     after=_run_summary(run), reason=f"linkage {region_code}")
    return run


# --------------------------------------------------------------------------------------------- decisions


def _locked_pair(actor: Actor, pair: CandidatePair) -> CandidatePair:
    scope = sel.review_scope(actor)
    try:
        locked = (CandidatePair.objects.select_for_update(of=("self",))
                  .select_related("person_a__family", "person_b__family").get(pk=pair.pk))
    except CandidatePair.DoesNotExist:
        raise NotFound("Pasangan data tidak ditemukan.", "Pair not found.") from None
    if not sel.covers_pair(scope, locked):
        raise NotFound("Pasangan data tidak ditemukan.", "Pair not found.")
    return locked


def _already_decided() -> Conflict:
    return Conflict("Pasangan ini sudah diputuskan oleh petugas lain.", "This pair has already been decided.")


def _claim(actor: Actor, pair: CandidatePair, status: str, reason: str, now: dt.datetime) -> None:
    """Take the decision on a pending pair, or fail if another reviewer took it first."""
    claimed = CandidatePair.objects.filter(pk=pair.pk, status=PairStatus.PENDING).update(
        status=status, decided_by=author_of(actor), decided_at=now, reason=reason
    )
    if claimed != 1:
        raise _already_decided()
    try:
        with transaction.atomic():
            PairDecision.objects.create(
                person_low_id=pair.person_a_id, person_high_id=pair.person_b_id, decision=status, pair=pair,
                decided_by=author_of(actor), decided_at=now, reason=reason,
            )
    except IntegrityError:
        raise _already_decided() from None
    pair.status, pair.decided_at, pair.reason = status, now, reason


def _status(obj: Any) -> dict[str, str]:
    return {f: getattr(obj, f) for f in STATUS_FIELDS}


@transaction.atomic
def pair_merge(*, actor: Actor, pair: CandidatePair, keep: Person | int, reason: str,
               channel: str = c.Channel.WEB) -> Merge:
    """Merge a pair: `keep` stays, the other record is deactivated as a duplicate (see the module)."""
    reason = _check_reason(reason)
    pair = _locked_pair(actor, pair)
    keep_id = keep if isinstance(keep, int) else keep.pk
    if keep_id not in (pair.person_a_id, pair.person_b_id):
        raise ValidationFailed("Data yang dipertahankan harus salah satu dari pasangan ini.",
                               "The record kept must be one of the pair.", field="keep")
    if pair.status != PairStatus.PENDING:
        raise _already_decided()
    kept_id, absorbed_id = (pair.person_a_id, pair.person_b_id) if keep_id == pair.person_a_id else (
        pair.person_b_id, pair.person_a_id)
    people = {p.pk: p for p in Person.objects.select_for_update(of=("self",)).select_related("family")
              .filter(pk__in=[kept_id, absorbed_id])}
    kept, absorbed = people[kept_id], people[absorbed_id]
    if kept.status != c.RecordStatus.ACTIVE or kept.family.status != c.RecordStatus.ACTIVE:
        raise Conflict("Data yang dipertahankan sudah tidak aktif.", "The record to keep is no longer active.")
    if absorbed.status != c.RecordStatus.ACTIVE or absorbed.family.status != c.RecordStatus.ACTIVE:
        raise Conflict("Data yang digabungkan sudah tidak aktif.", "The record to merge is no longer active.")
    family = absorbed.family
    if absorbed.pk in (family.head_id, family.pengurus_id):
        others = family.members.filter(status=c.RecordStatus.ACTIVE).exclude(pk=absorbed.pk).exists()
        if others:
            raise ValidationFailed(
                "Kepala keluarga atau pengurus yang masih punya anggota aktif tidak dapat digabungkan; "
                "pertahankan data ini atau ganti kepala keluarganya dulu.",
                "The head or pengurus of a family with other active members cannot be merged away; keep this "
                "record or change the head first.", field="keep")
        action = MergeAction.FAMILY
    else:
        action = MergeAction.PERSON
    now = timezone.now()
    snapshot = {"person": _status(absorbed), "family": _status(family), "family_id": family.pk}
    _claim(actor, pair, PairStatus.MERGED, reason, now)
    why = f"Duplikat dari {kept.person_code}: {reason}"[:200]
    if action == MergeAction.PERSON:
        registry.person_remove(actor=actor, person=absorbed, removal_reason=c.RemovalReason.DUPLICATE,
                               channel=channel, reason=why)
    else:
        registry.family_remove(actor=actor, family=family, removal_reason=c.RemovalReason.DUPLICATE,
                               channel=channel, reason=why)
    merge = Merge.objects.create(pair=pair, kept=kept, absorbed=absorbed, action=action, snapshot=snapshot,
                                 reason=reason, created_by=author_of(actor), created_at=now)
    audit_record(actor=actor, action="linkage.merge", object_type="merge", object_id=merge.pk,
                 before={"pair": pair.pk, "status": PairStatus.PENDING, **snapshot},
                 after={"pair": pair.pk, "status": PairStatus.MERGED, "kept": kept.pk, "absorbed": absorbed.pk,
                        "action": action, "evidence": pair.evidence},
                 reason=reason, channel=channel, person_ids=[kept.pk, absorbed.pk])
    return merge


@transaction.atomic
def pair_dismiss(*, actor: Actor, pair: CandidatePair, reason: str, channel: str = c.Channel.WEB) -> CandidatePair:
    """Not a duplicate: the pair leaves the queue and does not come back in later runs."""
    reason = _check_reason(reason)
    pair = _locked_pair(actor, pair)
    if pair.status != PairStatus.PENDING:
        raise _already_decided()
    _claim(actor, pair, PairStatus.DISMISSED, reason, timezone.now())
    audit_record(actor=actor, action="linkage.dismiss", object_type="candidatepair", object_id=pair.pk,
                 before={"status": PairStatus.PENDING}, after={"status": PairStatus.DISMISSED,
                                                               "evidence": pair.evidence},
                 reason=reason, channel=channel, person_ids=[pair.person_a_id, pair.person_b_id])
    return pair


def _restore(obj: Person | Family, *, before_merge: dict[str, str], actor: Actor, channel: str, reason: str,
             merge: Merge) -> None:
    """Put back the status fields a merge changed, as a new stamped version with an event and an audit record
    (the registry's way of writing; this belongs in dtsen.registry.services as a restore service)."""
    current = _status(obj)
    expected = {"status": c.RecordStatus.REMOVED, "status_reason": c.RemovalReason.DUPLICATE}
    if current != expected:
        raise Conflict("Data sudah berubah sejak penggabungan; batalkan secara manual.",
                       "The record changed since the merge; it cannot be restored automatically.")
    village = obj.village_code if isinstance(obj, Family) else obj.family.village_code
    if not require_scope(actor, REGISTRY_CHANGE).covers(village):
        raise PermissionDenied("Wilayah ini di luar kewenangan Anda.", "This region is outside your scope.")
    before = registry.snapshot(obj)
    for f in STATUS_FIELDS:
        setattr(obj, f, before_merge[f])
    stamp(obj, actor=actor, channel=channel, reason=reason)
    obj.save(update_fields=[*STATUS_FIELDS, "updated_at"])
    person = obj if isinstance(obj, Person) else None
    family = obj.family if isinstance(obj, Person) else obj
    audit_record(actor=actor, action="person_restore" if person else "family_restore",
                 object_type="person" if person else "family", object_id=obj.pk, before=before,
                 after=registry.snapshot(obj), reason=reason, channel=channel,
                 person_ids=[obj.pk] if person else None)
    Event.objects.create(
        kind=c.EventKind.RESTORED, family=family, person=person, event_date=timezone.localdate(),
        channel=channel, actor=author_of(actor), reason=reason, data={"merge": merge.pk},
    )


@transaction.atomic
def merge_undo(*, actor: Actor, merge: Merge, reason: str, channel: str = c.Channel.WEB) -> Merge:
    """Undo a merge: the absorbed record (or its family) gets back exactly the status it had; the pair
    returns to the queue and its decision is forgotten. Both the merge and the undo stay in the audit trail."""
    reason = _check_reason(reason)
    try:
        merge = Merge.objects.select_for_update(of=("self",)).select_related("pair").get(pk=merge.pk)
    except Merge.DoesNotExist:
        raise NotFound("Penggabungan tidak ditemukan.", "Merge not found.") from None
    pair = _locked_pair(actor, merge.pair)
    if merge.undone_at is not None:
        raise Conflict("Penggabungan ini sudah dibatalkan.", "This merge has already been undone.")
    now = timezone.now()
    claimed = Merge.objects.filter(pk=merge.pk, undone_at__isnull=True).update(
        undone_at=now, undone_by=author_of(actor), undo_reason=reason
    )
    if claimed != 1:
        raise Conflict("Penggabungan ini sudah dibatalkan.", "This merge has already been undone.")
    why = f"Batal gabung #{merge.pk}: {reason}"[:200]
    if merge.action == MergeAction.PERSON:
        person = Person.objects.select_for_update(of=("self",)).select_related("family").get(pk=merge.absorbed_id)
        _restore(person, before_merge=merge.snapshot["person"], actor=actor, channel=channel, reason=why,
                 merge=merge)
    else:
        family = Family.objects.select_for_update().get(pk=merge.snapshot["family_id"])
        _restore(family, before_merge=merge.snapshot["family"], actor=actor, channel=channel, reason=why,
                 merge=merge)
    PairDecision.objects.filter(person_low_id=pair.person_a_id, person_high_id=pair.person_b_id).delete()
    CandidatePair.objects.filter(pk=pair.pk).update(status=PairStatus.PENDING, decided_by=None, decided_at=None,
                                                    reason="")
    audit_record(actor=actor, action="linkage.merge_undo", object_type="merge", object_id=merge.pk,
                 before={"pair": pair.pk, "status": PairStatus.MERGED},
                 after={"pair": pair.pk, "status": PairStatus.PENDING, "restored": merge.snapshot},
                 reason=reason, channel=channel, person_ids=[merge.kept_id, merge.absorbed_id])
    merge.refresh_from_db()
    return merge
