"""Reads for regions. Region data are public reference data, so these selectors take no actor.

`edition` arguments take an edition code ("2025", "2022"), an `Edition`, or None for the current
edition. Codes may be given dotted ("34.01.01") or undotted ("340101", as in a NIK); an empty code
("") or "0" stands for Indonesia as a whole where that makes sense.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from dtsen.regions.codes import code_normalise, code_prefixes
from dtsen.regions.data_files import EDITIONS, NATION_CODE, read_codes
from dtsen.regions.errors import EditionNotFound, RegionNotFound
from dtsen.regions.models import Edition, Region, RegionChange, RegionChangeKind, RegionLevel

EditionRef = str | Edition | None

_NATION = {"", NATION_CODE}
_UPPER_LEVELS = frozenset({1, 2, 3})
_VILLAGE_LEVEL = frozenset({4})


@dataclass(frozen=True, slots=True)
class RegionPopulation:
    male: int
    female: int
    total: int


def _edition_q(edition: EditionRef, prefix: str = "edition") -> Q:
    if edition is None:
        return Q(**{f"{prefix}__is_current": True})
    if isinstance(edition, Edition):
        return Q(**{prefix: edition})
    return Q(**{f"{prefix}__code": edition})


def _code(code: str) -> str:
    """The dotted code, "" for the nation; RegionNotFound when `code` is not a region code at all."""
    if code.strip() in _NATION:
        return ""
    normalised = code_normalise(code)
    if normalised is None:
        raise RegionNotFound(code)
    return normalised


def edition_list() -> QuerySet[Edition]:
    """All loaded editions, oldest first."""
    return Edition.objects.order_by("valid_from")


def edition_current() -> Edition:
    """The edition in force; EditionNotFound when none is loaded."""
    edition = Edition.objects.filter(is_current=True).first()
    if edition is None:
        raise EditionNotFound(None)
    return edition


def edition_get(code: str) -> Edition:
    edition = Edition.objects.filter(code=code).first()
    if edition is None:
        raise EditionNotFound(code)
    return edition


def region_get(code: str, edition: EditionRef = None) -> Region:
    """The region with this code; RegionNotFound when the edition has no such code."""
    dotted = _code(code)
    region = Region.objects.filter(_edition_q(edition), code=dotted).select_related("edition").first()
    if region is None:
        raise RegionNotFound(dotted or code, edition.code if isinstance(edition, Edition) else edition)
    return region


def region_children(code: str, edition: EditionRef = None) -> QuerySet[Region]:
    """The regions directly below `code`, by code ("" gives the provinces)."""
    return Region.objects.filter(_edition_q(edition), parent_code=_code(code)).order_by("code")


def region_subtree_filter(code: str, *, field: str) -> Q:
    """A filter for any model whose `field` holds region codes: the region `code` and everything below it.

    Codes are hierarchical, so the subtree is the code itself plus every code starting with
    `code + "."`. Use it on a column of village codes (or of any level):
    `Family.objects.filter(region_subtree_filter("34.01", field="village_code"))`.
    The nation ("" or "0") gives an empty Q, which matches every row.
    """
    dotted = _code(code)
    if not dotted:
        return Q()
    return Q(**{field: dotted}) | Q(**{f"{field}__startswith": f"{dotted}."})


def region_subtree_codes(
    code: str, edition: EditionRef = None, *, level: int | None = None
) -> QuerySet[Region, str]:
    """The codes of `code` and all regions below it (optionally of one level), as a lazy queryset.

    Usable directly as a subquery: `.filter(village_code__in=region_subtree_codes("34.01", level=4))`.
    """
    regions = Region.objects.filter(_edition_q(edition), region_subtree_filter(code, field="code"))
    if level is not None:
        regions = regions.filter(level=level)
    return regions.order_by("code").values_list("code", flat=True)


def villages_in(code: str, edition: EditionRef = None) -> QuerySet[Region]:
    """The villages (desa, kelurahan, desa adat) in the region `code`, by code."""
    return Region.objects.filter(
        _edition_q(edition), region_subtree_filter(code, field="code"), level=RegionLevel.VILLAGE
    ).order_by("code")


def region_ancestors(code: str, edition: EditionRef = None) -> list[Region]:
    """The chain province → ... → the region itself, for showing an address.

    Levels missing from the edition are left out (an unknown village code still yields its
    kecamatan, kab/kota and province when those exist).
    """
    dotted = _code(code)
    if not dotted:
        return []
    return list(Region.objects.filter(_edition_q(edition), code__in=code_prefixes(dotted)).order_by("level"))


def region_population(code: str, edition: EditionRef = None) -> RegionPopulation | None:
    """Population (Dukcapil, semester II 2024) of a province or kab/kota, or of the nation ("" / "0").

    None when the edition carries no figure for that region (kecamatan, villages, older editions).
    """
    dotted = _code(code)
    if not dotted:
        sums = Region.objects.filter(_edition_q(edition), level=RegionLevel.PROVINCE).aggregate(
            male=Sum("population_male"), female=Sum("population_female"), total=Sum("population_total")
        )
        if sums["total"] is None:
            return None
        return RegionPopulation(male=sums["male"], female=sums["female"], total=sums["total"])
    region = (
        Region.objects.filter(_edition_q(edition), code=dotted)
        .only("population_male", "population_female", "population_total")
        .first()
    )
    if region is None:
        raise RegionNotFound(dotted)
    if region.population_total is None or region.population_male is None or region.population_female is None:
        return None
    return RegionPopulation(
        male=region.population_male, female=region.population_female, total=region.population_total
    )


def edition_changes(
    from_edition: str | Edition,
    to_edition: str | Edition,
    *,
    kind: str | None = None,
    level: int | None = None,
) -> QuerySet[RegionChange]:
    """The changes from one edition to another (kind: added, removed, renamed, recoded)."""
    changes = RegionChange.objects.filter(
        _edition_q(from_edition, "from_edition"), _edition_q(to_edition, "to_edition")
    )
    if kind is not None:
        changes = changes.filter(kind=kind)
    if level is not None:
        changes = changes.filter(level=level)
    return changes.order_by("kind", "old_code", "new_code")


def region_code_current(code: str) -> str | None:
    """The code a region has in the current edition: itself, or where recoding moved it; None if gone.

    For an address or NIK prefix recorded under an older edition, e.g. "92.01" → "96.01".
    """
    dotted = code_normalise(code)
    current = Edition.objects.filter(is_current=True).first()
    if dotted is None or current is None:
        return None
    seen: set[str] = set()
    while dotted not in seen:
        if Region.objects.filter(edition=current, code=dotted).exists():
            return dotted
        seen.add(dotted)
        step = (
            RegionChange.objects.filter(kind=RegionChangeKind.RECODED, old_code=dotted)
            .order_by("-to_edition__valid_from")
            .values_list("new_code", flat=True)
            .first()
        )
        if step is None:
            return None
        dotted = step
    return None


@functools.cache
def _known_codes(levels: frozenset[int]) -> frozenset[str]:
    """Every code of the given levels in any shipped edition (read once per process from the package data)."""
    known: set[str] = set()
    for spec in EDITIONS:
        known |= read_codes(spec.regions_file, levels=levels)
    return frozenset(known)


def region_code_is_known(code: str) -> bool:
    """Whether `code` exists in ANY edition (current or historic); also takes "340101" (a NIK prefix).

    No database query: the codes come from the files shipped with dtsen and are cached per process
    (kecamatan and above: ~8,000 codes; villages in a second set, built only when a village code is
    asked about). A NIK issued before a pemekaran keeps its old kecamatan code, hence "any edition".
    """
    dotted = code_normalise(code)
    if dotted is None:
        return False
    levels = _VILLAGE_LEVEL if dotted.count(".") == 3 else _UPPER_LEVELS
    return dotted in _known_codes(levels)
