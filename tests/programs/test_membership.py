"""The membership (kepesertaan) lifecycle: suspension, reactivation, deactivation with a reason, graduation
(mandiri, paksa, alamiah from an eligibility run), the transition table, permissions by region, the audit
trail and the history selector.

Sources: dtsen-domain.md §E (membership states and deactivation reasons) and §2.5 (three exits from PKH:
graduasi mandiri, alamiah, paksa [V]; mandiri with a signed statement [V]), at the addresses below.
"""
# https://penasultra.id/diancam-tak-dapat-bantuan-koorkab-pkh-muna-minta-kpm-tidak-takut/2
# https://koranmadura.com/2019/03/digraduasi-mandiri-dua-penerima-bantuan-pkh-di-sampang-mengundurkan-diri

from __future__ import annotations

import pytest
from django.utils import timezone

from dtsen.accounts.models import Role
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dtsen.programs import membership as ms
from dtsen.programs import selectors
from dtsen.programs.models import ExitReason, Membership, MembershipEvent, MembershipStatus, Outcome, Reason
from tests.programs.people import VILLAGE_B, eligibility_run, membership, register, staff

pytestmark = pytest.mark.django_db
M = MembershipStatus


@pytest.fixture
def dinsos(db):
    """Dinsos verifier of Kabupaten Kulon Progo (34.01): program.disburse there."""
    return staff("dinsos.kp", Role.DINSOS_VERIFIER, "34.01")


@pytest.fixture
def dinsos_bantul(db):
    return staff("dinsos.bantul", Role.DINSOS_VERIFIER, "34.02")


@pytest.fixture
def fam(db):
    return register(1)


def _do(op: str, actor, m: Membership) -> Membership:
    if op == "suspend":
        return ms.membership_suspend(actor=actor, membership=m, note="Tidak padan Dukcapil")
    if op == "reactivate":
        return ms.membership_reactivate(actor=actor, membership=m, note="Sudah padan")
    if op == "deactivate":
        return ms.membership_deactivate(actor=actor, membership=m, reason=ExitReason.MOVED, note="Pindah ke Bantul")
    return ms.membership_graduate(actor=actor, membership=m, kind="mandiri", note="Surat pernyataan 12/2026")


OPS = {"suspend": M.SUSPENDED, "reactivate": M.ACTIVE, "deactivate": M.DEACTIVATED, "graduate": M.GRADUATED}


# dtsen-domain.md §E: AKTIF -> SUSPEND -> AKTIF; AKTIF -> NONAKTIF(reason); AKTIF -> GRADUASI; graduation is
# final here (a family that needs help again comes back through a new decree).
@pytest.mark.parametrize("src", M.values)
@pytest.mark.parametrize("op", OPS)
def test_transition_table(dinsos, fam, src, op):
    m = membership(fam, status=src)
    target = OPS[op]
    if target in ms.TRANSITIONS[src]:
        done = _do(op, dinsos, m)
        assert (done.status, done.version) == (target, 2)
        ev = MembershipEvent.objects.get(membership=m)
        assert (ev.from_status, ev.to_status, ev.actor_id) == (src, target, dinsos.pk)
    else:
        with pytest.raises(Conflict) as exc:
            _do(op, dinsos, m)
        assert exc.value.code == "membership_transition"
        assert exc.value.message_id.startswith("Kepesertaan")
        assert exc.value.message_en.startswith("A membership")
        m.refresh_from_db()
        assert (m.status, m.version) == (src, 1)
        assert not MembershipEvent.objects.filter(membership=m).exists()


def test_table_shape():
    assert ms.TRANSITIONS[M.GRADUATED] == frozenset()
    assert ms.TRANSITIONS[M.DEACTIVATED] == {M.ACTIVE}
    assert set(ms.TRANSITIONS) == set(M.values)


def test_suspend_and_reactivate_are_audited(dinsos, fam):
    m = membership(fam)
    ms.membership_suspend(actor=dinsos, membership=m, note="Belum punya rekening (burekol)")
    m = ms.membership_reactivate(actor=dinsos, membership=m, note="Rekening kolektif dibuka")
    assert (m.status, m.reason, m.since, m.version) == (M.ACTIVE, "", timezone.localdate(), 3)
    assert list(MembershipEvent.objects.filter(membership=m).values_list("from_status", "to_status", "note")) == [
        (M.ACTIVE, M.SUSPENDED, "Belum punya rekening (burekol)"), (M.SUSPENDED, M.ACTIVE, "Rekening kolektif dibuka")]
    recs = AuditRecord.objects.filter(object_type="membership", object_id=str(m.pk)).order_by("seq")
    assert [r.action for r in recs] == ["membership_suspend", "membership_reactivate"]
    assert recs[0].before["status"] == M.ACTIVE
    assert recs[0].after["status"] == M.SUSPENDED
    assert recs[0].actor_id == dinsos.pk
    assert recs[0].reason == "Belum punya rekening (burekol)"


