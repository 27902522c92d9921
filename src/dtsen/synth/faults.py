"""Realistic faults injected into a synthetic chunk, with the truth written to `faults.parquet`.

Rates are fractions: of persons for duplicates, deceased and excluded; of families for stale KK numbers. Each
chunk gets round(rate x its persons or families) faults, so the totals match the rates up to rounding.

- `duplicate`: a second record of an existing person (new person_code). Primary variant, one of:
  `name_typo` (one keyboard slip), `name_variant` (Muhammad/Muhamad/Mohammad/M., Siti/St., old spelling
  Djoko/Joko, abbreviated or dropped last word, initial), `nik_digit` (one digit changed or two adjacent
  digits swapped; never another person's NIK), `date_swap` (day and month swapped, only when both are
  <= 12 and differ), `stale_kk` (the record sits in an old family record carrying the family's previous KK
  number, a "ghost" family with the duplicate as head), `moved` (listed in a family of another village),
  `exact` (identical record in another family of the same village). 30% get a second variant among the
  first four. Duplicates that are neither moved nor stale_kk are in another family of the same village, or
  (30%) twice on the same KK. The NIK is the original one unless `nik_digit`.
- `deceased`: a person who died (death date within 3 years before the reference date, chosen with weights
  rising steeply with age) and is still listed as alive.
- `excluded`: a person in an exclusion category (Kepmensos 73/HUK/2024: ASN, TNI, Polri, BUMN staff, village
  official, certified teacher, state pensioner...) flagged in the exclusions table; preferably adults already
  in formal service work with senior-high education; occupation set to match, and employment to formal
  services when the category needs it.
- `stale_kk`: the family's registry KK number is an old one (issued before the youngest member's birth when
  possible); the true current number is in the fault row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from dtsen.registry.nik import nik_validate
from dtsen.synth import assumptions as a
from dtsen.synth import identifiers as ids
from dtsen.synth.names import name_typo, name_variant
from dtsen.synth.population import Batch, Context, exact_age, family_codes

Array = np.ndarray[Any, Any]

FAULTS_SCHEMA = pa.schema(
    [
        pa.field("fault_id", pa.int64()),
        pa.field("kind", pa.string()),  # duplicate | deceased | excluded | stale_kk
        pa.field("variants", pa.string()),  # duplicates: '|'-separated variants
        pa.field("person_code", pa.string()),  # the affected record (the duplicate record for duplicates)
        pa.field("family_code", pa.string()),  # the family holding it
        pa.field("original_person_code", pa.string()),  # duplicates: the true record
        pa.field("original_family_code", pa.string()),
        pa.field("original_name", pa.string()),
        pa.field("recorded_name", pa.string()),
        pa.field("original_birth_date", pa.date32()),
        pa.field("recorded_birth_date", pa.date32()),
        pa.field("original_nik", pa.string()),
        pa.field("recorded_nik", pa.string()),
        pa.field("original_village_code", pa.string()),
        pa.field("recorded_village_code", pa.string()),
        pa.field("original_kk_number", pa.string()),  # stale_kk: the true current KK
        pa.field("recorded_kk_number", pa.string()),  # as in the registry
        pa.field("death_date", pa.date32()),
        pa.field("exclusion_category", pa.string()),
        pa.field("original_occupation", pa.string()),
    ]
)

EXCLUSIONS_FIELDS = ("person_code", "category", "source", "source_ref", "observed_on")


@dataclass(frozen=True)
class FaultRates:
    duplicates: float = 0.0
    deceased: float = 0.0
    excluded: float = 0.0
    stale_kk: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "duplicates": self.duplicates,
            "deceased": self.deceased,
            "excluded": self.excluded,
            "stale_kk": self.stale_kk,
        }


def _race(rng: np.random.Generator, weights: Array, count: int) -> Array:
    """`count` distinct indices drawn with probability proportional to `weights` (exponential race),
    sorted."""
    count = min(count, int((weights > 0).sum()))
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    keys = rng.exponential(size=len(weights)) / np.where(weights > 0, weights, np.nan)
    keys = np.where(np.isnan(keys), np.inf, keys)
    return np.sort(np.argpartition(keys, count - 1)[:count])


class FaultLog:
    """Accumulates fault rows of one chunk."""

    def __init__(self, start_id: int) -> None:
        self.rows: dict[str, list[Any]] = {f.name: [] for f in FAULTS_SCHEMA}
        self.next_id = start_id

    def add(self, **values: Any) -> None:
        for name in self.rows:
            if name == "fault_id":
                self.rows[name].append(self.next_id)
            else:
                self.rows[name].append(values.get(name))
        self.next_id += 1

    def table(self) -> pa.Table:
        return pa.table(self.rows, schema=FAULTS_SCHEMA)


def _date(value: Any) -> dt.date:
    days = int(np.asarray(value, dtype="datetime64[D]").astype(np.int64))
    return dt.date(1970, 1, 1) + dt.timedelta(days=days)


def faults_inject(
    ctx: Context,
    batch: Batch,
    *,
    tables: dict[str, pa.Table],
    rates: FaultRates,
    rng: np.random.Generator,
    log: FaultLog,
) -> dict[str, pa.Table]:
    """Apply the faults to one chunk's tables; returns the new tables (plus 'exclusions')."""
    fam = {
        name: tables["families"].column(name).to_pylist()
        for name in ("family_code", "kk_number", "kk_previous")
    }
    persons = tables["persons"]
    n_fam = tables["families"].num_rows
    n_per = persons.num_rows
    exclusions: dict[str, list[Any]] = {f: [] for f in EXCLUSIONS_FIELDS}
    age = batch.per["age"]
    owner = batch.per["fam"]

    # stale KK numbers
    if rates.stale_kk > 0:
        count = round(rates.stale_kk * n_fam)
        weight = np.where(batch.fam["has_prev"], 1.0, 1000.0)
        chosen = _race(rng, weight, count)
        youngest = np.full(n_fam, np.datetime64("1900-01-01", "D"))
        np.maximum.at(youngest, owner, batch.per["birth"])
        issued = batch.fam["kk_issued"][chosen]
        upper = np.minimum(issued, youngest[chosen])  # before the youngest member's birth when possible
        upper = np.where(upper - issued < np.timedelta64(-5 * 365, "D"), issued, upper)
        back = (1 + rng.random(len(chosen)) * 5 * 365).astype(np.int64).astype("timedelta64[D]")
        stale_date = upper - back
        kec6 = ctx.village_kec6[batch.fam["village"][chosen]]
        keys = ids.kk_key(kec6, stale_date)
        stale = ids.with_serial(keys, ctx.kk_counter.issue(keys))
        for i, f in enumerate(chosen):
            true_kk = fam["kk_number"][f]
            fam["kk_number"][f] = str(stale[i])
            fam["kk_previous"][f] = None  # the registry never learnt of the later numbers
            log.add(
                kind="stale_kk",
                family_code=fam["family_code"][f],
                original_kk_number=true_kk,
                recorded_kk_number=str(stale[i]),
            )

    # deceased but listed
    if rates.deceased > 0:
        count = round(rates.deceased * n_per)
        chosen = _race(rng, np.exp(0.09 * (np.minimum(age, 100) - 70.0)), count)
        birth = batch.per["birth"][chosen]
        lower = np.maximum(
            birth + np.timedelta64(1, "D"), ctx.as_of_days - np.timedelta64(a.DEATH_WINDOW_DAYS, "D")
        )
        span = np.maximum((ctx.as_of_days - lower).astype(np.int64), 1)
        death = lower + (rng.random(len(chosen)) * span).astype(np.int64).astype("timedelta64[D]")
        sub = persons.take(pa.array(chosen)).to_pydict()
        for i in range(len(chosen)):
            log.add(
                kind="deceased",
                person_code=sub["person_code"][i],
                family_code=sub["family_code"][i],
                original_name=sub["name"][i],
                original_nik=sub["nik"][i],
                original_birth_date=sub["birth_date"][i],
                death_date=_date(death[i]),
            )

    # exclusion categories
    if rates.excluded > 0:
        persons = _exclusions(
            ctx, batch, persons=persons, rate=rates.excluded, rng=rng, log=log, out=exclusions
        )

    tables = dict(tables)
    tables["families"] = _set_columns(
        tables["families"], {"kk_number": fam["kk_number"], "kk_previous": fam["kk_previous"]}
    )
    tables["persons"] = persons
    if rates.duplicates > 0:
        tables = _duplicates(ctx, batch, tables=tables, rate=rates.duplicates, rng=rng, log=log)
    exclusion_schema = pa.schema(
        [pa.field(n, pa.date32() if n == "observed_on" else pa.string()) for n in EXCLUSIONS_FIELDS]
    )
    tables["exclusions"] = pa.table(exclusions, schema=exclusion_schema)
    return tables


