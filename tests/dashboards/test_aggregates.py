"""Every dashboard aggregate on the fixture of conftest.py, with the expected numbers worked out by hand from
the fixture (not from the code under test). A Kulon Progo dashboard must not move when Bantul's rows exist:
each Bantul row would change at least one of the numbers below if it leaked in."""

from __future__ import annotations

import pytest

from dtsen.audit.models import AuditRecord
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.dashboards import aggregates as agg
from tests.dashboards.conftest import TODAY, VILLAGE_BANTUL
from tests.registry.factories import VILLAGE_A

KP = "34.01"


# ---------------------------------------------------------------------------------------------- desil


def test_desil_distribution_change_and_transitions(world) -> None:
    d = agg.desil_panel(actor=world["dinsos"], code=KP)
    assert (d.period, d.previous_period) == ("2026-Q3", "2026-Q2")
    # R2 in Kulon Progo: desil 1 T0 T1, 2 W0, 3 W1, 4 T2, 5 T3, 7 W2 (T4 not rankable)
    assert d.current == [2, 1, 1, 1, 1, 0, 1, 0, 0, 0]
    # R1: desil 1 T0 W0, 2 T1 T2, 3 W1, 5 T3
    assert d.previous == [2, 2, 1, 0, 1, 0, 0, 0, 0, 0]
    assert d.change == [0, -1, 0, 1, 0, 0, 1, 0, 0, 0]
    assert d.total == 7
    expected = [[0] * 10 for _ in range(10)]
    for prev, now in [(1, 1), (2, 1), (2, 4), (5, 5), (1, 2), (3, 3)]:
        expected[prev - 1][now - 1] += 1
    assert d.transitions == expected
    assert (d.moved_up, d.moved_down, d.same, d.entered) == (2, 1, 3, 1)
    assert d.by_child == {"34.01.01": [2, 0, 0, 1, 1, 0, 0, 0, 0, 0], "34.01.02": [0, 1, 1, 0, 0, 0, 1, 0, 0, 0]}


