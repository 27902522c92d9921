"""Fixtures for bulk import/export: a small, schema-valid synthetic population written as CSV or Parquet,
and helpers that count every registry and history table."""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection

from dtsen.accounts.services import role_assign, system_actor
from dtsen.registry import choices as c
from dtsen.registry.nik import nik_build
from dtsen.registry.schema import TABLES

# Real villages of the 2025 edition (Kulon Progo: Temon and Wates; Bantul: Srandakan).
VILLAGES = ["34.01.01.2001", "34.01.01.2002", "34.01.02.2001", "34.01.02.2002"]
OTHER_REGION_VILLAGE = "34.02.01.2001"

Tables = dict[str, list[dict[str, Any]]]


def population(
    n_families: int, *, seed: int = 1, prefix: str = "T", villages: list[str] | None = None
) -> Tables:
    """`n_families` families of 1-5 members with a condition snapshot each and a few exclusion flags."""
    rng = random.Random(seed)
    villages = villages or VILLAGES
    out: Tables = {name: [] for name in TABLES}
    for i in range(n_families):
        fcode = f"F{prefix}{i:06d}"
        village = villages[i % len(villages)]
        kec = village[:8]
        size = 1 + rng.randrange(5)
        head_born = dt.date(1950 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28))
        members = []
        for j in range(size):
            if j == 0:
                rel, sex, born = c.Relationship.HEAD, "L", head_born
            elif j == 1:
                rel, sex, born = c.Relationship.SPOUSE, "P", head_born + dt.timedelta(days=700)
            else:
                rel, sex = c.Relationship.CHILD, rng.choice("LP")
                born = dt.date(2000 + rng.randrange(24), 1 + rng.randrange(12), 1 + rng.randrange(28))
            pcode = f"P{prefix}{i:06d}{j}"
            nik = nik_build(kecamatan_code=kec, birth_date=born, sex=sex, serial=1 + (i * 5 + j) % 9999)
            adult = born.year < 2005
            deceased = j >= 2 and rng.random() < 0.05
            members.append(
                {
                    "person_code": pcode,
                    "family_code": fcode,
                    "nik": nik,
                    "name": f"Warga {prefix} {i} {j}",
                    "sex": sex,
                    "birth_date": born.isoformat(),
                    "birth_place": rng.choice(["Kulon Progo", "Bantul", ""]),
                    "relationship": rel,
                    "marital_status": c.MaritalStatus.MARRIED if j < 2 else c.MaritalStatus.SINGLE,
                    "education": rng.choice(list(c.Education.values)),
                    "school_level": c.SchoolLevel.NOT_ENROLLED if adult else c.SchoolLevel.SD,
                    "sector": rng.choice(list(c.Sector.values)) if adult else c.Sector.NONE,
                    "employment_type": c.EmploymentType.INFORMAL if adult else c.EmploymentType.NONE,
                    "occupation": "Petani" if adult and j == 0 else "",
                    "disability": c.Disability.NONE,
                    "disability_severity": c.DisabilitySeverity.NONE,
                    "pregnant": "true" if sex == "P" and j == 1 and rng.random() < 0.1 else "false",
                    "life_status": c.LifeStatus.DECEASED if deceased else c.LifeStatus.ALIVE,
                    "death_date": "2024-05-01" if deceased else "",
                    "death_source": c.DeathSource.DUKCAPIL if deceased else "",
                }
            )
        out["persons"].extend(members)
        shared = i % 10 == 1  # every tenth family shares the previous family's dwelling
        dwelling_no = i - 1 if shared else i
        out["families"].append(
            {
                "family_code": fcode,
                "kk_number": f"{kec.replace('.', '')}{i:010d}",
                "village_code": villages[dwelling_no % len(villages)],
                "rw": f"{1 + i % 5:03d}",
                "rt": f"{1 + i % 9:03d}",
                "address": f"Dusun {i % 7}",
                "dwelling_code": f"D{prefix}{dwelling_no:06d}",
                "building_no": str(1 + dwelling_no % 300),
                "family_no": "2" if shared else "1",
                "latitude": f"{-7.85 + (dwelling_no % 100) / 1000:.6f}",
                "longitude": f"{110.15 + (dwelling_no % 50) / 1000:.6f}",
                "head_person_code": members[0]["person_code"],
                "pengurus_person_code": members[1]["person_code"] if size > 1 else members[0]["person_code"],
                "kk_previous": f"{kec.replace('.', '')}9{i:09d}" if i % 4 == 0 else "",
            }
        )
        if shared:  # same village as the dwelling's first family
            out["families"][-1]["village_code"] = out["families"][-2]["village_code"]
        cond = {
            "family_code": fcode,
            "observed_on": "2025-03-01",
            "source_ref": f"REGSOSEK-{i}",
            "officer": "Enumerator A",
            "tenure": rng.choice(list(c.HousingTenure.values)),
            "floor_area_m2": f"{rng.randrange(20, 200)}.5",
            "floor_material": rng.choice(list(c.FloorMaterial.values)),
            "wall_material": rng.choice(list(c.WallMaterial.values)),
            "roof_material": rng.choice(list(c.RoofMaterial.values)),
            "toilet": rng.choice(list(c.Toilet.values)),
            "drinking_water": rng.choice(list(c.DrinkingWater.values)),
            "lighting": rng.choice(list(c.Lighting.values)),
            "power_va": rng.choice(["450", "900", "1300", ""]),
            "cooking_fuel": rng.choice(list(c.CookingFuel.values)),
            "received_credit": rng.choice(["true", "false"]),
        }
        for name, _, _ in c.ASSETS:
            cond[f"asset_{name}"] = rng.choice(["true", "false"])
        out["conditions"].append(cond)
        if i % 6 == 0:
            out["exclusions"].append(
                {
                    "person_code": members[0]["person_code"],
                    "category": c.ExclusionCategory.VILLAGE_OFFICIAL,
                    "source": c.ExclusionSource.AGENCY_FILE,
                    "source_ref": f"SK-{i}",
                    "observed_on": "2025-01-15",
                }
            )
    # families in the file: head order matters for villages of shared dwellings (fix them up above)
    return out


