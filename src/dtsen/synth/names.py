"""Indonesian names from Faker's id_ID lists, drawn as arrays; name variants and typos for duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.address.id_ID import Provider as AddressProvider
from faker.providers.person.id_ID import Provider as PersonProvider

from dtsen.synth import assumptions as a

Array = np.ndarray[Any, Any]


def _unique(values: tuple[str, ...] | list[str]) -> list[str]:
    return list(dict.fromkeys(values))


@dataclass(frozen=True)
class NamePools:
    male_first: pa.Array
    female_first: pa.Array
    male_last: pa.Array
    female_last: pa.Array
    prefix_male: pa.Array
    prefix_male_p: Array
    prefix_female: pa.Array
    prefix_female_p: Array
    cities: pa.Array
    streets: pa.Array


@lru_cache(maxsize=1)
def name_pools() -> NamePools:
    person = PersonProvider
    return NamePools(
        male_first=pa.array(_unique(person.first_names_male)),
        female_first=pa.array(_unique(person.first_names_female)),
        male_last=pa.array(_unique(person.last_names_male)),
        female_last=pa.array(_unique(person.last_names_female)),
        prefix_male=pa.array([p for p, _ in a.NAME_PREFIX_MALE]),
        prefix_male_p=np.array([w for _, w in a.NAME_PREFIX_MALE]),
        prefix_female=pa.array([p for p, _ in a.NAME_PREFIX_FEMALE]),
        prefix_female_p=np.array([w for _, w in a.NAME_PREFIX_FEMALE]),
        cities=pa.array(_unique(AddressProvider.cities)),
        streets=pa.array(_unique(AddressProvider.streets)),
    )


def _pick_prefix(rng: np.random.Generator, probs: Array, n: int) -> Array:
    """Index of the prefix, or -1 for none."""
    u = rng.random(n)
    cum = np.cumsum(probs)
    idx = np.searchsorted(cum, u, side="right")
    return np.where(idx < len(probs), idx, -1)


def _take_or_null(values: pa.Array, idx: Array) -> pa.Array:
    mask = idx < 0
    return values.take(pa.array(np.where(mask, 0, idx), mask=mask))


def names_draw(
    rng: np.random.Generator, *, male: Array, last_index: Array | None = None
) -> tuple[pa.Array, Array, Array]:
    """Full names for persons of the given sex. Returns (names, first-name index, last-name index (-1 none)).

    `last_index`, when given, forces a person's second name index into the male list (>= 0) for children
    inheriting their father's name; -1 entries are drawn freely.
    """
    pools = name_pools()
    n = len(male)
    is_male = male.astype(bool)
    first_m = rng.integers(0, len(pools.male_first), n)
    first_f = rng.integers(0, len(pools.female_first), n)
    has_last = rng.random(n) < a.LAST_NAME_SHARE
    free_m = rng.integers(0, len(pools.male_last), n)
    free_f = rng.integers(0, len(pools.female_last), n)
    inherit = last_index >= 0 if last_index is not None else np.zeros(n, dtype=bool)
    # A second name from the male list (family name, marga, or a man's own) or from the female list.
    idx_m = np.where(
        inherit, last_index if last_index is not None else -1, np.where(is_male & has_last, free_m, -1)
    )
    idx_f = np.where(~inherit & ~is_male & has_last, free_f, -1)
    pre_m = _pick_prefix(rng, pools.prefix_male_p, n)
    pre_f = _pick_prefix(rng, pools.prefix_female_p, n)
    first = pc.if_else(
        pa.array(is_male),
        pools.male_first.take(pa.array(first_m)),
        pools.female_first.take(pa.array(first_f)),
    )
    last = pc.if_else(
        pa.array(idx_m >= 0), _take_or_null(pools.male_last, idx_m), _take_or_null(pools.female_last, idx_f)
    )
    prefix = pc.if_else(
        pa.array(is_male), _take_or_null(pools.prefix_male, pre_m), _take_or_null(pools.prefix_female, pre_f)
    )
    full = pc.binary_join_element_wise(prefix, first, last, " ", null_handling="skip")
    last_out = idx_m
    return full, np.where(is_male, first_m, first_f), last_out


# --- Variants and typos (per record; only used for the few duplicate records) -------------------------------

MUHAMMAD = ("Muhammad", "Muhamad", "Mohammad", "Mohamad", "Mochammad", "Muhammat", "M.", "Moh.", "Mhd.")
_OLD_SPELLING = (("j", "dj"), ("c", "tj"), ("y", "j"), ("u", "oe"), ("kh", "ch"), ("sy", "sj"))
_KEYBOARD = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}


def name_variant(name: str, rng: np.random.Generator) -> str | None:
    """A legitimate other spelling of the same name, or None when the name has no variant of this kind.

    Muhammad/Muhamad/Mohammad/M. (and the like), Siti -> St., old spelling (Djoko/Joko, Tjahjo/Cahyo),
    abbreviating or dropping the last word (Budi Santoso -> Budi S. / Budi), initial of the first word.
    """
    words = name.split(" ")
    options: list[str] = []
    if words[0] in MUHAMMAD:
        others = [m for m in MUHAMMAD if m != words[0]]
        options.append(" ".join([others[int(rng.integers(len(others)))], *words[1:]]))
    if words[0] == "Siti" and len(words) > 1:
        options.append(" ".join(["St.", *words[1:]]))
    for new, old in _OLD_SPELLING:
        low = name.lower()
        pos = low.find(new)
        if pos > 0 and not low[pos - 1].isspace():
            options.append(name[:pos] + old + name[pos + len(new) :])
            break
    if len(words) >= 2:
        options.append(" ".join([*words[:-1], words[-1][0] + "."]))
        options.append(" ".join(words[:-1]))
        options.append(" ".join([words[0][0] + ".", *words[1:]]))
    if not options:
        return None
    return options[int(rng.integers(len(options)))]


def name_typo(name: str, rng: np.random.Generator) -> str:
    """One keyboard slip: substitution by a neighbouring key, deletion, doubled letter or transposition."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if len(letters) < 3:
        return name + name[-1]
    kind = int(rng.integers(4))
    i = letters[int(rng.integers(1, len(letters)))]  # keep the first letter: typos rarely hit it
    ch = name[i]
    if kind == 0:
        near = _KEYBOARD.get(ch.lower(), "aeiou")
        new = near[int(rng.integers(len(near)))]
        new = new.upper() if ch.isupper() else new
        return name[:i] + new + name[i + 1 :]
    if kind == 1:
        return name[:i] + name[i + 1 :]
    if kind == 2:
        return name[:i] + ch + name[i:]
    j = i - 1 if name[i - 1].isalpha() else i + 1
    if j >= len(name) or not name[j].isalpha() or name[i] == name[j]:
        return name[:i] + ch + name[i:]
    lo, hi = min(i, j), max(i, j)
    return name[:lo] + name[hi] + name[lo] + name[hi + 1 :]
