"""Storing an uploaded photo or document: checked by content, cleaned, written to the private root, audited.

What `document_store` does, in order:
1. size: at most `MAX_BYTES` (8 MB), read in chunks so a lying client cannot make us read more;
2. type: detected from the bytes (`filetype` magic numbers, then Pillow must agree); the file name and the
   client's Content-Type are ignored. Photos may be JPEG, PNG or WebP; a KK scan, letter or other document may
   also be a PDF, accepted only when it starts with ``%PDF-`` (PDFs are stored as uploaded and always served
   as a download, never inline);
3. images: decompression bombs are refused before any pixel is decoded (width × height from the header above
   `Image.MAX_IMAGE_PIXELS` or `MAX_PIXELS`, whichever is lower), then `Image.verify()`, then a full decode;
4. evidence: for a verification photo (`keep_evidence_exif=True`) the GPS position, its accuracy and the time
   the photo was taken are read from the EXIF block *before* it is stripped and kept as fields of the row
   (`gps_lat`, `gps_lon`, `gps_accuracy_m`, `taken_at`, raw values in `evidence`);
5. stripping: the orientation is applied to the pixels, the image is downscaled to `MAX_SIDE` and re-encoded
   from pixels only, so no EXIF, XMP, ICC profile, comment or text chunk survives (also not the GPS position:
   it is kept in the database only);
6. the bytes go to ``PRIVATE_ROOT/documents/YYYY/MM/<uuid>.<ext>`` (directory 0700, file 0600, written to a
   temporary name and renamed), then the row and its audit record are written in one transaction. A rolled
   back transaction can leave an orphan file behind, never a row without its file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import filetype
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from dtsen.accounts.permissions import REGISTRY_CHANGE
from dtsen.accounts.selectors import Actor, scope_for
from dtsen.audit.services import audit_record
from dtsen.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from dtsen.documents.models import Document, DocumentKind

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; phones save 12-16 MP by default
MAX_SIDE = 3000  # stored images are downscaled to this long side: still legible for a KTP
JPEG_QUALITY = 90

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
PDF = "application/pdf"
PDF_KINDS = frozenset(
    {DocumentKind.KK, DocumentKind.LETTER, DocumentKind.OTHER, DocumentKind.BERITA_ACARA, DocumentKind.SPTJM}
)

_GPS = ExifTags.GPS
_TAG = ExifTags.Base
GPS_EVIDENCE_TAGS = (
    _GPS.GPSLatitudeRef, _GPS.GPSLatitude, _GPS.GPSLongitudeRef, _GPS.GPSLongitude, _GPS.GPSHPositioningError,
    _GPS.GPSDateStamp, _GPS.GPSTimeStamp,
)


class FileTooLarge(ApplicationError):
    code = "file_too_large"
    status = 413


class UnsupportedFile(ApplicationError):
    code = "file_type_unsupported"
    status = 415


class Upload(Protocol):
    """What Django's UploadedFile offers and we use."""

    def chunks(self, chunk_size: int | None = None) -> Iterable[bytes]: ...


def private_root() -> Path:
    return Path(getattr(settings, "PRIVATE_ROOT", Path(settings.DATA_DIR) / "private"))


# ----------------------------------------------------------------------------------------- reading


def _read_limited(upload: Upload) -> bytes:
    buf = bytearray()
    for chunk in upload.chunks():
        buf.extend(chunk)
        if len(buf) > MAX_BYTES:
            raise FileTooLarge(
                f"Berkas terlalu besar (maksimal {MAX_BYTES // (1024 * 1024)} MB).",
                f"The file is too large (at most {MAX_BYTES // (1024 * 1024)} MB).",
                field="file", max_bytes=MAX_BYTES,
            )
    if not buf:
        raise ValidationFailed("Berkas kosong.", "The file is empty.", code="file_empty", field="file")
    return bytes(buf)


def _unsupported(kind: str) -> UnsupportedFile:
    if kind in PDF_KINDS:
        return UnsupportedFile(
            "Jenis berkas tidak didukung: kirim foto JPEG, PNG atau WebP, atau dokumen PDF.",
            "Unsupported file type: send a JPEG, PNG or WebP photo, or a PDF document.",
            field="file",
        )
    return UnsupportedFile(
        "Jenis berkas tidak didukung: kirim foto JPEG, PNG atau WebP.",
        "Unsupported file type: send a JPEG, PNG or WebP photo.",
        field="file",
    )


