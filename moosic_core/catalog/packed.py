"""The packed serving catalog: one compressed NumPy file the bot loads without pandas.

What serving needs of each track (ID, title, artists, genres, match keys, mood, arousal,
popularity and a few display numbers), and what the artist index needs beyond that (each
artist's mean sound, the catalog's sound statistics and the co-credit pairs; see
:mod:`moosic_core.catalog.artists`), goes into one ``.npz`` (zip + deflate, NumPy's own
format, read with ``allow_pickle=False``). Text columns are stored as one NUL-joined UTF-8
blob each and split at load (a C-speed ``str.split``); genres as a small code table. The
repository ships this file (``catalog/moosic_catalog.npz``, about 5 MB) so that a bare clone
serves songs with no download; ``moosic catalog build`` rewrites it only when its contents
change, decided by a SHA-256 over the arrays recorded in the manifest beside it (zip files
carry timestamps, so the file's own bytes cannot decide).

The data is derived from the Spotify Tracks Dataset (ODbL 1.0); see ``catalog/NOTICE.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moosic_core.catalog.artists import INPUT_ARRAYS
from moosic_core.errors import CatalogMissing, DataError

if TYPE_CHECKING:
    from moosic_core.catalog.store import Catalog

#: 2: the artist index's inputs (``index_*``, see ``moosic_core.catalog.artists``) added.
PACKED_FORMAT = 2
TEXT_COLUMNS = ("track_ids", "names", "artists", "artist_keys", "title_keys")
#: Per-track numbers kept (float32): the scores serving ranks by, and display values.
PACKED_NUMBERS = ("mood_score", "arousal", "popularity", "valence", "energy", "emotion_proxy")
#: Model inputs whose catalog median fills a playlist track's missing value.
MEDIAN_FEATURES = ("explicit", "popularity", "duration_ms")
SEPARATOR = "\0"


def pack(catalog: Catalog) -> dict[str, np.ndarray]:
    """The arrays of the packed file, in a fixed order (the content hash depends on it)."""
    arrays: dict[str, np.ndarray] = {"format": np.asarray([PACKED_FORMAT], dtype=np.int32)}
    columns = {"track_ids": catalog.track_ids, "names": catalog._names,
               "artists": catalog._artist_names, "artist_keys": catalog.artist_keys,
               "title_keys": catalog.title_keys}
    for name in TEXT_COLUMNS:
        values = [str(v) for v in columns[name]]
        if any(SEPARATOR in v for v in values):
            raise DataError(f"The catalog column {name} holds a NUL character; cannot pack it")
        arrays[f"text_{name}"] = np.frombuffer(SEPARATOR.join(values).encode("utf-8"),
                                               dtype=np.uint8)
    arrays["genre_names"] = np.frombuffer(SEPARATOR.join(catalog.genre_names).encode("utf-8"),
                                          dtype=np.uint8)
    arrays["genre_codes"] = catalog.genre_codes
    for name in PACKED_NUMBERS:
        if name == "popularity":
            arrays[name] = np.round(catalog.popularity * 100.0).astype(np.float32)
        elif name in catalog.numbers:
            arrays[name] = np.asarray(catalog.numbers[name], dtype=np.float32)
    arrays["servable"] = np.asarray(catalog.servable, dtype=bool)
    arrays["median_names"] = np.frombuffer(
        SEPARATOR.join(catalog.feature_medians).encode("utf-8"), dtype=np.uint8)
    arrays["median_values"] = np.asarray(list(catalog.feature_medians.values()),
                                         dtype=np.float64)
    for name, inputs in catalog.artists.inputs().items():
        arrays[f"index_{name}"] = inputs
    return arrays


def content_hash(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes (independent of zip metadata)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    """The manifest beside a packed file: ``<name>.json``."""
    return path.with_suffix(".json")


def write_packed(catalog: Catalog, path: Path, source: dict[str, Any] | None = None) -> bool:
    """Write the packed catalog and its manifest unless the same contents are already there.

    Returns whether the file was (re)written. Written atomically (a temporary file, then a
    rename). ``source`` (e.g. the dataset's md5) goes into the manifest.
    """
    arrays = pack(catalog)
    digest = content_hash(arrays)
    manifest = manifest_path(path)
    if path.is_file() and manifest.is_file():
        try:
            if json.loads(manifest.read_text()).get("content_sha256") == digest:
                return False
        except (OSError, ValueError):
            pass  # an unreadable manifest: rewrite both
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp_name, "wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
        os.chmod(tmp_name, 0o644)  # a file to commit and share, not a secret
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    manifest.write_text(json.dumps({
        "format": PACKED_FORMAT, "content_sha256": digest, "tracks": len(catalog),
        "servable": int(catalog.servable.sum()), "genres": len(catalog.genre_names),
        "bytes": path.stat().st_size, **(source or {})}, indent=1) + "\n")
    return True


def _text(arrays: Any, name: str) -> list[str]:
    blob = arrays[name].tobytes().decode("utf-8")
    return blob.split(SEPARATOR) if blob else []


def read_packed(path: Path) -> dict[str, Any]:
    """The keyword arguments of ``Catalog._setup`` read from a packed file.

    Raises :class:`CatalogMissing` when ``path`` does not exist and :class:`DataError` when it
    is not a packed catalog of this format.
    """
    if not path.is_file():
        raise CatalogMissing(detail=f"{path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if int(arrays["format"][0]) != PACKED_FORMAT:
                raise DataError(f"The catalog file {path} has another format "
                                f"({int(arrays['format'][0])}); rebuild it")
            text = {name: np.asarray(_text(arrays, f"text_{name}"), dtype=object)
                    for name in TEXT_COLUMNS}
            genre_names = _text(arrays, "genre_names")
            codes = arrays["genre_codes"]
            numbers = {n: arrays[n] for n in PACKED_NUMBERS if n in arrays.files}
            servable = arrays["servable"]
            medians = dict(zip(_text(arrays, "median_names"),
                               (float(v) for v in arrays["median_values"]), strict=True))
            artist_inputs = {name: arrays[f"index_{name}"] for name in INPUT_ARRAYS}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"The catalog file {path} is damaged: {exc}") from None
    by_code = [tuple(genre_names[c] for c in row if c >= 0) for row in codes.tolist()]
    genres = _interned(by_code)
    return {"track_ids": text["track_ids"], "names": text["names"], "artists": text["artists"],
            "artist_keys": text["artist_keys"], "title_keys": text["title_keys"],
            "genres": genres, "numbers": numbers, "servable": servable,
            "feature_medians": medians, "artist_inputs": artist_inputs}


def _interned(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The same list with equal tuples shared (a few hundred distinct genre sets, 90k rows)."""
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    return [seen.setdefault(row, row) for row in rows]
