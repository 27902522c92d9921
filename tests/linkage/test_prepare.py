import datetime as dt

import pyarrow as pa
import pytest

from dtsen.linkage.prepare import linkage_input, name_core, name_normalise, name_phonetic


def norm(*names: str) -> list[str]:
    return name_normalise(pa.array(names)).to_pylist()


@pytest.mark.parametrize(
    "variants",
    [
        ("Muhammad Rizki", "Muhamad Rizki", "Mohammad Rizki", "Mochammad Rizki", "M. Rizki", "Moh. Rizki",
         "Mhd. Rizki", "MUHAMMAD  RIZKI"),
        ("Siti Aminah", "St. Aminah"),
        ("Djoko Susilo", "Joko Susilo"),
        ("Tjahjo Kumolo", "Cahyo Kumolo"),
        ("Soeharto", "Suharto"),
        ("Jusuf Chairul", "Yusuf Khairul"),
        ("Sjarifuddin", "Syarifuddin"),
    ],
)
def test_spellings_of_one_name_meet(variants: tuple[str, ...]) -> None:
    assert len(set(norm(*variants))) == 1, norm(*variants)


def test_different_names_stay_different() -> None:
    out = norm("Budi Santoso", "Budi Susanto", "Siti Aminah", "Sri Aminah", "Joko", "Yoga")
    assert len(set(out)) == len(out)


def test_phonetic_key_ignores_vowel_slips_and_doubling() -> None:
    keys = name_phonetic(name_normalise(pa.array(["Rahmat", "Rachmat", "Rahmad", "Ramat", "Budi"]))).to_pylist()
    assert keys[0] == keys[1] == keys[3]
    assert keys[4] != keys[0]


def test_core_drops_a_common_leading_name_only_when_more_follows() -> None:
    out = name_core(name_normalise(pa.array(["Muhammad Hendri", "Siti", "Siti Aminah", "Budi Santoso"])))
    assert out.to_pylist() == ["HENDRI", "SITI", "AMINAH", "BUDI SANTOSO"]


def _table(**overrides: list) -> pa.Table:
    base = {
        "person_code": ["A", "B", "C"],
        "nik": ["3401011107700001", "3401015107700002", ""],
        "name": ["Budi Santoso", "Siti", "B. Santoso"],
        "sex": ["L", "P", "L"],
        "birth_date": [dt.date(1970, 7, 11), dt.date(1970, 7, 11), dt.date(1985, 3, 25)],
        "village_code": ["34.01.01.2001", "34.01.01.2001", "34.01.02.2003"],
    }
    base.update(overrides)
    return pa.table(base)


def test_linkage_input_fields() -> None:
    t = linkage_input(_table()).to_pylist()
    a, b, c = t
    assert a["unique_id"] == "A"
    assert (a["first_word"], a["last_word"], a["first_initial"], a["last_initial"]) == ("BUDI", "SANTOSO", "B", "S")
    assert b["last_word"] is None  # one word: no last word
    assert (c["first_word"], c["last_word"], c["first_initial"]) == ("B", "SANTOSO", "B")
    assert a["birth_date"] == "1970-07-11"
    assert a["birth_swap"] == "1970-11-07"  # day <= 12 and differs from the month
    assert c["birth_swap"] is None  # day 25 cannot be a month
    assert (a["nik_head"], a["nik_serial"], a["nik_sex"]) == ("340101110770", "0001", "L")
    assert b["nik_sex"] == "P"  # a woman's NIK carries day + 40
    assert c["nik"] is None  # empty NIK is missing, not a value that matches other empties
    assert (a["kec_code"], a["kab_code"]) == ("34.01.01", "34.01")
    assert a["birth_place"] is None  # no birth place column: null


def test_linkage_input_refuses_missing_columns() -> None:
    with pytest.raises(ValueError, match="village_code"):
        linkage_input(_table().drop(["village_code"]))
