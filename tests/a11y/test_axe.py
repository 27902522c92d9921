"""axe-core (tests/vendor/axe-core) on the public pages in Debian's chromium, at phone and desktop width:
home, staff login, Cek Bansos at each step of the region cascade, with a result and with "not found", the
transparency pages (national, province, kabupaten, kecamatan, desa), the citizen registration and login pages,
and a verified citizen's own family page and account status. No violation of WCAG 2.1 A/AA with impact
"serious" or "critical" is allowed; the assertion message lists each rule with the elements it failed on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.ranking.services import ranking_run
from tests.browser_support import BROWSER_MARKS, browser  # noqa: F401 - the fixture
from tests.citizen.conftest import PASSWORD as CITIZEN_PASSWORD
from tests.citizen.conftest import active, awaiting, family_a, verifier  # noqa: F401 - fixtures
from tests.public.conftest import former, recipient  # noqa: F401 - fixtures
from tests.public.test_search_browser import _choose
from tests.registry.factories import VILLAGE_A

pytestmark = BROWSER_MARKS
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]  # WCAG 2.1 A/AA and Deque's best practices
BLOCKING = {"serious", "critical"}
# Rules about the page's structure (landmarks, headings, language, title): failed at any impact.
STRUCTURE = {
    "landmark-unique", "landmark-one-main", "landmark-no-duplicate-banner", "landmark-no-duplicate-contentinfo",
    "landmark-no-duplicate-main", "landmark-main-is-top-level", "region", "heading-order", "page-has-heading-one",
    "empty-heading", "html-has-lang", "html-lang-valid", "document-title", "skip-link", "bypass",
    "duplicate-id-aria", "link-name", "button-name", "label", "select-name",
}
VIEWPORTS = [
    pytest.param({"width": 360, "height": 780}, id="phone"),
    pytest.param({"width": 1280, "height": 900}, id="desktop"),
]


@pytest.fixture(autouse=True)
def _a11y_settings(settings, tmp_path):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    settings.CAPTCHA_TEST_MODE = True
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; the violations of WCAG 2.1 A/AA."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG,
    )
    return result["violations"]


def blocking(violations: list[dict[str, Any]]) -> list[str]:
    """'rule-id (impact): target, target … — help' for each serious or critical violation, and for each
    violation of a structure rule whatever its impact."""
    out = []
    for v in violations:
        if v.get("impact") not in BLOCKING and v["id"] not in STRUCTURE:
            continue
        targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:8])
        out.append(f"{v['id']} ({v['impact']}): {targets} — {v['help']}")
    return out


class Checker:
    """Collects the blocking violations of every page visited, so one run reports them all."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.found: dict[str, list[str]] = {}
        self.checked: list[str] = []
        self.all: dict[str, list[str]] = {}

    def check(self, name: str) -> None:
        self.checked.append(name)
        found = axe_violations(self.page)
        self.all[name] = [f"{v['id']} ({v['impact']})" for v in found]  # every impact, for a failing run's message
        bad = blocking(found)
        if bad:
            self.found[name] = bad

    def report(self) -> str:
        blocking_lines = [f"[{name}] {line}" for name, lines in self.found.items() for line in lines]
        other = [f"[{name}] all: {', '.join(found)}" for name, found in self.all.items() if found]
        return "\n".join(blocking_lines + other)


def _context(browser: Any, viewport: dict[str, int]) -> Any:  # noqa: F811
    phone = viewport["width"] < 600
    # bypass_csp: the app's CSP (script-src 'self') would refuse the injected axe script; the pages themselves
    # are unchanged.
    return browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=phone, has_touch=phone,
                               locale="id-ID", bypass_csp=True)


def test_axe_finds_a_missing_label(live_server, browser):  # noqa: F811
    """The check can fail: a page with an unlabelled input and grey-on-white text has serious violations."""
    context = _context(browser, {"width": 360, "height": 780})
    page = context.new_page()
    page.set_content('<!doctype html><html lang="id"><head><title>x</title></head><body><main>'
                     '<input type="text"><p style="color:#ccc">abu-abu</p></main></body></html>')
    ids = {v["id"] for v in axe_violations(page) if v["impact"] in BLOCKING}
    assert {"label", "color-contrast"} <= ids
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_public_pages_have_no_serious_violations(live_server, browser, recipient, former, viewport):  # noqa: F811
    context = _context(browser, viewport)
    page = context.new_page()
    axe = Checker(page)
    for name, url in (
        ("home", "/"), ("login", "/login/"), ("citizen register", "/warga/daftar/"),
        ("citizen login", "/warga/masuk/"), ("transparency national", "/transparansi/"),
        ("transparency province", "/transparansi/34/"), ("transparency kabupaten", "/transparansi/34.01/"),
        ("transparency kecamatan", "/transparansi/34.01.01/"),
        ("transparency desa", f"/transparansi/{VILLAGE_A}/"),
    ):
        response = page.goto(live_server.url + url)
        assert response.status == 200, url
        axe.check(name)

    page.goto(live_server.url + "/cek-bansos/")
    axe.check("cek-bansos start")
    for key, code in (("prov", "34"), ("kab", "34.01"), ("kec", "34.01.01"), ("desa", VILLAGE_A)):
        _choose(page, key, code)
        axe.check(f"cek-bansos {key} chosen")
    page.locator("#name").fill("budi santoso")
    page.locator("#challenge_answer").fill("PASSED")
    page.locator("#search-form button[type=submit]").click()
    page.locator("#results").wait_for()
    axe.check("cek-bansos results")
    page.locator("#name").fill("Joko Susilo")
    page.locator("#challenge_answer").fill("PASSED")
    page.locator("#search-form button[type=submit]").click()
    page.locator("#not-found").wait_for()
    axe.check("cek-bansos not found")
    context.close()
    assert len(axe.checked) == 16
    assert not axe.found, "\n" + axe.report()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_citizen_pages_have_no_serious_violations(live_server, browser, active, family_a, tmp_path,  # noqa: F811
                                                   viewport):
    ranking_run(actor=system_actor(), period="2026-Q4", cutoff=timezone.localdate(), work_dir=tmp_path)
    context = _context(browser, viewport)
    page = context.new_page()
    axe = Checker(page)
    page.goto(live_server.url + "/warga/masuk/")
    page.locator("input[name=email]").fill("siti@example.id")
    page.locator("input[name=password]").fill(CITIZEN_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/warga/status/")
    axe.check("citizen status")
    page.goto(live_server.url + "/warga/keluarga/")
    page.locator("#h-desil").wait_for()
    axe.check("citizen family")
    page.goto(live_server.url + "/warga/unduh/")
    axe.check("citizen download")
    page.goto(live_server.url + "/warga/pengajuan/")
    axe.check("citizen submissions")
    context.close()
    assert not axe.found, "\n" + axe.report()
