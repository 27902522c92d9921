"""Documents: type by content, size and pixel limits, metadata stripped (GPS and time kept as evidence for a
verification photo), private storage, and access only through the checked, audited selector and view."""

from __future__ import annotations

import datetime as dt
import io
import stat
import struct
import zlib
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from PIL import Image

from dtsen.audit.models import AuditRecord
from dtsen.core.errors import NotFound, PermissionDenied, ValidationFailed
from dtsen.documents import services as docs
from dtsen.documents.models import Document
from dtsen.documents.selectors import document_open

from .conftest import member, photo_bytes, register, staff, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen(family_a):
    return register(member(family_a, "pasangan")).user


def store(actor, data: bytes, *, name="foto.jpg", kind="selfie_ktp", evidence=False, **kw) -> Document:
    return docs.document_store(actor=actor, uploaded_file=upload(name, data), kind=kind,
                               keep_evidence_exif=evidence, **kw)


def stored_bytes(document: Document) -> bytes:
    return (settings.PRIVATE_ROOT / document.storage_path).read_bytes()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width × height 1-bit pixels in a few dozen bytes: a decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(
        b"IEND", b"")


# ----------------------------------------------------------------------------------------- refused uploads


def test_a_text_file_renamed_jpg_is_refused(citizen):
    with pytest.raises(docs.UnsupportedFile) as exc:
        store(citizen, b"Ini bukan foto, hanya teks biasa.\n" * 20, name="ktp.jpg")
    assert exc.value.status == 415
    assert exc.value.code == "file_type_unsupported"
    assert not Document.objects.exists()


def test_an_oversized_file_is_refused_before_decoding(citizen):
    data = photo_bytes() + b"\0" * (docs.MAX_BYTES + 1)
    with pytest.raises(docs.FileTooLarge) as exc:
        store(citizen, data)
    assert exc.value.status == 413
    assert exc.value.extra["max_bytes"] == 8 * 1024 * 1024


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 8_000)])
def test_a_png_bomb_is_refused(citizen, width, height):
    # 10^10 pixels trips Pillow's own limit; 64 million pixels (a few dozen bytes on disk) trips ours
    with pytest.raises(ValidationFailed) as exc:
        store(citizen, png_header(width, height), name="foto.png")
    assert exc.value.code == "image_too_many_pixels"


def test_a_truncated_jpeg_is_refused(citizen):
    with pytest.raises(ValidationFailed) as exc:
        store(citizen, photo_bytes()[:600])
    assert exc.value.code == "file_corrupt"


def test_an_empty_file_is_refused(citizen):
    with pytest.raises(ValidationFailed) as exc:
        store(citizen, b"")
    assert exc.value.code == "file_empty"


def test_a_pdf_is_accepted_only_as_a_document_and_only_with_a_pdf_header(citizen):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    letter = store(citizen, pdf, name="surat.pdf", kind="letter")
    assert letter.content_type == "application/pdf"
    assert stored_bytes(letter) == pdf
    with pytest.raises(docs.UnsupportedFile):
        store(citizen, pdf, name="ktp.jpg", kind="ktp")  # a KTP must be a photo
    with pytest.raises(docs.UnsupportedFile):
        store(citizen, b"   " + pdf, name="surat.pdf", kind="letter")


def test_an_anonymous_upload_is_refused(db):
    with pytest.raises(PermissionDenied):
        store(AnonymousUser(), photo_bytes())


# ----------------------------------------------------------------------------------------- metadata


def test_exif_is_stripped_from_a_photo(citizen):
    original = photo_bytes(gps=True)
    assert Image.open(io.BytesIO(original)).getexif()  # the upload carries EXIF with GPS
    document = store(citizen, original, kind="ktp", evidence=False)
    kept = Image.open(io.BytesIO(stored_bytes(document)))
    assert kept.format == "JPEG"
    assert dict(kept.getexif()) == {}
    assert "exif" not in kept.info
    assert "icc_profile" not in kept.info
    assert b"Samsung" not in stored_bytes(document)
    assert document.gps_lat is None
    assert document.taken_at is None
    assert document.source_sha256 != document.sha256
    assert document.size == len(stored_bytes(document))


