"""Reads of the update workflows, each limited to the acting user's role and region.

- staff see usulan, submissions and visits of villages in their `registry.view` scope (a social worker sees
  only the visits assigned to them; a citizen only their own submissions);
- `work_queue` is "what is waiting for me": the items whose next step the actor may take, with their
  deadline (from the month's schedule) and whether it has passed;
- `report_counts` / `report_throughput` feed `dtsen usulan report` and the report page.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from dtsen.accounts.citizen_selectors import citizen_account_get
from dtsen.accounts.permissions import (
    REGISTRY_VIEW,
    USULAN_CHECK,
    USULAN_DRAFT,
    USULAN_RATIFY,
    VISIT_DO,
)
from dtsen.accounts.selectors import Actor, require_scope, scope_for
from dtsen.audit.services import audit_read
from dtsen.core.errors import NotFound
from dtsen.updates import machine
from dtsen.updates.models import (
    Musdes,
    Submission,
    SubmissionStatus,
    Transition,
    Usulan,
    UsulanStatus,
    Visit,
    VisitStatus,
    Workflow,
)
from dtsen.updates.schedule import Schedule, current_schedule, deadline_for

U = UsulanStatus
S = SubmissionStatus
_USULAN_NOT_FOUND = ("Usulan tidak ditemukan.", "Proposal not found.")
_SUB_NOT_FOUND = ("Pengajuan tidak ditemukan.", "Submission not found.")
_VISIT_NOT_FOUND = ("Tugas kunjungan tidak ditemukan.", "Visit task not found.")
FINAL_USULAN = (U.MUSDES_REJECTED, U.NOT_ELIGIBLE, U.APPLIED, U.CANCELLED)


def usulan_qs(*, actor: Actor) -> QuerySet[Usulan]:
    return Usulan.objects.filter(require_scope(actor, REGISTRY_VIEW).q("village_code"))


def submission_qs(*, actor: Actor) -> QuerySet[Submission]:
    return Submission.objects.filter(require_scope(actor, REGISTRY_VIEW).q("village_code"))


def usulan_get(*, actor: Actor, usulan_id: int) -> Usulan:
    item = usulan_qs(actor=actor).select_related("family", "person", "musdes", "penetapan", "submission").filter(
        pk=usulan_id).first()
    if item is None:
        raise NotFound(*_USULAN_NOT_FOUND)
    audit_read(actor=actor, object_type="usulan", object_id=item.pk,
               person_ids=[item.person_id] if item.person_id else None)
    return item


def usulan_by_reference(*, actor: Actor, reference: str) -> Usulan:
    item = usulan_qs(actor=actor).filter(reference=reference.strip().upper()).first()
    if item is None:
        raise NotFound(*_USULAN_NOT_FOUND)
    return usulan_get(actor=actor, usulan_id=item.pk)


def submission_get(*, actor: Actor, submission_id: int) -> Submission:
    item = submission_qs(actor=actor).select_related("family", "person", "citizen").filter(pk=submission_id).first()
    if item is None:
        raise NotFound(*_SUB_NOT_FOUND)
    audit_read(actor=actor, object_type="pengajuan", object_id=item.pk,
               person_ids=[item.person_id] if item.person_id else None)
    return item


def history(obj: Any) -> list[Transition]:
    """The status changes of an item, oldest first (call only on an item obtained through a selector)."""
    return list(Transition.objects.filter(workflow=machine.workflow_of(obj), object_id=obj.pk)
                .select_related("actor").order_by("at", "pk"))


def visits_of(obj: Any) -> list[Visit]:
    return list(obj.visits.select_related("assigned_to").prefetch_related("photos").order_by("-assigned_at"))


# -------------------------------------------------------------------------------------------- queues


@dataclass
class QueueItem:
    obj: Any
    kind: str  # "usulan", "pengajuan", "kunjungan"
    deadline: dt.date | None
    overdue: bool


@dataclass
class WorkQueue:
    schedule: Schedule
    items: list[QueueItem] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(1 for i in self.items if i.overdue)


_WAITING: dict[str, tuple[str, ...]] = {
    USULAN_DRAFT: (U.DRAFT, U.TO_MUSDES, U.MUSDES_APPROVED, U.RETURNED),
    USULAN_CHECK: (U.DINSOS_CHECK, U.FIELD_CHECK),
    USULAN_RATIFY: (U.VERIFIED,),
}


def work_queue(*, actor: Actor, today: dt.date | None = None, limit: int = 200) -> WorkQueue:
    """What is waiting for the actor, oldest first, with deadlines; overdue when the deadline has passed."""
    today = today or timezone.localdate()
    queue = WorkQueue(schedule=current_schedule(today))
    for permission, statuses in _WAITING.items():
        scope = scope_for(actor, permission)
        if scope.empty:
            continue
        rows = (Usulan.objects.filter(scope.q("village_code"), status__in=statuses)
                .select_related("family").order_by("status_changed_at")[:limit])
        for u in rows:
            due = deadline_for(u.status, timezone.localtime(u.status_changed_at).date())
            queue.items.append(QueueItem(u, "usulan", due, bool(due and due < today)))
    check = scope_for(actor, USULAN_CHECK)
    if not check.empty:
        subs = (Submission.objects.filter(check.q("village_code"), status__in=(S.SUBMITTED, S.FIELD_CHECK, S.VERIFIED))
                .order_by("status_changed_at")[:limit])
        for s in subs:
            due = timezone.localtime(s.status_changed_at).date() + dt.timedelta(days=30)
            queue.items.append(QueueItem(s, "pengajuan", due, due < today))
    if not scope_for(actor, VISIT_DO).empty:
        for v in Visit.objects.filter(assigned_to_id=actor.pk, status=VisitStatus.ASSIGNED).order_by("due_on")[:limit]:
            queue.items.append(QueueItem(v, "kunjungan", v.due_on, v.due_on < today))
    queue.items.sort(key=lambda i: (not i.overdue, i.deadline or dt.date.max))
    return queue


def usulan_list(*, actor: Actor, status: str = "", village_code: str = "", kind: str = "", limit: int = 100,
                offset: int = 0) -> list[Usulan]:
    qs = usulan_qs(actor=actor).select_related("family")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if village_code:
        qs = qs.filter(village_code__startswith=village_code)
    return list(qs.order_by("-status_changed_at")[offset:offset + limit])


def ratification_candidates(*, actor: Actor, region_code: str) -> list[Usulan]:
    """Verified usulan of a kabupaten/kota the ratifier may ratify (the printable list of the batch)."""
    scope = require_scope(actor, USULAN_RATIFY)
    if not scope.covers(region_code):
        return []
    return list(Usulan.objects.filter(status=U.VERIFIED, village_code__startswith=region_code + ".")
                .select_related("family").order_by("village_code", "pk"))


def musdes_pending(*, actor: Actor, village_code: str) -> list[Usulan]:
    """Usulan of a village waiting for its meeting (for the meeting form)."""
    scope = require_scope(actor, USULAN_DRAFT)
    if not scope.covers(village_code):
        return []
    return list(Usulan.objects.filter(village_code=village_code, status=U.TO_MUSDES).order_by("pk"))


def musdes_list(*, actor: Actor, village_code: str = "", limit: int = 50) -> list[Musdes]:
    qs = Musdes.objects.filter(require_scope(actor, REGISTRY_VIEW).q("village_code"))
    if village_code:
        qs = qs.filter(village_code=village_code)
    return list(qs.order_by("-held_on", "-pk")[:limit])


# ------------------------------------------------------------------------------------------- visits


def visit_get(*, actor: Actor, visit_id: int) -> Visit:
    """The worker's own task, or any visit in a Dinsos/registry scope."""
    visit = Visit.objects.select_related("family", "usulan", "submission", "assigned_to").filter(pk=visit_id).first()
    if visit is None:
        raise NotFound(*_VISIT_NOT_FOUND)
    mine = visit.assigned_to_id == getattr(actor, "pk", None)
    if not mine and not scope_for(actor, USULAN_CHECK).covers(visit.village_code) \
            and not scope_for(actor, USULAN_RATIFY).covers(visit.village_code):
        raise NotFound(*_VISIT_NOT_FOUND)
    audit_read(actor=actor, object_type=Workflow.VISIT, object_id=visit.pk)
    return visit


