"""Ranking the catalog for one mood inside one taste: an explainable score of named parts.

**With the user's artists** (``RankRequest.artists``; every linked user): mood is a constraint
and taste the goal.

- Only songs whose mood is within :data:`MOOD_BAND` (0.08) of the target are eligible (the band
  widens by 0.04 steps only when fewer than ``n`` songs remain), so the list's mood error stays
  below 0.10 whatever the taste.
- Inside the band, two kinds of song compete for their own slots. *Familiar*: songs by the
  user's own artists (not tracks or copies they have), scored 0.60·artist + 0.20·genre +
  0.10·mood + 0.10·popularity, where artist = weight / top weight of the user's artist on
  the track (their share of the listening; the cap of two songs per artist keeps a dominant
  artist from taking every slot; a square root here instead moved the held-out artist hit
  rate by less than one standard error: 0.670 / 0.667 / 0.590 -> 0.677 / 0.680 / 0.587 on
  liked_songs_a / b / c, 10 splits, ``moosic eval recommend``). *New*: songs
  by other artists, scored 0.60·likeness + 0.25·genre + 0.10·mood + 0.05·popularity, where
  likeness is the artist's :class:`SimilarArtist` score in the profile
  (:mod:`moosic_core.taste.artist_taste`) and genre is the share of the user's listening in
  the song's genres (relative to their top genre), as before. Thumbs-up add 0.10·liked_fit.
- ``familiar_share`` of the positions (default :data:`DEFAULT_FAMILIAR_SHARE`; the user's
  ``/discover`` setting) go to familiar songs, spread evenly through the list, starting with
  one; when a kind runs out the other fills in. At most two songs per familiar artist and one
  per new artist.
- Reasons name the artist or genre behind each song ("because you listen to Nas", "new to
  you, like Pop Smoke", "from your hip-hop listening") and the mood in words.

**Genre-only taste** (no artists: the group path without artists and the evaluation's
"today's ranker"):

score(track) = 0.50·mood_fit + 0.35·taste_fit + 0.10·liked_fit + 0.05·popularity

- mood_fit: closeness of the song's (mood, arousal) to the target, a Gaussian of the distance
  (arousal counts half, and only when the face or the user gave an energy).
- taste_fit: the share of the user's listening in the song's genres, relative to their top genre.
- liked_fit: similarity to songs the user gave a thumbs-up (same artist, or shared genres and
  a close mood).
- popularity: a mild prior; users without a taste get more of it (popular songs that fit).

Songs the user already has, disliked, or was recently recommended are excluded, and so is
every copy and version of them: songs are the same when a credited artist and the title
without version marks match (:func:`moosic_core.catalog.artists.song_key`,
``ArtistIndex.song_ids``); a list never holds two versions of a song. The user's artists that
the catalog spells otherwise (:meth:`ArtistIndex.same_artists`) are familiar artists. The list is
picked greedily with maximal marginal relevance (similar songs are penalised) and at most two
songs per artist. ``lift`` mode moves the target mood step by step towards a happier one
across the list (the iso principle of music therapy); ``match`` keeps it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from moosic_core.catalog.store import Catalog
from moosic_core.recommend.moods import describe_mood
from moosic_core.text import normalize_artist
from moosic_core.types import Reason, Recommendation, SimilarArtist, TasteProfile

Mode = Literal["match", "lift"]

WEIGHTS = {"mood": 0.50, "taste": 0.35, "liked": 0.10, "popularity": 0.05}
NO_TASTE_WEIGHTS = {"mood": 0.65, "taste": 0.0, "liked": 0.10, "popularity": 0.25}
MOOD_SIGMA = 0.15
AROUSAL_SHARE = 0.5
MMR_LAMBDA = 0.75
MAX_PER_ARTIST = 2
POOL = 400
LIFT_GOAL = 0.85
#: A mood this close to LIFT_GOAL is already happy: lift mode has no room to climb.
MIN_LIFT = 0.1
#: Artist-taste ranking: the mood band and its widening steps.
MOOD_BAND = 0.08
BAND_STEP = 0.04
MAX_BAND = 0.30
#: Share of a list by the user's own artists unless they ask otherwise (/discover): a
#: familiar majority, as listeners pick familiar songs more often than they themselves predict
#: (Ward, Goodman & Irwin 2014, "The same old song: the power of familiarity in music choice",
#: Marketing Letters 25(1)). Not chosen by the held-out artist hit rate, which rises with the
#: familiar share whatever the listener (means over 10 splits, liked_songs_a / b / c: 0.5 ->
#: 0.60 / 0.59 / 0.54; 0.6 -> 0.67 / 0.67 / 0.59; 0.9 -> 0.84 / 0.83 / 0.68; the report,
#: models/recommend/REPORT.md, gives every /discover setting with its spread).
DEFAULT_FAMILIAR_SHARE = 0.6
DISCOVERY_SHARES = {"more": 0.3, "default": DEFAULT_FAMILIAR_SHARE, "less": 0.9}
FAMILIAR_WEIGHTS = {"artist": 0.60, "genre": 0.20, "mood": 0.10, "popularity": 0.10}
NEW_WEIGHTS = {"artist": 0.60, "genre": 0.25, "mood": 0.10, "popularity": 0.05}
LIKED_WEIGHT = 0.10
MAX_PER_NEW_ARTIST = 1
#: Profiles whose artist taste the ranker keeps looked up (least recently used dropped
#: first); it holds references to the profile's objects, which the taste service caches too.
TASTE_CACHE = 1024


@dataclass(frozen=True)
class _TasteArrays:
    """A user's artist taste on the catalog (sparse over artist positions)."""

    own_positions: np.ndarray
    own_values: np.ndarray
    shown: dict[int, str]
    similar_positions: np.ndarray
    similar_values: np.ndarray
    known_songs: np.ndarray


