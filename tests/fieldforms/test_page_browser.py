"""The ODK import page on a 360-px phone in a real browser (Debian's chromium driven by Playwright): a Dinsos
verifier uploads an ODK Central export; each submission's row is readable, the page does not overflow sideways,
and nothing is loaded from outside the site."""

from __future__ import annotations

from django.conf import settings as django_settings

from tests.browser_support import BROWSER_MARKS, browser  # noqa: F401 - the fixture
from tests.fieldforms.conftest import answers, central_zip, gps_photo

PHONE = {"width": 360, "height": 740}

pytestmark = BROWSER_MARKS


def test_import_page_on_a_phone(live_server, browser, client, dinsos, task, task_wates, tmp_path, settings):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    photos = {"photo_house_front": "1732781234567.jpg"}
    export = central_zip(tmp_path / "dtsen_kunjungan.zip", [answers(task, "pendamping.temon", photos=photos),
                                                             answers(task_wates, "pendamping.temon", photos=photos)],
                         {"1732781234567.jpg": gps_photo()})
    client.force_login(dinsos)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="id-ID")
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)

    page.goto(live_server.url + "/odk/")
    page.locator("#export").set_input_files(str(export))
    page.locator("form.form button[type=submit]").click()
    page.locator("#odk-results").wait_for()
    rows = page.locator("#odk-results tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-status") == "accepted"
    assert rows.nth(1).get_attribute("data-code") == "outside_worker_region"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("label[for=export]").count() == 1  # the file input has its label
    assert foreign == []
    context.close()
