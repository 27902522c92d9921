"""Who may see what: the region scope of an acting user, used by every selector of personal data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from dtsen.accounts.models import RoleAssignment
from dtsen.accounts.permissions import MATRIX
from dtsen.core.errors import PermissionDenied

Actor = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class Scope:
    """Region codes (subtree roots) where a permission holds; `national` covers everything."""

    national: bool
    prefixes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.national and not self.prefixes

    def q(self, field: str = "village_code") -> Q:
        """A filter on a column of region codes: equal to a root or below it."""
        if self.national:
            return Q()
        q = Q(pk__in=[])
        for code in self.prefixes:
            q |= Q(**{field: code}) | Q(**{f"{field}__startswith": code + "."})
        return q

    def covers(self, region_code: str) -> bool:
        return self.national or any(
            region_code == p or region_code.startswith(p + ".") for p in self.prefixes
        )


_roles_generation = [0]


def roles_generation() -> int:
    """A counter this process bumps whenever a role assignment or a user is saved or deleted here: caches of
    scopes (the DCI partners') compare it to drop what they read before the change."""
    return _roles_generation[0]


def roles_changed(**_: Any) -> None:
    _roles_generation[0] += 1


def scope_for(actor: Actor, permission: str) -> Scope:
    if not actor.is_authenticated or not actor.is_active:
        return Scope(False, ())
    if getattr(actor, "is_superuser", False):
        return Scope(True, ())
    prefixes: set[str] = set()
    for role, region in RoleAssignment.objects.filter(user_id=actor.pk, active=True).values_list(
        "role", "region_code"
    ):
        if permission in MATRIX.get(role, frozenset()):
            if not region:
                return Scope(True, ())
            prefixes.add(region)
    # keep only the outermost roots
    roots = tuple(sorted(p for p in prefixes if not any(p != o and p.startswith(o + ".") for o in prefixes)))
    return Scope(False, roots)


def require_scope(actor: Actor, permission: str) -> Scope:
    scope = scope_for(actor, permission)
    if scope.empty:
        raise PermissionDenied(
            "Anda tidak berwenang melakukan tindakan ini.", "You are not allowed to do this."
        )
    return scope


def author_of(actor: Actor) -> Any:
    """The acting user as the row a write stores as its author (None for an anonymous or system-less call)."""
    return actor if getattr(actor, "is_authenticated", False) else None
