"""Reads about authentication: who needs a second factor, which device a user has, which API tokens exist."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from dtsen.accounts.models import ApiToken, Role, RoleAssignment
from dtsen.accounts.permissions import MATRIX
from dtsen.accounts.selectors import Actor
from dtsen.core.errors import NotFound

# The ratifier signs the final lists (penetapan); the issue requires two factors for "staff who can write or
# ratify". Until the matrix carries a ratify permission the role is named here, so the rule holds from day
# one.
TWO_FACTOR_ROLES = frozenset({Role.RATIFIER.value})


def all_permissions() -> frozenset[str]:
    """Every permission string of the matrix."""
    return frozenset(p for perms in MATRIX.values() for p in perms)


def is_view_permission(permission: str) -> bool:
    return permission.endswith(".view")


def permissions_of(user: Actor) -> frozenset[str]:
    """The permissions the user holds somewhere (in any region) through active role assignments; all of
    them for a superuser; none for an inactive or anonymous user."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if getattr(user, "is_superuser", False):
        return all_permissions()
    roles = RoleAssignment.objects.filter(user_id=user.pk, active=True).values_list("role", flat=True)
    return frozenset(p for role in roles for p in MATRIX.get(role, frozenset()))


def requires_2fa(user: Actor) -> bool:
    """True for superusers and for users with a role that may do more than view (write, bulk, run, review)
    or that ratifies."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    roles = set(RoleAssignment.objects.filter(user_id=user.pk, active=True).values_list("role", flat=True))
    if roles & TWO_FACTOR_ROLES:
        return True
    return any(not is_view_permission(p) for role in roles for p in MATRIX.get(role, frozenset()))


def user_by_username(username: str) -> AbstractBaseUser | None:
    """An account by its exact username (the superuser's reset page)."""
    return get_user_model().objects.filter(username=username).first()


def two_factor_device(user: Actor) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if enrolled."""
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def api_token_list(*, user_id: int | None = None) -> QuerySet[ApiToken]:
    """Tokens, newest first (for the command line: who holds which token, until when)."""
    qs = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs


def api_token_get(*, prefix: str) -> ApiToken:
    """A token by its prefix (the part of the token between the first and the second "_")."""
    token = ApiToken.objects.select_related("user").filter(prefix=prefix.strip()).first()
    if token is None:
        raise NotFound("Token tidak ditemukan.", "Token not found.")
    return token