def _typed(kind: str, value: str) -> Any:
    """The value in the column's own type; ValueError when the (deliberately bad) text does not fit it."""
    if value == "":
        return None if kind != "str" else ""
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return {"true": True, "false": False}[value] if value in ("true", "false") else int("not a bool")
    if kind == "date":
        return dt.date.fromisoformat(value)
    return value


def _parquet_column(kind: str, values: list[str]) -> pa.Array:
    try:
        return pa.array([_typed(kind, v) for v in values], _ARROW[kind])
    except ValueError:
        return pa.array(values, pa.string())  # a bad value: the column travels as text


_ARROW = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


def write_files(tables: Tables, directory: Path, fmt: str = "csv") -> Path:
    """Write the tables as families.csv, persons.csv, ... (or .parquet, typed) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        schema = TABLES[name]
        if fmt == "csv":
            with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as out:
                writer = csv.DictWriter(out, fieldnames=schema.names)
                writer.writeheader()
                writer.writerows(rows)
        else:
            arrays = {
                col.name: _parquet_column(col.type, [r[col.name] for r in rows]) for col in schema.columns
            }
            pq.write_table(pa.table(arrays), directory / f"{name}.parquet")
    return directory


def registry_tables() -> list[str]:
    """Every table of the registry app, the version tables included."""
    return sorted(m._meta.db_table for m in apps.get_app_config("registry").get_models())


def table_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        out = {}
        for table in registry_tables():
            cur.execute(f"SELECT count(*) FROM {table}")
            out[table] = cur.fetchone()[0]
        return out


@pytest.fixture
def make_files(tmp_path: Path) -> Callable[..., Path]:
    def make(tables: Tables, fmt: str = "csv", name: str = "in") -> Path:
        return write_files(tables, tmp_path / name, fmt)

    return make


@pytest.fixture
def bulk_actor(db):
    return system_actor()


@pytest.fixture
def operator_kulon_progo(db):
    """A Pusdatin data administrator for Kulon Progo only (bulk rights, scope 34.01)."""
    user = get_user_model().objects.create_user("pusdatin.kp", password="rahasia-sekali-123")
    role_assign(user=user, role="pusdatin", region_code="34.01")
    return user


@pytest.fixture
def village_operator(db):
    """A village operator: may change the register but not import or export files."""
    user = get_user_model().objects.create_user("operator.desa", password="rahasia-sekali-123")
    role_assign(user=user, role="operator_desa", region_code=VILLAGES[0])
    return user
