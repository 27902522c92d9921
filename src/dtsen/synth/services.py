"""Generate a synthetic population into a directory: the one entry point of the synth package.

Files written (registry tables in the `dtsen.registry.schema` format, Parquet by default or CSV):
    families, persons, conditions, exclusions   (.parquet or .csv)
    ground_truth.parquet   family_code, consumption_pc_month_rp (true per-capita consumption, Rp per person
                           per month at 2008 prices, the survey's scale), log_consumption_pc (log of
                           thousand Rp), latent_z (the standard-normal draw behind it), members (true
                           number of members)
    faults.parquet         one row per injected fault (see faults.py)
    manifest.json          seed, region, counts, rates, reference date, generator and parameter versions

Deterministic: the same arguments give byte-identical files. Work is done in chunks of `CHUNK_FAMILIES`
families (part of the algorithm: each chunk has its own random stream), streaming to the writers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dtsen.core.errors import ValidationFailed
from dtsen.registry import schema
from dtsen.synth import model as m
from dtsen.synth import population as pop
from dtsen.synth.faults import FAULTS_SCHEMA, FaultLog, FaultRates, faults_inject
from dtsen.synth.geography import layout_build, population_load, region_select, wilayah_load

GENERATOR_VERSION = "1.0"
CHUNK_FAMILIES = 100_000
DEFAULT_AS_OF = dt.date(2025, 6, 30)
DEFAULT_REGION = "34.01"
MAX_FAMILIES = 100_000_000

REGISTRY_TABLES = ("families", "persons", "conditions", "exclusions")


@dataclass(frozen=True)
class SynthResult:
    out_dir: Path
    manifest: dict[str, Any]


class _Writer:
    def __init__(self, path: Path, table_schema: pa.Schema, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.schema = table_schema
        self.rows = 0
        self._writer: Any
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(path, table_schema, compression="zstd")
        else:
            self._writer = pacsv.CSVWriter(path, table_schema)

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def _validate(*, n_families: int, seed: int, rates: FaultRates, fmt: str) -> None:
    if not 1 <= n_families <= MAX_FAMILIES:
        raise ValidationFailed(
            f"Jumlah keluarga harus antara 1 dan {MAX_FAMILIES:,}.".replace(",", "."),
            f"The number of families must be between 1 and {MAX_FAMILIES:,}.",
            code="synth_families_invalid",
        )
    if not 0 <= seed < 2**32:
        raise ValidationFailed(
            "Seed harus bilangan bulat 0 sampai 4294967295.",
            "The seed must be an integer from 0 to 4294967295.",
            code="synth_seed_invalid",
        )
    for name, value in rates.as_dict().items():
        if not 0.0 <= value <= 0.5:
            raise ValidationFailed(
                f"Tingkat kesalahan {name} harus antara 0 dan 0,5.",
                f"The {name} fault rate must be between 0 and 0.5.",
                code="synth_rate_invalid",
            )
    if fmt not in ("parquet", "csv"):
        raise ValidationFailed(
            "Format harus parquet atau csv.",
            "The format must be parquet or csv.",
            code="synth_format_invalid",
        )


def _params_digest(params_path: str | Path | None) -> str:
    if params_path is None:
        data = resources.files(m.PARAMS_PACKAGE).joinpath(m.PARAMS_FILE).read_bytes()
    else:
        data = Path(params_path).read_bytes()
    return hashlib.sha256(data).hexdigest()


def population_generate(
    *,
    out_dir: str | Path,
    region_code: str = DEFAULT_REGION,
    n_families: int,
    seed: int,
    fmt: str = "parquet",
    rates: FaultRates | None = None,
    as_of: dt.date = DEFAULT_AS_OF,
    params_path: str | Path | None = None,
    wilayah_path: str | Path | None = None,
    population_path: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> SynthResult:
    """Write a synthetic population of `n_families` families of `region_code` into `out_dir`.

    `region_code` is a province, kab/kota, kecamatan or village code (e.g. "34.01"). `progress` is called with
    the number of families finished after each chunk. Raises `ValidationFailed` (bilingual) on bad input and
    `UnknownRegion` for a region code that does not exist.
    """
    rates = rates or FaultRates()
    _validate(n_families=n_families, seed=seed, rates=rates, fmt=fmt)
    region = region_select(
        region_code, wilayah=wilayah_load(wilayah_path), population=population_load(population_path)
    )
    params = m.params_load(params_path)
    layout = layout_build(region, n_families, np.random.default_rng([seed, 0]))
    ctx = pop.Context(params=params, region=region, layout=layout, as_of=as_of, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext = "parquet" if fmt == "parquet" else "csv"
    writers = {
        name: _Writer(out / f"{name}.{ext}", pop.arrow_schema(schema.TABLES[name]), fmt)
        for name in REGISTRY_TABLES
    }
    truth_writer = _Writer(out / "ground_truth.parquet", _TRUTH_SCHEMA, "parquet")
    faults_writer = _Writer(out / "faults.parquet", FAULTS_SCHEMA, "parquet")
    log_next = 1
    fault_counts: dict[str, int] = {}
    try:
        for chunk, start in enumerate(range(0, n_families, CHUNK_FAMILIES)):
            stop = min(n_families, start + CHUNK_FAMILIES)
            batch = pop.batch_generate(ctx, start, stop, np.random.default_rng([seed, 1, chunk]))
            pop.identifiers_issue(ctx, batch)
            tables = pop.to_tables(ctx, batch)
            log = FaultLog(log_next)
            tables = faults_inject(
                ctx, batch, tables=tables, rates=rates, rng=np.random.default_rng([seed, 2, chunk]), log=log
            )
            log_next = log.next_id
            for name in REGISTRY_TABLES:
                writers[name].write(tables[name])
            truth_writer.write(tables["ground_truth"])
            faults = log.table()
            faults_writer.write(faults)
            for kind in faults.column("kind").to_pylist():
                fault_counts[kind] = fault_counts.get(kind, 0) + 1
            if progress is not None:
                progress(stop - start)
    finally:
        for writer in (*writers.values(), truth_writer, faults_writer):
            writer.close()
    manifest = {
        "generator": "dtsen.synth",
        "generator_version": GENERATOR_VERSION,
        "params_file": m.PARAMS_FILE if params_path is None else Path(params_path).name,
        "params_sha256": _params_digest(params_path),
        "seed": seed,
        "region": {
            "code": region.code,
            "name": region.name,
            "level": region.level,
            "villages": len(region.villages),
        },
        "as_of": as_of.isoformat(),
        "format": fmt,
        "families_requested": n_families,
        "counts": {name: w.rows for name, w in writers.items()}
        | {"ground_truth": truth_writer.rows, "faults": faults_writer.rows},
        "fault_rates": rates.as_dict(),
        "fault_counts": dict(sorted(fault_counts.items())),
        "chunk_families": CHUNK_FAMILIES,
        "units": {"consumption_pc_month_rp": "Rupiah per person per month, 2008 prices (survey scale)"},
        "note": "Synthetic data: names, numbers and geotags do not describe real people or places.",
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return SynthResult(out_dir=out, manifest=manifest)


_TRUTH_SCHEMA = pa.schema(
    [
        pa.field("family_code", pa.string()),
        pa.field("consumption_pc_month_rp", pa.float64()),
        pa.field("log_consumption_pc", pa.float64()),
        pa.field("latent_z", pa.float64()),
        pa.field("members", pa.int32()),
    ]
)
