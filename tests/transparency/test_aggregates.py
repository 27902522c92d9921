"""Transparency data (issue 7, part 3): small-count and complementary suppression, hierarchy sums, the open
data files (CSV parses, JSON matches schema.json) and the public pages, with no personal data anywhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from dtsen.accounts.services import system_actor
from dtsen.programs.models import MembershipStatus
from dtsen.ranking.models import RankingResult, RankingRun
from dtsen.registry.models import Family, Person
from dtsen.transparency import aggregates as agg
from dtsen.updates.models import Usulan, UsulanKind, UsulanStatus
from tests.programs.people import membership, register

SCHEMA = json.loads((Path(agg.__file__).with_name("schema.json")).read_text())
KEC_A = "34.01.01.2001"  # Temon
KEC_B = "34.01.02.2001"  # Wates


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = "tests.transparency.urls_transparency"
    cache.clear()
    yield
    cache.clear()


# ---------------------------------------------------------------- the suppression rule on plain matrices


def _with_total(rows: list[list[int]]) -> list[list[int]]:
    """Rows plus a last row of column sums, each row ending with its total."""
    rows = [[*r, sum(r)] for r in rows]
    return [*rows, [sum(col) for col in zip(*rows, strict=True)]]


def _lines(values: list[list[int]], has_total: bool) -> list[list[tuple[int, int]]]:
    n_rows, n_cols = len(values), len(values[0])
    lines = [[(r, c) for r in range(n_rows)] for c in range(n_cols)] if n_rows > 1 else []
    if has_total:
        lines += [[(r, c) for c in range(n_cols)] for r in range(n_rows)]
    return lines


def _assert_safe(values: list[list[int]], flags: list[list[str]], has_total: bool,
                 guide: list[list[int]] | None = None) -> None:
    guide = guide or values
    for r, row in enumerate(values):
        for c, _v in enumerate(row):
            g = guide[r][c]
            if 0 < g < agg.THRESHOLD:
                assert flags[r][c] == agg.FLAG_SMALL, (r, c, g)
            if g == 0:
                assert flags[r][c] == "", "zero stays 0"
            if flags[r][c] == agg.FLAG_COMPLEMENT:
                assert g >= agg.THRESHOLD or g > 0
    for line in _lines(values, has_total):
        hidden = [rc for rc in line if flags[rc[0]][rc[1]]]
        # total = sum of the others: one hidden entry in a line is recovered by subtraction
        assert len(hidden) != 1, f"line {line} leaks {hidden}"


def test_small_cells_hidden_zero_and_five_shown() -> None:
    values = _with_total([[0, 1, 4, 5, 20], [7, 0, 0, 9, 30]])
    flags = agg.suppress(values, has_total=True)
    assert flags[0][:5] == ["", "<5", "<5", "", ""]
    assert flags[1][1] == ""
    assert flags[1][2] == ""
    cells = agg._cells(values[0], flags[0])
    assert cells[0] == agg.Cell(0)
    assert cells[1] == agg.Cell(None, "<5")
    assert cells[3].value == 5
    _assert_safe(values, flags, True)


def test_single_small_cell_gets_complement_in_row_and_column() -> None:
    values = _with_total([[3, 6, 40], [8, 9, 50]])
    flags = agg.suppress(values, has_total=True)
    assert flags[0][0] == "<5"
    # the row's next smallest (6) and the column's next smallest (8) are hidden too
    assert flags[0][1] == "c"
    assert flags[1][0] == "c"
    _assert_safe(values, flags, True)


def test_complement_never_picks_zero() -> None:
    values = _with_total([[2, 0, 0, 0], [0, 0, 0, 11]])
    flags = agg.suppress(values, has_total=True)
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            if v == 0:
                assert flags[r][c] == ""
    _assert_safe(values, flags, True)


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_leak(seed: int) -> None:
    rnd = random.Random(seed)
    n_rows, n_cols = rnd.randint(1, 6), rnd.randint(2, 10)
    rows = [[rnd.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 14, 40]) for _ in range(n_cols)] for _ in range(n_rows)]
    values = _with_total(rows)
    _assert_safe(values, agg.suppress(values, has_total=True), True)
    no_total = [r[:-1] for r in values]
    _assert_safe(no_total, agg.suppress(no_total, has_total=False), False)


def test_persons_follow_family_counts() -> None:
    families = _with_total([[2, 7], [6, 8]])
    persons = _with_total([[9, 30], [25, 31]])
    flags = agg.suppress(persons, has_total=True, guide=families)
    assert flags[0][0] == "<5"  # 9 persons but 2 families
    _assert_safe(persons, flags, True, guide=families)


def test_fixed_row_is_kept() -> None:
    values = _with_total([[6, 7], [5, 9]])
    region_flags = ["c", "", "c"]  # decided on the parent's page
    flags = agg.suppress(values, has_total=True, fixed={2: region_flags})
    assert flags[2] == region_flags
    assert any(flags[r][0] for r in range(2))
    assert any(flags[r][2] for r in range(2))
    _assert_safe(values, flags, True)


# ---------------------------------------------------------------- real data: Kulon Progo


def _ranking(families_desil: list[tuple[Family, int]]) -> RankingRun:
    run = RankingRun.objects.create(period="2026-Q1", cutoff=timezone.localdate(), frozen_at=timezone.now(),
                                    engine="duckdb", model_id="uji", model_sha256="0" * 64, model_artefact={},
                                    status="finished", finished_at=timezone.now())
    for i, (fam, desil) in enumerate(families_desil):
        RankingResult.objects.create(run=run, family=fam, family_code=fam.family_code,
                                     village_code=fam.village_code, region_group="uji", persons=3, score=1000 + i,
                                     predicted_pce=Decimal("500000"), percentile=Decimal("5.0"), desil=desil)
    return run


def _usulan(village: str, status: str, n: int) -> None:
    for i in range(n):
        Usulan.objects.create(reference=f"USL-202601-{status[:3].upper()}{village[-4:]}{i:02d}"[:32],
                              kind=UsulanKind.CORRECTION, status=status, village_code=village,
                              created_by=system_actor(), status_changed_at=timezone.now())


@pytest.fixture
def registry(db) -> dict[str, Any]:
    """Temon: 6 families in desil 1, 1 in desil 3; Wates: 3 in desil 1. PKH for 6 of Temon, 2 of Wates."""
    temon = [register(i, KEC_A) for i in range(1, 8)]
    wates = [register(20 + i, KEC_B) for i in range(3)]
    _ranking([(f, 1) for f in temon[:6]] + [(temon[6], 3)] + [(f, 1) for f in wates])
    for f in temon[:6] + wates[:2]:
        membership(f, "pkh")
    membership(wates[2], "pkh", status=MembershipStatus.DEACTIVATED)
    _usulan(KEC_A, UsulanStatus.APPLIED, 5)
    _usulan(KEC_A, UsulanStatus.DINSOS_CHECK, 2)
    _usulan(KEC_A, UsulanStatus.DRAFT, 3)  # drafts are not received
    return {"temon": temon, "wates": wates}


def _row(data: agg.Transparency, table: str, code: str) -> list[agg.Cell]:
    return next(r.cells for r in data.tables[table].rows if r.code == code)


def _published_safe(data: agg.Transparency) -> None:
    raw = agg._build(data.code, agg.latest_run().pk)  # type: ignore[union-attr]
    for t in agg.TABLES:
        values = raw["values"][t]
        flags = [[c.flag for c in r.cells] for r in data.tables[t].rows]
        guide = raw["values"]["desil_families"] if t == "desil_persons" else None
        _assert_safe(values, flags, data.tables[t].has_total, guide=guide)


def test_kabupaten_counts_and_suppression(registry) -> None:
    data = agg.transparency_get("34.01")
    temon = _row(data, "desil_families", "34.01.01")
    assert temon[0] == agg.Cell(6) or temon[0].flag == "c"
    assert temon[2] == agg.Cell(None, "<5")  # one family in desil 3
    assert temon[1] == agg.Cell(0)
    wates = _row(data, "desil_families", "34.01.02")
    assert wates[0] == agg.Cell(None, "<5")
    assert wates[-1] == agg.Cell(None, "<5")
    kab = _row(data, "desil_families", "34.01")
    assert kab[-1] == agg.Cell(10)
    pkh = data.tables["programs"].columns.index("pkh")
    assert _row(data, "programs", "34.01.02")[pkh] == agg.Cell(None, "<5")  # 2 active (1 deactivated)
    assert _row(data, "programs", "34.01.01")[pkh] == agg.Cell(None, "c")  # else 8 - 6 gives Wates away
    assert _row(data, "programs", "34.01")[pkh] == agg.Cell(8)
    usulan = _row(data, "usulan", "34.01.01")
    assert usulan == [agg.Cell(None, "c"), agg.Cell(None, "<5"), agg.Cell(7)]  # 5 decided, 2 pending, 7 in all
    for code in ("", "34", "34.01", "34.01.01", KEC_A):
        _published_safe(agg.transparency_get(code))


def test_hierarchy_sums_and_same_row_on_parent_and_child_page(registry) -> None:
    run_id = agg.latest_run().pk  # type: ignore[union-attr]
    for code in ("", "34", "34.01", "34.01.01"):
        raw = agg._build(code, run_id)
        for t in agg.TABLES:
            *children, own = raw["values"][t]
            if not children:
                continue
            assert own == [sum(col) for col in zip(*children, strict=True)], (code, t)
    assert agg._build("", run_id)["values"]["desil_families"][-1][-1] == 10
    for parent, child in (("", "34"), ("34", "34.01"), ("34.01", "34.01.01"), ("34.01.01", KEC_A)):
        on_parent = agg.transparency_get(parent)
        own = agg.transparency_get(child)
        for t in agg.TABLES:
            assert _row(on_parent, t, child) == _row(own, t, child), (parent, child, t)


def _validate(instance: Any, schema: dict[str, Any], path: str = "$") -> None:
    """The subset of JSON Schema that schema.json uses (jsonschema is not installed)."""
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if "type" in schema:
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any((isinstance(instance, int) and not isinstance(instance, bool)) if w == "integer"
                 else isinstance(instance, types[w]) for w in wanted)
        assert ok, f"{path}: {instance!r} is not {wanted}"
    if "enum" in schema:
        assert instance in schema["enum"], path
    if "const" in schema:
        assert instance == schema["const"], path
    if "pattern" in schema and isinstance(instance, str):
        assert re.search(schema["pattern"], instance), path
    if "minimum" in schema and isinstance(instance, int):
        assert instance >= schema["minimum"], path
    if "maximum" in schema and isinstance(instance, int):
        assert instance <= schema["maximum"], path
    if isinstance(instance, dict):
        for key in schema.get("required", []):
            assert key in instance, f"{path}: missing {key}"
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            assert set(instance) <= set(props), f"{path}: extra {set(instance) - set(props)}"
        for key, value in instance.items():
            if key in props:
                _validate(value, props[key], f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                _validate(value, schema["additionalProperties"], f"{path}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            _validate(item, schema["items"], f"{path}[{i}]")
    if "if" in schema:
        try:
            _validate(instance, schema["if"], path)
        except AssertionError:
            _validate(instance, schema["else"], path)
        else:
            _validate(instance, schema["then"], path)


def _personal(registry: dict[str, Any]) -> list[str]:
    families = registry["temon"] + registry["wates"]
    out = [f.family_code for f in families]
    out += ["Budi Santoso", "Siti Aminah", "Dewi Lestari"]
    out += [p.nik_hash for p in Person.objects.filter(family__in=families) if getattr(p, "nik_hash", "")]
    out += [kk for f in families for kk in [getattr(f, "kk_number", "")] if kk]
    return [s for s in out if s]


@pytest.mark.parametrize("code", ["", "34.01", KEC_A])
def test_open_data_files_and_page(client, registry, code: str) -> None:
    base = f"/transparansi/{code}/" if code else "/transparansi/"
    page = client.get(base)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<caption>" in html
    assert 'scope="col"' in html
    assert 'lang="id"' in html
    if code == "34.01":
        assert 'href="/transparansi/34.01.01/"' in html
        assert 'data-suppressed="&lt;5"' in html

    doc = client.get(base + "data.json").json()
    _validate(doc, SCHEMA)
    assert doc["region"]["code"] == code
    text = client.get(base + "data.csv").content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == agg.CSV_HEADER
    for table, _code, _name, _is_region, _col, value, flag in rows[1:]:
        assert table in agg.TABLES
        assert (value == "") == (flag != ""), "a hidden cell has no value and a flag"
        assert value == "" or int(value) == 0 or int(value) >= 1
    wates_small = [r for r in rows[1:] if r[0] == "desil_families" and r[1] == "34.01.02" and r[4] == "1"]
    if code == "34.01":
        assert wates_small
        assert wates_small[0][5:] == ["", "<5"]
    assert "family" not in json.dumps(doc)
    assert "nik" not in json.dumps(doc).lower()
    for secret in _personal(registry):
        assert secret not in html, secret
        assert secret not in text, secret
        assert secret not in json.dumps(doc), secret


def test_schema_and_unknown_region(client, db) -> None:
    schema = client.get("/transparansi/schema.json")
    assert schema.status_code == 200
    assert schema.json()["title"]
    assert client.get("/transparansi/99/").status_code == 404
    assert client.get("/transparansi/").status_code == 200  # no ranking run yet: still renders
    assert dt.date.today()
