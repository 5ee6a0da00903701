"""Building the catalog file and serving it from memory.

The catalog is one Parquet file (``data/catalog/catalog.parquet``): one row per unique track
with its genres, features, scores and pre-normalised match keys. Parquet loads the whole
90k-track table in well under a second with column types intact, and the service keeps it in
memory as NumPy arrays (ranking is vectorised arithmetic over all tracks); lookups by ID,
artist or title go through dictionaries built at load time.
"""

from __future__ import annotations

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
import pandas as pd
from scipy import sparse

from moosic_core.catalog.dataset import read_source, unique_tracks
from moosic_core.errors import CatalogMissing, DataError
from moosic_core.songs.models import SongModels
from moosic_core.text import normalize_artist, normalize_title, split_artists
from moosic_core.types import Track, spotify_track_url

if TYPE_CHECKING:
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


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_catalog(source: Path, models_dir: Path, out_dir: Path) -> BuildReport:
    """Turn the dataset CSV into the catalog file, atomically (nothing half-written)."""
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
    return report


class Catalog:
    """The catalog in memory: arrays for ranking, dictionaries for lookups."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.track_ids = frame["track_id"].to_numpy(dtype=object)
        self.mood = frame["mood_score"].to_numpy(dtype=np.float32)
        self.arousal = frame["arousal"].to_numpy(dtype=np.float32)
        self.popularity = (frame["popularity"].to_numpy(dtype=np.float32) / 100.0).clip(0, 1)
        self.servable = frame["servable"].to_numpy(dtype=bool)
        self.genres: list[tuple[str, ...]] = [tuple(g.split(";")) for g in frame["genres"]]
        self.genre_names: list[str] = sorted({g for gs in self.genres for g in gs})
        self._genre_pos = {g: i for i, g in enumerate(self.genre_names)}
        self._row_of = {tid: i for i, tid in enumerate(self.track_ids)}
        self._names = frame["track_name"].to_numpy(dtype=object)
        self._artist_names = frame["artists"].to_numpy(dtype=object)

    @classmethod
    def load(cls, catalog_dir: Path) -> Catalog:
        path = catalog_dir / CATALOG_FILE
        if not path.is_file():
            raise CatalogMissing(detail=f"{path} does not exist")
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # a damaged file: say so plainly
            raise DataError(f"The catalog file {path} is damaged: {exc}") from None
        import pyarrow

        pyarrow.default_memory_pool().release_unused()  # ~50 MB of read buffers
        return cls(frame)

    def __len__(self) -> int:
        return len(self.track_ids)

    # --- lookups -------------------------------------------------------------------------
    def row_of(self, track_id: str) -> int | None:
        return self._row_of.get(track_id)

    def rows_of(self, track_ids: Iterable[str]) -> list[int | None]:
        get = self._row_of.get
        return [get(t) for t in track_ids]

    @cached_property
    def _artist_rows(self) -> dict[str, np.ndarray]:
        index: dict[str, list[int]] = {}
        for row, keys in enumerate(self.frame["artist_keys"]):
            for key in keys.split(";"):
                if key:
                    index.setdefault(key, []).append(row)
        return {k: np.asarray(v, dtype=np.int32) for k, v in index.items()}

    @cached_property
    def _title_rows(self) -> dict[tuple[str, str], int]:
        index: dict[tuple[str, str], int] = {}
        order = np.argsort(-self.popularity, kind="stable")
        artist_keys = self.frame["artist_keys"].to_numpy()
        title_keys = self.frame["title_key"].to_numpy()
        for row in order:
            for key in artist_keys[row].split(";"):
                index.setdefault((key, title_keys[row]), int(row))
        return index

    def rows_by_artist(self, artist: str) -> np.ndarray:
        """Rows of every track by this artist (any spelling that normalises the same)."""
        return self._artist_rows.get(normalize_artist(artist), np.empty(0, dtype=np.int32))

    def row_by_artist_title(self, artist: str, title: str) -> int | None:
        return self._title_rows.get((normalize_artist(artist), normalize_title(title)))

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
        """The artist index (likeness vectors, co-credits, song identity); built on first use."""
        from moosic_core.catalog.artists import ArtistIndex

        return ArtistIndex(self)

    # --- genre arithmetic ----------------------------------------------------------------
    def genre_index(self, genre: str) -> int | None:
        return self._genre_pos.get(genre)

    @cached_property
    def genre_matrix(self) -> sparse.csr_matrix:
        """Tracks x genres, each row sums to 1 over the genres a track is listed under."""
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
