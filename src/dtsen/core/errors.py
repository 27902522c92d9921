"""One error model: business errors carry a stable code and a message in Indonesian and English."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A refused operation. `code` is stable (for API clients and tests); messages are bilingual."""

    code: str = "error"
    status: int = 400

    def __init__(self, message_id: str, message_en: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(f"{message_id} / {message_en}")
        self.message_id = message_id
        self.message_en = message_en
        if code is not None:
            self.code = code
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message_id": self.message_id, "message_en": self.message_en, **self.extra}


class ValidationFailed(ApplicationError):
    code = "validation_failed"
    status = 400


class NotFound(ApplicationError):
    code = "not_found"
    status = 404


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403


class Conflict(ApplicationError):
    code = "conflict"
    status = 409


class NotAuthenticated(ApplicationError):
    """No valid credentials (an API token that is missing, unknown, expired or revoked)."""

    code = "not_authenticated"
    status = 401


class TooManyRequests(ApplicationError):
    """A rate limit was reached; `retry_after` (seconds) tells the client when to try again."""

    code = "rate_limited"
    status = 429
