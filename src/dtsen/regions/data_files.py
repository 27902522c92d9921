"""The region data shipped inside the package (`dtsen/regions/data/*.csv.gz`) and the editions they hold.

Source: github.com/cahyadsn/wilayah by Cahya DSN, MIT licence (see `data/LICENSE-wilayah.txt`).
Nothing here touches the database; the loader (`services.regions_load`) and the code cache
(`selectors.region_code_is_known`) both read through these functions.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources

from dtsen.regions.codes import code_level, code_normalise, code_parent, kind_from_code

DATA_SOURCE = "github.com/cahyadsn/wilayah (Cahya DSN, MIT), db/ files at commit d68e8d5"


@dataclass(frozen=True)
class EditionSpec:
    """One edition of the Kemendagri code table as shipped with dtsen."""

    code: str
    regulation: str
    valid_from: date
    is_current: bool
    regions_file: str
    population_file: str | None = None
    area_file: str | None = None


# Ordered oldest first; changes are computed between consecutive editions.
EDITIONS: tuple[EditionSpec, ...] = (
    EditionSpec(
        code="2022",
        regulation="Kepmendagri No. 100.1.1-6117 Tahun 2022",
        valid_from=date(2022, 11, 9),
        is_current=False,
        regions_file="wilayah_2023.csv.gz",
    ),
    EditionSpec(
        code="2025",
        regulation="Kepmendagri No. 300.2.2-2430 Tahun 2025",
        valid_from=date(2025, 6, 23),
        is_current=True,
        regions_file="wilayah_2025.csv.gz",
        population_file="wilayah_penduduk_2024s2.csv.gz",  # Dukcapil, semester II (Dec) 2024
        area_file="wilayah_luas_km2.csv.gz",  # BIG letter B-16.10/DIGD-BIG/IGD.04.04/12/2024
    ),
)
NATION_CODE = "0"  # the population file's row for Indonesia as a whole


def edition_spec(code: str) -> EditionSpec:
    for spec in EDITIONS:
        if spec.code == code:
            return spec
    raise KeyError(code)


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str
    level: int
    kind: str
    parent_code: str


@dataclass(frozen=True, slots=True)
class PopulationRow:
    name: str
    male: int
    female: int
    total: int
    repaired: bool = False  # the file's code had been mangled into a number; see `_figure_code`


@dataclass(frozen=True, slots=True)
class AreaRow:
    name: str
    km2: Decimal
    repaired: bool = False


def _csv_rows(filename: str) -> Iterator[dict[str, str]]:
    with (
        resources.files("dtsen.regions").joinpath("data", filename).open("rb") as raw,
        gzip.open(raw, "rb") as unzipped,
        io.TextIOWrapper(unzipped, encoding="utf-8", newline="") as text,
    ):
        yield from csv.DictReader(text)


def _clean_name(name: str) -> str:
    return " ".join(name.split())


def read_regions(filename: str) -> list[RegionRow]:
    """All rows of one edition file, checked: code format, level, parent and kind agree with the code."""
    rows = []
    for raw in _csv_rows(filename):
        code = raw["kode"]
        if code_normalise(code) != code:
            raise ValueError(f"{filename}: malformed region code {code!r}")
        row = RegionRow(
            code=code,
            name=_clean_name(raw["nama"]),
            level=int(raw["level"]),
            kind=raw["tipe"],
            parent_code=raw["kode_induk"],
        )
        if row.level != code_level(code) or row.parent_code != code_parent(code):
            raise ValueError(f"{filename}: level or parent does not match code {code!r}")
        if row.kind != kind_from_code(code):
            raise ValueError(f"{filename}: kind {row.kind!r} does not match code {code!r}")
        rows.append(row)
    return rows


def read_codes(filename: str, *, levels: frozenset[int]) -> set[str]:
    """The codes of the given levels in one edition file (a cheap pass: no name or kind checks)."""
    return {raw["kode"] for raw in _csv_rows(filename) if code_level(raw["kode"]) in levels}


_MANGLED_KAB = re.compile(r"^(\d{2})\.(\d)$")
_MANGLED_PROVINCE = re.compile(r"^(\d{2})\.0$")


def _figure_code(code: str) -> tuple[str, bool]:
    """The region code of a population/area row, and whether it had to be repaired.

    Upstream, a few codes went through a number type: "11.1" is 11.10, "31.0" is province 31.
    The loader checks the name of every repaired row against the region it now points at.
    """
    if code == NATION_CODE or code_normalise(code) == code:
        return code, False
    if match := _MANGLED_PROVINCE.match(code):
        return match.group(1), True
    if match := _MANGLED_KAB.match(code):
        return f"{match.group(1)}.{match.group(2)}0", True
    raise ValueError(f"malformed region code {code!r}")


def read_population(filename: str) -> dict[str, PopulationRow]:
    """Population per code (provinces, kab/kota, and `NATION_CODE` for Indonesia)."""
    result = {}
    for raw in _csv_rows(filename):
        code, repaired = _figure_code(raw["kode"])
        row = PopulationRow(
            name=_clean_name(raw["nama"]),
            male=int(raw["pria"]),
            female=int(raw["wanita"]),
            total=int(raw["total"]),
            repaired=repaired,
        )
        if row.male + row.female != row.total:
            raise ValueError(f"{filename}: male + female != total for {raw['kode']!r}")
        if code in result:
            raise ValueError(f"{filename}: duplicate code {code!r}")
        result[code] = row
    return result


def read_area(filename: str) -> dict[str, AreaRow]:
    """Area in km² per code (provinces and kab/kota)."""
    result = {}
    for raw in _csv_rows(filename):
        code, repaired = _figure_code(raw["kode"])
        if code in result:
            raise ValueError(f"{filename}: duplicate code {code!r}")
        result[code] = AreaRow(name=_clean_name(raw["nama"]), km2=Decimal(raw["luas_km2"]), repaired=repaired)
    return result
