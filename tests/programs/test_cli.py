"""`dtsen program`: run, simulate, quota and rules from the command line, and their bilingual errors."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.audit.models import AuditRecord
from dtsen.programs.models import EligibilityResult, EligibilityRun, Quota, RuleEdition
from dtsen.programs.rules import rules_default
from dtsen.ranking import services as ranking
from tests.ranking import conftest_run as fx

pytestmark = pytest.mark.django_db
synth_dir = fx.synth_dir
work_dir = fx.work_dir


def _program(*args: str) -> str:
    out = StringIO()
    call_command("program", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def ranked(synth_dir, work_dir):
    fx.registry_load(synth_dir, limit=300)
    return ranking.ranking_run(actor=system_actor(), period="2026-Q4", cutoff=timezone.localdate(),
                               work_dir=work_dir)


def test_run_stores_a_run_and_reports_each_program(ranked, work_dir):
    text = _program("run", "--period", "2026-T4", "--work-dir", str(work_dir))
    run = EligibilityRun.objects.get()
    assert f"Kelayakan #{run.pk} 2026-T4 selesai / eligibility run #{run.pk} 2026-T4 finished" in text
    assert "pkh" in text
    assert "sembako" in text
    assert not run.simulation
    report = json.loads(_program("run", "--period", "2026-T4", "--work-dir", str(work_dir), "--format", "json",
                                 "--ranking-run", str(ranked.pk), "--as-of", timezone.localdate().isoformat()))
    again = EligibilityRun.objects.get(pk=report["run"])
    assert report["input_sha256"] == again.input_sha256 == run.input_sha256
    assert report["counts"]["rows"] == EligibilityResult.objects.filter(run=again).count()


def test_simulate_compares_without_publishing(ranked, synth_dir, work_dir, tmp_path):
    text = _program("simulate", "--set", "pkh.desil_max=3", "--period", "2026-T4", "--work-dir", str(work_dir),
                    "--truth", str(synth_dir / "ground_truth.parquet"), "--changes-out", str(tmp_path / "ch"))
    assert not EligibilityRun.objects.exists()
    assert "kepmensos-79-huk-2025 -> kepmensos-79-huk-2025+simulasi" in text
    assert "Tidak ada yang diterbitkan / nothing is published." in text
    assert "desil  4" in text
    assert "Cakupan orang termiskin" in text
    assert "tunai/cash" in text
    assert str(tmp_path / "ch") in text
    report = json.loads(_program("simulate", "--set", "pkh.desil_max=3", "--set",
                                 "pkh.amount.components.sd.annual=1200000", "--work-dir", str(work_dir),
                                 "--format", "json"))
    pkh = next(p for p in report["programs"] if p["program"] == "pkh")
    assert pkh["lost"] > 0
    assert report["context"]["changes"]["pkh"]["desil_max"] == 3
    assert report["context"]["period"].startswith(str(timezone.localdate().year))
    assert report["coverage"] is None
    assert AuditRecord.objects.filter(action="policy_simulate").count() == 2
    _program("simulate", "--set", "pkh.desil_max=3", "--period", "2026-T4", "--work-dir", str(work_dir),
             "--keep-run")
    assert EligibilityRun.objects.get().simulation


def test_quota_and_rules(tmp_path):
    text = _program("quota", "--period", "2026-T1", "--program", "pkh", "--region", "34.01", "--quota", "120",
                    "--reason", "uji")
    assert "34.01 = 120" in text
    assert Quota.objects.get(program="pkh").quota == 120
    listing = _program("rules")
    assert "* kepmensos-79-huk-2025" in listing
    shown = _program("rules", "--show")
    assert "pkh" in shown
    assert "1-4" in shown
    assert "tidak bersamaan / not together (family): pkh + blt_desa" in shown
    assert json.loads(_program("rules", "--show", "--format", "json"))["edition"] == "kepmensos-79-huk-2025"
    edition = json.loads(rules_default().text)
    edition["edition"] = "uji-2026"
    for p in edition["programs"]:
        if p["code"] == "pkh":
            p["desil_max"] = 3
    path = tmp_path / "uji.json"
    path.write_text(json.dumps(edition), encoding="utf-8")
    today = timezone.localdate().isoformat()
    assert "uji-2026" in _program("rules", "--add", str(path), "--valid-from", today, "--reason", "uji")
    assert RuleEdition.objects.get().code == "uji-2026"
    data = json.loads(_program("rules", "--format", "json"))
    assert data["in_force"] == "uji-2026"
    assert [e["code"] for e in data["editions"]] == ["kepmensos-79-huk-2025", "uji-2026"]


@pytest.mark.parametrize(("args", "message_id", "message_en"), [
    (["simulate", "--set", "pkh.desil_max"], "harus berbentuk program.bidang=nilai", "must be program.field=value"),
    (["simulate", "--set", "bansos.desil_max=3"], "Program 'bansos' tidak ada", "Program 'bansos' is not in"),
    (["simulate", "--set", "pkh.desil_max=11"], "pkh.desil_max: harus bilangan bulat", "must be an integer"),
    (["simulate", "--set", "pkh.desil_max=3", "--period", "2026-Q1"], "Periode harus", "The period must be"),
    (["simulate", "--set", "pkh.desil_max=3", "--as-of", "30-06-2025"], "bukan tanggal", "is not a date"),
    (["simulate", "--set", "pkh.desil_max=3", "--truth", "/nonexistent.parquet"], "tidak ditemukan",
     "not found"),
    (["simulate", "--set", "pkh.desil_max=3", "--ranking-run", "999"], "tidak ditemukan", "not found"),
    (["simulate", "--set", "pkh.desil_max=3"], "Belum ada pemeringkatan", "No finished ranking run"),
    (["run", "--period", "2026-T1", "--as-of", "2999-01-01"], "masa depan", "in the future"),
    (["quota", "--period", "2026-T1", "--program", "bansos", "--region", "34.01", "--quota", "1", "--reason",
      "x"], "Program 'bansos' tidak ada", "is not in the rules"),
    (["quota", "--period", "2026-T1", "--program", "pkh", "--region", "34.01", "--quota", "-1", "--reason",
      "x"], "tidak boleh negatif", "cannot be negative"),
    (["rules", "--add", "/nonexistent.json", "--valid-from", "2026-01-01"], "tidak ditemukan", "not found"),
    (["rules", "--add", "/nonexistent.json"], "--valid-from wajib", "--valid-from is required"),
])
def test_errors_are_bilingual(args, message_id, message_en):
    with pytest.raises(CommandError) as err:
        _program(*args)
    assert message_id in str(err.value)
    assert message_en in str(err.value)


def test_a_bad_rule_file_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError) as err:
        _program("rules", "--add", str(path), "--valid-from", "2026-01-01", "--reason", "uji")
    assert "bukan JSON yang valid" in str(err.value)
    assert "not valid JSON" in str(err.value)
