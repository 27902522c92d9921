"""TOTP two-factor authentication: who needs it (from the permission matrix), enrolment with a QR code
drawn on the server, verification after each login before any page, and the reset of a lost device by a
superuser. Codes are computed with django-otp's own `totp`, as an authenticator app would."""

from __future__ import annotations

import base64
import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from dtsen.accounts.auth_selectors import requires_2fa
from dtsen.accounts.auth_services import two_factor_reset
from dtsen.accounts.auth_views import PENDING_KEY
from dtsen.accounts.models import Role
from dtsen.accounts.permissions import MATRIX
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import PermissionDenied
from tests.registry.factories import VILLAGE_A

from .conftest import PASSWORD, assert_bilingual_html, code_for, enrol, login_verified, make_user, text

pytestmark = pytest.mark.django_db

FAMILIES = "/families/"


# ------------------------------------------------------------------------------------------ who needs it


@pytest.mark.parametrize("role", list(Role))
def test_every_role_that_can_do_more_than_view_or_ratifies_needs_two_factors(role):
    user = make_user(f"u.{role.value}", (role, VILLAGE_A))
    writes = any(not p.endswith(".view") for p in MATRIX[role])
    assert requires_2fa(user) is (writes or role == Role.RATIFIER)


def test_operator_needs_it_field_pillar_and_superuser_as_expected(operator, pillar, superuser):
    assert requires_2fa(operator)
    assert not requires_2fa(pillar)
    assert requires_2fa(superuser)


def test_revoked_write_role_no_longer_needs_it(operator):
    operator.role_assignments.update(active=False)
    assert not requires_2fa(operator)


# ------------------------------------------------------------------------------------------ enforcement


def test_operator_is_sent_to_enrolment_before_any_page(client, operator):
    client.force_login(operator)

    response = client.get(FAMILIES)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two_factor:setup')}?next=%2Ffamilies%2F"
    assert client.get("/").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_field_pillar_without_a_device_goes_straight_to_the_pages(client, pillar):
    client.force_login(pillar)
    assert client.get(FAMILIES).status_code == 200


def test_password_login_then_enrolment(client, operator):
    response = client.post(
        reverse("login"), {"username": "operator.a", "password": PASSWORD, "next": FAMILIES}
    )
    assert response["Location"] == FAMILIES
    assert client.get(FAMILIES)["Location"].startswith(reverse("two_factor:setup"))


def test_login_logout_language_and_static_stay_reachable_before_the_second_factor(client, operator):
    client.force_login(operator)
    assert client.get(reverse("login")).status_code == 200
    assert client.get("/static/dtsen/app.css").status_code == 200
    response = client.post(reverse("set_language"), {"language": "en", "next": FAMILIES})
    assert response.status_code == 302
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_htmx_request_gets_a_full_page_redirect(client, operator):
    client.force_login(operator)
    response = client.get(FAMILIES, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("two_factor:setup"))


def test_api_is_not_redirected(client, operator):
    client.force_login(operator)
    response = client.get("/api/v1/persons?nik=3401015205800001")
    assert response.status_code == 401  # tokens, not sessions


# ------------------------------------------------------------------------------------------ enrolment


def test_enrolment_page_shows_the_qr_code_as_an_svg_image_and_the_key(client, operator):
    client.force_login(operator)

    response = client.get(reverse("two_factor:setup"), {"next": FAMILIES})

    assert response.status_code == 200
    body = text(response)
    match = re.search(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', body)
    assert match, "the QR code is an inline SVG data image"
    svg = base64.b64decode(match.group(1)).decode()
    assert svg.startswith("<?xml") or svg.startswith("<svg")
    assert "<script" not in svg
    key = client.session[PENDING_KEY]
    secret = base64.b32encode(bytes.fromhex(key)).decode().rstrip("=")
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body), "no inline script"
    assert not TOTPDevice.objects.exists()  # nothing is stored before the code is confirmed


def test_enrolment_with_a_wrong_then_the_right_code(client, operator):
    client.force_login(operator)
    client.get(reverse("two_factor:setup"))
    key = client.session[PENDING_KEY]

    wrong = f"{(int(code_for(key)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("two_factor:setup"), {"token": wrong, "next": FAMILIES})
    assert response.status_code == 400
    assert_bilingual_html(response)
    assert "Kode tidak cocok" in text(response)
    assert "The code does not match" in text(response)
    assert client.session[PENDING_KEY] == key  # the same QR code stays

    response = client.post(reverse("two_factor:setup"), {"token": code_for(key), "next": FAMILIES})

    assert response.status_code == 302
    assert response["Location"] == FAMILIES
    device = TOTPDevice.objects.get(user=operator)
    assert device.confirmed
    assert device.key == key
    assert PENDING_KEY not in client.session
    assert client.get(FAMILIES).status_code == 200
    record = AuditRecord.objects.get(action="two_factor_enrol")
    assert (record.actor_id, record.object_id) == (operator.pk, str(device.pk))