def my_visits(*, actor: Actor, include_done: bool = False) -> list[Visit]:
    qs = Visit.objects.filter(assigned_to_id=getattr(actor, "pk", None)).select_related("family")
    if not include_done:
        qs = qs.filter(status=VisitStatus.ASSIGNED)
    return list(qs.order_by("due_on", "pk"))


def workers_for(*, actor: Actor, village_code: str) -> list[Any]:
    """Social workers a Dinsos user may assign to a family of this village (their region covers it)."""
    from django.contrib.auth import get_user_model

    from dtsen.accounts.models import RoleAssignment
    from dtsen.accounts.permissions import MATRIX

    if not scope_for(actor, USULAN_CHECK).covers(village_code):
        return []
    roles = [r for r, perms in MATRIX.items() if VISIT_DO in perms]
    ids = {
        a.user_id for a in RoleAssignment.objects.filter(role__in=roles, active=True)
        if not a.region_code or village_code == a.region_code or village_code.startswith(a.region_code + ".")
    }
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("username"))


# ------------------------------------------------------------------------------------------ citizens


def my_submissions(*, actor: Actor) -> list[Submission]:
    account = citizen_account_get(actor=actor)
    return list(Submission.objects.filter(citizen=account).order_by("-created_at"))


def my_submission(*, actor: Actor, reference: str) -> Submission:
    account = citizen_account_get(actor=actor)
    item = Submission.objects.filter(citizen=account, reference=reference.strip().upper()).first()
    if item is None:
        raise NotFound(*_SUB_NOT_FOUND)
    return item