@pytest.mark.parametrize("op", ["suspend", "reactivate"])
def test_suspend_and_reactivate_need_a_note(dinsos, fam, op):
    m = membership(fam, status=M.SUSPENDED if op == "reactivate" else M.ACTIVE)
    fn = ms.membership_suspend if op == "suspend" else ms.membership_reactivate
    with pytest.raises(ValidationFailed):
        fn(actor=dinsos, membership=m, note="  ")
    with pytest.raises(ValidationFailed):
        fn(actor=dinsos, membership=m, note="x" * 301)


# dtsen-domain.md §E: NONAKTIF reasons: meninggal (unless the pengurus is replaced), pindah, tidak ditemukan,
# desil naik, pengecualian, sanggah terbukti, menolak
@pytest.mark.parametrize("reason", sorted(ms.DEACTIVATION_REASONS))
def test_deactivate_with_each_reason(dinsos, fam, reason):
    m = ms.membership_deactivate(actor=dinsos, membership=membership(fam), reason=reason, note="Catatan")
    assert (m.status, m.reason) == (M.DEACTIVATED, reason)
    assert MembershipEvent.objects.get(membership=m).reason == reason
    assert AuditRecord.objects.get(action="membership_deactivate").after["reason"] == reason


def test_deactivate_refuses_graduation_and_unknown_reasons(dinsos, fam):
    m = membership(fam)
    for reason in (ExitReason.GRAD_NATURAL, ExitReason.GRAD_VOLUNTARY, "judol?", ""):
        with pytest.raises(ValidationFailed) as exc:
            ms.membership_deactivate(actor=dinsos, membership=m, reason=reason)
        assert exc.value.extra["field"] == "reason"
    with pytest.raises(ValidationFailed):  # "other" says why in the note
        ms.membership_deactivate(actor=dinsos, membership=m, reason=ExitReason.OTHER, note="")
    m.refresh_from_db()
    assert m.status == M.ACTIVE


def test_deactivated_member_can_be_reactivated(dinsos, fam):
    # a false "keluarga ASN" flag proved wrong: PBI reactivation (dtsen-domain.md §2.3, terasjabar [V])
    m = membership(fam, program="pbi_jk", status=M.DEACTIVATED, reason=ExitReason.EXCLUDED)
    m = ms.membership_reactivate(actor=dinsos, membership=m, note="Sanggah: bukan keluarga ASN")
    assert (m.status, m.reason) == (M.ACTIVE, "")
    assert AuditRecord.objects.get(action="membership_reactivate").after["previous_reason"] == ExitReason.EXCLUDED


# dtsen-domain.md §2.5: graduasi mandiri (voluntary, signed statement; mampu or murni) and graduasi paksa
# (non-compliance after warnings, or a desa letter stating the family is mampu)
@pytest.mark.parametrize(("kind", "reason"), [("mandiri", ExitReason.GRAD_VOLUNTARY),
                                              ("paksa", ExitReason.GRAD_FORCED)])
def test_graduation_kinds(dinsos, fam, kind, reason):
    m = ms.membership_graduate(actor=dinsos, membership=membership(fam), kind=kind, note="Surat desa 4/2026")
    assert (m.status, m.reason) == (M.GRADUATED, reason)
    rec = AuditRecord.objects.get(action="membership_graduate")
    assert rec.after["kind"] == kind
    assert rec.reason == "Surat desa 4/2026"
    with pytest.raises(Conflict):  # final
        ms.membership_reactivate(actor=dinsos, membership=m, note="coba lagi")


def test_graduation_bad_input(dinsos, fam):
    m = membership(fam)
    with pytest.raises(ValidationFailed):
        ms.membership_graduate(actor=dinsos, membership=m, kind="alamiah", note="x")  # only from a run
    with pytest.raises(ValidationFailed):
        ms.membership_graduate(actor=dinsos, membership=m, kind="mandiri", note="")


