"""The staff dashboard in a real browser (Debian's chromium driven by Playwright): a Dinsos user of Kulon Progo
logs in and sees only their kabupaten (its name on the page, Bantul's nowhere, the drill-down offering only
Kulon Progo's kecamatan), the charts are drawn, the map renders (Leaflet, SVG paths), the page fits a 390-px
phone, nothing is fetched from another server and the console stays clean (CSP). A provincial viewer of DI
Yogyakarta sees the province's kabupaten/kota map (the shipped kab-34.json): one path per kabupaten/kota,
the two with data coloured, the others grey, the boundaries' attribution in the corner, and Enter on a
kabupaten opens its dashboard. Saves docs/screenshots/dashboard-phone.png, dashboard-desktop.png,
map-phone.png, map-desktop.png and map-province.png."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from dtsen.dashboards.geo import boundary_file, geo_dir
from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.dashboards.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
NO_DATA_GREY = "rgb(189, 189, 189)"  # #bdbdbd in choropleth.js
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


def test_provincial_viewer_sees_the_kabupaten_map_of_their_province(live_server, browser, world, viewer,  # noqa: F811
                                                                     settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Given the shipped kabupaten/kota boundaries of DI Yogyakarta
    assert boundary_file("34") == "dashboards/geo/kab-34.json"
    collection = json.loads((geo_dir() / "kab-34.json").read_text(encoding="utf-8"))
    codes = sorted(feature["properties"]["code"] for feature in collection["features"])
    assert codes == ["34.01", "34.02", "34.03", "34.04", "34.71"]

    # When a provincial viewer of DI Yogyakarta opens their dashboard (the province's page)
    context, page, foreign, errors = _open(browser, live_server, DESKTOP)
    _login(page, live_server, viewer.get_username())
    chart = page.locator("[data-choropleth]")
    assert (chart.get_attribute("data-boundaries") or "").endswith("/dashboards/geo/kab-34.json")
    page.locator("[data-choropleth][data-rendered='true']").wait_for(timeout=20_000)

    # Then every kabupaten/kota of the province is one path of the map
    paths = page.locator("[data-choropleth] path.leaflet-interactive")
    assert paths.count() == len(codes) > 0
    drawn = page.locator("[data-choropleth] path[data-code]").evaluate_all("els => els.map(e => e.dataset.code)")
    assert sorted(drawn) == codes

    def fill(code: str) -> str:
        return page.locator(f"[data-choropleth] path[data-code='{code}']").evaluate("p => getComputedStyle(p).fill")

    # And Kulon Progo and Bantul, which have ranked families, are coloured; Sleman has no data and is grey
    assert fill("34.01") != NO_DATA_GREY
    assert fill("34.02") != NO_DATA_GREY
    assert fill("34.04") == NO_DATA_GREY
    assert page.locator("[data-choropleth] path[data-code='34.01']").get_attribute("aria-label").startswith(
        "Kabupaten Kulon Progo: "
    )
    # And the licence's attribution is shown in the map's corner
    attribution = page.locator("[data-choropleth] .leaflet-control-attribution").inner_text()
    assert "geoBoundaries (www.geoboundaries.org), IDN ADM2 22746128" in attribution
    assert "BPS, WFP, OCHA ROAP" in attribution
    page.locator("[data-panel='map']").screenshot(path=str(SCREENSHOTS / "map-province.png"))

    # And Enter on Bantul's path opens Bantul's dashboard
    bantul = page.locator("[data-choropleth] path[data-code='34.02']")
    bantul.focus()
    bantul.press("Enter")
    page.wait_for_url("**/dasbor/?region=34.02")
    assert "Kabupaten Bantul" in page.locator("h1").inner_text()
    assert foreign == []
    assert errors == []
    context.close()
