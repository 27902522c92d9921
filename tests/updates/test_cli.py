"""`dtsen usulan`: the cut-off applies ratified usulan to the registry and returns the ones that fail with the
reason; the report in text, JSON and CSV; the monthly schedule shown and set; refusals (bad month, a cut-off
before its day, a schedule out of order) are CommandErrors with the Indonesian and English message."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dtsen.registry.models import Family
from dtsen.updates import services as svc
from dtsen.updates.management.commands.usulan import default_cutoff_month, previous_month
from dtsen.updates.models import MonthSchedule, MusdesKind, UsulanKind, UsulanStatus
from dtsen.updates.schedule import current_schedule, schedule_for
from dtsen.updates.visits import visit_submit
from tests.updates.conftest import CONDITION, NEW_FAMILY, VILLAGE_A, jpeg, minutes_pdf

pytestmark = pytest.mark.django_db
U = UsulanStatus


def today() -> dt.date:
    return timezone.localdate()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("usulan", *args, stdout=out, stderr=io.StringIO(), verbosity=0)
    return out.getvalue()


def to_verified(usulan, operator, dinsos, worker, *, condition=None):
    """Through the services: musdes, Dinsos, a field visit with geotagged photos, verified."""
    svc.usulan_to_musdes(actor=operator, usulan=usulan)
    svc.musdes_record(actor=operator, village_code=usulan.village_code, kind=MusdesKind.MUSDES, held_on=today(),
                      signed_by="Kepala Desa Sutrisno", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    usulan = svc.usulan_send_to_dinsos(actor=operator, usulan=usulan)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today() + dt.timedelta(days=7))
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(),
                 interview={"income_monthly": "900.000", "occupation": "Buruh tani"}, condition=condition,
                 photos=[("house_front", jpeg())])
    return svc.usulan_verify(actor=dinsos, usulan=usulan)


@pytest.fixture
def ratified(operator_a, dinsos, worker, ratifier, geotagged_a):
    """Two ratified new-family usulan of Temon for the same people: the first applies; the second is refused
    at the cut-off (its NIKs were registered meanwhile) and returned to the village."""
    new = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                            payload=NEW_FAMILY)
    new = to_verified(new, operator_a, dinsos, worker, condition=CONDITION)
    wrong = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                              payload={**NEW_FAMILY, "kk_number": "3401012001260099"})
    wrong = to_verified(wrong, operator_a, dinsos, worker, condition=CONDITION)
    svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="400.9/77/2026", decree_date=today(),
                         usulan_ids=[new.pk, wrong.pk])
    return new, wrong


# ------------------------------------------------------------------------------------------------ cutoff


def test_cutoff_applies_and_returns_with_the_reason(ratified):
    new, wrong = ratified
    sched = current_schedule(today())
    out = run("cutoff", "--month", sched.month, "--today", sched.cutoff.isoformat())
    new.refresh_from_db()
    wrong.refresh_from_db()
    assert new.status == U.APPLIED
    assert new.cutoff_month == sched.month
    family = Family.objects.get(pk=new.applied_family_id)
    assert family.kk_number == NEW_FAMILY["kk_number"]
    assert family.members.count() == 2
    assert wrong.status == U.RETURNED
    assert "sudah terdaftar" in wrong.return_reason
    assert not Family.objects.filter(kk_number="3401012001260099").exists()  # nothing half-written
    assert f"Cut-off {sched.month}" in out
    assert "1 diterapkan / applied, 1 dikembalikan / returned" in out
    assert f"{wrong.reference} (keluarga_baru): Gagal diterapkan pada cut-off {sched.month}" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("keluarga", "perb"))}
    assert rows["keluarga_baru"] == ["1", "1"]
    assert rows.get("perbaikan", ["0", "0"]) == ["0", "0"]
    # a second run is harmless
    again = json.loads(run("cutoff", "--month", sched.month, "--today", sched.cutoff.isoformat(), "--format",
                           "json"))
    assert again["applied"] == []
    assert again["returned"] == []
    assert Family.objects.filter(kk_number=NEW_FAMILY["kk_number"]).count() == 1


def test_cutoff_json_and_default_month(ratified):
    new, wrong = ratified
    sched = current_schedule(today())
    body = json.loads(run("cutoff", "--today", sched.cutoff.isoformat(), "--format", "json"))
    assert body["month"] == sched.month
    assert body["cutoff"] == sched.cutoff.isoformat()
    assert body["applied"] == [new.reference]
    assert body["applied_by_kind"][UsulanKind.NEW_FAMILY] == 1
    assert body["returned_by_kind"][UsulanKind.NEW_FAMILY] == 1
    [returned] = body["returned"]
    assert returned["reference"] == wrong.reference
    assert returned["kind"] == UsulanKind.NEW_FAMILY
    assert "sudah terdaftar" in returned["reason"]


def test_default_month_is_the_latest_cutoff_not_after_today():
    assert default_cutoff_month(dt.date(2031, 3, 17)) == "2031-03"
    assert default_cutoff_month(dt.date(2031, 3, 16)) == "2031-02"
    assert default_cutoff_month(dt.date(2031, 1, 5)) == "2030-12"
    assert previous_month("2031-01") == "2030-12"
    assert previous_month("2031-12") == "2031-11"


def test_cutoff_before_its_day_is_refused(ratified):
    new, _ = ratified
    sched = current_schedule(today())
    early = sched.cutoff - dt.timedelta(days=1)
    with pytest.raises(CommandError) as err:
        run("cutoff", "--month", sched.month, "--today", early.isoformat())
    assert f"Cut-off bulan {sched.month} baru dapat dijalankan pada {sched.cutoff:%d-%m-%Y}." in str(err.value)
    assert f"can run from {sched.cutoff:%Y-%m-%d} only" in str(err.value)
    new.refresh_from_db()
    assert new.status == U.RATIFIED


@pytest.mark.parametrize("month", ["2026-13", "2026/05", "Mei"])
def test_bad_month_is_refused_in_both_languages(month):
    for command in (("cutoff", "--month", month), ("schedule", "--month", month)):
        with pytest.raises(CommandError) as err:
            run(*command)
        assert "Bulan harus ditulis YYYY-MM, misalnya 2026-11." in str(err.value)
        assert "The month must be written YYYY-MM" in str(err.value)


def test_bad_today_is_refused():
    with pytest.raises(CommandError, match="bukan tanggal yang sah"):
        run("cutoff", "--today", "17-05-2026")


def test_a_subcommand_is_required():
    with pytest.raises(CommandError):
        run()


# ------------------------------------------------------------------------------------------------ report


@pytest.fixture
def some_usulan(operator_a, operator_b, geotagged_a, family_b):
    svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A, payload=NEW_FAMILY)
    svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A, family=geotagged_a,
                      payload={"program": "pkh"})
    return svc.usulan_create(actor=operator_b, kind=UsulanKind.PROGRAM, village_code=family_b.village_code,
                             family=family_b, payload={"program": "sembako"})


def test_report_json(some_usulan):
    body = json.loads(run("report", "--format", "json"))
    assert body["by_status"][U.DRAFT] == 3
    assert body["by_status"][U.APPLIED] == 0
    assert body["by_region"] == [
        {"code": "34.01", "name": "Kabupaten Kulon Progo", "total": 3, "by_status": {U.DRAFT: 3}}
    ]
    assert body["by_age"] == {"0-7 hari": 3, "8-30 hari": 0, "31-90 hari": 0, ">90 hari": 0}
    assert body["throughput"] == [{"month": today().strftime("%Y-%m"), "created": 3, "applied": 0}]
    villages = json.loads(run("report", "--region", "34.01.01", "--level", "4", "--format", "json"))
    assert [r["code"] for r in villages["by_region"]] == [VILLAGE_A]
    assert villages["by_region"][0]["total"] == 2
    assert villages["by_region"][0]["name"]


def test_report_csv_and_text(some_usulan):
    rows = list(csv.DictReader(io.StringIO(run("report", "--level", "3", "--format", "csv"))))
    assert {"section", "key", "name", "status", "count"} == set(rows[0])
    status = {r["key"]: int(r["count"]) for r in rows if r["section"] == "status"}
    assert status[U.DRAFT] == 3
    assert len(status) == len(U.values)
    regions = {(r["key"], r["status"]): int(r["count"]) for r in rows if r["section"] == "region"}
    assert regions == {("34.01.01", U.DRAFT): 2, ("34.01.02", U.DRAFT): 1}
    assert [r["name"] for r in rows if r["key"] == "34.01.01"] == ["Temon"]
    month = today().strftime("%Y-%m")
    assert {(r["status"], r["count"]) for r in rows if r["section"] == "throughput"} == {("created", "3"),
                                                                                          ("applied", "0")}
    assert all(r["key"] == month for r in rows if r["section"] == "throughput")
    text = run("report", "--region", "34.01")
    assert "Kabupaten Kulon Progo" in text
    assert "draf" in text


def test_report_unknown_region_is_refused():
    with pytest.raises(CommandError) as err:
        run("report", "--region", "99.99")
    assert "99.99" in str(err.value)


# ---------------------------------------------------------------------------------------------- schedule


def test_schedule_show_default_then_set(system):
    out = run("schedule", "--month", "2031-02")
    assert "bawaan / default" in out
    assert "17-02-2031" in out
    assert "18-02-2031" in out
    out = run("schedule", "--month", "2031-02", "--cutoff-day", "20", "--pull-day", "21", "--reason",
              "Libur nasional / public holiday")
    assert "Disimpan / saved" in out
    assert "diatur / configured" in out
    assert "20-02-2031" in out
    row = MonthSchedule.objects.get(month="2031-02")
    assert (row.musdes_until, row.input_until, row.cutoff_day, row.pull_day) == (14, 11, 20, 21)
    assert row.note.startswith("Libur")
    body = json.loads(run("schedule", "--month", "2031-02", "--format", "json"))
    assert body == {"month": "2031-02", "musdes_until": "2031-02-14", "input_until": "2031-02-11",
                    "cutoff": "2031-02-20", "pull": "2031-02-21", "configured": True}
    # the cut-off of that month now follows the new day
    assert default_cutoff_month(dt.date(2031, 2, 19)) == "2031-01"
    assert schedule_for("2031-02").cutoff == dt.date(2031, 2, 20)


def test_schedule_refusals(system):
    with pytest.raises(CommandError) as err:
        run("schedule", "--month", "2031-02", "--cutoff-day", "20")
    assert "Alasan perubahan wajib diisi." in str(err.value)
    assert "A reason is required." in str(err.value)
    with pytest.raises(CommandError) as err:
        run("schedule", "--month", "2031-02", "--cutoff-day", "5", "--reason", "salah")
    assert "Urutan tanggal harus" in str(err.value)
    with pytest.raises(CommandError) as err:
        run("schedule", "--month", "2031-02", "--pull-day", "30", "--reason", "salah")
    assert "hari harus antara 1 dan 28" in str(err.value)
    with pytest.raises(CommandError, match="Sebutkan hari yang diubah"):
        run("schedule", "--month", "2031-02", "--reason", "tanpa hari")
    assert not MonthSchedule.objects.exists()


def test_ratified_usulan_of_a_later_decree_wait(ratified):
    """Only decrees dated on or before the cut-off day are applied (a later one waits for next month)."""
    sched = current_schedule(today())
    body = json.loads(run("cutoff", "--month", previous_month(sched.month), "--today", sched.cutoff.isoformat(),
                          "--format", "json"))
    assert body["applied"] == []
    assert body["returned"] == []