# dtsen-domain.md §2.5: "Graduasi alamiah: no eligible component remains" [V] (penasultra, above)
def test_natural_graduation_from_a_run(dinsos):
    no_comp, selected, ended, sembako, waiting = (register(i) for i in range(11, 16))
    m_no_comp = membership(no_comp)
    m_suspended_no_comp = membership(register(16), status=M.SUSPENDED)
    m_selected = membership(selected)
    m_ended = membership(ended, status=M.DEACTIVATED, reason=ExitReason.MOVED)
    m_sembako = membership(sembako, program="sembako")
    m_waiting = membership(waiting)
    run = eligibility_run([
        (no_comp, "pkh", Outcome.NOT_SELECTED, Reason.NO_COMPONENT),
        (m_suspended_no_comp.family, "pkh", Outcome.NOT_SELECTED, Reason.NO_COMPONENT),
        (selected, "pkh", Outcome.SELECTED, ""),
        (ended, "pkh", Outcome.NOT_SELECTED, Reason.NO_COMPONENT),
        (sembako, "pkh", Outcome.NOT_SELECTED, Reason.NO_COMPONENT),  # a Sembako member: no PKH membership
        (waiting, "pkh", Outcome.WAITING, Reason.QUOTA),
    ])
    done = ms.membership_graduate_natural(actor=dinsos, run=run)
    assert sorted(m.pk for m in done) == sorted([m_no_comp.pk, m_suspended_no_comp.pk])
    for m in (m_no_comp, m_suspended_no_comp):
        m.refresh_from_db()
        assert (m.status, m.reason) == (M.GRADUATED, ExitReason.GRAD_NATURAL)
        assert f"proses kelayakan {run.pk}" in MembershipEvent.objects.get(membership=m).note
    for m, status in ((m_selected, M.ACTIVE), (m_ended, M.DEACTIVATED), (m_sembako, M.ACTIVE), (m_waiting, M.ACTIVE)):
        m.refresh_from_db()
        assert m.status == status
    assert AuditRecord.objects.get(action="membership_graduate_natural").after["graduated"] == 2
    # again: nothing left to graduate
    assert ms.membership_graduate_natural(actor=dinsos, run=run) == []


def test_natural_graduation_only_in_the_actors_region(dinsos_bantul, fam):
    m = membership(fam)
    run = eligibility_run([(fam, "pkh", Outcome.NOT_SELECTED, Reason.NO_COMPONENT)])
    assert ms.membership_graduate_natural(actor=dinsos_bantul, run=run) == []
    m.refresh_from_db()
    assert m.status == M.ACTIVE


def test_natural_graduation_refuses_a_simulation(dinsos, fam):
    membership(fam)
    run = eligibility_run([(fam, "pkh", Outcome.NOT_SELECTED, Reason.NO_COMPONENT)], simulation=True)
    with pytest.raises(ValidationFailed):
        ms.membership_graduate_natural(actor=dinsos, run=run)


def test_permission_by_region_and_role(dinsos, dinsos_bantul, fam):
    m = membership(fam)
    pendamping = staff("pendamping.a", Role.PENDAMPING_PKH, "34.01")  # program.view, not program.disburse
    other_kec = staff("dinsos.wates", Role.DINSOS_VERIFIER, VILLAGE_B)
    for actor in (dinsos_bantul, pendamping, other_kec):
        with pytest.raises(PermissionDenied):
            ms.membership_suspend(actor=actor, membership=m, note="Tidak padan")
        with pytest.raises(PermissionDenied):
            ms.membership_graduate_natural(actor=pendamping, run=eligibility_run([]))
    m.refresh_from_db()
    assert (m.status, m.version) == (M.ACTIVE, 1)
    assert not MembershipEvent.objects.exists()
    assert not AuditRecord.objects.filter(object_type="membership").exists()
    assert ms.membership_suspend(actor=dinsos, membership=m, note="Tidak padan").status == M.SUSPENDED


def test_stale_version_is_refused(dinsos, fam):
    m = membership(fam)
    ms.membership_suspend(actor=dinsos, membership=m, note="Tidak padan", expected_version=1)
    with pytest.raises(Conflict) as exc:
        ms.membership_reactivate(actor=dinsos, membership=m, note="Padan", expected_version=1)
    assert exc.value.code == "stale"


def test_membership_history_selector(dinsos, dinsos_bantul, fam):
    m = membership(fam)
    membership(fam, program="sembako")
    ms.membership_suspend(actor=dinsos, membership=m, note="Tidak padan")
    ms.membership_reactivate(actor=dinsos, membership=m, note="Padan")
    pendamping = staff("pendamping.a", Role.PENDAMPING_PKH, "34.01.01")
    views = selectors.membership_list(actor=pendamping, family_id=fam.pk)
    assert [v.membership.program for v in views] == ["pkh", "sembako"]
    assert [(e.from_status, e.to_status) for e in views[0].events] == [(M.ACTIVE, M.SUSPENDED),
                                                                        (M.SUSPENDED, M.ACTIVE)]
    assert selectors.membership_get(actor=pendamping, membership_id=m.pk).pk == m.pk
    with pytest.raises(NotFound):
        selectors.membership_list(actor=dinsos_bantul, family_id=fam.pk)
    with pytest.raises(NotFound):
        selectors.membership_get(actor=dinsos_bantul, membership_id=m.pk)
    with pytest.raises(NotFound):
        selectors.membership_list(actor=pendamping, family_id="abc")
    operator = staff("operator.a", Role.OPERATOR_DESA, "34.01.01.2001")  # no program.view
    with pytest.raises(PermissionDenied):
        selectors.membership_list(actor=operator, family_id=fam.pk)
