"""How two editions of the code table differ: added, removed, renamed and recoded regions.

Pure computation over `{code: (name, level)}` maps; `services.regions_load` stores the result as
`RegionChange` rows. The method (see docs/regions.md):

1. A code present in both editions is the same region. If its normalised name differs it is
   *renamed*. Normalising ignores letter case, whitespace, punctuation and the "KAB." abbreviation,
   so "KAB. ACEH SELATAN" → "Kabupaten Aceh Selatan" is not a rename.
2. Codes only in the new edition and codes only in the old one are paired level by level, top
   down, into *recoded* regions (same region, new code: e.g. 92.01 Kabupaten Sorong became 96.01
   when province 96 Papua Barat Daya was formed). A pair needs
   - the same normalised name, and
   - an agreeing parent chain: the deepest ancestor level at which the old ancestor, mapped to
     the new edition (unchanged codes map to themselves, recoded ones to their new code), equals
     the new ancestor. Deeper is better; kecamatan and villages must agree at least on the
     grandparent (villages moved to a new kecamatan of the same kab/kota), provinces and kab/kota
     may match by name alone (a kab/kota moved to a new province).
   - and to be unambiguous: the best candidate on both sides must be unique.
   Then, for kecamatan and villages still unpaired, a stricter fuzzy pass pairs spelling
   corrections (Malaban → Malabam) under the same mapped parent (similarity ≥ 0.80) or the same
   mapped grandparent (≥ 0.85), again only when the best candidate is unique on both sides.
3. What is left is *added* (new code) or *removed* (old code).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dtsen.regions.codes import code_prefixes

ADDED = "added"
REMOVED = "removed"
RENAMED = "renamed"
RECODED = "recoded"

FUZZY_MIN_RATIO_SAME_PARENT = 0.80
FUZZY_MIN_RATIO_SAME_GRANDPARENT = 0.85

NameLevel = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ChangeRow:
    kind: str
    level: int
    old_code: str
    new_code: str
    old_name: str
    new_name: str


_KAB_ABBREVIATION = re.compile(r"^kab\b\.?\s*")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def name_normalise(name: str) -> str:
    """Case-, space- and punctuation-insensitive form of a region name; "KAB." means "Kabupaten"."""
    lowered = _KAB_ABBREVIATION.sub("kabupaten ", name.strip().lower())
    return _NOT_ALNUM.sub("", lowered)


def _agreement_depth(old_code: str, new_code: str, mapping: Mapping[str, str]) -> int:
    """Deepest ancestor level (1 = province) where the mapped old ancestor is the new one; 0 if none."""
    old_ancestors = code_prefixes(old_code)[:-1]
    new_ancestors = code_prefixes(new_code)[:-1]
    depth = 0
    for i, (old_ancestor, new_ancestor) in enumerate(zip(old_ancestors, new_ancestors, strict=True)):
        if mapping.get(old_ancestor) == new_ancestor:
            depth = i + 1
    return depth


Scored = tuple[str, str, tuple[float, ...]]  # (new code, old code, score: higher is better)


def _unique_best_pairs(scored: Iterable[Scored]) -> list[tuple[str, str]]:
    """Pairs (new, old) whose score is the unique best for the new code and for the old code."""
    options_of_new: dict[str, list[tuple[tuple[float, ...], str]]] = defaultdict(list)
    options_of_old: dict[str, list[tuple[tuple[float, ...], str]]] = defaultdict(list)
    for new_code, old_code, score in scored:
        options_of_new[new_code].append((score, old_code))
        options_of_old[old_code].append((score, new_code))

    def unique_top(options: list[tuple[tuple[float, ...], str]]) -> str | None:
        top = max(score for score, _ in options)
        winners = [code for score, code in options if score == top]
        return winners[0] if len(winners) == 1 else None

    pairs = []
    for new_code, options in sorted(options_of_new.items()):
        best_old = unique_top(options)
        if best_old is not None and unique_top(options_of_old[best_old]) == new_code:
            pairs.append((new_code, best_old))
    return pairs


@dataclass(frozen=True)
class _LevelPass:
    """The still unpaired codes of one level, and what is known about the levels above."""

    level: int
    added: list[str]
    removed: list[str]
    old: Mapping[str, NameLevel]
    new: Mapping[str, NameLevel]
    mapping: Mapping[str, str]

    def exact(self) -> Iterable[Scored]:
        """Same normalised name; scored by how deep the parent chains agree."""
        min_depth = self.level - 2 if self.level >= 3 else 0
        by_name: dict[str, list[str]] = defaultdict(list)
        for old_code in self.removed:
            by_name[name_normalise(self.old[old_code][0])].append(old_code)
        for new_code in self.added:
            for old_code in by_name.get(name_normalise(self.new[new_code][0]), ()):
                depth = _agreement_depth(old_code, new_code, self.mapping)
                if depth >= min_depth:
                    yield new_code, old_code, (depth,)

    def fuzzy(self) -> Iterable[Scored]:
        """Similar names (spelling corrections) under the same mapped parent or grandparent."""
        if self.level < 3:
            return
        level = self.level
        thresholds = {level - 1: FUZZY_MIN_RATIO_SAME_PARENT, level - 2: FUZZY_MIN_RATIO_SAME_GRANDPARENT}
        # Only codes under the same (mapped) grandparent can qualify: group by it to stay linear.
        by_grandparent: dict[str | None, list[str]] = defaultdict(list)
        for old_code in self.removed:
            by_grandparent[self.mapping.get(code_prefixes(old_code)[level - 3])].append(old_code)
        for new_code in self.added:
            new_name = name_normalise(self.new[new_code][0])
            for old_code in by_grandparent.get(code_prefixes(new_code)[level - 3], ()):
                depth = _agreement_depth(old_code, new_code, self.mapping)
                if depth not in thresholds:
                    continue
                old_name = name_normalise(self.old[old_code][0])
                ratio = difflib.SequenceMatcher(None, old_name, new_name).ratio()
                if ratio >= thresholds[depth]:
                    yield new_code, old_code, (ratio, depth)


def changes_compute(old: Mapping[str, NameLevel], new: Mapping[str, NameLevel]) -> list[ChangeRow]:
    """All changes from edition `old` to edition `new`, sorted by kind then codes."""
    common = old.keys() & new.keys()
    mapping: dict[str, str] = {code: code for code in common}
    added_left = set(new.keys() - common)
    removed_left = set(old.keys() - common)
    changes: list[ChangeRow] = []

    for code in sorted(common):
        old_name, new_name = old[code][0], new[code][0]
        if name_normalise(old_name) != name_normalise(new_name):
            changes.append(ChangeRow(RENAMED, new[code][1], code, code, old_name, new_name))

    for level in range(1, 5):
        for matcher in (_LevelPass.exact, _LevelPass.fuzzy):
            added = sorted(c for c in added_left if new[c][1] == level)
            removed = sorted(c for c in removed_left if old[c][1] == level)
            if not added or not removed:
                break
            level_pass = _LevelPass(level, added, removed, old, new, mapping)
            for new_code, old_code in _unique_best_pairs(matcher(level_pass)):
                mapping[old_code] = new_code
                added_left.discard(new_code)
                removed_left.discard(old_code)
                changes.append(
                    ChangeRow(RECODED, level, old_code, new_code, old[old_code][0], new[new_code][0])
                )

    changes.extend(ChangeRow(ADDED, new[c][1], "", c, "", new[c][0]) for c in sorted(added_left))
    changes.extend(ChangeRow(REMOVED, old[c][1], c, "", old[c][0], "") for c in sorted(removed_left))
    order = {RENAMED: 0, RECODED: 1, ADDED: 2, REMOVED: 3}
    changes.sort(key=lambda ch: (order[ch.kind], ch.old_code or ch.new_code, ch.new_code))
    return changes
