"""The linkage input: one row per person with the fields the model compares, normalised the same way for every
engine (pyarrow compute, vectorised; the engines receive the prepared table).

Names are written many ways in Indonesian registers: Muhammad, Muhamad, Mohammad, M., Moh., Mhd.; Siti and St.;
the old spelling (Djoko/Joko, Tjahjo/Cahyo, Soeharto/Suharto, Jusuf/Yusuf, Chairul/Khairul, Sjarif/Syarif);
abbreviated or dropped last words and initials. `name_norm` maps all of them onto one canonical form, so
"Mochammad Djoko S." and "Muhammad Joko S." compare equal; `name_phon` is a coarse phonetic key (consonant
skeleton after the canonical spelling), robust to doubled letters and vowel slips (MUHAMAD / MOHAMMAD ->
MHMD); the first and last words and their initials let the model recognise "Budi S." or "B. Santoso" as
compatible with "Budi Santoso".

Dates are ISO strings (`birth_date`) with the day and month swapped (`birth_swap`, only when both are at most
12) so that a swap is one equality in any SQL dialect. Region codes give the kecamatan and kabupaten of the
village.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# What an input must hold (the registry or a synthetic population provides them).
INPUT_COLUMNS = ("person_code", "nik", "name", "sex", "birth_date", "village_code")

# Whole-word abbreviations and spellings of the same given name, in canonical (new-spelling) form.
_WORDS = {
    "MUHAMMAD": ("M", "MUH", "MUHAMAD", "MUHAMMAD", "MUHAMMAT", "MUHAMAT", "MOHAMMAD", "MOHAMAD", "MOCHAMMAD",
                 "MOCHAMAD", "MOKHAMMAD", "MOKHAMAD", "MOH", "MOCH", "MOHD", "MHD", "MUHD", "MUCHAMMAD",
                 "MUCHAMAD", "MUKHAMMAD", "MUKHAMAD"),
    "SITI": ("ST", "SITI", "SITTI"),
    "ABDUL": ("ABD", "ABDUL", "ABDOEL"),
    "NUR": ("NUR", "NOER", "NOOR", "NURUL"),
}  # fmt: skip
# Old (pre-1972) spelling -> new, applied inside words in this order; "J" -> "Y" comes after "DJ" -> "J" so
# that old and new spellings meet in one form (DJOKO -> JOKO -> YOKO, JOKO -> YOKO; JUSUF -> YUSUF).
_SPELLING = (("OE", "U"), ("DJ", "J"), ("TJ", "C"), ("SJ", "SY"), ("NJ", "NY"), ("CH", "KH"), ("J", "Y"))


def _words_pattern() -> list[tuple[str, str]]:
    out = []
    for canonical, spellings in _WORDS.items():
        alternatives = "|".join(sorted(spellings, key=len, reverse=True))
        out.append((rf"(^| )({alternatives})( |$)", rf"\1{canonical}\3"))
    return out


_WORD_RULES = _words_pattern()


def name_normalise(names: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Canonical form of names: capitals, letters and single spaces only, known abbreviations and spellings
    expanded (see the module)."""
    s = pc.utf8_upper(names)
    s = pc.replace_substring_regex(s, r"[^A-Z ]+", " ")  # dots, apostrophes, digits
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r" +", " "))
    for old, new in _SPELLING:
        s = pc.replace_substring(s, old, new)
    for _ in range(2):  # a word rule consumes the space after it; a second pass catches adjacent words
        for pattern, replacement in _WORD_RULES:
            s = pc.replace_substring_regex(s, pattern, replacement)
    return s


