"""Fixtures of the ranking-run tests (imported by the `test_run_*` modules).

A small synthetic register (`dtsen.synth`, Kulon Progo, 34.01) is written once per session and loaded
into the test database with the ORM's bulk inserts plus one history version per row (channel
"synthetic"), as the importer would; single families for the edge cases go through the registry services.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from dtsen.accounts.services import role_assign
from dtsen.ranking.engine.spark import spark_available, spark_session
from dtsen.registry import choices as c
from dtsen.registry import services as reg
from dtsen.registry.crypto import nik_encrypt, nik_hash
from dtsen.registry.models import Condition, Family, Person
from dtsen.synth.services import population_generate
from tests.registry.factories import VILLAGE_A, VILLAGE_B, condition, household

SYNTH_FAMILIES = 1500
SYNTH_SEED = 11
_HISTORY = {"history_channel": "synthetic"}
_CONDITION_FIELDS = {
    "tenure", "floor_material", "wall_material", "roof_material", "toilet", "drinking_water", "lighting",
    "power_va", "cooking_fuel", "received_credit", "observed_on",
}  # fmt: skip


def spark_or_skip() -> Any:
    """pyspark and a Java runtime, else skip the test (they are installed in CI and on this machine)."""
    pytest.importorskip("pyspark")
    if not spark_available():
        pytest.skip("Java is not installed")
    return spark_session(app_name="dtsen-tests")


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    population_generate(out_dir=out, region_code="34.01", n_families=SYNTH_FAMILIES, seed=SYNTH_SEED)
    return out


def registry_load(
    directory: Path, *, limit: int | None = None, when: dt.datetime | None = None
) -> list[Family]:
    """Insert a synthetic population (families, persons, conditions) with one version per row."""
    when = when or timezone.now() - dt.timedelta(days=1)
    fam_rows = pq.read_table(directory / "families.parquet").to_pylist()[:limit]
    codes = {r["family_code"] for r in fam_rows}
    families = [
        Family(family_code=r["family_code"], kk_number=r["kk_number"], village_code=r["village_code"],
               rw=r["rw"] or "", rt=r["rt"] or "", address=r["address"] or "")
        for r in fam_rows
    ]  # fmt: skip
    bulk_create_with_history(families, Family, default_date=when, custom_historical_attrs=_HISTORY)
    by_code = {f.family_code: f for f in Family.objects.filter(family_code__in=codes)}
    per_rows = [
        r for r in pq.read_table(directory / "persons.parquet").to_pylist() if r["family_code"] in codes
    ]
    persons = []
    for r in per_rows:
        persons.append(Person(
            family=by_code[r["family_code"]], person_code=r["person_code"], nik_hash=nik_hash(r["nik"]),
            nik_enc=nik_encrypt(r["nik"]), name=r["name"], sex=r["sex"], birth_date=r["birth_date"],
            birth_place=r["birth_place"] or "", relationship=r["relationship"],
            marital_status=r["marital_status"],
            education=r["education"], school_level=r["school_level"], sector=r["sector"],
            employment_type=r["employment_type"], disability=r["disability"],
            disability_severity=r["disability_severity"], pregnant=bool(r["pregnant"]),
            life_status=r["life_status"], death_date=r["death_date"], death_source=r["death_source"] or "",
        ))  # fmt: skip
    bulk_create_with_history(persons, Person, default_date=when, custom_historical_attrs=_HISTORY)
    people = {p.person_code: p.pk for p in Person.objects.filter(family__family_code__in=codes)}
    heads = []
    for r in fam_rows:
        fam = by_code[r["family_code"]]
        fam.head_id = people.get(r["head_person_code"])
        fam.pengurus_id = people.get(r["pengurus_person_code"] or r["head_person_code"])
        heads.append(fam)
    bulk_update_with_history(heads, Family, ["head", "pengurus"], default_date=when + dt.timedelta(seconds=1),
                             custom_historical_attrs=_HISTORY)  # fmt: skip
    cond_rows = [
        r for r in pq.read_table(directory / "conditions.parquet").to_pylist() if r["family_code"] in codes
    ]
    conditions = []
    for r in cond_rows:
        values = {k: v for k, v in r.items() if k.startswith("asset_") or k in _CONDITION_FIELDS}
        conditions.append(Condition(family=by_code[r["family_code"]], channel=c.Channel.SYNTHETIC,
                                    floor_area_m2=Decimal(str(round(r["floor_area_m2"], 1))),
                                    source_ref=r["source_ref"] or "", **values))  # fmt: skip
    Condition.objects.bulk_create(conditions, batch_size=2000)
    Condition.objects.filter(family__family_code__in=codes).update(recorded_at=when)
    return list(by_code.values())


@pytest.fixture
def synthetic_registry(db: None, synth_dir: Path) -> list[Family]:
    return registry_load(synth_dir)


@pytest.fixture
def ranker(db: None) -> Any:
    """A national BPS analyst: may run the ranking."""
    user = get_user_model().objects.create_user("bps.analis", password="rahasia-sekali-123")
    role_assign(user=user, role="bps_analyst", region_code="")
    return user


@pytest.fixture
def operator_village_a(db: None) -> Any:
    user = get_user_model().objects.create_user("operator.desa.a", password="rahasia-sekali-123")
    role_assign(user=user, role="operator_desa", region_code=VILLAGE_A)
    return user


@pytest.fixture
def operator_village_b(db: None) -> Any:
    user = get_user_model().objects.create_user("operator.desa.b", password="rahasia-sekali-123")
    role_assign(user=user, role="operator_desa", region_code=VILLAGE_B)
    return user


@pytest.fixture
def registrar(db: None) -> Any:
    return get_user_model().objects.create_superuser(
        "pusat.rank", "pusat.rank@example.id", "rahasia-sekali-123"
    )


def family_register(actor: Any, *, serial: int, village: str = VILLAGE_A, with_condition: bool = True,
                    **condition_kw: Any) -> Family:  # fmt: skip
    head, members = household(serial, kec=village[:8])
    return reg.family_register(
        actor=actor, channel=c.Channel.WEB, reason="Pendaftaran uji", kk_number=f"34010112031{serial:05d}",
        village_code=village, head=head, members=members,
        condition=condition(**condition_kw) if with_condition else None, registered_on=dt.date(2025, 1, 2),
    )  # fmt: skip


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ranking-work"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)
