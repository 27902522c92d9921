from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from dtsen.accounts.models import Role, RoleAssignment
from dtsen.audit.services import audit_record
from dtsen.core.errors import ValidationFailed

SYSTEM_USERNAME = "system"


@transaction.atomic
def system_actor() -> AbstractUser:
    """The actor of command-line batch work (imports, synthetic data): national data administrator."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": True, "first_name": "Sistem"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit_record(
            actor=None,
            action="system_actor",
            object_type="user",
            object_id=user.pk,
            after={"username": SYSTEM_USERNAME},
            reason="Akun sistem untuk pekerjaan batch / batch actor",
        )
    if not RoleAssignment.objects.filter(user=user, role=Role.PUSDATIN, region_code="").exists():
        role_assign(
            user=user, role=Role.PUSDATIN, region_code="", actor=None, reason="Akun sistem / system account"
        )
    return user


def _assignment_snapshot(a: RoleAssignment) -> dict[str, Any]:
    return {"user_id": a.user_id, "role": a.role, "region_code": a.region_code, "active": a.active}


@transaction.atomic
def role_assign(
    *, user: AbstractUser, role: str, region_code: str = "", actor: Any = None, reason: str = ""
) -> RoleAssignment:
    """Give `user` the `role` in `region_code` (empty = national). Audited; re-activating is a change too."""
    if role not in Role.values:
        raise ValidationFailed(f"Peran '{role}' tidak dikenal.", f"Unknown role '{role}'.", field="role")
    assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role, region_code=region_code)
    before = None if created else _assignment_snapshot(assignment)
    if not created and assignment.active:
        return assignment
    if not assignment.active:
        assignment.active = True
        assignment.save(update_fields=["active"])
    audit_record(
        actor=actor,
        action="role_assign",
        object_type="roleassignment",
        object_id=assignment.pk,
        before=before,
        after=_assignment_snapshot(assignment),
        reason=reason,
    )
    return assignment


@transaction.atomic
def role_revoke(*, assignment: RoleAssignment, actor: Any = None, reason: str = "") -> RoleAssignment:
    """End an assignment (kept, inactive: history stays). Audited."""
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    if not assignment.active:
        return assignment
    before = _assignment_snapshot(assignment)
    assignment.active = False
    assignment.save(update_fields=["active"])
    audit_record(
        actor=actor,
        action="role_revoke",
        object_type="roleassignment",
        object_id=assignment.pk,
        before=before,
        after=_assignment_snapshot(assignment),
        reason=reason,
    )
    return assignment
