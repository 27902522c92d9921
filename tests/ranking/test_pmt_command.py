"""`dtsen pmt fit | evaluate | explain` through the Django command, and the real CLI's exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from .conftest import SPECS


def _run(*args: str) -> str:
    out = StringIO()
    call_command("pmt", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def fitted(alatas_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pmt") / "model.json"
    _run("fit", "--survey", str(alatas_path), "--spec", str(SPECS / "alatas45.json"), "--out", str(out))
    return out


def test_fit_then_evaluate_json_gives_the_documented_keys(fitted, alatas_path):
    # given a model fitted by the command
    assert json.loads(fitted.read_text())["kind"] == "linear_regional"
    # when it is evaluated with --format json
    payload = json.loads(
        _run("evaluate", "--model", str(fitted), "--survey", str(alatas_path), "--format", "json")
    )
    # then one JSON object carries r2, spearman and the four coverages with every error measure
    assert {"r2", "spearman", "coverage"} <= set(payload)
    assert set(payload["coverage"]) == {"0.1", "0.2", "0.3", "0.4"}
    for entry in payload["coverage"].values():
        assert {"error_rate", "inclusion_error", "exclusion_error", "ier", "eer"} <= set(entry)
    assert 0.4 < payload["r2"] < 0.7
    assert payload["survey_is_training_data"] is True


def test_evaluate_writes_markdown_and_plots(fitted, alatas_path, tmp_path):
    text = _run(
        "evaluate", "--model", str(fitted), "--survey", str(alatas_path), "--report-dir", str(tmp_path)
    )
    assert "R²" in text
    report = (tmp_path / "pmt_evaluation.md").read_text()
    assert "Alatas et al. (2012)" in report
    assert "Brown et al. (2018)" in report
    for png in ("pmt_predicted_vs_actual.png", "pmt_errors_by_coverage.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_evaluate_defaults_to_the_shipped_model(alatas_path):
    payload = json.loads(_run("evaluate", "--survey", str(alatas_path), "--format", "json"))
    assert payload["model_id"].startswith("alatas45-linear_regional-")


def test_explain_prints_indonesian_contributions(alatas_path):
    text = _run("explain", "--survey", str(alatas_path), "--row", "0")
    assert "Skor / score" in text
    assert "dinding bukan tembok" in text  # row 0 has non-brick walls


@pytest.mark.parametrize(
    ("args", "fragment_id", "fragment_en"),
    [
        (["evaluate", "--survey", "/nonexistent/survey.csv"], "tidak ditemukan", "not found"),
        (
            ["evaluate", "--survey", "{survey}", "--coverages", "0.3,abc"],
            "Cakupan tidak sah",
            "Invalid coverages",
        ),
        (
            ["evaluate", "--survey", "{missing_column}"],
            "Kolom tidak ditemukan: tfloor",
            "Column(s) not found: tfloor",
        ),
        (
            ["fit", "--survey", "{survey}", "--spec", "{bad_spec}", "--out", "{out}"],
            "Spesifikasi fitur",
            "feature spec",
        ),
        (
            ["evaluate", "--model", "{bad_spec}", "--survey", "{survey}"],
            "bukan model PMT",
            "not a dtsen PMT model",
        ),
    ],
)
def test_bad_input_gives_bilingual_error(alatas_frame, alatas_path, tmp_path, args, fragment_id, fragment_en):
    missing = tmp_path / "missing.csv"
    alatas_frame.head(50).drop(columns=["tfloor"]).to_csv(missing, index=False)
    bad_spec = tmp_path / "spec.json"
    bad_spec.write_text(json.dumps({"name": "x", "features": [{"name": "a", "transform": "cube"}]}))
    values = {
        "survey": str(alatas_path),
        "missing_column": str(missing),
        "bad_spec": str(bad_spec),
        "out": str(tmp_path / "m.json"),
    }
    with pytest.raises(CommandError) as caught:
        _run(*[a.format(**values) for a in args])
    message = str(caught.value)
    assert fragment_id in message
    assert fragment_en in message


def test_cli_exits_non_zero_with_both_languages(tmp_path):
    env = {**os.environ, "DTSEN_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dtsen", "pmt", "evaluate", "--survey", str(tmp_path / "none.csv")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Berkas survei tidak ditemukan" in result.stderr
    assert "Survey file not found" in result.stderr
