"""The read endpoints of API v1: families (list with filters, members, conditions), persons by NIK in a header,
regions, ranking runs and desil, programs and memberships, visits; each limited to the regions of the token's
user, paginated the one way, audited with the channel "api", never a clear NIK."""

from __future__ import annotations

import pytest

from dtsen.accounts.models import Role
from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.audit.models import AuditRecord
from dtsen.ranking.models import RankingResult
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Person

from .conftest import assert_error, bearer, issue, user_with

pytestmark = pytest.mark.django_db


def clear_niks(family) -> list[str]:
    return [nik_decrypt(p.nik_enc) for p in Person.objects.filter(family=family)]


def test_family_list_only_in_scope_paginated_and_audited(client, temon, family_a, family_b):
    user, token = temon
    body = client.get("/api/v1/families", **bearer(token)).json()
    assert [f["family_code"] for f in body["results"]] == [family_a.family_code]
    assert (body["count"], body["offset"], body["next_offset"]) == (1, 0, None)
    record = AuditRecord.objects.get(action="family.list")
    assert (record.actor_id, record.channel) == (user.pk, "api")

    national = issue(user_with("pusdatin.api", Role.PUSDATIN, ""), REGISTRY_VIEW)
    first = client.get("/api/v1/families", {"limit": 1}, **bearer(national)).json()
    assert (first["count"], first["next_offset"]) == (1, 1)
    second = client.get("/api/v1/families", {"limit": 1, "offset": 1}, **bearer(national)).json()
    assert second["next_offset"] is None
    codes = {first["results"][0]["family_code"], second["results"][0]["family_code"]}
    assert codes == {family_a.family_code, family_b.family_code}

    wates = client.get("/api/v1/families", {"region": "34.01.02"}, **bearer(national)).json()
    assert [f["family_code"] for f in wates["results"]] == [family_b.family_code]
    outside = client.get("/api/v1/families", {"region": "34.01.02"}, **bearer(token)).json()
    assert outside["results"] == []
    assert client.get("/api/v1/families", {"status": "nonaktif"}, **bearer(national)).json()["results"] == []


def test_family_list_by_desil_of_the_latest_run(client, temon, family_a, ranked):
    _, token = temon
    desil = RankingResult.objects.get(run=ranked, family=family_a).desil
    hit = client.get("/api/v1/families", {"desil": desil}, **bearer(token)).json()
    assert [f["family_code"] for f in hit["results"]] == [family_a.family_code]
    other = 1 if desil != 1 else 2
    assert client.get("/api/v1/families", {"desil": other}, **bearer(token)).json()["results"] == []
    assert_error(client.get("/api/v1/families", {"desil": 11}, **bearer(token)), 422, "validation_failed")


