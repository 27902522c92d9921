"""Citizen accounts (the Cek Bansos style participation channel): registration, e-mail code, photos, review.

The workflow (dtsen-domain.md §3.2 and "What a faithful implementation must model" item 14 and C):

    TERDAFTAR --code from the e-mail--> OTP_TERVERIFIKASI --KTP photo + selfie--> MENUNGGU_VERIFIKASI
        --Dinsos verifier--> AKTIF | DITOLAK (with a reason)

`models.CITIZEN_TRANSITIONS` is the table; every service asserts its transition first. Every service is
keyword-only, takes `actor=`, runs in one transaction and leaves an audit record; e-mails leave on commit.

Matching against the registry (in place of the Dukcapil check): the NIK's keyed blind index must find exactly
one living, active person in an active family; the family's current KK number, or one it held earlier, must
equal the one typed; and the name as on the KTP must equal the registry name after `name_normalise`. A
mismatch still registers, marked `tidak_padan` with the reason code, and can only be rejected. The citizen is
not told which part did not match (that would let anyone probe the registry); the verifier sees the reason.

The photos are uploaded only after the e-mail is confirmed, so an anonymous visitor cannot fill the disk.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from dtsen.accounts.models import (
    CITIZEN_TRANSITIONS,
    CitizenAccount,
    CitizenStatus,
    MatchReason,
    MatchResult,
)
from dtsen.accounts.permissions import CITIZEN_REVIEW
from dtsen.accounts.selectors import Actor, require_scope
from dtsen.audit.services import audit_record
from dtsen.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from dtsen.documents.models import EVIDENCE_KINDS, DocumentKind
from dtsen.documents.services import Upload, document_store
from dtsen.regions.codes import code_normalise
from dtsen.regions.selectors import region_code_current, region_code_is_known
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt, nik_encrypt, nik_hash
from dtsen.registry.models import Family, FamilyKkNumber, Person
from dtsen.registry.nik import InvalidNik, parse_nik

OTP_DIGITS = 6
OTP_TTL = dt.timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5  # wrong codes per code; then the code is void and a new one must be requested
OTP_RESEND_AFTER = dt.timedelta(seconds=60)
OTP_MAX_SENDS = 5  # codes per account per OTP_WINDOW
OTP_WINDOW = dt.timedelta(hours=24)
REASON_MAX = 500
NAME_MAX = 120

_KK = re.compile(r"[0-9]{16}")
_PHONE = re.compile(r"8[0-9]{8,11}")  # Indonesian mobile numbers after the country code: 8xx, 9 to 12 digits
# Titles written before a name (religious, academic, honorific), compared without dots.
PREFIX_TITLES = frozenset({
    "H", "HJ", "HAJI", "HAJJAH", "KH", "KYAI", "TGH", "USTADZ", "USTAZ", "DR", "DRS", "DRA", "IR", "PROF",
    "DRG", "DRH", "TN", "NY", "NN", "SDR", "SDRI", "BPK", "BAPAK", "IBU", "ALM", "ALMH", "ALMARHUM",
    "ALMARHUMAH",
})
# Degrees written after a name without a comma, e.g. "BUDI SANTOSO S.PD M.M." (with a comma: everything after
# the first comma is dropped anyway).
_DEGREE = re.compile(r"^[A-Z]{1,3}\.[A-Z.]*$")


# ---------------------------------------------------------------------------------------------- input


def name_normalise(name: str) -> str:
    """A name as compared for matching: upper-case, accents removed, titles and degrees dropped, punctuation
    removed, spaces collapsed. "Drs. H. Budi  Santoso, S.Pd." → "BUDI SANTOSO"; "Ma'ruf" → "MARUF"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    text = text.split(",", 1)[0]  # Indonesian degrees follow a comma
    words = text.split()
    while words and words[0].replace(".", "") in PREFIX_TITLES:
        words.pop(0)
    while len(words) > 1 and _DEGREE.match(words[-1]):
        words.pop()
    cleaned = []
    for word in words:
        kept = "".join(ch if ch.isalnum() else (" " if ch in "-." else "") for ch in word)
        cleaned.extend(kept.split())
    return " ".join(cleaned)


