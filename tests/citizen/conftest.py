"""Fixtures of the citizen-account tests: two families registered through the registry services in Kulon
Progo (34.01), Dinsos verifiers of Kulon Progo and of Bantul (34.02), photos built with Pillow (with EXIF and
GPS when asked), and a citizen account brought to any status through the services.

Every test runs with the citizen and document URLs mounted (tests/citizen/urls.py), a private document root
in a temporary directory, and a fast password hasher.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin

from dtsen.accounts import citizen_services as svc
from dtsen.accounts.models import CitizenAccount
from dtsen.accounts.services import role_assign, system_actor
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Family, Person
from dtsen.registry.services import exclusion_flag_add, family_change_kk, family_register
from tests.registry.factories import VILLAGE_A, VILLAGE_B, condition, person

PASSWORD = "kata-sandi-warga-2025"
STAFF_PASSWORD = "kata-sandi-staf-2025"
KK_A_OLD = "3401012001150001"
KK_A = "3401012001250001"
KK_B = "3401022001250002"
GPS_LAT = (7.0, 51.0, 30.5)  # 7°51'30.5" S: Wates, Kulon Progo
GPS_LON = (110.0, 9.0, 12.25)  # 110°09'12.25" E


@pytest.fixture(autouse=True)
def _citizen_settings(settings, tmp_path):
    settings.ROOT_URLCONF = "tests.citizen.urls"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def family_a(db) -> Family:
    """Budi Santoso's family in a desa of Temon (Kulon Progo); its KK number changed once; the wife is the
    citizen of most tests."""
    head = person("34.01.01", dt.date(1980, 5, 12), "L", 11, "Budi Santoso", c.Relationship.HEAD,
                  marital_status=c.MaritalStatus.MARRIED)
    wife = person("34.01.01", dt.date(1984, 2, 29), "P", 11, "Siti Nurhaliza", c.Relationship.SPOUSE,
                  marital_status=c.MaritalStatus.MARRIED)
    child = person("34.01.01", dt.date(2012, 7, 1), "P", 12, "Dewi Lestari", c.Relationship.CHILD,
                   school_level=c.SchoolLevel.SMP)
    actor = system_actor()
    family = family_register(
        actor=actor, channel=c.Channel.REGSOSEK, reason="Pendataan awal Regsosek 2022", kk_number=KK_A_OLD,
        village_code=VILLAGE_A, head=head, members=[wife, child], rw="03", rt="011", address="Dusun Sidorejo",
        condition=condition(), registered_on=dt.date(2015, 3, 12),
    )
    family_change_kk(actor=actor, family=family, kk_number=KK_A, valid_from=dt.date(2025, 1, 20),
                     channel=c.Channel.MUSDES, reason="KK baru setelah pecah KK")
    child_row = Person.objects.get(family=family, relationship=c.Relationship.CHILD)
    exclusion_flag_add(actor=actor, person=child_row, category=c.ExclusionCategory.VILLAGE_OFFICIAL,
                       source=c.ExclusionSource.FIELD, observed_on=dt.date(2025, 2, 1),
                       channel=c.Channel.GROUND_CHECK, reason="Temuan verifikasi lapangan")
    family.refresh_from_db()
    return family


@pytest.fixture
def family_b(db) -> Family:
    head = person("34.01.02", dt.date(1975, 1, 3), "L", 21, "Joko Susilo", c.Relationship.HEAD)
    return family_register(
        actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Pendataan awal Regsosek 2022",
        kk_number=KK_B, village_code=VILLAGE_B, head=head, members=[], condition=condition(),
    )


def member(family: Family, relationship: str) -> Person:
    return Person.objects.get(family=family, relationship=relationship)


def nik_of(p: Person) -> str:
    return nik_decrypt(p.nik_enc)


def staff(username: str, role: str, region: str):
    user = get_user_model().objects.create_user(username, password=STAFF_PASSWORD)
    role_assign(user=user, role=role, region_code=region)
    return user


@pytest.fixture
def verifier(db):
    """A Dinsos verifier of Kabupaten Kulon Progo (34.01)."""
    return staff("verifikator.kp", "dinsos_verifier", "34.01")


@pytest.fixture
def verifier_bantul(db):
    """A Dinsos verifier of another kabupaten: Bantul (34.02)."""
    return staff("verifikator.bantul", "dinsos_verifier", "34.02")


@pytest.fixture
def operator_a(db):
    """A village operator of family A's desa: sees the registry there, may not review citizen accounts."""
    return staff("operator.a", "operator_desa", VILLAGE_A)