def test_members_and_conditions_of_a_family(client, temon, family_a, family_b):
    user, token = temon
    response = client.get(f"/api/v1/families/{family_a.family_code}/members", **bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == Person.objects.filter(family=family_a, status="aktif").count() > 0
    for nik in clear_niks(family_a):
        assert nik not in response.content.decode()
    assert all("*" in m["nik_masked"] for m in body["results"])
    assert AuditRecord.objects.get(action="family.members").channel == "api"

    conditions = client.get(f"/api/v1/families/{family_a.family_code}/conditions", **bearer(token)).json()
    assert conditions["current"]["tenure"]
    assert isinstance(conditions["current"]["assets"], list)
    assert AuditRecord.objects.filter(action="family.conditions", actor_id=user.pk).exists()
    for tail in ("members", "conditions", "desil", "memberships"):
        assert_error(client.get(f"/api/v1/families/{family_b.family_code}/{tail}", **bearer(token)), 404,
                     "not_found")


def test_person_lookup_takes_the_nik_from_the_header_only(client, temon, family_a, family_b):
    _, token = temon
    nik = clear_niks(family_a)[0]
    found = client.get("/api/v1/persons", HTTP_X_NIK=nik, **bearer(token))
    assert found.json()["count"] == 1
    assert nik not in found.content.decode()
    other = client.get("/api/v1/persons", HTTP_X_NIK=clear_niks(family_b)[0], **bearer(token)).json()
    assert other["count"] == 0
    assert_error(client.get("/api/v1/persons", {"nik": nik}, HTTP_X_NIK=nik, **bearer(token)), 422,
                 "validation_failed")


def test_regions_need_a_token_but_no_scope(client, temon):
    _, token = temon
    assert_error(client.get("/api/v1/regions"), 401, "token_missing")
    provinces = client.get("/api/v1/regions", {"limit": 500}, **bearer(token)).json()
    assert any(r["code"] == "34" and r["level"] == 1 for r in provinces["results"])
    kp = client.get("/api/v1/regions/34.01.01", **bearer(token)).json()
    assert [a["code"] for a in kp["ancestors"]] == ["34", "34.01"]
    villages = client.get("/api/v1/regions/34.01.01/children", **bearer(token)).json()
    assert villages["results"]
    assert all(r["parent_code"] == "34.01.01" for r in villages["results"])
    assert_error(client.get("/api/v1/regions/99.99", **bearer(token)), 404, "region_not_found")
    assert_error(client.get("/api/v1/regions", {"edition": "1999"}, **bearer(token)), 404,
                 "region_edition_not_found")


def test_ranking_runs_distribution_and_family_desil(client, temon, family_a, family_b, ranked):
    _, token = temon
    runs = client.get("/api/v1/ranking/runs", **bearer(token)).json()
    assert [r["id"] for r in runs["results"]] == [ranked.pk]
    assert client.get(f"/api/v1/ranking/runs/{ranked.pk}", **bearer(token)).json()["period"] == "2026-Q4"
    dist = client.get(f"/api/v1/ranking/runs/{ranked.pk}/distribution", **bearer(token)).json()
    assert dist["total"] == 1  # family B (Wates) is outside the token's regions
    mine = RankingResult.objects.get(run=ranked, family=family_a)
    assert dist["by_desil"][str(mine.desil)] == 1
    desil = client.get(f"/api/v1/families/{family_a.family_code}/desil", **bearer(token)).json()
    assert (desil["run_id"], desil["desil"], desil["provisional"]) == (ranked.pk, mine.desil, False)
    assert [r["run_id"] for r in desil["runs"]] == [ranked.pk]
    assert_error(client.get("/api/v1/ranking/runs/999999", **bearer(token)), 404, "not_found")


def test_programs_and_memberships(client, temon, family_a):
    _, token = temon
    programs = client.get("/api/v1/programs", **bearer(token)).json()
    assert {"pkh", "sembako"} <= {p["code"] for p in programs["results"]}
    assert client.get("/api/v1/programs/runs", **bearer(token)).json()["results"] == []
    members = client.get(f"/api/v1/families/{family_a.family_code}/memberships", **bearer(token)).json()
    assert members == {"family_code": family_a.family_code, "results": []}
    assert_error(client.get("/api/v1/programs/runs/1/results", **bearer(token)), 404, "not_found")
    assert_error(client.get("/api/v1/programs/runs/1", **bearer(token)), 404, "not_found")
    operator = issue(user_with("op.prog", Role.OPERATOR_DESA, "34.01.01.2001"))
    assert_error(client.get("/api/v1/programs", **bearer(operator)), 403, "scope_missing")


def test_visits_of_the_token_user(client, worker, dinsos, family_a):
    import datetime as dt

    from django.utils import timezone

    from dtsen.updates import services as svc

    visit = svc.visit_create(actor=dinsos, worker=worker, due_on=timezone.localdate() + dt.timedelta(days=7),
                             village_code=family_a.village_code, family=family_a, instructions="Cek rumah")
    token = issue(worker)
    listed = client.get("/api/v1/visits", **bearer(token)).json()
    assert [v["id"] for v in listed["results"]] == [visit.pk]
    assert client.get(f"/api/v1/visits/{visit.pk}", **bearer(token)).json()["status"] == "ditugaskan"
    other = issue(user_with("pendamping.lain", Role.PENDAMPING_PKH, "34.01.02"))
    assert client.get("/api/v1/visits", **bearer(other)).json()["results"] == []
    assert_error(client.get(f"/api/v1/visits/{visit.pk}", **bearer(other)), 404, "not_found")
    assert client.get(f"/api/v1/visits/{visit.pk}", **bearer(issue(dinsos))).status_code == 200
