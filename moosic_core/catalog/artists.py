"""The catalog's artists: who made each track, what each artist sounds like, who works with whom.

Built once from the :class:`~moosic_core.catalog.store.Catalog`'s arrays when the service starts
(about 1 s and 20 MB for the 89,741-track catalog; ``make bench`` measures it).

Each catalog artist (a normalised name, :func:`moosic_core.text.normalize_artist`) is described
by three blocks, each scaled to unit length, multiplied by the square root of its share and
joined into one vector:

- **genres** (share 0.5): the catalog genres of *all* the artist's tracks, as TF-IDF (term =
  genre, document = artist; idf = ln((1 + artists) / (1 + artists with the genre)) + 1, the
  smoothed form of scikit-learn's ``TfidfTransformer``). An artist listed under ``hip-hop`` and
  ``indian`` so differs from one under ``hip-hop`` alone, and rare genres weigh more.
- **sound** (share 0.35): the mean of the artist's tracks' z-scored audio features and track
  metadata (danceability, energy, speechiness, acousticness, instrumentalness, liveness,
  valence, tempo, loudness, mode, explicit, duration). The explicit flag and speechiness are
  what tell the US rap of the catalog's ``hip-hop`` from its Indian film and Punjabi hip-hop
  (explicit share 0.6-0.9 against 0.0-0.06).
- **popularity** (share 0.15): the mean popularity p in [0, 1] as the unit vector
  (cos(p·pi/2), sin(p·pi/2)), so that the dot product of two artists is cos((p1-p2)·pi/2).

Because every block has unit length and the shares sum to 1, the dot product of two artist
vectors is exactly the share-weighted mean of the three blocks' cosines: one likeness in
[-1, 1] whose parts can be named.

**Co-credits** are kept apart, as a sparse artist x artist matrix: one for each track two artists
share, plus 1/(k-1) for each album name shared by k <= 8 artists (so a compilation with many
artists links each pair weakly and larger ones not at all). Scenes show here most clearly: US
rappers feature each other, Punjabi artists each other.

Songs are *the same* when the normalised first artist and the normalised title match
(:func:`song_key`): the catalog holds compilation and remaster copies under other track IDs.
Every track gets the id of its song (``song_ids``), so lists, ``/more`` and the history skip
every copy.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from moosic_core.text import normalize_artist, normalize_title

if TYPE_CHECKING:
    from moosic_core.catalog.store import Catalog

log = logging.getLogger(__name__)

#: Shares of the likeness (each block is scaled by the square root of its share).
GENRE_WEIGHT, SOUND_WEIGHT, POPULARITY_WEIGHT = 0.50, 0.35, 0.15
SOUND_COLUMNS = ("danceability", "energy", "speechiness", "acousticness", "instrumentalness",
                 "liveness", "valence", "tempo", "loudness", "mode", "explicit", "duration_ms")
#: Albums with more distinct artists than this are compilations: no co-credit from them.
ALBUM_MAX_ARTISTS = 8
ALBUM_LINK = 0.5
#: Artist names remembered by :meth:`ArtistIndex.find` (cleared when full).
FIND_CACHE = 200_000
#: Co-credit walk for :meth:`ArtistIndex.scene`: steps and the weight of each further step.
SCENE_STEPS = 3
SCENE_DECAY = 0.5
#: Likeness added per unit of co-credit strength (see :meth:`ArtistIndex.likeness`).
COCREDIT_BONUS = 0.5


def song_key(artist: str, title: str) -> str:
    """The identity of a song: normalised (first) artist and normalised title.

    ``("Jack Harlow", "Way Out (feat. Big Sean)")`` and ``("jack harlow", "Way Out")`` give
    the same key; so do ``"Help! - Remastered 2009"`` and ``"Help!"``.
    """
    return f"{normalize_artist(artist)}\x1f{normalize_title(title)}"


def library_song_keys(artists: Sequence[str], title: str) -> list[str]:
    """Every key a library track may have in the catalog (its artists may come in another order)."""
    return [song_key(a, title) for a in artists if a]


@dataclass(frozen=True)
class ArtistMatch:
    """A user's artists on the catalog: positions and listening shares (summing to <= 1)."""

    positions: np.ndarray
    weights: np.ndarray
    names: tuple[str, ...]


