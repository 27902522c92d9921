"""The synthetic families, persons and condition snapshots of one chunk, vectorised with numpy and pyarrow.

Order of the draws for each family (`model.py`: the fitted conditionals; `assumptions.py`: the rest):

1. latent z ~ N(0, 1); log per-capita consumption y = fitted quantile function at Phi(z);
2. family size | y (ordered logit, thresholds set to the target size distribution, mean ~3.8);
3. head: sex, age, married | y, size;
4. composition (assumed rules): spouse, parents of the head, other relatives, children, a married child with
   child-in-law and grandchildren, consistent ages (parents at least 16 years older than their children),
   sexes and marital statuses;
5. school enrolment by age and welfare; completed education consistent with enrolment and age;
6. head's education; highest education in the family (both fitted); head's work (fitted), other members' work;
7. credit, floor area, housing indicators and assets (fitted chain), then the detailed codes behind each
   indicator (assumed splits), disabilities and pregnancies (assumed rates), names, birth places, dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dtsen.registry import choices, schema
from dtsen.synth import assumptions as a
from dtsen.synth import identifiers as ids
from dtsen.synth import model as m
from dtsen.synth.geography import Layout, Region
from dtsen.synth.names import name_pools, names_draw

Array = np.ndarray[Any, Any]

RELATIONSHIP = ("kepala", "pasangan", "anak", "menantu", "cucu", "orang_tua", "famili_lain", "lainnya")
HEAD, SPOUSE, CHILD, IN_LAW, GRANDCHILD, PARENT, RELATIVE, OTHER = range(8)
MARITAL = ("belum_kawin", "kawin", "cerai_hidup", "cerai_mati")
SINGLE, MARRIED, DIVORCED, WIDOWED = range(4)
EDUCATION = ("tidak_sekolah", "sd", "smp", "sma", "diploma", "s1_plus")
SCHOOL = ("tidak", "paud", "sd", "smp", "sma", "pt")
SECTOR = ("tidak_bekerja", "pertanian", "industri", "jasa")
EMPLOYMENT = ("tidak_bekerja", "formal", "informal")
DISABILITY = ("tidak_ada", *tuple(code for code, _ in a.DISABILITY_TYPES))
SEVERITY = ("tidak_ada", *tuple(code for code, _ in a.DISABILITY_SEVERITY))
OCCUPATIONS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [a.OCCUPATION_NONE, a.OCCUPATION_STUDENT, a.OCCUPATION_HOUSEWORK]
        + [label for options in a.OCCUPATIONS.values() for label, _ in options]
        + list(a.EXCLUSION_OCCUPATION.values())
    )
)
ASSET_COLUMNS = tuple(f"asset_{name}" for name, _, _ in choices.ASSETS)
SURVEY_ASSETS = {
    "asset_ac": "ac",
    "asset_computer": "computer",
    "asset_radio": "radio",
    "asset_tv": "tv",
    "asset_dvd": "dvd",
    "asset_satellite": "satellite",
    "asset_gas_stove": "gas",
    "asset_refrigerator": "refrigerator",
    "asset_bicycle": "bicycle",
    "asset_motorcycle": "motorcycle",
    "asset_car": "auto",
    "asset_mobile_phone": "hp",
    "asset_gold": "jewelry",
    "asset_chicken": "chicken",
    "asset_cow": "cow",
}
DAYS_PER_YEAR = 365.2425

_ARROW_TYPES = {
    "str": pa.string(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


def arrow_schema(table: schema.Table) -> pa.Schema:
    return pa.schema([pa.field(col.name, _ARROW_TYPES[col.type]) for col in table.columns])


@dataclass
class Context:
    """Everything fixed for one run."""

    params: dict[str, Any]
    region: Region
    layout: Layout
    as_of: dt.date
    seed: int
    village_code10: Array = field(init=False)
    village_kec6: Array = field(init=False)
    village_kelurahan: Array = field(init=False)
    village_names: pa.Array = field(init=False)
    village_kab_names: pa.Array = field(init=False)
    officers: pa.Array = field(init=False)
    kk_counter: ids.SerialCounter = field(default_factory=ids.SerialCounter)
    nik_counter: ids.SerialCounter = field(default_factory=ids.SerialCounter)
    extra_families: Array = field(init=False)  # per village: ghost families added so far (faults)

    def __post_init__(self) -> None:
        vill = self.region.villages
        self.village_code10 = vill["code"].str.replace(".", "", regex=False).astype(np.int64).to_numpy()
        self.village_kec6 = vill["kec"].str.replace(".", "", regex=False).astype(np.int64).to_numpy()
        self.village_kelurahan = (vill["tipe"] == "kelurahan").to_numpy()
        self.village_names = pa.array(vill["name"].tolist(), pa.string())
        self.village_kab_names = pa.array(vill["kab_name"].tolist(), pa.string())
        rng = np.random.default_rng([self.seed, 7])
        self.officers = names_draw(rng, male=rng.random(512) < 0.5)[0]
        self.extra_families = np.bincount(self.layout.village, minlength=len(vill)).astype(np.int64)

    @property
    def as_of_days(self) -> np.datetime64:
        return np.datetime64(self.as_of, "D")


@dataclass
class Batch:
    """One chunk: family-level and person-level arrays (numpy), turned into Arrow tables by `to_tables`."""

    fam: dict[str, Any]
    per: dict[str, Any]


# --- helpers -----------------------------------------------------------------------------------------------


def _at_least(rng: np.random.Generator, values: Array, floor: float | Array) -> Array:
    """`values`, with those below `floor` moved to floor + U(0, 1.5) (no pile-up on one birth date)."""
    return np.where(values < floor, floor + 1.5 * rng.random(len(values)), values)


def _piecewise(values: Array, table: tuple[tuple[float, float], ...]) -> Array:
    """Step function: the probability of the first (upper bound, p) whose bound exceeds the value."""
    bounds = np.array([b for b, _ in table])
    probs = np.array([p for _, p in table])
    return probs[np.minimum(np.searchsorted(bounds, values, side="right"), len(probs) - 1)]


def _choice(rng: np.random.Generator, probs: tuple[float, ...] | Array, n: int) -> Array:
    p = np.asarray(probs, dtype=np.float64)
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1)


def _softmax_choice(
    rng: np.random.Generator, entries: tuple[tuple[Any, float, float], ...], z: Array
) -> Array:
    """Index into `entries` ((code, base logit, welfare slope), ...) drawn with softmax(base + slope * z)."""
    if len(entries) == 1:
        return np.zeros(len(z), dtype=np.int64)
    base = np.array([e[1] for e in entries])
    slope = np.array([e[2] for e in entries])
    eta = base[None, :] + z[:, None] * slope[None, :]
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return m.draw_categorical(p, rng.random(len(z))).astype(np.int64)


def _group_cumsum(values: Array, group_start: Array, owner: Array) -> Array:
    """Cumulative sum within contiguous groups (`owner` = group of each element, `group_start` per group)."""
    cs = np.cumsum(values)
    before = np.where(group_start > 0, cs[np.maximum(group_start - 1, 0)], 0.0)
    return cs - before[owner]


def exact_age(birth: Array, as_of: dt.date) -> Array:
    year, month, day = ids.date_parts(birth)
    later = month * 100 + day > as_of.month * 100 + as_of.day
    return as_of.year - year - later.astype(np.int64)


def _days(years: Array) -> Array:
    return np.floor(np.asarray(years) * DAYS_PER_YEAR).astype(np.int64)


# --- the chunk generator -----------------------------------------------------------------------------------


def batch_generate(ctx: Context, start: int, stop: int, rng: np.random.Generator) -> Batch:
    """Families `start..stop` of the layout, with their members and one condition snapshot each."""
    params = ctx.params
    models = params["models"]
    n = stop - start
    village = ctx.layout.village[start:stop]
    fam: dict[str, Any] = {"village": village, "index": np.arange(start, stop)}

    # 1-3: welfare, size, head
    z = rng.standard_normal(n)
    ylog = m.y_from_latent(params["y"], z)
    state: dict[str, Any] = {"y": (ylog - params["y"]["mean"]) / params["y"]["sd"]}
    k = m.draw_ordered(models["size"], state, rng.random(n)).astype(np.int64) + 1
    tail_sizes = np.array(list(a.SIZE_TAIL))
    tail = tail_sizes[_choice(rng, tuple(a.SIZE_TAIL.values()), n)]
    k = np.where(k >= 8, tail, k)
    state["k"] = k
    state["male"] = m.draw_logit(models["male"], state, rng.random(n))
    age_h = np.clip(
        np.round(m.draw_linear(models["age"], state, rng.random(n))), a.HEAD_MIN_AGE, a.HEAD_MAX_AGE
    )
    state["age"] = age_h
    state["married"] = m.draw_logit(models["married"], state, rng.random(n))
    fam.update(z=z, ylog=ylog, k=k)

    # 4: composition
    per = _compose(ctx, rng, state)
    owner = per["fam"]
    state["age"] = per["age"][per["fstart"]]  # exact age of the head at the reference date
    z_p = state["y"][owner]

    # 5: school and education
    _school(ctx, rng, per, z_p)
    age_p = per["age"]
    working_age = (age_p >= 15) & (age_p < 65)
    state["age04"] = np.bincount(owner, weights=age_p <= 4, minlength=n)
    in_school = (per["school"] >= 2) & (per["school"] <= 4)
    state["nsch"] = np.bincount(owner, weights=in_school, minlength=n)
    dep = np.bincount(owner, weights=~working_age, minlength=n)
    state["dep"] = dep / np.maximum(np.bincount(owner, weights=working_age, minlength=n), 1)
    _education(ctx, rng, per, state)

    # 6: work
    state["job"] = m.draw_multinomial(models["job"], state, rng.random(n))
    _work(rng, per, state)

    # 7: credit, floor, housing and assets
    state["credit"] = m.draw_logit(models["credit"], state, rng.random(n))
    area = np.maximum(np.round(np.exp(m.draw_linear(models["floor_area"], state, rng.random(n)))), 4.0)
    state["pcfloor"] = area / k
    for name in m.BINARY_CHAIN:
        state[name] = m.draw_logit(models[name], state, rng.random(n))
    fam["state"] = state
    fam["floor_area"] = area
    _conditions(ctx, rng, fam)
    _health(rng, per)
    _identity(ctx, rng, fam, per)
    return Batch(fam=fam, per=per)


def _compose(ctx: Context, rng: np.random.Generator, state: dict[str, Any]) -> dict[str, Any]:
    """Members of each family with roles, sexes, ages (birth dates) and marital statuses."""
    k = state["k"]
    n = len(k)
    male_h = state["male"].astype(bool)
    age_f = state["age"] + rng.random(n)
    married = state["married"].astype(bool)

    # head's marital status
    status = np.full(n, MARRIED)
    young = state["age"] < a.UNMARRIED_HEAD_YOUNG
    for (sex, is_young), probs in a.UNMARRIED_HEAD_STATUS.items():
        sel = ~married & (male_h == (sex == "L")) & (young == is_young)
        status[sel] = np.array([SINGLE, DIVORCED, WIDOWED])[_choice(rng, probs, int(sel.sum()))]
    never = status == SINGLE
    spouse = married & (k >= 2) & (male_h | (rng.random(n) >= a.MARRIED_FEMALE_HEAD_SPOUSE_ABSENT))
    rest = k - 1 - spouse

    # family-level ages of the couple
    gap = rng.normal(a.SPOUSE_AGE_GAP_MEAN, a.SPOUSE_AGE_GAP_SD, n)
    sp_age = np.where(
        male_h,
        np.minimum(_at_least(rng, age_f - gap, 17.0), age_f + 8.0),
        np.minimum(_at_least(rng, age_f + gap, np.maximum(17.0, age_f - 2)), 99.0),
    )
    mother = np.where(~male_h, age_f, np.where(spouse, sp_age, age_f - 4.0))
    father = np.where(male_h, age_f, np.where(spouse, sp_age, mother + 4.0))
    p_par = np.where(never, np.where(state["age"] < 55, 0.6, 0.0), _piecewise(state["age"], a.PARENT_PRESENT))
    p_par = np.where(state["age"] < 72, p_par, 0.0)  # a parent at least 20 years older, at most ~96
    n_par = np.minimum(rest, (rng.random(n) < p_par) * (1 + (rng.random(n) < a.SECOND_PARENT)))
    n_oth = np.where(never, rest - n_par, np.minimum(rest - n_par, rng.random(n) < a.OTHER_RELATIVE))
    q = rest - n_par - n_oth
    p_ext = _piecewise(state["age"], a.EXTENDED_WITH_GRANDCHILDREN)
    ext = (
        ~never
        & (state["age"] >= 45)
        & (np.minimum(father, mother) >= 38)
        & (q >= 3)
        & (rng.random(n) < p_ext)
    )
    n_inl = ext.astype(np.int64)
    n_grand = np.where(ext, 1 + rng.binomial(np.maximum(q - 3, 0), 0.5), 0)
    skip = ~never & ~ext & (state["age"] >= 50) & (q >= 1) & (rng.random(n) < a.SKIPPED_GENERATION)
    n_grand = np.where(skip, 1 + rng.binomial(np.maximum(q - 1, 0), 0.3), n_grand)
    n_child = q - n_inl - n_grand

    # persons
    total = int(k.sum())
    owner = np.repeat(np.arange(n), k)
    fstart = np.cumsum(k) - k
    pos = np.arange(total) - fstart[owner]
    b1 = 1 + spouse
    b2 = b1 + n_par
    b3 = b2 + n_oth
    b4 = b3 + n_inl
    b5 = b4 + n_child
    role = np.select(
        [pos == 0, pos < b1[owner], pos < b2[owner], pos < b3[owner], pos < b4[owner], pos < b5[owner]],
        [HEAD, SPOUSE, PARENT, RELATIVE, IN_LAW, CHILD],
        GRANDCHILD,
    )

    age = np.zeros(total)
    male = np.zeros(total, dtype=bool)
    marital = np.full(total, SINGLE)

    # children of the head
    is_child = role == CHILD
    ci = pos - b4[owner]
    child_age = _children_ages(
        rng,
        owner=owner,
        sel=is_child,
        index=ci,
        count=n_child,
        mother=mother,
        father=father,
        group_start=fstart + b4,
        n=n,
    )
    age[is_child] = child_age[is_child]
    # children the parents are too young to have had (less than ~10 months apart) are other relatives
    room = np.minimum(father, mother) - a.MIN_PARENT_AGE_AT_BIRTH
    fit = np.where(room < 0.25, 0, np.floor(room / 0.8) + 1)
    overflow = is_child & (n_child[owner] - 1 - ci >= fit[owner])
    role[overflow] = RELATIVE
    is_child &= ~overflow
    oldest_child = np.zeros(n)
    first_child = is_child & (ci == 0)
    oldest_child[owner[first_child]] = age[first_child]
    # married child (the oldest) with a child-in-law, in extended families
    lower = np.minimum(father, mother)
    mc_age = np.maximum(oldest_child, np.minimum(lower - 17.0, 20.0 + 8.0 * rng.random(n)))
    mc_male = rng.random(n) < 0.5
    inl_age = _at_least(rng, mc_age + np.where(mc_male, -3.0, 3.0) + rng.normal(0, 2, n), 17.0)
    sel = first_child & ext[owner]
    age[sel] = mc_age[owner[sel]]
    # grandchildren
    skipped_parent = np.maximum(mother - 24.0 - 6.0 * rng.random(n), 20.0 + 5.0 * rng.random(n))
    g_mother = np.where(ext, np.where(mc_male, inl_age, mc_age), skipped_parent)
    g_father = np.where(ext, np.where(mc_male, mc_age, inl_age), g_mother + 4.0)
    is_grand = role == GRANDCHILD
    gi = pos - b5[owner]
    g_age = _children_ages(
        rng,
        owner=owner,
        sel=is_grand,
        index=gi,
        count=n_grand,
        mother=g_mother,
        father=g_father,
        group_start=fstart + b5,
        n=n,
        mean_last=26.0,
    )
    age[is_grand] = g_age[is_grand]
    g_room = np.minimum(g_father, g_mother) - a.MIN_PARENT_AGE_AT_BIRTH
    g_fit = np.where(g_room < 0.25, 0, np.floor(g_room / 0.8) + 1)
    g_overflow = is_grand & (n_grand[owner] - 1 - gi >= g_fit[owner])
    role[g_overflow] = RELATIVE
    overflow |= g_overflow

    # head, spouse, in-law, parents, other relatives
    age[role == HEAD] = age_f
    sel = role == SPOUSE
    age[sel] = sp_age[owner[sel]]
    sel = role == IN_LAW
    age[sel] = inl_age[owner[sel]]
    sel = role == PARENT
    par_base = np.minimum(age_f + 20.0 + 12.0 * rng.random(n), 94.0 + 3.0 * rng.random(n))
    two = n_par[owner] == 2
    first_parent = pos == b1[owner]
    age[sel] = par_base[owner[sel]] + np.where(two[sel] & first_parent[sel], 3.0, 0.0)
    sel = role == RELATIVE
    sibling = np.clip(
        age_f[owner[sel]] + rng.normal(0, 6, int(sel.sum())), 1.0 + rng.random(int(sel.sum())), 90.0
    )
    age[sel] = np.where(never[owner[sel]] | overflow[sel], sibling, 3.0 + 67.0 * rng.random(int(sel.sum())))

    # sexes
    male[role == HEAD] = male_h
    sel = role == SPOUSE
    male[sel] = ~male_h[owner[sel]]
    sel = role == PARENT
    male[sel] = np.where(two[sel], first_parent[sel], rng.random(int(sel.sum())) < 0.3)
    sel = (role == CHILD) | (role == GRANDCHILD) | (role == RELATIVE)
    male[sel] = rng.random(int(sel.sum())) < a.MALE_BIRTH_SHARE
    sel = first_child & ext[owner]
    male[sel] = mc_male[owner[sel]]
    sel = role == IN_LAW
    male[sel] = ~mc_male[owner[sel]]

    # marital statuses
    marital[role == HEAD] = status
    marital[(role == SPOUSE) | (role == IN_LAW)] = MARRIED
    marital[first_child & ext[owner]] = MARRIED
    sel = role == PARENT
    marital[sel] = np.where(two[sel], MARRIED, np.where(rng.random(int(sel.sum())) < 0.85, WIDOWED, DIVORCED))
    adult_single = ((role == CHILD) & ~(first_child & ext[owner])) | (role == RELATIVE)
    adult_single &= age >= 19
    draws = _choice(rng, (0.80, 0.10, 0.06, 0.04), int(adult_single.sum()))
    relative = role[adult_single] == RELATIVE
    marital[adult_single] = np.where(
        relative, np.array([SINGLE, MARRIED, DIVORCED, WIDOWED])[draws], np.where(draws == 1, SINGLE, draws)
    )

    birth = ctx.as_of_days - (_days(age) + 2).astype("timedelta64[D]")  # born at least 2 days ago
    exact = exact_age(birth, ctx.as_of)
    return {
        "fam": owner,
        "pos": pos,
        "role": role,
        "male": male,
        "birth": birth,
        "age": exact,
        "marital": marital,
        "fstart": fstart,
        "spouse": spouse,
        "ext": ext,
    }


def _children_ages(
    rng: np.random.Generator,
    *,
    owner: Array,
    sel: Array,
    index: Array,
    count: Array,
    mother: Array,
    father: Array,
    group_start: Array,
    n: int,
    mean_last: float | None = None,
) -> Array:
    """Ages of a sibling group: the youngest born at the mother's age ~N(29 + 2.5 (siblings - 1), 5.5)
    (clipped 17-44), the others older by birth spacings, squeezed so that no child was born before either
    parent was 16."""
    base, per_child, sd = a.MOTHER_AGE_AT_LAST_BIRTH
    base = base if mean_last is None else mean_last
    last = np.clip(rng.normal(base + per_child * np.maximum(count - 1, 0), sd), 17.0, 44.0)
    lower = np.minimum(mother, father)
    # a mother younger than her drawn age at the last birth: the youngest child is 0-5 years old
    young_mother = np.minimum(5.0, np.maximum(lower - a.MIN_PARENT_AGE_AT_BIRTH, 0.3)) * rng.random(n)
    youngest = np.where(mother - last < 0, young_mother, mother - last)
    youngest = np.clip(youngest, 0.0, np.maximum(lower - a.MIN_PARENT_AGE_AT_BIRTH, 0.0))
    room = np.maximum(lower - a.MIN_PARENT_AGE_AT_BIRTH - youngest, 0.0)
    off, shape, scale = a.BIRTH_SPACING
    spacing = off + rng.gamma(shape, scale, len(owner))
    t = count[owner] - 1 - index  # 0 = youngest
    spacing = np.where(sel & (t > 0), spacing, 0.0)
    total = np.bincount(owner, weights=spacing, minlength=n)
    before = _group_cumsum(spacing, group_start, owner) - spacing
    cum = total[owner] - before
    factor = np.where(total > room, room / np.maximum(total, 1e-9), 1.0)
    return youngest[owner] + cum * factor[owner]


def _school(ctx: Context, rng: np.random.Generator, per: dict[str, Any], z: Array) -> None:
    age = per["age"]
    role = per["role"]
    total = len(age)
    delay = _choice(rng, a.SCHOOL_DELAY, total)
    grade = np.where(age >= 7, np.maximum(age - 6 - delay, 1), age - 6 - delay)
    band = np.select(
        [
            (grade <= 0) & (age >= 3),
            (grade >= 1) & (grade <= 6),
            (grade >= 7) & (grade <= 9),
            (grade >= 10) & (grade <= 12),
            (grade >= 13) & (grade <= 16),
        ],
        [1, 2, 3, 4, 5],
        0,
    )
    eligible = np.isin(role, (CHILD, GRANDCHILD, RELATIVE)) & (band > 0) & (per["marital"] == SINGLE)
    base = np.array([-9.0] + [a.SCHOOL_BANDS[b][0] for b in ("paud", "sd", "smp", "sma", "pt")])
    slope = np.array([0.0] + [a.SCHOOL_BANDS[b][1] for b in ("paud", "sd", "smp", "sma", "pt")])
    age_adj = np.where((band == 1) & (age <= 4), -1.0, 0.0)  # fewer 3-4 year olds in PAUD
    p = m.sigmoid(base[band] + slope[band] * z + age_adj)
    enrolled = eligible & (rng.random(total) < p)
    per["school"] = np.where(enrolled, band, 0)
    per["band"] = band
    per["grade"] = grade


def _education(ctx: Context, rng: np.random.Generator, per: dict[str, Any], state: dict[str, Any]) -> None:
    """Completed education (index into EDUCATION) of every member; sets state['he'] and state['hi']."""
    models = ctx.params["models"]
    owner = per["fam"]
    age = per["age"]
    role = per["role"]
    school = per["school"]
    total = len(age)
    n = len(state["k"])
    level = np.zeros(total, dtype=np.int64)  # 0..3: none, sd, smp, sma+
    enrolled = school > 0
    level[enrolled] = np.array([0, 0, 0, 1, 2, 3])[school[enrolled]]
    # young people out of school: level reached before leaving
    young = ~enrolled & (age >= 7) & (age <= 18) & (role != HEAD) & (role != SPOUSE)
    band = np.where(per["grade"] > 16, 5, per["band"])
    table = np.array(
        [[1, 0, 0, 0], [1, 0, 0, 0]] + [list(a.DROPOUT_COMPLETED[b]) for b in ("sd", "smp", "sma", "pt")]
    )
    cum = np.cumsum(table[band[young]], axis=1)
    level[young] = (rng.random(int(young.sum()))[:, None] >= cum).sum(axis=1)
    # adults (and all heads and spouses): the fitted head-education model applied to each person
    adult = ~enrolled & ~young & (age >= 7)
    pstate = {
        "y": state["y"][owner[adult]],
        "k": state["k"][owner[adult]],
        "age": age[adult],
        "male": per["male"][adult].astype(np.float64),
        "married": (per["marital"][adult] == MARRIED).astype(np.float64),
    }
    level[adult] = m.draw_multinomial(models["he"], pstate, rng.random(int(adult.sum())))
    is_head = role == HEAD
    he = level[is_head]
    state["he"] = he
    # highest education in the family: fitted target, placed on a member who can hold it
    current = np.maximum.reduceat(level, per["fstart"])
    mask = np.arange(4)[None, :] >= he[:, None]
    target = m.draw_multinomial(models["hi"], state, rng.random(n), mask=mask)
    min_age = np.array([0, 12, 15, 18])
    free = ~is_head & ~enrolled
    up = target > current
    candidate = free & up[owner] & (age >= min_age[target[owner]])
    score = np.where(candidate, age + np.where(role == SPOUSE, 1000, 0), -1)
    best = np.maximum.reduceat(score, per["fstart"])
    chosen = candidate & (score == best[owner])
    # keep only the first chosen member per family
    chosen_idx = np.flatnonzero(chosen)
    first = np.unique(owner[chosen_idx], return_index=True)[1]
    pick = chosen_idx[first]
    level[pick] = target[owner[pick]]
    down = free & (level > np.maximum(target, he)[owner])
    level[down] = np.maximum(target, he)[owner[down]]
    state["hi"] = np.maximum.reduceat(level, per["fstart"])
    # detailed code: "senior high or higher" split into sma / diploma / s1_plus by welfare and age
    edu = level.copy()
    top = (level == 3) & ~enrolled & (age >= 20)
    p_s1 = m.sigmoid(a.TERTIARY_S1[0] + a.TERTIARY_S1[1] * state["y"][owner[top]])
    u = rng.random(int(top.sum()))
    edu[top] = np.where((u < p_s1) & (age[top] >= 22), 5, np.where(u < p_s1 + a.TERTIARY_DIPLOMA, 4, 3))
    per["education"] = edu


def _work(rng: np.random.Generator, per: dict[str, Any], state: dict[str, Any]) -> None:
    owner = per["fam"]
    role = per["role"]
    age = per["age"]
    total = len(age)
    male = per["male"]
    job = state["job"]
    head_sector = np.array([0, 1, 2, 3, 1, 2, 3])[job]
    head_type = np.array([0, 1, 1, 1, 2, 2, 2])[job]
    sector = np.zeros(total, dtype=np.int64)
    emp = np.zeros(total, dtype=np.int64)
    is_head = role == HEAD
    sector[is_head] = head_sector
    emp[is_head] = head_type
    others = ~is_head & (per["school"] == 0) & (age >= 15)
    rate = np.where(
        age < 18,
        np.where(male, a.WORK_RATE[("L", "15-17")], a.WORK_RATE[("P", "15-17")]),
        np.where(
            age < 65,
            np.where(male, a.WORK_RATE[("L", "18-64")], a.WORK_RATE[("P", "18-64")]),
            np.where(male, a.WORK_RATE[("L", "65+")], a.WORK_RATE[("P", "65+")]),
        ),
    )
    works = others & (rng.random(total) < rate)
    own = 1 + _choice(rng, a.SECTOR_SHARES, total)
    follow = (rng.random(total) < a.SAME_SECTOR_AS_HEAD) & (head_sector[owner] > 0)
    sector[works] = np.where(follow, head_sector[owner], own)[works]
    high = per["education"] >= 3
    formal = rng.random(total) < np.where(high, a.FORMAL_RATE[1], a.FORMAL_RATE[0])
    emp[works] = np.where(formal, 1, 2)[works]
    per["sector"] = sector
    per["employment"] = emp
    # occupation label
    occ = np.zeros(total, dtype=np.int64)
    index = {label: i for i, label in enumerate(OCCUPATIONS)}
    working = emp > 0
    for key, options in a.OCCUPATIONS.items():
        sec_name, type_name = key.split("/")
        sel = working & (sector == SECTOR.index(sec_name)) & (emp == EMPLOYMENT.index(type_name))
        labels = np.array([index[label] for label, _ in options])
        occ[sel] = labels[_choice(rng, tuple(p for _, p in options), int(sel.sum()))]
    occ[per["school"] > 1] = index[a.OCCUPATION_STUDENT]
    housework = (
        ~working & (per["school"] == 0) & ~male & (age >= 18) & (rng.random(total) < a.HOUSEWORK_SHARE)
    )
    occ[housework] = index[a.OCCUPATION_HOUSEWORK]
    per["occupation"] = occ


def _health(rng: np.random.Generator, per: dict[str, Any]) -> None:
    age = per["age"]
    total = len(age)
    has = rng.random(total) < _piecewise(age, a.DISABILITY_BY_AGE)
    kind = 1 + _choice(rng, tuple(p for _, p in a.DISABILITY_TYPES), total)
    sev = 1 + _choice(rng, tuple(p for _, p in a.DISABILITY_SEVERITY), total)
    per["disability"] = np.where(has, kind, 0)
    per["severity"] = np.where(has, sev, 0)
    fertile = ~per["male"] & (per["marital"] == MARRIED)
    per["pregnant"] = fertile & (rng.random(total) < _piecewise(age, a.PREGNANT_BY_AGE)) & (age < 50)


def _conditions(ctx: Context, rng: np.random.Generator, fam: dict[str, Any]) -> None:
    state = fam["state"]
    z = state["y"]
    n = len(z)
    codes: dict[str, pa.Array] = {}
    sources = {
        "floor_material": "tfloor",
        "wall_material": "twall",
        "roof_material": "troof",
        "toilet": "toilet",
        "drinking_water": "water",
        "lighting": "lighting",
        "tenure": "house",
    }
    for column, indicator in sources.items():
        table = a.DETAIL[column]
        flag = state[indicator].astype(bool)
        names: list[str] = []
        idx = np.zeros(n, dtype=np.int64)
        for value, entries in sorted(table.items()):
            sel = flag == bool(value)
            offset = len(names)
            names.extend(code for code, _, _ in entries)
            idx[sel] = offset + _softmax_choice(rng, entries, z[sel])
        codes[column] = pa.array(names).take(pa.array(idx))
    # cooking fuel from firewood and gas stove
    names = ["kayu_bakar"] + [c for c, _, _ in a.COOKING_GAS] + [c for c, _, _ in a.COOKING_NO_GAS]
    gas = state["gas"].astype(bool)
    wood = state["fcook"].astype(bool)
    idx = np.zeros(n, dtype=np.int64)
    sel = ~wood & gas
    idx[sel] = 1 + _softmax_choice(rng, a.COOKING_GAS, z[sel])
    sel = ~wood & ~gas
    idx[sel] = 1 + len(a.COOKING_GAS) + _softmax_choice(rng, a.COOKING_NO_GAS, z[sel])
    codes["cooking_fuel"] = pa.array(names).take(pa.array(idx))
    fam["cooking_idx"] = idx
    meter = pc.equal(codes["lighting"], "pln_meter").to_numpy(zero_copy_only=False)
    va = np.array([v for v, _, _ in a.POWER_VA])[_softmax_choice(rng, a.POWER_VA, z)]
    fam["power_va"] = pa.array(va, pa.int32(), mask=~meter)
    fam["codes"] = codes
    assets: dict[str, Array] = {}
    for column in ASSET_COLUMNS:
        if column in SURVEY_ASSETS:
            assets[column] = state[SURVEY_ASSETS[column]].astype(bool)
    farm = (state["job"] == 1) | (state["job"] == 4)
    livestock = state["chicken"].astype(bool) | state["cow"].astype(bool)
    for name, (base, slope) in a.OTHER_ASSETS.items():
        eta = (
            base
            + slope * z
            + np.where(name == "land", 1.5 * farm, 0.0)
            + np.where(name == "goat", livestock, 0.0)
        )
        assets[f"asset_{name}"] = rng.random(n) < m.sigmoid(eta)
    assets["asset_flat_tv"] &= assets["asset_tv"]
    assets["asset_lpg_large"] = idx == 1 + [c for c, _, _ in a.COOKING_GAS].index("lpg_besar")
    fam["assets"] = assets
    fam["observed_on"] = ctx.as_of_days - rng.integers(1, 731, n).astype("timedelta64[D]")


def _identity(ctx: Context, rng: np.random.Generator, fam: dict[str, Any], per: dict[str, Any]) -> None:
    """Names, birth places and family dates (KK issue dates); NIK and KK serials are issued later in order."""
    owner = per["fam"]
    role = per["role"]
    n = len(fam["k"])
    total = len(owner)
    parents_gen = ~np.isin(role, (CHILD, GRANDCHILD))
    names = pa.nulls(total, pa.string())
    last = np.full(total, -1)
    idx1 = np.flatnonzero(parents_gen)
    names1, _, last1 = names_draw(rng, male=per["male"][idx1])
    last[idx1] = last1
    # children (and grandchildren) may take the father's second name
    father_last = np.full(n, -1)
    head = role == HEAD
    spouse = role == SPOUSE
    inlaw = role == IN_LAW
    male = per["male"]
    father_last[owner[head & male]] = last[head & male]
    father_last[owner[spouse & male]] = last[spouse & male]
    grand_father = np.full(n, -1)
    grand_father[owner[inlaw & male]] = last[inlaw & male]
    idx2 = np.flatnonzero(~parents_gen)
    inherit_from = np.where(role[idx2] == CHILD, father_last[owner[idx2]], grand_father[owner[idx2]])
    inherit = np.where(rng.random(len(idx2)) < a.INHERIT_LAST_NAME, inherit_from, -1)
    names2, _, _ = names_draw(rng, male=male[idx2], last_index=inherit)
    order = np.empty(total, dtype=np.int64)
    order[np.concatenate([idx1, idx2])] = np.arange(total)
    names = pa.concat_arrays([names1, names2]).take(pa.array(order))
    per["name"] = names
    pools = name_pools()
    city = pools.cities.take(pa.array(rng.integers(0, len(pools.cities), total)))
    home = ctx.village_kab_names.take(pa.array(fam["village"][owner]))
    per["birth_place"] = pc.if_else(pa.array(rng.random(total) < a.BIRTHPLACE_SAME_KAB), home, city)
    # KK issue date: after the youngest member's birth, at most 18 years before the reference date
    as_of = ctx.as_of_days
    youngest = np.full(n, np.datetime64("1900-01-01", "D"))
    np.maximum.at(youngest, owner, per["birth"])
    lower = np.maximum(
        youngest + np.timedelta64(1, "D"), as_of - np.timedelta64(int(a.KK_MAX_AGE_YEARS * 365), "D")
    )
    lower = np.minimum(lower, as_of - np.timedelta64(1, "D"))
    span = (as_of - lower).astype(np.int64)
    fam["kk_issued"] = lower + (rng.random(n) * span).astype(np.int64).astype("timedelta64[D]")
    has_prev = rng.random(n) < a.PREVIOUS_KK
    adult_head = per["birth"][per["fstart"]] + np.timedelta64(17 * 365, "D")
    prev_lower = np.maximum(adult_head, as_of - np.timedelta64(30 * 365, "D"))
    prev_span = np.maximum((fam["kk_issued"] - prev_lower).astype(np.int64), 1)
    fam["kk_prev_issued"] = fam["kk_issued"] - (1 + rng.random(n) * (prev_span - 1)).astype(np.int64).astype(
        "timedelta64[D]"
    )
    fam["has_prev"] = has_prev


def identifiers_issue(ctx: Context, batch: Batch) -> None:
    """NIK and KK numbers (serials continue across chunks, so call once per chunk, in order)."""
    fam, per = batch.fam, batch.per
    kec6 = ctx.village_kec6[fam["village"]]
    # previous KK first (issued earlier), then the current one
    prev = fam["has_prev"]
    kk_prev = np.zeros(len(prev), dtype=np.int64)
    keys = ids.kk_key(kec6[prev], fam["kk_prev_issued"][prev])
    kk_prev[prev] = ids.with_serial(keys, ctx.kk_counter.issue(keys))
    keys = ids.kk_key(kec6, fam["kk_issued"])
    fam["kk"] = ids.with_serial(keys, ctx.kk_counter.issue(keys))
    fam["kk_prev"] = kk_prev
    keys = ids.nik_key(kec6[per["fam"]], per["birth"], per["male"])
    per["nik"] = ids.with_serial(keys, ctx.nik_counter.issue(keys))


# --- Arrow tables ------------------------------------------------------------------------------------------


def _codes(values: tuple[str, ...], idx: Array) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _str(ints: Array) -> pa.Array:
    return pc.cast(pa.array(np.asarray(ints, dtype=np.int64)), pa.string())


def family_codes(ctx: Context, village: Array, serial: Array) -> pa.Array:
    num = pc.cast(pa.array(ctx.village_code10[village] * 10_000_000 + serial), pa.string())
    return pc.binary_join_element_wise("S", num, "")


def person_codes(family_code: pa.Array, member_no: Array) -> pa.Array:
    no = pc.utf8_lpad(_str(member_no), 2, "0")
    return pc.binary_join_element_wise(family_code, no, "")


def to_tables(ctx: Context, batch: Batch) -> dict[str, pa.Table]:
    fam, per = batch.fam, batch.per
    lay = ctx.layout
    gidx = fam["index"]
    village = fam["village"]
    n = len(village)
    fcode = family_codes(ctx, village, lay.serial[gidx])
    owner = per["fam"]
    pcode = person_codes(fcode.take(pa.array(owner)), per["pos"] + 1)
    head_code = pcode.take(pa.array(per["fstart"]))
    spouse_female = per["spouse"] & ~per["male"][np.minimum(per["fstart"] + 1, len(owner) - 1)]
    pengurus = pc.if_else(
        pa.array(spouse_female),
        pcode.take(pa.array(np.minimum(per["fstart"] + 1, len(owner) - 1))),
        head_code,
    )
    vcode = _str(ctx.village_code10[village])
    dwelling = pc.binary_join_element_wise("D", vcode, pc.utf8_lpad(_str(lay.dwelling[gidx]), 7, "0"), "")
    village_code = _dotted(vcode)
    rw = pc.utf8_lpad(_str(lay.rw[gidx]), 3, "0")
    rt = pc.utf8_lpad(_str(lay.rt[gidx]), 3, "0")
    address = _address(ctx, village=village, rw=lay.rw[gidx], building=lay.building_no[gidx], rt=rt, rw_s=rw)
    kk_prev = pa.array(fam["kk_prev"]).cast(pa.string())
    kk_prev = pc.if_else(pa.array(fam["has_prev"]), kk_prev, pa.nulls(n, pa.string()))
    families = pa.table(
        {
            "family_code": fcode,
            "kk_number": _str(fam["kk"]),
            "village_code": village_code,
            "rw": rw,
            "rt": rt,
            "address": address,
            "dwelling_code": dwelling,
            "building_no": pa.array(lay.building_no[gidx], pa.int32()),
            "family_no": pa.array(lay.family_no[gidx], pa.int32()),
            "latitude": pa.array(lay.lat[gidx]),
            "longitude": pa.array(lay.lon[gidx]),
            "head_person_code": head_code,
            "pengurus_person_code": pengurus,
            "kk_previous": kk_prev,
        },
        schema=arrow_schema(schema.FAMILIES),
    )
    total = len(owner)
    persons = pa.table(
        {
            "person_code": pcode,
            "family_code": fcode.take(pa.array(owner)),
            "nik": _str(per["nik"]),
            "name": per["name"],
            "sex": pc.if_else(pa.array(per["male"]), "L", "P"),
            "birth_date": pa.array(per["birth"]).cast(pa.date32()),
            "birth_place": per["birth_place"],
            "relationship": _codes(RELATIONSHIP, per["role"]),
            "marital_status": _codes(MARITAL, per["marital"]),
            "education": _codes(EDUCATION, per["education"]),
            "school_level": _codes(SCHOOL, per["school"]),
            "sector": _codes(SECTOR, per["sector"]),
            "employment_type": _codes(EMPLOYMENT, per["employment"]),
            "occupation": _codes(OCCUPATIONS, per["occupation"]),
            "disability": _codes(DISABILITY, per["disability"]),
            "disability_severity": _codes(SEVERITY, per["severity"]),
            "pregnant": pa.array(per["pregnant"]),
            "life_status": pa.repeat(pa.scalar("hidup"), total),
            "death_date": pa.nulls(total, pa.date32()),
            "death_source": pa.nulls(total, pa.string()),
        },
        schema=arrow_schema(schema.PERSONS),
    )
    codes = fam["codes"]
    cols: dict[str, Any] = {
        "family_code": fcode,
        "observed_on": pa.array(fam["observed_on"]).cast(pa.date32()),
        "source_ref": pa.repeat(pa.scalar(f"synth-{ctx.seed}"), n),
        "officer": ctx.officers.take(pa.array(village % len(ctx.officers))),
        "tenure": codes["tenure"],
        "floor_area_m2": pa.array(fam["floor_area"], pa.float64()),
        "floor_material": codes["floor_material"],
        "wall_material": codes["wall_material"],
        "roof_material": codes["roof_material"],
        "toilet": codes["toilet"],
        "drinking_water": codes["drinking_water"],
        "lighting": codes["lighting"],
        "power_va": fam["power_va"],
        "cooking_fuel": codes["cooking_fuel"],
        "received_credit": pa.array(fam["state"]["credit"].astype(bool)),
    }
    for column in ASSET_COLUMNS:
        cols[column] = pa.array(fam["assets"][column])
    conditions = pa.table(cols, schema=arrow_schema(schema.CONDITIONS))
    truth = pa.table(
        {
            "family_code": fcode,
            "consumption_pc_month_rp": pa.array(np.round(np.exp(fam["ylog"]) * 1000.0, 0)),
            "log_consumption_pc": pa.array(fam["ylog"]),
            "latent_z": pa.array(fam["z"]),
            "members": pa.array(fam["k"], pa.int32()),
        }
    )
    return {"families": families, "persons": persons, "conditions": conditions, "ground_truth": truth}


def _dotted(code10: pa.Array) -> pa.Array:
    parts = [pc.utf8_slice_codeunits(code10, s, e) for s, e in ((0, 2), (2, 4), (4, 6), (6, 10))]
    return pc.binary_join_element_wise(*parts, ".")


_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV")


def _address(
    ctx: Context, *, village: Array, rw: Array, building: Array, rt: pa.Array, rw_s: pa.Array
) -> pa.Array:
    """Kelurahan: 'Jl. <street> No. <n>'; desa: 'Dusun <village> <RW in roman numerals>' (synthetic)."""
    pools = name_pools()
    street_idx = (ctx.village_code10[village] * 31 + rw * 7) % len(pools.streets)
    street = pools.streets.take(pa.array(street_idx))
    urban = pc.binary_join_element_wise(
        "Jl.", street, pc.binary_join_element_wise("No.", _str(building), " "), " "
    )
    roman = pa.array(_ROMAN).take(pa.array(np.minimum(rw, len(_ROMAN)) - 1))
    rural = pc.binary_join_element_wise("Dusun", ctx.village_names.take(pa.array(village)), roman, " ")
    rtrw = pc.binary_join_element_wise("RT", rt, pc.binary_join_element_wise("RW", rw_s, " "), " ")
    rural = pc.binary_join_element_wise(rural, rtrw, ", ")
    return pc.if_else(pa.array(ctx.village_kelurahan[village]), urban, rural)
