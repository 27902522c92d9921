"""Fixtures of the update-workflow tests: Kulon Progo staff of every role in the workflows, the two families
of the citizen tests (family A in a desa of Temon with a geotagged dwelling, family B in Wates), an active
citizen (Siti, family A), photos with a chosen GPS position and time, and a PDF of signed minutes.

Photos: `gps_photo(lat, lon, taken)` writes the position and the time in EXIF like a phone camera does.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import ExifTags, Image

from dtsen.accounts.models import Role
from dtsen.accounts.services import role_assign, system_actor
from dtsen.registry import choices as c
from dtsen.registry.models import Dwelling, Family
from dtsen.registry.services import stamp
from tests.citizen.conftest import (  # noqa: F401 - fixtures re-exported for this package
    KK_A,
    KK_B,
    _citizen_settings,
    active,
    awaiting,
    family_a,
    family_b,
    member,
    nik_of,
    verifier,
)
from tests.registry.factories import VILLAGE_A, VILLAGE_B

# Family A's dwelling: a point in Temon, Kulon Progo (the desa of VILLAGE_A).
HOME = (Decimal("-7.892100"), Decimal("110.061500"))
FAR_AWAY = (Decimal("-6.200000"), Decimal("106.816666"))  # Jakarta
STAFF_PASSWORD = "kata-sandi-staf-2025"


def staff(username: str, role: str, region: str):
    user = get_user_model().objects.create_user(username, password=STAFF_PASSWORD, first_name=username)
    role_assign(user=user, role=role, region_code=region, reason="uji / test")
    return user


@pytest.fixture
def geotagged_a(family_a: Family) -> Family:  # noqa: F811 - the fixture of that name
    """Family A with a geotagged dwelling (the reference position of its visits)."""
    dwelling = Dwelling(dwelling_code="D3401012001T0001", village_code=VILLAGE_A, latitude=HOME[0],
                        longitude=HOME[1])
    stamp(dwelling, actor=system_actor(), channel=c.Channel.REGSOSEK, reason="Geotag Regsosek")
    dwelling.save()
    Family.objects.filter(pk=family_a.pk).update(dwelling=dwelling)
    family_a.refresh_from_db()
    return family_a


@pytest.fixture
def operator_a(db):
    return staff("operator.a", Role.OPERATOR_DESA, VILLAGE_A)


@pytest.fixture
def operator_b(db):
    return staff("operator.b", Role.OPERATOR_DESA, VILLAGE_B)


@pytest.fixture
def dinsos(db):
    """A Dinsos verifier of Kabupaten Kulon Progo (34.01)."""
    return staff("dinsos.kp", Role.DINSOS_VERIFIER, "34.01")


@pytest.fixture
def ratifier(db):
    return staff("kadis.kp", Role.RATIFIER, "34.01")


@pytest.fixture
def ratifier_bantul(db):
    return staff("kadis.bantul", Role.RATIFIER, "34.02")


@pytest.fixture
def worker(db):
    """A PKH facilitator of kecamatan Temon (34.01.01), covering VILLAGE_A."""
    return staff("pendamping.temon", Role.PENDAMPING_PKH, "34.01.01")


@pytest.fixture
def worker_wates(db):
    return staff("pendamping.wates", Role.PENDAMPING_PKH, "34.01.02")


@pytest.fixture
def system(db):
    return system_actor()


def _dms(value: Decimal) -> tuple[float, float, float]:
    v = abs(float(value))
    d = int(v)
    m = int((v - d) * 60)
    s = round((v - d - m / 60) * 3600, 2)
    return (float(d), float(m), s)


def gps_photo(lat: Decimal | None = HOME[0], lon: Decimal | None = HOME[1], taken: dt.datetime | None = None,
              size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG as a phone writes it: camera, time taken (default: now) and, unless lat is None, GPS."""
    img = Image.new("RGB", size, (180, 140, 90))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Model] = "Redmi 13C"
    when = timezone.localtime(taken or timezone.now())
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub[ExifTags.Base.OffsetTimeOriginal] = "+07:00"
    if lat is not None and lon is not None:
        g = exif.get_ifd(ExifTags.IFD.GPSInfo)
        g[ExifTags.GPS.GPSLatitudeRef] = "S" if lat < 0 else "N"
        g[ExifTags.GPS.GPSLatitude] = _dms(lat)
        g[ExifTags.GPS.GPSLongitudeRef] = "E" if lon > 0 else "W"
        g[ExifTags.GPS.GPSLongitude] = _dms(lon)
        g[ExifTags.GPS.GPSHPositioningError] = 6.0
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def jpeg(name: str = "rumah.jpg", **kw) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, gps_photo(**kw), content_type="image/jpeg")


def minutes_pdf(name: str = "berita-acara.pdf") -> SimpleUploadedFile:
    body = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    return SimpleUploadedFile(name, body + b"trailer<</Root 1 0 R>>\n%%EOF\n", content_type="application/pdf")


CONDITION = {
    "tenure": c.HousingTenure.OWNED, "floor_area_m2": "36", "floor_material": c.FloorMaterial.CEMENT,
    "wall_material": c.WallMaterial.WOVEN_BAMBOO, "roof_material": c.RoofMaterial.CLAY_TILE, "toilet": c.Toilet.SHARED,
    "drinking_water": c.DrinkingWater.PROTECTED_WELL, "lighting": c.Lighting.PLN_METER, "power_va": 450,
    "cooking_fuel": c.CookingFuel.FIREWOOD, "assets": ["motorcycle"],
}

NEW_FAMILY = {
    "kk_number": "3401012001260077", "rw": "4", "rt": "12", "address": "Dusun Kaligintung",
    "members": [
        {"nik": "3401011203900005", "name": "SUPARMAN", "sex": "L", "birth_date": "1990-03-12",
         "relationship": c.Relationship.HEAD, "marital_status": c.MaritalStatus.MARRIED},
        {"nik": "3401015507920003", "name": "PARTINI", "sex": "P", "birth_date": "1992-07-15",
         "relationship": c.Relationship.SPOUSE, "marital_status": c.MaritalStatus.MARRIED},
    ],
}

__all__ = ["KK_A", "KK_B", "VILLAGE_A", "VILLAGE_B", "member", "nik_of"]