class ArtistIndex:
    """Artists of one catalog: track incidence, likeness vectors, co-credits, song identity."""

    def __init__(self, catalog: Catalog) -> None:
        start = time.perf_counter()
        frame = catalog.frame
        n_tracks = len(catalog)
        rows, cols, slot, uniques = _credits(frame["artist_keys"].tolist())
        n_artists = len(uniques)
        first = np.full(n_tracks, -1, dtype=np.int32)
        first[rows[slot == 0]] = cols[slot == 0]
        position = {str(k): i for i, k in enumerate(uniques)}
        # Shown names: the artist's spelling on the first track that credits them.
        _, first_seen = np.unique(cols, return_index=True)
        artists = frame["artists"]
        names = []
        for key, row, j in zip(uniques, rows[first_seen].tolist(), slot[first_seen].tolist(),
                               strict=True):
            shown = [a.strip() for a in str(artists.iat[row]).split(";") if a.strip()]
            names.append(shown[j] if j < len(shown) else str(key))
        self.position = position
        self._found: dict[str, int | None] = {}
        #: Normalised key and shown name of each artist position.
        self.keys = list(position)
        self.names = names
        ones = np.ones(len(rows), dtype=np.float32)
        #: tracks x artists, 1 where the artist is credited.
        self.track_artists = sparse.csr_matrix((ones, (rows, cols)), shape=(n_tracks, n_artists))
        #: artists x tracks (the same, transposed, for per-artist rows).
        self.artist_tracks = self.track_artists.T.tocsr()
        self.first_artist = first
        self.track_count = np.asarray(self.artist_tracks.sum(axis=1)).ravel()
        self.popularity = self._mean_per_artist(catalog.popularity[:, None]).ravel()
        self.vectors = self._vectors(catalog)
        self.cocredit = self._cocredit(frame)
        self.song_ids = self._song_ids(frame)
        self.build_seconds = time.perf_counter() - start
        log.info("artist index: %d artists, %.2f s, %.1f MB", n_artists, self.build_seconds,
                 self.nbytes / 1e6)

    # --- building ------------------------------------------------------------------------
    def _mean_per_artist(self, values: np.ndarray) -> np.ndarray:
        counts = np.maximum(self.track_count, 1.0)[:, None]
        return np.asarray(self.artist_tracks @ values, dtype=np.float32) / counts

    def _vectors(self, catalog: Catalog) -> np.ndarray:
        genre_mass = (self.artist_tracks @ catalog.genre_matrix).toarray()
        tf = genre_mass / np.maximum(genre_mass.sum(axis=1, keepdims=True), 1e-9)
        df = (genre_mass > 0).sum(axis=0)
        self.genre_idf = (np.log((1 + len(self.names)) / (1 + df)) + 1.0).astype(np.float32)
        genres = _unit_rows(tf * self.genre_idf)
        sound = _unit_rows(self._mean_per_artist(self._sound_residuals(catalog)))
        angle = self.popularity * (math.pi / 2)
        popularity = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        return np.hstack([math.sqrt(GENRE_WEIGHT) * genres, math.sqrt(SOUND_WEIGHT) * sound,
                          math.sqrt(POPULARITY_WEIGHT) * popularity]).astype(np.float32)

    def _sound_residuals(self, catalog: Catalog) -> np.ndarray:
        """Each track's z-scored sound minus the mean sound of its genres (tracks x columns).

        What sets an artist apart *within* their genres: every hip-hop artist is speechy and
        danceable, but US rap is explicit far more often than the genre's average.
        """
        z = self.sound_z(catalog.frame)
        genres = catalog.genre_matrix
        mass = np.maximum(np.asarray(genres.sum(axis=0)).ravel(), 1e-9)[:, None]
        self.genre_sound = np.asarray(genres.T @ z) / mass  # genres x columns
        return (z - np.asarray(genres @ self.genre_sound)).astype(np.float32)

    def sound_z(self, frame: pd.DataFrame) -> np.ndarray:
        """Tracks' sound columns z-scored with the catalog's means and deviations."""
        values = frame.reindex(columns=list(SOUND_COLUMNS)).to_numpy(dtype=np.float64)
        if not hasattr(self, "_sound_stats"):
            mean = np.nanmean(values, axis=0)
            std = np.nanstd(values, axis=0)
            self._sound_stats = (mean, np.where(std > 0, std, 1.0))
        mean, std = self._sound_stats
        return np.nan_to_num((values - mean) / std).astype(np.float32)

    def _cocredit(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        links: dict[tuple[int, int], float] = defaultdict(float)
        album_artists: dict[str, set[int]] = defaultdict(set)
        indptr, indices = self.track_artists.indptr, self.track_artists.indices
        for row, album in enumerate(frame["album_name"].tolist()):
            found = sorted(set(indices[indptr[row]:indptr[row + 1]].tolist()))
            for i, a in enumerate(found):
                for b in found[i + 1:]:
                    links[(a, b)] += 1.0
            if album and found:
                album_artists[str(album)].update(found)
        for artists in album_artists.values():
            k = len(artists)
            if 2 <= k <= ALBUM_MAX_ARTISTS:
                ordered = sorted(artists)
                for i, a in enumerate(ordered):
                    for b in ordered[i + 1:]:
                        links[(a, b)] += ALBUM_LINK / (k - 1)
        if not links:
            return sparse.csr_matrix((len(self.names), len(self.names)), dtype=np.float32)
        pairs = np.array(list(links.keys()), dtype=np.int32)
        values = np.fromiter(links.values(), dtype=np.float32)
        strength = values / (values + 1.0)  # 1 shared track -> 0.5, 3 -> 0.75
        n = len(self.names)
        upper = sparse.csr_matrix((strength, (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        return (upper + upper.T).tocsr()

    def _song_ids(self, frame: pd.DataFrame) -> np.ndarray:
        titles = frame["title_key"].tolist()
        keys = [f"{self.keys[a] if a >= 0 else ''}\x1f{t}"
                for a, t in zip(self.first_artist.tolist(), titles, strict=True)]
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
        # Keys by 64-bit hash, sorted (0.6 MB instead of a 10 MB dictionary of strings);
        # Python's string hash is fixed for the life of the process, which is all we need.
        hashes = np.fromiter((hash(k) for k in uniques), dtype=np.int64, count=len(uniques))
        order = np.argsort(hashes, kind="stable")
        self._song_hashes, self._song_of_hash = hashes[order], order.astype(np.int32)
        return np.asarray(codes, dtype=np.int32)

    @property
    def sound_dims(self) -> int:
        return len(SOUND_COLUMNS)

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays (dictionaries not counted)."""
        mats = (self.track_artists, self.artist_tracks, self.cocredit)
        return int(self.vectors.nbytes + self.song_ids.nbytes + self.first_artist.nbytes
                   + self._song_hashes.nbytes + self._song_of_hash.nbytes
                   + sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in mats))

    # --- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.names)

    def find(self, artist: str) -> int | None:
        """The catalog position of an artist name (any spelling that normalises the same).

        Names seen before are answered from a cache (a ranking looks up every library artist
        of the user: 2,000 normalisations cost ~40 ms, the cache ~1 ms).
        """
        try:
            return self._found[artist]
        except KeyError:
            pass
        if len(self._found) >= FIND_CACHE:
            self._found.clear()
        pos = self._found[artist] = self.position.get(normalize_artist(artist))
        return pos

    def rows(self, position: int) -> np.ndarray:
        """Catalog rows of every track crediting this artist."""
        start, end = self.artist_tracks.indptr[position], self.artist_tracks.indptr[position + 1]
        return self.artist_tracks.indices[start:end]

    def song_ids_of(self, rows: Iterable[int], keys: Iterable[str] = ()) -> np.ndarray:
        """Song ids of these catalog rows and of these :func:`song_key` keys (unknown skipped)."""
        ids = self.song_ids[np.fromiter(rows, dtype=np.int64)]
        wanted = np.fromiter((hash(k) for k in keys), dtype=np.int64)
        if wanted.size:
            at = np.searchsorted(self._song_hashes, wanted).clip(0, len(self._song_hashes) - 1)
            found = self._song_hashes[at] == wanted
            ids = np.concatenate([ids, self._song_of_hash[at[found]]])
        return np.unique(ids.astype(np.int32))

    def match(self, weights: dict[str, float]) -> ArtistMatch:
        """The catalog artists among ``weights`` (name -> listening share), heaviest first."""
        found: dict[int, tuple[float, str]] = {}
        for name, weight in weights.items():
            pos = self.find(name)
            if pos is not None and weight > 0:
                old = found.get(pos, (0.0, name))
                found[pos] = (old[0] + weight, old[1])
        order = sorted(found.items(), key=lambda kv: -kv[1][0])
        return ArtistMatch(np.array([p for p, _ in order], dtype=np.int32),
                           np.array([w for _, (w, _) in order], dtype=np.float32),
                           tuple(n for _, (_, n) in order))

    def likeness(self, vectors: np.ndarray, positions: Sequence[int | None] = (),
                 sharpness: float = 1.0) -> np.ndarray:
        """Likeness of each given vector (k x D) to every catalog artist: (k, artists) in [0, 1].

        The content part is the dot product of the artist vectors (the share-weighted mean of
        the block cosines, see the module doc), clipped at 0 and raised to ``sharpness`` (a
        kernel that spreads values compressed near 1). Where ``positions[i]`` is a catalog
        artist, :data:`COCREDIT_BONUS` times its co-credit strength is added (one shared track
        adds 0.25), so artists who work together come before look-alikes; capped at 1.
        """
        likeness = np.clip(vectors @ self.vectors.T, 0.0, 1.0)
        if sharpness != 1.0:
            likeness **= sharpness
        for i, pos in enumerate(positions):
            if pos is None:
                continue
            start, end = self.cocredit.indptr[pos], self.cocredit.indptr[pos + 1]
            cols = self.cocredit.indices[start:end]
            likeness[i, cols] += COCREDIT_BONUS * self.cocredit.data[start:end]
        return np.minimum(likeness, 1.0).astype(np.float32)

    @cached_property
    def _walk(self) -> sparse.csr_matrix:
        """Column-stochastic co-credit transitions (x -> walk @ x spreads mass to co-artists)."""
        degree = np.asarray(self.cocredit.sum(axis=1)).ravel()
        inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        return (sparse.diags(inverse.astype(np.float32)) @ self.cocredit).T.tocsr()

    def scene(self, weights: np.ndarray) -> np.ndarray:
        """How close each artist is to these (artist weights) through co-credits: the mass a
        walk from them puts on each artist in 1-3 steps, step k counting 0.5^(k-1) (a truncated
        personalised PageRank). 0 for artists no chain of three co-credits reaches."""
        x = np.asarray(weights, dtype=np.float32)
        total = np.zeros_like(x)
        for step in range(SCENE_STEPS):
            x = self._walk @ x
            total += SCENE_DECAY ** step * x
        return total

    def virtual_vector(self, genres: np.ndarray, sound: np.ndarray | None) -> np.ndarray:
        """A vector for an artist the catalog lacks, from what the user's library says of them.

        ``genres``: catalog genre shares (length = the catalog's genres, from the profile
        builder); ``sound``: the mean z-scored :data:`SOUND_COLUMNS` of their tracks (None when
        the library has no audio features). Popularity is unknown (Spotify no longer returns
        it), so that block is left out and the others rescaled: the dot product with a catalog
        artist is then the weighted mean of the genre and sound cosines.
        """
        g = _unit(np.asarray(genres, dtype=np.float64) * self.genre_idf)
        n_genres = len(g)
        out = np.zeros(self.vectors.shape[1], dtype=np.float32)
        known = GENRE_WEIGHT
        if sound is not None and np.any(sound):
            known += SOUND_WEIGHT
            out[n_genres:n_genres + len(SOUND_COLUMNS)] = \
                math.sqrt(SOUND_WEIGHT / known) * _unit(sound)
        out[:n_genres] = math.sqrt(GENRE_WEIGHT / known) * g
        return out


def _credits(artist_keys: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every (row, artist position, slot on the track) of ";"-joined normalised artist keys,
    and the keys by position (first appearance first). Vectorised: one join, one split, one
    factorise, so that no per-row Python lists stay alive while the index is built."""
    lengths = np.fromiter((k.count(";") + 1 for k in artist_keys), dtype=np.int64,
                          count=len(artist_keys))
    flat = pd.Series(";".join(artist_keys).split(";"), dtype=object)
    rows = np.repeat(np.arange(len(artist_keys), dtype=np.int32), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    slot = (np.arange(len(flat)) - starts).astype(np.int32)
    named = (flat != "").to_numpy()
    codes, uniques = pd.factorize(flat[named])
    return rows[named], codes.astype(np.int32), slot[named], np.asarray(uniques, dtype=object)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
