"""The verification visit on a phone, in a real browser (Debian's chromium driven by Playwright): a social
worker logs in, opens the task, records the family as found with its house and assets, uploads a photo whose
EXIF carries a GPS position, and sees the done state. Saves docs/screenshots/visit-phone.png."""

from __future__ import annotations

from urllib.parse import urlsplit

from dtsen.updates.models import Visit, VisitStatus
from tests.browser_support import BROWSER_MARKS, SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.updates.conftest import STAFF_PASSWORD, gps_photo
from tests.updates.test_pages_visit import task  # noqa: F401 - the visit task fixture

PHONE = {"width": 390, "height": 844}

pytestmark = BROWSER_MARKS


def test_phone_visit_found_with_gps_photo(live_server, browser, worker, task, tmp_path, settings):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    photo = tmp_path / "depan-rumah.jpg"
    photo.write_bytes(gps_photo())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="id-ID")
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Given a social worker of Temon logged in on a phone
    page.goto(live_server.url + "/usulan/kunjungan/")
    assert urlsplit(page.url).path == "/login/"
    page.get_by_label("Nama pengguna").fill(worker.get_username())
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/usulan/kunjungan/")

    # When she opens her task
    page.locator(f'a[data-visit="{task.pk}"]').click()
    page.wait_for_url(f"**/usulan/kunjungan/{task.pk}/")
    assert "Dusun Sidorejo" in page.locator("main").inner_text()
    condition = page.locator("#condition")
    assert not condition.is_visible()  # the house questions appear once the family is found

    # And records the family as found, with the house, assets, interview and a geotagged photo
    page.locator("#outcome-ditemukan").check()
    condition.wait_for(state="visible")
    page.locator("#income_monthly").fill("1.200.000")
    page.locator("#occupation").fill("Buruh tani")
    page.locator("#aid-pkh").check()
    page.locator("#tenure").select_option("milik_sendiri")
    page.locator("#floor_material").select_option("semen_bata")
    page.locator("#wall_material").select_option("anyaman_bambu")
    page.locator("#roof_material").select_option("genteng")
    page.locator("#toilet").select_option("bersama")
    page.locator("#drinking_water").select_option("sumur_terlindung")
    page.locator("#lighting").select_option("pln_meter")
    page.locator("#cooking_fuel").select_option("kayu_bakar")
    page.locator("#power_va").select_option("450")
    page.locator("#floor_area_m2").fill("36")
    page.locator("#asset-motorcycle").check()
    page.locator("#photo_house_front").set_input_files(str(photo))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SCREENSHOTS / "visit-phone.png"), full_page=True)
    page.locator("form.visit-form button[type=submit]").click()

    # Then the task page shows the done state, without flags
    page.wait_for_url(f"**/usulan/kunjungan/{task.pk}/")
    page.locator("#visit-result").wait_for()
    assert page.locator("#no-flags").is_visible()
    assert page.locator("[data-outcome=ditemukan]").is_visible()
    assert page.locator('form.visit-form').count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert foreign == []
    assert errors == []
    context.close()

    visit = Visit.objects.get(pk=task.pk)
    assert visit.status == VisitStatus.DONE
    assert visit.outcome == "ditemukan"
    assert visit.gps_lat is not None
    assert visit.gps_lon is not None
    assert visit.flags == []
    assert visit.candidate_condition["floor_material"] == "semen_bata"
    assert visit.photos.count() == 1
