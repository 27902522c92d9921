"""API /api/v1/usulan: list, detail with history and report, limited to the regions of the token's user
(404 outside), refused without the scope registry.view (403) or a token (401), never a NIK in the body (only
the masked one), reads audited with the channel "api", refusals in the API's one bilingual error body."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dtsen.accounts.auth_services import api_token_issue
from dtsen.accounts.models import Role
from dtsen.accounts.permissions import REGISTRY_VIEW, VISIT_DO
from dtsen.audit.models import AuditRecord
from dtsen.registry.crypto import nik_hash
from dtsen.updates import services as svc
from dtsen.updates.models import UsulanKind, UsulanStatus
from tests.updates.conftest import NEW_FAMILY, VILLAGE_A, VILLAGE_B, staff

pytestmark = pytest.mark.django_db
U = UsulanStatus
NIKS = [m["nik"] for m in NEW_FAMILY["members"]]


def issue(user, *scopes: str) -> str:
    return api_token_issue(actor=_admin(), user=user, name="SIKS-NG uji", scopes=list(scopes or (REGISTRY_VIEW,)),
                           expires_at=timezone.now() + dt.timedelta(days=30)).secret


def _admin():
    from dtsen.accounts.services import system_actor

    return system_actor()


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message_id"]
    assert body["message_en"]
    assert body["message_id"] != body["message_en"]
    return body


@pytest.fixture
def temon_client(db):
    """A system client reading kecamatan Temon (VILLAGE_A inside, VILLAGE_B in Wates outside)."""
    user = staff("siks.temon", Role.TKSK, "34.01.01")
    return user, issue(user)


@pytest.fixture
def usulan(operator_a, operator_b, geotagged_a, family_b):
    """A new family and a program proposal in VILLAGE_A (the first moved on to the meeting), one in VILLAGE_B."""
    new = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A, payload=NEW_FAMILY)
    new = svc.usulan_to_musdes(actor=operator_a, usulan=new)
    program = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A,
                                family=geotagged_a, payload={"program": "pkh"})
    other = svc.usulan_create(actor=operator_b, kind=UsulanKind.PROGRAM, village_code=VILLAGE_B, family=family_b,
                              payload={"program": "sembako"})
    return new, program, other


def test_list_only_the_regions_of_the_token(client, temon_client, usulan):
    user, token = temon_client
    new, program, _other = usulan
    response = client.get("/api/v1/usulan", **bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert {r["reference"] for r in body["results"]} == {new.reference, program.reference}
    assert body["count"] == 2
    assert (body["limit"], body["offset"]) == (100, 0)
    row = next(r for r in body["results"] if r["reference"] == program.reference)
    assert row["family_code"] == program.family.family_code
    assert row["status"] == U.DRAFT
    assert row["kind"] == UsulanKind.PROGRAM
    assert row["village_code"] == VILLAGE_A
    record = AuditRecord.objects.get(action="usulan.list")
    assert (record.actor_id, record.channel) == (user.pk, "api")


def test_list_filters(client, temon_client, usulan):
    _, token = temon_client
    new, program, _ = usulan

    def refs(**params) -> list[str]:
        response = client.get("/api/v1/usulan", params, **bearer(token))
        assert response.status_code == 200, response.content
        return [r["reference"] for r in response.json()["results"]]

    assert refs(status=U.TO_MUSDES) == [new.reference]
    assert refs(kind=UsulanKind.PROGRAM) == [program.reference]
    assert set(refs(village=VILLAGE_A)) == {new.reference, program.reference}
    assert refs(village=VILLAGE_B) == []  # outside the token's regions: nothing, not an error
    assert refs(status=U.APPLIED) == []
    assert len(refs(limit=1)) == 1
    assert len(refs(limit=1, offset=1)) == 1
    assert refs(offset=2) == []


@pytest.mark.parametrize("params", [{"status": "selesai"}, {"kind": "apa"}, {"village": "34.1"}, {"limit": 0},
                                    {"limit": 501}, {"offset": -1}, {"NIK": "3401011203900005"}])
def test_list_invalid_input_is_422(client, temon_client, usulan, params):
    _, token = temon_client
    assert_error(client.get("/api/v1/usulan", params, **bearer(token)), 422, "validation_failed")


def test_detail_with_history_and_no_nik(client, temon_client, usulan):
    user, token = temon_client
    new, _, _ = usulan
    response = client.get(f"/api/v1/usulan/{new.reference}", **bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == new.reference
    assert body["status"] == U.TO_MUSDES
    assert body["payload"]["kk_number"] == NEW_FAMILY["kk_number"]
    members = body["payload"]["members"]
    assert [m["name"] for m in members] == ["SUPARMAN", "PARTINI"]
    assert all(set(m) & {"nik", "nik_enc", "nik_hash"} == set() for m in members)
    assert [m["nik_masked"] for m in members] == [new.payload["members"][i]["nik_masked"] for i in range(2)]
    text = response.content.decode()
    for nik in NIKS:
        assert nik not in text
        assert nik_hash(nik) not in text
    assert "nik_enc" not in text
    assert "nik_hash" not in text
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [("", U.DRAFT), (U.DRAFT, U.TO_MUSDES)]
    assert body["history"][1]["actor"] == "operator.a"
    assert body["history"][1]["permission"] == "usulan.draft"
    assert body["musdes"] is None
    assert body["penetapan"] is None
    record = AuditRecord.objects.get(action="usulan.view")
    assert (record.actor_id, record.channel, record.object_id) == (user.pk, "api", str(new.pk))
    # the reference is case-insensitive, like on the pages
    assert client.get(f"/api/v1/usulan/{new.reference.lower()}", **bearer(token)).status_code == 200


def test_detail_of_another_region_is_404(client, temon_client, usulan):
    _, token = temon_client
    _, _, other = usulan
    body = assert_error(client.get(f"/api/v1/usulan/{other.reference}", **bearer(token)), 404, "not_found")
    assert body["message_id"] == "Usulan tidak ditemukan."
    assert_error(client.get("/api/v1/usulan/USL-209901-XXXXXX", **bearer(token)), 404, "not_found")
    assert not AuditRecord.objects.filter(action="usulan.view").exists()


def test_scope_registry_view_is_required(client, usulan):
    worker = staff("pendamping.api", Role.PENDAMPING_PKH, "34.01.01")  # holds registry.view and visit.do
    token = issue(worker, VISIT_DO)
    new, _, _ = usulan
    for url in ("/api/v1/usulan", f"/api/v1/usulan/{new.reference}", "/api/v1/usulan/laporan"):
        body = assert_error(client.get(url, **bearer(token)), 403, "scope_missing")
        assert "registry.view" in body["message_id"]


def test_a_token_is_required(client, usulan):
    assert_error(client.get("/api/v1/usulan"), 401, "token_missing")
    assert_error(client.get("/api/v1/usulan/laporan", **bearer("dtsen_salah_salah")), 401, "token_invalid")


def test_report_counts_only_the_token_regions(client, temon_client, usulan):
    _, token = temon_client
    response = client.get("/api/v1/usulan/laporan", **bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["by_status"][U.DRAFT] == 1
    assert body["by_status"][U.TO_MUSDES] == 1
    assert sum(body["by_status"].values()) == 2
    assert body["by_region"] == [{"code": "34.01", "name": "Kabupaten Kulon Progo", "total": 2,
                                  "by_status": {U.TO_MUSDES: 1, U.DRAFT: 1}}]
    assert body["by_age"]["0-7 hari"] == 2
    assert body["throughput"] == [{"month": timezone.localdate().strftime("%Y-%m"), "created": 2, "applied": 0}]
    villages = client.get("/api/v1/usulan/laporan", {"region": "34.01.01", "level": 4}, **bearer(token)).json()
    assert [(r["code"], r["total"]) for r in villages["by_region"]] == [(VILLAGE_A, 2)]
    outside = client.get("/api/v1/usulan/laporan", {"region": "34.01.02"}, **bearer(token)).json()
    assert outside["by_region"] == []
    assert sum(outside["by_status"].values()) == 0
    assert_error(client.get("/api/v1/usulan/laporan", {"region": "99.99"}, **bearer(token)), 404, "region_not_found")
    assert_error(client.get("/api/v1/usulan/laporan", {"level": 5}, **bearer(token)), 422, "validation_failed")


def test_the_endpoints_are_in_the_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/usulan", "/api/v1/usulan/laporan", "/api/v1/usulan/{reference}"} <= set(paths)
