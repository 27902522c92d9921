"""Every request runs inside an audit context: the client's IP address and the channel ("web"; the API's token
check switches its requests to "api"), so views and services need not pass them to `audit_record`.

The client address is REMOTE_ADDR. X-Forwarded-For is believed only when the request comes from one of the
reverse proxies named in DTSEN_TRUSTED_PROXY (settings.TRUSTED_PROXIES: addresses or networks); the client is
then the right-most address of the header that is not itself a trusted proxy. Anyone can send the header, so
trusting it from elsewhere would let a client write any address into the audit trail and dodge lockouts and
rate limits. The same function gives the address to django-axes and to the rate limits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from dtsen.audit.context import audit_context

WEB = "web"
MAX_IP_LENGTH = 45  # AuditRecord.ip


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    proxies: tuple[str, ...] = tuple(getattr(settings, "TRUSTED_PROXIES", ()))
    return addr is not None and any(addr in net for net in _networks(proxies))


def client_ip(request: HttpRequest) -> str:
    """The address of the client that sent `request` (see the module docstring); worked out once per request
    (the audit context, the rate limits and django-axes all ask)."""
    known = request.META.get("dtsen.client_ip")
    if known is None:
        known = request.META["dtsen.client_ip"] = _client_ip(request)
    return str(known)


def _client_ip(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))[:MAX_IP_LENGTH]
    if not _trusted(_address(remote)):
        return remote
    hops = [h for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break  # a malformed entry: nothing to its left can be trusted either
        if not _trusted(addr):
            return str(addr)
    return remote


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_context(ip=client_ip(request), channel=WEB):
            return self.get_response(request)
