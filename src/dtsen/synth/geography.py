"""Where synthetic families live: the villages of a region, how many families each gets, RT/RW, dwellings and
(synthetic) geotags.

Region codes and names are Kemendagri's (Kepmendagri 300.2.2-2138/2025 as shipped by the regions app in
`dtsen.regions.data/wilayah_2025.csv.gz`); populations are Dukcapil's, Semester II 2024, for provinces and
kab/kota only (`wilayah_penduduk_2024s2.csv.gz`). Families are spread over kab/kota by population. Within a
kab/kota no village population is published, so each village gets a deterministic pseudo-random weight,
lognormal(0, 0.5) computed from its code (times 1.5 for a kelurahan): village sizes are plausible, not real.

Geotags are synthetic: a province centre (approximate, hand-entered below), then deterministic offsets per
kab/kota, kecamatan and village computed from their codes, then jitter per dwelling. They fall inside a
plausible box around the province, not on real houses, and may land in the sea.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from dtsen.core.errors import ValidationFailed
from dtsen.regions.codes import code_normalise
from dtsen.synth import assumptions as a

REGIONS_PACKAGE = "dtsen.regions.data"
WILAYAH_FILE = "wilayah_2025.csv.gz"
POPULATION_FILE = "wilayah_penduduk_2024s2.csv.gz"

# Approximate centre (lat, lon) and half-size in degrees of each province's populated area. Hand-entered.
PROVINCE_BOX: dict[str, tuple[float, float, float]] = {
    "11": (4.60, 96.75, 1.0),
    "12": (2.50, 99.20, 1.2),
    "13": (-0.75, 100.55, 0.8),
    "14": (0.50, 101.45, 1.0),
    "15": (-1.60, 103.30, 0.9),
    "16": (-3.20, 104.30, 1.0),
    "17": (-3.60, 102.30, 0.6),
    "18": (-5.00, 105.20, 0.7),
    "19": (-2.40, 106.10, 0.6),
    "21": (1.00, 104.30, 0.5),
    "31": (-6.20, 106.84, 0.12),
    "32": (-6.90, 107.60, 0.7),
    "33": (-7.15, 110.14, 0.8),
    "34": (-7.85, 110.36, 0.18),
    "35": (-7.55, 112.30, 0.9),
    "36": (-6.30, 106.20, 0.35),
    "51": (-8.45, 115.15, 0.3),
    "52": (-8.65, 117.35, 0.8),
    "53": (-9.20, 121.50, 1.3),
    "61": (0.00, 110.50, 1.3),
    "62": (-1.90, 113.50, 1.3),
    "63": (-3.10, 115.30, 0.7),
    "64": (0.40, 116.60, 1.2),
    "65": (3.00, 116.50, 0.8),
    "71": (1.00, 124.60, 0.6),
    "72": (-1.00, 121.00, 1.2),
    "73": (-4.30, 119.90, 1.0),
    "74": (-4.10, 122.30, 0.8),
    "75": (0.65, 122.50, 0.4),
    "76": (-2.60, 119.20, 0.5),
    "81": (-3.30, 129.00, 1.5),
    "82": (0.80, 127.70, 1.0),
    "91": (-2.60, 139.50, 1.0),
    "92": (-1.30, 133.50, 0.9),
    "93": (-7.50, 139.80, 1.2),
    "94": (-3.70, 136.50, 1.0),
    "95": (-4.00, 138.90, 0.7),
    "96": (-1.00, 131.60, 0.8),
}
_DEFAULT_BOX = (-2.5, 118.0, 1.0)


class UnknownRegion(ValidationFailed):
    code = "region_unknown"


def _read_csv(name: str, path: str | Path | None) -> pd.DataFrame:
    dtype = {"kode": str, "kode_induk": str, "nama": str, "tipe": str}
    if path is not None:
        return pd.read_csv(path, dtype=dtype, keep_default_na=False)
    with resources.files(REGIONS_PACKAGE).joinpath(name).open("rb") as handle:
        return pd.read_csv(handle, compression="gzip", dtype=dtype, keep_default_na=False)


def wilayah_load(path: str | Path | None = None) -> pd.DataFrame:
    """All region codes (`kode,nama,level,tipe,kode_induk`), from the regions app's package data by
    default."""
    return _read_csv(WILAYAH_FILE, path)


def population_load(path: str | Path | None = None) -> pd.DataFrame:
    """Population of provinces and kab/kota (`kode,nama,pria,wanita,total`)."""
    return _read_csv(POPULATION_FILE, path)


def _unit(codes: list[str], salt: str) -> np.ndarray[Any, Any]:
    """A deterministic uniform (0, 1) per code."""
    out = np.empty(len(codes))
    for i, code in enumerate(codes):
        digest = hashlib.blake2b(f"{salt}:{code}".encode(), digest_size=8).digest()
        out[i] = (int.from_bytes(digest, "big") + 0.5) / 2.0**64
    return out


def _polar(codes: list[str], salt: str, radius: float | np.ndarray[Any, Any]) -> tuple[Any, Any]:
    angle = 2 * np.pi * _unit(codes, salt + "a")
    dist = radius * np.sqrt(_unit(codes, salt + "r"))
    return dist * np.sin(angle), dist * np.cos(angle)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: int
    villages: pd.DataFrame
    """One row per village: code, name, tipe, kec (PP.KK.CC), kab (PP.KK), kab_name, weight, lat, lon."""


def region_select(
    code: str, *, wilayah: pd.DataFrame | None = None, population: pd.DataFrame | None = None
) -> Region:
    """The villages of a province, kab/kota, kecamatan or village code, with weights and synthetic centres."""
    regions = wilayah if wilayah is not None else wilayah_load()
    pops = population if population is not None else population_load()
    code = code_normalise(code) or code.strip()  # "3401" and "34.01" both work
    hit = regions[regions["kode"] == code]
    if hit.empty:
        raise UnknownRegion(
            f"Kode wilayah {code!r} tidak dikenal (contoh: 34.01 untuk Kabupaten Kulon Progo).",
            f"Unknown region code {code!r} (e.g. 34.01 for Kabupaten Kulon Progo).",
        )
    row = hit.iloc[0]
    level = int(row["level"])
    vill = regions[
        (regions["level"] == 4) & ((regions["kode"] == code) | regions["kode"].str.startswith(code + "."))
    ]
    vill = (
        vill[["kode", "nama", "tipe"]].rename(columns={"kode": "code", "nama": "name"}).reset_index(drop=True)
    )
    if vill.empty:
        raise UnknownRegion(
            f"Wilayah {code!r} tidak memiliki desa/kelurahan.", f"Region {code!r} has no villages."
        )
    vill["kec"] = vill["code"].str[:8]
    vill["kab"] = vill["code"].str[:5]
    names = regions.set_index("kode")["nama"]
    vill["kab_name"] = (
        vill["kab"].map(names).fillna("").str.replace(r"^(Kabupaten|Kota Administrasi) ", "", regex=True)
    )
    vill["kab_name"] = vill["kab_name"].str.replace(r"^Kota ", "", regex=True)
    # Weights: kab/kota population x village weight normalised within its kab/kota.
    pop = pops.set_index("kode")["total"].astype(float)
    kab_pop = vill["kab"].map(pop)
    kab_pop = kab_pop.fillna(kab_pop.mean() if kab_pop.notna().any() else 1.0)
    codes = vill["code"].tolist()
    z = _gauss(codes, "village-weight")
    raw = np.exp(a.VILLAGE_WEIGHT_SIGMA * z) * np.where(vill["tipe"] == "kelurahan", a.KELURAHAN_WEIGHT, 1.0)
    raw_sum = pd.Series(raw).groupby(vill["kab"]).transform("sum").to_numpy()
    vill["weight"] = kab_pop.to_numpy() * raw / raw_sum
    vill["weight"] /= vill["weight"].sum()
    vill["lat"], vill["lon"] = _village_centres(vill)
    return Region(code=code, name=str(row["nama"]), level=level, villages=vill)


def _gauss(codes: list[str], salt: str) -> np.ndarray[Any, Any]:
    return np.asarray(ndtri(_unit(codes, salt)))


def _village_centres(vill: pd.DataFrame) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    prov = vill["code"].str[:2]
    box = np.array([PROVINCE_BOX.get(p, _DEFAULT_BOX) for p in prov])
    kabs = sorted(set(vill["kab"]))
    kab_dy, kab_dx = _polar(kabs, "kab", 0.7)
    kab_off = {k: (dy, dx) for k, dy, dx in zip(kabs, kab_dy, kab_dx, strict=True)}
    kecs = sorted(set(vill["kec"]))
    kec_dy, kec_dx = _polar(kecs, "kec", 0.09)
    kec_off = {k: (dy, dx) for k, dy, dx in zip(kecs, kec_dy, kec_dx, strict=True)}
    v_dy, v_dx = _polar(vill["code"].tolist(), "village", 0.025)
    radius = box[:, 2]
    is_kota = vill["kab"].str[3].astype(int) >= 7  # kota codes are 71-99
    urban = np.where(is_kota, 0.35, 1.0)
    kab_dy_v = np.array([kab_off[k][0] for k in vill["kab"]]) * radius
    kab_dx_v = np.array([kab_off[k][1] for k in vill["kab"]]) * radius
    kec_dy_v = np.array([kec_off[k][0] for k in vill["kec"]]) * urban
    kec_dx_v = np.array([kec_off[k][1] for k in vill["kec"]]) * urban
    lat = box[:, 0] + kab_dy_v + kec_dy_v + v_dy * urban
    lon = box[:, 1] + kab_dx_v + kec_dx_v + v_dx * urban
    return lat, lon


def apportion(weights: np.ndarray[Any, Any], total: int) -> np.ndarray[Any, Any]:
    """Largest-remainder apportionment of `total` over `weights` (deterministic; ties to the lower index)."""
    share = weights / weights.sum() * total
    base = np.floor(share).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.lexsort((np.arange(len(share)), -(share - base)))
        base[order[:rest]] += 1
    return base


@dataclass(frozen=True)
class Layout:
    """Family slots in output order (by village, then serial): where each family lives."""

    village: np.ndarray[Any, Any]  # index into Region.villages
    serial: np.ndarray[Any, Any]  # 1-based family serial within the village
    rw: np.ndarray[Any, Any]
    rt: np.ndarray[Any, Any]
    dwelling: np.ndarray[Any, Any]  # 1-based dwelling serial within the village
    building_no: np.ndarray[Any, Any]  # building serial within the RT (Regsosek 109)
    family_no: np.ndarray[Any, Any]  # family serial within the building (Regsosek 110)
    lat: np.ndarray[Any, Any]
    lon: np.ndarray[Any, Any]

    def __len__(self) -> int:
        return len(self.village)


def layout_build(region: Region, n_families: int, rng: np.random.Generator) -> Layout:
    """Spread `n_families` over the region's villages and lay out RT/RW, dwellings and geotags."""
    vill = region.villages
    counts = apportion(vill["weight"].to_numpy(), n_families)
    village = np.repeat(np.arange(len(vill)), counts)
    starts = np.cumsum(counts) - counts
    serial = np.arange(n_families) - np.repeat(starts, counts) + 1
    codes = vill["code"].tolist()
    lo, hi = a.RT_SIZE
    rt_size = (lo + np.floor(_unit(codes, "rt-size") * (hi - lo + 1))).astype(np.int64)
    lo, hi = a.RT_PER_RW
    rt_per_rw = (lo + np.floor(_unit(codes, "rt-per-rw") * (hi - lo + 1))).astype(np.int64)
    rt_index = (serial - 1) // rt_size[village]
    rw = rt_index // rt_per_rw[village] + 1
    rt = rt_index % rt_per_rw[village] + 1
    # Dwellings: a family shares the building of the previous family of its RT with a small probability.
    first_in_rt = np.ones(n_families, dtype=bool)
    if n_families > 1:
        first_in_rt[1:] = (village[1:] != village[:-1]) | (rt_index[1:] != rt_index[:-1])
    shared = (rng.random(n_families) < a.SHARED_DWELLING) & ~first_in_rt
    new_building = ~shared
    cum = np.cumsum(new_building)
    rt_start = np.flatnonzero(first_in_rt)
    rt_len = np.diff(np.append(rt_start, n_families))
    building_no: np.ndarray[Any, Any] = cum - np.repeat(cum[rt_start] - 1, rt_len)
    vstart = starts[counts > 0]
    vlen = counts[counts > 0]
    dwelling = cum - np.repeat(cum[vstart] - 1, vlen)
    # family_no: 1 + number of sharing predecessors in the same building
    bld_id = cum  # global building id
    bld_first = np.flatnonzero(np.r_[True, bld_id[1:] != bld_id[:-1]]) if n_families else np.array([], int)
    bld_len = np.diff(np.append(bld_first, n_families))
    family_no = np.arange(n_families) - np.repeat(bld_first, bld_len) + 1
    # Geotags: village centre + jitter per building (families in one building share it).
    jitter = rng.normal(0.0, 0.006, size=(n_families, 2))
    jitter = jitter[np.repeat(bld_first, bld_len)]
    lat = vill["lat"].to_numpy()[village] + jitter[:, 0]
    lon = vill["lon"].to_numpy()[village] + jitter[:, 1]
    return Layout(
        village=village.astype(np.int32),
        serial=serial.astype(np.int64),
        rw=rw.astype(np.int32),
        rt=rt.astype(np.int32),
        dwelling=dwelling.astype(np.int64),
        building_no=building_no.astype(np.int32),
        family_no=family_no.astype(np.int32),
        lat=np.round(lat, 6),
        lon=np.round(lon, 6),
    )
