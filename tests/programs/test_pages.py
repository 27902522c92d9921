"""The program pages (/program/): runs (simulations marked, and only for those who run them), a run's summary
per program, its results filtered and paged, the ratifier's decree form, a decree's disbursement list per village
with status buttons and a bank report upload, and the BNBA downloads; refusals shown with their bilingual
message and status, nothing written; pages limited to the actor's role and region."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from dtsen.accounts.services import system_actor
from dtsen.audit.models import AuditRecord
from dtsen.documents.models import Document
from dtsen.programs import decrees
from dtsen.programs import services as svc
from dtsen.programs.models import Decree, Disbursement, EligibilityResult, Outcome, PayStatus
from tests.programs import fixtures_decree as fd
from tests.updates.conftest import minutes_pdf

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.programs.urls_programs")]
synth_dir = fd.synth_dir
work_dir = fd.work_dir
ranked = fd.ranked
run = fd.run
ratifier = fd.ratifier
ratifier_other = fd.ratifier_other
dinsos = fd.dinsos
dinsos_other = fd.dinsos_other
P = PayStatus


def _plain(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def analyst(db):
    return fd.user_with("bps.analis.program", "bps_analyst", "")


@pytest.fixture
def decree(run, ratifier):
    return decrees.decree_create(actor=ratifier, run=run, program="pkh", region_code=fd.REGENCY,
                                 decree_number="460/5/SK/2026", decree_date=timezone.localdate())


def test_pages_need_a_login_and_a_program_role(client, run, db):
    response = client.get("/program/")
    assert response.status_code == 302
    assert "login" in response["Location"]
    nobody = fd.user_with("operator.prog", "operator_desa", "34.01.01.2001")
    client.force_login(nobody)
    assert client.get("/program/").status_code == 403
    assert client.get(f"/program/proses/{run.pk}/").status_code == 403


def test_runs_list_marks_simulations_and_hides_them_from_others(client, run, work_dir, analyst, ratifier):
    sim = svc.eligibility_run(actor=system_actor(), period="2026-T1", as_of=timezone.localdate(), simulation=True,
                              work_dir=work_dir)
    client.force_login(analyst)
    page = client.get("/program/").content.decode()
    assert f'data-run="{run.pk}"' in page
    assert f'data-run="{sim.pk}"' in page
    assert page.count("data-simulation") == 1
    detail = client.get(f"/program/proses/{sim.pk}/").content.decode()
    assert "data-simulation" in detail
    assert "/penetapan/" not in detail
    client.force_login(ratifier)
    page = client.get("/program/").content.decode()
    assert f'data-run="{run.pk}"' in page
    assert f'data-run="{sim.pk}"' not in page
    assert client.get(f"/program/proses/{sim.pk}/").status_code == 404


def test_run_summary_per_program(client, run, ratifier):
    client.force_login(ratifier)
    response = client.get(f"/program/proses/{run.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    pkh = EligibilityResult.objects.filter(run=run, program="pkh")
    assert f'data-selected="{pkh.filter(outcome=Outcome.SELECTED).count()}"' in page
    assert f'data-not-selected="{pkh.filter(outcome=Outcome.NOT_SELECTED).count()}"' in page
    reason = pkh.exclude(reason="").values_list("reason", flat=True).first()
    assert f'data-reason="{reason}"' in page
    assert 'data-region="34.01"' in page
    assert f"/program/proses/{run.pk}/penetapan/" in page  # the ratifier's link


def test_results_filter_and_pages(client, run, ratifier):
    client.force_login(ratifier)
    rows = EligibilityResult.objects.filter(run=run, program="pbi_jk", outcome=Outcome.SELECTED)
    assert rows.count() > 50
    first = client.get(f"/program/proses/{run.pk}/hasil/?program=pbi_jk&outcome=terpilih").content.decode()
    assert first.count('data-outcome="terpilih"') == 50
    assert 'data-outcome="tidak_terpilih"' not in first
    assert "page=2" in first
    second = client.get(f"/program/proses/{run.pk}/hasil/?program=pbi_jk&outcome=terpilih&page=2").content.decode()
    assert second.count('data-outcome="terpilih"') == min(50, rows.count() - 50)
    reason = EligibilityResult.objects.filter(run=run, program="pkh").exclude(reason="").values_list(
        "reason", flat=True).first()
    page = client.get(f"/program/proses/{run.pk}/hasil/?program=pkh&reason={reason}").content.decode()
    assert 'data-outcome="terpilih"' not in page
    assert "data-result=" in page
    bad = client.get(f"/program/proses/{run.pk}/hasil/?outcome=entah")
    assert bad.status_code == 400
    assert "Hasil tidak dikenal" in _plain(bad)


def test_ratifier_ratifies_through_the_form(client, run, ratifier):
    client.force_login(ratifier)
    form = client.get(f"/program/proses/{run.pk}/penetapan/?program=pkh")
    assert form.status_code == 200
    assert 'value="34.01"' in form.content.decode()
    data = {"program": "pkh", "region_code": "34.01", "decree_number": "460/7/SK/2026",
            "decree_date": (timezone.localdate() + timezone.timedelta(days=3)).isoformat()}
    refused = client.post(f"/program/proses/{run.pk}/penetapan/", data)
    assert refused.status_code == 400
    text = _plain(refused)
    assert "Tanggal SK tidak boleh di masa depan" in text
    assert "cannot be in the future" in text
    assert not Decree.objects.exists()
    data["decree_date"] = timezone.localdate().isoformat()
    response = client.post(f"/program/proses/{run.pk}/penetapan/", data | {"decree_file": minutes_pdf("sk.pdf")})
    decree = Decree.objects.get()
    record = AuditRecord.objects.get(action="decree_create", object_id=str(decree.pk))
    assert Document.objects.filter(pk=record.after["document"]).exists()  # the signed decree is kept
    assert response.status_code == 302
    assert response["Location"] == f"/program/penetapan/{decree.pk}/"
    assert decree.beneficiaries == EligibilityResult.objects.filter(run=run, program="pkh",
                                                                    outcome=Outcome.SELECTED).count()


def test_ratifier_of_another_region_is_refused(client, run, ratifier_other, dinsos):
    client.force_login(ratifier_other)
    response = client.post(f"/program/proses/{run.pk}/penetapan/", {
        "program": "pkh", "region_code": "34.01", "decree_number": "1/2026",
        "decree_date": timezone.localdate().isoformat()})
    assert response.status_code == 403
    assert "di luar wilayah" in _plain(response)
    client.force_login(dinsos)  # Dinsos does not ratify
    assert client.get(f"/program/proses/{run.pk}/penetapan/").status_code == 403
    assert not Decree.objects.exists()


def test_decree_page_lists_a_village_and_moves_a_status(client, decree, run, dinsos):
    village = fd.busiest_village(run)
    client.force_login(dinsos)
    page = client.get(f"/program/penetapan/{decree.pk}/").content.decode()
    assert f'data-village="{village}"' in page
    assert f"/program/penetapan/{decree.pk}/bnba/{village}/xlsx/" in page
    listing = client.get(f"/program/penetapan/{decree.pk}/?desa={village}").content.decode()
    d = Disbursement.objects.filter(decree=decree, village_code=village).order_by("pk").first()
    assert f'data-disbursement="{d.pk}"' in listing
    assert 'value="disalurkan"' in listing
    assert 'value="gagal_salur"' in listing
    assert 'value="retur"' not in listing
    assert "******" in listing
    response = client.post(f"/program/penyaluran/{d.pk}/status/", {
        "status": P.PAID, "channel": "bri", "version": "1", "from": P.DECIDED, "desa": village})
    assert response.status_code == 302
    d.refresh_from_db()
    assert (d.status, d.channel, d.version) == (P.PAID, "bri", 2)
    stale = client.post(f"/program/penyaluran/{d.pk}/status/", {
        "status": P.FAILED, "note": "x", "version": "1", "from": P.DECIDED, "desa": village})
    assert stale.status_code == 409
    assert "baru saja diubah" in _plain(stale)
    illegal = client.post(f"/program/penyaluran/{d.pk}/status/", {
        "status": P.DECIDED, "version": "2", "from": P.PAID, "desa": village})
    assert illegal.status_code == 409
    d.refresh_from_db()
    assert (d.status, d.version) == (P.PAID, 2)


def test_dinsos_of_another_region_sees_no_list_and_cannot_move(client, decree, run, dinsos_other):
    village = fd.busiest_village(run)
    d = Disbursement.objects.filter(decree=decree, village_code=village).first()
    client.force_login(dinsos_other)
    assert client.get(f"/program/penetapan/{decree.pk}/").status_code == 404
    assert client.get(f"/program/penetapan/{decree.pk}/bnba/{village}/csv/").status_code == 404
    assert client.post(f"/program/penyaluran/{d.pk}/status/", {"status": P.PAID, "channel": "bri"}
                       ).status_code == 404
    d.refresh_from_db()
    assert d.status == P.DECIDED


def test_downloads(client, decree, run, dinsos):
    village = fd.busiest_village(run)
    client.force_login(dinsos)
    xlsx = client.get(f"/program/penetapan/{decree.pk}/bnba/{village}/xlsx/")
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in xlsx["Content-Disposition"]
    assert "no-store" in xlsx["Cache-Control"]
    ws = load_workbook(io.BytesIO(xlsx.content))["BNBA"]
    assert ws["B2"].value == decree.decree_number
    pdf = client.get(f"/program/penetapan/{decree.pk}/bnba/{village}/pdf/")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    csv_ = client.get(f"/program/penetapan/{decree.pk}/bnba/{village}/csv/")
    assert csv_.status_code == 200
    assert csv_.content.startswith(b"\xef\xbb\xbf")
    assert client.get(f"/program/penetapan/{decree.pk}/bnba/{village}/doc/").status_code == 400


def test_bank_report_upload(client, decree, dinsos):
    rows = list(Disbursement.objects.filter(decree=decree).select_related("family").order_by("pk")[:2])
    client.force_login(dinsos)
    bad = ("family_code,status,channel,note\n"
           f"{rows[0].family.family_code},disalurkan,bri,\n"
           f"{rows[1].family.family_code},retur,,tidak diambil\n").encode()
    response = client.post(f"/program/penetapan/{decree.pk}/laporan/",
                           {"report": SimpleUploadedFile("laporan.csv", bad, content_type="text/csv")})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-row="2"' in page
    assert 'data-row="1"' not in page
    assert not Disbursement.objects.filter(decree=decree).exclude(status=P.DECIDED).exists()
    good = ("family_code;status;channel;note\n"
            f"{rows[0].family.family_code};disalurkan;bri;\n"
            f"{rows[1].family.family_code};gagal_salur;pos;rekening tidak aktif\n").encode("utf-8-sig")
    response = client.post(f"/program/penetapan/{decree.pk}/laporan/",
                           {"report": SimpleUploadedFile("laporan.csv", good, content_type="text/csv")})
    assert response.status_code == 302
    got = dict(Disbursement.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "status"))
    assert got == {rows[0].pk: P.PAID, rows[1].pk: P.FAILED}
