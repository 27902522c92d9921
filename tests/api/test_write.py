"""The writes of API v1: drafting an usulan, moving it through the transition table with the services of the
pages (same permissions, same evidence rules), recording a visit with base64 photos; every write needs an
Idempotency-Key, is replayed for the same key and request, refused for the same key with another request."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone

from dtsen.accounts.permissions import REGISTRY_VIEW, USULAN_CHECK, USULAN_DRAFT, VISIT_DO
from dtsen.api.models import IdempotencyRecord
from dtsen.audit.models import AuditRecord
from dtsen.updates import services as svc
from dtsen.updates.models import MusdesKind, Usulan, UsulanStatus
from tests.updates.conftest import CONDITION, NEW_FAMILY, VILLAGE_A, VILLAGE_B, gps_photo, minutes_pdf

from .conftest import assert_error, bearer, issue, new_key

pytestmark = pytest.mark.django_db
U = UsulanStatus


def post(client, url: str, data: dict, token: str, key: str | None):
    return client.post(url, json.dumps(data), content_type="application/json", **bearer(token, key))


def test_draft_an_usulan_once_per_key(client, operator_a):
    token = issue(operator_a, REGISTRY_VIEW, USULAN_DRAFT)
    data = {"kind": "keluarga_baru", "village_code": VILLAGE_A, "payload": NEW_FAMILY}
    key = new_key()
    first = post(client, "/api/v1/usulan", data, token, key)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == U.DRAFT
    assert body["reference"].startswith("USL-")
    for member in NEW_FAMILY["members"]:
        assert member["nik"] not in first.content.decode()
    again = post(client, "/api/v1/usulan", data, token, key)
    assert (again.status_code, again.json()) == (201, body)
    assert Usulan.objects.count() == 1
    assert AuditRecord.objects.filter(action="usulan_create", channel="api").count() == 1

    changed = post(client, "/api/v1/usulan", {**data, "payload": {**NEW_FAMILY, "rt": "13"}}, token, key)
    assert_error(changed, 422, "idempotency_key_reused")
    assert Usulan.objects.count() == 1
    assert post(client, "/api/v1/usulan", data, token, new_key()).status_code == 201
    assert Usulan.objects.count() == 2


def test_writes_need_the_key_and_the_scope(client, operator_a):
    data = {"kind": "keluarga_baru", "village_code": VILLAGE_A, "payload": NEW_FAMILY}
    token = issue(operator_a, REGISTRY_VIEW, USULAN_DRAFT)
    body = assert_error(post(client, "/api/v1/usulan", data, token, None), 422, "validation_failed")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert_error(post(client, "/api/v1/usulan", data, token, "short"), 422, "validation_failed")
    reader = issue(operator_a, REGISTRY_VIEW)
    assert_error(post(client, "/api/v1/usulan", data, reader, new_key()), 403, "scope_missing")
    assert_error(post(client, "/api/v1/usulan", data, "x", new_key()), 401, "token_invalid")
    assert not Usulan.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_drafting_outside_the_users_region_is_refused(client, operator_a, family_b):
    token = issue(operator_a, REGISTRY_VIEW, USULAN_DRAFT)
    outside = {"kind": "keluarga_baru", "village_code": VILLAGE_B, "payload": NEW_FAMILY}
    assert_error(post(client, "/api/v1/usulan", outside, token, new_key()), 403, "permission_denied")
    family = {"kind": "program", "family_code": family_b.family_code, "payload": {"program": "pkh"}}
    assert_error(post(client, "/api/v1/usulan", family, token, new_key()), 404, "not_found")
    bad = {"kind": "keluarga_baru", "village_code": VILLAGE_A, "payload": {**NEW_FAMILY, "kk_number": "12"}}
    assert_error(post(client, "/api/v1/usulan", bad, token, new_key()), 400, "validation_failed")
    assert not Usulan.objects.exists()
    assert not IdempotencyRecord.objects.exists()  # a refused write stores no answer: the key may be used again


def test_transitions_follow_the_table_the_permissions_and_the_evidence(client, operator_a, dinsos, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind="program", village_code=VILLAGE_A, family=geotagged_a,
                               payload={"program": "pkh"})
    url = f"/api/v1/usulan/{usulan.reference}/transitions"
    village = issue(operator_a, REGISTRY_VIEW, USULAN_DRAFT)
    checker = issue(dinsos, REGISTRY_VIEW, USULAN_CHECK)

    assert_error(post(client, url, {"to": U.VERIFIED}, village, new_key()), 409, "illegal_transition")
    assert_error(post(client, url, {"to": U.TO_MUSDES}, checker, new_key()), 403, "scope_missing")
    key = new_key()
    moved = post(client, url, {"to": U.TO_MUSDES}, village, key)
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == U.TO_MUSDES
    assert post(client, url, {"to": U.TO_MUSDES}, village, key).json() == moved.json()  # replayed, not re-run
    record = AuditRecord.objects.get(action=f"usulan_{U.TO_MUSDES}")
    assert (record.actor_id, record.channel) == (operator_a.pk, "api")

    svc.musdes_record(actor=operator_a, village_code=VILLAGE_A, kind=MusdesKind.MUSDES,
                      held_on=timezone.localdate(), signed_by="Kepala Desa Sutrisno", minutes=minutes_pdf(),
                      decisions={usulan.pk: (True, "layak")})
    assert post(client, url, {"to": U.DINSOS_CHECK}, village, new_key()).json()["status"] == U.DINSOS_CHECK
    body = assert_error(post(client, url, {"to": U.RETURNED}, checker, new_key()), 400, "evidence_missing")
    assert body["message_en"].startswith("This step needs")
    back = post(client, url, {"to": U.RETURNED, "reason": "Foto KK belum ada"}, checker, new_key())
    assert back.json()["status"] == U.RETURNED
    assert back.json()["history"][-1]["reason"] == "Foto KK belum ada"
    assert_error(post(client, url, {"to": U.CANCELLED}, checker, new_key()), 403, "scope_missing")


def test_steps_of_the_pages_only_are_refused(client, operator_a, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind="program", village_code=VILLAGE_A, family=geotagged_a,
                               payload={"program": "pkh"})
    usulan = svc.usulan_to_musdes(actor=operator_a, usulan=usulan)
    token = issue(operator_a, REGISTRY_VIEW, USULAN_DRAFT)
    url = f"/api/v1/usulan/{usulan.reference}/transitions"
    assert_error(post(client, url, {"to": U.MUSDES_APPROVED}, token, new_key()), 422, "not_in_api")
    usulan.refresh_from_db()
    assert usulan.status == U.TO_MUSDES


def test_transition_of_an_usulan_outside_the_region_is_not_found(client, operator_b, family_b, operator_a):
    usulan = svc.usulan_create(actor=operator_b, kind="program", village_code=VILLAGE_B, family=family_b,
                               payload={"program": "sembako"})
    token = issue(operator_a, REGISTRY_VIEW, USULAN_DRAFT)
    url = f"/api/v1/usulan/{usulan.reference}/transitions"
    assert_error(post(client, url, {"to": U.TO_MUSDES}, token, new_key()), 404, "not_found")
    usulan.refresh_from_db()
    assert usulan.status == U.DRAFT


def _photo(kind: str, **kw) -> dict:
    return {"kind": kind, "filename": f"{kind}.jpg", "content_base64": base64.b64encode(gps_photo(**kw)).decode()}


def test_visit_result_with_base64_photos(client, dinsos, worker, worker_wates, geotagged_a):
    visit = svc.visit_create(actor=dinsos, worker=worker, due_on=timezone.localdate() + dt.timedelta(days=7),
                             village_code=VILLAGE_A, family=geotagged_a, instructions="Cek rumah")
    url = f"/api/v1/visits/{visit.pk}/result"
    data = {"outcome": "ditemukan", "visited_on": timezone.localdate().isoformat(),
            "interview": {"income_monthly": "1.200.000", "occupation": "Buruh tani", "aid_received": []},
            "condition": CONDITION, "photos": [_photo("house_front"), _photo("house_inside")]}
    other = issue(worker_wates, REGISTRY_VIEW, VISIT_DO)
    assert_error(post(client, url, data, other, new_key()), 404, "not_found")
    token = issue(worker, REGISTRY_VIEW, VISIT_DO)
    no_front = {**data, "photos": [_photo("house_inside")]}
    assert_error(post(client, url, no_front, token, new_key()), 400, "validation_failed")
    broken = {**data, "photos": [{**_photo("house_front"), "content_base64": "bm90IGEganBlZw=="}]}
    assert_error(post(client, url, broken, token, new_key()), 415, "file_type_unsupported")
    key = new_key()
    done = post(client, url, data, token, key)
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["outcome"], done.json()["flags"]) == ("selesai", "ditemukan", [])
    assert post(client, url, data, token, key).json() == done.json()
    visit.refresh_from_db()
    assert visit.photos.count() == 2
    assert_error(post(client, url, data, token, new_key()), 409, "illegal_transition")
