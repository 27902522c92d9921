"""Cek Bansos in a real browser (Debian's chromium driven by Playwright): a citizen chooses the region step by
step (the selects cascade with htmx), types a name, answers the challenge and finds a recipient, masked. The
rendered text never holds the full name or a 16-digit number. Saves docs/screenshots/cek-bansos-phone.png and
cek-bansos-desktop.png."""

from __future__ import annotations

import re

import pytest

from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.registry.factories import VILLAGE_A

pytestmark = BROWSER_MARKS
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def _choose(page, key: str, code: str) -> None:
    """Pick a region and wait for htmx to bring the page back with it chosen (again if the change came while
    htmx was still settling the previous swap)."""
    page.locator(".htmx-request, .htmx-settling, .htmx-swapping").first.wait_for(state="detached")
    chosen = page.locator(f"#region-{key} option[value='{code}'][selected]")
    for _ in range(3):
        page.locator(f"#region-{key}").select_option(code)
        try:
            chosen.wait_for(state="attached", timeout=5000)
            return
        except Exception:  # playwright's TimeoutError: choose again
            continue
    chosen.wait_for(state="attached")


@pytest.mark.parametrize(("viewport", "shot"), [
    ({"width": 360, "height": 780}, "cek-bansos-phone.png"),
    ({"width": 1280, "height": 900}, "cek-bansos-desktop.png"),
])
def test_citizen_finds_recipient_masked(live_server, browser, recipient, former, settings, viewport, shot):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if phone else 1, is_mobile=phone,
                                  has_touch=phone, locale="id-ID")
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    posts: list[str | None] = []  # the search form is sent by htmx (HX-Request), not as a page navigation
    page.on("request", lambda r: posts.append(r.headers.get("hx-request")) if r.method == "POST" else None)

    # Given a citizen on Cek Bansos, without logging in
    page.goto(live_server.url + "/cek-bansos/")

    # When she chooses the province, kabupaten, kecamatan and desa (each select appears after the one above)
    for key, code in (("prov", "34"), ("kab", "34.01"), ("kec", "34.01.01"), ("desa", VILLAGE_A)):
        _choose(page, key, code)
    page.locator("#search-form").wait_for()

    # And types the name and answers the security question
    page.locator("#name").fill("budi santoso")
    page.locator("#challenge_answer").fill("PASSED")
    page.locator("#search-form button[type=submit]").click()
    page.locator("#results").wait_for()
    assert posts == ["true"]

    # Then she sees the recipient, masked, with the programs and since when
    text = page.locator("main").inner_text()
    rows = page.locator("[data-recipient]")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "BUD* SAN****" in row
    assert "PKH" in row
    assert "BPNT" in row
    upper = text.upper()
    assert "BUDI" not in upper
    assert "SANTOSO" not in upper
    assert "HARTONO" not in upper
    assert "SITI" not in upper
    assert not SIXTEEN_DIGITS.search(page.content())
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)

    # And a name nobody has in this desa gives "not found"
    page.locator("#name").fill("Joko Susilo")
    page.locator("#challenge_answer").fill("PASSED")
    page.locator("#search-form button[type=submit]").click()
    page.locator("#not-found").wait_for()
    assert page.locator("[data-recipient]").count() == 0
    assert foreign == []
    assert errors == []
    context.close()
