"""Writes for regions: loading the shipped editions into the database."""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from tqdm import tqdm

from dtsen.regions.changes import ChangeRow, changes_compute, name_normalise
from dtsen.regions.data_files import (
    DATA_SOURCE,
    EDITIONS,
    NATION_CODE,
    AreaRow,
    EditionSpec,
    PopulationRow,
    RegionRow,
    edition_spec,
    read_area,
    read_population,
    read_regions,
)
from dtsen.regions.models import Edition, Region, RegionChange

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000  # rows per INSERT; 2000 x 11 columns stays under PostgreSQL's 65,535 parameters

_REGION_FIELDS = (
    "name",
    "level",
    "kind",
    "parent_code",
    "population_male",
    "population_female",
    "population_total",
    "area_km2",
)
_CHANGE_FIELDS = ("level", "old_name", "new_name")


@dataclass
class RowCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def written(self) -> int:
        return self.created + self.updated + self.deleted


@dataclass
class EditionLoadResult:
    edition: str
    regions_total: int
    regions: RowCounts
    edition_written: bool


@dataclass
class RegionsLoadResult:
    editions: list[EditionLoadResult] = field(default_factory=list)
    changes: dict[str, RowCounts] = field(default_factory=dict)  # "2022→2025": counts
    changes_total: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return any(e.edition_written or e.regions.written for e in self.editions) or any(
            c.written for c in self.changes.values()
        )


@transaction.atomic
def regions_load(*, edition: str | None = None, progress: bool = True) -> RegionsLoadResult:
    """Load the shipped edition(s) of the region table; idempotent.

    `edition` is an edition code ("2025", "2022"); None loads every shipped edition. Rows are
    compared with what the database holds and only the differences are written (insert, update,
    delete), so a second run writes nothing and region ids stay stable. Afterwards the changes
    between each pair of consecutive editions present in the database are recomputed the same way.
    """
    started = time.monotonic()
    specs = [edition_spec(edition)] if edition is not None else list(EDITIONS)
    result = RegionsLoadResult()
    for spec in specs:
        result.editions.append(_edition_load(spec, progress=progress))

    loaded = {e.code: e for e in Edition.objects.filter(code__in=[s.code for s in EDITIONS])}
    present = [spec for spec in EDITIONS if spec.code in loaded]
    for older, newer in itertools.pairwise(present):
        key = f"{older.code}→{newer.code}"
        counts, total = _changes_store(loaded[older.code], loaded[newer.code])
        result.changes[key] = counts
        result.changes_total[key] = total

    result.seconds = time.monotonic() - started
    logger.info("regions_load: %s", result)
    if result.changed_anything:
        from dtsen.audit.services import audit_record

        audit_record(
            actor=None,
            action="regions_load",
            object_type="edition",
            object_id=",".join(e.code for e in specs),
            after={"changes": {k: str(v) for k, v in result.changes.items()}},
            reason="Muat wilayah Kemendagri / load Kemendagri regions",
            channel="system",
        )
    return result


def _edition_load(spec: EditionSpec, *, progress: bool) -> EditionLoadResult:
    edition, edition_written = _edition_upsert(spec)
    rows = read_regions(spec.regions_file)
    population = read_population(spec.population_file) if spec.population_file else {}
    area = read_area(spec.area_file) if spec.area_file else {}

    wanted: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        pop = population.get(row.code)
        wanted[row.code] = (
            row.name,
            row.level,
            row.kind,
            row.parent_code,
            pop.male if pop else None,
            pop.female if pop else None,
            pop.total if pop else None,
            area[row.code].km2 if row.code in area else None,
        )
    _check_population(spec, rows, population, area)

    existing = {
        code: (pk, values)
        for pk, code, *values in Region.objects.filter(edition=edition).values_list(
            "pk", "code", *_REGION_FIELDS
        )
    }
    to_create = [code for code in wanted if code not in existing]
    to_update = [
        code for code, values in wanted.items() if code in existing and tuple(existing[code][1]) != values
    ]
    to_delete = [existing[code][0] for code in existing if code not in wanted]

    counts = RowCounts(created=len(to_create), updated=len(to_update), deleted=len(to_delete))
    with tqdm(
        total=counts.written,
        desc=f"Wilayah {spec.code} / Regions {spec.code}",
        unit=" baris/rows",
        disable=not progress or counts.written == 0,
        leave=False,
    ) as bar:
        if to_delete:
            for start in range(0, len(to_delete), BATCH_SIZE):
                chunk = to_delete[start : start + BATCH_SIZE]
                Region.objects.filter(pk__in=chunk).delete()
                bar.update(len(chunk))
        for start in range(0, len(to_create), BATCH_SIZE):
            chunk = to_create[start : start + BATCH_SIZE]
            _regions_insert([(edition.pk, code, *wanted[code]) for code in chunk])
            bar.update(len(chunk))
        for start in range(0, len(to_update), BATCH_SIZE):
            chunk = to_update[start : start + BATCH_SIZE]
            objs = [
                Region(pk=existing[code][0], **dict(zip(_REGION_FIELDS, wanted[code], strict=True)))
                for code in chunk
            ]
            Region.objects.bulk_update(objs, _REGION_FIELDS, batch_size=500)
            bar.update(len(chunk))
    return EditionLoadResult(
        edition=spec.code, regions_total=len(wanted), regions=counts, edition_written=edition_written
    )


