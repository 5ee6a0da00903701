"""The catalog's artists: who made each track, what each artist sounds like, who works with whom.

Built once from the :class:`~moosic_core.catalog.store.Catalog`'s arrays when the service starts
(about 1 s and 9 MB of arrays for the 89,741-track catalog; ``make bench`` measures it), in
NumPy alone: serving loads neither pandas nor SciPy. What the packed serving catalog has no
columns for (the tracks' sound features and albums) it carries already reduced to the
artists: :data:`INPUT_ARRAYS`, made by :meth:`ArtistIndex.inputs` when the catalog is packed.
Sparse matrices are :class:`Csr` (three arrays); the genre block of the vectors stays sparse
(1.5 genres per artist), and likeness is computed a few thousand artists at a time.

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

Songs are *the same* when a credited artist and the normalised title match (:func:`song_key`,
which strips versions: " - Remastered 2011", "(Live)", " - SKRILLEX REMIX", "(feat. X)",
"(Sped Up)"); tracks linked through such keys are one song (connected components), so
"Skrillex;Kendrick Lamar - HUMBLE. - SKRILLEX REMIX" is Kendrick Lamar's "HUMBLE.". The
catalog holds compilation, remaster and remix copies under other track IDs. Every track gets
the id of its song (``song_ids``), so lists, ``/more`` and the history skip every copy and
version. A cover by other artists only ("Our Last Night - HUMBLE.") is another song.
"""

from __future__ import annotations

import logging
import math
import time
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from moosic_core.errors import DataError
from moosic_core.memory import release_free_memory
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
#: Catalog artists made dense at a time when likeness is computed (4,096 x 128 float32 = 2 MB).
LIKENESS_CHUNK = 4096
#: :meth:`ArtistIndex.same_artists`: how alike two keys must be (difflib ratio) to be one
#: artist given a recording credited to both ("fryderykchopin" / "fredericchopin": 0.79,
#: "jhaycortez" / "jhayco": 0.75; "tiesto" / "r3hab": 0).
SAME_ARTIST_NAME_RATIO = 0.7
#: The arrays the packed serving catalog keeps for the index (see :meth:`ArtistIndex.inputs`):
#: what the catalog's tracks alone cannot give (sound columns and albums are not packed).
INPUT_ARRAYS = ("artist_count", "artist_sound", "sound_mean", "sound_std", "cocredit_pairs",
                "cocredit_strength")


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