def name_phonetic(norm: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Consonant skeleton of a canonical name: KH read as H, first letter of each word kept, later vowels and H
    dropped,
    runs of one letter collapsed; spaces removed."""
    s = pc.replace_substring(norm, "KH", "H")  # Rachmat/Rakhmat/Rahmat, Khairul/Hairul
    s = pc.replace_substring_regex(s, r"\B[AEIOUH]+", "")
    for letter in "BCDFGJKLMNPQRSTVWXYZ":  # RE2 has no back-references: one pass per letter
        s = pc.replace_substring_regex(s, f"{letter}{letter}+", letter)
    return pc.replace_substring(s, " ", "")


# Leading given names so common that they say little (Muhammad, Siti, Nur...): the string-similarity levels
# and the word levels compare the rest of the name ("MUHAMMAD HENDRI" and "MUHAMMAD HARTONO" share a long
# prefix but not a name).
COMMON_LEADING = ("MUHAMMAD", "SITI", "NUR", "ABDUL", "SRI", "AHMAD", "DEWI", "PUTRI")


def name_core(norm: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """`norm` without its leading common given name, when more words follow."""
    alternatives = "|".join(COMMON_LEADING)
    return pc.replace_substring_regex(norm, rf"^({alternatives}) (.)", r"\2")


def _word(norm: pa.Array | pa.ChunkedArray, first: bool) -> pa.ChunkedArray | pa.Array:
    pattern = r"^([A-Z]+).*$" if first else r"^.*?([A-Z]+)$"
    out = pc.replace_substring_regex(norm, pattern, r"\1")
    return pc.if_else(pc.equal(norm, ""), pa.scalar(None, pa.string()), out)


def _initial(word: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    return pc.utf8_slice_codeunits(word, 0, 1)


def _null_if_empty(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    return pc.if_else(pc.equal(pc.utf8_length(values), 0), pa.scalar(None, pa.string()), values)


def linkage_input(table: pa.Table) -> pa.Table:
    """The prepared linkage table of `table` (which holds `INPUT_COLUMNS`; `birth_date` a date)."""
    missing = [c for c in INPUT_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"linkage input lacks columns {missing}")
    norm = name_normalise(table["name"])
    core = name_core(norm)
    first = _word(core, first=True)
    last = _word(core, first=False)
    words = pc.add(pc.count_substring(core, " "), 1)
    last = pc.if_else(pc.greater(words, 1), last, pa.scalar(None, pa.string()))
    born = pc.strftime(pc.cast(table["birth_date"], pa.timestamp("s")), format="%Y-%m-%d")
    year = pc.utf8_slice_codeunits(born, 0, 4)
    month = pc.utf8_slice_codeunits(born, 5, 7)
    day = pc.utf8_slice_codeunits(born, 8, 10)
    swappable = pc.and_(pc.less_equal(pc.cast(day, pa.int32()), 12), pc.not_equal(day, month))
    swap = pc.if_else(
        swappable, pc.binary_join_element_wise(year, day, month, "-"), pa.scalar(None, pa.string())
    )
    village = table["village_code"]
    nik = _null_if_empty(pc.utf8_trim_whitespace(table["nik"]))
    return pa.table({
        "unique_id": table["person_code"],
        "nik": nik,
        "nik_head": pc.utf8_slice_codeunits(nik, 0, 12),
        "nik_serial": pc.utf8_slice_codeunits(nik, 12, 16),
        "nik_sex": pc.if_else(pc.greater(pc.utf8_slice_codeunits(nik, 6, 7), "3"), "P", "L"),
        "name_norm": norm,
        "name_core": core,
        "name_phon": name_phonetic(norm),
        "first_word": first,
        "last_word": last,
        "first_initial": _initial(first),
        "last_initial": _initial(last),
        "birth_place": _null_if_empty(pc.utf8_upper(pc.utf8_trim_whitespace(table["birth_place"])))
        if "birth_place" in table.column_names
        else pa.nulls(table.num_rows, pa.string()),
        "sex": table["sex"],
        "birth_date": born,
        "birth_swap": swap,
        "birth_year": year,
        "village_code": village,
        "kec_code": pc.utf8_slice_codeunits(village, 0, 8),
        "kab_code": pc.utf8_slice_codeunits(village, 0, 5),
    })
