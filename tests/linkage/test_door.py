"""The check at the door (dtsen.linkage.door) and its Python scorer (dtsen.linkage.scorer)."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import translation

from dtsen.accounts.models import Role
from dtsen.audit.models import AuditRecord
from dtsen.core.errors import Conflict, PermissionDenied
from dtsen.linkage import door, engine
from dtsen.linkage.model import ModelParams
from dtsen.linkage.scorer import Scorer
from dtsen.registry.models import Person
from tests.ranking.conftest_run import registry_load
from tests.updates.conftest import staff

REGISTERED_FAMILIES = 300


def _tf(prepared: pa.Table, column: str) -> dict[str, float]:
    values = [v for v in prepared[column].to_pylist() if v is not None]
    counts = Counter(values)
    return {k: n / len(values) for k, n in counts.items()}


def test_python_scorer_equals_splink(prepared: pa.Table, trained: ModelParams) -> None:
    """Every pair Splink scores (above -20 bits) gets the same evidence from the Python scorer: a few hundred of
    the best and a few hundred at random, so that the levels of model.py and scorer.py cannot drift apart."""
    result = engine.predict(prepared, trained, review_bits=-20.0)
    pairs = result.pairs.to_pylist()
    assert len(pairs) > 1000
    rows = {r["unique_id"]: r for r in prepared.to_pylist()}
    scorer = Scorer(trained, {"name_norm": _tf(prepared, "name_norm"), "birth_place": _tf(prepared, "birth_place")})
    pairs.sort(key=lambda p: -p["evidence"])
    sample = pairs[:300] + random.Random(9).sample(pairs[300:], 300)
    levels_seen: Counter[str] = Counter()
    for pair in sample:
        score = scorer.score(rows[pair["unique_id_l"]], rows[pair["unique_id_r"]])
        assert score.evidence == pytest.approx(pair["evidence"], abs=1e-6), (pair, score)
        levels_seen.update(score.levels.values())
    # the sample exercises the levels that matter
    for code in ("nik_same", "nik_diff", "name_same", "name_typo", "birth_same", "birth_swap", "village_same"):
        assert levels_seen[code] > 0, code


def test_scorer_refuses_params_of_another_shape(trained: ModelParams) -> None:
    broken = ModelParams(prior=trained.prior, levels={**trained.levels, "sex": trained.levels["sex"][:1]})
    with pytest.raises(ValueError):
        Scorer(broken)


# ----- against a registry ---------------------------------------------------------------------------------------


@pytest.fixture
def registered(db: Any, dup_dir: Path) -> list[dict[str, Any]]:
    families = registry_load(dup_dir, limit=REGISTERED_FAMILIES)
    codes = {f.family_code for f in families}
    persons = pq.read_table(dup_dir / "persons.parquet").to_pylist()
    villages = {r["family_code"]: r["village_code"] for r in pq.read_table(dup_dir / "families.parquet").to_pylist()}
    for r in persons:
        r["village_code"] = villages[r["family_code"]]
        r["registered"] = r["family_code"] in codes
    return persons


@pytest.fixture
def scorer(trained: ModelParams) -> Scorer:
    return Scorer(trained)


@pytest.fixture
def operator(db: Any) -> Any:
    return staff("operator.door", Role.OPERATOR_DESA, "34.01.01.2001")


def _candidate(r: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {k: r[k] for k in ("nik", "name", "sex", "birth_date", "birth_place", "village_code")}
    out.update(changes)
    return out


def _target(persons: list[dict[str, Any]]) -> dict[str, Any]:
    """A registered adult with a swappable birth date and a name of two words or more."""
    for r in persons:
        born: dt.date = r["birth_date"]
        if (r["registered"] and born.day <= 12 and born.day != born.month and " " in r["name"]
                and born.year < 2000 and r["nik"][12:] != "0000"):
            return r
    raise AssertionError("no target")


def _typo(nik: str) -> str:
    digit = str((int(nik[14]) + 1) % 10)
    return nik[:14] + digit + nik[15:]


def _found(result: list[door.LikelyDuplicate], person_code: str) -> door.LikelyDuplicate | None:
    return next((d for d in result if d.person_code == person_code), None)


def test_door_finds_injected_duplicates(registered: list[dict[str, Any]], scorer: Scorer, operator: Any) -> None:
    r = _target(registered)
    born: dt.date = r["birth_date"]
    first, _, rest = r["name"].partition(" ")
    variants = {
        "same record": _candidate(r),
        "NIK typo": _candidate(r, nik=_typo(r["nik"])),
        "name variant": _candidate(r, name=f"{first[0]}. {rest}"),
        "date swap": _candidate(r, birth_date=born.replace(day=born.month, month=born.day)),
        "NIK typo and name typo": _candidate(r, nik=_typo(r["nik"]), name=r["name"] + "H"),
    }
    for label, candidate in variants.items():
        found = _found(door.door_check(operator, candidate, scorer=scorer), r["person_code"])
        assert found is not None, label
        assert found.evidence >= engine.REVIEW_BITS, label
        assert r["nik"] not in found.nik_masked
        assert "*" in found.nik_masked
        assert found.name_masked != r["name"]
    with translation.override("en"):  # the reasons are translated (pending-door.po)
        same = _found(door.door_check(operator, variants["same record"], scorer=scorer), r["person_code"])
        swapped = _found(door.door_check(operator, variants["date swap"], scorer=scorer), r["person_code"])
    assert same is not None
    assert same.reasons[:3] == ["same NIK", "same name", "same birth date"]
    assert swapped is not None
    assert "birth day and month swapped" in swapped.reasons
    assert AuditRecord.objects.filter(action="person.door_check").exists()


def test_door_does_not_flag_an_unrelated_person(
    registered: list[dict[str, Any]], scorer: Scorer, operator: Any
) -> None:
    r = _target(registered)
    stranger = next(p for p in registered if not p["registered"] and p["birth_date"] == r["birth_date"]
                    and p["name"] != r["name"]) if any(
        not p["registered"] and p["birth_date"] == r["birth_date"] for p in registered) else None
    candidate = _candidate(r, nik="3401015507880003", name="Wulandari Kusumaningtyas", sex="P")
    if stranger is not None:
        candidate = _candidate(stranger)
    assert Person.objects.filter(birth_date=r["birth_date"]).exists()  # there are candidates to look at
    assert door.door_check(operator, candidate, scorer=scorer) == []
    # unregistered persons of the population are new: none is flagged
    flagged = 0
    newcomers = [p for p in registered if not p["registered"]][:150]
    for p in newcomers:
        flagged += bool(door.door_check(operator, _candidate(p), scorer=scorer))
    # the synthetic population holds duplicates across the registered/unregistered split: a few may be flagged
    assert flagged <= 5, flagged


def test_door_scope_and_model(
    registered: list[dict[str, Any]], scorer: Scorer, trained: ModelParams, tmp_path: Path, settings: Any
) -> None:
    r = _target(registered)
    outsider = staff("operator.other", Role.OPERATOR_DESA, "35.78.01.1001")
    result = door.door_check(outsider, _candidate(r), scorer=scorer)
    hit = _found(result, r["person_code"])
    assert hit is not None
    assert hit.in_scope is False
    local = staff("operator.local", Role.OPERATOR_DESA, r["village_code"])
    hit = _found(door.door_check(local, _candidate(r), scorer=scorer), r["person_code"])
    assert hit is not None
    assert hit.in_scope is True
    nobody = staff("viewer.none", Role.AUDITOR, "34.01")
    with pytest.raises(PermissionDenied):
        door.door_check(nobody, _candidate(r), scorer=scorer)
    settings.LINKAGE_PARAMS_FILE = ""
    with pytest.raises(Conflict):
        door.door_check(local, _candidate(r))
    path = tmp_path / "params.json"
    path.write_text(trained.as_json())
    settings.LINKAGE_PARAMS_FILE = str(path)
    assert _found(door.door_check(local, _candidate(r)), r["person_code"]) is not None