# ---------------------------------------------------------------------------------------------- photos


def photo_bytes(fmt: str = "JPEG", *, size: tuple[int, int] = (640, 400), gps: bool = False,
                make: str = "Samsung", text_chunk: bool = False) -> bytes:
    """A photo with a gradient; JPEG/WebP carry an EXIF block (camera make, orientation, time and, if asked,
    GPS); a PNG may carry a text chunk and an ICC profile."""
    img = Image.new("RGB", size)
    img.putdata([(x % 256, y % 256, (x + y) % 256) for y in range(size[1]) for x in range(size[0])])
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = "Galaxy A15"
    exif[ExifTags.Base.Orientation] = 1
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2025:03:01 09:15:30"
    sub[ExifTags.Base.OffsetTimeOriginal] = "+07:00"
    if gps:
        g = exif.get_ifd(ExifTags.IFD.GPSInfo)
        g[ExifTags.GPS.GPSLatitudeRef] = "S"
        g[ExifTags.GPS.GPSLatitude] = GPS_LAT
        g[ExifTags.GPS.GPSLongitudeRef] = "E"
        g[ExifTags.GPS.GPSLongitude] = GPS_LON
        g[ExifTags.GPS.GPSHPositioningError] = 4.5
        g[ExifTags.GPS.GPSDateStamp] = "2025:03:01"
        g[ExifTags.GPS.GPSTimeStamp] = (2.0, 15.0, 30.0)
    out = io.BytesIO()
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if text_chunk:
            info.add_text("Comment", "NIK 3401014105800012 di rumah")
        img.save(out, "PNG", pnginfo=info, icc_profile=b"\0" * 128 if text_chunk else None, exif=exif)
    else:
        img.save(out, fmt, exif=exif)
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


# ---------------------------------------------------------------------------------------------- accounts


def last_code() -> str:
    match = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert match is not None, mail.outbox[-1].body
    return match.group(1)


@dataclass
class Registration:
    account: CitizenAccount
    nik: str
    user: object


def register(p: Person, *, kk: str = KK_A, name: str | None = None, email: str = "siti@example.id",
             nik: str | None = None) -> Registration:
    clear = nik or nik_of(p)
    account = svc.citizen_register(
        actor=AnonymousUser(), nik=clear, kk_number=kk, name_on_ktp=name if name is not None else p.name,
        email=email, phone="0812-3456-7890", password=PASSWORD, consent=True,
    )
    return Registration(account=account, nik=clear, user=account.user)


def send_photos(reg: Registration, capture) -> CitizenAccount:
    """The KTP photo and a selfie with GPS and time in its EXIF."""
    with capture(execute=True):
        return svc.citizen_photos_submit(
            actor=reg.user, account=reg.account, ktp_photo=upload("ktp.jpg", photo_bytes()),
            selfie_photo=upload("selfie.jpg", photo_bytes(gps=True)),
        )


def to_review(reg: Registration, capture) -> CitizenAccount:
    """Confirm the e-mail code and send the two photos: the account waits for a verifier."""
    svc.citizen_otp_verify(actor=reg.user, account=reg.account, code=last_code())
    return send_photos(reg, capture)


@pytest.fixture
def awaiting(family_a, django_capture_on_commit_callbacks) -> Registration:
    """Siti Nurhaliza registered (padan), confirmed her e-mail and sent her photos."""
    wife = member(family_a, c.Relationship.SPOUSE)
    with django_capture_on_commit_callbacks(execute=True):
        reg = register(wife)
    reg.account = to_review(reg, django_capture_on_commit_callbacks)
    return reg


@pytest.fixture
def active(awaiting, verifier, django_capture_on_commit_callbacks) -> Registration:
    with django_capture_on_commit_callbacks(execute=True):
        awaiting.account = svc.citizen_approve(actor=verifier, account=awaiting.account)
    return awaiting
