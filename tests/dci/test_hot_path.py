"""The sync search's hot path: partners, keys and scopes cached per process but dropped when they change here,
the replay check and the audit record written together, and the browser middleware skipped for /dci/."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from dtsen.accounts.models import RoleAssignment
from dtsen.accounts.services import role_assign, role_revoke, system_actor
from dtsen.audit.models import AuditRecord
from dtsen.dci import selectors
from dtsen.dci.models import SeenMessage
from dtsen.dci.services import partner_deactivate, partner_key_revoke
from dtsen.dci.signing import public_pem
from tests.dci.conftest import SYNC_SEARCH, id_search, nik, post

pytestmark = pytest.mark.django_db


def _found(response) -> int:
    assert response.status_code == 200, response.content
    [item] = response.json()["message"]["search_response"]
    return len(item["data"]["reg_records"])


def test_the_partner_is_read_once_then_from_the_cache(client, registry, kulon_progo):
    assert _found(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head))))) == 1
    assert ("siks.kulonprogo", "k1") in selectors._partner_cache
    calls = []
    original = selectors._partner_keys_read
    selectors._partner_keys_read = lambda **kw: calls.append(kw) or original(**kw)  # type: ignore[assignment]
    try:
        assert _found(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.wates.head))))) == 1
    finally:
        selectors._partner_keys_read = original  # type: ignore[assignment]
    assert calls == []


def test_a_revoked_key_and_a_deactivated_partner_take_effect_at_once(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    assert _found(post(client, SYNC_SEARCH, envelope)) == 1  # cached now
    second = ed25519.Ed25519PrivateKey.generate()
    from dtsen.dci.services import partner_key_add

    partner_key_add(actor=system_actor(), partner=kulon_progo.partner, key_id="k2", public_key_pem=public_pem(second))
    partner_key_revoke(actor=system_actor(), partner=kulon_progo.partner, key_id="k1")
    response = post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head))))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "err.signature.invalid"
    kulon_progo.key_id, kulon_progo.key = "k2", second
    assert _found(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head))))) == 1
    partner_deactivate(actor=system_actor(), partner=kulon_progo.partner, reason="kontrak selesai")
    response = post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head))))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "err.sender_id.invalid"


def test_a_role_change_of_the_partner_user_changes_what_it_finds_at_once(client, registry, kulon_progo):
    bantul = nik(registry.bantul.head)
    assert _found(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(bantul)))) == 0  # cached: Kulon Progo
    user = kulon_progo.partner.user
    role_assign(user=user, role="dinsos_verifier", region_code="34.02", reason="uji / test")
    assert _found(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(bantul)))) == 1
    for assignment in RoleAssignment.objects.filter(user=user, active=True):
        role_revoke(assignment=assignment, actor=system_actor(), reason="uji / test")
    response = post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head))))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "err.request.forbidden"


def test_a_replay_is_refused_after_the_search_and_audited_with_the_message_id_once(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    assert _found(post(client, SYNC_SEARCH, envelope)) == 1
    replay = post(client, SYNC_SEARCH, envelope)
    assert replay.status_code == 200
    body = replay.json()
    assert body["header"]["status"] == "rjct"
    assert body["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    assert "message" not in body  # the results found again are not sent
    assert SeenMessage.objects.filter(message_id=envelope["header"]["message_id"]).count() == 1
    records = AuditRecord.objects.filter(action="dci.sync_search").order_by("seq")
    outcomes = list(records.values_list("after", flat=True))
    assert [a["outcome"] for a in outcomes] == ["succ", "rjct.message_id.duplicate"]
    assert all(a["message_id"] == envelope["header"]["message_id"] for a in outcomes)
    record = AuditRecord.objects.filter(action="dci.sync_search").first()
    assert record.actor_username == kulon_progo.partner.user.username
    assert record.roles == "dinsos_verifier"
    assert record.region == "34.01"


def test_dci_skips_the_browser_middleware_but_keeps_the_security_headers(client, registry, kulon_progo):
    response = post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head))))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert not response.cookies
    assert "Cookie" not in response.headers.get("Vary", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert post(client, "/dci/registry/no/such/path", {}).status_code == 404


def test_the_dci_limit_is_counted_in_batches_and_still_holds(rf, settings):
    """3000/m: each worker adds its count to the shared counter every 3 requests (or 0.25 s), so most requests
    cost no cache round trip; the 3001st request of the minute is refused all the same."""
    from django.core.cache import caches

    from dtsen.core import ratelimits

    settings.RATE_LIMITS = {"dci": "3000/m"}
    request = rf.post("/dci/registry/sync/search", REMOTE_ADDR="10.1.2.3")
    store = caches[settings.RATELIMIT_USE_CACHE]
    flushes = []
    original_incr = store.incr
    store.incr = lambda key, delta=1, **kw: flushes.append(delta) or original_incr(key, delta, **kw)
    try:
        refused = [ratelimits.batched_limit_reached(request, ratelimits.DCI) for _ in range(3001)]
    finally:
        del store.incr
    assert all(r is None for r in refused[:3000])
    assert refused[3000] is not None
    assert refused[3000].extra["retry_after"] >= 1
    assert sum(flushes) == 3001
    assert 1000 <= len(flushes) <= 1100  # batches of 3 (a few earlier after 0.25 s), not a round trip per request
    other = rf.post("/dci/registry/sync/search", REMOTE_ADDR="10.9.9.9")
    assert ratelimits.batched_limit_reached(other, ratelimits.DCI) is None  # counted per address
