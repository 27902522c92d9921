"""The citizen pages and the review queue through Django's test client: the whole scenario from registration
to the data download, bilingual 4xx for bad input, scope by URL, and the NIK never in clear in the database,
the logs or the pages."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import zlib

import pytest
from django.db import connection
from django.urls import reverse

from dtsen.accounts.models import CitizenAccount, CitizenStatus
from dtsen.audit.models import AuditRecord
from dtsen.core.masking import mask_nik
from dtsen.registry import choices as c
from dtsen.registry.models import Person

from .conftest import (
    KK_A,
    KK_B,
    PASSWORD,
    last_code,
    member,
    nik_of,
    photo_bytes,
    register,
    to_review,
    upload,
)

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def pdf_text(pdf: bytes) -> str:
    """The page content streams of a PDF, inflated: enough to find the text fpdf2 writes with a core font."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        body = match.group(1)
        with contextlib.suppress(zlib.error):
            body = zlib.decompress(body)
        out.append(body.decode("latin-1"))
    return "\n".join(out)


def clear_niks_in_database(niks: set[str]) -> list[str]:
    """Every (table, NIK) where a clear NIK appears in any column of any row of any table."""
    found = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # names from the catalog
            for row in cur.fetchall():
                blob = " ".join(str(v) for v in row)
                found.extend(f"{table}:{nik}" for nik in niks if nik in blob)
    return found


def register_form(p: Person, **over) -> dict:
    return {"nik": nik_of(p), "kk_number": KK_A, "name_on_ktp": p.name, "email": "siti@example.id",
            "phone": "0812 3456 7890", "password": PASSWORD, "consent": "1", **over}


# ------------------------------------------------------------------------------------------ the scenario


