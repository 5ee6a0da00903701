"""Ranking the catalog for one mood inside one taste: an explainable score of named parts.

score(track) = 0.50·mood_fit + 0.35·taste_fit + 0.10·liked_fit + 0.05·popularity

- mood_fit: closeness of the song's (mood, arousal) to the target, a Gaussian of the distance
  (arousal counts half, and only when the face or the user gave an energy).
- taste_fit: the share of the user's listening in the song's genres, relative to their top genre.
- liked_fit: similarity to songs the user gave a thumbs-up (same artist, or shared genres and
  a close mood).
- popularity: a mild prior; users without a taste get more of it (popular songs that fit).

Songs the user already has, disliked, or was recently recommended are excluded. The list is
picked greedily with maximal marginal relevance (similar songs are penalised) and at most two
songs per artist. ``lift`` mode moves the target mood step by step towards a happier one
across the list (the iso principle of music therapy); ``match`` keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from moosic_core.catalog.store import Catalog
from moosic_core.types import Reason, Recommendation

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
        allowed = c.servable.copy()
        excluded_rows = [r for r in c.rows_of(request.exclude_ids) if r is not None]
        allowed[excluded_rows] = False
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
        each song once (the same first artist and title under another id is left out)."""
        c = self.catalog
        pool_genres = c.genre_rows(pool)
        static = (weights["taste"] * taste_fit + weights["liked"] * liked_fit
                  + weights["popularity"] * c.popularity[pool])
        max_similarity = np.zeros(len(pool), dtype=np.float32)
        blocked = np.zeros(len(pool), dtype=bool)  # taken, or its artist has had its share
        rows_of_artist: dict[str, list[int]] = {}
        for i, row in enumerate(pool):
            for artist in self._artists[row].split(";"):
                rows_of_artist.setdefault(artist, []).append(i)
        per_artist: dict[str, int] = {}
        # The same song under another id (a single and its album, reissues): one per list.
        song_keys = np.array([f"{self._artists[r].split(';')[0]}|{c.title_keys[r]}"
                              for r in pool], dtype=object)
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
            blocked |= song_keys == song_keys[pick]
            row = int(pool[pick])
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

    def _reasons(self, row: int, request: RankRequest, mood_fit: float, taste_fit: float,
                 liked_fit: float, position: int, count: int) -> tuple[Reason, ...]:
        c = self.catalog
        reasons = [Reason("mood", round(mood_fit, 3), f"fits your mood {mood_fit:.2f}")]
        if request.taste:
            genre = max(c.genres[row], key=lambda g: request.taste.get(g, 0.0))
            share = request.taste.get(genre, 0.0)
            if share > 0:
                reasons.append(Reason("taste", round(taste_fit, 3),
                                      f"{genre}: {share:.0%} of your listening"))
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
