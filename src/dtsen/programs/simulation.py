"""Policy simulation ("what if"): a changed rule set against the current one, on the same inputs, unpublished.

`simulation_compare` (engine level) decides every program over the inputs (engine.py) with the rules in
force, then again with the changed rules, and compares the two in SQL that DuckDB and Spark both run. The
second pass decides only the programs the change can move (`affected_programs`: the changed programs and,
transitively, those that may not overlap with one of them and decide later), together with the earlier
programs whose selections block them; every other program's rows are the first pass's, which the change
cannot move. A change to the shared checks (exclusions, pengurus age, overlap pairs) decides everything
again. The report has:

programs   per program: units selected (families, or persons for person programs), families reached, persons
           in them, waiting list, cost per tahap; units gained and lost, and kept units whose amount changed
regions    per program and kabupaten/kota: units selected and cost per tahap under each rule set
desil      per program and desil: units gained and lost
families   families receiving at least one cash program under each rule set, gained and lost
changes    (Parquet under out_dir/changes) one row per unit gained, lost or whose amount changed: program,
           family_id, person_id, regency_code, desil, change (masuk | keluar | nilai), both amounts and, for
           a unit lost, its reason under the changed rules (`di_luar_sasaran` when it is no candidate at all)
coverage   only with a ground truth (family_id, consumption_pc, [members]), e.g. the synthetic population's
           true per-capita consumption: persons are ordered by their family's true consumption (then family
           id) and the poorest 10, 20 and 40 % of persons are taken (the family that straddles the line
           counts whole). Coverage = share of those persons whose family receives the program (at least one
           cash program, for "cash"); leakage = share of the persons in receiving families who are outside the
           poorest 40 %. Weights are the truth's `members` (else the living members in the inputs); a
           receiving family without a truth row (a ghost duplicate) counts as outside.

"Cash" programs are those that pay the family: every program with an amount except PBI-JK, whose amount is
the premium the state pays to BPJS Kesehatan (`NOT_CASH`); in-kind programs (Sekolah Rakyat) have none.

`policy_simulate` is the service: national `program.run` permission, inputs from the register as of a date
and a finished ranking run (as an eligibility run builds them), the rules in force on that date against
those rules with `changes` (rules.with_changes), an audit record, nothing published. With `keep_run` the
changed rules are also stored as an eligibility run marked `simulation=True` (never ratified).
"""
# ruff: noqa: S608
# (SQL text built from program codes that rules.py checked (identifiers) and integer constants; the truth is
# registered as a table. No citizen value enters it.)

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dtsen.accounts.selectors import Actor
from dtsen.audit.services import audit_record
from dtsen.core.errors import ValidationFailed
from dtsen.programs import services as svc
from dtsen.programs.engine import RESULT_COLUMNS, eligibility_compute
from dtsen.programs.inputs import inputs_build
from dtsen.programs.rules import RuleSet, rules_parse, with_changes
from dtsen.ranking.engine import engine_open
from dtsen.ranking.engine.base import BatchEngine, parquet_glob
from dtsen.ranking.engine.duck import DuckDBEngine, duckdb_connect, sql_string
from dtsen.ranking.engine.transfer import Column, fetch_into
from dtsen.ranking.models import RankingRun
from dtsen.ranking.models import RunStatus as RankingStatus
from dtsen.ranking.snapshot import freeze_instant
from dtsen.registry.models import Family

POOREST = (10, 20, 40)
NOT_CASH = frozenset({"pbi_jk"})
CASH = "*tunai"  # coverage row of "at least one cash program"
ANY = "*semua"  # coverage row of "at least one program"
CHANGE_COLUMNS = ("program", "family_id", "person_id", "regency_code", "desil", "change", "amount_base",
                  "amount_changed", "reason_changed")
OUT_OF_TARGET = "di_luar_sasaran"


