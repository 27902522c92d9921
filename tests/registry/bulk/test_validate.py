"""The vectorised NIK rules agree with `nik.parse_nik` on every input."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dtsen.registry.bulk.validate import nik_check
from dtsen.registry.nik import InvalidNik, nik_build, parse_nik

KNOWN = {"340101", "340102", "317101", "920101"}
TODAY = dt.date(2026, 11, 28)


def known(code6: str) -> bool:
    return code6 in KNOWN


def expected(nik: str) -> str | None:
    if not nik:
        return None
    try:
        parse_nik(nik, today=TODAY, region_known=known)
    except InvalidNik as exc:
        return exc.code
    return None


niks = st.one_of(
    st.builds(
        lambda kec, day, month, yy, serial: f"{kec}{day:02d}{month:02d}{yy:02d}{serial:04d}",
        st.sampled_from([*sorted(KNOWN), "999999", "340199"]),
        st.integers(0, 99),
        st.integers(0, 19),
        st.integers(0, 99),
        st.integers(0, 9999),
    ),
    st.text(alphabet="0123456789 x", max_size=18),
    st.text(max_size=17),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(niks, min_size=1, max_size=40))
def test_vectorised_nik_rules_match_parse_nik(values):
    values = [v.strip() for v in values]
    got = nik_check(pa.array(values, pa.string()), today=TODAY, region_known=known)
    assert got.error.to_pylist() == [expected(v) for v in values]


def test_parts_of_a_valid_nik():
    woman = nik_build(kecamatan_code="34.01.01", birth_date=dt.date(1984, 2, 29), sex="P", serial=12)
    got = nik_check(pa.array([woman, "3401011708850001"]), today=TODAY, region_known=known)
    assert got.error.to_pylist() == [None, None]
    assert got.sex.to_pylist() == ["P", "L"]
    assert got.day.to_pylist() == [29, 17]
    assert got.month.to_pylist() == [2, 8]
    assert got.yy.to_pylist() == [84, 85]
