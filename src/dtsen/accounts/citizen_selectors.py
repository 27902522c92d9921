"""Reads for citizens and for the verifiers who review their accounts.

A citizen never goes through the staff selectors (they hold no role, so those refuse them). What a citizen
may read is decided here and only here: their own account, and, once the account is AKTIF, the family their
matched person belongs to today (members and the latest condition snapshot). Any other family id is "not
found".
Verifiers read the review queue of the regions where they hold `citizen.review`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dtsen.accounts.models import CitizenAccount, CitizenStatus
from dtsen.accounts.permissions import CITIZEN_REVIEW
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.audit.services import audit_read
from dtsen.core.errors import NotFound, PermissionDenied
from dtsen.core.masking import mask_nik
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Condition, Family, Person

_NO_ACCOUNT = ("Akun warga tidak ditemukan.", "Citizen account not found.")
_NO_FAMILY = ("Keluarga tidak ditemukan.", "Family not found.")
REVIEW_PAGE = 50


def citizen_account_of(actor: Actor) -> CitizenAccount | None:
    """The actor's own account (any status), or None for staff and anonymous visitors."""
    if not actor.is_authenticated:
        return None
    return CitizenAccount.objects.filter(user_id=actor.pk).first()


def citizen_account_for_login(*, email: str) -> CitizenAccount | None:
    """The account a citizen logs in to with this e-mail: the open one, else the latest rejected one (so a
    rejected citizen can still read the reason). The password check is Django's."""
    accounts = CitizenAccount.objects.filter(email=email.strip().lower()).select_related("user")
    return accounts.exclude(status=CitizenStatus.REJECTED).first() or accounts.order_by("-created_at").first()


def citizen_account_get(*, actor: Actor) -> CitizenAccount:
    account = citizen_account_of(actor)
    if account is None:
        raise NotFound(*_NO_ACCOUNT)
    return account


@dataclass
class OwnFamily:
    account: CitizenAccount
    person: Person  # the citizen in the registry
    family: Family  # the family the person belongs to today


def citizen_own_family(*, actor: Actor) -> OwnFamily:
    """The verified citizen's person and current family (not audited: callers audit what they show)."""
    account = citizen_account_get(actor=actor)
    if account.status != CitizenStatus.ACTIVE or account.person_id is None:
        raise PermissionDenied(
            "Akun Anda belum diverifikasi Dinas Sosial.", "Your account has not been verified by Dinsos yet.",
            code="citizen_not_active",
        )
    person = Person.objects.select_related("family").filter(pk=account.person_id).first()
    active = c.RecordStatus.ACTIVE
    if person is None or person.status != active or person.family.status != active:
        raise NotFound(*_NO_FAMILY)
    return OwnFamily(account=account, person=person, family=person.family)


def family_members_ordered(family: Family) -> list[Person]:
    order: dict[str, int] = {c.Relationship.HEAD: 0, c.Relationship.SPOUSE: 1}
    members = Person.objects.filter(family_id=family.pk, status=c.RecordStatus.ACTIVE)
    return sorted(members, key=lambda p: (order.get(p.relationship, 2), p.birth_date, p.pk))


@dataclass
class CitizenFamily:
    account: CitizenAccount
    person: Person
    family: Family
    members: list[Person]
    condition: Condition | None
    masked_niks: dict[int, str]  # person id → NIK with the birth date starred (pages never get a clear NIK)


def citizen_family(*, actor: Actor, family_id: int | None = None) -> CitizenFamily:
    """The verified citizen's own family, its active members and latest condition snapshot; nothing else.
    `family_id` (from a URL) must be that family's id, else "not found". The read is audited."""
    own = citizen_own_family(actor=actor)
    if family_id is not None and family_id != own.family.pk:
        raise NotFound(*_NO_FAMILY)
    members = family_members_ordered(own.family)
    condition = (
        Condition.objects.filter(family_id=own.family.pk)
        .order_by("-observed_on", "-recorded_at", "-pk")
        .first()
    )
    audit_read(actor=actor, object_type="family", object_id=own.family.pk, person_ids=[m.pk for m in members])
    masked = {m.pk: mask_nik(nik_decrypt(m.nik_enc)) for m in members}
    return CitizenFamily(account=own.account, person=own.person, family=own.family, members=members,
                         condition=condition, masked_niks=masked)


def citizen_desil(*, actor: Actor) -> Any:
    """The verified citizen's own family's desil and why (the same explanation staff see)."""
    from dtsen.ranking.selectors import desil_of_visible_family

    own = citizen_own_family(actor=actor)
    return desil_of_visible_family(family=own.family)


# ------------------------------------------------------------------------------------------ review queue


def citizen_review_queue(
    *, actor: Actor, status: str = CitizenStatus.AWAITING_REVIEW, limit: int = REVIEW_PAGE, offset: int = 0
) -> list[CitizenAccount]:
    """Accounts in `status` whose region the actor reviews, oldest first."""
    scope = require_scope(actor, CITIZEN_REVIEW)
    qs = (
        CitizenAccount.objects.filter(scope.q("region_code"), status=status)
        .select_related("family", "person", "ktp_photo", "selfie_photo")
        .order_by("status_changed_at", "pk")
    )
    return list(qs[offset : offset + limit])


@dataclass
class ReviewItem:
    account: CitizenAccount
    registry_name: str  # the matched person's name in the registry, for comparison with the KTP
    registry_birth_date: dt.date | None
    family_code: str
    village_code: str
    masked_nik: str  # as typed at registration, birth date starred


def citizen_review_account(*, actor: Actor, account_id: int) -> CitizenAccount:
    """An account (any status) in a region the actor reviews; any other is "not found". Not audited."""
    scope = require_scope(actor, CITIZEN_REVIEW)
    account = (
        CitizenAccount.objects.filter(scope.q("region_code"), pk=account_id)
        .select_related("family", "person", "ktp_photo", "selfie_photo", "reviewer")
        .first()
    )
    if account is None:
        raise NotFound(*_NO_ACCOUNT)
    return account


def citizen_review_get(*, actor: Actor, account_id: int) -> ReviewItem:
    """One account of the actor's review queue, with what the verifier compares; the read is audited."""
    account = citizen_review_account(actor=actor, account_id=account_id)
    person = account.person
    audit_read(actor=actor, object_type="citizenaccount", object_id=account.pk,
               person_ids=[person.pk] if person else None)
    return ReviewItem(
        account=account,
        registry_name=person.name if person else "",
        registry_birth_date=person.birth_date if person else None,
        family_code=account.family.family_code if account.family else "",
        village_code=account.family.village_code if account.family else account.region_code,
        masked_nik=mask_nik(nik_decrypt(account.nik_enc)),
    )