@dataclass(frozen=True)
class Csr:
    """A compressed sparse row matrix in plain NumPy (serving never loads SciPy).

    Row ``i`` holds ``indices[indptr[i]:indptr[i + 1]]`` (ascending) with ``data`` alongside.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @classmethod
    def from_pairs(cls, rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                   n_rows: int) -> Csr:
        """From (row, col, value) triples with distinct (row, col); sorted here."""
        order = np.lexsort((cols, rows))
        counts = np.bincount(rows, minlength=n_rows)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, cols[order].astype(np.int32), values[order].astype(np.float32))

    def row(self, i: int) -> np.ndarray:
        return self.indices[self.indptr[i]:self.indptr[i + 1]]

    def owners(self) -> np.ndarray:
        """The row of every stored entry (int32, same length as ``indices``)."""
        return np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int32), np.diff(self.indptr))

    def entries(self, rows: np.ndarray) -> np.ndarray:
        """Positions in ``indices``/``data`` of every entry of these rows, row by row."""
        starts, ends = self.indptr[rows], self.indptr[np.asarray(rows) + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        return np.arange(int(lengths.sum()), dtype=np.int64) + offsets

    @property
    def nnz(self) -> int:
        return len(self.indices)

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)


class ArtistIndex:
    """Artists of one catalog: track incidence, likeness vectors, co-credits, song identity.

    Built from the catalog's track arrays plus :data:`INPUT_ARRAYS`, which the packed serving
    catalog carries (``catalog.artist_inputs``); a catalog read from the full table (the
    tools) computes them from its sound and album columns (:meth:`inputs` gives them to pack).
    Raises :class:`DataError` when packed inputs were made for another artist list.
    """

    def __init__(self, catalog: Catalog) -> None:
        start = time.perf_counter()
        rows, cols, slot, position = _credits(str(k) for k in catalog.artist_keys)
        n_tracks, n_artists = len(catalog), len(position)
        self.position = position
        self._found: dict[str, int | None] = {}
        #: Normalised key of each artist position.
        self.keys = list(position)
        first = np.full(n_tracks, -1, dtype=np.int32)
        first[rows[slot == 0]] = cols[slot == 0]
        self.first_artist = first
        # Distinct (track, artist) pairs; a track naming an artist twice counts twice.
        pair, counts = np.unique(rows.astype(np.int64) * n_artists + cols, return_counts=True)
        pair_rows, pair_cols = (pair // n_artists).astype(np.int32), (pair % n_artists)
        #: tracks x artists, the times the artist is credited (1 almost always).
        self.track_artists = Csr.from_pairs(pair_rows, pair_cols.astype(np.int32),
                                            counts.astype(np.float32), n_tracks)
        #: artists x tracks (the same, transposed, for per-artist rows).
        self.artist_tracks = Csr.from_pairs(pair_cols.astype(np.int32), pair_rows,
                                            counts.astype(np.float32), n_artists)
        del pair, counts, pair_rows, pair_cols
        self.names = self._shown_names(catalog, rows, cols, slot)
        self.track_count = np.bincount(self.artist_tracks.owners(),
                                       weights=self.artist_tracks.data,
                                       minlength=n_artists).astype(np.float32)
        self.popularity = self._mean_per_artist(catalog.popularity[:, None]).ravel()
        inputs = catalog.artist_inputs
        if inputs is None:
            inputs = self._computed_inputs(catalog)
        elif int(inputs["artist_count"][0]) != n_artists:
            raise DataError(f"The packed catalog's artist data is for "
                            f"{int(inputs['artist_count'][0])} artists, its tracks name "
                            f"{n_artists}; rebuild it (make catalog)")
        self._inputs = inputs
        self._sound_stats = (inputs["sound_mean"], inputs["sound_std"])
        self._genre_vectors(catalog)
        self._rest = self._sound_and_popularity(inputs["artist_sound"])
        self.cocredit = _symmetric(inputs["cocredit_pairs"], inputs["cocredit_strength"],
                                   n_artists)
        self.song_ids = self._song_ids(catalog)
        #: Catalog rows ordered by song id (the rows of song ``s`` are a run of this array).
        self._rows_by_song = np.argsort(self.song_ids, kind="stable").astype(np.int32)
        self._song_starts = np.searchsorted(self.song_ids[self._rows_by_song],
                                            np.arange(int(self.song_ids.max(initial=-1)) + 2)
                                            ).astype(np.int32)
        release_free_memory()
        self.build_seconds = time.perf_counter() - start
        log.info("artist index: %d artists, %.2f s, %.1f MB", n_artists, self.build_seconds,
                 self.nbytes / 1e6)

    # --- building ------------------------------------------------------------------------
    def _shown_names(self, catalog: Catalog, rows: np.ndarray, cols: np.ndarray,
                     slot: np.ndarray) -> list[str]:
        """The artist's spelling on the first track that credits them."""
        _, first_seen = np.unique(cols, return_index=True)
        artists = catalog.artist_names
        names = []
        for code, row, j in zip(cols[first_seen].tolist(), rows[first_seen].tolist(),
                                slot[first_seen].tolist(), strict=True):
            shown = [a.strip() for a in str(artists[row]).split(";") if a.strip()]
            names.append(shown[j] if j < len(shown) else self.keys[code])
        return names

    def _mean_per_artist(self, values: np.ndarray) -> np.ndarray:
        """Per artist, the mean of ``values`` (tracks x d) over their tracks: (artists, d)."""
        owners, tracks = self.artist_tracks.owners(), self.artist_tracks.indices
        weights = self.artist_tracks.data.astype(np.float64)
        counts = np.maximum(self.track_count, 1.0)
        out = np.empty((len(self.keys), values.shape[1]), dtype=np.float32)
        for j in range(values.shape[1]):
            sums = np.bincount(owners, weights=weights * values[tracks, j],
                               minlength=len(self.keys))
            out[:, j] = sums / counts
        return out

    def _genre_vectors(self, catalog: Catalog) -> None:
        """The genre block, sparse: TF-IDF over the genres of all the artist's tracks."""
        codes = catalog.genre_codes
        per_track = np.maximum((codes >= 0).sum(axis=1), 1)
        owners, tracks = self.artist_tracks.owners(), self.artist_tracks.indices
        share = self.artist_tracks.data / per_track[tracks]
        artist_list, genre_list, mass_list = [], [], []
        for column in range(codes.shape[1]):
            genre = codes[tracks, column]
            listed = genre >= 0
            artist_list.append(owners[listed])
            genre_list.append(genre[listed].astype(np.int64))
            mass_list.append(share[listed])
        n_genres = len(catalog.genre_names)
        key = np.concatenate(artist_list).astype(np.int64) * n_genres + np.concatenate(genre_list)
        pair, inverse = np.unique(key, return_inverse=True)
        mass = np.bincount(inverse.ravel(), weights=np.concatenate(mass_list))
        artist, genre = (pair // n_genres).astype(np.int32), (pair % n_genres).astype(np.int32)
        total = np.bincount(artist, weights=mass, minlength=len(self.keys))
        tf = mass / np.maximum(total[artist], 1e-9)
        df = np.bincount(genre[mass > 0], minlength=n_genres)
        self.genre_idf = (np.log((1 + len(self.keys)) / (1 + df)) + 1.0).astype(np.float32)
        tfidf = tf * self.genre_idf[genre]
        norm = np.sqrt(np.bincount(artist, weights=tfidf * tfidf, minlength=len(self.keys)))
        values = math.sqrt(GENRE_WEIGHT) * np.divide(tfidf, norm[artist],
                                                     out=np.zeros_like(tfidf),
                                                     where=norm[artist] > 0)
        #: artists x genres: the genre block of each artist's vector (already weighted).
        self.genre_block = Csr.from_pairs(artist, genre, values, len(self.keys))
        self.n_genres = n_genres

    def _sound_and_popularity(self, artist_sound: np.ndarray) -> np.ndarray:
        """The dense part of each vector: unit sound and popularity blocks, weighted."""
        sound = _unit_rows(np.asarray(artist_sound, dtype=np.float32))
        angle = self.popularity * (math.pi / 2)
        popularity = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        return np.hstack([math.sqrt(SOUND_WEIGHT) * sound,
                          math.sqrt(POPULARITY_WEIGHT) * popularity]).astype(np.float32)

    def _computed_inputs(self, catalog: Catalog) -> dict[str, np.ndarray]:
        """:data:`INPUT_ARRAYS` from the full catalog table (sound and album columns)."""
        frame = catalog.frame
        values = np.column_stack([
            frame[c].to_numpy(dtype=np.float64) if c in frame else np.full(len(frame), np.nan)
            for c in SOUND_COLUMNS])
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
        std = np.where(std > 0, std, 1.0)
        z = np.nan_to_num((values - mean) / std).astype(np.float32)
        del values
        pairs, strength = self._cocredit_pairs(frame["album_name"].tolist()
                                               if "album_name" in frame else [])
        return {"artist_count": np.asarray([len(self.keys)], dtype=np.int32),
                "artist_sound": self._mean_per_artist(_genre_residuals(catalog, z)),
                "sound_mean": mean, "sound_std": std,
                "cocredit_pairs": pairs, "cocredit_strength": strength}

    def _cocredit_pairs(self, albums: list[object]) -> tuple[np.ndarray, np.ndarray]:
        """Co-credit strength of every linked artist pair (a < b): shared tracks and albums."""
        links: dict[tuple[int, int], float] = defaultdict(float)
        album_artists: dict[str, set[int]] = defaultdict(set)
        indptr, indices = self.track_artists.indptr, self.track_artists.indices
        for row in range(len(indptr) - 1):
            found = indices[indptr[row]:indptr[row + 1]].tolist()
            for i, a in enumerate(found):
                for b in found[i + 1:]:
                    links[(a, b)] += 1.0
            album = albums[row] if row < len(albums) else None
            if isinstance(album, str) and album and found:
                album_artists[album].update(found)
        for artists in album_artists.values():
            k = len(artists)
            if 2 <= k <= ALBUM_MAX_ARTISTS:
                ordered = sorted(artists)
                for i, a in enumerate(ordered):
                    for b in ordered[i + 1:]:
                        links[(a, b)] += ALBUM_LINK / (k - 1)
        pairs = np.array(list(links.keys()), dtype=np.int32).reshape(-1, 2)
        values = np.fromiter(links.values(), dtype=np.float32, count=len(links))
        return pairs, (values / (values + 1.0)).astype(np.float32)  # 1 track -> 0.5, 3 -> 0.75

    def _song_ids(self, catalog: Catalog) -> np.ndarray:
        """The song of every track: tracks sharing any (credited artist, title) key are one song
        (connected components over those keys), so a remix credited "Skrillex;Kendrick Lamar"
        is the same song as Kendrick Lamar's own "HUMBLE." (see the module doc)."""
        keys, titles = self.keys, catalog.title_keys
        matrix = self.track_artists
        owners, artists = matrix.owners(), matrix.indices
        # One node per distinct key; tracks crediting nobody get a key of their title alone.
        lone = np.flatnonzero(np.diff(matrix.indptr) == 0).astype(np.int32)
        track_of = np.concatenate([owners, lone])
        hashes = np.fromiter(
            [hash(f"{keys[a]}\x1f{titles[r]}") for r, a in zip(owners.tolist(), artists.tolist(),
                                                              strict=True)]
            + [hash(f"\x1f{titles[r]}") for r in lone.tolist()],
            dtype=np.int64, count=len(track_of))
        unique, node = np.unique(hashes, return_inverse=True)
        node = node.ravel()
        # Label propagation: each track takes the smallest node label among its keys, each key
        # the smallest track label among its tracks, until nothing changes (a few rounds).
        track_label = np.arange(len(catalog), dtype=np.int64)
        while True:
            node_label = np.full(len(unique), len(catalog), dtype=np.int64)
            np.minimum.at(node_label, node, track_label[track_of])
            new_label = track_label.copy()
            np.minimum.at(new_label, track_of, node_label[node])
            if np.array_equal(new_label, track_label):
                break
            track_label = new_label
        # Song ids in order of first appearance (a component's label is its first track).
        _, song_of_track = np.unique(track_label, return_inverse=True)
        song_of_track = song_of_track.ravel().astype(np.int32)
        # Keys by 64-bit hash, sorted (about 1 MB instead of a dictionary of strings). Python's
        # string hash is fixed for the life of the process, which is all we need.
        self._song_hashes = unique
        first_use = np.unique(node, return_index=True)[1]
        self._song_of_hash = song_of_track[track_of[first_use]]
        return song_of_track

    def inputs(self) -> dict[str, np.ndarray]:
        """:data:`INPUT_ARRAYS` for the packed serving catalog."""
        return {name: self._inputs[name] for name in INPUT_ARRAYS}

    @property
    def sound_dims(self) -> int:
        return len(SOUND_COLUMNS)

    @property
    def dims(self) -> int:
        """Length of an artist vector: genres, then sound, then the two popularity values."""
        return self.n_genres + self._rest.shape[1]

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays (dictionaries and lists not counted)."""
        mats = (self.track_artists, self.artist_tracks, self.cocredit, self.genre_block)
        return int(self._rest.nbytes + self.song_ids.nbytes + self.first_artist.nbytes
                   + self._rows_by_song.nbytes + self._song_starts.nbytes
                   + self._song_hashes.nbytes + self._song_of_hash.nbytes
                   + self.track_count.nbytes + self.popularity.nbytes
                   + sum(m.nbytes for m in mats))

    # --- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.keys)

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
        return self.artist_tracks.row(position)

    def song_ids_of(self, rows: Iterable[int], keys: Iterable[str] = ()) -> np.ndarray:
        """Song ids of these catalog rows and of these :func:`song_key` keys (unknown skipped)."""
        ids = self.song_ids[np.fromiter(rows, dtype=np.int64)]
        wanted = np.fromiter((hash(k) for k in keys), dtype=np.int64)
        if wanted.size:
            at = np.searchsorted(self._song_hashes, wanted).clip(0, len(self._song_hashes) - 1)
            found = self._song_hashes[at] == wanted
            ids = np.concatenate([ids, self._song_of_hash[at[found]]])
        return np.unique(ids.astype(np.int32))

    def rows_of_songs(self, song_ids: np.ndarray) -> np.ndarray:
        """Catalog rows of every track of these songs (every copy and version)."""
        starts, ends = self._song_starts[song_ids], self._song_starts[np.asarray(song_ids) + 1]
        return np.concatenate([self._rows_by_song[a:b] for a, b in
                               zip(starts.tolist(), ends.tolist(), strict=True)] or
                              [np.zeros(0, dtype=np.int32)])

    def same_artists(self, songs: Iterable[str]) -> dict[int, str]:
        """Catalog artists who are one of the library's artists under another spelling:
        catalog position -> the library artist's normalised key.

        ``songs``: the library's :func:`song_key` keys (every credited artist of every track).
        Evidence is the same recording credited with one name spelled otherwise: a catalog
        song with a library title that credits at least one of the library track's other
        artists, exactly one artist the library does not credit on that title (Y), while the
        library credits exactly one artist the catalog track lacks (X): "Fryderyk Chopin;Daniel
        Barenboim - Nocturne Op. 9 No. 2" against "Frédéric Chopin;Daniel Barenboim - ...".
        Y is X when, besides, the two keys are alike (difflib ratio >=
        :data:`SAME_ARTIST_NAME_RATIO`): the evidence alone also fits a remix credited to its
        remixer in place of a featured artist (Tiësto / R3HAB). Y is never one of the library's
        own artists. Costs about 1 ms per 100 multi-artist library songs.
        """
        by_title: dict[str, set[str]] = defaultdict(set)
        for key in songs:
            artist, _, title = key.partition("\x1f")
            if artist:
                by_title[title].add(artist)
        own = {a for artists in by_title.values() for a in artists}
        shared = [(title, artists) for title, artists in by_title.items() if len(artists) >= 2]
        if not shared or not len(self._song_hashes):
            return {}
        owner = [i for i, (_, artists) in enumerate(shared) for _ in artists]
        wanted = np.fromiter((hash(f"{a}\x1f{title}") for title, artists in shared
                              for a in artists), dtype=np.int64, count=len(owner))
        at = np.searchsorted(self._song_hashes, wanted).clip(0, len(self._song_hashes) - 1)
        songs_of_title: dict[int, set[int]] = defaultdict(set)
        for i in np.flatnonzero(self._song_hashes[at] == wanted).tolist():
            songs_of_title[owner[i]].add(int(self._song_of_hash[at[i]]))
        evidence: dict[tuple[int, str], int] = defaultdict(int)
        for i, found in songs_of_title.items():
            artists = shared[i][1]
            seen: set[tuple[int, str]] = set()
            for row in self.rows_of_songs(np.fromiter(found, dtype=np.int64)).tolist():
                credited = self.track_artists.row(row).tolist()
                names = {self.keys[a] for a in credited}
                unknown = [a for a in credited if self.keys[a] not in artists]
                missing = artists - names
                if (len(unknown) == 1 and len(missing) == 1 and names & artists
                        and self.keys[unknown[0]] not in own):
                    seen.add((unknown[0], next(iter(missing))))
            for pair in seen:
                evidence[pair] += 1
        out: dict[int, str] = {}
        for (position, user_key), titles in sorted(evidence.items(), key=lambda kv: -kv[1]):
            alike = SequenceMatcher(None, self.keys[position], user_key).ratio()
            if position not in out and titles > 0 and alike >= SAME_ARTIST_NAME_RATIO:
                out[position] = user_key
        return out

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

    # --- likeness ------------------------------------------------------------------------
    def vectors_of(self, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        """The likeness vectors of these artists: (len(positions), :attr:`dims`) float32."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.zeros((len(positions), self.dims), dtype=np.float32)
        entries = self.genre_block.entries(positions)
        owner = np.repeat(np.arange(len(positions)), np.diff(self.genre_block.indptr)[positions])
        out[owner, self.genre_block.indices[entries]] = self.genre_block.data[entries]
        out[:, self.n_genres:] = self._rest[positions]
        return out

    def likeness(self, vectors: np.ndarray, positions: Sequence[int | None] = (),
                 sharpness: float = 1.0, columns: np.ndarray | None = None) -> np.ndarray:
        """Likeness of each given vector (k x D) to catalog artists: (k, artists) in [0, 1].

        ``columns``: only these catalog artists (k, len(columns)). The content part is the dot
        product of the artist vectors (the share-weighted mean of the block cosines, see the
        module doc), clipped at 0 and raised to ``sharpness`` (a kernel that spreads values
        compressed near 1). Where ``positions[i]`` is a catalog artist, :data:`COCREDIT_BONUS`
        times its co-credit strength is added (one shared track adds 0.25), so artists who
        work together come before look-alikes; capped at 1.
        """
        targets = np.arange(len(self)) if columns is None else np.asarray(columns)
        out = np.empty((len(vectors), len(targets)), dtype=np.float32)
        for start in range(0, len(targets), LIKENESS_CHUNK):
            chunk = targets[start:start + LIKENESS_CHUNK]
            out[:, start:start + len(chunk)] = self._likeness_block(vectors, positions,
                                                                    sharpness, chunk)
        return out

    def weighted_likeness(self, vectors: np.ndarray, positions: Sequence[int | None],
                          weights: np.ndarray, sharpness: float = 1.0) -> np.ndarray:
        """``weights @ likeness(vectors, positions, sharpness)``: (artists,) float32, computed
        :data:`LIKENESS_CHUNK` artists at a time (a few MB, never the k x artists matrix)."""
        weights = np.asarray(weights, dtype=np.float32)
        out = np.empty(len(self), dtype=np.float32)
        for start in range(0, len(self), LIKENESS_CHUNK):
            chunk = np.arange(start, min(start + LIKENESS_CHUNK, len(self)))
            out[chunk] = weights @ self._likeness_block(vectors, positions, sharpness, chunk)
        return out

    def _likeness_block(self, vectors: np.ndarray, positions: Sequence[int | None],
                        sharpness: float, columns: np.ndarray) -> np.ndarray:
        likeness = np.clip(vectors @ self.vectors_of(columns).T, 0.0, 1.0)
        if sharpness != 1.0:
            likeness **= sharpness
        where = {int(c): j for j, c in enumerate(columns.tolist())} if len(columns) < len(self) \
            else None
        for i, pos in enumerate(positions):
            if pos is None:
                continue
            start, end = self.cocredit.indptr[pos], self.cocredit.indptr[pos + 1]
            cols, bonus = self.cocredit.indices[start:end], self.cocredit.data[start:end]
            if where is None:
                likeness[i, cols] += COCREDIT_BONUS * bonus
                continue
            hit = [(where[c], b) for c, b in zip(cols.tolist(), bonus.tolist(), strict=True)
                   if c in where]
            if hit:
                at, values = zip(*hit, strict=True)
                likeness[i, list(at)] += COCREDIT_BONUS * np.asarray(values, dtype=np.float32)
        return np.minimum(likeness, 1.0).astype(np.float32)

    @cached_property
    def _walk(self) -> tuple[np.ndarray, np.ndarray]:
        """Co-credit entries' rows and their weights divided by the column artist's degree."""
        owners = self.cocredit.owners()
        degree = np.bincount(owners, weights=self.cocredit.data,
                             minlength=len(self)).astype(np.float32)
        inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        return owners, inverse

    def scene(self, weights: np.ndarray) -> np.ndarray:
        """How close each artist is to these (artist weights) through co-credits: the mass a
        walk from them puts on each artist in 1-3 steps, step k counting 0.5^(k-1) (a truncated
        personalised PageRank). 0 for artists no chain of three co-credits reaches."""
        owners, inverse = self._walk
        x = np.asarray(weights, dtype=np.float32)
        total = np.zeros_like(x)
        for step in range(SCENE_STEPS):
            spread = self.cocredit.data * (inverse * x)[self.cocredit.indices]
            x = np.bincount(owners, weights=spread, minlength=len(self)).astype(np.float32)
            total += SCENE_DECAY ** step * x
        return total

    def sound_z(self, values: np.ndarray) -> np.ndarray:
        """Tracks' :data:`SOUND_COLUMNS` (n x 12, NaN where unknown) z-scored with the
        catalog's means and deviations; unknown values become 0 (the catalog mean)."""
        mean, std = self._sound_stats
        return np.nan_to_num((np.asarray(values, dtype=np.float64) - mean) / std
                             ).astype(np.float32)

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
        out = np.zeros(self.dims, dtype=np.float32)
        known = GENRE_WEIGHT
        if sound is not None and np.any(sound):
            known += SOUND_WEIGHT
            out[n_genres:n_genres + len(SOUND_COLUMNS)] = \
                math.sqrt(SOUND_WEIGHT / known) * _unit(sound)
        out[:n_genres] = math.sqrt(GENRE_WEIGHT / known) * g
        return out


def _credits(artist_keys: Iterable[str]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Every (row, artist position, slot on the track) of ";"-joined normalised artist keys,
    and the position of each key (first appearance first). Row by row, so that only the
    30k distinct keys are kept as strings (one split of the whole column made 115k strings
    and left ~10 MB of freed small objects behind)."""
    rows, codes, slots = array("i"), array("i"), array("i")
    position: dict[str, int] = {}
    for row, keys in enumerate(artist_keys):
        for slot, key in enumerate(keys.split(";")):
            if key:
                rows.append(row)
                codes.append(position.setdefault(key, len(position)))
                slots.append(slot)
    return (np.frombuffer(rows, dtype=np.int32).copy(), np.frombuffer(codes, dtype=np.int32).copy(),
            np.frombuffer(slots, dtype=np.int32).copy(), position)


def _genre_residuals(catalog: Catalog, z: np.ndarray) -> np.ndarray:
    """Each track's z-scored sound minus the mean sound of its genres (tracks x columns).

    What sets an artist apart *within* their genres: every hip-hop artist is speechy and
    danceable, but US rap is explicit far more often than the genre's average.
    """
    codes = catalog.genre_codes
    listed = codes >= 0
    share = (1.0 / np.maximum(listed.sum(axis=1), 1))[:, None] * listed  # tracks x slots
    n_genres = len(catalog.genre_names)
    flat_codes = np.where(listed, codes, 0).ravel()
    flat_share = share.ravel()
    rows = np.repeat(np.arange(len(codes)), codes.shape[1])
    mass = np.maximum(np.bincount(flat_codes, weights=flat_share, minlength=n_genres), 1e-9)
    genre_sound = np.stack([np.bincount(flat_codes, weights=flat_share * z[rows, j],
                                        minlength=n_genres)
                            for j in range(z.shape[1])], axis=1) / mass[:, None]
    residual = z.astype(np.float64)
    for column in range(codes.shape[1]):
        residual -= share[:, column:column + 1] * genre_sound[flat_codes.reshape(codes.shape)
                                                                  [:, column]]
    return residual.astype(np.float32)


def _symmetric(pairs: np.ndarray, strength: np.ndarray, n: int) -> Csr:
    """The artist x artist co-credit matrix from its upper-triangle pairs."""
    pairs = np.asarray(pairs, dtype=np.int32).reshape(-1, 2)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    values = np.concatenate([strength, strength]).astype(np.float32)
    return Csr.from_pairs(rows, cols, values, n)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
