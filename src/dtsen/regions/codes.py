"""Kemendagri region codes (`PP.KK.CC.DDDD`): parsing and the rules the code itself carries.

Pure functions, no database: the NIK validator and the data-file readers use them before Django
has loaded anything.

- level 1 `PP` provinsi; level 2 `PP.KK` kabupaten (KK 01–69) or kota (KK 71–99);
  level 3 `PP.KK.CC` kecamatan; level 4 `PP.KK.CC.DDDD` kelurahan (D starts with 1),
  desa (2) or desa adat (3).
- The undotted forms (`34`, `3401`, `340101`, `3401012001`) are accepted wherever a code is read,
  because the NIK and the KK number carry the kecamatan code without dots.
"""

from __future__ import annotations

import re

CODE_MAX_LENGTH = 13
_DOTTED = re.compile(r"^[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{4})?)?)?$")
_SPLITS: dict[int, tuple[int, ...]] = {2: (2,), 4: (2, 2), 6: (2, 2, 2), 10: (2, 2, 2, 4)}

KIND_PROVINSI = "provinsi"
KIND_KABUPATEN = "kabupaten"
KIND_KOTA = "kota"
KIND_KECAMATAN = "kecamatan"
KIND_KELURAHAN = "kelurahan"
KIND_DESA = "desa"
KIND_DESA_ADAT = "desa_adat"
_VILLAGE_KINDS = {"1": KIND_KELURAHAN, "2": KIND_DESA, "3": KIND_DESA_ADAT}


def code_normalise(code: str) -> str | None:
    """The dotted form of a region code (`"340101"` → `"34.01.01"`), or None when it is not one."""
    code = code.strip()
    if _DOTTED.match(code):
        return code
    if code.isascii() and code.isdigit() and len(code) in _SPLITS:
        parts, start = [], 0
        for width in _SPLITS[len(code)]:
            parts.append(code[start : start + width])
            start += width
        return ".".join(parts)
    return None


def code_level(code: str) -> int:
    """1 (province) to 4 (village) for a dotted code."""
    return code.count(".") + 1


def code_parent(code: str) -> str:
    """The parent's code; "" for a province."""
    return code.rpartition(".")[0]


def code_prefixes(code: str) -> list[str]:
    """The codes of the chain province → ... → `code` itself: `"34.01.01"` → `["34", "34.01", "34.01.01"]`."""
    parts = code.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def kind_from_code(code: str) -> str:
    """The kind a dotted code implies (kab 01–69, kota 71–99; village first digit 1/2/3).

    Raises ValueError for a code whose digits fit no kind (a kab/kota number 00 or 70, a village
    number starting with 0 or 4–9).
    """
    level = code_level(code)
    last = code.rpartition(".")[2]
    if level == 1:
        return KIND_PROVINSI
    if level == 2:
        number = int(last)
        if 1 <= number <= 69:
            return KIND_KABUPATEN
        if 71 <= number <= 99:
            return KIND_KOTA
    elif level == 3:
        return KIND_KECAMATAN
    elif level == 4 and last[0] in _VILLAGE_KINDS:
        return _VILLAGE_KINDS[last[0]]
    raise ValueError(f"no region kind fits code {code!r}")
