"""Shared test markers."""

import os

import pytest

# A test that does not touch the database runs once, in CI's SQLite pass, not again in the PostgreSQL pass
# (CI runs the suite twice and has 20 minutes for both).
DATABASE_INDEPENDENT = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="independent of the database; runs in the SQLite pass",
)
