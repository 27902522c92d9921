"""Masking of personal data for anything shown outside the staff pages (public checks, citizen pages,
e-mails, exports of other people's rows). UU 27/2022: show the minimum (dtsen-domain.md §5, §6.4).

Rules (one star per hidden character, so the shape of the text stays readable):
- names: in each word the first three letters stay and the rest are starred ("SITI NURHALIZA" →
  "SIT* NUR******"); a word of three letters or fewer keeps only its first letter ("ANI" → "A**"), so a short
  name is never shown whole. Punctuation and spacing stay as they are; the case is not changed.
- NIK: the first six digits (kecamatan of first registration) and the last four (serial) stay, the six of
  the birth date are starred: "3401014105800012" → "340101******0012" (the same shape as the staff pages).
- e-mail: the first letter of the local part and the domain stay: "budi@example.id" → "b***@example.id".
- phone: the last three digits stay: "+6281234567890" → "+62*********890".
"""

from __future__ import annotations

NAME_KEEP = 3
NIK_LENGTH = 16


def _mask_word(word: str) -> str:
    letters = sum(1 for ch in word if ch.isalnum())
    keep = NAME_KEEP if letters > NAME_KEEP else 1
    out = []
    seen = 0
    for ch in word:
        if ch.isalnum():
            seen += 1
            out.append(ch if seen <= keep else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_name(name: str) -> str:
    """A person's name for public display (see the module rules). Whitespace is collapsed."""
    return " ".join(_mask_word(word) for word in name.split())


def mask_nik(nik: str) -> str:
    """A NIK with its birth-date part starred; anything that is not 16 digits is starred whole."""
    value = nik.strip()
    if len(value) != NIK_LENGTH or not value.isdigit():
        return "*" * len(value)
    return f"{value[:6]}{'*' * 6}{value[12:]}"


def mask_email(email: str) -> str:
    local, at, domain = email.strip().partition("@")
    if not at or not local:
        return "*" * len(email.strip())
    return f"{local[0]}{'*' * (len(local) - 1)}@{domain}"


def mask_phone(phone: str) -> str:
    value = phone.strip()
    prefix = "+62" if value.startswith("+62") else ""
    rest = value[len(prefix):]
    if len(rest) <= 3:
        return prefix + "*" * len(rest)
    return f"{prefix}{'*' * (len(rest) - 3)}{rest[-3:]}"
