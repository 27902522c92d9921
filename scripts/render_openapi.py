#!/usr/bin/env python3
"""Write the API's OpenAPI document (the one served at /api/v1/openapi.json) to docs/openapi.json.

`--check` exits 1 when docs/openapi.json differs from what the code describes (tests/api/test_openapi.py runs
it): change the API, then run `python scripts/render_openapi.py` and commit the document with the change."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def document() -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    import django

    django.setup()
    from dtsen.api.api import api

    return api.get_openapi_schema(path_prefix="/api/v1/")


def rendered() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    if "--help" in sys.argv or "-h" in sys.argv:
        sys.stdout.write(__doc__ or "")
        sys.exit(0)
    new = rendered()
    if "--check" in sys.argv:
        sys.exit(0 if DOC.exists() and new == DOC.read_text() else 1)
    DOC.write_text(new)
