"""Screenshots of the main pages at phone (390×844) and desktop (1280×900) width, saved under docs/screenshots/
for the README, over a realistic register: 250 synthetic families of Kulon Progo (dtsen.synth), a ranking run,
an eligibility run of the programs, and the demo's proposals in every stage (dtsen.updates.demo). Each page
is opened by the role that uses it; every page answers 200, shows its data (not an empty state) and fits the
phone's width. The citizen's family page is saved by tests/citizen/test_citizen_desil_browser.py, the staff
family page by tests/web/test_web_browser.py, the dashboards by the dashboard tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from dtsen.accounts.services import role_assign, system_actor
from dtsen.programs import services as programs
from dtsen.programs.models import EligibilityRun
from dtsen.ranking import services as ranking
from dtsen.registry.models import Family
from dtsen.updates.demo import demo_seed, demo_village
from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.ranking import conftest_run as fx

pytestmark = BROWSER_MARKS
synth_dir = fx.synth_dir
work_dir = fx.work_dir
FAMILIES = 250
PASSWORD = "kata-sandi-uji-2025"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def _user(username: str, role: str, region: str) -> Any:
    user = get_user_model().objects.create_user(username, password=PASSWORD, first_name=username)
    role_assign(user=user, role=role, region_code=region)
    return user


@pytest.fixture
def register(synth_dir, work_dir) -> dict[str, Any]:
    """The synthetic register ranked and run through the programs, the demo's proposals, and the staff."""
    fx.registry_load(synth_dir, limit=FAMILIES)
    ranking.ranking_run(actor=system_actor(), period="2026-Q4", cutoff=timezone.localdate(), work_dir=work_dir)
    run = programs.eligibility_run(actor=system_actor(), period="2026-T1", as_of=timezone.localdate(),
                                   work_dir=work_dir)
    village = demo_village("34.01")
    assert village is not None
    operator = _user("operator.jangkaran", "operator_desa", village)
    dinsos = _user("dinsos.kulonprogo", "dinsos_supervisor", "34.01")
    worker = _user("pendamping.temon", "pendamping_pkh", village.rsplit(".", 1)[0])
    assert demo_seed(region="34.01", village=village, operator=operator, dinsos=dinsos, worker=worker) == 5
    return {
        "village": village, "run": run, "operator": operator, "dinsos": dinsos,
        "ratifier": _user("kadinsos.kulonprogo", "ratifier", "34.01"),
        "auditor": _user("auditor.pusat", "auditor", ""),
        "family": Family.objects.filter(village_code=village, status="aktif").order_by("pk").first(),
    }


def _log_in(context: Any, base_url: str, user: Any) -> None:
    """Log the browser in with a session made by Django's test client (the login form has its own test)."""
    context.clear_cookies()
    client = Client()
    client.force_login(user)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


def _shot(page: Any, base_url: str, path: str, name: str, size: str, expect: str) -> None:
    response = page.goto(base_url + path)
    assert response is not None, path
    assert response.status == 200, path
    page.wait_for_load_state("networkidle")
    main = page.locator("main")
    assert expect in main.inner_text(), (path, expect)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (path, size)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_main_pages_screenshots(live_server, browser, register, settings, size):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewport = VIEWPORTS[size]
    phone = size == "phone"
    context = browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=phone, has_touch=phone,
                                  locale="id-ID")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    village = register["village"]
    run: EligibilityRun = register["run"]
    family: Family = register["family"]

    # Public pages
    _shot(page, base, "/login/", "login", size, "Nama pengguna")
    _shot(page, base, "/transparansi/", "transparency-national", size, "Daerah Istimewa Yogyakarta")
    _shot(page, base, f"/transparansi/{village}/", "transparency-village", size, "2026-Q4")

    # The village operator: home, the family list and a family with its desil, the proposals waiting
    _log_in(context, base, register["operator"])
    _shot(page, base, "/", "home", size, str(Family.objects.filter(village_code=village).count()))
    _shot(page, base, "/families/", "registry-families", size, family.family_code)
    _shot(page, base, f"/families/{family.pk}/", "registry-family-detail", size, "2026-Q4")
    _shot(page, base, "/usulan/", "usulan-queue-operator", size, "SUGENG RIYADI")

    # Dinsos: its queue of proposals (the field checks it ordered), the program runs
    _log_in(context, base, register["dinsos"])
    _shot(page, base, "/usulan/", "usulan-queue", size, "Verifikasi lapangan")
    _shot(page, base, "/program/", "program-runs", size, "2026-T1")
    _shot(page, base, f"/program/proses/{run.pk}/", "program-run", size, "Program Sembako (BPNT)")

    # The auditor: the audit trail of all this
    _log_in(context, base, register["auditor"])
    _shot(page, base, "/audit/", "audit", size, "Jejak audit")
    context.close()
    assert errors == []
