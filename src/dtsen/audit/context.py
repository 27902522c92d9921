"""Request context for the audit trail (client IP, channel), set by middleware or by a command."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    ip: str = ""
    channel: str = "system"


_DEFAULT = AuditContext()
# a frozen dataclass, so the shared default cannot be mutated
_current: ContextVar[AuditContext] = ContextVar("dtsen_audit_context", default=_DEFAULT)


def current() -> AuditContext:
    return _current.get()


@contextlib.contextmanager
def audit_context(*, ip: str = "", channel: str = "system") -> Iterator[AuditContext]:
    ctx = AuditContext(ip=ip, channel=channel)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def audit_channel_set(channel: str) -> None:
    """Change the channel of the current request's context (the API's token check marks its requests "api").
    Only inside a request: `AuditContextMiddleware` restores the outer context when the request ends."""
    ctx = _current.get()
    _current.set(AuditContext(ip=ctx.ip, channel=channel))


def request_audit(request: Any, channel: str) -> Any:
    """The audit context of a web request: its client address and the channel its writes come through."""
    return audit_context(ip=request.META.get("REMOTE_ADDR", ""), channel=channel)