@dataclass
class SimulationReport:
    """What a simulation found; `as_dict()` is plain JSON (CLI, page, audit)."""

    base: dict[str, Any]
    changed: dict[str, Any]
    programs: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    desil: list[dict[str, Any]]
    families: dict[str, int]
    coverage: dict[str, Any] | None
    changes_path: str
    timings: dict[str, float]
    context: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The short form kept in the audit record (no per-region rows)."""
        return {"programs": {p["program"]: {"selected": [p["base"]["selected"], p["changed"]["selected"]],
                                            "amount": [p["base"]["amount"], p["changed"]["amount"]],
                                            "gained": p["gained"], "lost": p["lost"]} for p in self.programs},
                "families": self.families}


def _rules_info(rules: RuleSet) -> dict[str, Any]:
    return {"edition": rules.edition, "sha256": rules.sha256,
            "programs": {p.code: {"desil_min": p.desil_min, "desil_max": p.desil_max} for p in rules.programs}}


def cash_programs(rules: RuleSet) -> list[str]:
    return sorted(p.code for p in rules.programs if p.amount_kind != "in_kind" and p.code not in NOT_CASH)


def _in(codes: list[str]) -> str:
    return "(" + (", ".join("'" + c + "'" for c in codes) or "''") + ")"


def _rows(engine: BatchEngine, query: str) -> list[dict[str, Any]]:
    return engine.fetch(query).to_pylist()


def _program_counts(engine: BatchEngine, table: str) -> dict[str, dict[str, int]]:
    rows = _rows(engine, f"""SELECT r.program,
       SUM(CASE WHEN r.outcome = 'terpilih' THEN 1 ELSE 0 END) AS selected,
       SUM(CASE WHEN r.outcome = 'daftar_tunggu' THEN 1 ELSE 0 END) AS waiting,
       SUM(CASE WHEN r.outcome = 'tidak_terpilih' THEN 1 ELSE 0 END) AS not_selected,
       SUM(CASE WHEN r.outcome = 'terpilih' THEN r.amount ELSE 0 END) AS amount
FROM {table} r GROUP BY r.program""")
    reach = _rows(engine, f"""SELECT s.program, COUNT(*) AS families, SUM(COALESCE(m.members, 0)) AS persons
FROM (SELECT DISTINCT program, family_id FROM {table} WHERE outcome = 'terpilih') s
LEFT JOIN sim_members m ON m.family_id = s.family_id
GROUP BY s.program""")
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out[r["program"]] = {k: int(r[k] or 0) for k in ("selected", "waiting", "not_selected", "amount")}
        out[r["program"]] |= {"families": 0, "persons": 0}
    for r in reach:
        out[r["program"]] |= {"families": int(r["families"] or 0), "persons": int(r["persons"] or 0)}
    return out


def _changes_sql() -> str:
    """Units selected under one rule set and not the other, or under both with another amount."""
    return f"""SELECT COALESCE(a.program, b.program) AS program, COALESCE(a.family_id, b.family_id) AS family_id,
       COALESCE(a.person_id, b.person_id) AS person_id, COALESCE(a.regency_code, b.regency_code) AS regency_code,
       COALESCE(a.desil, b.desil) AS desil,
       CASE WHEN a.family_id IS NULL THEN 'masuk' WHEN b.family_id IS NULL THEN 'keluar' ELSE 'nilai' END AS change,
       COALESCE(a.amount, CAST(0 AS BIGINT)) AS amount_base, COALESCE(b.amount, CAST(0 AS BIGINT)) AS amount_changed,
       CASE WHEN b.family_id IS NULL THEN COALESCE(o.reason, o.outcome, '{OUT_OF_TARGET}') END AS reason_changed
FROM (SELECT program, family_id, person_id, regency_code, desil, amount FROM sim_base WHERE outcome = 'terpilih') a
FULL OUTER JOIN (SELECT program, family_id, person_id, regency_code, desil, amount FROM sim_changed
                 WHERE outcome = 'terpilih') b
  ON b.program = a.program AND b.family_id = a.family_id
     AND COALESCE(b.person_id, CAST(-1 AS BIGINT)) = COALESCE(a.person_id, CAST(-1 AS BIGINT))