def phone_normalise(phone: str) -> str:
    """"0812-3456-7890", "62 812 3456 7890" or "+6281234567890" → "+6281234567890"."""
    digits = re.sub(r"[\s\-.()]", "", phone)
    if digits.startswith("+62"):
        rest = digits[3:]
    elif digits.startswith("62"):
        rest = digits[2:]
    elif digits.startswith("0"):
        rest = digits[1:]
    else:
        rest = digits
    if not _PHONE.fullmatch(rest):
        raise ValidationFailed(
            "Nomor HP tidak valid (contoh: 0812 3456 7890).",
            "Invalid mobile number (e.g. 0812 3456 7890).",
            code="phone_invalid", field="phone",
        )
    return "+62" + rest


def _nik(value: str) -> str:
    try:
        return parse_nik(value.strip()).nik
    except InvalidNik as exc:
        error = exc.error
        raise ValidationFailed(error.message_id, error.message_en, code=exc.code, field="nik") from None


def _kk(value: str) -> str:
    kk = value.strip()
    if not _KK.fullmatch(kk):
        raise ValidationFailed("Nomor KK harus 16 digit angka.", "The KK number must be 16 digits.",
                               code="kk_invalid", field="kk_number")
    return kk


def _name(value: str) -> str:
    name = " ".join(value.split()).upper()
    if not name or len(name) > NAME_MAX or not name_normalise(name):
        raise ValidationFailed(
            f"Nama sesuai KTP wajib diisi (maksimal {NAME_MAX} karakter).",
            f"The name as on the KTP is required (at most {NAME_MAX} characters).",
            code="name_invalid", field="name_on_ktp",
        )
    return name


def _email(value: str) -> str:
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed("Alamat email tidak valid.", "Invalid e-mail address.",
                               code="email_invalid", field="email") from None
    return email


def _password(password: str, user: Any) -> None:
    """Django's password validators; their messages in Indonesian and in English."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        with translation.override("id"):
            message_id = " ".join(str(m) for m in ValidationError(exc.error_list).messages)
        with translation.override("en"):
            message_en = " ".join(str(m) for m in ValidationError(exc.error_list).messages)
        raise ValidationFailed(f"Kata sandi ditolak: {message_id}", f"Password refused: {message_en}",
                               code="password_invalid", field="password") from None


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text or len(text) > REASON_MAX:
        raise ValidationFailed(
            f"Alasan wajib diisi (maksimal {REASON_MAX} karakter).",
            f"A reason is required (at most {REASON_MAX} characters).",
            code="reason_invalid", field="reason",
        )
    return text


# ---------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    result: str
    reason: str = ""
    person: Person | None = None
    family: Family | None = None


def citizen_match(*, nik: str, kk_number: str, name_on_ktp: str) -> Match:
    """Compare what a citizen typed with the registry (see the module docstring). Reads without a scope: the
    result is stored on the account and shown to reviewers, never to the citizen."""
    people = list(Person.objects.filter(nik_hash=nik_hash(nik)).select_related("family"))
    if not people:
        return Match(MatchResult.TIDAK_PADAN, MatchReason.NIK_NOT_FOUND)
    living = [
        p for p in people
        if p.status == c.RecordStatus.ACTIVE and p.life_status == c.LifeStatus.ALIVE
        and p.family.status == c.RecordStatus.ACTIVE
    ]
    if len(living) > 1:
        return Match(MatchResult.TIDAK_PADAN, MatchReason.NIK_DUPLICATE)
    if not living:
        return Match(MatchResult.TIDAK_PADAN, MatchReason.PERSON_INACTIVE, people[0], people[0].family)
    person = living[0]
    family = person.family
    kk_ok = family.kk_number == kk_number or FamilyKkNumber.objects.filter(
        family=family, kk_number=kk_number
    ).exists()
    if not kk_ok:
        return Match(MatchResult.TIDAK_PADAN, MatchReason.KK_MISMATCH, person, family)
    if name_normalise(person.name) != name_normalise(name_on_ktp):
        return Match(MatchResult.TIDAK_PADAN, MatchReason.NAME_MISMATCH, person, family)
    return Match(MatchResult.PADAN, "", person, family)


def _review_region(match: Match, kk_number: str) -> str:
    """The region whose reviewers see the account: the family's village, else the KK's issuing kecamatan
    (first six digits; recoded to the current edition), else "" (national reviewers only)."""
    if match.family is not None:
        return match.family.village_code
    dotted = code_normalise(kk_number[:6])
    if dotted is None or not region_code_is_known(dotted):
        return ""
    return region_code_current(dotted) or dotted


# ---------------------------------------------------------------------------------------------- helpers


def account_snapshot(account: CitizenAccount) -> dict[str, Any]:
    """What the audit trail records about an account: never the NIK ciphertext nor the code's hash."""
    skip = {"nik_enc", "otp_hash", "created_at", "updated_at"}
    fields = account._meta.concrete_fields
    return {f.attname: getattr(account, f.attname) for f in fields if f.attname not in skip}