@pytest.mark.parametrize("token", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5x"])
def test_enrolment_refuses_malformed_codes_in_both_languages(client, operator, token):
    client.force_login(operator)
    response = client.post(reverse("two_factor:setup"), {"token": token})
    assert response.status_code == 400
    assert "Kode terdiri dari 6 angka" in text(response)
    assert "The code has 6 digits" in text(response)


# ------------------------------------------------------------------------------------------ verification


def test_enrolled_user_must_verify_before_reaching_the_families(client, operator):
    device = enrol(operator)
    client.force_login(operator)

    response = client.get(FAMILIES)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two_factor:verify')}?next=%2Ffamilies%2F"
    response = client.post(reverse("two_factor:verify"), {"token": "000000", "next": FAMILIES})
    assert response.status_code == 400
    assert_bilingual_html(response)
    assert client.get(FAMILIES).status_code == 302

    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above started django-otp's delay
    device.save()
    # the code of the next 30-second step: the enrolment used up the current one (no replay)
    response = client.post(
        reverse("two_factor:verify"), {"token": code_for(device.key, steps_ahead=1), "next": FAMILIES}
    )

    assert response.status_code == 302
    assert response["Location"] == FAMILIES
    assert client.get(FAMILIES).status_code == 200
    actions = list(
        AuditRecord.objects.filter(actor_id=operator.pk, action__startswith="auth.two_factor")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["auth.two_factor_failed", "auth.two_factor"]


def test_a_code_is_accepted_once_only(client, operator):
    device = enrol(operator)
    client.force_login(operator)
    code = code_for(device.key, steps_ahead=1)
    assert client.post(reverse("two_factor:verify"), {"token": code}).status_code == 302
    client.logout()
    client.force_login(operator)
    response = client.post(reverse("two_factor:verify"), {"token": code})
    assert response.status_code == 400


def test_field_pillar_who_enrolled_must_verify_too(client, pillar):
    enrol(pillar)
    client.force_login(pillar)
    assert client.get(FAMILIES)["Location"].startswith(reverse("two_factor:verify"))


def test_verified_session_reaches_every_page(client, operator):
    login_verified(client, operator)
    assert client.get(FAMILIES).status_code == 200
    assert client.get("/").status_code == 200


# ------------------------------------------------------------------------------------------------ reset


def test_superuser_resets_a_lost_device(client, superuser, operator):
    enrol(operator)
    login_verified(client, superuser)

    response = client.post(reverse("two_factor:reset"), {"username": "operator.a", "reason": "HP hilang"})

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=operator).exists()
    record = AuditRecord.objects.get(action="two_factor_reset")
    assert (record.actor_id, record.object_id, record.reason) == (superuser.pk, str(operator.pk), "HP hilang")
    assert len(record.before["devices"]) == 1


def test_reset_needs_a_reason_and_a_known_user(client, superuser, operator):
    login_verified(client, superuser)
    response = client.post(reverse("two_factor:reset"), {"username": "operator.a", "reason": " "})
    assert response.status_code == 400
    assert "Alasan wajib diisi" in text(response)
    response = client.post(reverse("two_factor:reset"), {"username": "tidak.ada", "reason": "HP hilang"})
    assert response.status_code == 400
    assert "User not found" in text(response)


def test_only_a_superuser_may_reset(client, operator, pillar):
    enrol(pillar)
    login_verified(client, operator)
    response = client.post(reverse("two_factor:reset"), {"username": "pemantau.a", "reason": "x"})
    assert response.status_code == 403
    assert_bilingual_html(response)
    with pytest.raises(PermissionDenied):
        two_factor_reset(actor=operator, user=pillar, reason="x")
    assert TOTPDevice.objects.filter(user=pillar).exists()


def test_superuser_must_verify_too(client, superuser):
    enrol(superuser)
    client.force_login(superuser)
    assert client.get(reverse("two_factor:reset"))["Location"].startswith(reverse("two_factor:verify"))


def test_devices_are_not_editable_in_the_admin(client, superuser):
    """Only the audited reset removes devices: django-otp's own admin page is not mounted."""
    login_verified(client, superuser)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