def test_from_registration_to_the_data_download(
    client, family_a, family_b, verifier, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    wife = member(family_a, c.Relationship.SPOUSE)
    everyone = {nik_of(p) for p in Person.objects.all()}

    # a citizen registers on her phone
    page = client.get(reverse("citizen:register"))
    assert page.status_code == 200
    for name in ("nik", "kk_number", "name_on_ktp", "email", "phone", "password", "consent"):
        assert f'for="{name}"' in text(page)
        assert f'id="{name}"' in text(page)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("citizen:register"), register_form(wife))
    assert response.status_code == 302
    assert response["Location"] == reverse("citizen:otp")
    account = CitizenAccount.objects.get()
    assert account.match_result == "padan"

    # enters the code from the e-mail
    assert "s***@example.id" in text(client.get(reverse("citizen:otp")))
    response = client.post(reverse("citizen:otp"), {"code": last_code()})
    assert response["Location"] == reverse("citizen:photos")

    # sends her photos
    response = client.post(reverse("citizen:photos"), {
        "ktp_photo": upload("IMG_0001.jpg", photo_bytes()),
        "selfie_photo": upload("IMG_0002.jpg", photo_bytes(gps=True)),
    })
    assert response["Location"] == reverse("citizen:status")
    assert 'data-status="menunggu_verifikasi"' in text(client.get(reverse("citizen:status")))
    # and may not see her family yet
    assert client.get(reverse("citizen:family")).status_code == 403

    # the Kulon Progo verifier finds her in the queue and sees both photos side by side
    staff = client.__class__()
    staff.force_login(verifier)
    queue = staff.get(reverse("citizen:review_queue"))
    assert queue.status_code == 200
    assert account.name_on_ktp in text(queue)
    detail = staff.get(reverse("citizen:review_detail", args=[account.pk]))
    account.refresh_from_db()
    for photo in (account.ktp_photo, account.selfie_photo):
        url = reverse("documents:document", args=[photo.pk])
        assert f'src="{url}"' in text(detail)
        assert staff.get(url).status_code == 200
    assert mask_nik(nik_of(wife)) in text(detail)
    assert "-7.858472" in text(detail)  # the selfie's position, kept as evidence
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("citizen:review_approve", args=[account.pk]), {"reason": "Sesuai"})
    assert response["Location"] == reverse("citizen:review_queue")
    account.refresh_from_db()
    assert account.status == CitizenStatus.ACTIVE

    # now she sees exactly her own family
    response = client.get(reverse("citizen:family"))
    own_url = reverse("citizen:family_detail", args=[family_a.pk])
    assert response["Location"] == own_url
    page = client.get(own_url)
    assert page.status_code == 200
    assert family_a.family_code in text(page)
    assert {p.name for p in family_a.members.all()} <= set(re.findall(r"[A-Z][A-Z ]+[A-Z]", text(page)))
    assert all(mask_nik(nik_of(p)) in text(page) for p in family_a.members.all())
    assert page["Cache-Control"] == "private, no-store"
    # another family by URL is "not found", in both languages
    other = client.get(reverse("citizen:family_detail", args=[family_b.pk]))
    assert other.status_code == 404
    assert "Keluarga tidak ditemukan" in text(other)
    assert "Family not found" in text(other)
    assert "Joko" not in text(other).title()
    # and the staff pages refuse her
    assert client.get(reverse("registry:family_detail", args=[family_a.pk])).status_code in {403, 404}

    # she downloads everything held about her family: JSON
    response = client.get(reverse("citizen:download_json"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["family"]["family_code"] == family_a.family_code
    assert [k["kk_number"] for k in data["kk_history"]] == ["3401012001150001", KK_A]
    rows = {m["person_code"]: m for m in data["members"]}
    assert len(rows) == 3
    for p in family_a.members.all():
        expected = nik_of(p) if p.pk == wife.pk else mask_nik(nik_of(p))
        assert rows[p.person_code]["nik"] == expected
        assert rows[p.person_code]["is_you"] is (p.pk == wife.pk)
        assert "nik_hash" not in rows[p.person_code]
        assert "nik_enc" not in rows[p.person_code]
    assert data["account"]["nik"] == nik_of(wife)
    assert len(data["conditions"]) == 1
    assert len(data["exclusion_flags"]) == 1
    assert {e["kind"] for e in data["events"]} >= {"daftar", "ganti_kk"}
    assert {v["subject"] for v in data["versions"]} == {"family", "person"}
    assert {d["kind"] for d in data["documents"]} == {"ktp", "selfie_ktp"}
    audit_actions = {a["action"] for a in data["audit"]}
    assert {"family_register", "family_change_kk", "exclusion_flag_add", "citizen_register",
            "citizen_approve", "family.view", "document.view", "dsar.download"} <= audit_actions
    assert all("actor_username" not in a and "ip" not in a for a in data["audit"])
    assert any(a["by_you"] for a in data["audit"])
    assert family_b.family_code not in response.content.decode()

    # and as PDF
    response = client.get(reverse("citizen:download_pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    content = pdf_text(response.content)
    assert family_a.family_code in content
    assert "SITI NURHALIZA" in content
    assert mask_nik(nik_of(member(family_a, c.Relationship.HEAD))) in content
    downloads = AuditRecord.objects.filter(action="dsar.download", object_id=str(family_a.pk))
    assert sorted(r.after["format"] for r in downloads) == ["json", "pdf"]

    # after all this, no NIK is anywhere in the database in clear, nor in the logs
    assert clear_niks_in_database(everyone) == []
    assert not any(nik in caplog.text for nik in everyone)


# ------------------------------------------------------------------------------------------ bad input


def test_a_bad_nik_gets_a_bilingual_400_and_is_not_echoed(client, family_a):
    wife = member(family_a, c.Relationship.SPOUSE)
    bad = nik_of(wife)[:6] + "99" + nik_of(wife)[8:]
    response = client.post(reverse("citizen:register"), register_form(wife, nik=bad))
    assert response.status_code == 400
    body = text(response)
    assert "Tanggal lahir dalam NIK tidak valid." in body
    assert "The birth date in the NIK is invalid." in body
    assert 'data-error-code="nik_date_invalid"' in body
    assert bad not in body
    assert PASSWORD not in body
    assert KK_A in body  # the other fields are kept
    assert not CitizenAccount.objects.exists()


def test_the_same_nik_twice_is_a_409(client, family_a, django_capture_on_commit_callbacks):
    wife = member(family_a, c.Relationship.SPOUSE)
    register(wife)
    response = client.post(reverse("citizen:register"), register_form(wife, email="lain@example.id"))
    assert response.status_code == 409
    assert 'data-error-code="nik_already_registered"' in text(response)


def test_a_wrong_code_page_says_how_many_attempts_are_left(
    client, family_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("citizen:register"), register_form(member(family_a, c.Relationship.SPOUSE)))
    wrong = f"{(int(last_code()) + 1) % 1_000_000:06d}"
    response = client.post(reverse("citizen:otp"), {"code": wrong})
    assert response.status_code == 400
    assert "Sisa percobaan: 4" in text(response)
    assert "Attempts left: 4" in text(response)


def test_a_text_file_as_photo_gets_a_415_page(client, awaiting, family_a, django_capture_on_commit_callbacks):
    head = member(family_a, c.Relationship.HEAD)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("citizen:register"), register_form(head, email="budi@example.id"))
    client.post(reverse("citizen:otp"), {"code": last_code()})
    response = client.post(reverse("citizen:photos"), {
        "ktp_photo": upload("ktp.jpg", b"bukan foto " * 100), "selfie_photo": upload("s.jpg", photo_bytes()),
    })
    assert response.status_code == 415
    assert "Jenis berkas tidak didukung" in text(response)
    assert "Unsupported file type" in text(response)
    assert CitizenAccount.objects.get(email="budi@example.id").status == CitizenStatus.OTP_VERIFIED


# ------------------------------------------------------------------------------------------ review by URL


def test_a_verifier_of_another_kabupaten_gets_404(client, awaiting, verifier_bantul):
    client.force_login(verifier_bantul)
    assert awaiting.account.name_on_ktp not in text(client.get(reverse("citizen:review_queue")))
    assert client.get(reverse("citizen:review_detail", args=[awaiting.account.pk])).status_code == 404
    assert client.post(reverse("citizen:review_approve", args=[awaiting.account.pk])).status_code == 404
    assert CitizenAccount.objects.get(pk=awaiting.account.pk).status == CitizenStatus.AWAITING_REVIEW


def test_staff_without_the_review_permission_get_403(client, operator_a):
    client.force_login(operator_a)
    assert client.get(reverse("citizen:review_queue")).status_code == 403


def test_a_tidak_padan_account_can_only_be_rejected(
    client, family_a, verifier, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(member(family_a, c.Relationship.SPOUSE), kk=KK_B)
    account = to_review(reg, django_capture_on_commit_callbacks)
    client.force_login(verifier)
    detail = text(client.get(reverse("citizen:review_detail", args=[account.pk])))
    assert 'data-match="tidak_padan"' in detail
    assert reverse("citizen:review_approve", args=[account.pk]) not in detail  # no approve form
    response = client.post(reverse("citizen:review_approve", args=[account.pk]))
    assert response.status_code == 409
    assert 'data-error-code="citizen_not_matched"' in text(response)
    response = client.post(reverse("citizen:review_reject", args=[account.pk]), {"reason": ""})
    assert response.status_code == 400
    response = client.post(reverse("citizen:review_reject", args=[account.pk]), {"reason": "KK tidak sesuai"})
    assert response.status_code == 302
    assert CitizenAccount.objects.get(pk=account.pk).status == CitizenStatus.REJECTED


# ------------------------------------------------------------------------------------------ login


def test_a_citizen_logs_in_with_email_and_password(client, active):
    response = client.post(reverse("citizen:login"), {"email": "SITI@example.id ", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("citizen:family")
    client.logout()
    response = client.post(reverse("citizen:login"), {"email": "siti@example.id", "password": "salah"})
    assert response.status_code == 400
    assert "Email atau kata sandi salah." in text(response)
    assert "Wrong e-mail or password." in text(response)


def test_citizen_pages_need_a_login(client):
    for name in ("citizen:status", "citizen:family", "citizen:download", "citizen:download_json"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("citizen:login"))


def test_pages_are_indonesian_by_default_with_english_available(client):
    page = text(client.get(reverse("citizen:register")))
    assert '<html lang="id">' in page
    assert "Buat akun warga" in page
    assert "Nama lengkap sesuai KTP" in page
    assert "style=" not in page
    assert "<style" not in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = text(client.get(reverse("citizen:register")))
    assert "Create a citizen account" in english
    assert "Full name as on your KTP" in english


def test_the_download_leaves_out_another_members_account(client, active, family_a):
    head = member(family_a, c.Relationship.HEAD)
    register(head, email="budi@example.id")
    client.force_login(active.user)
    data = json.loads(client.get(reverse("citizen:download_json")).content)
    accounts = {a["object_id"] for a in data["audit"] if a["object_type"] == "citizenaccount"}
    assert accounts == {str(active.account.pk)}  # her own account only, not her husband's
    assert "budi@example.id" not in json.dumps(data)


def test_an_unverified_citizen_cannot_download(client, awaiting):
    client.force_login(awaiting.user)
    response = client.get(reverse("citizen:download_json"))
    assert response.status_code == 403
    assert 'data-error-code="citizen_not_active"' in text(response)
    assert not AuditRecord.objects.filter(action="dsar.download").exists()


def test_the_citizen_sees_the_desil_of_their_own_family_and_why(client, active, family_a, tmp_path):
    from django.utils import timezone

    from dtsen.accounts.services import system_actor
    from dtsen.ranking.models import RankingResult
    from dtsen.ranking.services import ranking_run

    client.post(reverse("citizen:login"), {"email": "siti@example.id", "password": PASSWORD})
    before = client.get(reverse("citizen:family"), follow=True)
    assert before.status_code == 200
    assert "h-desil" not in text(before)  # no ranking run yet
    run = ranking_run(actor=system_actor(), period="2026-Q4", cutoff=timezone.localdate(), work_dir=tmp_path)
    desil = RankingResult.objects.get(run=run, family=family_a).desil
    response = client.get(reverse("citizen:family"), follow=True)
    assert response.status_code == 200
    page = re.sub(r"<[^>]+>", " ", text(response))
    page = " ".join(page.split())
    assert f"Desil {desil}" in page
    assert "periode pemeringkatan 2026-Q4" in page
    assert re.search(r": [+−]\d\.\d\d", page)
