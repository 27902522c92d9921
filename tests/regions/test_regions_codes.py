"""Region codes: parsing and the kind each code implies (pure functions, no database)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtsen.regions.codes import code_level, code_normalise, code_parent, code_prefixes, kind_from_code


@pytest.mark.parametrize(
    ("raw", "dotted"),
    [
        ("34", "34"),
        ("3401", "34.01"),
        ("340101", "34.01.01"),
        ("3401012001", "34.01.01.2001"),
        ("34.01.01", "34.01.01"),
        (" 34.01.01.2001 ", "34.01.01.2001"),
        ("34.1", None),
        ("34010", None),
        ("34-01-01", None),
        ("", None),
        ("３４０１０１", None),  # full-width digits are not a code
        ("٣٤.٠١", None),  # nor are Arabic-Indic digits
    ],
)
def test_code_normalise(raw, dotted):
    assert code_normalise(raw) == dotted


@given(st.from_regex(r"\A[0-9]{2}([0-9]{2}([0-9]{2}([0-9]{4})?)?)?\Z"))
def test_undotted_and_dotted_forms_agree(digits):
    dotted = code_normalise(digits)
    assert dotted is not None
    assert dotted.replace(".", "") == digits
    assert code_normalise(dotted) == dotted


def test_parent_level_prefixes():
    assert code_level("34.01.01.2001") == 4
    assert code_parent("34.01.01.2001") == "34.01.01"
    assert code_parent("34") == ""
    assert code_prefixes("34.01.01") == ["34", "34.01", "34.01.01"]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("34", "provinsi"),
        ("34.01", "kabupaten"),
        ("34.69", "kabupaten"),
        ("34.71", "kota"),
        ("34.99", "kota"),
        ("34.01.01", "kecamatan"),
        ("34.71.01.1001", "kelurahan"),
        ("34.01.01.2001", "desa"),
        ("91.01.01.3001", "desa_adat"),
    ],
)
def test_kind_from_code(code, kind):
    assert kind_from_code(code) == kind


@pytest.mark.parametrize("code", ["34.00", "34.70", "34.01.01.0001", "34.01.01.4001"])
def test_kind_from_code_refuses_impossible_codes(code):
    with pytest.raises(ValueError):
        kind_from_code(code)