LEFT JOIN (SELECT program, family_id, person_id, reason, outcome FROM sim_changed WHERE outcome <> 'terpilih') o
  ON a.family_id IS NOT NULL AND o.program = a.program AND o.family_id = a.family_id
     AND COALESCE(o.person_id, CAST(-1 AS BIGINT)) = COALESCE(a.person_id, CAST(-1 AS BIGINT))
WHERE a.family_id IS NULL OR b.family_id IS NULL OR a.amount <> b.amount"""


def _families_sql(cash: list[str]) -> str:
    return f"""SELECT SUM(CASE WHEN a.family_id IS NOT NULL THEN 1 ELSE 0 END) AS base,
       SUM(CASE WHEN b.family_id IS NOT NULL THEN 1 ELSE 0 END) AS changed,
       SUM(CASE WHEN a.family_id IS NULL THEN 1 ELSE 0 END) AS gained,
       SUM(CASE WHEN b.family_id IS NULL THEN 1 ELSE 0 END) AS lost
FROM (SELECT DISTINCT family_id FROM sim_base WHERE outcome = 'terpilih' AND program IN {_in(cash)}) a
FULL OUTER JOIN (SELECT DISTINCT family_id FROM sim_changed WHERE outcome = 'terpilih' AND program IN {_in(cash)}) b
  ON b.family_id = a.family_id"""


def _regions_sql() -> str:
    return """SELECT program, regency_code,
       SUM(CASE WHEN side = 'a' THEN 1 ELSE 0 END) AS base_selected,
       SUM(CASE WHEN side = 'a' THEN amount ELSE 0 END) AS base_amount,
       SUM(CASE WHEN side = 'b' THEN 1 ELSE 0 END) AS changed_selected,
       SUM(CASE WHEN side = 'b' THEN amount ELSE 0 END) AS changed_amount
FROM (SELECT 'a' AS side, program, regency_code, amount FROM sim_base WHERE outcome = 'terpilih'
      UNION ALL
      SELECT 'b' AS side, program, regency_code, amount FROM sim_changed WHERE outcome = 'terpilih') u
GROUP BY program, regency_code
ORDER BY program, regency_code"""


def _poor_sql(has_members: bool) -> str:
    """Each family of the truth with its weight and whether it is in the poorest 10/20/40 % of persons."""
    weight = "t.members" if has_members else "m.members"
    flags = ",\n       ".join(f"CASE WHEN before * 100 < total * {p} THEN 1 ELSE 0 END AS p{p}" for p in POOREST)
    return f"""SELECT family_id, w, {flags}