def _regions_insert(rows: list[tuple[Any, ...]]) -> None:
    """Insert regions fast, per dialect: COPY on PostgreSQL, multi-row INSERTs elsewhere.

    `bulk_create` spends most of its time building model instances and compiling each value; for
    ~180,000 reference rows these paths are several times faster. Values are always bound or
    streamed, never formatted into SQL. Columns: edition, code, then `_REGION_FIELDS`.
    """
    meta = Region._meta
    quote = connection.ops.quote_name
    column_of = {f.name: f.column for f in meta.concrete_fields}
    columns = [str(column_of[name]) for name in ("edition", "code", *_REGION_FIELDS)]
    table = "{} ({})".format(quote(meta.db_table), ", ".join(quote(c) for c in columns))
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql" and hasattr(raw, "copy"):  # psycopg 3
            with raw.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        max_params = connection.features.max_query_params or 65535
        per_statement = max(1, min(BATCH_SIZE, max_params // len(columns)))
        placeholder = "({})".format(", ".join(["%s"] * len(columns)))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                # Identifiers come from model metadata, values are bound parameters.
                f"INSERT INTO {table} VALUES " + ", ".join([placeholder] * len(chunk)),  # noqa: S608
                [value for row in chunk for value in row],
            )


def _edition_upsert(spec: EditionSpec) -> tuple[Edition, bool]:
    """The Edition row for `spec`, created or brought up to date; True when it was written."""
    values = {
        "regulation": spec.regulation,
        "valid_from": spec.valid_from,
        "is_current": spec.is_current,
        "source": DATA_SOURCE,
    }
    edition = Edition.objects.select_for_update().filter(code=spec.code).first()
    if edition is None:
        if spec.is_current:
            Edition.objects.filter(is_current=True).update(is_current=False)
        return Edition.objects.create(code=spec.code, **values), True
    changed = [name for name, value in values.items() if getattr(edition, name) != value]
    if not changed:
        return edition, False
    if spec.is_current and not edition.is_current:
        Edition.objects.filter(is_current=True).exclude(pk=edition.pk).update(is_current=False)
    for name in changed:
        setattr(edition, name, values[name])
    edition.save(update_fields=changed)
    return edition, True


def _check_population(
    spec: EditionSpec,
    rows: list[RegionRow],
    population: dict[str, PopulationRow],
    area: dict[str, AreaRow],
) -> None:
    """Population and area rows must name regions of the edition (repaired codes: the same name too)."""
    names = {row.code: row.name for row in rows}
    levels = {row.code: row.level for row in rows}
    figures: list[tuple[str, PopulationRow | AreaRow]] = [*population.items(), *area.items()]
    for code, figure in figures:
        if code == NATION_CODE:
            continue
        if code not in names:
            raise ValueError(f"{spec.code}: population/area row for unknown code {code!r}")
        if figure.repaired and name_normalise(figure.name) != name_normalise(names[code]):
            raise ValueError(f"{spec.code}: repaired code {code!r} is {names[code]!r}, not {figure.name!r}")
    nation = population.get(NATION_CODE)
    provinces = sum(row.total for code, row in population.items() if levels.get(code) == 1)
    if nation is not None and nation.total != provinces:
        logger.warning(
            "%s: provinces sum to %s, nation row says %s", spec.population_file, provinces, nation.total
        )


def _changes_store(older: Edition, newer: Edition) -> tuple[RowCounts, int]:
    """Recompute the changes older → newer from the database and write only the differences."""
    old = {
        code: (name, level)
        for code, name, level in Region.objects.filter(edition=older).values_list("code", "name", "level")
    }
    new = {
        code: (name, level)
        for code, name, level in Region.objects.filter(edition=newer).values_list("code", "name", "level")
    }
    wanted: dict[tuple[str, str, str], ChangeRow] = {
        (ch.kind, ch.old_code, ch.new_code): ch for ch in changes_compute(old, new)
    }
    existing = {
        (kind, old_code, new_code): (pk, (level, old_name, new_name))
        for pk, kind, old_code, new_code, level, old_name, new_name in RegionChange.objects.filter(
            from_edition=older, to_edition=newer
        ).values_list("pk", "kind", "old_code", "new_code", *_CHANGE_FIELDS)
    }
    to_create = [key for key in wanted if key not in existing]
    to_update = [
        key
        for key, ch in wanted.items()
        if key in existing and existing[key][1] != (ch.level, ch.old_name, ch.new_name)
    ]
    to_delete = [pk for key, (pk, _) in existing.items() if key not in wanted]

    if to_delete:
        RegionChange.objects.filter(pk__in=to_delete).delete()
    RegionChange.objects.bulk_create(
        [
            RegionChange(
                from_edition=older,
                to_edition=newer,
                kind=ch.kind,
                level=ch.level,
                old_code=ch.old_code,
                new_code=ch.new_code,
                old_name=ch.old_name,
                new_name=ch.new_name,
            )
            for ch in (wanted[key] for key in to_create)
        ],
        batch_size=BATCH_SIZE,
    )
    if to_update:
        RegionChange.objects.bulk_update(
            [
                RegionChange(
                    pk=existing[key][0],
                    level=wanted[key].level,
                    old_name=wanted[key].old_name,
                    new_name=wanted[key].new_name,
                )
                for key in to_update
            ],
            _CHANGE_FIELDS,
            batch_size=500,
        )
    counts = RowCounts(created=len(to_create), updated=len(to_update), deleted=len(to_delete))
    return counts, len(wanted)
