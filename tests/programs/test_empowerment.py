"""PPKS categories and empowerment activities: services (permissions by region, bad input, audit records), the
progress per village and per social pillar, and the pages (django test client, force_login).

Sources: dtsen-domain.md §7: the 26 PPKS of Permensos 5/2019 [V] https://dinsos.jabarprov.go.id/ppks-psks ;
the social pillars (Karang Taruna [V] below, TKSK, PSM, Tagana, pendamping PKH [V]
https://satelitnews.com/?p=68623 ); §2.5 graduation and empowerment levers.
"""
# https://rastranews.id/gus-ipul-tegaskan-peran-penting-karang-taruna-sebagai-garda-terdepan-perubahan-sosial/2

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from dtsen.accounts.models import Role
from dtsen.accounts.services import system_actor
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.programs import empowerment as svc
from dtsen.programs import selectors
from dtsen.programs.models import (
    ActivityKind,
    ActivityOutcome,
    EmpowermentActivity,
    MembershipStatus,
    PpksCategory,
    PpksRecord,
)
from dtsen.registry import choices as c
from dtsen.registry.models import Person
from dtsen.registry.services import family_remove, person_record_death
from tests.programs.people import VILLAGE_A, VILLAGE_B, membership, register, staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = "tests.programs.urls_empower"


@pytest.fixture
def fam(db):
    return register(1)


@pytest.fixture
def fam_b(db):
    return register(2, VILLAGE_B)


@pytest.fixture
def kt(db):
    """Karang Taruna of family A's desa."""
    return staff("kt.a", Role.KARANG_TARUNA, VILLAGE_A)


@pytest.fixture
def tksk(db):
    """TKSK of the kecamatan of family A (Temon)."""
    return staff("tksk.temon", Role.TKSK, "34.01.01")


def wife(family) -> Person:
    return Person.objects.get(family=family, relationship=c.Relationship.SPOUSE)


def days_ago(n: int) -> dt.date:
    return TODAY() - dt.timedelta(days=n)


# ------------------------------------------------------------------------------------------------ PPKS


def test_ppks_categories_are_the_26_of_permensos_5_2019():
    assert len(PpksCategory.values) == 26


def test_ppks_record_add_and_end(tksk, fam):
    person = wife(fam)
    rec = svc.ppks_record_add(actor=tksk, person=person, category=PpksCategory.PEREMPUAN_RAWAN, source="TKSK Temon",
                              observed_on=days_ago(10), note="Kepala keluarga sakit menahun")
    assert (rec.category, rec.source, rec.recorded_by_id, rec.ended_on) == (
        PpksCategory.PEREMPUAN_RAWAN, "TKSK Temon", tksk.pk, None)
    added = AuditRecord.objects.get(action="ppks_record_add")
    assert added.persons == f",{person.pk},"
    assert added.after["category"] == PpksCategory.PEREMPUAN_RAWAN
    with pytest.raises(Conflict):  # the same category is still open
        svc.ppks_record_add(actor=tksk, person=person, category=PpksCategory.PEREMPUAN_RAWAN, source="Dinsos",
                            observed_on=days_ago(2))
    rec = svc.ppks_record_end(actor=tksk, record=rec, ended_on=days_ago(1), note="Sudah bekerja")
    assert rec.ended_on == days_ago(1)
    assert rec.note == "Sudah bekerja"
    assert AuditRecord.objects.get(action="ppks_record_end").before["ended_on"] is None
    with pytest.raises(Conflict):
        svc.ppks_record_end(actor=tksk, record=rec, ended_on=TODAY())
    # a new observation after it ended is a new record
    svc.ppks_record_add(actor=tksk, person=person, category=PpksCategory.PEREMPUAN_RAWAN, source="TKSK Temon",
                        observed_on=TODAY())
    assert PpksRecord.objects.filter(person=person).count() == 2


@pytest.mark.parametrize(("kw", "field"), [
    ({"category": "miskin_sekali"}, "category"),
    ({"source": "  "}, "source"),
    ({"source": "x" * 61}, "source"),
    ({"note": "x" * 301}, "note"),
    ({"observed_on": TODAY() + dt.timedelta(days=1)}, "observed_on"),
    ({"observed_on": dt.date(1950, 1, 1)}, "observed_on"),  # before the person was born
    ({"observed_on": None}, "observed_on"),
])
def test_ppks_bad_input(tksk, fam, kw, field):
    args = {"category": PpksCategory.FAKIR_MISKIN, "source": "TKSK", "observed_on": days_ago(1), **kw}
    with pytest.raises(ValidationFailed) as exc:
        svc.ppks_record_add(actor=tksk, person=wife(fam), **args)
    assert exc.value.extra["field"] == field
    assert not PpksRecord.objects.exists()
    assert not AuditRecord.objects.filter(action="ppks_record_add").exists()


