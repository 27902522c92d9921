"""The versioned JSON artefact: keys, round trip, fingerprint, no survey rows, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dtsen.ranking import pmt
from dtsen.ranking.pmt.artefact import PmtModel

TOP_KEYS = {
    "schema",
    "schema_version",
    "model_id",
    "kind",
    "created_at",
    "target",
    "spec",
    "training",
    "params",
    "metrics",
    "library_versions",
    "linear",
}


def test_default_artefact_has_the_documented_keys(default_model):
    data = default_model.to_dict()
    assert set(data) == TOP_KEYS
    assert data["schema"] == "dtsen.pmt.model"
    assert data["kind"] == pmt.KIND_LINEAR
    assert data["created_at"].endswith("Z")
    assert len(data["training"]["sha256"]) == 64
    assert {"python", "numpy", "scikit-learn"} <= set(data["library_versions"])
    assert {"cv", "in_sample"} <= set(data["metrics"])
    assert {"scale", "feature_names", "fallback", "pooled", "groups", "feature_means"} <= set(data["linear"])


def test_round_trip_keeps_model_and_predictions(default_model, alatas_frame, tmp_path):
    path = default_model.save(tmp_path / "m.json")
    again = pmt.load_model(path)
    assert again.to_dict() == default_model.to_dict()
    assert again.fingerprint() == default_model.fingerprint()
    np.testing.assert_array_equal(again.predict(alatas_frame), default_model.predict(alatas_frame))


def test_artefact_holds_no_survey_rows(default_model, alatas_frame):
    # no list in the artefact is as long as the survey, and no household id appears in it
    text = default_model.to_json()

    def lists(node):
        if isinstance(node, list):
            yield node
            for item in node:
                yield from lists(item)
        elif isinstance(node, dict):
            for item in node.values():
                yield from lists(item)

    assert max(len(lst) for lst in lists(json.loads(text))) < 100
    assert "hhid" not in text
    assert "hhid" in alatas_frame.columns
    assert len(text) < 100_000


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.update(schema="other"), "bukan model PMT"),
        (lambda d: d.update(schema_version=99), "lebih baru"),
        (lambda d: d.update(kind="forest"), "tidak dikenal"),
        (lambda d: d["linear"]["pooled"]["coefficients"].pop("tfloor"), "tidak cocok"),
        (lambda d: d.pop("created_at"), "rusak"),
    ],
)
def test_corrupt_artefact_is_refused_bilingually(default_model, mutate, fragment):
    data = default_model.to_dict()
    mutate(data)
    with pytest.raises(pmt.ArtefactInvalid) as caught:
        PmtModel.from_dict(data)
    assert fragment in caught.value.message_id
    assert caught.value.message_en


def test_unreadable_model_file(tmp_path):
    (tmp_path / "m.json").write_text("[")
    with pytest.raises(pmt.ArtefactInvalid, match="bukan JSON"):
        pmt.load_model(tmp_path / "m.json")
    with pytest.raises(pmt.ArtefactInvalid, match="tidak dapat dibaca"):
        pmt.load_model(tmp_path / "absent.json")


def test_coefficient_rows_cover_every_group_and_the_intercept(default_model):
    rows = default_model.coefficient_rows()
    groups = {r["region_group"] for r in rows}
    assert groups == {"pooled", "12", "33", "73"}
    n_terms = len(default_model.spec.feature_names) + 1
    assert len(rows) == 4 * n_terms
    coefs = default_model.decimal_coefficients("33")
    assert str(coefs.intercept) == next(
        r["coefficient"] for r in rows if r["region_group"] == "33" and r["term"] == "(intercept)"
    )