def _audit(action: str, *, actor: Actor, account: CitizenAccount, before: dict[str, Any] | None,
           reason: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="citizenaccount", object_id=account.pk,
                 before=before, after=account_snapshot(account), reason=reason,
                 person_ids=[account.person_id] if account.person_id else None)


def _assert_transition(account: CitizenAccount, target: str) -> None:
    if target not in CITIZEN_TRANSITIONS[account.status]:
        current = CitizenStatus(account.status).label
        raise Conflict(
            f"Akun berstatus '{account.status}' tidak dapat diubah menjadi '{target}'.",
            f"An account in status '{account.status}' ({current}) cannot move to '{target}'.",
            code="invalid_transition", status_from=account.status, status_to=target,
        )


def _set_status(account: CitizenAccount, target: str) -> None:
    _assert_transition(account, target)
    account.status = target
    account.status_changed_at = timezone.now()


def _locked_own(actor: Actor, account: CitizenAccount) -> CitizenAccount:
    """The actor's own account, locked for update; any other account is "not found"."""
    if not actor.is_authenticated or account.user_id != actor.pk:
        raise NotFound("Akun tidak ditemukan.", "Account not found.")
    return CitizenAccount.objects.select_for_update().get(pk=account.pk)


def _locked_for_review(actor: Actor, account: CitizenAccount) -> CitizenAccount:
    scope = require_scope(actor, CITIZEN_REVIEW)
    locked = CitizenAccount.objects.select_for_update().get(pk=account.pk)
    if locked.family_id is not None:
        region = Family.objects.values_list("village_code", flat=True).get(pk=locked.family_id)
    else:
        region = locked.region_code
    if not scope.covers(region):
        raise PermissionDenied("Wilayah akun ini di luar kewenangan Anda.",
                               "This account's region is outside your scope.")
    if locked.user_id == actor.pk:
        raise PermissionDenied("Anda tidak dapat memverifikasi akun Anda sendiri.",
                               "You cannot review your own account.")
    return locked


def otp_digest(account_id: int, code: str) -> str:
    return salted_hmac("dtsen.citizen.otp", f"{account_id}:{code}", algorithm="sha256").hexdigest()


def _mail(subject: str, body: str, to: str) -> None:
    transaction.on_commit(lambda: send_mail(subject, body, None, [to], fail_silently=False))


# ---------------------------------------------------------------------------------------------- services