def detect_type(data: bytes, kind: str) -> str:
    """The content type from the bytes themselves; refuses anything not accepted for `kind`."""
    guess = filetype.guess(data[:8192])
    mime = guess.mime if guess is not None else ""
    if mime in IMAGE_FORMATS:
        return mime
    if mime == PDF and kind in PDF_KINDS and data.startswith(b"%PDF-"):
        return PDF
    raise _unsupported(kind)


def _corrupt() -> ValidationFailed:
    return ValidationFailed(
        "Foto rusak atau tidak dapat dibaca.", "The photo is damaged or cannot be read.",
        code="file_corrupt", field="file",
    )


def _pixel_limit() -> int:
    pillow = Image.MAX_IMAGE_PIXELS
    return min(MAX_PIXELS, pillow) if pillow else MAX_PIXELS


def _open_image(data: bytes, mime: str) -> Image.Image:
    """Open without decoding pixels; refuse bombs and a format that disagrees with the detected type.
    Pillow itself raises at twice `Image.MAX_IMAGE_PIXELS`; the header check below refuses anything above the
    limit before a single pixel is decoded (no process-wide warning filter: it is not thread-safe)."""
    try:
        img = Image.open(io.BytesIO(data), formats=[IMAGE_FORMATS[mime]])
    except Image.DecompressionBombError:
        raise _bomb() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _corrupt() from None
    if img.width * img.height > _pixel_limit():
        raise _bomb()
    return img


def _bomb() -> ValidationFailed:
    limit = _pixel_limit() // 1_000_000
    return ValidationFailed(
        f"Ukuran gambar terlalu besar (lebih dari {limit} megapiksel).",
        f"The image has too many pixels (more than {limit} megapixels).",
        code="image_too_many_pixels", field="file",
    )


# ----------------------------------------------------------------------------------------- evidence


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _degrees(dms: Any, ref: Any, limit: float) -> Decimal | None:
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    parts = [_number(v) for v in dms]
    if any(p is None for p in parts):
        return None
    d, m, s = (p or 0.0 for p in parts)
    value = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if str(ref).strip().upper() in {"S", "W"}:
        value = -value
    if not -limit <= value <= limit:
        return None
    return Decimal(f"{value:.6f}")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 ")


def _gps_time(gps: dict[int, Any]) -> dt.datetime | None:
    date_s = _text(gps.get(_GPS.GPSDateStamp, ""))
    hms = gps.get(_GPS.GPSTimeStamp)
    if not date_s or not isinstance(hms, tuple) or len(hms) != 3:
        return None
    parts = [_number(v) for v in hms]
    if any(p is None for p in parts):
        return None
    h, m, s = (p or 0.0 for p in parts)
    try:
        day = dt.datetime.strptime(date_s, "%Y:%m:%d").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return day + dt.timedelta(hours=h, minutes=m, seconds=s)