def test_desil_of_a_village_and_of_the_province(world, viewer) -> None:
    village = agg.desil_panel(actor=world["dinsos"], code=VILLAGE_A)
    assert village.current == [2, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert village.by_child == {VILLAGE_A: [2, 0, 0, 1, 1, 0, 0, 0, 0, 0]}
    province = agg.desil_panel(actor=viewer, code="34")
    assert province.current == [6, 1, 1, 1, 1, 0, 1, 0, 0, 0]  # Bantul's four in desil 1 are in the province
    assert province.by_child["34.02"] == [4, 0, 0, 0, 0, 0, 0, 0, 0, 0]


def test_no_ranking_yet(db, viewer) -> None:
    d = agg.desil_panel(actor=viewer, code="34")
    assert d.period is None
    assert d.total == 0
    assert d.by_child == {}


# ------------------------------------------------------------------------------------------- programs


def test_program_coverage_and_cost(world) -> None:
    panel = agg.program_panel(actor=world["dinsos"], code=KP)
    assert panel.eligibility_period == "2026-T3"  # not the later simulation
    rows = {r.code: r for r in panel.programs}
    assert set(rows) >= {"pkh", "sembako", "pbi_jk", "pip", "sekolah_rakyat", "blt_desa"}
    pkh = rows["pkh"]
    assert (pkh.members, pkh.selected, pkh.waiting, pkh.ratified) == (2, 2, 1, 1)
    assert pkh.target_families == 5  # desil 1-4: T0 T1 W0 W1 T2
    assert pkh.member_coverage == pytest.approx(0.4)
    assert pkh.selected_per_year == (750_000 + 1_350_000) * 4
    assert pkh.ratified_per_year == 750_000 * 4
    sembako = rows["sembako"]
    assert (sembako.members, sembako.selected, sembako.target_families) == (0, 2, 6)  # desil 1-5
    assert sembako.selected_per_year == 1_200_000 * 4
    assert sembako.member_coverage == 0
    assert rows["sekolah_rakyat"].target_families == 3  # desil 1-2


def test_program_panel_of_bantul(world) -> None:
    rows = {r.code: r for r in agg.program_panel(actor=world["dinsos_bantul"], code="34.02").programs}
    assert (rows["pkh"].members, rows["pkh"].selected, rows["pkh"].ratified) == (1, 1, 1)
    assert rows["pkh"].selected_per_year == 900_000 * 4
    assert rows["sembako"].members == 1
    assert rows["pkh"].target_families == 4


# --------------------------------------------------------------------------------------------- queues


def test_queues_sizes_ages_and_overdue(world) -> None:
    rows = {(q.workflow, q.status): q for q in agg.queue_panel(actor=world["dinsos"], code=KP, today=TODAY)}
    assert set(rows) == {("usulan", "draf"), ("usulan", "diperiksa_dinsos"), ("pengajuan", "diajukan"),
                         ("pengajuan", "verifikasi_lapangan"), ("kunjungan", "ditugaskan")}
    check = rows[("usulan", "diperiksa_dinsos")]
    # 40 and 2 days old; the first waited for the cut-off of 17 November
    assert (check.open, check.median_days, check.oldest_days, check.overdue) == (2, 21.0, 40, 1)
    draft = rows[("usulan", "draf")]
    assert (draft.open, draft.median_days, draft.oldest_days, draft.overdue) == (1, 1.0, 1, 0)
    submitted = rows[("pengajuan", "diajukan")]
    assert (submitted.open, submitted.oldest_days, submitted.overdue) == (1, 58, 1)
    field = rows[("pengajuan", "verifikasi_lapangan")]
    assert (field.open, field.oldest_days, field.overdue) == (1, 8, 0)
    visits = rows[("kunjungan", "ditugaskan")]
    assert (visits.open, visits.median_days, visits.oldest_days, visits.overdue) == (2, 15.0, 27, 1)


def test_queue_deadline_of_the_month_schedule(world) -> None:
    # on 17 November the first usulan (since 19 October) is exactly at its deadline: not overdue yet
    import datetime as dt
    rows = {(q.workflow, q.status): q for q in agg.queue_panel(actor=world["dinsos"], code=KP,
                                                                today=dt.date(2026, 11, 17))}
    assert rows[("usulan", "diperiksa_dinsos")].overdue == 0
    rows = {(q.workflow, q.status): q for q in agg.queue_panel(actor=world["dinsos"], code=KP,
                                                                today=dt.date(2026, 11, 18))}
    assert rows[("usulan", "diperiksa_dinsos")].overdue == 1


# -------------------------------------------------------------------------------------------- workers


def test_worker_progress(world) -> None:
    rows = {w.username: w for w in agg.worker_panel(actor=world["dinsos"], code=KP, today=TODAY)}
    assert set(rows) == {"pendamping.temon", "pendamping.wates"}
    temon = rows["pendamping.temon"]
    assert (temon.assigned, temon.done, temon.open, temon.overdue, temon.done_late) == (2, 1, 1, 1, 1)
    wates = rows["pendamping.wates"]
    assert (wates.assigned, wates.done, wates.open, wates.overdue, wates.done_late) == (1, 0, 1, 0, 0)
    assert [w.username for w in agg.worker_panel(actor=world["dinsos"], code="34.01.02", today=TODAY)] == [
        "pendamping.wates"]


# --------------------------------------------------------------------------------------- data quality


def test_data_quality(world) -> None:
    q = agg.quality_panel(actor=world["dinsos"], code=KP)
    assert q.period == "2026-Q3"
    assert q.not_rankable == 1
    assert q.not_rankable_by_reason == {"missing_feature": 1, "no_condition": 1}
    assert q.persons == 8 * 3 - 1  # T3's child closed as a duplicate
    assert (q.nik_inconsistent, q.not_matched, q.not_yet_matched) == (1, 1, 3)
    assert q.families == 8
    assert q.shared_kk == 1  # W1 shares its KK with B0 of Bantul: counted where the family lives
    assert q.shared_nik == 2  # T0's head and W2's head
    assert (q.removed_duplicate_families, q.removed_duplicate_persons) == (0, 1)
    bantul = agg.quality_panel(actor=world["dinsos_bantul"], code="34.02")
    assert (bantul.not_rankable, bantul.nik_inconsistent, bantul.not_matched, bantul.shared_kk,
            bantul.shared_nik) == (0, 1, 1, 1, 0)


# ------------------------------------------------------------------------------------------------ map


def test_map_values_of_a_kabupaten_user(world) -> None:
    m = agg.map_data(actor=world["dinsos"], code=KP)
    assert m is not None
    assert m.region == "34"
    assert m.values == {KP: pytest.approx(5 / 7)}
    assert m.families == {KP: 7}
    assert m.names == {KP: "Kabupaten Kulon Progo"}
    assert agg.map_data(actor=world["dinsos"], code="34.01.01") is None


def test_map_values_of_province_and_nation(world, viewer, pusdatin) -> None:
    m = agg.map_data(actor=viewer, code="34")
    assert m is not None
    assert m.region == "34"
    assert m.values == {KP: pytest.approx(5 / 7), "34.02": 1.0}
    nation = agg.map_data(actor=pusdatin, code="")
    assert nation is not None
    assert nation.region == ""
    assert nation.values == {"34": pytest.approx(9 / 11)}


# ---------------------------------------------------------------------------------------------- scope


def test_region_view_defaults_and_drill_down(world, viewer, pusdatin) -> None:
    rv = agg.region_view(actor=world["dinsos"])
    assert rv.code == KP
    assert rv.name == "Kabupaten Kulon Progo"
    assert rv.level == 2
    assert rv.trail == []  # never above the actor's region
    assert [p.code for p in rv.children][:2] == ["34.01.01", "34.01.02"]
    assert all(p.code.startswith("34.01.") for p in rv.children)
    village = agg.region_view(actor=world["dinsos"], code=VILLAGE_A)
    assert [p.code for p in village.trail] == [KP, "34.01.01"]
    assert village.children == []
    assert agg.region_view(actor=viewer).code == "34"
    assert agg.region_view(actor=pusdatin).code == ""
    assert [p.code for p in agg.region_view(actor=pusdatin, code="34.01").trail] == ["", "34"]


@pytest.mark.parametrize("code", ["34.02", "34", "", VILLAGE_BANTUL, "34.02.01"])
def test_dinsos_refused_outside_their_kabupaten(world, code) -> None:
    actor = world["dinsos"]
    if code == "":
        assert agg.region_view(actor=actor, code=code).code == KP  # empty means "my region"
        return
    with pytest.raises(PermissionDenied):
        agg.dashboard_get(actor=actor, code=code, today=TODAY)
    for panel in (agg.desil_panel, agg.program_panel, agg.quality_panel, agg.map_data):
        with pytest.raises(PermissionDenied):
            panel(actor=actor, code=code)
    with pytest.raises(PermissionDenied):
        agg.queue_panel(actor=actor, code=code, today=TODAY)
    with pytest.raises(PermissionDenied):
        agg.worker_panel(actor=actor, code=code, today=TODAY)


def test_citizen_anonymous_and_system_refused(world) -> None:
    from django.contrib.auth.models import AnonymousUser

    from dtsen.accounts.models import Role
    from tests.dashboards.conftest import user_with

    client_user = user_with("siks.client", Role.SYSTEM_CLIENT, "34.01")
    for actor in (world["citizen"].user, AnonymousUser(), client_user):
        with pytest.raises(PermissionDenied):
            agg.dashboard_get(actor=actor, code="34.01", today=TODAY)


def test_village_operator_sees_only_their_village(world, operator_a) -> None:
    assert agg.region_view(actor=operator_a).code == VILLAGE_A
    with pytest.raises(PermissionDenied):
        agg.dashboard_get(actor=operator_a, code="34.01.01", today=TODAY)
    dash = agg.dashboard_get(actor=operator_a, today=TODAY)
    assert dash.desil.current == [2, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert dash.map is None


def test_bad_region_code(world) -> None:
    with pytest.raises(ValidationFailed):
        agg.region_view(actor=world["dinsos"], code="34.01.99")
    with pytest.raises(ValidationFailed):
        agg.region_view(actor=world["dinsos"], code="34.1")


def test_dashboard_audit_is_one_record(world) -> None:
    before = AuditRecord.objects.count()
    agg.dashboard_audit(actor=world["dinsos"], code=KP, export="desil")
    record = AuditRecord.objects.order_by("-seq").first()
    assert AuditRecord.objects.count() == before + 1
    assert (record.action, record.object_type, record.object_id) == ("dashboard.export", "dashboard", "34.01:desil")


def test_deadlines_per_month_equal_the_schedule_per_day(db) -> None:
    """The month-wise lookup of the queue panel gives exactly `schedule.deadline_for` on every day of a year,
    for every usulan status, with a configured month among the defaults."""
    import datetime as dt

    from dtsen.updates.models import MonthSchedule, UsulanStatus
    from dtsen.updates.schedule import deadline_for
    from tests.dashboards.conftest import user_with

    MonthSchedule.objects.create(month="2026-02", musdes_until=5, input_until=6, cutoff_day=9, pull_day=10,
                                 changed_by=user_with("pusdatin.jadwal", "pusdatin", ""), note="uji")
    deadlines = agg._Deadlines()
    day = dt.date(2025, 12, 1)
    while day < dt.date(2027, 1, 1):
        for status in UsulanStatus.values:
            assert deadlines(status, day) == deadline_for(status, day), (status, day)
        day += dt.timedelta(days=1)