def test_ppks_end_bad_dates(tksk, fam):
    rec = svc.ppks_record_add(actor=tksk, person=wife(fam), category=PpksCategory.FAKIR_MISKIN, source="TKSK",
                              observed_on=days_ago(5))
    for day in (days_ago(6), TODAY() + dt.timedelta(days=1)):
        with pytest.raises(ValidationFailed):
            svc.ppks_record_end(actor=tksk, record=rec, ended_on=day)


def test_ppks_not_for_a_deceased_person(tksk, fam):
    person = wife(fam)
    person_record_death(actor=system_actor(), person=person, death_date=days_ago(3), source=c.DeathSource.DUKCAPIL,
                        channel=c.Channel.ADMIN_MATCH, reason="Akta kematian")
    with pytest.raises(ValidationFailed) as exc:
        svc.ppks_record_add(actor=tksk, person=person, category=PpksCategory.FAKIR_MISKIN, source="TKSK",
                            observed_on=days_ago(1))
    assert exc.value.extra["field"] == "person"


def test_ppks_permission_by_region_and_role(fam, fam_b, kt):
    operator = staff("operator.a", Role.OPERATOR_DESA, VILLAGE_A)  # registry.change, not empower.record
    with pytest.raises(PermissionDenied):
        svc.ppks_record_add(actor=operator, person=wife(fam), category=PpksCategory.FAKIR_MISKIN, source="x",
                            observed_on=days_ago(1))
    with pytest.raises(PermissionDenied):  # Karang Taruna of desa A, family B in Wates
        svc.ppks_record_add(actor=kt, person=wife(fam_b), category=PpksCategory.FAKIR_MISKIN, source="x",
                            observed_on=days_ago(1))
    dinsos = staff("dinsos.kp", Role.DINSOS_VERIFIER, "34.01")
    rec = svc.ppks_record_add(actor=dinsos, person=wife(fam_b), category=PpksCategory.KORBAN_BENCANA_ALAM,
                              source="Asesmen Dinsos", observed_on=days_ago(1))
    with pytest.raises(PermissionDenied):
        svc.ppks_record_end(actor=kt, record=rec, ended_on=TODAY())
    with pytest.raises(NotFound):
        selectors.ppks_record_get(actor=kt, record_id=rec.pk)


# ---------------------------------------------------------------------------------------- empowerment


@pytest.mark.parametrize(("role", "region", "pillar"), [
    (Role.KARANG_TARUNA, VILLAGE_A, "karang_taruna"),
    (Role.PENDAMPING_PKH, "34.01.01", "pendamping_pkh"),
    (Role.TKSK, "34.01.01", "tksk"),
    (Role.PSM, VILLAGE_A, "psm"),
    (Role.TAGANA, "34.01", "tagana"),
    (Role.DINSOS_SUPERVISOR, "34.01", "dinsos"),
])
def test_activity_pillar_is_the_actors_role(fam, role, region, pillar):
    actor = staff(f"{role}.x", role, region)
    act = svc.empowerment_add(actor=actor, family=fam, kind=ActivityKind.SKILLS, started_on=days_ago(30),
                              notes="Pelatihan menjahit")
    assert (act.pillar, act.village_code, act.outcome, act.recorded_by_id) == (
        pillar, VILLAGE_A, ActivityOutcome.ONGOING, actor.pk)
    rec = AuditRecord.objects.get(action="empowerment_add")
    assert rec.after["pillar"] == pillar
    assert rec.object_id == str(act.pk)


def test_pillar_role_must_cover_the_village(fam):
    # Karang Taruna elsewhere and Dinsos here: the activity is recorded under Dinsos, not Karang Taruna
    actor = staff("dua.peran", Role.KARANG_TARUNA, VILLAGE_B)
    from dtsen.accounts.services import role_assign

    role_assign(user=actor, role=Role.DINSOS_VERIFIER, region_code="34.01", reason="uji")
    assert svc.empowerment_add(actor=actor, family=fam, kind=ActivityKind.CAPITAL, started_on=TODAY()).pillar == \
        "dinsos"


