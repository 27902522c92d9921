"""NIK parsing: the structural rules of ../shared/docs/dtsen-domain.md §6.1."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtsen.registry.nik import InvalidNik, nik_build, nik_matches, nik_validate, parse_nik

KNOWN = {"340101", "340102", "317101", "920101", "960101"}
TODAY = dt.date(2026, 11, 28)


def known(code6: str) -> bool:
    return code6 in KNOWN


def parse(nik: str):
    return parse_nik(nik, today=TODAY, region_known=known)


def code_of(nik: str) -> str:
    with pytest.raises(InvalidNik) as exc:
        parse(nik)
    return exc.value.code


def test_man_born_1985():
    # Given a NIK of Kulon Progo (34.01.01), born 17 Aug 1985, serial 0001
    p = parse("3401011708850001")
    assert p.sex == "L"
    assert p.birth_date == dt.date(1985, 8, 17)
    assert p.region_code == "34.01.01"
    assert p.serial == 1


def test_woman_has_day_plus_40():
    p = parse("3401015708850002")  # 57 = 17 + 40
    assert p.sex == "P"
    assert p.birth_date == dt.date(1985, 8, 17)


def test_woman_day_71_is_31st():
    assert parse("3401017101900003").birth_date == dt.date(1990, 1, 31)


def test_29_february_leap_year_valid():
    assert parse("3401012902040001").birth_date == dt.date(2004, 2, 29)
    assert parse("3401016902960001").birth_date == dt.date(1996, 2, 29)  # woman, 1996 leap


def test_29_february_non_leap_year_invalid():
    assert code_of("3401012902010001") == "nik_date_invalid"
    assert code_of("3401016902230001") == "nik_date_invalid"


@pytest.mark.parametrize(
    "nik",
    [
        "3401013102850001",
        "3401013104850001",
        "3401010013850001",
        "3401013200850001",
        "3401010005850001",
        "3401014013850001",
        "3401017201850001",
        "3401018001850001",
    ],
)
def test_impossible_dates(nik):
    assert code_of(nik) == "nik_date_invalid"


def test_unknown_region():
    assert code_of("9999011708850001") == "nik_region_unknown"


def test_region_of_an_earlier_edition_is_accepted_when_known():
    # 92.01.01 existed in the 2022 edition (Papua Barat); the NIK is for life
    assert parse("9201011708850001").region_code == "92.01.01"


def test_serial_0000():
    assert code_of("3401011708850000") == "nik_serial_zero"


@pytest.mark.parametrize("nik", ["340101170885001", "34010117088500011", "", "3401"])
def test_wrong_length(nik):
    assert code_of(nik) == "nik_length"


@pytest.mark.parametrize(
    "nik", ["34010117O8850001", "3401011708850O01", "34010117-8850001", "٣401011708850001"]
)
def test_letters_and_non_ascii_digits(nik):
    assert code_of(nik) == "nik_not_digits"


def test_century_resolution_never_in_future():
    # "30" → 1930 (2030 is in the future), "26" in November 2026 → 2026 for an earlier month
    assert parse("3401010101300001").birth_date.year == 1930
    assert parse("3401010101260001").birth_date.year == 2026
    assert parse("3401010112260001").birth_date.year == 1926  # 1 Dec 2026 is after TODAY


def test_errors_are_bilingual():
    err = nik_validate("123", region_known=known)
    assert err is not None
    assert "16 digit" in err.message_id
    assert "16 digits" in err.message_en


def test_matches_detects_birth_and_sex_mismatch():
    p = parse("3401015708850002")
    assert nik_matches(p, birth_date=dt.date(1985, 8, 17), sex="P")
    assert not nik_matches(p, birth_date=dt.date(1985, 8, 17), sex="L")
    assert not nik_matches(p, birth_date=dt.date(1985, 17 - 9, 8), sex="P")  # day and month swapped


dates = st.dates(min_value=dt.date(1927, 1, 1), max_value=TODAY)


@given(
    birth=dates,
    sex=st.sampled_from(["L", "P"]),
    serial=st.integers(1, 9999),
    kec=st.sampled_from(sorted(KNOWN)),
)
def test_build_then_parse_roundtrip(birth, sex, serial, kec):
    nik = nik_build(
        kecamatan_code=f"{kec[:2]}.{kec[2:4]}.{kec[4:]}", birth_date=birth, sex=sex, serial=serial
    )
    p = parse(nik)
    assert len(nik) == 16
    assert p.sex == sex
    assert p.serial == serial
    assert (p.birth_date.day, p.birth_date.month, p.birth_date.year % 100) == (
        birth.day,
        birth.month,
        birth.year % 100,
    )
    assert p.birth_date <= TODAY


@given(st.text(max_size=20))
def test_parser_never_crashes_on_any_text(text):
    error = nik_validate(text, region_known=known)
    assert error is None or error.code.startswith("nik_")


@given(st.from_regex(r"[0-9]{16}", fullmatch=True))
def test_any_16_digits_is_valid_or_a_known_error(nik):
    error = nik_validate(nik, region_known=known)
    if error is not None:
        assert error.code in {"nik_region_unknown", "nik_date_invalid", "nik_serial_zero"}
    else:
        p = parse(nik)
        assert p.serial > 0
        assert nik[:6] in KNOWN
        day = int(nik[6:8])
        assert (p.sex == "P") == (day > 40)