def village_families_for_citizen(*, actor: Actor, query: str = "", limit: int = 30) -> list[Any]:
    """Families of the citizen's own village (pengurus/head name, RT/RW; no NIK), to choose whom to contest."""
    from dtsen.accounts.citizen_selectors import citizen_own_family
    from dtsen.registry.models import Family

    own = citizen_own_family(actor=actor)
    qs = Family.objects.filter(village_code=own.family.village_code, status="aktif").select_related("head")
    if query.strip():
        qs = qs.filter(head__name__icontains=query.strip().upper())
    return list(qs.order_by("rw", "rt", "pk")[:limit])


# ------------------------------------------------------------------------------------------ reports


@dataclass
class Report:
    by_status: Counter[str]
    by_region: dict[str, Counter[str]]
    by_age: Counter[str]
    throughput: list[tuple[str, int, int]]  # (YYYY-MM, created, applied)


AGE_BUCKETS = ((7, "0-7 hari"), (30, "8-30 hari"), (90, "31-90 hari"), (10**6, ">90 hari"))


def report(*, actor: Actor, region_code: str = "", level: int = 2, today: dt.date | None = None) -> Report:
    """Counts of usulan by status, by region (kab/kota by default), by age of the open ones, and per month."""
    today = today or timezone.localdate()
    qs = usulan_qs(actor=actor)
    if region_code:
        qs = qs.filter(village_code__startswith=region_code)
    by_status = Counter({r["status"]: r["n"] for r in qs.values("status").annotate(n=Count("pk"))})
    width = {1: 2, 2: 5, 3: 8, 4: 13}[level]
    by_region: dict[str, Counter[str]] = {}
    for code, status in qs.values_list("village_code", "status"):
        by_region.setdefault(code[:width], Counter())[status] += 1
    by_age: Counter[str] = Counter()
    for changed in qs.exclude(status__in=FINAL_USULAN).values_list("created_at", flat=True):
        days = (today - timezone.localtime(changed).date()).days
        by_age[next(label for limit, label in AGE_BUCKETS if days <= limit)] += 1
    created = {r["m"].strftime("%Y-%m"): r["n"] for r in qs.annotate(m=TruncMonth("created_at"))
               .values("m").annotate(n=Count("pk")) if r["m"]}
    applied = {r["m"].strftime("%Y-%m"): r["n"] for r in qs.filter(applied_at__isnull=False)
               .annotate(m=TruncMonth("applied_at")).values("m").annotate(n=Count("pk")) if r["m"]}
    months = sorted(set(created) | set(applied))
    return Report(by_status, dict(sorted(by_region.items())), by_age,
                  [(m, created.get(m, 0), applied.get(m, 0)) for m in months])


# --- CLI and API


def usulan_kinds(*, actor: Actor, references: list[str]) -> dict[str, str]:
    """Reference -> kind of the usulan in the actor's scope (the cut-off command counts returns per kind)."""
    if not references:
        return {}
    return dict(usulan_qs(actor=actor).filter(reference__in=references).values_list("reference", "kind"))


# --- pages (visits and citizens)