def test_activity_needs_a_pillar_in_scope(fam, fam_b, kt):
    with pytest.raises(PermissionDenied):
        svc.empowerment_add(actor=kt, family=fam_b, kind=ActivityKind.SKILLS, started_on=TODAY())
    root = get_user_model().objects.create_superuser("root", password="x")
    with pytest.raises(PermissionDenied):  # national scope but no social pillar
        svc.empowerment_add(actor=root, family=fam, kind=ActivityKind.SKILLS, started_on=TODAY())
    ratifier = staff("bupati", Role.RATIFIER, "34.01")
    with pytest.raises(PermissionDenied):
        svc.empowerment_add(actor=ratifier, family=fam, kind=ActivityKind.SKILLS, started_on=TODAY())
    assert not EmpowermentActivity.objects.exists()


@pytest.mark.parametrize(("kw", "field"), [
    ({"kind": "arisan"}, "kind"),
    ({"started_on": TODAY() + dt.timedelta(days=1)}, "started_on"),
    ({"started_on": "2025-01-01"}, "started_on"),
    ({"notes": "x" * 501}, "notes"),
])
def test_activity_bad_input(kt, fam, kw, field):
    args = {"kind": ActivityKind.MARKET, "started_on": days_ago(1), **kw}
    with pytest.raises(ValidationFailed) as exc:
        svc.empowerment_add(actor=kt, family=fam, **args)
    assert exc.value.extra["field"] == field


def test_activity_not_for_a_removed_family(kt, fam):
    family_remove(actor=system_actor(), family=fam, removal_reason=c.RemovalReason.MOVED, channel=c.Channel.MUSDES,
                  reason="Pindah")
    with pytest.raises(ValidationFailed):
        svc.empowerment_add(actor=kt, family=fam, kind=ActivityKind.SKILLS, started_on=TODAY())


def test_activity_outcomes(kt, fam):
    act = svc.empowerment_add(actor=kt, family=fam, kind=ActivityKind.CAPITAL, started_on=days_ago(60))
    with pytest.raises(ValidationFailed):
        svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.ONGOING, outcome_on=TODAY())
    with pytest.raises(ValidationFailed):
        svc.empowerment_outcome(actor=kt, activity=act, outcome="kaya", outcome_on=TODAY())
    with pytest.raises(ValidationFailed):  # before it started
        svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.COMPLETED, outcome_on=days_ago(61))
    with pytest.raises(ValidationFailed):
        svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.COMPLETED,
                                outcome_on=TODAY() + dt.timedelta(days=1))
    act = svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.BUSINESS_RUNNING,
                                  outcome_on=days_ago(20))
    with pytest.raises(ValidationFailed):  # not before the previous outcome
        svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.INCOME_UP, outcome_on=days_ago(21))
    act = svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.READY_TO_GRADUATE,
                                  outcome_on=days_ago(2))
    assert (act.outcome, act.outcome_on) == (ActivityOutcome.READY_TO_GRADUATE, days_ago(2))
    recs = AuditRecord.objects.filter(action="empowerment_outcome").order_by("seq")
    assert [r.after["outcome"] for r in recs] == [ActivityOutcome.BUSINESS_RUNNING, ActivityOutcome.READY_TO_GRADUATE]
    assert recs[1].before["outcome"] == ActivityOutcome.BUSINESS_RUNNING
    act = svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.STOPPED, outcome_on=TODAY())
    with pytest.raises(Conflict):
        svc.empowerment_outcome(actor=kt, activity=act, outcome=ActivityOutcome.COMPLETED, outcome_on=TODAY())
    outsider = staff("kt.b", Role.KARANG_TARUNA, VILLAGE_B)
    with pytest.raises(PermissionDenied):
        svc.empowerment_outcome(actor=outsider, activity=act, outcome=ActivityOutcome.COMPLETED, outcome_on=TODAY())


def _progress_data(fam_a1, fam_a2, fam_b):
    kt = staff("kt.a", Role.KARANG_TARUNA, VILLAGE_A)
    pkh = staff("pendamping.kp", Role.PENDAMPING_PKH, "34.01")
    a1 = svc.empowerment_add(actor=kt, family=fam_a1, kind=ActivityKind.SKILLS, started_on=days_ago(90))
    svc.empowerment_outcome(actor=kt, activity=a1, outcome=ActivityOutcome.READY_TO_GRADUATE, outcome_on=days_ago(5))
    svc.empowerment_add(actor=kt, family=fam_a1, kind=ActivityKind.CAPITAL, started_on=days_ago(60))
    svc.empowerment_add(actor=kt, family=fam_a2, kind=ActivityKind.SKILLS, started_on=days_ago(30))
    svc.empowerment_add(actor=pkh, family=fam_a1, kind=ActivityKind.FAMILY_DEVELOPMENT, started_on=days_ago(40))
    b = svc.empowerment_add(actor=pkh, family=fam_b, kind=ActivityKind.FINANCE, started_on=days_ago(20))
    svc.empowerment_outcome(actor=pkh, activity=b, outcome=ActivityOutcome.STOPPED, outcome_on=days_ago(1))
    membership(fam_a1, status=MembershipStatus.GRADUATED, reason="graduasi_mandiri")
    membership(fam_a1, program="sembako")
    membership(fam_b, status=MembershipStatus.ACTIVE)
    membership(register(9, VILLAGE_B), status=MembershipStatus.GRADUATED, reason="graduasi_alamiah")  # no activity
    return kt, pkh


