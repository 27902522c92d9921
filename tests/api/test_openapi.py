"""The OpenAPI document: served at /api/v1/openapi.json, valid against the OpenAPI 3.1 meta-schema (checked by
schemathesis' own loader), a copy checked into docs/openapi.json that must not be stale, and every operation
documents its refusals with the one error body."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "openapi.json"


@pytest.fixture
def served(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_document_validates(served):
    schemathesis.openapi.from_dict(served).validate()  # raises on a document that breaks the meta-schema


def test_a_broken_document_is_refused(served):
    broken = {**served, "paths": {"/x": {"get": {"responses": "nothing"}}}}
    with pytest.raises(Exception, match=r"responses|nothing|valid"):
        schemathesis.openapi.from_dict(broken).validate()


def test_docs_copy_is_current(served):
    assert json.loads(DOC.read_text()) == served, "docs/openapi.json is stale: run python scripts/render_openapi.py"
    check = subprocess.run([sys.executable, "scripts/render_openapi.py", "--check"], cwd=ROOT, check=False)
    assert check.returncode == 0


def test_every_operation_is_authenticated_and_documents_its_refusals(served):
    operations = [(path, method, op) for path, ops in served["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 24
    for path, method, op in operations:
        if path.endswith("/openapi.json"):
            continue
        assert op.get("security"), (path, method)
        for status in ("401", "403", "422", "429"):
            ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorOut"), (path, method, status)
        if method == "post":
            names = {p["name"] for p in op.get("parameters", [])}
            assert "Idempotency-Key" in names, path