def _set_columns(table: pa.Table, columns: dict[str, Any]) -> pa.Table:
    for name, values in columns.items():
        idx = table.schema.get_field_index(name)
        table = table.set_column(idx, table.schema.field(idx), pa.array(values, table.schema.field(idx).type))
    return table


def _exclusions(
    ctx: Context,
    batch: Batch,
    *,
    persons: pa.Table,
    rate: float,
    rng: np.random.Generator,
    log: FaultLog,
    out: dict[str, list[Any]],
) -> pa.Table:
    per = batch.per
    age = per["age"]
    n = len(age)
    count = round(rate * n)
    working_age = (age >= 20) & (age <= 57) & (per["school"] == 0)
    formal = per["employment"] == 1
    services = per["sector"] == 3
    high = per["education"] >= 3
    weight = np.where(working_age, 1.0 + 3.0 * high + 10.0 * formal + 50.0 * (formal & services & high), 0.0)
    weight += np.where((age >= 58) & (age <= 80) & high, 2.0, 0.0)  # state pensioners
    chosen = _race(rng, weight, count)
    cats = [c for c, _, _ in a.EXCLUSION_CATEGORIES]
    active = [i for i, c in enumerate(cats) if c != "pensiunan"]
    probs = np.array([p for _, p, _ in a.EXCLUSION_CATEGORIES])
    p_active = probs[active] / probs[active].sum()
    pick = np.array(active)[
        np.searchsorted(np.cumsum(p_active), rng.random(len(chosen)), side="right").clip(0, len(active) - 1)
    ]
    pick = np.where(age[chosen] >= 58, cats.index("pensiunan"), pick)
    observed = ctx.as_of_days - rng.integers(1, 366, len(chosen)).astype("timedelta64[D]")
    cols = persons.select(
        ["person_code", "family_code", "occupation", "employment_type", "sector"]
    ).to_pydict()
    occupation, employment, sector = cols["occupation"], cols["employment_type"], cols["sector"]
    for j, i in enumerate(chosen):
        category = cats[pick[j]]
        source = a.EXCLUSION_CATEGORIES[pick[j]][2]
        log.add(
            kind="excluded",
            person_code=cols["person_code"][i],
            family_code=cols["family_code"][i],
            exclusion_category=category,
            original_occupation=occupation[i],
        )
        out["person_code"].append(cols["person_code"][i])
        out["category"].append(category)
        out["source"].append(source)
        out["source_ref"].append(f"{source.upper()}-{ctx.as_of.year}-{log.next_id - 1:08d}")
        out["observed_on"].append(_date(observed[j]))
        occupation[i] = a.EXCLUSION_OCCUPATION[category]
        if category != "pensiunan":
            employment[i] = "formal"
            if category not in ("pegawai_bumn_bumd", "pengurus_perusahaan") or sector[i] == "tidak_bekerja":
                sector[i] = "jasa"
    return _set_columns(persons, {"occupation": occupation, "employment_type": employment, "sector": sector})


