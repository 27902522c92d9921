from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from dtsen.accounts.models import Role, RoleAssignment

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
    RoleAssignment.objects.get_or_create(user=user, role=Role.PUSDATIN, region_code="")
    return user  # type: ignore[return-value]


@transaction.atomic
def role_assign(*, user: AbstractUser, role: str, region_code: str = "") -> RoleAssignment:
    assignment, _ = RoleAssignment.objects.get_or_create(user=user, role=role, region_code=region_code)
    if not assignment.active:
        assignment.active = True
        assignment.save(update_fields=["active"])
    return assignment