def test_empowerment_progress_per_village_and_pillar(fam, fam_b):
    fam2 = register(3)
    _kt, _pkh = _progress_data(fam, fam2, fam_b)
    viewer = staff("provinsi", Role.PROVINCIAL_VIEWER, "34")
    data = selectors.empowerment_progress(actor=viewer, region_code="34.01")
    by_code = {v.village_code: v for v in data.villages}
    assert set(by_code) == {VILLAGE_A, VILLAGE_B}
    a, b = by_code[VILLAGE_A], by_code[VILLAGE_B]
    assert (a.activities, a.families, a.ready, a.graduated_with_activity, a.graduated) == (4, 2, 1, 1, 1)
    assert (b.activities, b.families, b.ready, b.graduated_with_activity, b.graduated) == (1, 1, 0, 0, 1)
    cells = {p.pillar: p for p in a.pillars}
    assert cells["karang_taruna"].by_kind == {ActivityKind.SKILLS: 2, ActivityKind.CAPITAL: 1}
    assert cells["karang_taruna"].by_outcome == {ActivityOutcome.READY_TO_GRADUATE: 1, ActivityOutcome.ONGOING: 2}
    assert (cells["karang_taruna"].families, cells["karang_taruna"].graduated) == (2, 1)
    assert (cells["pendamping_pkh"].families, cells["pendamping_pkh"].graduated) == (1, 1)
    assert data.pillars["pendamping_pkh"].activities == 2
    assert data.pillars["pendamping_pkh"].by_outcome == {ActivityOutcome.ONGOING: 1, ActivityOutcome.STOPPED: 1}
    # one village only
    only_b = selectors.empowerment_progress(actor=viewer, region_code=VILLAGE_B)
    assert [v.village_code for v in only_b.villages] == [VILLAGE_B]
    # a Karang Taruna of desa A sees desa A only (program.view there)
    kt_view = selectors.empowerment_progress(actor=_kt, region_code="")
    assert [v.village_code for v in kt_view.villages] == [VILLAGE_A]
    with pytest.raises(PermissionDenied):
        selectors.empowerment_progress(actor=_kt, region_code=VILLAGE_B)
    bantul = staff("dinsos.bantul", Role.DINSOS_VERIFIER, "34.02")
    assert selectors.empowerment_progress(actor=bantul).villages == []
    auditor = staff("auditor", Role.AUDITOR, "")
    with pytest.raises(PermissionDenied):
        selectors.empowerment_progress(actor=auditor)


def test_empower_family_selector_scope(kt, fam, fam_b):
    svc.ppks_record_add(actor=kt, person=wife(fam), category=PpksCategory.FAKIR_MISKIN, source="Karang Taruna",
                        observed_on=days_ago(3))
    data = selectors.empower_family(actor=kt, family_id=fam.pk)
    assert len(data.members) == 3
    assert [r.category for m in data.members for r in m.ppks] == [PpksCategory.FAKIR_MISKIN]
    for bad in (fam_b.pk, "x", 999999):
        with pytest.raises(NotFound):
            selectors.empower_family(actor=kt, family_id=bad)
    with pytest.raises(NotFound):
        selectors.empower_person_get(actor=kt, person_id=wife(fam_b).pk)


# ------------------------------------------------------------------------------------------------ pages