_SECOND = ("name_typo", "name_variant", "nik_digit", "date_swap")


def _duplicates(
    ctx: Context,
    batch: Batch,
    *,
    tables: dict[str, pa.Table],
    rate: float,
    rng: np.random.Generator,
    log: FaultLog,
) -> dict[str, pa.Table]:
    persons = tables["persons"]
    families = tables["families"]
    n_per = persons.num_rows
    n_fam = families.num_rows
    count = round(rate * n_per)
    if count == 0:
        return tables
    chosen = np.sort(rng.choice(n_per, size=min(count, n_per), replace=False))
    owner = batch.per["fam"]
    village = batch.fam["village"]
    kinds = [v for v, _ in a.DUPLICATE_VARIANTS]
    probs = np.array([p for _, p in a.DUPLICATE_VARIANTS])
    primary = np.searchsorted(np.cumsum(probs / probs.sum()), rng.random(len(chosen)), side="right").clip(
        0, len(kinds) - 1
    )
    second = np.where(
        rng.random(len(chosen)) < a.DUPLICATE_SECOND_VARIANT, rng.integers(0, 4, len(chosen)), -1
    )
    same_family = rng.random(len(chosen)) < a.DUPLICATE_SAME_FAMILY
    # host families: a random family of the same village, or of another village (moved)
    by_village = np.argsort(village, kind="stable")
    v_sorted = village[by_village]
    v_first = np.searchsorted(v_sorted, village, side="left")
    v_count = np.searchsorted(v_sorted, village, side="right") - v_first
    sorted_pos = np.empty(n_fam, dtype=np.int64)
    sorted_pos[by_village] = np.arange(n_fam)
    src = persons.take(pa.array(chosen)).to_pydict()
    fam_codes = families.column("family_code").to_pylist()
    fam_kk = families.column("kk_number").to_pylist()
    fam_prev = families.column("kk_previous").to_pylist()
    fam_village = families.column("village_code").to_pylist()
    member_next = np.bincount(owner, minlength=n_fam) + 1
    niks_in_chunk = set(persons.column("nik").to_pylist())
    typo_niks: list[str] = []
    # earlier KK numbers for the families of stale_kk duplicates that have none yet (issued in one batch)
    stale = kinds.index("stale_kk")
    need = np.unique(owner[chosen[primary == stale]])
    need = need[[fam_prev[f] is None for f in need]] if len(need) else need
    if len(need):
        for f, number in zip(need, _old_kk(ctx, batch, need, rng), strict=True):
            fam_prev[int(f)] = number

    dup_rows: list[int] = []  # index into persons of the copied record
    dup_family: list[int] = []  # host family index (>= n_fam: ghost family number n_fam + g)
    changes: dict[str, list[Any]] = {
        "person_code": [],
        "family_code": [],
        "name": [],
        "birth_date": [],
        "nik": [],
        "relationship": [],
    }
    ghosts: list[int] = []  # original family of each ghost family
    ghost_codes: list[str] = []
    ghost_kk: list[str] = []
    for j, i in enumerate(chosen):
        f = int(owner[i])
        variants = [kinds[primary[j]]]
        if second[j] >= 0 and _SECOND[second[j]] != variants[0]:
            variants.append(_SECOND[second[j]])
        name = src["name"][j]
        birth = src["birth_date"][j]
        nik = src["nik"][j]
        applied: list[str] = []
        for wanted in variants:
            variant = wanted
            if variant == "name_variant":
                new = name_variant(name, rng)
                if new is None:
                    variant, new = "name_typo", name_typo(name, rng)
                name = new
            elif variant == "name_typo":
                name = name_typo(name, rng)
            elif variant == "date_swap":
                if birth.day <= 12 and birth.day != birth.month:
                    birth = birth.replace(day=birth.month, month=birth.day)
                else:
                    variant, name = "name_typo", name_typo(name, rng)
            elif variant == "nik_digit":
                nik = _nik_typo(ctx, nik, rng, niks_in_chunk)
                typo_niks.append(nik)
            if variant not in applied:
                applied.append(variant)
        # where the duplicate is listed
        relationship = "famili_lain" if rng.random() < 0.8 else "lainnya"
        if "stale_kk" in applied:
            ghost_no = len(ghosts)
            v = int(village[f])
            ctx.extra_families[v] += 1
            ghosts.append(f)
            ghost_codes.append(family_codes(ctx, np.array([v]), np.array([ctx.extra_families[v]]))[0].as_py())
            ghost_kk.append(str(fam_prev[f]).split("|")[-1])
            host = n_fam + ghost_no
            relationship = "kepala"
            member_no = 1
        else:
            host = f
            if "moved" in applied:
                host = _other_village_family(rng, village, f)
                if host < 0:
                    applied[applied.index("moved")] = "exact"
                    host = f
            if "moved" not in applied and not same_family[j] and v_count[f] > 1:
                cand = v_first[f] + int(rng.integers(v_count[f] - 1))
                cand += int(cand >= sorted_pos[f])  # skip the family itself
                host = int(by_village[cand])
            if host == f:
                relationship = src["relationship"][j] if src["relationship"][j] != "kepala" else "famili_lain"
                if nik == src["nik"][j]:
                    # A KK cannot list one NIK twice (the importer refuses it): a same-KK duplicate carries a
                    # mistyped NIK, as it does in practice.
                    nik = _nik_typo(ctx, nik, rng, niks_in_chunk)
                    typo_niks.append(nik)
                    applied.append("nik_digit")
            member_no = int(member_next[host])
            member_next[host] += 1
        host_code = ghost_codes[host - n_fam] if host >= n_fam else fam_codes[host]
        person_code = f"{host_code}{member_no:02d}"
        host_village = fam_village[f] if host >= n_fam else fam_village[host]
        host_kk = ghost_kk[host - n_fam] if host >= n_fam else fam_kk[host]
        dup_rows.append(int(i))
        dup_family.append(host)
        changes["person_code"].append(person_code)
        changes["family_code"].append(host_code)
        changes["name"].append(name)
        changes["birth_date"].append(birth)
        changes["nik"].append(nik)
        changes["relationship"].append(relationship)
        log.add(
            kind="duplicate",
            variants="|".join(applied),
            person_code=person_code,
            family_code=host_code,
            original_person_code=src["person_code"][j],
            original_family_code=fam_codes[f],
            original_name=src["name"][j],
            recorded_name=name,
            original_birth_date=src["birth_date"][j],
            recorded_birth_date=birth,
            original_nik=src["nik"][j],
            recorded_nik=nik,
            original_village_code=fam_village[f],
            recorded_village_code=host_village,
            original_kk_number=fam_kk[f],
            recorded_kk_number=host_kk,
        )

    _reserve(ctx, typo_niks)
    dups = persons.take(pa.array(dup_rows, pa.int64()))
    dups = _set_columns(dups, changes)
    out = dict(tables)
    out["persons"] = pa.concat_tables([persons, dups])
    families = _set_columns(families, {"kk_previous": fam_prev})
    if ghosts:
        ghost_idx = pa.array(ghosts, pa.int64())
        ghost_tab = families.take(ghost_idx)
        ghost_heads = [changes["person_code"][k] for k, h in enumerate(dup_family) if h >= n_fam]
        ghost_tab = _set_columns(
            ghost_tab,
            {
                "family_code": ghost_codes,
                "kk_number": ghost_kk,
                "head_person_code": ghost_heads,
                "pengurus_person_code": ghost_heads,
                "kk_previous": [None] * len(ghosts),
                "family_no": [None] * len(ghosts),
            },
        )
        families = pa.concat_tables([families, ghost_tab])
        cond = tables["conditions"].take(ghost_idx)
        earlier = batch.fam["observed_on"][np.array(ghosts)] - np.timedelta64(730, "D")
        cond = _set_columns(cond, {"family_code": ghost_codes, "observed_on": earlier})
        out["conditions"] = pa.concat_tables([tables["conditions"], cond])
    out["families"] = families
    return out