@dataclass(frozen=True)
class RankRequest:
    """What to rank for: a target mood, a taste, and what to leave out."""

    mood: float
    energy: float | None = None
    mode: Mode = "match"
    n: int = 10
    taste: dict[str, float] = field(default_factory=dict)
    exclude_ids: frozenset[str] = frozenset()
    liked_ids: tuple[str, ...] = ()
    #: The user's artists (library spelling) -> share of listening; empty: genre-only ranking.
    artists: dict[str, float] = field(default_factory=dict)
    #: Catalog artists like them (normalised key -> likeness and the user's artist behind it).
    similar: dict[str, SimilarArtist] = field(default_factory=dict)
    #: Song keys to leave out with every copy (the library's songs; see ``song_key``).
    exclude_songs: frozenset[str] = frozenset()
    familiar_share: float = DEFAULT_FAMILIAR_SHARE
    #: ``artists``, ``similar`` and ``exclude_songs`` are a cached profile's own objects: the
    #: ranker may remember their lookups by identity (see ``Ranker._taste_arrays``).
    remember: bool = False


def personal_request(profile: TasteProfile | None, mood: float, *, energy: float | None = None,
                     mode: Mode = "match", n: int = 10,
                     exclude_ids: frozenset[str] = frozenset(), liked_ids: tuple[str, ...] = (),
                     familiar_share: float = DEFAULT_FAMILIAR_SHARE) -> RankRequest:
    """The request for one user: their genres, artists and similar artists (when linked);
    their library's tracks and songs are left out besides ``exclude_ids``."""
    if profile is None:
        return RankRequest(mood=mood, energy=energy, mode=mode, n=n, exclude_ids=exclude_ids,
                           liked_ids=liked_ids, familiar_share=familiar_share)
    # The profile's own objects (not copies): the ranker remembers their lookups by identity.
    return RankRequest(mood=mood, energy=energy, mode=mode, n=n, taste=profile.genres,
                       exclude_ids=exclude_ids | profile.known_track_ids, liked_ids=liked_ids,
                       artists=profile.artist_weights, similar=profile.similar_artists,
                       exclude_songs=profile.known_songs, familiar_share=familiar_share,
                       remember=True)