def test_family_page_and_recording(client, kt, fam):
    client.force_login(kt)
    url = reverse("empower_family")
    assert client.get(url).status_code == 200  # the picker
    page = client.get(url, {"family": fam.pk})
    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    body = page.content.decode()
    assert fam.family_code in body
    assert "SITI AMINAH" in body.upper()
    assert "<script>" not in body.split("</head>")[1]  # CSP: no inline scripts
    assert AuditRecord.objects.filter(action="family.empower_view", object_id=str(fam.pk)).exists()

    person = wife(fam)
    r = client.post(reverse("empower_ppks_add"), {"family": fam.pk, "person": person.pk,
                                                  "category": PpksCategory.PEREMPUAN_RAWAN, "source": "Karang Taruna",
                                                  "observed_on": days_ago(2).isoformat(), "note": ""})
    assert r.status_code == 302
    assert r["Location"].endswith(f"?family={fam.pk}")
    rec = PpksRecord.objects.get(person=person)
    assert AuditRecord.objects.get(action="ppks_record_add").channel == c.Channel.WEB

    r = client.post(reverse("empower_activity_add"), {"family": fam.pk, "kind": ActivityKind.MARKET,
                                                      "started_on": days_ago(7).isoformat(), "notes": "Pasar desa"})
    assert r.status_code == 302
    act = EmpowermentActivity.objects.get(family=fam)
    assert act.pillar == "karang_taruna"
    r = client.post(reverse("empower_activity_outcome", args=[act.pk]),
                    {"outcome": ActivityOutcome.BUSINESS_RUNNING, "outcome_on": TODAY().isoformat()})
    assert r.status_code == 302
    act.refresh_from_db()
    assert act.outcome == ActivityOutcome.BUSINESS_RUNNING
    r = client.post(reverse("empower_ppks_end", args=[rec.pk]), {"ended_on": TODAY().isoformat()})
    assert r.status_code == 302
    rec.refresh_from_db()
    assert rec.ended_on == TODAY()
    body = client.get(url, {"family": fam.pk}).content.decode()
    assert 'data-activity="akses_pasar:usaha_berjalan"' in body
    assert 'data-ppks="perempuan_rawan_sosek"' in body


def test_family_page_refusals(client, kt, fam, fam_b):
    client.force_login(kt)
    future = (TODAY() + dt.timedelta(days=3)).isoformat()
    r = client.post(reverse("empower_ppks_add"), {"family": fam.pk, "person": wife(fam).pk,
                                                  "category": PpksCategory.FAKIR_MISKIN, "source": "KT",
                                                  "observed_on": future})
    assert r.status_code == 400
    body = r.content.decode()
    assert 'data-error-code="validation_failed"' in body
    assert "masa depan" in body
    assert "future" in body
    assert f'value="{future}"' in body  # the form keeps what was typed
    r = client.post(reverse("empower_activity_add"), {"family": fam.pk, "kind": ActivityKind.SKILLS,
                                                      "started_on": "kemarin"})
    assert r.status_code == 400
    assert "YYYY-MM-DD" in r.content.decode()
    r = client.post(reverse("empower_ppks_add"), {"family": fam.pk, "person": wife(fam_b).pk,
                                                  "category": PpksCategory.FAKIR_MISKIN, "source": "KT",
                                                  "observed_on": TODAY().isoformat()})
    assert r.status_code == 404  # a person outside the actor's regions
    assert client.get(reverse("empower_family"), {"family": fam_b.pk}).status_code == 404
    assert client.post(reverse("empower_activity_add"), {"family": fam_b.pk, "kind": ActivityKind.SKILLS,
                                                         "started_on": TODAY().isoformat()}).status_code == 404
    assert not PpksRecord.objects.exists()
    assert not EmpowermentActivity.objects.exists()
    assert client.get(reverse("empower_ppks_add")).status_code == 405


def test_pages_need_the_permission(client, fam):
    r = client.get(reverse("empower_family"), {"family": fam.pk})
    assert r.status_code == 302
    assert "login" in r["Location"]
    client.force_login(staff("operator.a", Role.OPERATOR_DESA, VILLAGE_A))
    assert client.get(reverse("empower_family"), {"family": fam.pk}).status_code == 403
    assert client.get(reverse("empower_progress")).status_code == 403


def test_progress_page(client, fam, fam_b):
    _kt, pkh = _progress_data(fam, register(3), fam_b)
    client.force_login(pkh)
    r = client.get(reverse("empower_progress"), {"region": "34.01"})
    assert r.status_code == 200
    body = r.content.decode()
    assert f'data-village="{VILLAGE_A}"' in body
    assert f'data-village="{VILLAGE_B}"' in body
    assert 'data-pillar="karang_taruna"' in body
    assert 'data-pillar="pendamping_pkh"' in body
    assert 'data-families="2"' in body
    assert 'data-graduated="1"' in body
    client.force_login(staff("kt.b", Role.KARANG_TARUNA, VILLAGE_B))
    assert client.get(reverse("empower_progress"), {"region": VILLAGE_A}).status_code == 403