def _other_village_family(rng: np.random.Generator, village: Array, f: int) -> int:
    n = len(village)
    for _ in range(8):
        pick = int(rng.integers(n))
        if village[pick] != village[f]:
            return pick
    others = np.flatnonzero(village != village[f])
    return int(others[rng.integers(len(others))]) if len(others) else -1


def _old_kk(ctx: Context, batch: Batch, fams: Array, rng: np.random.Generator) -> list[str]:
    """Earlier KK numbers (1 day to 5 years before the current one) for families `fams`."""
    back = (1 + rng.random(len(fams)) * 5 * 365).astype(np.int64).astype("timedelta64[D]")
    issued = batch.fam["kk_issued"][fams] - back
    keys = ids.kk_key(ctx.village_kec6[batch.fam["village"][fams]], issued)
    return [str(v) for v in ids.with_serial(keys, ctx.kk_counter.issue(keys))]


def _nik_typo(ctx: Context, nik: str, rng: np.random.Generator, taken: set[str]) -> str:
    """One digit changed (or two adjacent digits swapped); never an issued NIK, and still structurally valid
    (known region, real date, serial not 0000): a typo that breaks the structure is refused at the door by the
    importer, so only the valid ones reach the registry and matter for deduplication. The caller reserves the
    result in the NIK counter (see `_reserve`), so it is never issued later."""
    for _ in range(20):
        digits = list(nik)
        region = rng.random()
        pos = int(rng.integers(0, 6)) if region < 0.2 else int(rng.integers(6, 12 if region < 0.6 else 16))
        if rng.random() < 0.3 and pos < 15 and digits[pos] != digits[pos + 1]:
            digits[pos], digits[pos + 1] = digits[pos + 1], digits[pos]
        else:
            digits[pos] = str((int(digits[pos]) + int(rng.integers(1, 10))) % 10)
        new = "".join(digits)
        key, serial = int(new[:12]), int(new[12:])
        issued = ctx.nik_counter.last(np.array([key]))[0]
        if new != nik and new not in taken and serial > issued and nik_validate(new) is None:
            taken.add(new)
            return new
    # fall back: a serial far above any issued one
    while True:
        new = nik[:12] + f"{9000 + int(rng.integers(1000)):04d}"
        if new not in taken:
            taken.add(new)
            return new


def _reserve(ctx: Context, niks: list[str]) -> None:
    if niks:
        ctx.nik_counter.reserve(np.array([int(v[:12]) for v in niks]), np.array([int(v[12:]) for v in niks]))


__all__ = ["FAULTS_SCHEMA", "FaultLog", "FaultRates", "exact_age", "faults_inject"]
