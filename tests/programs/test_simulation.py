"""Policy simulation: gainers and losers when PKH goes to desil 1-3, cost per region, a changed component
amount, coverage of the poorest on a tiny known truth, and the service over a small synthetic register."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.programs.engine import eligibility_compute
from dtsen.programs.models import EligibilityRun
from dtsen.programs.rules import rules_default, with_changes
from dtsen.programs.simulation import (
    ANY,
    CASH,
    affected_programs,
    changes_parse,
    policy_simulate,
    simulation_compare,
)
from dtsen.ranking import services as ranking
from dtsen.ranking.engine import engine_open
from dtsen.ranking.engine.base import parquet_glob
from tests.markers import DATABASE_INDEPENDENT
from tests.programs.engine_inputs import family, person, write_inputs
from tests.ranking import conftest_run as fx

KP = "34.01.01.2001"  # Kulon Progo
BT = "34.02.01.2001"  # Bantul


def _household(fid: int, desil: int, village: str = KP, *, child_age: int = 3, school: str = "tidak_sekolah"):
    """A pengurus and one child (age 0-6: the PKH early-childhood component; or a pupil)."""
    return family(fid, desil, village=village), [
        person(fid * 10, fid, 35, "P", pengurus=True),
        person(fid * 10 + 1, fid, child_age, school=school),
    ]


def _inputs(tmp_path, spec):
    fams, pers = [], []
    for args in spec:
        f, p = _household(*args[:3], **(args[3] if len(args) > 3 else {}))
        fams.append(f)
        pers.extend(p)
    return write_inputs(tmp_path / "in", fams, pers)


def _compare(tmp_path, inputs, changes, truth=None):
    base = rules_default()
    with engine_open("duckdb") as engine:
        report = simulation_compare(engine=engine, inputs=inputs, base_rules=base,
                                    changed_rules=with_changes(base, changes), out_dir=tmp_path / "sim",
                                    truth=truth)
        changes_rows = engine.fetch(
            f"SELECT * FROM read_parquet('{parquet_glob(report.changes_path)}') ORDER BY program, family_id, "
            "person_id").to_pylist()
    return report, changes_rows


def _program(report, code):
    return next(p for p in report.programs if p["program"] == code)


def test_pkh_for_desil_1_to_3_loses_the_desil_4_families_only(tmp_path):
    # given one family with a young child in each of desil 1-5 (all qualify for PKH's early-childhood component)
    inputs = _inputs(tmp_path, [(1, 1, KP), (2, 2, KP), (3, 3, BT), (4, 4, KP), (5, 4, BT), (6, 5, KP)])
    # when PKH is simulated for desil 1-3
    report, rows = _compare(tmp_path, inputs, {"pkh": {"desil_max": 3}})
    pkh = _program(report, "pkh")
    # then the two desil-4 families lose PKH, nobody gains, and the other programs do not move
    assert (pkh["base"]["selected"], pkh["changed"]["selected"], pkh["gained"], pkh["lost"]) == (5, 3, 0, 2)
    lost = [(r["program"], r["family_id"], r["desil"], r["change"], r["reason_changed"]) for r in rows]
    assert lost == [("pkh", 4, 4, "keluar", "di_luar_sasaran"), ("pkh", 5, 4, "keluar", "di_luar_sasaran")]
    assert [d for d in report.desil if d["program"] == "pkh"] == [
        {"program": "pkh", "desil": 4, "gained": 0, "lost": 2, "amount_changed": 0, "amount_delta": -1_500_000}]
    per_family = 3_000_000 // 4  # anak usia dini, Rp3,000,000 a year, per tahap
    assert pkh["amount_delta"] == -2 * per_family
    assert (pkh["base"]["families"], pkh["base"]["persons"]) == (5, 10)
    for code in ("sembako", "pbi_jk", "pip", "blt_desa", "sekolah_rakyat"):
        p = _program(report, code)
        assert (p["gained"], p["lost"], p["amount_delta"]) == (0, 0, 0), code
    # the families still get Sembako: no family loses all cash assistance
    assert report.families == {"base": 6, "changed": 6, "gained": 0, "lost": 0}
    assert report.base["programs"]["pkh"]["desil_max"] == 4
    assert report.changed["programs"]["pkh"]["desil_max"] == 3
    assert report.coverage is None
    json.dumps(report.as_dict())  # serialisable


def test_widening_pkh_gains_the_desil_5_family_and_blt_desa_loses_it(tmp_path):
    inputs = _inputs(tmp_path, [(1, 1, KP), (6, 5, KP)])
    report, rows = _compare(tmp_path, inputs, {"pkh": {"desil_max": 5}, "sembako": {"desil_max": 4}})
    got = {(r["program"], r["family_id"]): (r["change"], r["desil"]) for r in rows}
    assert got[("pkh", 6)] == ("masuk", 5)
    assert got[("sembako", 6)] == ("keluar", 5)
    assert _program(report, "pkh")["gained"] == 1
    # family 6 keeps a cash program (PKH instead of Sembako)
    assert report.families == {"base": 2, "changed": 2, "gained": 0, "lost": 0}


def test_cost_per_region_sums_to_the_program_cost(tmp_path):
    inputs = _inputs(tmp_path, [(1, 1, KP), (2, 2, KP), (3, 3, BT), (4, 4, KP), (5, 4, BT), (6, 5, KP)])
    report, _ = _compare(tmp_path, inputs, {"pkh": {"desil_max": 3}})
    for p in report.programs:
        rows = [r for r in report.regions if r["program"] == p["program"]]
        assert sum(r["base_amount"] for r in rows) == p["base"]["amount"]
        assert sum(r["changed_amount"] for r in rows) == p["changed"]["amount"]
        assert sum(r["base_selected"] for r in rows) == p["base"]["selected"]
    pkh = {r["regency_code"]: r for r in report.regions if r["program"] == "pkh"}
    per_family = 3_000_000 // 4
    assert (pkh["34.01"]["base_amount"], pkh["34.01"]["changed_amount"]) == (3 * per_family, 2 * per_family)
    assert (pkh["34.02"]["base_amount"], pkh["34.02"]["changed_amount"]) == (2 * per_family, 1 * per_family)
    sembako = {r["regency_code"]: r["base_amount"] for r in report.regions if r["program"] == "sembako"}
    assert sembako == {"34.01": 4 * 600_000, "34.02": 2 * 600_000}  # Rp200,000 a month, 3 months a tahap


def test_a_new_component_amount_changes_amounts_not_membership(tmp_path):
    # given pupils at SD in desil 1 and 2
    inputs = _inputs(tmp_path, [(1, 1, KP, {"child_age": 9, "school": "sd"}), (2, 2, BT, {"child_age": 8,
                                                                                           "school": "sd"})])
    changes = changes_parse(["pkh.amount.components.sd.annual=1200000"], rules_default())
    sd = next(c for c in changes["pkh"]["amount"]["components"] if c["code"] == "sd")
    assert sd["annual"] == 1_200_000
    report, rows = _compare(tmp_path, inputs, changes)
    pkh = _program(report, "pkh")
    assert (pkh["gained"], pkh["lost"], pkh["amount_changed"]) == (0, 0, 2)
    assert pkh["amount_delta"] == 2 * (1_200_000 - 900_000) // 4
    assert {(r["family_id"], r["change"], r["amount_base"], r["amount_changed"]) for r in rows
            if r["program"] == "pkh"} == {(1, "nilai", 225_000, 300_000), (2, "nilai", 225_000, 300_000)}


def test_coverage_of_the_poorest_on_a_known_truth(tmp_path):
    # given ten families of two registered members, the poorest first by true consumption, whose PMT desil
    # disagree with the truth; family 1 truly has four members; family 11 is a ghost record (no truth)
    desil = {1: 6, 2: 1, 3: 2, 4: 7, 5: 3, 6: 8, 7: 9, 8: 10, 9: 10, 10: 10, 11: 1}
    inputs = _inputs(tmp_path, [(fid, d, KP) for fid, d in desil.items()])
    truth = pa.table({"family_id": list(range(1, 11)), "consumption_pc": [100.0 * i for i in range(1, 11)],
                      "members": [4] + [2] * 9})
    # persons: 22; poorest 10 % = family 1 (4), 20 % = families 1-2 (6), 40 % = families 1-4 (10)
    report, _ = _compare(tmp_path, inputs, {"pkh": {"desil_max": 1}}, truth=truth)
    cov = report.coverage
    assert cov is not None
    assert (cov["persons"], cov["families"], cov["poorest_persons"]) == (22, 10, {"10": 4, "20": 6, "40": 10})
    # receiving cash now: families 2, 3, 5 and 11 (desil 1-3); 2 and 3 are among the poorest
    cash = cov["base"][CASH]
    assert cash["coverage"] == {"10": 0.0, "20": round(2 / 6, 4), "40": 0.4}
    assert cash["leakage"] == 0.5  # families 5 and 11 (its registered members) of 8 recipients' persons
    assert cash["recipients_families"] == 4
    # PKH for desil 1 only: families 2 and 11
    pkh = cov["changed"]["pkh"]
    assert pkh["coverage"] == {"10": 0.0, "20": round(2 / 6, 4), "40": 0.2}
    assert pkh["leakage"] == 0.5
    assert cov["base"]["pkh"]["coverage"]["40"] == 0.4
    assert cov["base"][ANY]["coverage"] == cash["coverage"]  # PBI-JK reaches the same families
    assert "pbi_jk" not in cov["cash_programs"]
    assert "pkh" in cov["cash_programs"]
    # the truth can also be a Parquet file; without `members` the registered living members weigh
    pq.write_table(truth.drop(["members"]), tmp_path / "truth.parquet")
    again, _ = _compare(tmp_path / "b", inputs, {"pkh": {"desil_max": 1}}, truth=tmp_path / "truth.parquet")
    assert again.coverage is not None
    assert again.coverage["persons"] == 20
    assert again.coverage["poorest_persons"] == {"10": 2, "20": 4, "40": 8}


@pytest.mark.parametrize(("assignments", "message"), [
    (["pkh.desil_max"], "program.bidang=nilai"),
    (["pkh=3"], "program.bidang=nilai"),
    (["bansos.desil_max=3"], "Program 'bansos' tidak ada"),
    (["pkh.amount.components.kuliah.annual=1"], "Tidak ada 'kuliah'"),
    (["pkh.desil_max.x=1"], "bukan objek"),
])
def test_bad_changes_are_refused_in_both_languages(assignments, message):
    with pytest.raises(ValidationFailed) as err:
        changes_parse(assignments, rules_default())
    assert message in err.value.message_id
    assert err.value.message_en


def test_changes_parse_merges_nested_values():
    changes = changes_parse(["pkh.desil_max=3", "pkh.amount.max_components=3",
                             "pkh.amount.components.sma.annual=2500000", 'pkh.name="PKH uji"'], rules_default())
    assert changes["pkh"]["desil_max"] == 3
    assert changes["pkh"]["name"] == "PKH uji"
    amount = changes["pkh"]["amount"]
    assert amount["max_components"] == 3
    assert {c["code"]: c["annual"] for c in amount["components"]}["sma"] == 2_500_000
    assert {c["code"]: c["annual"] for c in amount["components"]}["sd"] == 900_000
    changed = with_changes(rules_default(), changes)
    assert changed.program("pkh").max_components == 3
    assert rules_default().program("pkh").max_components == 4  # the shipped rules are untouched
    with pytest.raises(ValidationFailed):
        with_changes(rules_default(), changes_parse(["pkh.desil_max=11"], rules_default()))


# ------------------------------------------------------------------------------------------ service

synth_dir = fx.synth_dir
work_dir = fx.work_dir
operator_village_a = fx.operator_village_a


@pytest.fixture
def ranked(db, synth_dir, work_dir):
    fx.registry_load(synth_dir, limit=400)
    return ranking.ranking_run(actor=system_actor(), period="2026-Q4", cutoff=timezone.localdate(),
                               work_dir=work_dir)


@pytest.mark.django_db
def test_service_simulates_without_publishing_and_audits(ranked, synth_dir, work_dir, tmp_path):
    actor = system_actor()
    before = EligibilityRun.objects.count()
    report = policy_simulate(actor=actor, changes={"pkh": {"desil_max": 3}}, period="2026-T4",
                             as_of=timezone.localdate(), work_dir=work_dir,
                             truth_path=synth_dir / "ground_truth.parquet", changes_out=tmp_path / "changes")
    assert EligibilityRun.objects.count() == before  # nothing stored, nothing published
    json.dumps(report)
    pkh = next(p for p in report["programs"] if p["program"] == "pkh")
    assert pkh["gained"] == 0
    assert pkh["lost"] == pkh["base"]["selected"] - pkh["changed"]["selected"] > 0
    assert {d["desil"] for d in report["desil"] if d["program"] == "pkh" and d["lost"]} == {4}
    lost = pq.read_table(tmp_path / "changes").to_pylist()
    assert len(lost) == pkh["lost"]
    assert {r["desil"] for r in lost} == {4}
    assert report["context"]["ranking_run"] == ranked.pk
    assert report["context"]["simulation_run"] is None
    cov = report["coverage"]
    assert cov["families"] == 400
    assert 0 < cov["base"][CASH]["coverage"]["40"] <= 1
    assert cov["changed"]["pkh"]["recipients_families"] < cov["base"]["pkh"]["recipients_families"]
    record = AuditRecord.objects.filter(action="policy_simulate").latest("pk")
    assert record.after["changes"] == {"pkh": {"desil_max": 3}}
    assert record.after["programs"]["pkh"]["lost"] == pkh["lost"]

    kept = policy_simulate(actor=actor, changes={"pkh": {"desil_max": 3}}, period="2026-T4",
                           as_of=timezone.localdate(), work_dir=work_dir, keep_run=True)
    run = EligibilityRun.objects.get(pk=kept["context"]["simulation_run"])
    assert run.simulation
    assert run.rules_sha256 == kept["changed"]["sha256"]
    assert kept["coverage"] is None
    assert kept["changes_path"] == ""


@pytest.mark.django_db
def test_service_needs_national_program_run(ranked, operator_village_a, work_dir):
    with pytest.raises(PermissionDenied):
        policy_simulate(actor=operator_village_a, changes={"pkh": {"desil_max": 3}}, period="2026-T4",
                        as_of=timezone.localdate(), work_dir=work_dir)
    for bad in ({}, {"pkh": {}}, {"pkh": 3}):
        with pytest.raises(ValidationFailed):
            policy_simulate(actor=system_actor(), changes=bad, period="2026-T4", as_of=timezone.localdate(),
                            work_dir=work_dir)
    with pytest.raises(ValidationFailed):
        policy_simulate(actor=system_actor(), changes={"pkh": {"desil_max": 3}}, period="2026-Q4",
                        as_of=timezone.localdate(), work_dir=work_dir)


@pytest.mark.parametrize("changes", [
    {"pkh": {"desil_max": 3}},
    {"sembako": {"desil_max": 3}},
    {"pip": {"desil_min": 2}, "sekolah_rakyat": {"priority": 45}},
    {"blt_desa": {"desil_max": 6}},
    {"pkh": {"desil_max": 4}},  # no real change
])
def test_partial_second_pass_equals_a_full_run_with_the_changed_rules(tmp_path, changes):
    # given a mixed population: pupils, toddlers, desil 1-7, two regencies, a quota that leaves a waiting list
    fams, pers = [], []
    for fid in range(1, 29):
        f, p = _household(fid, 1 + fid % 7, KP if fid % 2 else BT, child_age=3 + fid % 15,
                          school=("sd", "smp", "sma", "tidak_sekolah")[fid % 4])
        fams.append(f)
        pers.extend(p)
    quotas = [{"program": "sembako", "regency_code": "34.01", "quota": 5}]
    inputs = write_inputs(tmp_path / "in", fams, pers, quotas=quotas)
    base = rules_default()
    changed = with_changes(base, changes)
    columns = "program, family_id, person_id, outcome, reason, queue_no, waiting_no, amount, components"
    order = "ORDER BY program, family_id, person_id"
    with engine_open("duckdb") as engine:
        report = simulation_compare(engine=engine, inputs=inputs, base_rules=base, changed_rules=changed,
                                    out_dir=tmp_path / "sim")
        simulated = engine.fetch(f"SELECT {columns} FROM sim_changed {order}").to_pylist()
        full = eligibility_compute(engine, inputs, changed, tmp_path / "full")
        expected = engine.fetch(f"SELECT {columns} FROM read_parquet('{parquet_glob(full)}') {order}").to_pylist()
    assert simulated == expected
    assert set(report.changed["recomputed"]) <= {p.code for p in base.programs}
    if changes == {"pkh": {"desil_max": 4}}:
        assert report.changed["recomputed"] == []
    if changes == {"pkh": {"desil_max": 3}}:
        assert report.changed["recomputed"] == ["blt_desa", "pkh"]


def test_affected_programs_follow_the_overlap_pairs():
    base = rules_default()
    assert affected_programs(base, with_changes(base, {"pkh": {"desil_max": 3}})) == {"pkh", "blt_desa"}
    assert affected_programs(base, with_changes(base, {"pbi_jk": {"desil_max": 3}})) == {"pbi_jk"}
    assert affected_programs(base, with_changes(base, {"sekolah_rakyat": {"desil_max": 3}})) == \
        {"sekolah_rakyat", "pip"}
    shared = json.loads(base.text)
    shared["pengurus_min_age"] = 18
    from dtsen.programs.rules import rules_parse

    assert affected_programs(base, rules_parse(json.dumps(shared))) is None


@DATABASE_INDEPENDENT
@pytest.mark.spark
@pytest.mark.slow
def test_spark_gives_the_same_report(tmp_path):
    spark = fx.spark_or_skip()
    from dtsen.ranking.engine.spark import SparkEngine

    desil = {fid: 1 + fid % 7 for fid in range(1, 25)}
    inputs = _inputs(tmp_path, [(fid, d, KP if fid % 3 else BT, {"child_age": 2 + fid % 16,
                                                                  "school": ("sd", "smp", "sma")[fid % 3]})
                                for fid, d in desil.items()])
    truth = pa.table({"family_id": list(desil), "consumption_pc": [float((f * 37) % 23) for f in desil],
                      "members": [1 + f % 4 for f in desil]})
    base = rules_default()
    changed = with_changes(base, {"pkh": {"desil_max": 3}, "sembako": {"desil_max": 3}})
    reports = []
    for name, engine in (("duckdb", engine_open("duckdb")), ("spark", SparkEngine(spark))):
        report = simulation_compare(engine=engine, inputs=inputs, base_rules=base, changed_rules=changed,
                                    out_dir=tmp_path / name, truth=truth).as_dict()
        reports.append({k: v for k, v in report.items() if k not in ("timings", "changes_path")})
    assert reports[0] == reports[1]
    assert reports[0]["families"]["lost"] == 0  # BLT-Desa takes over the desil 4-5 families Sembako leaves
