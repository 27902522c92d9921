"""Which shipped boundary file (GeoJSON) draws the children of a region on the choropleth map.

The files live in this app's static folder under `dashboards/geo/` and are built by
`scripts/build_boundaries.py` from an open dataset (see `docs/boundaries.md` and `geo/SOURCE.md`).
Every feature carries `properties.code`, the region code exactly as `dtsen.regions` stores it
(dotted: `"32"` for a province, `"32.01"` for a kabupaten/kota), and `properties.name`.

No database access here: the answer depends only on the files shipped with the package.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

GEO_STATIC_DIR = "dashboards/geo"
PROVINCES_FILE = f"{GEO_STATIC_DIR}/provinces.json"
_GEO_DIR = Path(__file__).resolve().parent / "static" / GEO_STATIC_DIR
_KAB_PREFIX = "kab-"


def geo_dir() -> Path:
    """The folder on disk that holds the shipped boundary files."""
    return _GEO_DIR


@cache
def kabupaten_file_codes() -> frozenset[str]:
    """The province codes (e.g. `"32"`) for which a kabupaten/kota boundary file is shipped."""
    if not _GEO_DIR.is_dir():
        return frozenset()
    return frozenset(
        path.stem[len(_KAB_PREFIX):] for path in _GEO_DIR.glob(f"{_KAB_PREFIX}*.json") if path.is_file()
    )


@cache
def province_gaps() -> dict[str, str]:
    """Province codes of the current code table that have no shape of their own → why (English).

    Read from the `gaps` member of the shipped provinces file (written by the build script): the source
    predates some splits, so e.g. Papua Selatan (93) is still drawn inside Papua (91). The feature drawn for
    the older province lists all the codes its shape covers in `properties.covers`.
    """
    path = _GEO_DIR / "provinces.json"
    if not path.is_file():
        return {}
    gaps = json.loads(path.read_text(encoding="utf-8")).get("gaps", {})
    return {str(code): str(reason) for code, reason in gaps.items()}


def boundary_file(region_code: str) -> str | None:
    """The static path (for `django.templatetags.static.static`) of the GeoJSON of `region_code`'s children.

    `""` (the whole country) → the provinces file; a province code such as `"32"` → its kabupaten/kota
    file when one is shipped; anything else (a province without a file, a kabupaten, a kecamatan, a
    malformed code) → None, and the page shows a table instead of a map.
    """
    code = region_code.strip()
    if code == "":
        return PROVINCES_FILE
    if len(code) == 2 and code.isascii() and code.isdigit() and code in kabupaten_file_codes():
        return f"{GEO_STATIC_DIR}/{_KAB_PREFIX}{code}.json"
    return None
