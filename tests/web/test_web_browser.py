"""End to end in a real browser (Debian's chromium driven by Playwright): log in on a phone-sized screen,
find a family with the live search, open its page and its history, and save screenshots for the docs."""

from __future__ import annotations

from urllib.parse import urlsplit

from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Person
from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture

from .conftest import KK_A_NEW, PASSWORD

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = BROWSER_MARKS


def log_in(page, base_url: str) -> None:
    page.goto(base_url + "/")
    assert urlsplit(page.url).path == "/login/"
    page.get_by_label("Nama pengguna").fill("operator.a")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(base_url + "/")


def test_phone_login_search_and_family_page(live_server, browser, operator_a, family_with_past, settings):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    family = family_with_past.family
    head = Person.objects.get(pk=family.head_id)
    masked = nik_mask(nik_decrypt(head.nik_enc))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="id-ID")
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Given an operator of village A on a phone
    log_in(page, live_server.url)
    assert page.locator(".stat-value").first.inner_text() == "1"

    # When she types a name into the family search (htmx live search, no page load)
    page.get_by_role("link", name="Keluarga", exact=True).click()
    # too short for a NIK or a KK number: a 400 whose bilingual message htmx swaps in
    page.get_by_role("searchbox").fill("12345")
    page.locator("#family-results .alert-error", has_text="16 digit").wait_for()
    assert "16 digits" in page.locator("#family-results").inner_text()
    errors.clear()  # the browser logs that expected 400
    with page.expect_response(lambda r: "q=budi" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_role("searchbox").fill("budi")
    result = page.locator(".result", has_text="BUDI SANTOSO")
    result.wait_for()
    page.wait_for_url("**/families/?q=budi*")  # the search is in the address bar (back button, sharing)
    result.click()

    # Then the family page shows the members, the masked NIK and readable labels, and fits the screen
    page.wait_for_url(f"**/families/{family.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "BUDI SANTOSO"
    members = page.locator(".member")
    assert members.count() == 3
    body = page.locator("main").inner_text()
    for text in (masked, "Kepala keluarga", "Istri/suami", "Jangkaran", "Temon", KK_A_NEW, "Semen/bata"):
        assert text in body, text
    assert nik_decrypt(head.nik_enc) not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SCREENSHOTS / "family-phone.png"), full_page=True)

    # And the history tab (loaded by htmx) names who, why and through which channel
    page.get_by_role("tab", name="Riwayat").click()
    page.get_by_text("Koreksi hasil musdes").first.wait_for()
    history = page.locator("#family-tab").inner_text()
    assert "operator.a" in history
    assert "Musyawarah desa (musdes/muskel)" in history
    assert page.url.endswith("?tab=history")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Everything came from the app itself (no CDN), and nothing failed in the page
    assert foreign == []
    assert errors == []
    context.close()

    # The same page on a desktop screen, for the README
    desktop = browser.new_context(viewport=DESKTOP, locale="id-ID")
    page = desktop.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/families/{family.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "BUDI SANTOSO"
    page.screenshot(path=str(SCREENSHOTS / "family-desktop.png"), full_page=True)
    desktop.close()
