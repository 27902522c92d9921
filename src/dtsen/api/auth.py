"""Bearer-token authentication of the API: the token must be genuine, unexpired, unrevoked, of an active user,
and carry the permission the endpoint needs. Requests are counted against the API rate limit first (also
those without a token), and are recorded in the audit trail with the channel "api"."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from dtsen.accounts.auth_services import api_token_authenticate
from dtsen.accounts.models import ApiToken
from dtsen.audit.context import audit_channel_set
from dtsen.core.errors import NotAuthenticated, PermissionDenied
from dtsen.core.ratelimits import API, limit_reached

CHANNEL = "api"
MAX_HEADER = 512


class TokenAuth(HttpBearer):
    """`Authorization: Bearer dtsen_<prefix>_<secret>`, with `permission` among the token's scopes (None: any
    valid token, for public reference data such as regions)."""

    def __init__(self, permission: str | tuple[str, ...] | None) -> None:
        super().__init__()
        self.permission = permission

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        audit_channel_set(CHANNEL)
        refused = limit_reached(request, API)
        if refused is not None:
            raise refused
        header = request.headers.get(self.header, "")
        if not header:
            raise NotAuthenticated(
                "Sertakan token API: Authorization: Bearer <token>.",
                "Send the API token: Authorization: Bearer <token>.",
                code="token_missing",
            )
        scheme, _, raw = header[:MAX_HEADER].partition(" ")
        if scheme.lower() != self.openapi_scheme or not raw.strip():
            raise NotAuthenticated(
                "Token API tidak sah.", "The API token is not valid.", code="token_invalid"
            )
        return self.authenticate(request, raw)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = api_token_authenticate(raw=token)
        if self.permission is not None:
            require_token_scope(api_token, self.permission)
        request.user = api_token.user
        return api_token


def require_token_scope(api_token: ApiToken, permission: str | tuple[str, ...]) -> None:
    """403 `scope_missing` unless the token carries `permission` (or one of them, for a tuple). The user's roles
    are checked by the selectors and services on top: a scope never widens what the user may do."""
    wanted = (permission,) if isinstance(permission, str) else permission
    if not any(p in api_token.scopes for p in wanted):
        permission = " / ".join(wanted)
        raise PermissionDenied(
            f"Token ini tidak mencakup izin {permission}.",
            f"This token does not carry the permission {permission}.",
            code="scope_missing",
        )