def _original_time(original: str, offset: str) -> dt.datetime | None:
    try:
        naive = dt.datetime.strptime(original, "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - zone added below
    except ValueError:
        return None
    if offset:
        try:
            return dt.datetime.strptime(f"{original} {offset}", "%Y:%m:%d %H:%M:%S %z")
        except ValueError:
            pass
    return naive.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def read_evidence(img: Image.Image) -> dict[str, Any]:
    """GPS position, accuracy and time taken from a photo's EXIF block (read before the block is stripped).

    The time: the GPS time stamp (UTC, from the satellites) when present, else DateTimeOriginal with its
    OffsetTimeOriginal, else DateTimeOriginal read as local time (settings.TIME_ZONE). The raw values are
    returned too, so a verifier can see what the phone wrote."""
    exif = img.getexif()
    gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    sub = dict(exif.get_ifd(ExifTags.IFD.Exif))
    raw: dict[str, str] = {}
    for tag in GPS_EVIDENCE_TAGS:
        if tag in gps:
            value = gps[tag]
            shown = ",".join(str(_number(v)) for v in value) if isinstance(value, tuple) else _text(value)
            raw[_GPS(tag).name] = shown
    original = _text(sub.get(_TAG.DateTimeOriginal, ""))
    offset = _text(sub.get(_TAG.OffsetTimeOriginal, ""))
    if original:
        raw["DateTimeOriginal"] = original
    if offset:
        raw["OffsetTimeOriginal"] = offset
    lat = _degrees(gps.get(_GPS.GPSLatitude), gps.get(_GPS.GPSLatitudeRef), 90)
    lon = _degrees(gps.get(_GPS.GPSLongitude), gps.get(_GPS.GPSLongitudeRef), 180)
    if lat is None or lon is None:
        lat = lon = None
    accuracy = _number(gps.get(_GPS.GPSHPositioningError))
    taken = _gps_time(gps) or (_original_time(original, offset) if original else None)
    return {
        "gps_lat": lat,
        "gps_lon": lon,
        "gps_accuracy_m": (
            Decimal(f"{accuracy:.1f}") if accuracy is not None and 0 <= accuracy < 1e7 else None
        ),
        "taken_at": taken,
        "evidence": raw,
    }


# ----------------------------------------------------------------------------------------- cleaning


def clean_image(data: bytes, mime: str, *, keep_evidence: bool) -> tuple[bytes, int, int, dict[str, Any]]:
    """Verify, decode, read the evidence if asked, and re-encode from pixels only (no metadata at all)."""
    _open_image(data, mime).verify()
    img = _open_image(data, mime)
    found = read_evidence(img) if keep_evidence else {}
    try:
        img.load()
        img = ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError):
        raise _corrupt() from None
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    fmt = IMAGE_FORMATS[mime]
    options: dict[str, Any] = {}
    if fmt == "JPEG":
        if img.mode not in {"RGB", "L"}:
            img = img.convert("RGB")
        options = {"quality": JPEG_QUALITY, "optimize": True}
    elif fmt == "WEBP":
        if img.mode not in {"RGB", "RGBA"}:
            img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
        options = {"quality": JPEG_QUALITY}
    else:
        options = {"optimize": True}
    img.info = {}  # Pillow copies ICC profiles, text chunks and EXIF from here when saving
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue(), img.width, img.height, found


def _write_private(data: bytes, relative: str) -> None:
    root = private_root()
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def document_audit_view(document: Document) -> dict[str, Any]:
    """What the audit trail records about a document (never its bytes or its path)."""
    return {
        "kind": document.kind, "content_type": document.content_type, "size": document.size,
        "sha256": document.sha256, "source_sha256": document.source_sha256, "owner_id": document.owner_id,
        "family_id": document.family_id, "gps_lat": document.gps_lat, "gps_lon": document.gps_lon,
        "gps_accuracy_m": document.gps_accuracy_m, "taken_at": document.taken_at,
    }


# ----------------------------------------------------------------------------------------- service


@transaction.atomic
def document_store(
    *,
    actor: Actor,
    uploaded_file: Upload,
    kind: str,
    keep_evidence_exif: bool,
    owner: Any = None,
    family: Any = None,
    reason: str = "",
) -> Document:
    """Check, clean and store one upload (see the module docstring). `owner`: the citizen the document belongs
    to (only the actor themself); `family`: the family it is evidence for (the actor must be allowed to change
    that family's data)."""
    if not actor.is_authenticated:
        raise PermissionDenied("Masuk terlebih dahulu.", "Log in first.")
    if kind not in DocumentKind.values:
        raise ValidationFailed(f"Jenis dokumen '{kind}' tidak dikenal.", f"Unknown document kind '{kind}'.",
                               field="kind")
    if owner is not None and owner.pk != actor.pk:
        raise PermissionDenied("Dokumen hanya dapat diunggah oleh pemiliknya.",
                               "Only its owner can upload a document for themself.")
    if family is not None and not scope_for(actor, REGISTRY_CHANGE).covers(family.village_code):
        raise PermissionDenied("Wilayah ini di luar kewenangan Anda.", "This region is outside your scope.")
    data = _read_limited(uploaded_file)
    mime = detect_type(data, kind)
    found: dict[str, Any] = {}
    width = height = None
    stored = data
    if mime in IMAGE_FORMATS:
        stored, width, height, found = clean_image(data, mime, keep_evidence=keep_evidence_exif)
    doc_id = uuid.uuid4()
    document = Document(
        id=doc_id, kind=kind, content_type=mime, size=len(stored), sha256=hashlib.sha256(stored).hexdigest(),
        source_sha256=hashlib.sha256(data).hexdigest(), width=width, height=height,
        owner=owner, family=family, uploaded_by_id=actor.pk, **found,
    )
    document.storage_path = f"documents/{timezone.now():%Y/%m}/{doc_id}.{document.extension}"
    _write_private(stored, document.storage_path)
    document.save(force_insert=True)
    audit_record(actor=actor, action="document_store", object_type="document", object_id=document.pk,
                 after=document_audit_view(document), reason=reason)
    return document
