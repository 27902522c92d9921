"""Fixtures of the exchange tests: a small ranked (and decided) synthetic register of Kulon Progo (34.01), reused
from the decree tests, and users of the roles that export and import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dtsen.exchange import datasets as ds
from tests.programs import fixtures_decree as fd

REGENCY = fd.REGENCY
OTHER_REGENCY = fd.OTHER_REGENCY
synth_dir = fd.synth_dir
work_dir = fd.work_dir
ranked = fd.ranked
run = fd.run
user_with = fd.user_with
__all__ = ["ds", "pa"]


@pytest.fixture
def pusdatin(db: None) -> Any:
    return user_with("pusdatin.nasional", "pusdatin", "")


@pytest.fixture
def dinsos(db: None) -> Any:
    return user_with("dinsos.kp", "dinsos_verifier", REGENCY)


@pytest.fixture
def dinsos_other(db: None) -> Any:
    return user_with("dinsos.bantul", "dinsos_verifier", OTHER_REGENCY)


def read_parquet(path: Path) -> pa.Table:
    return pq.read_table(path)


def read_csv(path: Path, schema: pa.Schema) -> pa.Table:
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types=schema, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False))


def synth_persons(synth_dir: Path) -> list[dict[str, Any]]:
    """The synthetic persons with their plain NIK (the file the register was loaded from)."""
    return pq.read_table(synth_dir / "persons.parquet").to_pylist()