def test_a_verification_photo_keeps_gps_and_time_as_fields(citizen):
    document = store(citizen, photo_bytes(gps=True), kind="selfie_ktp", evidence=True)
    assert document.gps_lat == Decimal("-7.858472")  # 7°51'30.5" S
    assert document.gps_lon == Decimal("110.153403")  # 110°09'12.25" E
    assert document.gps_accuracy_m == Decimal("4.5")
    assert document.taken_at == dt.datetime(2025, 3, 1, 2, 15, 30, tzinfo=dt.UTC)  # the GPS time (UTC)
    assert document.evidence["DateTimeOriginal"] == "2025:03:01 09:15:30"
    assert dict(Image.open(io.BytesIO(stored_bytes(document))).getexif()) == {}  # the file itself is clean


def test_without_gps_the_time_comes_from_date_time_original(citizen):
    document = store(citizen, photo_bytes(gps=False), kind="house_front", evidence=True)
    assert document.gps_lat is None
    assert document.taken_at == dt.datetime(2025, 3, 1, 9, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_cleaned_too(citizen, fmt):
    data = photo_bytes(fmt, text_chunk=True, gps=True)
    document = store(citizen, data, name=f"foto.{fmt.lower()}", kind="house_inside", evidence=False)
    kept = Image.open(io.BytesIO(stored_bytes(document)))
    assert kept.format == fmt
    assert document.content_type == f"image/{fmt.lower()}"
    assert dict(kept.getexif()) == {}
    assert not ({"icc_profile", "exif", "Comment", "xmp"} & set(kept.info))
    assert b"3401014105800012" not in stored_bytes(document)


def test_a_large_photo_is_downscaled(citizen):
    document = store(citizen, photo_bytes(size=(3600, 1200)))
    assert (document.width, document.height) == (3000, 1000)


# ----------------------------------------------------------------------------------------- storage


def test_files_live_in_the_private_root_only_readable_by_the_owner(citizen):
    document = store(citizen, photo_bytes())
    path = settings.PRIVATE_ROOT / document.storage_path
    assert path.is_file()
    assert document.storage_path.startswith("documents/")
    assert str(settings.MEDIA_ROOT) not in str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    record = AuditRecord.objects.get(action="document_store", object_id=str(document.pk))
    assert record.after["sha256"] == document.sha256
    assert "storage_path" not in record.after


def test_a_family_document_needs_the_right_to_change_that_family(family_a, family_b, operator_a):
    house = store(operator_a, photo_bytes(gps=True), kind="house_front", evidence=True, family=family_a)
    assert house.family == family_a
    with pytest.raises(PermissionDenied):
        store(operator_a, photo_bytes(), kind="house_front", family=family_b)


# ----------------------------------------------------------------------------------------- access


def test_who_may_open_a_citizen_photo(awaiting, verifier, verifier_bantul, operator_a, family_b):
    selfie = awaiting.account.selfie_photo
    # the owner and the verifier of the account's region may open it; every read is audited
    for actor in (awaiting.user, verifier):
        opened = document_open(actor=actor, document_id=selfie.pk)
        assert opened.file.read() == stored_bytes(selfie)
        opened.file.close()
    assert AuditRecord.objects.filter(action="document.view", object_id=str(selfie.pk)).count() == 2
    # another kabupaten's verifier, the village operator (no citizen.review), another citizen, anonymous: 404
    other = register(member(family_b, "kepala"), email="joko@example.id").user
    for actor in (verifier_bantul, operator_a, other, AnonymousUser()):
        with pytest.raises(NotFound):
            document_open(actor=actor, document_id=selfie.pk)
    with pytest.raises(NotFound):
        document_open(actor=verifier, document_id="not-a-uuid")


def test_family_documents_are_open_to_staff_of_that_region(family_a, operator_a, verifier_bantul):
    house = store(operator_a, photo_bytes(), kind="house_front", family=family_a)
    kp_viewer = staff("pendamping.kp", "pendamping_pkh", "34.01")
    assert document_open(actor=kp_viewer, document_id=house.pk).document == house
    with pytest.raises(NotFound):
        document_open(actor=verifier_bantul, document_id=house.pk)
    with pytest.raises(NotFound):
        document_open(actor=get_user_model().objects.create_user("tamu"), document_id=house.pk)


def test_the_view_streams_with_safe_headers_and_404_for_others(client, awaiting, verifier_bantul):
    ktp = awaiting.account.ktp_photo
    url = reverse("documents:document", args=[ktp.pk])
    assert client.get(url).status_code == 404  # anonymous
    client.force_login(verifier_bantul)
    response = client.get(url)
    assert response.status_code == 404
    body = response.content.decode()
    assert "Dokumen tidak ditemukan" in body
    assert "Document not found" in body
    client.force_login(awaiting.user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="ktp-{ktp.pk}.jpg"'
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == stored_bytes(ktp)
    assert client.post(url).status_code == 405