FROM (
    SELECT family_id, w,
           SUM(w) OVER (ORDER BY consumption_pc, family_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - w
             AS before,
           SUM(w) OVER () AS total
    FROM (SELECT t.family_id, CAST(t.consumption_pc AS DOUBLE) AS consumption_pc,
                 CAST(COALESCE({weight}, 0) AS BIGINT) AS w
          FROM sim_truth t LEFT JOIN sim_members m ON m.family_id = t.family_id) tw
    WHERE w > 0
) ranked"""


def _coverage_sql(programs: list[str], cash: list[str]) -> str:
    parts = []
    for side, table in (("base", "sim_base"), ("changed", "sim_changed")):
        for code in programs:
            parts.append(f"SELECT DISTINCT '{side}' AS side, '{code}' AS program, family_id FROM {table} "
                         f"WHERE outcome = 'terpilih' AND program = '{code}'")
        parts.append(f"SELECT DISTINCT '{side}' AS side, '{CASH}' AS program, family_id FROM {table} "
                     f"WHERE outcome = 'terpilih' AND program IN {_in(cash)}")
        parts.append(f"SELECT DISTINCT '{side}' AS side, '{ANY}' AS program, family_id FROM {table} "
                     "WHERE outcome = 'terpilih'")
    sums = ", ".join(f"SUM(CASE WHEN p.p{p} = 1 THEN p.w ELSE 0 END) AS reached_{p}" for p in POOREST)
    union = "\n    UNION ALL\n    ".join(parts)
    return f"""SELECT r.side, r.program, {sums},
       SUM(COALESCE(p.w, m.members, 0)) AS persons,
       SUM(CASE WHEN COALESCE(p.p40, 0) = 0 THEN COALESCE(p.w, m.members, 0) ELSE 0 END) AS outside_40,
       COUNT(*) AS families
FROM (
    {union}
) r
LEFT JOIN sim_poor p ON p.family_id = r.family_id
LEFT JOIN sim_members m ON m.family_id = r.family_id
GROUP BY r.side, r.program"""


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _coverage(engine: BatchEngine, out_dir: Path, truth: pa.Table | str | Path, base: RuleSet) -> dict[str, Any]:
    if isinstance(truth, pa.Table):
        engine.register_arrow("sim_truth", truth.select([c for c in ("family_id", "consumption_pc", "members")
                                                         if c in truth.column_names]))
        has_members = "members" in truth.column_names
    else:
        engine.register_parquet("sim_truth", truth)
        has_members = "members" in engine.fetch("SELECT * FROM sim_truth LIMIT 0").column_names
    poor = out_dir / "poor"
    engine.write_parquet(_poor_sql(has_members), poor)
    engine.register_parquet("sim_poor", poor)
    sums = ", ".join(f"SUM(CASE WHEN p{p} = 1 THEN w ELSE 0 END) AS poorest_{p}" for p in POOREST)
    totals = _rows(engine, f"SELECT SUM(w) AS persons, COUNT(*) AS families, {sums} FROM sim_poor")[0]
    programs = [p.code for p in base.by_priority()]
    rows = _rows(engine, _coverage_sql(programs, cash_programs(base)))
    result: dict[str, Any] = {
        "persons": int(totals["persons"] or 0), "families": int(totals["families"] or 0),
        "poorest_persons": {str(p): int(totals[f"poorest_{p}"] or 0) for p in POOREST},
        "cash_programs": cash_programs(base), "base": {}, "changed": {},
    }
    for side in ("base", "changed"):
        for code in [*programs, CASH, ANY]:
            r = next((x for x in rows if x["side"] == side and x["program"] == code), None)
            reached = {str(p): int(r[f"reached_{p}"] or 0) if r else 0 for p in POOREST}
            persons = int(r["persons"] or 0) if r else 0
            result[side][code] = {
                "coverage": {p: _share(n, result["poorest_persons"][p]) for p, n in reached.items()},
                "reached": reached,
                "recipients_persons": persons,
                "recipients_families": int(r["families"] or 0) if r else 0,
                "leakage": _share(int(r["outside_40"] or 0) if r else 0, persons),
            }
    return result


def _decides_before(first: str, second: str, rules: RuleSet) -> bool:
    order = {p.code: (p.priority, p.code) for p in rules.programs}
    return order[first] < order[second]


def affected_programs(base: RuleSet, changed: RuleSet) -> set[str] | None:
    """The programs whose outcome the change can move: those whose rule changed and, transitively, those that
    may not overlap with one of them and decide after it (under either rule set). None: all of them (the
    checks shared by every program, the overlap pairs or the set of programs changed)."""
    if (base.overlap, base.exclusion_categories, base.pengurus_min_age) != \
            (changed.overlap, changed.exclusion_categories, changed.pengurus_min_age) or \
            sorted(p.code for p in base.programs) != sorted(p.code for p in changed.programs):
        return None
    before = {p.code: p for p in base.programs}
    affected = {p.code for p in changed.programs if p != before[p.code]}
    grown = True
    while grown:
        grown = False
        for o in changed.overlap:
            for x, y in ((o.a, o.b), (o.b, o.a)):
                if x in affected and y not in affected and \
                        (_decides_before(x, y, changed) or _decides_before(x, y, base)):
                    affected.add(y)
                    grown = True
    return affected


def _changed_side(engine: BatchEngine, inputs: dict[str, Path], base: RuleSet, changed: RuleSet,
                  out_dir: Path) -> list[str]:
    """Register ``sim_changed``: the results under the changed rules. Only the affected programs are decided
    again, with the earlier programs they may not overlap with (their selections block); the other programs'
    rows are the base's, which the change cannot move. Returns the programs decided again."""
    affected = affected_programs(base, changed)
    if affected is None:
        engine.register_parquet("sim_changed", eligibility_compute(engine, inputs, changed, out_dir))
        return sorted(p.code for p in changed.programs)
    columns = ", ".join(RESULT_COLUMNS)
    if not affected:
        engine.execute(f"CREATE OR REPLACE TEMPORARY VIEW sim_changed AS SELECT {columns} FROM sim_base")
        return []
    needed = set(affected)
    grown = True
    while grown:
        grown = False
        for o in changed.overlap:
            for x, y in ((o.a, o.b), (o.b, o.a)):
                if x in needed and y not in needed and _decides_before(y, x, changed):
                    needed.add(y)
                    grown = True
    raw = json.loads(changed.text)
    raw["programs"] = [p for p in raw["programs"] if p["code"] in needed]
    raw["overlap"] = [o for o in raw.get("overlap") or [] if o["a"] in needed and o["b"] in needed]
    part = eligibility_compute(engine, inputs, rules_parse(json.dumps(raw)), out_dir)
    engine.register_parquet("sim_changed_part", part)
    codes = _in(sorted(affected))
    engine.execute(f"""CREATE OR REPLACE TEMPORARY VIEW sim_changed AS
SELECT {columns} FROM sim_changed_part WHERE program IN {codes}
UNION ALL
SELECT {columns} FROM sim_base WHERE program NOT IN {codes}""")
    return sorted(affected)


def simulation_compare(
    *,
    engine: BatchEngine,
    inputs: dict[str, Path],
    base_rules: RuleSet,
    changed_rules: RuleSet,
    out_dir: Path,
    truth: pa.Table | str | Path | None = None,
) -> SimulationReport:
    """Decide every program under `base_rules` and `changed_rules` over the same `inputs` and compare."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    mark = time.monotonic()
    base_results = eligibility_compute(engine, inputs, base_rules, out_dir / "base")
    timings["base"] = round(time.monotonic() - mark, 3)
    engine.register_parquet("sim_base", base_results)
    mark = time.monotonic()
    recomputed = _changed_side(engine, inputs, base_rules, changed_rules, out_dir / "changed")
    timings["changed"] = round(time.monotonic() - mark, 3)
    mark = time.monotonic()
    members = out_dir / "members"
    engine.write_parquet("SELECT family_id, COUNT(*) AS members FROM persons WHERE alive GROUP BY family_id", members)
    engine.register_parquet("sim_members", members)

    counts = {"base": _program_counts(engine, "sim_base"), "changed": _program_counts(engine, "sim_changed")}
    changes = out_dir / "changes"
    engine.write_parquet(_changes_sql(), changes)
    engine.register_parquet("sim_changes", changes)
    by_desil = _rows(engine, """SELECT program, desil,
       SUM(CASE WHEN change = 'masuk' THEN 1 ELSE 0 END) AS gained,
       SUM(CASE WHEN change = 'keluar' THEN 1 ELSE 0 END) AS lost,
       SUM(CASE WHEN change = 'nilai' THEN 1 ELSE 0 END) AS amount_changed,
       SUM(amount_changed - amount_base) AS amount_delta
FROM sim_changes GROUP BY program, desil ORDER BY program, desil""")
    desil = [{k: int(v) if k != "program" else v for k, v in r.items()} for r in by_desil]
    empty = {"selected": 0, "waiting": 0, "not_selected": 0, "amount": 0, "families": 0, "persons": 0}
    programs = []
    for p in changed_rules.by_priority():
        mine = [d for d in desil if d["program"] == p.code]
        base_p, changed_p = counts["base"].get(p.code, empty), counts["changed"].get(p.code, empty)
        programs.append({
            "program": p.code, "name": p.name, "unit": p.unit, "cash": p.code in cash_programs(changed_rules),
            "base": base_p, "changed": changed_p,
            "gained": sum(d["gained"] for d in mine), "lost": sum(d["lost"] for d in mine),
            "amount_changed": sum(d["amount_changed"] for d in mine),
            "amount_delta": changed_p["amount"] - base_p["amount"],
        })
    regions = [{k: int(v) if k not in ("program", "regency_code") else v for k, v in r.items()}
               for r in _rows(engine, _regions_sql())]
    fam = _rows(engine, _families_sql(cash_programs(base_rules)))[0]
    families = {k: int(fam[k] or 0) for k in ("base", "changed", "gained", "lost")}
    timings["compare"] = round(time.monotonic() - mark, 3)
    coverage = None
    if truth is not None:
        mark = time.monotonic()
        coverage = _coverage(engine, out_dir, truth, base_rules)
        timings["coverage"] = round(time.monotonic() - mark, 3)
    return SimulationReport(
        base=_rules_info(base_rules), changed=_rules_info(changed_rules) | {"recomputed": recomputed},
        programs=programs, regions=regions,
        desil=desil, families=families, coverage=coverage, changes_path=str(changes), timings=timings,
    )


# ------------------------------------------------------------------------------------------ changes


def _bad(message_id: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(message_id, message_en, code="simulation_change_invalid", field="changes")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _set_path(target: Any, path: list[str], value: Any, where: str) -> Any:
    """`target` with the value at `path` replaced; a list of objects is indexed by their `code`."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(target, dict):
        if head not in target and rest:
            raise _bad(f"Bagian '{head}' tidak ada di {where}.", f"There is no '{head}' in {where}.")
        target[head] = _set_path(target.get(head), rest, value, f"{where}.{head}")
        return target
    if isinstance(target, list):
        for item in target:
            if isinstance(item, dict) and str(item.get("code")) == head:
                _set_path(item, rest, value, f"{where}.{head}")
                return target
        raise _bad(f"Tidak ada '{head}' di {where}.", f"No item with code '{head}' in {where}.")
    raise _bad(f"{where} bukan objek; tidak dapat mengubah '{head}'.",
               f"{where} is not an object; cannot change '{head}'.")


def changes_parse(assignments: list[str], rules: RuleSet) -> dict[str, dict[str, Any]]:
    """`program.field[.sub...]=value` assignments (value JSON, else text) as `with_changes` changes: a nested
    path changes one value inside the program's current field, e.g. `pkh.desil_max=3`,
    `pkh.amount.components.sd.annual=1200000`, `pkh.amount.max_components=3`, `sembako.amount={"kind":
    "monthly","monthly":250000}`."""
    current = {p["code"]: p for p in json.loads(rules.text)["programs"]}
    changes: dict[str, dict[str, Any]] = {}
    for text in assignments:
        key, sep, raw = text.partition("=")
        path = [p for p in key.strip().split(".") if p]
        if not sep or len(path) < 2:
            raise _bad(f"Perubahan '{text}' harus berbentuk program.bidang=nilai.",
                       f"The change '{text}' must be program.field=value.")
        code, name = path[0], path[1]
        if code not in current:
            raise _bad(f"Program '{code}' tidak ada dalam aturan {rules.edition}.",
                       f"Program '{code}' is not in the rules {rules.edition}.")
        fields = changes.setdefault(code, {})
        start = fields[name] if name in fields else copy.deepcopy(current[code].get(name))
        fields[name] = _set_path(start, path[2:], _value(raw.strip()), f"{code}.{name}")
    return changes


def changes_check(changes: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(changes, dict) or not changes or \
            not all(isinstance(k, str) and isinstance(v, dict) and v for k, v in changes.items()):
        raise _bad("Perubahan aturan harus berupa {program: {bidang: nilai}} dan tidak kosong.",
                   "The changes must be a non-empty {program: {field: value}}.")
    return changes


# ------------------------------------------------------------------------------------------ service


TRUTH_COLUMNS: list[Column] = [("family_id", "BIGINT"), ("family_code", "VARCHAR")]


def _truth_from_codes(con: Any, truth_path: Path, work_dir: Path) -> pa.Table:
    """A ground truth keyed by family_code (the synthetic population's) as (family_id, consumption_pc, members)
    of the register's families."""
    fetch_into(con, "truth_codes", f"SELECT id, family_code FROM {Family._meta.db_table}", [], TRUTH_COLUMNS,
               work_dir=work_dir)
    source = sql_string(truth_path)
    names = set(con.sql(f"SELECT * FROM read_parquet({source}) LIMIT 0").columns)
    value = "consumption_pc_month_rp" if "consumption_pc_month_rp" in names else "consumption_pc"
    members = ", t.members" if "members" in names else ""
    if "family_code" not in names or value not in names:
        raise _bad("Berkas kebenaran harus memuat family_code dan consumption_pc_month_rp.",
                   "The truth file must have family_code and consumption_pc_month_rp.")
    query = (f"SELECT c.family_id, CAST(t.{value} AS DOUBLE) AS consumption_pc{members} "
             f"FROM read_parquet({source}) t JOIN truth_codes c ON c.family_code = t.family_code")
    table = con.sql(query).to_arrow_table()
    con.execute("DROP TABLE IF EXISTS truth_codes")
    return table


def policy_simulate(
    *,
    actor: Actor,
    changes: dict[str, dict[str, Any]],
    period: str,
    as_of: dt.date,
    ranking_run: RankingRun | None = None,
    engine: str = "duckdb",
    keep_run: bool = False,
    truth_path: str | Path | None = None,
    changes_out: str | Path | None = None,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """A "what if" over the register as of `as_of`: the rules in force then against the same rules with
    `changes`; returns the report (SimulationReport.as_dict with its context). Nothing is published."""
    svc._national(actor)
    svc.period_check(period)
    changes = changes_check(changes)
    if as_of > timezone.localdate():
        raise ValidationFailed("Tanggal data tidak boleh di masa depan.", "The as-of date cannot be in the future.",
                               field="as_of")
    base = svc.rules_in_force(as_of)
    changed = with_changes(base, changes)
    ranking = ranking_run or svc._latest_ranking()
    if ranking.status != RankingStatus.FINISHED:
        raise ValidationFailed("Pemeringkatan ini belum selesai.", "That ranking run is not finished.",
                               field="ranking_run")
    root = Path(work_dir or Path(settings.DATA_DIR) / "work")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="simulasi-", dir=root))
    started = time.monotonic()
    try:
        con = duckdb_connect(temp_directory=tmp / "duckdb.tmp")
        try:
            frozen_at = freeze_instant(as_of, timezone.now())
            paths, input_sha = inputs_build(con=con, out_dir=tmp / "inputs", as_of=as_of, frozen_at=frozen_at,
                                            ranking_run=ranking, period=period)
            truth = _truth_from_codes(con, Path(truth_path), tmp) if truth_path else None
            built = time.monotonic()
            batch = DuckDBEngine(con) if engine == "duckdb" else engine_open(engine)
            try:
                report = simulation_compare(engine=batch, inputs=paths, base_rules=base, changed_rules=changed,
                                            out_dir=tmp / "sim", truth=truth)
                version = batch.version
            finally:
                if not isinstance(batch, DuckDBEngine):
                    batch.close()
            if changes_out:
                target = Path(changes_out)
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir(parents=True)
                for part in sorted(Path(report.changes_path).glob("*.parquet")):
                    shutil.copy2(part, target / part.name)
                report.changes_path = parquet_glob(target)
            else:
                report.changes_path = ""
        finally:
            con.close()
        report.timings = {"inputs": round(built - started, 3), **report.timings}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    run_id = None
    if keep_run:
        run = svc.eligibility_run(actor=actor, period=period, as_of=as_of, ranking_run=ranking, rules=changed,
                                  simulation=True, engine=engine, work_dir=work_dir)
        run_id = run.pk
    report.context = {"period": period, "as_of": as_of.isoformat(), "ranking_run": ranking.pk,
                      "input_sha256": input_sha, "engine": version, "changes": changes, "simulation_run": run_id}
    with transaction.atomic():
        audit_record(actor=actor, action="policy_simulate", object_type="eligibility_simulation",
                     object_id=run_id or "", after={**report.context, "base_sha256": base.sha256,
                                                    "changed_sha256": changed.sha256, **report.summary()})
    return report.as_dict()
