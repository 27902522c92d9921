"""Masking for anything public: names, NIK, e-mail and phone."""

import pytest

from dtsen.core.masking import mask_email, mask_name, mask_nik, mask_phone


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        # Each word keeps its first three letters; one star per hidden letter (NURHALIZA has nine letters:
        # the example "NUR*******" shows seven stars, one too many for that rule).
        ("SITI NURHALIZA", "SIT* NUR******"),
        ("BUDI SANTOSO", "BUD* SAN****"),
        ("Siti Nurhaliza", "Sit* Nur******"),  # the case is kept
        ("  SITI   NURHALIZA ", "SIT* NUR******"),  # spacing collapsed
        ("ANI", "A**"),  # a word of three letters or fewer keeps only its first letter
        ("I GUSTI AYU", "I GUS** A**"),
        ("LI", "L*"),
        ("A", "A"),
        ("MA'RUF AMIN", "MA'R** AMI*"),  # punctuation stays, letters are counted
        ("MUH. SYAFI'I", "M**. SYA**'*"),
        ("", ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_masked_name_never_shows_a_whole_word():
    for word in ["ANI", "BUDI", "WAYAN", "NURHALIZA"]:
        assert word not in mask_name(word)


@pytest.mark.parametrize(
    ("nik", "masked"),
    [
        ("3401014105800012", "340101******0012"),
        (" 3401014105800012 ", "340101******0012"),
        ("340101410580001", "***************"),  # not 16 digits: nothing is shown
        ("34010141058000AB", "****************"),
    ],
)
def test_mask_nik(nik, masked):
    assert mask_nik(nik) == masked


def test_mask_email_and_phone():
    assert mask_email("siti@example.id") == "s***@example.id"
    assert mask_email("not-an-email") == "************"
    assert mask_phone("+6281234567890") == "+62********890"
    assert mask_phone("12") == "**"
