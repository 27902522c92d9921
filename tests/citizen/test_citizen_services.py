"""Citizen account services: registration and matching, the e-mail code, photos, approval and rejection,
the transition table, scope, and the audit trail each write leaves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.utils import timezone

from dtsen.accounts import citizen_services as svc
from dtsen.accounts.citizen_selectors import citizen_family, citizen_review_queue
from dtsen.accounts.models import CITIZEN_TRANSITIONS, CitizenAccount, CitizenStatus
from dtsen.accounts.services import system_actor
from dtsen.audit.models import AuditRecord
from dtsen.audit.selectors import audit_verify
from dtsen.core.errors import Conflict, NotFound, PermissionDenied, TooManyRequests, ValidationFailed
from dtsen.registry import choices as c
from dtsen.registry.services import person_record_death

from .conftest import (
    KK_A,
    KK_A_OLD,
    KK_B,
    PASSWORD,
    last_code,
    member,
    nik_of,
    photo_bytes,
    register,
    send_photos,
    to_review,
    upload,
)

pytestmark = pytest.mark.django_db


def actions(account: CitizenAccount) -> list[str]:
    return list(AuditRecord.objects.filter(object_type="citizenaccount", object_id=str(account.pk))
                .order_by("seq").values_list("action", flat=True))


# ----------------------------------------------------------------------------------------- happy path


def test_registration_to_approval(family_a, verifier, django_capture_on_commit_callbacks):
    wife = member(family_a, c.Relationship.SPOUSE)
    # given a citizen who registers with her NIK, KK and name as in the registry
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(wife)
    account = reg.account
    # then the account matches, waits for the e-mail code, and the code went out by e-mail
    assert account.status == CitizenStatus.REGISTERED
    assert (account.match_result, account.match_reason) == ("padan", "")
    assert account.person_id == wife.pk
    assert account.family_id == family_a.pk
    assert account.region_code == family_a.village_code
    assert account.user.username.startswith("warga-")
    assert account.user.email == "siti@example.id"
    assert account.phone == "+6281234567890"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["siti@example.id"]
    code = last_code()
    stored = CitizenAccount.objects.filter(pk=account.pk).values().get()
    assert code not in str(stored)  # only its hash is kept
    # when she enters the code and sends her photos
    account = svc.citizen_otp_verify(actor=reg.user, account=account, code=f" {code} ")
    assert account.status == CitizenStatus.OTP_VERIFIED
    assert account.otp_hash == ""
    account = send_photos(reg, django_capture_on_commit_callbacks)
    assert account.status == CitizenStatus.AWAITING_REVIEW
    assert account.ktp_photo.owner_id == reg.user.pk
    assert account.selfie_photo.kind == "selfie_ktp"
    assert citizen_review_queue(actor=verifier) == [account]
    # and a verifier of her kabupaten approves
    with django_capture_on_commit_callbacks(execute=True):
        account = svc.citizen_approve(actor=verifier, account=account, reason="Foto sesuai")
    assert account.status == CitizenStatus.ACTIVE
    assert account.reviewer == verifier
    assert account.reviewed_at is not None
    assert "aktif" in mail.outbox[-1].body
    # then every step is in the audit trail, and the chain holds
    assert actions(account) == ["citizen_register", "citizen_otp_send", "citizen_otp_verify",
                                "citizen_photos_submit", "citizen_approve"]
    assert list(audit_verify()) == []
    # and she sees her own family: its members and latest condition
    data = citizen_family(actor=reg.user)
    assert data.family == family_a
    assert {m.pk for m in data.members} == set(family_a.members.values_list("pk", flat=True))
    assert data.condition is not None


def test_an_earlier_kk_number_and_a_titled_name_still_match(family_a):
    head = member(family_a, c.Relationship.HEAD)
    reg = register(head, kk=KK_A_OLD, name="Bpk. Budi  Santoso, S.Pd.", email="budi@example.id")
    assert reg.account.match_result == "padan"
    assert reg.account.name_on_ktp == "BPK. BUDI SANTOSO, S.PD."


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Drs. H. Budi  Santoso, S.Pd., M.M.", "BUDI SANTOSO"),
        ("HJ. SITI NURHALIZA", "SITI NURHALIZA"),
        ("siti nurhaliza s.pd", "SITI NURHALIZA"),
        ("Ma'ruf Amin", "MARUF AMIN"),
        ("Dewi-Lestari", "DEWI LESTARI"),
        ("José Ramos", "JOSE RAMOS"),
        ("I Gusti Ayu", "I GUSTI AYU"),
    ],
)
def test_name_normalise(raw, normal):
    assert svc.name_normalise(raw) == normal


# ----------------------------------------------------------------------------------------- mismatches


@pytest.mark.parametrize(
    ("case", "reason"),
    [("nik", "nik_tidak_ditemukan"), ("kk", "kk_tidak_sesuai"), ("name", "nama_tidak_sesuai")],
)
def test_a_mismatch_registers_as_tidak_padan_and_cannot_be_approved(
    case, reason, family_a, family_b, verifier, django_capture_on_commit_callbacks
):
    wife = member(family_a, c.Relationship.SPOUSE)
    kwargs = {
        "nik": {"nik": "3401016505900001"},  # a valid NIK nobody in the registry holds
        "kk": {"kk": KK_B},  # another family's KK number
        "name": {"name": "SITI AMINAH"},
    }[case]
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(wife, **kwargs)
    account = reg.account
    assert (account.match_result, account.match_reason) == ("tidak_padan", reason)
    assert account.region_code.startswith("34.01")  # still reaches the Kulon Progo reviewers
    account = to_review(reg, django_capture_on_commit_callbacks)
    assert account in citizen_review_queue(actor=verifier)
    with pytest.raises(Conflict) as exc:
        svc.citizen_approve(actor=verifier, account=account)
    assert exc.value.code == "citizen_not_matched"
    # it can be rejected, with a reason, and the citizen is told why
    with django_capture_on_commit_callbacks(execute=True):
        account = svc.citizen_reject(actor=verifier, account=account, reason="Data tidak padan dengan DTSEN")
    assert account.status == CitizenStatus.REJECTED
    assert "Data tidak padan dengan DTSEN" in mail.outbox[-1].body
    assert actions(account)[-1] == "citizen_reject"


def test_a_deceased_person_does_not_match(family_a):
    wife = member(family_a, c.Relationship.SPOUSE)
    person_record_death(actor=system_actor(), person=wife, death_date=dt.date(2025, 1, 5),
                        source=c.DeathSource.DUKCAPIL, channel=c.Channel.ADMIN_MATCH, reason="Data Dukcapil")
    reg = register(wife)
    assert (reg.account.match_result, reg.account.match_reason) == ("tidak_padan", "tidak_aktif")


def test_approval_rechecks_the_registry(awaiting, verifier):
    wife = awaiting.account.person
    person_record_death(actor=system_actor(), person=wife, death_date=timezone.localdate(),
                        source=c.DeathSource.DUKCAPIL, channel=c.Channel.ADMIN_MATCH, reason="Data Dukcapil")
    with pytest.raises(Conflict) as exc:
        svc.citizen_approve(actor=verifier, account=awaiting.account)
    assert exc.value.code == "citizen_match_changed"
    assert CitizenAccount.objects.get(pk=awaiting.account.pk).status == CitizenStatus.AWAITING_REVIEW


# ----------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("nik", "12345", "nik_length"),
        ("nik", "3401019999800012", "nik_date_invalid"),
        ("kk_number", "34010120", "kk_invalid"),
        ("email", "siti@", "email_invalid"),
        ("phone", "12345", "phone_invalid"),
        ("password", "12345678901", "password_invalid"),
        ("name_on_ktp", "  ", "name_invalid"),
        ("consent", False, "consent_required"),
    ],
)
def test_bad_input_is_refused_with_a_bilingual_message(family_a, field, value, code):
    wife = member(family_a, c.Relationship.SPOUSE)
    data = {"nik": nik_of(wife), "kk_number": KK_A, "name_on_ktp": wife.name, "email": "siti@example.id",
            "phone": "081234567890", "password": PASSWORD, "consent": True, field: value}
    with pytest.raises(ValidationFailed) as exc:
        svc.citizen_register(actor=AnonymousUser(), **data)
    assert exc.value.code == code
    assert exc.value.message_id
    assert exc.value.message_en
    assert exc.value.message_id != exc.value.message_en
    assert not CitizenAccount.objects.exists()


def test_one_open_account_per_nik_and_per_email(awaiting, family_a):
    wife = member(family_a, c.Relationship.SPOUSE)
    with pytest.raises(Conflict) as exc:
        register(wife, email="lain@example.id")
    assert exc.value.code == "nik_already_registered"
    head = member(family_a, c.Relationship.HEAD)
    with pytest.raises(Conflict) as exc:
        register(head, email="SITI@example.id")
    assert exc.value.code == "email_already_registered"


def test_after_a_rejection_the_same_nik_and_email_may_register_again(awaiting, verifier):
    svc.citizen_reject(actor=verifier, account=awaiting.account, reason="Foto KTP buram")
    again = register(awaiting.account.person)
    assert again.account.pk != awaiting.account.pk
    assert again.account.status == CitizenStatus.REGISTERED


# ----------------------------------------------------------------------------------------- the e-mail code


def test_a_wrong_code_counts_and_the_code_dies_after_five(family_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(member(family_a, c.Relationship.SPOUSE))
    right = last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(ValidationFailed) as exc:
            svc.citizen_otp_verify(actor=reg.user, account=reg.account, code=wrong)
        assert exc.value.code == "otp_wrong"
        assert exc.value.extra["attempts_left"] == left
    with pytest.raises(ValidationFailed) as exc:
        svc.citizen_otp_verify(actor=reg.user, account=reg.account, code=wrong)
    assert exc.value.code == "otp_locked"
    # the failed attempts were committed, and now even the right code is refused
    assert CitizenAccount.objects.get(pk=reg.account.pk).otp_attempts == 5
    with pytest.raises(ValidationFailed) as exc:
        svc.citizen_otp_verify(actor=reg.user, account=reg.account, code=right)
    assert exc.value.code == "otp_missing"
    assert actions(reg.account).count("citizen_otp_fail") == 5


def test_an_expired_code_is_refused_and_a_new_one_works(family_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(member(family_a, c.Relationship.SPOUSE))
    code = last_code()
    now = timezone.now()
    CitizenAccount.objects.filter(pk=reg.account.pk).update(
        otp_sent_at=now - dt.timedelta(minutes=11), otp_expires_at=now - dt.timedelta(minutes=1)
    )
    with pytest.raises(ValidationFailed) as exc:
        svc.citizen_otp_verify(actor=reg.user, account=reg.account, code=code)
    assert exc.value.code == "otp_expired"
    with django_capture_on_commit_callbacks(execute=True):
        svc.citizen_otp_send(actor=reg.user, account=reg.account)
    assert len(mail.outbox) == 2
    account = svc.citizen_otp_verify(actor=reg.user, account=reg.account, code=last_code())
    assert account.status == CitizenStatus.OTP_VERIFIED


def test_codes_are_rate_limited(family_a):
    reg = register(member(family_a, c.Relationship.SPOUSE))
    with pytest.raises(TooManyRequests) as exc:
        svc.citizen_otp_send(actor=reg.user, account=reg.account)
    assert exc.value.status == 429
    rows = CitizenAccount.objects.filter(pk=reg.account.pk)
    for _ in range(svc.OTP_MAX_SENDS - 1):
        rows.update(otp_sent_at=timezone.now() - dt.timedelta(hours=1))
        svc.citizen_otp_send(actor=reg.user, account=reg.account)
    rows.update(otp_sent_at=timezone.now() - dt.timedelta(hours=1))
    with pytest.raises(TooManyRequests):
        svc.citizen_otp_send(actor=reg.user, account=reg.account)


def test_only_the_owner_uses_the_code(family_a, verifier, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(member(family_a, c.Relationship.SPOUSE))
    with pytest.raises(NotFound):
        svc.citizen_otp_verify(actor=verifier, account=reg.account, code=last_code())
    with pytest.raises(NotFound):
        svc.citizen_otp_send(actor=AnonymousUser(), account=reg.account)


# ----------------------------------------------------------------------------------------- workflow and scope


def test_the_transition_table_is_enforced(awaiting, verifier):
    assert CITIZEN_TRANSITIONS[CitizenStatus.ACTIVE] == frozenset()
    account = svc.citizen_approve(actor=verifier, account=awaiting.account)
    with pytest.raises(Conflict) as exc:
        svc.citizen_reject(actor=verifier, account=account, reason="Berubah pikiran")
    assert exc.value.code == "invalid_transition"
    with pytest.raises(Conflict):
        svc.citizen_approve(actor=verifier, account=account)


def test_photos_before_the_email_code_are_refused(family_a):
    reg = register(member(family_a, c.Relationship.SPOUSE))
    with pytest.raises(Conflict):
        svc.citizen_photos_submit(actor=reg.user, account=reg.account,
                                  ktp_photo=upload("a.jpg", photo_bytes()),
                                  selfie_photo=upload("b.jpg", photo_bytes()))


def test_a_verifier_of_another_kabupaten_cannot_approve(awaiting, verifier_bantul, operator_a):
    # Bantul's verifier does not see the account and may not approve or reject it
    assert citizen_review_queue(actor=verifier_bantul) == []
    with pytest.raises(PermissionDenied):
        svc.citizen_approve(actor=verifier_bantul, account=awaiting.account)
    with pytest.raises(PermissionDenied):
        svc.citizen_reject(actor=verifier_bantul, account=awaiting.account, reason="Bukan wilayah saya")
    # the village operator sees the family in the registry but holds no citizen.review permission
    with pytest.raises(PermissionDenied):
        svc.citizen_approve(actor=operator_a, account=awaiting.account)
    # and the citizen cannot approve herself
    with pytest.raises(PermissionDenied):
        svc.citizen_approve(actor=awaiting.user, account=awaiting.account)
    assert CitizenAccount.objects.get(pk=awaiting.account.pk).status == CitizenStatus.AWAITING_REVIEW


def test_a_citizen_sees_only_her_own_family(active, family_b):
    own = active.account.family_id
    assert citizen_family(actor=active.user, family_id=own).family.pk == own
    with pytest.raises(NotFound):
        citizen_family(actor=active.user, family_id=family_b.pk)
    reads = AuditRecord.objects.filter(action="family.view", actor_id=active.user.pk)
    assert reads.count() == 1  # the refused read returned nothing and is not counted as a read


def test_a_citizen_not_yet_verified_sees_no_family(awaiting):
    with pytest.raises(PermissionDenied) as exc:
        citizen_family(actor=awaiting.user)
    assert exc.value.code == "citizen_not_active"
