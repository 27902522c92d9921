"""The formal channel through the staff pages (/usulan/): a new family from the operator's form through the
village meeting, Dinsos, the verification visit, ratification with its printable list, the cut-off and a
provisional desil; a returned usulan fixed on the edit page and sent again; bad input refused with a clear
message and nothing changed; pages and actions limited to the actor's role and region."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dtsen.ranking import services as ranking
from dtsen.ranking.selectors import family_desil
from dtsen.registry.crypto import nik_hash
from dtsen.registry.models import Family, Person
from dtsen.updates import services as svc
from dtsen.updates.cutoff import cutoff_run
from dtsen.updates.models import Musdes, MusdesKind, Penetapan, Transition, Usulan, UsulanKind, UsulanStatus, Visit
from dtsen.updates.schedule import current_schedule
from dtsen.updates.visits import visit_submit
from tests.ranking import conftest_run as fx
from tests.updates.conftest import CONDITION, NEW_FAMILY, VILLAGE_A, VILLAGE_B, jpeg, member, minutes_pdf

pytestmark = pytest.mark.django_db
U = UsulanStatus

ranker = fx.ranker
synth_dir = fx.synth_dir
work_dir = fx.work_dir


def today() -> dt.date:
    return timezone.localdate()


def _text(response) -> str:
    return response.content.decode()


def _plain(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", _text(response)).split())


def new_family_form(payload: dict[str, Any] = NEW_FAMILY, *, village: str = VILLAGE_A, **extra: Any
                    ) -> dict[str, Any]:
    """The new-family form as the operator fills it in (one row per member, first the head)."""
    data: dict[str, Any] = {"kind": UsulanKind.NEW_FAMILY, "village_code": village, "rows": "4",
                            "kk_number": payload["kk_number"], "rw": payload["rw"], "rt": payload["rt"],
                            "address": payload["address"]}
    for i, m in enumerate(payload["members"]):
        for field, value in m.items():
            data[f"m{i}_{field}"] = value
    return data | extra


def create_new_family(client, operator, **extra: Any) -> Usulan:
    client.force_login(operator)
    before = set(Usulan.objects.values_list("pk", flat=True))
    response = client.post("/usulan/baru/", new_family_form(**extra))
    assert response.status_code == 302, _plain(response)
    usulan = Usulan.objects.exclude(pk__in=before).get()
    assert response["Location"] == f"/usulan/{usulan.pk}/"
    return usulan


def musdes_form(usulan: Usulan, **extra: Any) -> dict[str, Any]:
    return {"village_code": usulan.village_code, "kind": MusdesKind.MUSDES, "held_on": today().isoformat(),
            "signed_by": "Kepala Desa Sutrisno", "minutes": minutes_pdf(),
            f"decision_{usulan.pk}": "setuju", f"note_{usulan.pk}": "layak"} | extra


def to_dinsos_via_services(operator, *, payload: dict[str, Any] = NEW_FAMILY) -> Usulan:
    usulan = svc.usulan_create(actor=operator, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A, payload=payload)
    svc.usulan_to_musdes(actor=operator, usulan=usulan)
    svc.musdes_record(actor=operator, village_code=VILLAGE_A, kind=MusdesKind.SPTJM, held_on=today(),
                      signed_by="Kepala Desa", minutes=minutes_pdf(), decisions={usulan.pk: (True, "")})
    return svc.usulan_send_to_dinsos(actor=operator, usulan=usulan)


def verified_via_services(operator, dinsos, worker) -> Usulan:
    usulan = to_dinsos_via_services(operator)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(), interview={},
                 condition=CONDITION, photos=[("house_front", jpeg())])
    return svc.usulan_verify(actor=dinsos, usulan=usulan)


def statuses() -> dict[int, str]:
    return dict(Usulan.objects.values_list("pk", "status"))


# ------------------------------------------------------------------------------------------ (a) the flow


def test_new_family_through_the_pages_to_the_registry_and_a_provisional_desil(
        client, operator_a, dinsos, worker, ratifier, system, geotagged_a, ranker, synth_dir, work_dir):
    # a finished ranking run exists before the family does: its desil afterwards is provisional
    fx.registry_load(synth_dir, limit=200)
    ranking.ranking_run(actor=ranker, period="2026-Q4", cutoff=today(), work_dir=work_dir)

    # the operator drafts the new family on the form
    client.force_login(operator_a)
    assert client.get("/usulan/baru/").status_code == 200
    form = client.get("/usulan/baru/?kind=keluarga_baru")
    assert form.status_code == 200
    assert 'name="m0_nik"' in _text(form)
    usulan = create_new_family(client, operator_a)
    assert usulan.status == U.DRAFT
    assert usulan.created_by == operator_a
    page = client.get(f"/usulan/{usulan.pk}/")
    assert page.status_code == 200
    assert usulan.reference in _text(page)
    assert "340101******0005" in _text(page)
    assert "3401011203900005" not in _text(page)
    assert "SUPARMAN" in _text(page)
    assert "PARTINI" in _text(page)

    # ... puts it on the village meeting's agenda, and records the meeting with its signed minutes
    assert client.post(f"/usulan/{usulan.pk}/ajukan-musdes/").status_code == 302
    usulan.refresh_from_db()
    assert usulan.status == U.TO_MUSDES
    meeting_page = client.get("/usulan/musdes/")  # one village in the operator's scope: chosen already
    assert meeting_page.status_code == 200
    assert f'name="decision_{usulan.pk}"' in _text(meeting_page)
    response = client.post("/usulan/musdes/", musdes_form(usulan))
    assert response.status_code == 302, _plain(response)
    usulan.refresh_from_db()
    meeting = Musdes.objects.get()
    assert usulan.status == U.MUSDES_APPROVED
    assert usulan.musdes == meeting
    assert meeting.signed_by == "Kepala Desa Sutrisno"
    assert meeting.minutes.kind == "berita_acara"
    assert client.get(f"/dokumen/{meeting.minutes_id}/").status_code == 200  # the minutes can be opened

    # ... and sends it to Dinsos
    assert client.post(f"/usulan/{usulan.pk}/kirim-dinsos/").status_code == 302
    usulan.refresh_from_db()
    assert usulan.status == U.DINSOS_CHECK

    # Dinsos sees it waiting, orders a visit from a worker covering the village
    client.force_login(dinsos)
    queue = client.get("/usulan/")
    assert queue.status_code == 200
    assert usulan.reference in _text(queue)
    page = client.get(f"/usulan/{usulan.pk}/")
    assert f'value="{worker.pk}"' in _text(page)  # the worker is offered
    response = client.post(f"/usulan/{usulan.pk}/kunjungan/", {
        "worker": worker.pk, "due_on": (today() + dt.timedelta(days=7)).isoformat(), "instructions": "Cek rumah"})
    assert response.status_code == 302, _plain(response)
    usulan.refresh_from_db()
    visit = Visit.objects.get(usulan=usulan)
    assert usulan.status == U.FIELD_CHECK
    assert visit.assigned_to == worker
    assert visit.instructions == "Cek rumah"

    # the worker's visit (its page is tested elsewhere)
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today(),
                 interview={"income_monthly": "1.200.000", "occupation": "Buruh tani", "aid_received": []},
                 condition=CONDITION, photos=[("house_front", jpeg()), ("house_inside", jpeg("dalam.jpg"))])

    # Dinsos sees the visit (photos, distance, candidate condition) and verifies
    page = client.get(f"/usulan/{usulan.pk}/")
    body = _text(page)
    assert f'data-visit="{visit.pk}"' in body
    assert "data-distance=" in body
    assert "data-flag=" not in body
    assert body.count("/dokumen/") >= 2
    assert "Buruh tani" in body
    assert client.post(f"/usulan/{usulan.pk}/verifikasi/").status_code == 302
    usulan.refresh_from_db()
    assert usulan.status == U.VERIFIED

    # the ratifier ratifies it in a batch and gets the printable list
    client.force_login(ratifier)
    page = client.get("/usulan/penetapan/")
    assert page.status_code == 200
    assert usulan.reference in _text(page)
    response = client.post("/usulan/penetapan/", {
        "region_code": "34.01", "decree_number": "460/123/2026", "decree_date": today().isoformat(),
        "usulan": [usulan.pk]})
    batch = Penetapan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/usulan/penetapan/{batch.pk}/cetak/"
    usulan.refresh_from_db()
    assert usulan.status == U.RATIFIED
    assert usulan.penetapan == batch
    printed = client.get(response["Location"])
    assert printed.status_code == 200
    assert usulan.reference in _text(printed)
    assert "460/123/2026" in _text(printed)
    assert "updates/print.css" in _text(printed)
    assert "<script>" not in _text(printed)

    # the monthly cut-off writes it to the registry
    sched = current_schedule(today())
    result = cutoff_run(actor=system, month=sched.month, today=sched.cutoff)
    usulan.refresh_from_db()
    assert result.applied == [usulan.reference]
    assert usulan.status == U.APPLIED
    family = Family.objects.get(pk=usulan.applied_family_id)
    assert family.kk_number == NEW_FAMILY["kk_number"]
    assert family.members.count() == 2
    assert Person.objects.filter(nik_hash=nik_hash("3401011203900005"), family=family).exists()
    steps = list(Transition.objects.filter(workflow="usulan", object_id=usulan.pk).values_list("to_status", flat=True))
    assert steps == [U.DRAFT, U.TO_MUSDES, U.MUSDES_APPROVED, U.DINSOS_CHECK, U.FIELD_CHECK, U.VERIFIED, U.RATIFIED,
                     U.APPLIED]

    # ... with a provisional desil from the latest run, on the staff family page too
    desil = family_desil(actor=dinsos, family=family)
    assert desil.desil is not None
    assert desil.provisional
    client.force_login(dinsos)
    family_page = _text(client.get(f"/families/{family.pk}/"))
    match = re.search(r'id="h-desil".*?</section>', family_page, re.S)
    assert match is not None
    assert f"Desil {desil.desil}" in match.group(0)
    assert "sementara sampai pemeringkatan berikutnya" in match.group(0)
    # the usulan's page shows the history and links to the registered family
    page = _text(client.get(f"/usulan/{usulan.pk}/"))
    assert f'data-applied-family="{family.pk}"' in page
    assert page.count("data-to=") == 8


# ------------------------------------------------------------------------------ (d) returned, fixed, resent


def test_returned_incomplete_fixed_on_the_edit_page_and_resubmitted(client, operator_a, dinsos, geotagged_a):
    usulan = to_dinsos_via_services(operator_a)
    client.force_login(dinsos)
    response = client.post(f"/usulan/{usulan.pk}/kembalikan/", {"reason": "Alamat RT/RW kurang lengkap"})
    assert response.status_code == 302
    usulan.refresh_from_db()
    assert usulan.status == U.RETURNED

    client.force_login(operator_a)
    assert usulan.reference in _text(client.get("/usulan/"))  # waiting for the operator again
    page = _text(client.get(f"/usulan/{usulan.pk}/"))
    assert "Alamat RT/RW kurang lengkap" in page
    assert f"/usulan/{usulan.pk}/ubah/" in page
    edit = client.get(f"/usulan/{usulan.pk}/ubah/")
    body = _text(edit)
    assert edit.status_code == 200
    assert 'placeholder="340101******0005"' in body
    assert "3401011203900005" not in body
    assert 'value="SUPARMAN"' in body

    # the form keeps the stored NIKs when their boxes are left empty; a reason is required
    form = new_family_form(address="Dusun Kaligintung RT 12 RW 4")
    for i in range(2):
        form[f"m{i}_nik"] = ""
        form[f"m{i}_ref"] = str(i)
    before = usulan.payload
    refused = client.post(f"/usulan/{usulan.pk}/ubah/", form)
    assert refused.status_code == 400
    assert 'data-error-code="validation_failed"' in _text(refused)
    usulan.refresh_from_db()
    assert usulan.payload == before
    response = client.post(f"/usulan/{usulan.pk}/ubah/", form | {"edit_reason": "Alamat dilengkapi"})
    assert response.status_code == 302, _plain(response)
    usulan.refresh_from_db()
    assert usulan.payload["address"] == "Dusun Kaligintung RT 12 RW 4"
    assert usulan.status == U.RETURNED
    assert [m["nik_hash"] for m in usulan.payload["members"]] == [nik_hash("3401011203900005"),
                                                                  nik_hash("3401015507920003")]

    assert client.post(f"/usulan/{usulan.pk}/kirim-dinsos/").status_code == 302
    usulan.refresh_from_db()
    assert usulan.status == U.DINSOS_CHECK
    assert usulan.return_reason == ""
    assert list(Transition.objects.filter(workflow="usulan", object_id=usulan.pk)
                .values_list("to_status", flat=True))[-2:] == [U.RETURNED, U.DINSOS_CHECK]
    # once sent, it can no longer be edited
    assert client.get(f"/usulan/{usulan.pk}/ubah/").status_code == 409


# ---------------------------------------------------------------------------------------------- bad input


def _waiting_for_musdes(operator) -> Usulan:
    usulan = svc.usulan_create(actor=operator, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                               payload=NEW_FAMILY)
    return svc.usulan_to_musdes(actor=operator, usulan=usulan)


def test_oversized_minutes_refused_413_nothing_recorded(client, operator_a, geotagged_a):
    usulan = _waiting_for_musdes(operator_a)
    client.force_login(operator_a)
    big = SimpleUploadedFile("berita-acara.pdf", b"%PDF-1.4\n" + b"0" * (8 * 1024 * 1024 + 10),
                             content_type="application/pdf")
    before = statuses()
    response = client.post("/usulan/musdes/", musdes_form(usulan, minutes=big))
    assert response.status_code == 413
    assert 'data-error-code="file_too_large"' in _text(response)
    assert usulan.reference in _text(response)
    assert Musdes.objects.count() == 0
    assert statuses() == before


def test_non_image_minutes_refused_415_nothing_recorded(client, operator_a, geotagged_a):
    usulan = _waiting_for_musdes(operator_a)
    client.force_login(operator_a)
    fake = SimpleUploadedFile("berita-acara.jpg", b"MZ\x90\x00 this is not a photo or a PDF",
                              content_type="image/jpeg")
    before = statuses()
    response = client.post("/usulan/musdes/", musdes_form(usulan, minutes=fake))
    assert response.status_code == 415
    assert 'data-error-code="file_type_unsupported"' in _text(response)
    assert Musdes.objects.count() == 0
    assert statuses() == before


def test_musdes_in_the_future_or_without_minutes_refused_400(client, operator_a, geotagged_a):
    usulan = _waiting_for_musdes(operator_a)
    client.force_login(operator_a)
    before = statuses()
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = client.post("/usulan/musdes/", musdes_form(usulan, held_on=tomorrow))
    assert response.status_code == 400
    assert "masa depan" in _text(response)
    assert 'value="Kepala Desa Sutrisno"' in _text(response)  # the form is shown again, filled in
    form = musdes_form(usulan)
    del form["minutes"]
    response = client.post("/usulan/musdes/", form)
    assert response.status_code == 400
    assert 'data-error-code="minutes_missing"' in _text(response)
    response = client.post("/usulan/musdes/", musdes_form(usulan, held_on="kemarin"))
    assert response.status_code == 400
    # a rejection needs a note
    response = client.post("/usulan/musdes/", musdes_form(usulan, **{f"decision_{usulan.pk}": "tolak",
                                                                    f"note_{usulan.pk}": ""}))
    assert response.status_code == 400
    assert 'data-error-code="evidence_missing"' in _text(response)
    assert Musdes.objects.count() == 0
    assert statuses() == before


def test_decree_in_the_future_refused_400(client, operator_a, dinsos, worker, ratifier, geotagged_a):
    usulan = verified_via_services(operator_a, dinsos, worker)
    client.force_login(ratifier)
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = client.post("/usulan/penetapan/", {"region_code": "34.01", "decree_number": "460/1/2026",
                                                  "decree_date": tomorrow, "usulan": [usulan.pk]})
    assert response.status_code == 400
    assert "masa depan" in _text(response)
    assert 'value="460/1/2026"' in _text(response)
    usulan.refresh_from_db()
    assert usulan.status == U.VERIFIED
    assert Penetapan.objects.count() == 0


def test_ratification_outside_the_ratifiers_region_refused(client, operator_a, dinsos, worker, ratifier,
                                                           ratifier_bantul, geotagged_a):
    usulan = verified_via_services(operator_a, dinsos, worker)
    form = {"decree_number": "460/9/2026", "decree_date": today().isoformat(), "usulan": [usulan.pk]}
    # Bantul's ratifier does not see Kulon Progo's list and may not ratify it
    client.force_login(ratifier_bantul)
    assert usulan.reference not in _text(client.get("/usulan/penetapan/?region_code=34.01"))
    response = client.post("/usulan/penetapan/", form | {"region_code": "34.01"})
    assert response.status_code == 403
    assert 'data-error-code="permission_denied"' in _text(response)
    # Kulon Progo's ratifier cannot ratify Kulon Progo usulan under Bantul's name either
    client.force_login(ratifier)
    response = client.post("/usulan/penetapan/", form | {"region_code": "34.02"})
    assert response.status_code == 403
    usulan.refresh_from_db()
    assert usulan.status == U.VERIFIED
    assert Penetapan.objects.count() == 0
    assert Transition.objects.filter(to_status=U.RATIFIED).count() == 0


def test_invalid_new_family_shown_again_nothing_created(client, operator_a, geotagged_a):
    client.force_login(operator_a)
    form = new_family_form(kk_number="12345")
    response = client.post("/usulan/baru/", form)
    assert response.status_code == 400
    assert "16 digit" in _text(response)
    assert 'value="SUPARMAN"' in _text(response)  # what was typed stays
    bad_nik = new_family_form()
    bad_nik["m1_nik"] = "3401015507920"
    response = client.post("/usulan/baru/", bad_nik)
    assert response.status_code == 400
    assert "Anggota ke-2" in _text(response)
    assert Usulan.objects.count() == 0


def test_non_image_attachment_refused(client, operator_a, geotagged_a):
    client.force_login(operator_a)
    letter = SimpleUploadedFile("surat.png", b"<html>not an image</html>", content_type="image/png")
    response = client.post("/usulan/baru/", new_family_form(letters=[letter]))
    assert response.status_code == 415
    assert Usulan.objects.count() == 0


# ------------------------------------------------------------------------------------ other kinds of usulan


def test_correction_program_and_deactivation_forms(client, operator_a, family_a, geotagged_a):
    client.force_login(operator_a)
    child = member(family_a, "anak")
    page = client.get(f"/usulan/baru/?kind=perbaikan&family={family_a.pk}")
    assert page.status_code == 200
    assert f'name="remove_{child.pk}"' in _text(page)
    assert family_a.family_code in _text(page)
    response = client.post("/usulan/baru/", {
        "kind": "perbaikan", "family": family_a.pk, "addr_address": "Dusun Sidorejo Baru", "rows": "2",
        f"remove_{child.pk}": "pindah", "condition_from_visit": "1", "note": "pindah ke Wates",
        "letters": [jpeg("surat.jpg")]})
    assert response.status_code == 302, _plain(response)
    corr = Usulan.objects.get(kind="perbaikan")
    assert corr.family == family_a
    assert corr.payload["address"]["address"] == "Dusun Sidorejo Baru"
    assert corr.payload["address"]["rt"] == family_a.rt  # fields left empty keep the registry's value
    assert corr.payload["members_remove"] == [{"person_id": child.pk, "removal_reason": "pindah"}]
    assert corr.payload["condition_from_visit"] is True
    assert corr.documents.count() == 1
    assert child.name in _text(client.get(f"/usulan/{corr.pk}/"))

    response = client.post("/usulan/baru/", {"kind": "program", "family": family_a.family_code, "program": "pkh"})
    assert response.status_code == 302, _plain(response)
    assert Usulan.objects.get(kind="program").payload["program"] == "pkh"

    response = client.post("/usulan/baru/", {"kind": "penonaktifan", "family": family_a.pk, "person": child.pk,
                                             "reason": "pengecualian", "category": "perangkat_desa"})
    assert response.status_code == 302, _plain(response)
    deact = Usulan.objects.get(kind="penonaktifan")
    assert deact.person == child
    assert deact.payload["category"] == "perangkat_desa"
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = client.post("/usulan/baru/", {"kind": "penonaktifan", "family": family_a.pk, "reason": "meninggal",
                                             "death_date": tomorrow})
    assert response.status_code == 400
    assert Usulan.objects.filter(kind="penonaktifan").count() == 1


def test_withdraw_needs_a_reason(client, operator_a, geotagged_a):
    client.force_login(operator_a)
    usulan = create_new_family(client, operator_a)
    response = client.post(f"/usulan/{usulan.pk}/batalkan/", {"reason": ""})
    assert response.status_code == 400
    assert usulan.reference in _text(response)
    usulan.refresh_from_db()
    assert usulan.status == U.DRAFT
    assert client.post(f"/usulan/{usulan.pk}/batalkan/", {"reason": "KK ganda"}).status_code == 302
    usulan.refresh_from_db()
    assert usulan.status == U.CANCELLED


def test_not_eligible_after_the_visit(client, operator_a, dinsos, worker, geotagged_a):
    usulan = to_dinsos_via_services(operator_a)
    visit = svc.usulan_order_visit(actor=dinsos, usulan=usulan, worker=worker, due_on=today())
    visit_submit(actor=worker, visit=visit, outcome="tidak_ditemukan", visited_on=today(), interview={},
                 condition=None, photos=[("house_front", jpeg())])
    client.force_login(dinsos)
    refused = client.post(f"/usulan/{usulan.pk}/verifikasi/")  # the visit does not support it
    assert refused.status_code == 400
    assert 'data-error-code="visit_does_not_support"' in _text(refused)
    response = client.post(f"/usulan/{usulan.pk}/tidak-layak/", {"reason": "Keluarga tidak ditemukan"})
    assert response.status_code == 302
    usulan.refresh_from_db()
    assert usulan.status == U.NOT_ELIGIBLE
    assert usulan.decision_reason == "Keluarga tidak ditemukan"


# ------------------------------------------------------------------------------------- queue, list, report


def test_queue_shows_deadlines_and_overdue_items(client, operator_a, geotagged_a):
    old = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                            payload=NEW_FAMILY)
    Usulan.objects.filter(pk=old.pk).update(status_changed_at=timezone.now() - dt.timedelta(days=60))
    client.force_login(operator_a)
    page = client.get("/usulan/")
    body = _text(page)
    assert page.status_code == 200
    assert old.reference in body
    assert 'data-overdue="1"' in body
    assert 'data-overdue-count="1"' in body
    sched = current_schedule(today())
    assert f'data-schedule="{sched.month}"' in body


def test_list_filters_and_report(client, operator_a, dinsos, geotagged_a):
    draft = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                              payload=NEW_FAMILY)
    client.force_login(dinsos)
    assert draft.reference in _text(client.get("/usulan/daftar/?status=draf&kind=keluarga_baru"))
    assert draft.reference not in _text(client.get("/usulan/daftar/?status=disahkan"))
    assert client.get("/usulan/daftar/?status=bogus").status_code == 400
    report = client.get("/usulan/laporan/?region=34.01&level=3")
    assert report.status_code == 200
    assert 'data-total="1"' in _text(report)
    assert 'data-region="34.01.01"' in _text(report)
    assert client.get("/usulan/laporan/?level=9").status_code == 400


# --------------------------------------------------------------------------------------- roles and regions


def test_pages_refused_without_the_role(client, operator_a, dinsos, worker, geotagged_a):
    nobody = get_user_model().objects.create_user("tanpa.peran", password="kata-sandi-panjang-1")
    client.force_login(nobody)
    for url in ("/usulan/", "/usulan/baru/", "/usulan/musdes/", "/usulan/penetapan/", "/usulan/daftar/",
                "/usulan/laporan/"):
        assert client.get(url).status_code == 403, url
    client.force_login(dinsos)  # Dinsos neither drafts nor ratifies
    assert client.get("/usulan/baru/").status_code == 403
    assert client.get("/usulan/musdes/").status_code == 403
    assert client.get("/usulan/penetapan/").status_code == 403
    client.force_login(operator_a)
    assert client.get("/usulan/penetapan/").status_code == 403
    client.logout()
    assert client.get("/usulan/").status_code == 302  # to the login page


def test_usulan_outside_the_region_is_not_found(client, operator_a, operator_b, dinsos, geotagged_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A,
                               payload=NEW_FAMILY)
    client.force_login(operator_b)
    assert client.get(f"/usulan/{usulan.pk}/").status_code == 404
    assert client.get(f"/usulan/{usulan.pk}/ubah/").status_code == 404
    assert client.post(f"/usulan/{usulan.pk}/ajukan-musdes/").status_code == 404
    assert client.post(f"/usulan/{usulan.pk}/batalkan/", {"reason": "x"}).status_code == 404
    assert usulan.reference not in _text(client.get("/usulan/daftar/"))
    # operator B cannot record a meeting for village A nor draft for it
    response = client.post("/usulan/musdes/", musdes_form(usulan) | {"village_code": VILLAGE_A})
    assert response.status_code == 403
    response = client.post("/usulan/baru/", new_family_form(village=VILLAGE_A))
    assert response.status_code == 403
    assert statuses() == {usulan.pk: U.DRAFT}
    assert Usulan.objects.count() == 1
    # a step that is not the actor's: Dinsos may see the draft but not move it to the meeting
    client.force_login(dinsos)
    assert client.get(f"/usulan/{usulan.pk}/").status_code == 200
    refused = client.post(f"/usulan/{usulan.pk}/ajukan-musdes/")
    assert refused.status_code == 403
    usulan.refresh_from_db()
    assert usulan.status == U.DRAFT
    # the printable list of a batch is not shown outside the region
    assert client.get("/usulan/penetapan/999/cetak/").status_code == 404


def test_print_list_refused_outside_the_region(client, operator_a, dinsos, worker, ratifier, ratifier_bantul,
                                               geotagged_a):
    usulan = verified_via_services(operator_a, dinsos, worker)
    batch = svc.penetapan_create(actor=ratifier, region_code="34.01", decree_number="460/5/2026",
                                 decree_date=today(), usulan_ids=[usulan.pk])
    client.force_login(ratifier_bantul)
    assert client.get(f"/usulan/penetapan/{batch.pk}/cetak/").status_code == 404
    client.force_login(ratifier)
    page = client.get(f"/usulan/penetapan/{batch.pk}/cetak/")
    assert page.status_code == 200
    assert usulan.reference in _text(page)
    assert "460/5/2026" in _text(client.get("/usulan/penetapan/"))  # listed among the earlier batches


def test_village_b_operator_sees_only_own_musdes_queue(client, operator_b, operator_a, geotagged_a):
    _waiting_for_musdes(operator_a)
    client.force_login(operator_b)
    page = client.get("/usulan/musdes/")
    assert page.status_code == 200
    assert f'value="{VILLAGE_B}"' in _text(page)
    assert "USL-" not in _text(page)