@transaction.atomic
def citizen_register(
    *,
    actor: Actor,
    nik: str,
    kk_number: str,
    name_on_ktp: str,
    email: str,
    phone: str,
    password: str,
    consent: bool,
) -> CitizenAccount:
    """Create the user and the account (status TERDAFTAR), match it against the registry and send the e-mail
    code. The actor is the anonymous visitor; the audit record names the new user."""
    if actor.is_authenticated:
        raise Conflict("Keluar dahulu sebelum mendaftar akun baru.",
                       "Log out before registering a new account.", code="already_logged_in")
    if not consent:
        raise ValidationFailed(
            "Anda harus menyetujui syarat dan ketentuan serta pemberitahuan privasi.",
            "You must accept the terms and the privacy notice.", code="consent_required", field="consent",
        )
    clear_nik = _nik(nik)
    kk = _kk(kk_number)
    name = _name(name_on_ktp)
    mail = _email(email)
    mobile = phone_normalise(phone)
    user_model = get_user_model()
    user = user_model(username=f"warga-{secrets.token_hex(6)}", email=mail, is_active=True)
    _password(password, user)
    index = nik_hash(clear_nik)
    open_accounts = CitizenAccount.objects.exclude(status=CitizenStatus.REJECTED)
    if open_accounts.filter(nik_hash=index).exists():
        raise _nik_taken()
    if open_accounts.filter(email=mail).exists():
        raise _email_taken()
    match = citizen_match(nik=clear_nik, kk_number=kk, name_on_ktp=name)
    now = timezone.now()
    try:
        with transaction.atomic():
            user.set_password(password)
            user.save()
            account = CitizenAccount.objects.create(
                user=user, nik_hash=index, nik_enc=nik_encrypt(clear_nik), kk_number=kk, name_on_ktp=name,
                email=mail, phone=mobile, status=CitizenStatus.REGISTERED, status_changed_at=now,
                match_result=match.result, match_reason=match.reason, person=match.person,
                family=match.family, region_code=_review_region(match, kk), consent_at=now,
            )
    except IntegrityError:  # a concurrent registration with the same NIK or e-mail won the race
        raise Conflict(
            "NIK atau email ini sudah dipakai akun lain.",
            "This NIK or e-mail is already used by another account.", code="already_registered",
        ) from None
    _audit("citizen_register", actor=user, account=account, before=None)
    _issue_code(account, actor=user)
    return account


def _already_confirmed() -> Conflict:
    return Conflict("Email akun ini sudah dikonfirmasi.", "This account's e-mail is already confirmed.",
                    code="otp_not_needed")


def _nik_taken() -> Conflict:
    return Conflict(
        "NIK ini sudah terdaftar pada akun lain. Hubungi Dinas Sosial bila itu bukan Anda.",
        "This NIK is already registered to another account. Contact the Dinsos office if that was not you.",
        code="nik_already_registered", field="nik",
    )


def _email_taken() -> Conflict:
    return Conflict("Email ini sudah dipakai akun lain.", "This e-mail is already used by another account.",
                    code="email_already_registered", field="email")


