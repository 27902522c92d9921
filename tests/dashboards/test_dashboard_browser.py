"""The staff dashboard in a real browser (Debian's chromium driven by Playwright): a Dinsos user of Kulon Progo
logs in and sees only their kabupaten (its name on the page, Bantul's nowhere, the drill-down offering only
Kulon Progo's kecamatan), the charts are drawn, the map renders (Leaflet, SVG paths), the page fits a 390-px
phone, nothing is fetched from another server and the console stays clean (CSP). Saves
docs/screenshots/dashboard-phone.png, dashboard-desktop.png, map-phone.png and map-desktop.png."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from dtsen.dashboards.geo import boundary_file
from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.dashboards.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = BROWSER_MARKS


def _open(browser: Any, live_server: Any, viewport: dict[str, int], **kw: Any) -> tuple[Any, Any, list[str], list[str]]:  # noqa: F811
    context = browser.new_context(viewport=viewport, locale="id-ID", **kw)
    page = context.new_page()
    foreign: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, foreign, errors


def _login(page: Any, live_server: Any, username: str) -> None:
    page.goto(live_server.url + "/dasbor/")
    assert urlsplit(page.url).path == "/login/"
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/dasbor/")


def _map_renders(page: Any) -> None:
    page.locator("[data-choropleth][data-rendered='true']").wait_for(timeout=20_000)
    assert page.locator("[data-choropleth] svg path").count() > 0


def test_dinsos_sees_only_their_kabupaten_and_the_map(live_server, browser, world, pusdatin, settings):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    kabupaten_map = boundary_file("34") is not None  # the map app may ship kabupaten boundaries of DIY

    # Given a Dinsos verifier of Kulon Progo on a phone
    context, page, foreign, errors = _open(browser, live_server, PHONE, device_scale_factor=2, is_mobile=True,
                                           has_touch=True)
    _login(page, live_server, world["dinsos"].get_username())

    # Then the dashboard is Kulon Progo's, and nothing of Bantul is on it
    main = page.locator("main")
    text = main.inner_text()
    assert "Kabupaten Kulon Progo" in text
    assert "Bantul" not in text
    assert "Srandakan" not in text
    options = page.locator("#drill-region option").evaluate_all("els => els.map(e => e.value)")
    assert options
    assert all(code.startswith("34.01.") for code in options)
    assert "34.01.01" in options
    page.locator("main[data-charts-rendered]").wait_for()
    assert int(main.get_attribute("data-charts-rendered")) >= 5
    assert page.locator("canvas[data-chart='desil'][data-rendered='true']").count() == 1
    if kabupaten_map:
        _map_renders(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # every chart has its table
    page.locator("details.dash-details summary").first.click()
    assert page.locator("table[data-table='desil']").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)

    # When they drill down to Temon, only Temon's desa are offered
    page.locator("#drill-region").select_option("34.01.01")
    page.locator("form.dash-drill button[type=submit]").click()
    page.wait_for_url("**/dasbor/?region=34.01.01")
    options = page.locator("#drill-region option").evaluate_all("els => els.map(e => e.value)")
    assert all(code.startswith("34.01.01.") for code in options)
    assert "Kabupaten Kulon Progo" in page.locator("nav .dash-trail").inner_text()

    # And Bantul's dashboard is refused
    response = page.goto(live_server.url + "/dasbor/34.02/")
    assert response.status == 403
    assert foreign == []
    assert [e for e in errors if "403" not in e] == []
    context.close()

    # On a desktop: the dashboard, and the map (the Dinsos user's own when the kabupaten boundaries of DIY
    # are shipped, else the national map of a Pusdatin user)
    context, page, foreign, errors = _open(browser, live_server, DESKTOP)
    _login(page, live_server, world["dinsos"].get_username() if kabupaten_map else pusdatin.get_username())
    page.locator("main[data-charts-rendered]").wait_for()
    _map_renders(page)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-desktop.png"), full_page=True)
    page.locator("[data-panel='map']").screenshot(path=str(SCREENSHOTS / "map-desktop.png"))
    assert foreign == []
    assert errors == []
    context.close()

    context, page, foreign, errors = _open(browser, live_server, PHONE, device_scale_factor=2, is_mobile=True,
                                           has_touch=True)
    _login(page, live_server, pusdatin.get_username())
    _map_renders(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("[data-panel='map']").screenshot(path=str(SCREENSHOTS / "map-phone.png"))
    assert foreign == []
    assert errors == []
    context.close()