def village_family_members_for_citizen(*, actor: Actor, family_id: int) -> tuple[Any, list[Any]]:
    """A family of the citizen's own village and its active members (names and relationship only; pages show
    no NIK), to choose whom a sanggah is about. Outside the village: the same refusal as `sanggah_create`."""
    from dtsen.accounts.citizen_selectors import citizen_own_family, family_members_ordered
    from dtsen.core.errors import PermissionDenied
    from dtsen.registry.models import Family

    own = citizen_own_family(actor=actor)
    family = (Family.objects.filter(pk=family_id, village_code=own.family.village_code, status="aktif")
              .select_related("head").first())
    if family is None:
        raise PermissionDenied(
            "Sanggahan hanya dapat diajukan untuk keluarga di desa/kelurahan Anda sendiri.",
            "You can only contest families in your own village.", code="outside_village",
        )
    members = family_members_ordered(family)
    audit_read(actor=actor, object_type="family", object_id=family.pk, person_ids=[m.pk for m in members])
    return family, members


def submission_list(*, actor: Actor, status: str = "", limit: int = 100) -> list[Submission]:
    """Citizen submissions of the actor's regions (Dinsos queue), oldest change first; default: the open ones."""
    qs = submission_qs(actor=actor).select_related("family__head", "person")
    qs = qs.filter(status=status) if status else qs.filter(status__in=(S.SUBMITTED, S.FIELD_CHECK, S.VERIFIED))
    return list(qs.order_by("status_changed_at", "pk")[:limit])


# --- pages (staff)


@dataclass(frozen=True)
class StaffPages:
    """Which of the staff pages of the update workflows the actor may use (one query; for the navigation)."""

    view: bool = False  # registry.view: the usulan list, detail and report
    draft: bool = False  # usulan.draft: create, edit, the village meeting
    check: bool = False  # usulan.check: Dinsos actions
    ratify: bool = False  # usulan.ratify: penetapan
    visit: bool = False  # visit.do: own visit tasks

    @property
    def any(self) -> bool:
        return self.view or self.draft or self.check or self.ratify or self.visit


def staff_pages(*, actor: Actor) -> StaffPages:
    from dtsen.accounts.models import RoleAssignment
    from dtsen.accounts.permissions import MATRIX

    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return StaffPages()
    if getattr(actor, "is_superuser", False):
        return StaffPages(True, True, True, True, True)
    perms: set[str] = set()
    roles = RoleAssignment.objects.filter(user_id=getattr(actor, "pk", 0) or 0, active=True)
    for role in roles.values_list("role", flat=True):
        perms |= MATRIX.get(role, frozenset())
    return StaffPages(REGISTRY_VIEW in perms, USULAN_DRAFT in perms, USULAN_CHECK in perms, USULAN_RATIFY in perms,
                      VISIT_DO in perms)


def penetapan_get(*, actor: Actor, penetapan_id: int) -> Any:
    """One ratification batch of a kabupaten/kota in the actor's registry.view or ratify scope, with its usulan."""
    from dtsen.updates.models import Penetapan

    batch = Penetapan.objects.select_related("ratified_by").filter(pk=penetapan_id).first()
    if batch is None or not (scope_for(actor, USULAN_RATIFY).covers(batch.region_code)
                             or scope_for(actor, REGISTRY_VIEW).covers(batch.region_code)):
        raise NotFound("Penetapan tidak ditemukan.", "Ratification not found.")
    audit_read(actor=actor, object_type="penetapan", object_id=batch.pk)
    return batch


def penetapan_usulan(*, actor: Actor, penetapan: Any) -> list[Usulan]:
    """The usulan ratified in a batch (call with a batch obtained through `penetapan_get`)."""
    return list(Usulan.objects.filter(penetapan_id=penetapan.pk).order_by("village_code", "pk"))


def penetapan_list(*, actor: Actor, region_code: str = "", limit: int = 20) -> list[Any]:
    """The latest ratification batches in the actor's ratify scope."""
    from dtsen.updates.models import Penetapan

    scope = scope_for(actor, USULAN_RATIFY)
    if scope.empty:
        return []
    qs = Penetapan.objects.filter(scope.q("region_code")).annotate(n=Count("usulan"))
    if region_code:
        qs = qs.filter(region_code=region_code)
    return list(qs.order_by("-decree_date", "-pk")[:limit])


def usulan_documents(*, actor: Actor, usulan: Usulan) -> list[Any]:
    """The documents attached to an usulan (call with an usulan obtained through `usulan_get`)."""
    return list(usulan.documents.order_by("created_at", "pk"))
