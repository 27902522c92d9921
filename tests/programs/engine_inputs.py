"""Hand-made engine inputs: a few families whose outcome each rule decides, written as Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

FAMILY_SCHEMA = pa.schema([
    ("family_id", pa.int64()), ("village_code", pa.string()), ("regency_code", pa.string()),
    ("desil", pa.int32()), ("percentile", pa.float64()), ("active", pa.bool_()), ("dup_family", pa.bool_()),
])
PERSON_SCHEMA = pa.schema([
    ("person_id", pa.int64()), ("family_id", pa.int64()), ("age", pa.int32()), ("sex", pa.string()),
    ("pregnant", pa.bool_()), ("severe_disability", pa.bool_()), ("school_level", pa.string()),
    ("alive", pa.bool_()), ("nik_ok", pa.bool_()), ("matched", pa.bool_()), ("dup_nik", pa.bool_()),
    ("is_pengurus", pa.bool_()),
])
EXCLUSION_SCHEMA = pa.schema([("person_id", pa.int64()), ("family_id", pa.int64()), ("category", pa.string())])
QUOTA_SCHEMA = pa.schema([("program", pa.string()), ("regency_code", pa.string()), ("quota", pa.int64())])


def family(fid: int, desil: int | None, *, percentile: float | None = None, village: str = "34.01.01.2001",
           active: bool = True, dup_family: bool = False) -> dict[str, Any]:
    return {"family_id": fid, "village_code": village, "regency_code": village[:5], "desil": desil,
            "percentile": percentile if percentile is not None else (desil or 0) * 10 - 5 + fid / 1000,
            "active": active, "dup_family": dup_family}


def person(pid: int, fid: int, age: int, sex: str = "L", *, pregnant: bool = False, disability: bool = False,
           school: str = "tidak_sekolah", alive: bool = True, nik_ok: bool = True, matched: bool = True,
           dup_nik: bool = False, pengurus: bool = False) -> dict[str, Any]:
    return {"person_id": pid, "family_id": fid, "age": age, "sex": sex, "pregnant": pregnant,
            "severe_disability": disability, "school_level": school, "alive": alive, "nik_ok": nik_ok,
            "matched": matched, "dup_nik": dup_nik, "is_pengurus": pengurus}


def write_inputs(directory: Path, families: list[dict], persons: list[dict], exclusions: list[dict] | None = None,
                 quotas: list[dict] | None = None) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    tables = {
        "families": pa.Table.from_pylist(families, FAMILY_SCHEMA),
        "persons": pa.Table.from_pylist(persons, PERSON_SCHEMA),
        "exclusions": pa.Table.from_pylist(exclusions or [], EXCLUSION_SCHEMA),
        "quotas": pa.Table.from_pylist(quotas or [], QUOTA_SCHEMA),
    }
    paths = {}
    for name, table in tables.items():
        paths[name] = directory / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths
