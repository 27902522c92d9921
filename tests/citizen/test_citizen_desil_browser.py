"""A verified citizen logs in (Debian's chromium, Playwright), opens her family page and sees the family's desil,
the ranking period and "why this desil" in plain Indonesian: the factors of her own family that lower or raise
the estimated spending (the house walls, the members, the assets...), with no number of another
family. Saves docs/screenshots/citizen-desil-phone.png and citizen-desil-desktop.png."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dtsen.accounts.services import system_actor
from dtsen.ranking.models import RankingResult
from dtsen.ranking.services import ranking_run
from dtsen.registry.models import Person
from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture

from .conftest import PASSWORD, nik_of

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("viewport", "shot"), [
    ({"width": 390, "height": 844}, "citizen-desil-phone.png"),
    ({"width": 1280, "height": 900}, "citizen-desil-desktop.png"),
])
def test_citizen_sees_desil_and_why(live_server, browser, active, family_a, family_b, tmp_path, settings,  # noqa: F811
                                    viewport, shot):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    run = ranking_run(actor=system_actor(), period="2026-Q4", cutoff=timezone.localdate(), work_dir=tmp_path)
    desil = RankingResult.objects.get(run=run, family=family_a).desil
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if phone else 1, is_mobile=phone,
                                  has_touch=phone, locale="id-ID")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Given Siti, whose account Dinsos verified, logs in on the citizen page
    page.goto(live_server.url + "/warga/masuk/")
    page.locator("#email").fill("siti@example.id")
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()

    # When she opens "My family"
    page.get_by_role("link", name="Keluarga saya").first.click()
    card = page.locator("section[aria-labelledby=h-desil]")
    card.wait_for()

    # Then she sees the desil and the ranking period
    text = " ".join(card.inner_text().split())
    assert f"Desil {desil}" in text
    assert "periode pemeringkatan 2026-Q4" in text
    assert card.locator(f"[data-desil='{desil}']").count() == 1

    # And why, in plain Indonesian: her family's earth floor and bamboo walls lower the estimate, its three
    # members are named with their number; each factor says how strong it is
    why = card.locator("[data-why-desil]")
    assert why.is_visible()
    plain = " ".join(why.inner_text().split())
    with translation.override("id"):  # the page's language (the Indonesian catalogue, once merged)
        assert _("Why this desil") in text
        assert _("These make your family's estimated spending lower (a lower desil):") in plain
    with translation.override("id"):
        strengths = "|".join(re.escape(_(w)) for w in ("large effect", "moderate effect", "small effect"))
    assert re.search(rf"\(({strengths})\)", plain), plain
    lower = " ".join(card.locator("[data-factor=lower]").all_inner_texts())
    higher = " ".join(card.locator("[data-factor=higher]").all_inner_texts())
    assert "Dinding bukan tembok" in lower  # woven bamboo walls
    assert re.search(r"Jumlah anggota rumah tangga: 3\b", higher), higher  # three members
    assert "Memiliki sepeda motor" in higher  # the family's motorcycle
    assert not re.search(r"\d\.\d\d", plain)  # plain words here; the numbers are behind "in numbers"
    numbers = card.locator("details.why-numbers")
    assert not numbers.locator("ul").is_visible()
    numbers.locator("summary").click()
    assert re.search(r": [+−]\d\.\d\d", numbers.inner_text())

    # And nothing of the other family (Joko Susilo in Wates), no full NIK
    page_text = page.locator("main").inner_text()
    assert "Joko" not in page_text
    html = page.content()
    for person in Person.objects.filter(family__in=[family_a, family_b]):
        assert nik_of(person) not in html  # her own family's KK number is shown; NIKs only masked
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    context.close()