def can_lift(mood: float) -> bool:
    """Whether lift mode would climb at all from ``mood`` (0..1): below LIFT_GOAL - MIN_LIFT."""
    return mood < LIFT_GOAL - MIN_LIFT


def mood_targets(mood: float, mode: Mode, n: int) -> np.ndarray:
    """The target mood for each list position."""
    if mode == "match" or n == 1:
        return np.full(n, mood, dtype=np.float32)
    goal = max(mood, LIFT_GOAL)
    return np.linspace(mood, goal, n, dtype=np.float32)


class Ranker:
    """Ranks the whole catalog in a few milliseconds (vectorised over ~90k tracks)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._artists = catalog.artist_keys
        self.index = catalog.artists  # built here, once, so no request pays for it
        self._taste_cache: OrderedDict[tuple[int, int, int], tuple[object, _TasteArrays]] = \
            OrderedDict()
        self._cache_lock = threading.Lock()

    def _allowed(self, request: RankRequest, known_songs: np.ndarray | None = None
                 ) -> np.ndarray:
        """Servable tracks that are neither excluded nor a copy of an excluded song.

        ``known_songs``: the song ids of ``request.exclude_songs`` when already looked up.
        """
        c = self.catalog
        excluded_rows = [r for r in c.rows_of(request.exclude_ids) if r is not None]
        if known_songs is None:
            songs = self.index.song_ids_of(excluded_rows, request.exclude_songs)
        else:
            songs = np.union1d(self.index.song_ids_of(excluded_rows), known_songs)
        allowed = c.servable.copy()
        if songs.size:
            allowed &= ~np.isin(self.index.song_ids, songs)
        return allowed

    def _mood_fit(self, rows: np.ndarray | slice, target: float | np.ndarray,
                  energy: float | None) -> np.ndarray:
        c = self.catalog
        distance = np.square(c.mood[rows] - target)
        if energy is not None:
            distance = distance + AROUSAL_SHARE * np.square(c.arousal[rows] - energy)
        return np.exp(-distance / (2 * MOOD_SIGMA**2)).astype(np.float32)

    def _taste_fit(self, taste: dict[str, float]) -> np.ndarray:
        vector = self.catalog.genre_vector(taste)
        fit = self.catalog.genre_fit(vector)
        top = fit.max() if fit.size else 0.0
        return (fit / top).astype(np.float32) if top > 0 else fit.astype(np.float32)

    def _liked_fit(self, pool: np.ndarray, liked_rows: list[int]) -> np.ndarray:
        if not liked_rows:
            return np.zeros(len(pool), dtype=np.float32)
        liked = np.asarray(liked_rows)
        pool_genres, liked_genres = self.catalog.genre_rows(pool), self.catalog.genre_rows(liked)
        genre_overlap = pool_genres @ liked_genres.T
        norms = np.sqrt(np.square(pool_genres).sum(1)[:, None]
                        * np.square(liked_genres).sum(1)[None, :])
        cosine = np.divide(genre_overlap, norms, out=np.zeros_like(genre_overlap),
                           where=norms > 0)
        closeness = 1.0 - np.abs(self.catalog.mood[pool][:, None] - self.catalog.mood[liked][None])
        similarity = cosine * closeness
        liked_artists = {a for row in liked for a in self._artists[row].split(";")}
        same_artist = np.array([bool(liked_artists.intersection(self._artists[r].split(";")))
                                for r in pool])
        similarity = np.where(same_artist[:, None], 1.0, similarity)
        return similarity.max(axis=1).astype(np.float32)

    def rank(self, request: RankRequest) -> list[Recommendation]:
        """The list for this request: by artists when it has them, else by genres."""
        if request.artists:
            return self._rank_by_artists(request)
        return self._rank_by_genres(request)

    def _rank_by_genres(self, request: RankRequest) -> list[Recommendation]:
        c = self.catalog
        has_taste = bool(request.taste)
        weights = WEIGHTS if has_taste else NO_TASTE_WEIGHTS
        targets = mood_targets(request.mood, request.mode, request.n)
        # Pool: the best candidates for any target position (one target in match mode).
        taste_fit = self._taste_fit(request.taste) if has_taste else \
            np.zeros(len(c), dtype=np.float32)
        base = weights["taste"] * taste_fit + weights["popularity"] * c.popularity
        # The best fit to any target: the distance to the nearest point of the target range.
        nearest = np.clip(c.mood, targets.min(), targets.max())
        best_mood = self._mood_fit(slice(None), nearest, request.energy)
        total = base + weights["mood"] * best_mood
        allowed = self._allowed(request)
        total = np.where(allowed, total, -np.inf)
        size = min(POOL, int(allowed.sum()))
        if size <= 0:
            return []
        pool = np.argpartition(-total, size - 1)[:size]
        pool = pool[np.isfinite(total[pool])]
        liked_rows = [r for r in c.rows_of(request.liked_ids) if r is not None]
        liked_fit = self._liked_fit(pool, liked_rows)
        return self._select(pool, targets, request, weights, taste_fit[pool], liked_fit)

    def _select(self, pool: np.ndarray, targets: np.ndarray, request: RankRequest,
                weights: dict[str, float], taste_fit: np.ndarray, liked_fit: np.ndarray
                ) -> list[Recommendation]:
        """Greedy MMR over the pool, one target mood per position, two songs per artist and
        each song once (its copies and versions under other ids are left out)."""
        c = self.catalog
        pool_genres = c.genre_rows(pool)
        static = (weights["taste"] * taste_fit + weights["liked"] * liked_fit
                  + weights["popularity"] * c.popularity[pool])
        max_similarity = np.zeros(len(pool), dtype=np.float32)
        blocked = np.zeros(len(pool), dtype=bool)  # taken, or its artist has had its share
        pool_songs = self.index.song_ids[pool]
        rows_of_artist: dict[str, list[int]] = {}
        for i, row in enumerate(pool):
            for artist in self._artists[row].split(";"):
                rows_of_artist.setdefault(artist, []).append(i)
        per_artist: dict[str, int] = {}
        chosen: list[Recommendation] = []
        for position, target in enumerate(targets):
            mood_fit = self._mood_fit(pool, target, request.energy)
            relevance = weights["mood"] * mood_fit + static
            mmr = MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * max_similarity
            mmr = np.where(blocked, -np.inf, mmr)
            pick = int(np.argmax(mmr))
            if not np.isfinite(mmr[pick]):
                break
            blocked[pick] = True
            row = int(pool[pick])
            blocked |= pool_songs == self.index.song_ids[row]  # this song and its copies
            for artist in self._artists[row].split(";"):
                per_artist[artist] = per_artist.get(artist, 0) + 1
                if per_artist[artist] >= MAX_PER_ARTIST:
                    blocked[rows_of_artist[artist]] = True
            # Similarity to the new pick: shared genres and a close mood.
            overlap = pool_genres @ pool_genres[pick]
            overlap = overlap / max(float(overlap[pick]), 1e-9)
            closeness = 1.0 - np.abs(c.mood[pool] - c.mood[row])
            max_similarity = np.maximum(max_similarity, (0.5 * overlap + 0.5 * closeness)
                                        .astype(np.float32))
            reasons = self._reasons(row, request, float(mood_fit[pick]), float(taste_fit[pick]),
                                    float(liked_fit[pick]), position, len(targets))
            chosen.append(Recommendation(c.track(row), round(float(relevance[pick]), 4),
                                         reasons))
        return chosen

    # --- ranking by the user's artists ---------------------------------------------------
    def _per_track_max(self, artist_values: np.ndarray) -> np.ndarray:
        """For every track, the largest value among its credited artists (0 when none)."""
        out = np.zeros(len(self.catalog), dtype=np.float32)
        artists = np.flatnonzero(artist_values)
        if artists.size:
            matrix = self.index.artist_tracks
            entries = matrix.entries(artists)
            values = np.repeat(artist_values[artists], np.diff(matrix.indptr)[artists])
            np.maximum.at(out, matrix.indices[entries], values.astype(np.float32))
        return out

    def _taste_arrays(self, request: RankRequest) -> _TasteArrays:
        """The request's artist taste on the catalog, remembered per profile.

        The service passes a cached profile's own dictionaries, so their identity names the
        profile; the cache keeps a reference to them, so an identity is never reused while
        remembered. Looking up 2,000 artists and 4,000 song keys costs ~10 ms; a hit ~0.
        """
        if not request.remember:
            return self._artist_values(request)
        key = (id(request.artists), id(request.similar), id(request.exclude_songs))
        with self._cache_lock:
            hit = self._taste_cache.get(key)
            if hit is not None:
                self._taste_cache.move_to_end(key)
                return hit[1]
        arrays = self._artist_values(request)
        with self._cache_lock:
            held = (request.artists, request.similar, request.exclude_songs)
            self._taste_cache[key] = (held, arrays)
            if len(self._taste_cache) > TASTE_CACHE:
                self._taste_cache.popitem(last=False)
        return arrays

    def _artist_values(self, request: RankRequest) -> _TasteArrays:
        """Per catalog artist: familiarity (weight / top weight) and likeness, as sparse
        (positions, values); the library spelling of each of the user's catalog artists; the
        song ids of the library's songs."""
        index = self.index
        own: dict[int, float] = {}
        shown: dict[int, str] = {}
        for name, weight in request.artists.items():
            pos = index.find(name)
            if pos is not None and weight > 0:
                own[pos] = own.get(pos, 0.0) + weight
                shown.setdefault(pos, name)
        # The user's artists the catalog spells otherwise are familiar too, named as the
        # library spells them ("because you listen to Fryderyk Chopin" for "Frédéric Chopin").
        by_key: dict[str, tuple[float, str]] = {}
        for name, weight in request.artists.items():
            key = normalize_artist(name)
            old_weight, first_name = by_key.get(key, (0.0, name))
            by_key[key] = (old_weight + weight, first_name)
        for pos, key in index.same_artists(request.exclude_songs).items():
            weight, name = by_key.get(key, (0.0, ""))
            if pos not in own and weight > 0:
                own[pos] = weight
                shown[pos] = name
        top = max(own.values(), default=0.0)
        similar = {pos: like.score for pos, like in
                   ((index.position.get(k), v) for k, v in request.similar.items())
                   if pos is not None and pos not in own}
        return _TasteArrays(
            np.fromiter(own, dtype=np.int32, count=len(own)),
            np.array([v / top for v in own.values()], dtype=np.float32),
            shown,
            np.fromiter(similar, dtype=np.int32, count=len(similar)),
            np.fromiter(similar.values(), dtype=np.float32, count=len(similar)),
            index.song_ids_of((), request.exclude_songs))

    def _rank_by_artists(self, request: RankRequest) -> list[Recommendation]:
        """Mood as a constraint, the user's artists and the artists like them as the goal."""
        c = self.catalog
        targets = mood_targets(request.mood, request.mode, request.n)
        arrays = self._taste_arrays(request)
        own = np.zeros(len(self.index), dtype=np.float32)
        own[arrays.own_positions] = arrays.own_values
        similar = np.zeros(len(self.index), dtype=np.float32)
        similar[arrays.similar_positions] = arrays.similar_values
        shown = arrays.shown
        familiar_fit = self._per_track_max(own)
        new_fit = self._per_track_max(similar)
        genre_fit = self._taste_fit(request.taste) if request.taste else \
            np.zeros(len(c), dtype=np.float32)
        allowed = self._allowed(request, arrays.known_songs)
        nearest = np.clip(c.mood, targets.min(), targets.max())
        distance = np.abs(c.mood - nearest)
        band = MOOD_BAND
        while band < MAX_BAND and int((allowed & (distance <= band)).sum()) < request.n:
            band += BAND_STEP
        eligible = allowed & (distance <= band)
        mood_fit = self._mood_fit(slice(None), nearest, request.energy)
        familiar = eligible & (familiar_fit > 0)
        new = eligible & (familiar_fit == 0)
        fw, nw = FAMILIAR_WEIGHTS, NEW_WEIGHTS
        familiar_score = (fw["artist"] * familiar_fit + fw["genre"] * genre_fit
                          + fw["mood"] * mood_fit + fw["popularity"] * c.popularity)
        new_score = (nw["artist"] * new_fit + nw["genre"] * genre_fit + nw["mood"] * mood_fit
                     + nw["popularity"] * c.popularity)
        pools = []
        for mask, score in ((familiar, familiar_score), (new, new_score)):
            rows = np.flatnonzero(mask)
            if rows.size > POOL:
                rows = rows[np.argpartition(-score[rows], POOL - 1)[:POOL]]
            pools.append(rows)
        pool = np.concatenate(pools)
        is_familiar = np.zeros(len(pool), dtype=bool)
        is_familiar[:len(pools[0])] = True
        static = np.where(is_familiar, familiar_score[pool] - fw["mood"] * mood_fit[pool],
                          new_score[pool] - nw["mood"] * mood_fit[pool])
        liked_rows = [r for r in c.rows_of(request.liked_ids) if r is not None]
        static = static + LIKED_WEIGHT * self._liked_fit(pool, liked_rows)
        mood_weight = np.where(is_familiar, fw["mood"], nw["mood"]).astype(np.float32)
        return self._select_by_artists(pool, is_familiar, static, mood_weight, targets, band,
                                       request, own, similar, shown, genre_fit)

    def _select_by_artists(self, pool: np.ndarray, is_familiar: np.ndarray, static: np.ndarray,
                           mood_weight: np.ndarray, targets: np.ndarray, band: float,
                           request: RankRequest, own: np.ndarray, similar: np.ndarray,
                           shown: dict[int, str], genre_fit: np.ndarray
                           ) -> list[Recommendation]:
        """Fill the positions: familiar ones spread evenly (the first is one), one target each."""
        c, index = self.catalog, self.index
        share = min(max(request.familiar_share, 0.0), 1.0)
        blocked = np.zeros(len(pool), dtype=bool)
        pool_songs = index.song_ids[pool]
        pool_artists = [index.track_artists.indices[index.track_artists.indptr[r]:
                                                     index.track_artists.indptr[r + 1]]
                        for r in pool]
        rows_of_artist: dict[int, list[int]] = {}
        for i, artists in enumerate(pool_artists):
            for artist in artists.tolist():
                rows_of_artist.setdefault(artist, []).append(i)
        per_artist: dict[int, int] = {}
        chosen: list[Recommendation] = []
        familiar_taken = 0
        for position, target in enumerate(targets):
            wants_familiar = math.ceil((position + 1) * share) > familiar_taken
            in_band = np.abs(c.mood[pool] - target) <= band
            mood_fit = self._mood_fit(pool, target, request.energy)
            score = np.where(blocked | ~in_band, -np.inf, static + mood_weight * mood_fit)
            preferred = np.where(is_familiar == wants_familiar, score, -np.inf)
            pick = int(np.argmax(preferred))
            if not np.isfinite(preferred[pick]):
                pick = int(np.argmax(score))
                if not np.isfinite(score[pick]):
                    break
            row = int(pool[pick])
            familiar = bool(is_familiar[pick])
            familiar_taken += familiar
            blocked |= pool_songs == pool_songs[pick]
            cap = MAX_PER_ARTIST if familiar else MAX_PER_NEW_ARTIST
            for artist in pool_artists[pick].tolist():
                per_artist[artist] = per_artist.get(artist, 0) + 1
                if per_artist[artist] >= cap:
                    blocked[rows_of_artist[artist]] = True
            reasons = self._artist_reasons(row, familiar, request, own, similar, shown,
                                           float(genre_fit[row]), float(mood_fit[pick]),
                                           position, len(targets))
            chosen.append(Recommendation(c.track(row), round(float(score[pick]), 4), reasons))
        return chosen

    def _artist_reasons(self, row: int, familiar: bool, request: RankRequest,
                        own: np.ndarray, similar: np.ndarray, shown: dict[int, str],
                        genre_fit: float, mood_fit: float, position: int, count: int
                        ) -> tuple[Reason, ...]:
        """Words, not numbers: the artist or genre that led to the song, then the mood."""
        index = self.index
        artists = index.track_artists.indices[index.track_artists.indptr[row]:
                                              index.track_artists.indptr[row + 1]]
        reasons = []
        if familiar:
            best = max(artists, key=lambda a: own[a])
            name = shown.get(int(best), index.names[best])
            reasons.append(Reason("artist", round(float(own[best]), 3),
                                  f"because you listen to {name}"))
        elif len(artists):
            best = max(artists, key=lambda a: similar[a])
            like = request.similar.get(index.keys[best])
            if like is not None and similar[best] > 0:
                reasons.append(Reason("similar", round(float(similar[best]), 3),
                                      f"new to you, like {like.because}"))
        genre = self._top_genre(row, request.taste)
        if genre is not None and not familiar:
            reasons.append(Reason("taste", round(genre_fit, 3), f"from your {genre} listening"))
        mood_words = describe_mood(float(self.catalog.mood[row]))
        reasons.insert(1, Reason("mood", round(mood_fit, 3), f"sounds {mood_words}"))
        if request.mode == "lift" and count > 1:
            reasons.append(Reason("lift", round(position / (count - 1), 3),
                                  f"step {position + 1} of {count} towards a happier mood"))
        return tuple(reasons)

    def _top_genre(self, row: int, taste: dict[str, float]) -> str | None:
        """The song's genre with the largest share of the user's listening (None: no share)."""
        genre = max(self.catalog.genres[row], key=lambda g: taste.get(g, 0.0))
        return genre if taste.get(genre, 0.0) > 0 else None

    def _reasons(self, row: int, request: RankRequest, mood_fit: float, taste_fit: float,
                 liked_fit: float, position: int, count: int) -> tuple[Reason, ...]:
        c = self.catalog
        reasons = [Reason("mood", round(mood_fit, 3),
                          f"sounds {describe_mood(float(c.mood[row]))}")]
        if request.taste:
            genre = self._top_genre(row, request.taste)
            if genre is not None:
                reasons.insert(0, Reason("taste", round(taste_fit, 3),
                                         f"from your {genre} listening"))
        else:
            reasons.append(Reason("popularity", round(float(c.popularity[row]), 3),
                                  f"popular in {c.genres[row][0]}"))
        if liked_fit >= 0.5:
            reasons.append(Reason("liked", round(liked_fit, 3), "like a song you liked"))
        if request.mode == "lift" and count > 1:
            reasons.append(Reason("lift", round(position / (count - 1), 3),
                                  f"step {position + 1} of {count} towards a happier mood"))
        return tuple(reasons)


def original_heuristic(catalog: Catalog, mood: float, taste: dict[str, float], n: int,
                       emotion_proxy: np.ndarray) -> list[int]:
    """The 2021 project's matching: the top genre's songs with the closest emotion score."""
    if not taste:
        return []
    top_genre = max(taste, key=lambda g: taste[g])
    rows = np.array([i for i, gs in enumerate(catalog.genres)
                     if top_genre in gs and catalog.servable[i]])
    if rows.size == 0:
        return []
    order = np.argsort(np.abs(emotion_proxy[rows] - mood), kind="stable")
    return [int(r) for r in rows[order[:n]]]
