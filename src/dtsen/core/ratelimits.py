"""Rate limits on login, on the citizen (public) endpoints, on every other anonymous request, and on the API.

Counting: a fixed window per limit and key, counted in the cache (`count_limits`: every limit that applies to a
request in one Redis round trip). The cache must be
shared by all worker processes and increment atomically: Redis in production (`DTSEN_REDIS_URL`); without it,
local memory, so each worker process counts on its own (development and the embedded demo; see
docs/authentication.md).

The limits are applied by `RateLimitMiddleware`, by URL name, so a view cannot forget them:

- `RULES`: named views with their own limits (staff and citizen login, citizen registration and one-time code,
  the 2FA forms). Limits keyed by a form field count that value together with the client address, so one
  address cannot guess passwords of one account quickly, and a second, wider limit per address caps guessing
  across accounts.
- `PUBLIC`: every request of an anonymous client, on top of the above (staff who are logged in are not
  limited on their pages).
- The API counts its requests itself (`dtsen.api.auth`), with `API`; the DCI endpoints with `DCI`, counted in
  batches per worker (`batched_limit_reached`: their limit is high and their requests many).

Rates are per client address, and many mobile users can share one address (carrier-grade NAT): a deployment
can change any rate by group name in the setting `RATE_LIMITS` (e.g. {"public": "300/m"}) without code.

A refused request gets 429 with a bilingual message (JSON under /api/ or for JSON clients) and Retry-After.
`public_limit` / `login_limit` apply the same limits to a single view, for a view that is not in `RULES`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django_redis.cache import RedisCache

from dtsen.audit.middleware import client_ip
from dtsen.core.errors import TooManyRequests
from dtsen.core.middleware import application_error_response

logger = logging.getLogger(__name__)

ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_FIELD_LENGTH = 200  # a longer form value is cut before it goes into the key (it is hashed anyway)


@dataclass(frozen=True)
class Limit:
    """At most `rate` ("5/m", "10/h") requests with one of `methods` per client address, or per client address
    and value of the POST `field` (e.g. the username), or per user (`per_user`)."""

    group: str
    rate: str
    methods: tuple[str, ...] = ("POST",)
    field: str = ""
    per_user: bool = False

    def key(self, group: str, request: HttpRequest) -> str:
        if self.per_user:
            return f"user:{getattr(request.user, 'pk', '')}"
        address = client_ip(request)
        if not self.field:
            return address
        value = str(request.POST.get(self.field, "")).strip().lower()[:MAX_FIELD_LENGTH]
        return f"{address}|{value}"


LOGIN = (Limit("login-account", "5/m", field="username"), Limit("login-address", "30/m"))
RULES: dict[str, tuple[Limit, ...]] = {
    "login": LOGIN,
    "admin:login": LOGIN,
    "citizen:login": (
        Limit("citizen-login-account", "5/m", field="email"),
        Limit("citizen-login-address", "30/m"),
    ),
    "citizen:register": (Limit("citizen-register", "30/h"),),
    "citizen:otp": (Limit("citizen-otp", "10/m"),),
    "citizen:otp_resend": (Limit("citizen-otp-resend", "10/h"),),
    "two_factor:setup": (Limit("two-factor-setup", "10/m", per_user=True),),
    "two_factor:verify": (Limit("two-factor-verify", "10/m", per_user=True),),
    "updates:visit_detail": (Limit("visit-submit", "20/m", per_user=True),),
    "public:search": (Limit("public-search", "10/m"),),  # Cek Bansos: searches per address
    **dict.fromkeys(("submissions:usul", "submissions:program", "submissions:sanggah", "submissions:correction"), (
        Limit("citizen-submit", "10/m", per_user=True), Limit("citizen-submit-day", "50/d", per_user=True))),
}
PUBLIC = Limit("public", "120/m", methods=ALL_METHODS)
API = Limit("api", "300/m", methods=ALL_METHODS)
# Partner systems of the DCI API sign every message and sync in bulk: a high limit per address (a partner's
# gateway), to be set per deployment with RATE_LIMITS["dci"].
DCI = Limit("dci", "60000/m", methods=ALL_METHODS)
# The API and the DCI endpoints count with `API` / `DCI` themselves (their requests carry no session: every one
# is "anonymous").
EXEMPT_NAMESPACES = frozenset({"api-v1", "dci"})


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FLUSH_SECONDS = 0.25


def _parse_rate(rate: str) -> tuple[int, int]:
    """"60000/m" -> (60000, 60); "100/5m" -> (100, 300) (django-ratelimit's notation)."""
    count, _, period = rate.partition("/")
    return int(count), int(period[:-1] or "1") * _PERIODS[period[-1]]


@dataclass
class _Pending:
    window: int
    pending: int = 0  # counted here, not yet added to the shared counter
    total: int = 0  # the shared counter at the last flush
    flushed_at: float = 0.0


_pending: dict[str, _Pending] = {}


def batched_counts_clear() -> None:
    """Forget this process's unflushed counts (tests: one test's requests must not count in the next)."""
    _pending.clear()


def batched_limit_reached(request: HttpRequest, limit: Limit) -> TooManyRequests | None:
    """`limit_reached` for the high limits of machine clients (the DCI API: tens of thousands a minute from one
    partner gateway), where two cache round trips per request cost more than the search they guard. Each worker
    process counts on its own and adds its count to the shared counter in the cache (one fixed window per
    period, as django-ratelimit keeps them) every `rate // 1000` requests or every 0.25 s, and refuses when the
    shared count plus its own unflushed count is over the limit. The shared count can pass the limit by at most
    workers x batch requests (4 x 60 on 60000/m); a rate below 2000 per period is counted request by request,
    exactly. The cache down: counting stops (logged), as RATELIMIT_FAIL_OPEN says for the other limits."""
    allowed, period = _rate(limit)
    now = time.time()
    window = int(now // period)
    key = f"rlb:{limit.group}:{limit.key(limit.group, request)}"
    state = _pending.get(key)
    if state is None or state.window != window:
        if len(_pending) > 10_000:
            _pending.clear()
        state = _pending[key] = _Pending(window)
    state.pending += 1
    if state.pending >= max(1, allowed // 1000) or now - state.flushed_at >= FLUSH_SECONDS:
        counts = _incr_many([(f"{key}:{window}", period + 5)], by=state.pending)
        if counts is not None:  # else the cache failed (logged): counting stops rather than refuse every partner
            state.total, state.pending = counts[0], 0
        state.flushed_at = now
    if state.total + state.pending <= allowed:
        return None
    return _refusal(request, limit, wait=max(int((window + 1) * period - now), 1))


def _refusal(request: HttpRequest, limit: Limit, *, wait: int) -> TooManyRequests:
    """The refusal of a request over `limit` (logged): bilingual, with the seconds to wait."""
    logger.warning("rate limit %s reached by %s", limit.group, client_ip(request))
    return TooManyRequests(
        f"Terlalu banyak permintaan. Coba lagi dalam {wait} detik.",
        f"Too many requests. Try again in {wait} seconds.",
        retry_after=wait,
    )


def _rate(limit: Limit) -> tuple[int, int]:
    return _parse_rate(getattr(settings, "RATE_LIMITS", {}).get(limit.group, limit.rate))


# Redis: every counter of a request in one command (the script is sent once per connection, then run by its
# SHA-1); a counter gets its time to live when it is created, in the same atomic step.
_COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCRBY', key, ARGV[1])
  if counts[i] == tonumber(ARGV[1]) then redis.call('EXPIRE', key, ARGV[i + 1]) end
end
return counts
"""


def _incr_many(keys: list[tuple[str, int]], *, by: int = 1) -> list[int] | None:
    """Add `by` to each counter (key, seconds to live) and return the new counts; on Redis in one round trip
    (one Lua script for all counters). The one place where the limits count. None when the cache failed:
    counting stops (logged) rather than refusing every client, as RATELIMIT_FAIL_OPEN says."""
    store = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    try:
        if isinstance(store, RedisCache):
            client = store.client.get_client(write=True)
            script = getattr(client, "_dtsen_count_script", None)
            if script is None:  # registered once per Redis client
                script = client._dtsen_count_script = client.register_script(_COUNT_SCRIPT)
            counts = script(keys=[str(store.make_key(key)) for key, _ in keys], args=[by, *(ttl for _, ttl in keys)])
            return [int(n) for n in counts]
        counts = []
        for key, ttl in keys:
            store.add(key, 0, ttl)
            counts.append(int(store.incr(key, by)))
        return counts
    except Exception:  # any cache failure (Redis down, a counter evicted between add and incr)
        logger.warning("rate limits not counted: the cache failed", exc_info=True)
        return None


def count_limits(request: HttpRequest, limits: tuple[Limit, ...]) -> TooManyRequests | None:
    """Count this request against each of `limits` that applies to its method (all of them, in one cache round
    trip) and return the refusal of the first one that is over, if any. Fixed windows of each limit's period.
    RATELIMIT_ENABLE = False (django-ratelimit's setting) switches counting off."""
    applicable = [limit for limit in limits if request.method in limit.methods]
    if not applicable or not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    now = time.time()
    plans = []
    for limit in applicable:
        allowed, period = _rate(limit)
        window = int(now // period)
        value = hashlib.sha256(limit.key(limit.group, request).encode()).hexdigest()[:32]
        plans.append((limit, allowed, period, window, f"rl:{limit.group}:{value}:{window}"))
    counts = _incr_many([(key, period + 1) for _, _, period, _, key in plans])
    if counts is None:
        return None
    for (limit, allowed, period, window, _), count in zip(plans, counts, strict=True):
        if count > allowed:
            return _refusal(request, limit, wait=max(int((window + 1) * period - now), 1))
    return None


def limit_reached(request: HttpRequest, limit: Limit) -> TooManyRequests | None:
    """Count this request against `limit`; the refusal to return when it is over."""
    return count_limits(request, (limit,))


def too_many_requests_response(request: HttpRequest, error: TooManyRequests) -> HttpResponse:
    response = application_error_response(request, error)
    response["Retry-After"] = str(error.extra.get("retry_after", 60))
    return response


def _first_refusal(request: HttpRequest, limits: tuple[Limit, ...]) -> HttpResponse | None:
    error = count_limits(request, limits)
    return too_many_requests_response(request, error) if error is not None else None


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        name = match.view_name if match else ""
        if match is not None and set(match.namespaces) & EXEMPT_NAMESPACES:
            return None
        limits = RULES.get(name, ())
        if not request.user.is_authenticated:
            limits = (*limits, PUBLIC)
        return _first_refusal(request, limits) if limits else None


ViewFunc = Callable[..., HttpResponseBase]


def public_limit(
    rate: str, *, group: str = "", methods: tuple[str, ...] = ("POST",), field: str = ""
) -> Callable[[ViewFunc], ViewFunc]:
    """Decorator: at most `rate` requests per client address (and POST `field` value) for this view."""

    def decorator(view: ViewFunc) -> ViewFunc:
        limit = Limit(group or f"{view.__module__}.{view.__qualname__}", rate, methods, field)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            refused = _first_refusal(request, (limit,))
            return refused if refused is not None else view(request, *args, **kwargs)

        return wrapper

    return decorator


def login_limit(view: ViewFunc) -> ViewFunc:
    """Decorator: the staff login limits (`LOGIN`) for another login form that posts `username`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refused = _first_refusal(request, LOGIN)
        return refused if refused is not None else view(request, *args, **kwargs)

    return wrapper
