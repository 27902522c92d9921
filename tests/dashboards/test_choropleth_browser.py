"""The choropleth map in a real browser (Debian's chromium driven by Playwright), on a static harness page
(tests/dashboards/harness/choropleth.html) that loads the shipped Leaflet, choropleth.js and provinces.json,
served from the repository root by a local http.server on 127.0.0.1 (fetch() is blocked on file://).

Checks: the map renders (data-rendered), one SVG path per feature, a region with a value is coloured unlike
the no-data grey, the legend is there with its "no data" entry, focusing a path by keyboard shows its
tooltip with the name and the formatted value, a failed fetch shows its message, and nothing is requested
from any other server (no tile layer). Saves docs/screenshots/choropleth-provinces.png."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture

pytestmark = BROWSER_MARKS
ROOT = Path(__file__).resolve().parents[2]
HARNESS = "tests/dashboards/harness/choropleth.html"
PROVINCES = ROOT / "src/dtsen/dashboards/static/dashboards/geo/provinces.json"
NO_DATA_GREY = "rgb(189, 189, 189)"  # #bdbdbd in choropleth.js


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def harness_url() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{HARNESS}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(browser, harness_url):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    page = context.new_page()
    page.foreign = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    origin = harness_url.split("/tests/")[0]
    page.on("request", lambda r: page.foreign.append(r.url) if not r.url.startswith(origin) else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(harness_url)
    yield page
    context.close()


def _fill(page, code: str) -> str:
    return page.locator(f"#map-share path[data-code='{code}']").evaluate("p => getComputedStyle(p).fill")


def test_map_renders_one_path_per_feature_with_colours_and_legend(page):
    # Given the harness page with a percent map whose values leave some provinces without data
    features = json.loads(PROVINCES.read_text(encoding="utf-8"))["features"]

    # When the map is drawn
    page.locator("#map-share[data-rendered='true']").wait_for(timeout=15000)

    # Then every feature is one focusable SVG path with its code
    paths = page.locator("#map-share path.leaflet-interactive")
    assert paths.count() == len(features)
    assert page.locator("#map-share path[tabindex='0'][data-code]").count() == len(features)
    assert page.locator("#map-share").get_attribute("aria-label") == (
        "Map of the share of families in desil 1–4 by province"
    )
    # And a province with a value is coloured, one without is grey, and the highest value is darker
    assert _fill(page, "32") != NO_DATA_GREY
    assert _fill(page, "75") == NO_DATA_GREY  # Gorontalo has no value in the harness
    assert _fill(page, "91") != _fill(page, "31")  # 61 % and 8 % fall in different classes
    # And the legend has its title, five classes and the "no data" entry
    legend = page.locator("#map-share .choropleth-legend")
    assert "Families in desil 1–4" in legend.inner_text()
    assert legend.locator(".choropleth-legend-class").count() == 5
    assert legend.locator(".choropleth-legend-nodata").inner_text().strip() == "No data"
    # And no tile or anything else came from another server; no script error
    assert page.foreign == []  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#map-share").screenshot(path=str(SCREENSHOTS / "choropleth-provinces.png"))


def test_keyboard_focus_shows_tooltip_with_formatted_value(page):
    page.locator("#map-share[data-rendered='true']").wait_for(timeout=15000)
    page.locator("#map-count[data-rendered='true']").wait_for(timeout=15000)

    # When a keyboard user focuses Jawa Barat on the percent map
    page.locator("#map-share path[data-code='32']").focus()

    # Then its tooltip shows the name and the value as an Indonesian percentage
    tooltip = page.locator("#map-share .leaflet-tooltip")
    tooltip.wait_for()
    assert "Jawa Barat" in tooltip.inner_text()
    assert "12,3 %" in tooltip.inner_text()
    assert page.locator("#map-share path[data-code='32']").get_attribute("aria-label") == "Jawa Barat: 12,3 %"

    # And on the number map, Enter on a focused province shows the count with Indonesian thousands separators
    path = page.locator("#map-count path[data-code='32']")
    path.focus()
    path.press("Enter")
    count_tooltip = page.locator("#map-count .leaflet-tooltip")
    count_tooltip.wait_for()
    assert "1.234.567" in count_tooltip.inner_text()

    # And a province without a value says so in the page's own words, and the previous tooltip goes away
    # (Leaflet fades a closed tooltip out for 200 ms before removing it: wait for that, not for a time)
    page.locator("#map-count path[data-code='11']").focus()
    page.locator("#map-count .leaflet-tooltip", has_text="Aceh").wait_for()
    assert "Tidak ada data" in page.locator("#map-count .leaflet-tooltip", has_text="Aceh").inner_text()
    page.locator("#map-count .leaflet-tooltip", has_text="Jawa Barat").wait_for(state="detached")


def test_shape_older_than_a_split_says_what_it_covers(page):
    page.locator("#map-share[data-rendered='true']").wait_for(timeout=15000)
    label = page.locator("#map-share path[data-code='91']").get_attribute("aria-label") or ""
    assert label.startswith("Papua: 61,0 %")
    assert "Papua Selatan" in label
    assert "Papua Pegunungan" in label


def test_failed_fetch_shows_the_message(page):
    broken = page.locator("#map-broken[data-error]")
    broken.wait_for(timeout=15000)
    assert broken.get_attribute("data-rendered") is None
    assert "Peta tidak dapat dimuat" in (broken.get_attribute("data-error") or "")
    assert "Peta tidak dapat dimuat" in page.locator("#map-broken [role='alert']").inner_text()
