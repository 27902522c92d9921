"""Feature spec: the default spec's contents, transforms, SQL equivalents and bilingual refusals."""

from __future__ import annotations

import copy
import csv
import json
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import pytest

from dtsen.ranking import pmt
from dtsen.ranking.pmt.spec import FeatureSpec

from .conftest import SPECS, VARIABLES


def _ordered_covariates() -> list[str]:
    with VARIABLES.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["Order"]]
    return [r["Name"] for r in sorted(rows, key=lambda r: int(r["Order"]))]


@pytest.mark.parametrize("name", ["alatas45", "alatas45_raw"])
def test_default_specs_read_exactly_the_45_covariates_in_order(name):
    if not VARIABLES.exists():
        pytest.skip("variables.csv not available")
    spec = pmt.load_spec(SPECS / f"{name}.json")
    assert spec.input_columns == _ordered_covariates()
    assert spec.feature_names[:45] == _ordered_covariates()
    assert spec.region_column == "province"
    assert spec.group_column == "ea"
    assert all(f.label_id and f.label_en for f in spec.features)


def test_indonesian_labels_of_the_default_spec(default_spec):
    tfloor = default_spec.feature("tfloor")
    assert tfloor.label("id", 1) == "lantai bukan tanah"
    assert tfloor.label("id", 0) == "lantai tanah"
    assert tfloor.label("en", 0) == "earth floor"
    assert default_spec.feature("fcook").label("id", 1) == "memasak dengan kayu bakar"


def _spec(features, **extra):
    return FeatureSpec.from_dict({"name": "t", "features": features, **extra})


def test_transforms_and_rounding_to_scale():
    # given one of each transform
    spec = _spec(
        [
            {"name": "a", "column": "a", "label_id": "a", "label_en": "a"},
            {
                "name": "log_b",
                "transform": "log",
                "column": "b",
                "floor": 1,
                "label_id": "b",
                "label_en": "b",
            },
            {
                "name": "a_sq",
                "transform": "square",
                "column": "a",
                "divisor": 100,
                "label_id": "c",
                "label_en": "c",
            },
            {
                "name": "is_33",
                "transform": "indicator",
                "column": "p",
                "category": 33,
                "label_id": "d",
                "label_en": "d",
            },
            {"name": "ratio", "transform": "ratio", "columns": ["a", "c"], "label_id": "e", "label_en": "e"},
            {"name": "prod", "transform": "product", "columns": ["a", "c"], "label_id": "f", "label_en": "f"},
        ]
    )
    frame = pd.DataFrame({"a": [3, 10], "b": [0.5, np.e], "p": [33, 12], "c": [3, 7]})
    # when
    x = spec.design_matrix(frame)
    # then every value is computed and rounded to 6 decimals
    expected = np.array([[3, 0.0, 0.09, 1, 1.0, 9], [10, 1.0, 1.0, 0, round(10 / 7, 6), 70]])
    np.testing.assert_allclose(x, expected, atol=1e-12)
    values = spec.feature_values({"a": 10, "b": np.e, "p": 12, "c": 7})
    assert values["ratio"] == Decimal("1.428571")
    assert values["log_b"] == Decimal("1.000000")


def test_sql_expressions_compute_the_same_features(default_spec, alatas_frame):
    # given the default spec's features as SQL over the raw columns
    rows = alatas_frame.head(300)
    selects = ", ".join(f"{f.sql_expression()} AS {f.name}" for f in default_spec.features)
    # when DuckDB evaluates them
    con = duckdb.connect()
    con.register("survey", rows)
    sql_values = con.execute(f"SELECT {selects} FROM survey").fetchnumpy()
    # then they match Python's before rounding
    py = default_spec.design_matrix(rows)
    for j, name in enumerate(default_spec.feature_names):
        np.testing.assert_allclose(
            np.round(np.asarray(sql_values[name], dtype=float), 6), py[:, j], atol=1e-9
        )


def test_spec_round_trip(default_spec):
    again = FeatureSpec.from_dict(json.loads(json.dumps(default_spec.to_dict())))
    assert again == default_spec


BASE = {"name": "t", "features": [{"name": "a", "column": "a", "label_id": "a", "label_en": "a"}]}


def _broken(mutate):
    data = copy.deepcopy(BASE)
    mutate(data)
    return data


@pytest.mark.parametrize(
    "data",
    [
        [],
        _broken(lambda d: d.pop("name")),
        _broken(lambda d: d.update(features=[])),
        _broken(lambda d: d["features"][0].update(transform="cube")),
        _broken(lambda d: d["features"][0].pop("label_id")),
        _broken(lambda d: d["features"][0].update(transform="log")),  # no floor
        _broken(lambda d: d["features"][0].update(transform="indicator")),  # no category
        _broken(lambda d: d["features"].append(dict(d["features"][0]))),  # duplicate name
        _broken(lambda d: d["features"][0].update(group="nowhere")),
        _broken(lambda d: d.update(schema_version=99)),
    ],
)
def test_bad_spec_is_refused_in_both_languages(data):
    with pytest.raises(pmt.SpecInvalid) as caught:
        FeatureSpec.from_dict(data)
    assert caught.value.message_id.startswith("Spesifikasi fitur salah")
    assert caught.value.message_en.startswith("Bad feature spec")


def test_unreadable_spec_file(tmp_path):
    bad = tmp_path / "spec.json"
    bad.write_text("{not json")
    with pytest.raises(pmt.SpecInvalid, match="bukan JSON"):
        pmt.load_spec(bad)
    with pytest.raises(pmt.SpecInvalid, match="Cannot read"):
        pmt.load_spec(tmp_path / "absent.json")


def test_missing_column_and_bad_values_are_named(default_spec, alatas_frame):
    with pytest.raises(pmt.ColumnMissing) as caught:
        default_spec.design_matrix(alatas_frame.drop(columns=["tfloor", "cow"]))
    assert "tfloor" in caught.value.message_id
    assert "tfloor" in caught.value.message_en
    frame = alatas_frame.head(5).astype({"tv": object})
    frame.loc[frame.index[0], "tv"] = "ya"
    with pytest.raises(pmt.ValueInvalid, match="bukan angka"):
        default_spec.design_matrix(frame)
    frame = alatas_frame.head(5).copy()
    frame.loc[frame.index[0], "hp"] = np.nan
    with pytest.raises(pmt.ValueInvalid, match="kosong"):
        default_spec.design_matrix(frame)
