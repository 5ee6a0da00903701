"""A compact multimap from keys to catalog rows: two sorted NumPy arrays instead of a dict.

A dict of 210,000 (artist, title) tuple keys costs about 22 MB of Python objects; the same
index as sorted 64-bit key hashes plus rows costs 2.5 MB. Lookups are a binary search
(``np.searchsorted``). Python's ``hash`` is used, so an index lives in one process only; two
keys may share a hash (odds about 1e-9 for the catalog), so callers check the rows they get.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable

import numpy as np


class HashIndex:
    """Rows by key; rows of one key come back in the order they were added."""

    def __init__(self, pairs: Iterable[tuple[Hashable, int]]) -> None:
        hashes, rows = array("q"), array("l")
        for key, row in pairs:
            hashes.append(hash(key))
            rows.append(row)
        hash_array = np.frombuffer(hashes, dtype=np.int64) if hashes else np.empty(0, np.int64)
        row_array = np.asarray(rows, dtype=np.int32)
        order = np.argsort(hash_array, kind="stable")
        self._hashes = hash_array[order]
        self._rows = row_array[order]

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, key: Hashable) -> np.ndarray:
        """The rows added under ``key`` (int32; a hash collision may add foreign rows)."""
        h = np.int64(hash(key))
        lo = int(np.searchsorted(self._hashes, h, side="left"))
        hi = int(np.searchsorted(self._hashes, h, side="right"))
        return self._rows[lo:hi]
