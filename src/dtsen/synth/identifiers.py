"""NIK and KK numbers for the synthetic population: serials unique across the whole output.

NIK = PPKKCC (kecamatan) + DD (+40 for women) + MM + YY + SSSS, serial from 0001 per (kecamatan, date, sex)
code. KK = PPKKCC (kecamatan) + issue date DDMMYY + SSSS, serial from 0001 per (kecamatan, issue date).
Both are built as 16-digit integers (the first digit is never 0) and rendered as strings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]

MAX_SERIAL = 9999


class SerialExhausted(RuntimeError):
    pass


class SerialCounter:
    """Issues serials 1, 2, ... per key, across successive batches; remembers the highest serial per key."""

    def __init__(self) -> None:
        self._keys: Array = np.empty(0, dtype=np.int64)
        self._last: Array = np.empty(0, dtype=np.int64)

    def last(self, keys: Array) -> Array:
        """Highest serial issued so far for each key (0 when none)."""
        if len(self._keys) == 0:
            return np.zeros(len(keys), dtype=np.int64)
        pos = np.searchsorted(self._keys, keys)
        pos_c = np.minimum(pos, len(self._keys) - 1)
        found = self._keys[pos_c] == keys
        return np.where(found, self._last[pos_c], 0)

    def issue(self, keys: Array) -> Array:
        """Next serials for `keys` (several equal keys get consecutive serials, in input order)."""
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return np.empty(0, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        uniq, first, counts = np.unique(sorted_keys, return_index=True, return_counts=True)
        rank = np.arange(len(keys)) - np.repeat(first, counts)
        base = self.last(uniq)
        serial_sorted = np.repeat(base, counts) + rank + 1
        if serial_sorted.max() > MAX_SERIAL:
            raise SerialExhausted("more than 9999 serials for one NIK/KK prefix")
        out = np.empty(len(keys), dtype=np.int64)
        out[order] = serial_sorted
        self._update(uniq, base + counts)
        return out

    def reserve(self, keys: Array, serials: Array) -> None:
        """Mark serials as used (e.g. a mistyped NIK present in the output), so they are never issued."""
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return
        frame_keys, idx = np.unique(keys, return_inverse=True)
        highest = np.zeros(len(frame_keys), dtype=np.int64)
        np.maximum.at(highest, idx, np.asarray(serials, dtype=np.int64))
        self._update(frame_keys, np.maximum(self.last(frame_keys), highest))

    def _update(self, uniq: Array, values: Array) -> None:
        if len(self._keys) == 0:
            self._keys, self._last = uniq.copy(), values.astype(np.int64)
            return
        pos = np.searchsorted(self._keys, uniq)
        pos_c = np.minimum(pos, len(self._keys) - 1)
        found = self._keys[pos_c] == uniq
        self._last[pos_c[found]] = values[found]
        if (~found).any():
            keys = np.concatenate([self._keys, uniq[~found]])
            last = np.concatenate([self._last, values[~found]])
            order = np.argsort(keys, kind="stable")
            self._keys, self._last = keys[order], last[order]


def date_parts(days: Array) -> tuple[Array, Array, Array]:
    """(year, month, day) of datetime64[D] values."""
    d = np.asarray(days, dtype="datetime64[D]")
    years = d.astype("datetime64[Y]")
    months = d.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (d - months).astype(np.int64) + 1
    return year, month, day


def nik_key(kec6: Array, birth: Array, male: Array) -> Array:
    """The 12-digit NIK prefix PPKKCC DD MM YY as an integer."""
    year, month, day = date_parts(birth)
    dd = day + np.where(np.asarray(male).astype(bool), 0, 40)
    return np.asarray(kec6, dtype=np.int64) * 1_000_000 + dd * 10_000 + month * 100 + (year % 100)


def kk_key(kec6: Array, issued: Array) -> Array:
    """The 12-digit KK prefix PPKKCC DD MM YY (issue date) as an integer."""
    year, month, day = date_parts(issued)
    return np.asarray(kec6, dtype=np.int64) * 1_000_000 + day * 10_000 + month * 100 + (year % 100)


def with_serial(keys: Array, serials: Array) -> Array:
    return np.asarray(keys, dtype=np.int64) * 10_000 + np.asarray(serials, dtype=np.int64)
