# ruff: noqa: F811 - the fixtures imported from test_merge.py are parameters of the tests
"""The review pages (/duplikat/): the queue of the Dinsos' kabupaten, one pair side by side with masked NIKs and
the comparison levels, merge and dismiss with a reason, the history with undo; scope (another kabupaten's pair
is 404 and nothing changes; a role without usulan.check gets 403); no inline script or style."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from dtsen.accounts.models import Role
from dtsen.audit.models import AuditRecord
from dtsen.linkage.models import CandidatePair, Merge, PairStatus
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Person
from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.linkage.test_merge import (  # noqa: F401 - fixtures
    by_name,
    dinsos,
    dinsos_bantul,
    dups,
    queued,
    registry_state,
    staff,
)


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def dewi_pair(dups) -> CandidatePair:
    return queued(by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"]), evidence=38.0)


@pytest.fixture
def agus_pair(dups) -> CandidatePair:
    return queued(by_name("Agus Prasetyo", dups["bantul"]), by_name("Agus Prasetya", dups["bantul2"]))


def no_inline(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_queue_lists_only_my_kabupaten(client, dinsos, dewi_pair, agus_pair):
    html = login(client, dinsos).get(reverse("linkage:queue")).content.decode()
    assert f'data-pair="{dewi_pair.pk}"' in html
    assert f'data-pair="{agus_pair.pk}"' not in html
    assert "DEWI LESTARI" in html
    no_inline(html)


def test_pair_page_side_by_side_with_masked_nik(client, dinsos, dewi_pair):
    dewi = dewi_pair.person_a
    nik = nik_decrypt(dewi.nik_enc)
    resp = login(client, dinsos).get(reverse("linkage:pair", args=[dewi_pair.pk]))
    html = resp.content.decode()
    assert resp.status_code == 200
    assert nik not in html
    assert nik[:6] + "******" + nik[12:] in html
    assert 'data-level="nik" data-strength="exact"' in html
    assert 'data-level="birth_date" data-strength="exact"' in html
    assert dewi_pair.person_a.person_code in html
    assert dewi_pair.person_b.person_code in html
    assert 'name="keep"' in html
    assert 'value="merge"' in html
    assert 'value="dismiss"' in html
    assert resp["Cache-Control"].startswith("no-store") or "no-store" in resp["Cache-Control"]
    no_inline(html)


def test_merge_and_undo_through_the_pages(client, dinsos, dewi_pair):
    before = registry_state()
    login(client, dinsos)
    resp = client.post(reverse("linkage:decide", args=[dewi_pair.pk]),
                       {"action": "merge", "keep": dewi_pair.person_a_id, "reason": "NIK dan tanggal lahir sama"})
    assert resp.status_code == 302
    assert Person.objects.get(pk=dewi_pair.person_b_id).status == c.RecordStatus.REMOVED
    merge = Merge.objects.get()
    html = client.get(reverse("linkage:merges")).content.decode()
    assert f'data-merge="{merge.pk}"' in html
    assert reverse("linkage:undo", args=[merge.pk]) in html
    no_inline(html)
    resp = client.post(reverse("linkage:undo", args=[merge.pk]), {"reason": "Salah gabung"})
    assert resp.status_code == 302
    assert registry_state() == before
    assert AuditRecord.objects.filter(action__in=["linkage.merge", "linkage.merge_undo"]).count() == 2


def test_refusals_re_render_with_the_message(client, dinsos, dewi_pair):
    login(client, dinsos)
    resp = client.post(reverse("linkage:decide", args=[dewi_pair.pk]), {"action": "merge", "reason": "x"})
    assert resp.status_code == 400
    assert "data-error-code" in resp.content.decode()
    resp = client.post(reverse("linkage:decide", args=[dewi_pair.pk]), {"action": "dismiss", "reason": ""})
    assert resp.status_code == 400
    dewi_pair.refresh_from_db()
    assert dewi_pair.status == PairStatus.PENDING


def test_dismiss(client, dinsos, dewi_pair):
    login(client, dinsos)
    resp = client.post(reverse("linkage:decide", args=[dewi_pair.pk]), {"action": "dismiss",
                                                                        "reason": "Dua anak kembar berbeda"})
    assert resp.status_code == 302
    dewi_pair.refresh_from_db()
    assert dewi_pair.status == PairStatus.DISMISSED
    assert dewi_pair.reason == "Dua anak kembar berbeda"
    html = client.get(reverse("linkage:queue")).content.decode()
    assert f'data-pair="{dewi_pair.pk}"' not in html


def test_other_kabupaten_is_404_and_nothing_changes(client, dinsos_bantul, dinsos, dewi_pair):
    state = registry_state()
    login(client, dinsos_bantul)
    assert client.get(reverse("linkage:pair", args=[dewi_pair.pk])).status_code == 404
    resp = client.post(reverse("linkage:decide", args=[dewi_pair.pk]),
                       {"action": "merge", "keep": dewi_pair.person_a_id, "reason": "x"})
    assert resp.status_code == 404
    dewi_pair.refresh_from_db()
    assert dewi_pair.status == PairStatus.PENDING
    assert registry_state() == state
    from dtsen.linkage import services

    merge = services.pair_merge(actor=dinsos, pair=dewi_pair, keep=dewi_pair.person_a_id, reason="sama")
    state = registry_state()
    assert client.post(reverse("linkage:undo", args=[merge.pk]), {"reason": "x"}).status_code == 404
    assert f'data-merge="{merge.pk}"' not in client.get(reverse("linkage:merges")).content.decode()
    assert registry_state() == state
    assert Merge.objects.get().undone_at is None


def test_roles_without_usulan_check_are_refused(client, dewi_pair):
    operator = staff("operator.temon", Role.OPERATOR_DESA, "34.01.01.2001")
    login(client, operator)
    assert client.get(reverse("linkage:queue")).status_code == 403
    assert client.post(reverse("linkage:decide", args=[dewi_pair.pk]),
                       {"action": "dismiss", "reason": "x"}).status_code == 403
    client.logout()
    assert client.get(reverse("linkage:queue")).status_code == 302  # to the login page


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_phone_review_and_merge(live_server, browser, client, settings, dinsos, dewi_pair):
    """On a 360-px phone: the queue, the pair side by side without horizontal scrolling, merge with a reason.
    Saves docs/screenshots/linkage-pair-phone.png."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    client.force_login(dinsos)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context = browser.new_context(viewport={"width": 360, "height": 780}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="id-ID")
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(live_server.url + reverse("linkage:queue"))
    page.locator(f'a[data-pair="{dewi_pair.pk}"]').click()
    page.wait_for_url(f"**{reverse('linkage:pair', args=[dewi_pair.pk])}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator(f'input[name="keep"][value="{dewi_pair.person_a_id}"]').check()
    page.locator("#reason").fill("NIK dan tanggal lahir sama, nama salah ketik")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "linkage-pair-phone.png"), full_page=True)
    page.locator('button[value="merge"]').click()
    page.wait_for_url(f"**{reverse('linkage:queue')}")
    assert Merge.objects.filter(pair=dewi_pair, kept_id=dewi_pair.person_a_id).exists()
    assert not foreign
    assert not errors
    context.close()
