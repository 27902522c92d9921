"""Demo content for `dtsen demo`: a few usulan of one village in every stage of the formal channel, so each
demo role (village operator, Dinsos, social worker, ratifier) finds something waiting in its queue.

Everything goes through the services with the demo users as actors (audited like real work); the meeting
minutes are a one-page PDF and the visit photo a JPEG with the dwelling's GPS position, both generated here.
Idempotent: nothing is added when the region already has usulan."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import ExifTags, Image

from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_hash
from dtsen.registry.models import Family, Person
from dtsen.registry.nik import nik_build
from dtsen.updates import services as svc
from dtsen.updates.models import MusdesKind, Usulan, UsulanKind
from dtsen.updates.visits import visit_submit


def demo_village(region: str) -> str | None:
    """The village of the region's first registered family (where the demo operator works)."""
    family = Family.objects.filter(village_code__startswith=region + ".", status="aktif").order_by("pk").first()
    return family.village_code if family else None


def _minutes() -> SimpleUploadedFile:
    body = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")
    return SimpleUploadedFile("berita-acara-musdes.pdf", body, content_type="application/pdf")


def _dms(value: float) -> tuple[float, float, float]:
    v = abs(value)
    d, m = int(v), int((abs(value) - int(v)) * 60)
    return float(d), float(m), round((v - d - m / 60) * 3600, 2)


def _photo(lat: float, lon: float) -> SimpleUploadedFile:
    img = Image.new("RGB", (480, 360), (176, 142, 96))
    exif = Image.Exif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = timezone.localtime().strftime("%Y:%m:%d %H:%M:%S")
    sub[ExifTags.Base.OffsetTimeOriginal] = "+07:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = ("S" if lat < 0 else "N"), _dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = ("E" if lon > 0 else "W"), _dms(lon)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return SimpleUploadedFile("depan-rumah.jpg", out.getvalue(), content_type="image/jpeg")


def _free_nik(kecamatan: str, born: dt.date, sex: str) -> str:
    for serial in range(9999, 9000, -1):
        nik = nik_build(kecamatan_code=kecamatan, birth_date=born, sex=sex, serial=serial)
        if not Person.objects.filter(nik_hash=nik_hash(nik)).exists():
            return nik
    raise RuntimeError("no free NIK serial for the demo")


CONDITION = {"tenure": c.HousingTenure.OWNED, "floor_area_m2": "30", "floor_material": c.FloorMaterial.CEMENT,
             "wall_material": c.WallMaterial.WOVEN_BAMBOO, "roof_material": c.RoofMaterial.CLAY_TILE,
             "toilet": c.Toilet.SHARED, "drinking_water": c.DrinkingWater.PROTECTED_WELL,
             "lighting": c.Lighting.PLN_METER, "power_va": 450, "cooking_fuel": c.CookingFuel.FIREWOOD, "assets": []}


def demo_seed(*, region: str, village: str, operator: Any, dinsos: Any, worker: Any) -> int:
    """Create the demo usulan; returns how many (0 when the region already has some)."""
    if Usulan.objects.filter(village_code__startswith=region + ".").exists():
        return 0
    families = list(Family.objects.filter(village_code=village, status="aktif").select_related("dwelling")
                    .order_by("pk")[:4])
    if len(families) < 4:
        return 0
    today = timezone.localdate()
    kecamatan = village.rsplit(".", 1)[0]
    head_born, wife_born = dt.date(1991, 6, 14), dt.date(1994, 2, 3)
    svc.usulan_create(actor=operator, kind=UsulanKind.NEW_FAMILY, village_code=village, payload={
        "kk_number": village.replace(".", "")[:10] + "260001", "rw": "2", "rt": "4", "address": "Dusun (demo)",
        "members": [
            {"nik": _free_nik(kecamatan, head_born, "L"), "name": "SUGENG RIYADI", "sex": "L",
             "birth_date": head_born.isoformat(), "relationship": c.Relationship.HEAD,
             "marital_status": c.MaritalStatus.MARRIED, "occupation": "Buruh tani"},
            {"nik": _free_nik(kecamatan, wife_born, "P"), "name": "WARSIYEM", "sex": "P",
             "birth_date": wife_born.isoformat(), "relationship": c.Relationship.SPOUSE,
             "marital_status": c.MaritalStatus.MARRIED},
        ]})
    program = svc.usulan_create(actor=operator, kind=UsulanKind.PROGRAM, village_code=village, family=families[0],
                                payload={"program": "pkh", "note": "Ibu hamil, anak usia sekolah"})
    svc.usulan_to_musdes(actor=operator, usulan=program)
    well_off = svc.usulan_create(actor=operator, kind=UsulanKind.DEACTIVATION, village_code=village,
                                 family=families[1], payload={"reason": "mampu", "note": "Rumah baru, mobil"})
    correction = svc.usulan_create(actor=operator, kind=UsulanKind.CORRECTION, village_code=village,
                                   family=families[2], payload={"condition_from_visit": True,
                                                                "note": "Rumah rusak setelah banjir"})
    verified = svc.usulan_create(actor=operator, kind=UsulanKind.PROGRAM, village_code=village, family=families[3],
                                 payload={"program": "sembako"})
    meeting = [well_off, correction, verified]
    for item in meeting:
        svc.usulan_to_musdes(actor=operator, usulan=item)
    svc.musdes_record(actor=operator, village_code=village, kind=MusdesKind.MUSDES, held_on=today,
                      signed_by="Kepala Desa (demo)", minutes=_minutes(),
                      decisions={u.pk: (True, "Disepakati musdes") for u in meeting})
    for item in meeting:
        svc.usulan_send_to_dinsos(actor=operator, usulan=item)
    svc.usulan_return(actor=dinsos, usulan=correction, reason="Lampirkan foto kondisi rumah dan surat keterangan RT")
    svc.usulan_order_visit(actor=dinsos, usulan=well_off, worker=worker, due_on=today + dt.timedelta(days=7),
                           instructions="Periksa kepemilikan mobil dan kondisi rumah")
    visit = svc.usulan_order_visit(actor=dinsos, usulan=verified, worker=worker, due_on=today)
    dwelling = families[3].dwelling
    lat, lon = (-7.86, 110.16)  # Wates, when the dwelling has no geotag
    if dwelling is not None and dwelling.latitude is not None and dwelling.longitude is not None:
        lat, lon = float(dwelling.latitude), float(dwelling.longitude)
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=today,
                 interview={"income_monthly": "900000", "occupation": "Buruh harian", "aid_received": []},
                 condition=CONDITION, photos=[("house_front", _photo(lat, lon))])
    svc.usulan_verify(actor=dinsos, usulan=verified)
    return 5