def _issue_code(account: CitizenAccount, *, actor: Actor) -> None:
    now = timezone.now()
    if account.otp_sent_at is not None and now - account.otp_sent_at < OTP_RESEND_AFTER:
        wait = int((OTP_RESEND_AFTER - (now - account.otp_sent_at)).total_seconds()) + 1
        raise TooManyRequests(f"Tunggu {wait} detik sebelum meminta kode baru.",
                              f"Wait {wait} seconds before asking for a new code.",
                              code="otp_too_soon", retry_after=wait)
    if account.otp_window_started_at is None or now - account.otp_window_started_at >= OTP_WINDOW:
        account.otp_window_started_at = now
        account.otp_window_sends = 0
    if account.otp_window_sends >= OTP_MAX_SENDS:
        raise TooManyRequests(
            f"Sudah {OTP_MAX_SENDS} kode dikirim dalam 24 jam. Coba lagi besok.",
            f"{OTP_MAX_SENDS} codes were sent in 24 hours. Try again tomorrow.",
            code="otp_daily_limit",
        )
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    account.otp_hash = otp_digest(account.pk, code)
    account.otp_expires_at = now + OTP_TTL
    account.otp_attempts = 0
    account.otp_sent_at = now
    account.otp_window_sends += 1
    account.save(update_fields=["otp_hash", "otp_expires_at", "otp_attempts", "otp_sent_at",
                                "otp_window_started_at", "otp_window_sends", "updated_at"])
    sent = {"otp_expires_at": account.otp_expires_at, "otp_window_sends": account.otp_window_sends}
    audit_record(actor=actor, action="citizen_otp_send", object_type="citizenaccount", object_id=account.pk,
                 after=sent)
    minutes = int(OTP_TTL.total_seconds() // 60)
    _mail(
        "Kode verifikasi DTSEN / DTSEN verification code",
        f"Kode verifikasi Anda: {code}\nBerlaku {minutes} menit. "
        "Jangan berikan kode ini kepada siapa pun.\n\n"
        f"Your verification code: {code}\nValid for {minutes} minutes. Do not give this code to anyone.\n",
        account.email,
    )


@transaction.atomic
def citizen_otp_send(*, actor: Actor, account: CitizenAccount) -> CitizenAccount:
    """A new e-mail code for the actor's own account (at most one a minute and five a day)."""
    account = _locked_own(actor, account)
    if account.status != CitizenStatus.REGISTERED:
        raise _already_confirmed()
    _issue_code(account, actor=actor)
    return account


def citizen_otp_verify(*, actor: Actor, account: CitizenAccount, code: str) -> CitizenAccount:
    """Check the e-mail code: TERDAFTAR → OTP_TERVERIFIKASI. A wrong code counts as an attempt; that count is
    committed even though the call then fails (hence an explicit transaction block instead of the decorator);
    after OTP_MAX_ATTEMPTS the code is void."""
    failure: ApplicationError | None = None
    with transaction.atomic():
        account = _locked_own(actor, account)
        if account.status != CitizenStatus.REGISTERED:
            raise _already_confirmed()
        if not account.otp_hash:
            raise ValidationFailed("Tidak ada kode yang berlaku. Minta kode baru.",
                                   "There is no valid code. Ask for a new one.",
                                   code="otp_missing", field="code")
        if account.otp_expires_at is None or timezone.now() >= account.otp_expires_at:
            raise ValidationFailed("Kode sudah kedaluwarsa. Minta kode baru.",
                                   "The code has expired. Ask for a new one.",
                                   code="otp_expired", field="code")
        typed = "".join(code.split())
        if not hmac.compare_digest(account.otp_hash, otp_digest(account.pk, typed)):
            account.otp_attempts += 1
            left = OTP_MAX_ATTEMPTS - account.otp_attempts
            if left <= 0:
                account.otp_hash = ""
                failure = ValidationFailed(
                    "Kode salah terlalu sering. Kode ini tidak berlaku lagi; minta kode baru.",
                    "Too many wrong codes. This code is void; ask for a new one.",
                    code="otp_locked", field="code",
                )
            else:
                failure = ValidationFailed(f"Kode salah. Sisa percobaan: {left}.",
                                           f"Wrong code. Attempts left: {left}.",
                                           code="otp_wrong", field="code", attempts_left=left)
            account.save(update_fields=["otp_attempts", "otp_hash", "updated_at"])
            audit_record(actor=actor, action="citizen_otp_fail", object_type="citizenaccount",
                         object_id=account.pk, after={"otp_attempts": account.otp_attempts})
        else:
            before = account_snapshot(account)
            _set_status(account, CitizenStatus.OTP_VERIFIED)
            account.otp_hash = ""
            account.otp_expires_at = None
            account.otp_attempts = 0
            account.save(update_fields=["status", "status_changed_at", "otp_hash", "otp_expires_at",
                                        "otp_attempts", "updated_at"])
            _audit("citizen_otp_verify", actor=actor, account=account, before=before)
    if failure is not None:
        raise failure
    return account


@transaction.atomic
def citizen_photos_submit(
    *, actor: Actor, account: CitizenAccount, ktp_photo: Upload, selfie_photo: Upload
) -> CitizenAccount:
    """Store the KTP photo and the selfie with the KTP: OTP_TERVERIFIKASI → MENUNGGU_VERIFIKASI. The selfie is
    a verification photo: its GPS position and time are kept as evidence (see documents.services)."""
    account = _locked_own(actor, account)
    _assert_transition(account, CitizenStatus.AWAITING_REVIEW)
    before = account_snapshot(account)
    ktp = document_store(actor=actor, uploaded_file=ktp_photo, kind=DocumentKind.KTP, owner=actor,
                         keep_evidence_exif=DocumentKind.KTP in EVIDENCE_KINDS)
    selfie = document_store(actor=actor, uploaded_file=selfie_photo, kind=DocumentKind.SELFIE_KTP,
                            owner=actor, keep_evidence_exif=DocumentKind.SELFIE_KTP in EVIDENCE_KINDS)
    account.ktp_photo = ktp
    account.selfie_photo = selfie
    _set_status(account, CitizenStatus.AWAITING_REVIEW)
    account.save(update_fields=["ktp_photo", "selfie_photo", "status", "status_changed_at", "updated_at"])
    _audit("citizen_photos_submit", actor=actor, account=account, before=before)
    return account


@transaction.atomic
def citizen_approve(*, actor: Actor, account: CitizenAccount, reason: str = "") -> CitizenAccount:
    """A Dinsos verifier (permission `citizen.review` in a region covering the matched family's village)
    activates the account. Only a `padan` account can be approved, and only if it still matches today."""
    account = _locked_for_review(actor, account)
    _assert_transition(account, CitizenStatus.ACTIVE)
    if account.match_result != MatchResult.PADAN:
        raise Conflict(
            "Data akun ini tidak padan dengan registry; akun hanya dapat ditolak.",
            "This account does not match the registry; it can only be rejected.",
            code="citizen_not_matched", match_reason=account.match_reason,
        )
    again = citizen_match(nik=nik_decrypt(account.nik_enc), kk_number=account.kk_number,
                          name_on_ktp=account.name_on_ktp)
    if again.result != MatchResult.PADAN or again.person is None or again.person.pk != account.person_id:
        raise Conflict(
            "Data registry berubah sejak pendaftaran; akun ini tidak padan lagi. "
            "Tolak dengan alasan tersebut.",
            "The registry changed since registration; the account no longer matches. "
            "Reject it for that reason.",
            code="citizen_match_changed", match_reason=again.reason,
        )
    before = account_snapshot(account)
    _set_status(account, CitizenStatus.ACTIVE)
    account.reviewer = actor  # type: ignore[assignment]
    account.reviewed_at = timezone.now()
    account.review_reason = (reason or "").strip()[:REASON_MAX]
    account.save(update_fields=["status", "status_changed_at", "reviewer", "reviewed_at", "review_reason",
                                "updated_at"])
    _audit("citizen_approve", actor=actor, account=account, before=before, reason=account.review_reason)
    _mail(
        "Akun DTSEN Anda aktif / Your DTSEN account is active",
        "Akun Anda sudah diverifikasi Dinas Sosial dan aktif. Anda dapat melihat data keluarga Anda.\n\n"
        "Your account was verified by the Dinsos office and is active. You can now see your family's data.\n",
        account.email,
    )
    return account


@transaction.atomic
def citizen_reject(*, actor: Actor, account: CitizenAccount, reason: str) -> CitizenAccount:
    """A Dinsos verifier rejects the account with a reason (sent to the citizen); the NIK may register
    again."""
    text = _reason(reason)
    account = _locked_for_review(actor, account)
    _assert_transition(account, CitizenStatus.REJECTED)
    before = account_snapshot(account)
    _set_status(account, CitizenStatus.REJECTED)
    account.reviewer = actor  # type: ignore[assignment]
    account.reviewed_at = timezone.now()
    account.review_reason = text
    account.save(update_fields=["status", "status_changed_at", "reviewer", "reviewed_at", "review_reason",
                                "updated_at"])
    _audit("citizen_reject", actor=actor, account=account, before=before, reason=text)
    _mail(
        "Akun DTSEN Anda ditolak / Your DTSEN account was rejected",
        f"Akun Anda ditolak oleh Dinas Sosial. Alasan: {text}\nAnda dapat mendaftar ulang.\n\n"
        f"Your account was rejected by the Dinsos office. Reason: {text}\nYou may register again.\n",
        account.email,
    )
    return account
