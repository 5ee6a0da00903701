"""Building the catalog file and serving it from memory.

The catalog is one Parquet file (``data/catalog/catalog.parquet``): one row per unique track
with its genres, features, scores and pre-normalised match keys. Parquet loads the whole
90k-track table in well under a second with column types intact, and the service keeps it in
memory as NumPy arrays (ranking is vectorised arithmetic over all tracks); lookups by ID,
artist or title go through dictionaries built at load time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moosic_core.catalog.hash_index import HashIndex
from moosic_core.catalog.packed import MEDIAN_FEATURES, PACKED_NUMBERS, read_packed, write_packed
from moosic_core.errors import CatalogMissing, DataError
from moosic_core.text import normalize_artist, normalize_title, split_artists
from moosic_core.types import Track, spotify_track_url

if TYPE_CHECKING:  # pandas and scipy load only for the tools that ask for them
    import pandas as pd
    from scipy import sparse

    from moosic_core.catalog.artists import ArtistIndex

CATALOG_FILE = "catalog.parquet"
META_FILE = "catalog.json"
SHOW_COLUMNS = ("track_id", "artists", "track_name", "genres", "valence", "energy",
                "mood_score", "arousal", "emotion_proxy", "popularity", "url")


@dataclass(frozen=True)
class BuildReport:
    rows: int
    genres: int
    servable: int
    seconds: float
    bytes: int
    path: Path
    #: Whether the packed serving catalog was rewritten (None: not asked for).
    packed_written: bool | None = None


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_catalog(source: Path, models_dir: Path, out_dir: Path,
                  packed: Path | None = None) -> BuildReport:
    """Turn the dataset CSV into the catalog file, atomically (nothing half-written).

    With ``packed``, also refresh the packed serving catalog there (rewritten only when its
    contents change; see :mod:`moosic_core.catalog.packed`). Raises :class:`DataError` when the
    dataset is missing or unreadable.
    """
    from moosic_core.catalog.dataset import read_source, unique_tracks
    from moosic_core.songs.models import SongModels

    start = time.perf_counter()
    tracks = unique_tracks(read_source(source))
    models = SongModels.load(models_dir)
    tracks["mood_score"] = models.mood.mood_score(tracks).round(4)
    tracks["arousal"] = models.mood.arousal_score(tracks).round(4)
    tracks["emotion_proxy"] = models.emotion_proxy_score(tracks).round(4)
    tracks["artist_keys"] = [";".join(normalize_artist(a) for a in split_artists(s))
                             for s in tracks["artists"]]
    tracks["title_key"] = [normalize_title(t) for t in tracks["track_name"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / CATALOG_FILE
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, suffix=".parquet.tmp")
    os.close(fd)
    try:
        tracks.to_parquet(tmp_name, index=False, compression="zstd")
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    genres = {g for gs in tracks["genres"] for g in gs.split(";")}
    report = BuildReport(len(tracks), len(genres), int(tracks["servable"].sum()),
                         round(time.perf_counter() - start, 2), target.stat().st_size, target)
    meta = {"source": str(source), "source_md5": _file_md5(source), "rows": report.rows,
            "genres": report.genres, "servable": report.servable,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=1))
    if packed is not None:
        written = write_packed(Catalog(tracks), packed, {"source_md5": meta["source_md5"]})
        report = dataclasses.replace(report, packed_written=written)
    return report


class Catalog:
    """The catalog in memory: arrays for ranking, dictionaries for lookups.

    Built from the full catalog table (:meth:`load`, Parquet, for the tools) or from the packed
    serving file (:meth:`load_packed`, NumPy only: serving never loads pandas or pyarrow).
    """

    _frame: pd.DataFrame | None

    def __init__(self, frame: pd.DataFrame) -> None:
        medians = {c: float(np.median(frame[c].to_numpy(dtype=np.float64)))
                   for c in MEDIAN_FEATURES if c in frame}
        self._setup(
            track_ids=frame["track_id"].to_numpy(dtype=object),
            names=frame["track_name"].to_numpy(dtype=object),
            artists=frame["artists"].to_numpy(dtype=object),
            artist_keys=frame["artist_keys"].to_numpy(dtype=object),
            title_keys=frame["title_key"].to_numpy(dtype=object),
            genres=[tuple(g.split(";")) for g in frame["genres"]],
            numbers={c: frame[c].to_numpy(dtype=np.float32) for c in PACKED_NUMBERS
                     if c in frame},
            servable=frame["servable"].to_numpy(dtype=bool), feature_medians=medians)
        self._frame = frame

    def _setup(self, *, track_ids: np.ndarray, names: np.ndarray, artists: np.ndarray,
               artist_keys: np.ndarray, title_keys: np.ndarray, genres: list[tuple[str, ...]],
               numbers: dict[str, np.ndarray], servable: np.ndarray,
               feature_medians: dict[str, float],
               artist_inputs: dict[str, np.ndarray] | None = None) -> None:
        self._frame = None
        self.track_ids = track_ids
        self.mood = numbers["mood_score"]
        self.arousal = numbers["arousal"]
        self.popularity = (numbers["popularity"] / 100.0).clip(0, 1)
        self.servable = servable
        self.genres = genres
        self.genre_names: list[str] = sorted({g for gs in self.genres for g in gs})
        self._genre_pos = {g: i for i, g in enumerate(self.genre_names)}
        self._row_of = {tid: i for i, tid in enumerate(self.track_ids)}
        self._names = names
        self._artist_names = artists
        #: ``;``-joined normalised artist names per track (:func:`normalize_artist`).
        self.artist_keys = artist_keys
        #: The normalised title per track (:func:`normalize_title`).
        self.title_keys = title_keys
        #: Other per-track numbers kept for display (valence, energy, emotion_proxy).
        self.numbers = numbers
        #: Catalog medians of model inputs a playlist may lack (explicit, popularity, duration).
        self.feature_medians = feature_medians
        #: What the artist index needs beyond these arrays (packed; None: from :attr:`frame`).
        self.artist_inputs = artist_inputs

    @classmethod
    def load(cls, catalog_dir: Path) -> Catalog:
        """The full catalog table built by ``moosic catalog build`` (Parquet; for the tools)."""
        path = catalog_dir / CATALOG_FILE
        if not path.is_file():
            raise CatalogMissing(detail=f"{path} does not exist")
        import pandas

        try:
            frame = pandas.read_parquet(path)
        except Exception as exc:  # a damaged file: say so plainly
            raise DataError(f"The catalog file {path} is damaged: {exc}") from None
        import pyarrow

        pyarrow.default_memory_pool().release_unused()  # ~50 MB of read buffers
        return cls(frame)

    @classmethod
    def load_packed(cls, path: Path) -> Catalog:
        """The serving catalog from its packed file (see :mod:`moosic_core.catalog.packed`).

        Raises :class:`CatalogMissing` when the file is absent and :class:`DataError` when it
        cannot be read.
        """
        packed = read_packed(path)
        catalog = cls.__new__(cls)
        catalog._setup(**packed)
        return catalog

    @property
    def frame(self) -> pd.DataFrame:
        """The catalog as a table (pandas is imported on first use; serving never asks)."""
        if self._frame is None:
            import pandas

            self._frame = pandas.DataFrame({
                "track_id": self.track_ids, "artists": self._artist_names,
                "track_name": self._names, "genres": [";".join(g) for g in self.genres],
                **self.numbers, "servable": self.servable, "artist_keys": self.artist_keys,
                "title_key": self.title_keys})
        return self._frame

    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def artist_names(self) -> np.ndarray:
        """The ``;``-joined artist names of each track, as the dataset spells them."""
        return self._artist_names

    # --- lookups -------------------------------------------------------------------------
    def row_of(self, track_id: str) -> int | None:
        return self._row_of.get(track_id)

    def rows_of(self, track_ids: Iterable[str]) -> list[int | None]:
        get = self._row_of.get
        return [get(t) for t in track_ids]

    @cached_property
    def _artist_rows(self) -> HashIndex:
        return HashIndex((key, row) for row, keys in enumerate(self.artist_keys)
                         for key in keys.split(";") if key)

    @cached_property
    def _title_rows(self) -> HashIndex:
        """(artist key, title key) -> rows, the most popular first."""
        order = np.argsort(-self.popularity, kind="stable")
        artist_keys, title_keys = self.artist_keys, self.title_keys
        return HashIndex(((key, title_keys[row]), int(row)) for row in order.tolist()
                         for key in artist_keys[row].split(";"))

    def rows_by_artist(self, artist: str) -> np.ndarray:
        """Rows of every track by this artist (any spelling that normalises the same)."""
        key = normalize_artist(artist)
        rows = self._artist_rows.rows(key)
        return np.asarray([r for r in rows.tolist() if key in self.artist_keys[r].split(";")],
                          dtype=np.int32)

    def row_by_artist_title(self, artist: str, title: str) -> int | None:
        """The most popular track with this artist and title (normalised), or None."""
        key, title_key = normalize_artist(artist), normalize_title(title)
        for row in self._title_rows.rows((key, title_key)).tolist():
            if self.title_keys[row] == title_key and key in self.artist_keys[row].split(";"):
                return int(row)
        return None

    def artist_genre_distribution(self, artist: str) -> dict[str, float]:
        """The genres of an artist's catalog tracks, as shares summing to 1."""
        counts: dict[str, float] = {}
        for row in self.rows_by_artist(artist):
            for genre in self.genres[row]:
                counts[genre] = counts.get(genre, 0.0) + 1.0 / len(self.genres[row])
        total = sum(counts.values())
        return {g: c / total for g, c in counts.items()} if total else {}

    @cached_property
    def artists(self) -> ArtistIndex:
        """The artist index (likeness vectors, co-credits, song identity); built on first use.

        Raises :class:`DataError` when a packed catalog's artist data does not fit its tracks.
        """
        from moosic_core.catalog.artists import ArtistIndex

        return ArtistIndex(self)

    # --- genre arithmetic ----------------------------------------------------------------
    def genre_index(self, genre: str) -> int | None:
        return self._genre_pos.get(genre)

    @cached_property
    def genre_codes(self) -> np.ndarray:
        """Tracks x most genres per track (int16): genre positions, padded with -1."""
        width = max((len(g) for g in self.genres), default=1)
        codes = np.full((len(self), width), -1, dtype=np.int16)
        for row, genres in enumerate(self.genres):
            codes[row, :len(genres)] = [self._genre_pos[g] for g in genres]
        return codes

    def genre_fit(self, vector: np.ndarray) -> np.ndarray:
        """Per track, the mean of ``vector`` (one value per genre) over the track's genres.

        The same as ``genre_matrix @ vector`` (shape (tracks,), float32), in NumPy alone.
        """
        codes = self.genre_codes
        padded = np.append(np.asarray(vector, dtype=np.float32), np.float32(0.0))
        counts = (codes >= 0).sum(axis=1)
        return (padded[codes].sum(axis=1) / np.maximum(counts, 1)).astype(np.float32)

    def genre_rows(self, rows: np.ndarray | list[int]) -> np.ndarray:
        """Rows of ``genre_matrix`` as a dense (len(rows), genres) float32 array."""
        codes = self.genre_codes[np.asarray(rows, dtype=np.int64)]
        out = np.zeros((len(codes), len(self.genre_names) + 1), dtype=np.float32)
        counts = np.maximum((codes >= 0).sum(axis=1), 1).astype(np.float32)
        np.put_along_axis(out, codes.astype(np.int64), (1.0 / counts)[:, None], axis=1)
        return out[:, :-1]

    @cached_property
    def genre_matrix(self) -> sparse.csr_matrix:
        """Tracks x genres, each row sums to 1 over the genres a track is listed under."""
        from scipy import sparse

        rows, cols, vals = [], [], []
        for row, genres in enumerate(self.genres):
            for genre in genres:
                rows.append(row)
                cols.append(self._genre_pos[genre])
                vals.append(1.0 / len(genres))
        return sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                                 shape=(len(self), len(self.genre_names)))

    def genre_vector(self, weights: dict[str, float]) -> np.ndarray:
        vector = np.zeros(len(self.genre_names), dtype=np.float32)
        for genre, weight in weights.items():
            pos = self._genre_pos.get(genre)
            if pos is not None:
                vector[pos] = weight
        return vector

    # --- presentation --------------------------------------------------------------------
    def track(self, row: int) -> Track:
        return Track(
            track_id=str(self.track_ids[row]), name=str(self._names[row]),
            artists=tuple(split_artists(str(self._artist_names[row]))), genres=self.genres[row],
            mood_score=float(self.mood[row]), energy=float(self.arousal[row]),
            popularity=float(self.popularity[row]),
        )

    def show(self, genre: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Catalog rows for display, optionally only one genre's tracks."""
        frame = self.frame
        if genre is not None:
            if genre not in self._genre_pos:
                raise DataError(f"Unknown genre {genre!r}. Genres: {', '.join(self.genre_names)}")
            frame = frame.loc[[genre in gs for gs in self.genres]]
        if limit is not None:
            frame = frame.head(limit)
        out = frame.assign(url=[spotify_track_url(t) for t in frame["track_id"]])
        return out.loc[:, list(SHOW_COLUMNS)].reset_index(drop=True)
