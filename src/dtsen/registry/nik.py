"""NIK (Nomor Induk Kependudukan) parsing and structural validation.

Layout ``PP KK CC DD MM YY SSSS`` (16 digits, no checksum):
- PPKKCC: province, kab/kota and kecamatan code where the NIK was first registered (any edition of the
  Kemendagri codes: the NIK is for life, regions are split afterwards);
- DD: birth day, plus 40 for women (01→41, 31→71);
- MM: birth month; YY: two-digit birth year (century ambiguous: resolved against a reference date);
- SSSS: serial from 0001.
Sources: ../shared/docs/dtsen-domain.md §6.1 (Dukcapil Klaten; libktpnik).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Sex = Literal["L", "P"]

_DIGITS = re.compile(r"[0-9]{16}")


@dataclass(frozen=True)
class NikError:
    code: str
    message_id: str
    message_en: str


ERRORS: dict[str, NikError] = {
    e.code: e
    for e in [
        NikError("nik_length", "NIK harus 16 digit.", "NIK must have 16 digits."),
        NikError("nik_not_digits", "NIK hanya boleh berisi angka.", "NIK may contain digits only."),
        NikError(
            "nik_region_unknown",
            "Kode wilayah (6 digit pertama) NIK tidak dikenal.",
            "The region code (first 6 digits) of the NIK is unknown.",
        ),
        NikError(
            "nik_date_invalid",
            "Tanggal lahir dalam NIK tidak valid.",
            "The birth date in the NIK is invalid.",
        ),
        NikError("nik_serial_zero", "Nomor urut NIK tidak boleh 0000.", "The NIK serial may not be 0000."),
        NikError(
            "nik_birth_mismatch",
            "Tanggal lahir atau jenis kelamin tidak sesuai dengan NIK.",
            "Birth date or sex does not match the NIK.",
        ),
    ]
}


@dataclass(frozen=True)
class ParsedNik:
    nik: str
    region_code: str  # "PP.KK.CC"
    birth_date: dt.date
    sex: Sex
    serial: int


class InvalidNik(ValueError):
    def __init__(self, error: NikError) -> None:
        super().__init__(f"{error.message_id} / {error.message_en}")
        self.error = error

    @property
    def code(self) -> str:
        return self.error.code


def _default_region_check(code6: str) -> bool:
    from dtsen.regions.selectors import region_code_is_known

    return region_code_is_known(code6)


def resolve_century(yy: int, month: int, day: int, *, today: dt.date) -> int:
    """Two-digit year → four digits: the latest year not after `today` (a NIK holder is already born)."""
    year = 2000 + yy
    try:
        candidate = dt.date(year, month, day)
    except ValueError:
        candidate = dt.date(year, month, 28)
    if candidate > today:
        year -= 100
    return year


def parse_nik(
    nik: str,
    *,
    today: dt.date | None = None,
    region_known: Callable[[str], bool] | None = None,
) -> ParsedNik:
    """Parse and validate a NIK; raise `InvalidNik` with a stable code on the first problem found."""
    value = nik.strip()
    if len(value) != 16:
        raise InvalidNik(ERRORS["nik_length"])
    if not _DIGITS.fullmatch(value):
        raise InvalidNik(ERRORS["nik_not_digits"])
    code6 = value[:6]
    check = region_known or _default_region_check
    if not check(code6):
        raise InvalidNik(ERRORS["nik_region_unknown"])
    dd, mm, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    sex: Sex = "L"
    if dd > 40:
        dd -= 40
        sex = "P"
    if not (1 <= mm <= 12 and 1 <= dd <= 31):
        raise InvalidNik(ERRORS["nik_date_invalid"])
    ref = today or dt.date.today()  # noqa: DTZ011 - a calendar date, not an instant
    year = resolve_century(yy, mm, dd, today=ref)
    try:
        birth = dt.date(year, mm, dd)  # 29 Feb only in leap years, 31 only in long months
    except ValueError:
        raise InvalidNik(ERRORS["nik_date_invalid"]) from None
    serial = int(value[12:])
    if serial == 0:
        raise InvalidNik(ERRORS["nik_serial_zero"])
    return ParsedNik(
        nik=value,
        region_code=f"{value[0:2]}.{value[2:4]}.{value[4:6]}",
        birth_date=birth,
        sex=sex,
        serial=serial,
    )


def nik_validate(nik: str, *, region_known: Callable[[str], bool] | None = None) -> NikError | None:
    """None when the NIK is structurally valid, else the first error."""
    try:
        parse_nik(nik, region_known=region_known)
    except InvalidNik as exc:
        return exc.error
    return None


def nik_matches(parsed: ParsedNik, *, birth_date: dt.date, sex: str) -> bool:
    """Whether a person's recorded birth date and sex agree with the NIK (day, month, 2-digit year, sex)."""
    return (
        parsed.sex == sex
        and parsed.birth_date.day == birth_date.day
        and parsed.birth_date.month == birth_date.month
        and parsed.birth_date.year % 100 == birth_date.year % 100
    )


def nik_build(*, kecamatan_code: str, birth_date: dt.date, sex: str, serial: int) -> str:
    """Compose a NIK (used by the synthetic population and by tests). `kecamatan_code` is "PP.KK.CC"."""
    code6 = kecamatan_code.replace(".", "")
    if len(code6) != 6 or not code6.isdigit():
        raise ValueError(f"bad kecamatan code {kecamatan_code!r}")
    if not 1 <= serial <= 9999:
        raise ValueError("serial must be 1..9999")
    day = birth_date.day + (40 if sex == "P" else 0)
    return f"{code6}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"
