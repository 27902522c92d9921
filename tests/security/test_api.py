"""API tokens and the API: issue (scopes never beyond the user's own, at most a year), stored hashed,
shown once; refused when missing, unknown, expired or revoked (401) or without the endpoint's scope (403);
limited to the regions of the token's user (404 outside), for every role; every read audited with the channel
"api"; every refusal the same bilingual JSON body."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dtsen.accounts.auth_services import api_token_authenticate, api_token_issue, api_token_revoke
from dtsen.accounts.models import ApiToken, Role
from dtsen.accounts.permissions import MATRIX, REGISTRY_CHANGE, REGISTRY_VIEW
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from dtsen.core.ratelimits import Limit
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Family, Person

from .conftest import KEC_A, bearer, issue, make_user

pytestmark = pytest.mark.django_db


def family_url(family: Family) -> str:
    return f"/api/v1/families/{family.family_code}"


def nik_of(family: Family) -> str:
    return nik_decrypt(Person.objects.get(pk=family.head_id).nik_enc)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message_id"]
    assert body["message_en"]
    assert body["message_id"] != body["message_en"]
    return body


# ----------------------------------------------------------------------------------------- issue


def test_issue_stores_only_a_hash_and_shows_the_token_once(api_user, superuser):
    issued = issue(api_user, actor=superuser)

    token = ApiToken.objects.get()
    assert issued.secret.startswith(f"dtsen_{token.prefix}_")
    assert issued.secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.secret_hash != issued.secret
    assert len(token.secret_hash) == 64
    assert token.scopes == [REGISTRY_VIEW]
    record = AuditRecord.objects.get(action="api_token_issue")
    assert (record.actor_id, record.object_id) == (superuser.pk, str(token.pk))
    assert record.after["prefix"] == token.prefix
    assert issued.secret not in json.dumps(record.after)


def test_scopes_never_beyond_the_users_own(api_user, superuser):
    with pytest.raises(ValidationFailed, match="does not hold"):
        issue(api_user, actor=superuser, scopes=[REGISTRY_VIEW, REGISTRY_CHANGE])
    with pytest.raises(ValidationFailed, match="Unknown scopes"):
        issue(api_user, actor=superuser, scopes=["registry.everything"])
    with pytest.raises(ValidationFailed, match="at least one scope"):
        issue(api_user, actor=superuser, scopes=[])
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("days", [0, -1, 366, 5000])
def test_expiry_is_required_in_the_future_and_at_most_a_year(api_user, superuser, days):
    with pytest.raises(ValidationFailed, match="at most 365 days"):
        issue(api_user, actor=superuser, days=days)


def test_naive_expiry_is_refused(api_user, superuser):
    with pytest.raises(ValidationFailed):
        api_token_issue(
            actor=superuser,
            user=api_user,
            name="x",
            scopes=[REGISTRY_VIEW],
            expires_at=dt.datetime(2030, 1, 1),
        )


def test_only_a_superuser_issues_and_revokes(api_user, operator, superuser):
    with pytest.raises(PermissionDenied):
        issue(api_user, actor=operator)
    token = issue(api_user, actor=superuser).token
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=operator, token=token, reason="x")


# ------------------------------------------------------------------------------------------ use


def test_valid_token_reads_a_family_with_masked_niks(client, token, family_a, api_user):
    response = client.get(family_url(family_a), **bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert body["family_code"] == family_a.family_code
    members = Person.objects.filter(family=family_a, status=c.RecordStatus.ACTIVE)
    assert {m["person_code"] for m in body["members"]} == {p.person_code for p in members}
    for member in body["members"]:
        person = members.get(person_code=member["person_code"])
        clear = nik_decrypt(person.nik_enc)
        assert member["nik_masked"] == nik_mask(clear)
        assert clear not in response.content.decode()
    record = AuditRecord.objects.get(action="family.view")
    assert (record.actor_id, record.channel, record.object_id) == (api_user.pk, "api", str(family_a.pk))
    assert ApiToken.objects.get().last_used_at is not None


def test_family_outside_the_token_users_region_is_not_found(client, token, family_b):
    body = assert_error(client.get(family_url(family_b), **bearer(token)), 404, "not_found")
    assert family_b.family_code not in json.dumps(body)
    assert not AuditRecord.objects.filter(action="family.view").exists()


def test_person_lookup_by_nik_within_the_region(client, token, family_a, family_b, api_user):
    response = client.get("/api/v1/persons", HTTP_X_NIK=nik_of(family_a), **bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"][0]["family_code"] == family_a.family_code
    assert AuditRecord.objects.get(action="person.view").channel == "api"

    response = client.get("/api/v1/persons", HTTP_X_NIK=nik_of(family_b), **bearer(token))
    assert response.json() == {"count": 0, "results": []}


def test_missing_unknown_and_malformed_tokens_are_401(client, token, family_a):
    assert_error(client.get(family_url(family_a)), 401, "token_missing")
    for header in [
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer dtsen_zzzz_nope",
        "Bearer x" * 300,
        f"Bearer {token}x",
        f"Token {token}",
    ]:
        assert_error(client.get(family_url(family_a), HTTP_AUTHORIZATION=header), 401, "token_invalid")


def test_expired_token_is_401(client, token, family_a):
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error(client.get(family_url(family_a), **bearer(token)), 401, "token_expired")
    refused = AuditRecord.objects.get(action="auth.token_refused")
    assert refused.reason == "token_expired"


def test_revoked_token_is_401_and_revocation_is_audited(client, token, family_a, superuser):
    assert client.get(family_url(family_a), **bearer(token)).status_code == 200
    api_token_revoke(actor=superuser, token=ApiToken.objects.get(), reason="Kontrak selesai")

    assert_error(client.get(family_url(family_a), **bearer(token)), 401, "token_revoked")
    record = AuditRecord.objects.get(action="api_token_revoke")
    assert (record.actor_id, record.reason) == (superuser.pk, "Kontrak selesai")
    assert record.before["revoked_at"] is None
    assert record.after["revoked_at"] is not None


def test_inactive_user_token_is_401(client, token, family_a, api_user):
    api_user.is_active = False
    api_user.save()
    assert_error(client.get(family_url(family_a), **bearer(token)), 401, "token_invalid")


def test_token_without_the_scope_is_403(client, operator, superuser, family_a):
    secret = issue(operator, actor=superuser, scopes=[REGISTRY_CHANGE]).secret
    body = assert_error(client.get(family_url(family_a), **bearer(secret)), 403, "scope_missing")
    assert REGISTRY_VIEW in body["message_en"]


def test_token_of_a_user_who_lost_the_role_is_403(client, token, family_a, api_user):
    api_user.role_assignments.filter(role=Role.TKSK).update(active=False)
    assert_error(client.get(family_url(family_a), **bearer(token)), 403, "permission_denied")


def test_invalid_input_is_422_with_the_fields(client, token):
    body = assert_error(
        client.get("/api/v1/persons", HTTP_X_NIK="12", **bearer(token)), 422, "validation_failed"
    )
    assert body["errors"][0]["field"] in ("X-NIK", "nik")
    assert "12" not in body["message_en"]
    assert_error(client.get("/api/v1/persons", **bearer(token)), 422, "validation_failed")
    assert_error(client.get("/api/v1/families/F-1%00", **bearer(token)), 422, "validation_failed")


def test_unknown_query_parameters_are_422(client, token, family_a):
    body = assert_error(
        client.get("/api/v1/persons", {"NIK": "x"}, HTTP_X_NIK=nik_of(family_a), **bearer(token)),
        422,
        "validation_failed",
    )
    assert body["errors"] == [{"field": "NIK", "message": "Unknown parameter"}]
    assert_error(client.get(family_url(family_a), {"with": "all"}, **bearer(token)), 422, "validation_failed")


def test_a_nik_in_the_address_is_refused_and_not_echoed(client, token, family_a):
    nik = nik_of(family_a)
    response = client.get("/api/v1/persons", {"nik": nik}, **bearer(token))
    assert_error(response, 422, "validation_failed")
    assert nik not in response.content.decode()
    assert not AuditRecord.objects.filter(action="person.view").exists()


def test_other_api_addresses_are_json_404(client, token):
    for path in ["/api/", "/api/v2/families/x", "/api/v1/families/a/b", "/api/v1/nothing", "/api/%0A"]:
        assert_error(client.get(path, **bearer(token)), 404, "not_found")


def test_unknown_token_lookup_does_not_touch_the_audit_trail(db):
    before = AuditRecord.objects.count()  # the session's region load leaves one record
    with pytest.raises(NotAuthenticated):
        api_token_authenticate(raw="dtsen_00000000_abc")
    assert AuditRecord.objects.count() == before


def test_api_requests_are_rate_limited(client, token, family_a, monkeypatch, frozen_ratelimit_clock):
    monkeypatch.setattr("dtsen.api.auth.API", Limit("api-test", "3/m", methods=("GET",)))
    for _ in range(3):
        assert client.get(family_url(family_a), **bearer(token)).status_code == 200
    body = assert_error(client.get(family_url(family_a), **bearer(token)), 429, "rate_limited")
    assert body["retry_after"] >= 1
    assert client.get(family_url(family_a), **bearer(token))["Retry-After"].isdigit()


# ----------------------------------------------------------------------------------- role x region


@pytest.mark.parametrize("role", list(Role))
def test_role_region_matrix_through_the_api(client, role, superuser, family_a, family_b):
    """Each role held in kecamatan Temon: with registry.view the token reads Temon's family and not the one of
    Wates; without it no token can carry registry.view."""
    user = make_user(f"klien.{role.value}", (role, KEC_A))
    if REGISTRY_VIEW not in MATRIX[role]:
        with pytest.raises(ValidationFailed):
            issue(user, actor=superuser)
        return
    secret = issue(user, actor=superuser).secret
    assert client.get(family_url(family_a), **bearer(secret)).status_code == 200
    assert_error(client.get(family_url(family_b), **bearer(secret)), 404, "not_found")
    found = client.get("/api/v1/persons", HTTP_X_NIK=nik_of(family_b), **bearer(secret)).json()
    assert found["count"] == 0


def test_national_role_reads_every_region(client, superuser, family_a, family_b):
    user = make_user("pusdatin.api", (Role.PUSDATIN, ""))
    secret = issue(user, actor=superuser).secret
    for family in (family_a, family_b):
        assert client.get(family_url(family), **bearer(secret)).status_code == 200


# -------------------------------------------------------------------------------------- command


def test_command_issues_lists_and_revokes(capsys, api_user):
    call_command(
        "api_token",
        "issue",
        "--user",
        "siks.temon",
        "--name",
        "SIKS-NG Temon",
        "--scope",
        REGISTRY_VIEW,
        "--days",
        "90",
    )
    out = capsys.readouterr().out
    secret = out.strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert secret.startswith(f"dtsen_{token.prefix}_")
    assert api_token_authenticate(raw=secret) == token

    call_command("api_token", "list")
    listed = json.loads(capsys.readouterr().out.strip())
    assert (listed["prefix"], listed["state"], listed["scopes"]) == (token.prefix, "active", [REGISTRY_VIEW])
    assert secret not in json.dumps(listed)

    call_command("api_token", "revoke", token.prefix, "--reason", "uji")
    with pytest.raises(NotAuthenticated):
        api_token_authenticate(raw=secret)
    assert AuditRecord.objects.filter(action__in=["api_token_issue", "api_token_revoke"]).count() == 2


def test_command_refusals_are_bilingual(api_user):
    with pytest.raises(CommandError, match="Pengguna tidak ditemukan / user not found"):
        call_command(
            "api_token", "issue", "--user", "nobody", "--name", "x", "--scope", REGISTRY_VIEW, "--days", "9"
        )
    with pytest.raises(CommandError, match="/ The user does not hold"):
        call_command(
            "api_token",
            "issue",
            "--user",
            "siks.temon",
            "--name",
            "x",
            "--scope",
            REGISTRY_CHANGE,
            "--days",
            "9",
        )
    with pytest.raises(CommandError, match="Token not found"):
        call_command("api_token", "revoke", "ffffffff", "--reason", "x")
