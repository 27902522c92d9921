"""Penetapan and penyaluran: a decree freezes a run's selected list of a program in a region into disbursements
(ditetapkan, the run's tahap, the amount of each result) and memberships; ended memberships carry the reason of
their result; disbursement status moves only along its table, two racing updates leave one winner, and a bank
report is recorded all or nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import Conflict, PermissionDenied, ValidationFailed
from dtsen.programs import decrees
from dtsen.programs import services as svc
from dtsen.programs.models import (
    Decree,
    Disbursement,
    DisbursementEvent,
    EligibilityResult,
    ExitReason,
    Membership,
    MembershipEvent,
    MembershipStatus,
    Outcome,
    PayStatus,
    Reason,
)
from dtsen.registry.models import Family
from tests.programs import fixtures_decree as fd

pytestmark = pytest.mark.django_db
synth_dir = fd.synth_dir
work_dir = fd.work_dir
ranked = fd.ranked
run = fd.run
ratifier = fd.ratifier
ratifier_other = fd.ratifier_other
dinsos = fd.dinsos
dinsos_other = fd.dinsos_other

P = PayStatus
M = MembershipStatus


def today() -> dt.date:
    return timezone.localdate()


def ratify(actor, run, *, program: str = "pkh", region: str = fd.REGENCY, number: str = "460/12/SK/2026"):
    return decrees.decree_create(actor=actor, run=run, program=program, region_code=region, decree_number=number,
                                 decree_date=today())


# -------------------------------------------------------------------------------------------- the decree


def test_decree_creates_one_disbursement_per_beneficiary_and_memberships(run, ratifier):
    chosen = fd.selected(run)
    assert chosen.count() > 5
    decree = ratify(ratifier, run)
    rows = Disbursement.objects.filter(decree=decree)
    assert decree.beneficiaries == rows.count() == chosen.count()
    assert decree.total_amount == chosen.aggregate(s=Sum("amount"))["s"] == rows.aggregate(s=Sum("amount"))["s"]
    assert set(rows.values_list("status", flat=True)) == {P.DECIDED}
    assert set(rows.values_list("tahap", flat=True)) == {run.period}
    for d in rows.select_related("result")[:20]:
        assert (d.amount, d.family_id, d.village_code) == (d.result.amount, d.result.family_id, d.result.village_code)
        assert d.result.program == "pkh"
        assert d.result.outcome == Outcome.SELECTED
    assert DisbursementEvent.objects.filter(disbursement__decree=decree, from_status="", to_status=P.DECIDED
                                            ).count() == rows.count()
    members = Membership.objects.filter(program="pkh")
    assert set(members.values_list("family_id", flat=True)) == set(chosen.values_list("family_id", flat=True))
    assert set(members.values_list("status", flat=True)) == {M.ACTIVE}
    assert MembershipEvent.objects.filter(decree=decree, from_status="", to_status=M.ACTIVE).count() == members.count()
    actions = set(AuditRecord.objects.filter(object_type="decree", object_id=str(decree.pk))
                  .values_list("action", flat=True))
    assert {"decree_create", "membership_apply_decree"} <= actions


def test_person_program_decree_has_one_row_per_person(run, ratifier):
    chosen = fd.selected(run, "pbi_jk")
    assert chosen.exclude(person=None).count() == chosen.count() > 0
    decree = ratify(ratifier, run, program="pbi_jk", number="460/13/SK/2026")
    assert Disbursement.objects.filter(decree=decree).exclude(person=None).count() == chosen.count()
    families = set(chosen.values_list("family_id", flat=True))
    assert set(Membership.objects.filter(program="pbi_jk").values_list("family_id", flat=True)) == families


def _not_selected_family(run, taken: set[int]) -> EligibilityResult:
    row = (EligibilityResult.objects.filter(run=run, program="pkh", outcome=Outcome.NOT_SELECTED)
           .exclude(family_id__in=taken).order_by("pk").first())
    assert row is not None
    taken.add(row.family_id)
    return row


def test_members_not_listed_are_ended_with_the_reason_of_their_result(run, ratifier):
    # Earlier members (an earlier decree) whose result in this run is not selected, each for one reason. The
    # reasons are set on the rows here: a 250-family register does not have every case.
    taken: set[int] = set()
    cases = {
        Reason.DECEASED: (M.DEACTIVATED, ExitReason.DECEASED_NO_PENGURUS),
        Reason.NO_PENGURUS: (M.DEACTIVATED, ExitReason.DECEASED_NO_PENGURUS),
        Reason.EXCLUDED: (M.DEACTIVATED, ExitReason.EXCLUDED),
        Reason.NO_COMPONENT: (M.GRADUATED, ExitReason.GRAD_NATURAL),
        Reason.NIK_INVALID: (M.DEACTIVATED, ExitReason.OTHER),
    }
    members: dict[str, Membership] = {}
    for reason in cases:
        row = _not_selected_family(run, taken)
        EligibilityResult.objects.filter(pk=row.pk).update(reason=reason)
        members[reason] = Membership.objects.create(family_id=row.family_id, program="pkh", status=M.ACTIVE,
                                                    since=dt.date(2025, 1, 1))
    # a member with no pkh candidate row at all: the desil rose out of range
    pkh_families = EligibilityResult.objects.filter(run=run, program="pkh").values("family_id")
    risen = Family.objects.exclude(pk__in=pkh_families).order_by("pk").first()
    assert risen is not None
    members["risen"] = Membership.objects.create(family=risen, program="pkh", status=M.ACTIVE,
                                                 since=dt.date(2025, 1, 1))
    # a selected family whose membership had ended: reactivated
    back = fd.selected(run).order_by("pk").first()
    old = Membership.objects.create(family_id=back.family_id, program="pkh", status=M.DEACTIVATED,
                                    reason=ExitReason.NOT_FOUND, since=dt.date(2025, 1, 1))
    # a member of another program is not touched
    other = Membership.objects.create(family=risen, program="sembako", status=M.ACTIVE, since=dt.date(2025, 1, 1))

    decree = ratify(ratifier, run)

    for reason, (status, exit_reason) in cases.items():
        m = Membership.objects.get(pk=members[reason].pk)
        assert (m.status, m.reason, m.decree_id, m.version) == (status, exit_reason, decree.pk, 2), reason
        event = MembershipEvent.objects.get(membership=m)
        assert (event.from_status, event.to_status, event.reason) == (M.ACTIVE, status, exit_reason)
        if exit_reason == ExitReason.OTHER:
            assert event.note.startswith("nik_tidak_valid")
    m = Membership.objects.get(pk=members["risen"].pk)
    assert (m.status, m.reason) == (M.DEACTIVATED, ExitReason.DESIL_ROSE)
    old.refresh_from_db()
    assert (old.status, old.reason, old.version) == (M.ACTIVE, "", 2)
    assert MembershipEvent.objects.filter(membership=old, from_status=M.DEACTIVATED, to_status=M.ACTIVE).exists()
    other.refresh_from_db()
    assert (other.status, other.version) == (M.ACTIVE, 1)


def test_decree_outside_the_ratifiers_region_is_refused_and_writes_nothing(run, ratifier_other, ratifier):
    before = AuditRecord.objects.count()
    with pytest.raises(PermissionDenied) as err:
        ratify(ratifier_other, run)
    assert "wilayah" in err.value.message_id
    assert "region" in err.value.message_en
    with pytest.raises(PermissionDenied):  # a regional ratifier cannot ratify nationally either
        ratify(ratifier, run, region="")
    assert not Decree.objects.exists()
    assert not Disbursement.objects.exists()
    assert not Membership.objects.exists()
    assert AuditRecord.objects.count() == before


def test_simulation_cannot_be_ratified(ranked, work_dir, ratifier):
    simulation = svc.eligibility_run(actor=system_actor(), period="2026-T1", as_of=today(), simulation=True,
                                     work_dir=work_dir)
    with pytest.raises(ValidationFailed) as err:
        ratify(ratifier, simulation)
    assert err.value.code == "simulation"
    assert "simulasi" in err.value.message_id
    assert not Decree.objects.exists()


def test_decree_checks_its_number_date_region_and_uniqueness(run, ratifier):
    with pytest.raises(ValidationFailed) as err:
        ratify(ratifier, run, number="  ")
    assert err.value.extra["field"] == "decree_number"
    with pytest.raises(ValidationFailed) as err:
        decrees.decree_create(actor=ratifier, run=run, program="pkh", region_code=fd.REGENCY, decree_number="1/2026",
                              decree_date=today() + dt.timedelta(days=1))
    assert err.value.extra["field"] == "decree_date"
    with pytest.raises(ValidationFailed) as err:
        ratify(ratifier, run, region="34.01.01")  # a kecamatan: ratification is per province or kabupaten/kota
    assert err.value.extra["field"] == "region_code"
    with pytest.raises(ValidationFailed):
        ratify(ratifier, run, program="tidak_ada")
    first = ratify(ratifier, run)
    with pytest.raises(Conflict) as err:  # one decree per run, program and region
        ratify(ratifier, run, number="460/99/SK/2026")
    assert err.value.code == "already_ratified"
    with pytest.raises(ValidationFailed) as err:  # the number is unique per program
        decrees.decree_create(actor=system_actor(), run=run, program="pkh", region_code=fd.OTHER_REGENCY,
                              decree_number=first.decree_number, decree_date=today())
    assert err.value.code == "duplicate_number"
    with pytest.raises(ValidationFailed) as err:  # nobody of Bantul in this register
        decrees.decree_create(actor=system_actor(), run=run, program="pkh", region_code=fd.OTHER_REGENCY,
                              decree_number="460/101/SK/2026", decree_date=today())
    assert err.value.code == "nothing_selected"
    with pytest.raises(Conflict):  # the province covers the kabupaten already ratified
        decrees.decree_create(actor=system_actor(), run=run, program="pkh", region_code="34",
                              decree_number="460/100/SK/2026", decree_date=today())
    # the same number for another program is another decree
    ratify(ratifier, run, program="sembako", number=first.decree_number)
    assert Decree.objects.count() == 2


# ----------------------------------------------------------------------------------------- disbursement


@pytest.fixture
def decree(run, ratifier):
    return ratify(ratifier, run)


def _one(decree) -> Disbursement:
    return Disbursement.objects.filter(decree=decree).order_by("pk").first()


def test_status_moves_only_along_the_table(decree, dinsos):
    d = _one(decree)
    with pytest.raises(decrees.IllegalTransition) as err:
        decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.RETURNED, note="x")
    assert "tidak dapat diubah" in err.value.message_id
    assert "cannot change" in err.value.message_en
    with pytest.raises(ValidationFailed) as err:  # paid: through which channel
        decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.PAID)
    assert err.value.code == "channel_missing"
    with pytest.raises(ValidationFailed) as err:  # failed: why
        decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.FAILED, channel="bri")
    assert err.value.code == "note_missing"
    d = decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.FAILED, channel="bri",
                                        note="Rekening KKS tidak aktif")
    assert (d.status, d.version, d.channel) == (P.FAILED, 2, "bri")
    d = decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.PAID, channel="pos",
                                        note="Dibayar tunai lewat PT Pos")
    assert (d.status, d.version, d.channel) == (P.PAID, 3, "pos")
    d = decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.RETURNED, note="Tidak diambil")
    with pytest.raises(decrees.IllegalTransition):
        decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.PAID, channel="bri")
    with pytest.raises(decrees.IllegalTransition):
        decrees.disbursement_set_status(actor=dinsos, disbursement=d, status=P.DECIDED)
    steps = list(DisbursementEvent.objects.filter(disbursement=d).values_list("from_status", "to_status"))
    assert steps == [("", P.DECIDED), (P.DECIDED, P.FAILED), (P.FAILED, P.PAID), (P.PAID, P.RETURNED)]
    assert AuditRecord.objects.filter(object_type="disbursement", object_id=str(d.pk)).count() == 3


def test_status_outside_the_village_scope_is_refused(decree, dinsos_other, ratifier):
    d = _one(decree)
    for actor in (dinsos_other, ratifier):  # another kabupaten's Dinsos; a ratifier does not disburse
        with pytest.raises(PermissionDenied):
            decrees.disbursement_set_status(actor=actor, disbursement=d, status=P.PAID, channel="bri")
    d.refresh_from_db()
    assert (d.status, d.version) == (P.DECIDED, 1)


def test_a_stale_copy_loses(decree, dinsos):
    first = _one(decree)
    second = Disbursement.objects.get(pk=first.pk)
    decrees.disbursement_set_status(actor=dinsos, disbursement=first, status=P.PAID, channel="bri")
    with pytest.raises(Conflict) as err:
        decrees.disbursement_set_status(actor=dinsos, disbursement=second, status=P.FAILED, note="gagal")
    assert err.value.code == "stale"
    assert DisbursementEvent.objects.filter(disbursement=first).count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="real concurrent transactions need PostgreSQL")
def test_two_status_updates_racing_leave_one_winner(decree, dinsos):
    d = _one(decree)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(status: str, note: str) -> None:
        try:
            copy = Disbursement.objects.get(pk=d.pk)
            barrier.wait()
            decrees.disbursement_set_status(actor=dinsos, disbursement=copy, status=status, channel="bri", note=note)
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=args) for args in ((P.PAID, ""), (P.FAILED, "rekening"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stale", "won"]
    d.refresh_from_db()
    assert d.version == 2
    assert DisbursementEvent.objects.filter(disbursement=d).exclude(from_status="").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="real concurrent transactions need PostgreSQL")
def test_two_ratifications_racing_leave_one_decree(run, ratifier):
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def go(number: str) -> None:
        try:
            barrier.wait()
            ratify(ratifier, run, number=number)
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(f"460/{n}/SK/2026",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_ratified", "won"]
    assert Decree.objects.count() == 1
    assert Disbursement.objects.count() == fd.selected(run).count()


def test_bank_report_is_recorded_all_or_nothing(decree, dinsos):
    rows = list(Disbursement.objects.filter(decree=decree).select_related("family").order_by("pk")[:4])
    report = [
        {"family_code": rows[0].family.family_code, "status": P.PAID, "channel": "bri"},
        {"family_id": str(rows[1].family_id), "status": P.FAILED, "channel": "bni", "note": "NIK tidak padan"},
        {"family_id": str(rows[2].family_id), "status": P.RETURNED, "note": "x"},  # illegal from ditetapkan
        {"family_code": "TIDAK-ADA", "status": P.PAID, "channel": "pos"},  # not in the decree
        {"family_code": rows[0].family.family_code, "status": P.PAID, "channel": "bri"},  # repeated
    ]
    with pytest.raises(ValidationFailed) as err:
        decrees.disbursement_import(actor=dinsos, decree=decree, rows=report)
    assert err.value.code == "import_rejected"
    assert "3 dari 5" in err.value.message_id
    assert "3 of 5" in err.value.message_en
    assert [e["row"] for e in err.value.extra["errors"]] == [3, 4, 5]
    assert all(e["message_id"] and e["message_en"] for e in err.value.extra["errors"])
    assert set(Disbursement.objects.filter(decree=decree).values_list("status", flat=True)) == {P.DECIDED}
    assert not DisbursementEvent.objects.exclude(from_status="").exists()

    last = {"family_id": rows[3].family_id, "status": P.PAID, "channel": "pos"}
    result = decrees.disbursement_import(actor=dinsos, decree=decree, rows=[*report[:2], last])
    assert result.changed == 3
    assert result.by_status == {P.PAID: 2, P.FAILED: 1}
    got = {d.pk: (d.status, d.channel, d.version) for d in Disbursement.objects.filter(pk__in=[r.pk for r in rows])}
    assert got[rows[0].pk] == (P.PAID, "bri", 2)
    assert got[rows[1].pk] == (P.FAILED, "bni", 2)
    assert got[rows[2].pk] == (P.DECIDED, "", 1)
    assert got[rows[3].pk] == (P.PAID, "pos", 2)
    assert DisbursementEvent.objects.exclude(from_status="").count() == 3
    assert AuditRecord.objects.filter(action="disbursement_import", object_id=str(decree.pk)).count() == 1


def test_bank_report_outside_the_scope_is_rejected(decree, dinsos_other):
    d = _one(decree)
    with pytest.raises(ValidationFailed) as err:
        decrees.disbursement_import(actor=dinsos_other, decree=decree,
                                    rows=[{"family_id": d.family_id, "status": P.PAID, "channel": "bri"}])
    assert "wilayah" in err.value.extra["errors"][0]["message_id"]
    d.refresh_from_db()
    assert d.status == P.DECIDED
