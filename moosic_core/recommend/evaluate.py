"""Offline evaluation of ranking quality on real listening histories.

For each playlist export: shuffle (seed 42), build the taste profile from 70% of the tracks,
and measure whether the recommended songs fall in the held-out 30%'s genres and artists.
The held-out part's genre distribution comes from the same profile builder; a song counts as
a genre hit when one of its genres is among the held-out part's top 5. Compared: the 2021
heuristic (the top genre's songs whose emotion proxy is closest to the mood) and our ranker,
at three moods. Also: how clearly a happy face's and
a sad face's lists separate on the song mood score.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from moosic_core.catalog.store import Catalog
from moosic_core.recommend.ranking import Ranker, RankRequest, original_heuristic
from moosic_core.songs.models import SongModels
from moosic_core.taste.csv_import import read_playlist_csv
from moosic_core.taste.profile import ProfileBuilder
from moosic_core.text import normalize_artist

SEED = 42
TRAIN_SHARE = 0.7
MOODS = (0.1, 0.5, 0.9)
N = 10
TOP_GENRES = 5


def _core_genres(distribution: dict[str, float], top: int = TOP_GENRES) -> set[str]:
    """The ``top`` heaviest genres of a distribution."""
    return {g for g, _ in sorted(distribution.items(), key=lambda kv: -kv[1])[:top]}


def _score(catalog: Catalog, rows: list[int], genres: set[str], artists: set[str],
           target: float) -> dict[str, float]:
    if not rows:
        return {"genre_precision": 0.0, "genres_covered": 0.0, "artist_hit_rate": 0.0,
                "mood_error": 1.0}
    genre_hits = [bool(set(catalog.genres[r]) & genres) for r in rows]
    artist_hits = [bool({normalize_artist(a) for a in catalog.track(r).artists} & artists)
                   for r in rows]
    mood_error = float(np.mean([abs(float(catalog.mood[r]) - target) for r in rows]))
    covered = genres & {g for r in rows for g in catalog.genres[r]}
    return {"genre_precision": float(np.mean(genre_hits)),
            "genres_covered": len(covered) / max(len(genres), 1),
            "artist_hit_rate": float(np.mean(artist_hits)), "mood_error": mood_error}


def evaluate_playlist(catalog: Catalog, models: SongModels, ranker: Ranker, path: Path
                      ) -> dict[str, Any]:
    tracks = read_playlist_csv(path.read_bytes(), path.name)
    random.Random(SEED).shuffle(tracks)
    cut = int(len(tracks) * TRAIN_SHARE)
    builder = ProfileBuilder(catalog, models)
    train, held = builder.build(tracks[:cut]), builder.build(tracks[cut:])
    held_genres = _core_genres(held.genres)
    held_artists = {normalize_artist(a) for t in tracks[cut:] for a in t.artists}
    proxy = catalog.frame["emotion_proxy"].to_numpy()
    results: dict[str, list[dict[str, float]]] = {"original": [], "ours": []}
    for mood in MOODS:
        original_rows = original_heuristic(catalog, mood, train.genres, N, proxy)
        results["original"].append(_score(catalog, original_rows, held_genres, held_artists,
                                          mood))
        recs = ranker.rank(RankRequest(mood=mood, taste=train.genres, n=N,
                                       exclude_ids=train.known_track_ids))
        ours_rows = [r for r in catalog.rows_of(t.track.track_id for t in recs) if r is not None]
        results["ours"].append(_score(catalog, ours_rows, held_genres, held_artists, mood))
    summary = {name: {k: round(float(np.mean([m[k] for m in runs])), 3) for k in runs[0]}
               for name, runs in results.items()}
    return {"tracks": len(tracks), "train_coverage": round(train.coverage, 3),
            "held_out_genres": len(held_genres), **summary}


def mood_separation(catalog: Catalog, ranker: Ranker, tastes: list[dict[str, float]]
                    ) -> dict[str, float]:
    """Mean song mood of a happy face's (0.95) and a sad face's (0.05) lists, and the AUC."""
    happy, sad = [], []
    for taste in tastes:
        happy += [r.track.mood_score for r in ranker.rank(RankRequest(mood=0.95, taste=taste))]
        sad += [r.track.mood_score for r in ranker.rank(RankRequest(mood=0.05, taste=taste))]
    pairs = [(h > s) + 0.5 * (h == s) for h in happy for s in sad]
    return {"happy_mean_mood": round(float(np.mean(happy)), 3),
            "sad_mean_mood": round(float(np.mean(sad)), 3),
            "auc": round(float(np.mean(pairs)), 4)}


def evaluate_ranking(catalog: Catalog, models: SongModels, playlists: list[Path]
                     ) -> dict[str, Any]:
    ranker = Ranker(catalog)
    per_file = {p.name: evaluate_playlist(catalog, models, ranker, p) for p in playlists}
    builder = ProfileBuilder(catalog, models)
    tastes = [builder.build(read_playlist_csv(p.read_bytes(), p.name)).genres for p in playlists]
    return {"playlists": per_file, "mood_separation": mood_separation(catalog, ranker,
                                                                       [*tastes, {}])}


def report_markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Recommendation quality (offline)",
        "",
        "Reproduce: `moosic eval recommend --json`. Each real playlist export is shuffled"
        f" (seed {SEED}); the taste profile is built from {TRAIN_SHARE:.0%} of its tracks and"
        " the lists (10 songs at moods 0.1, 0.5 and 0.9) are judged against the held-out rest:"
        " genre precision = share of songs in one of the held-out part's top-5 genres;"
        " top-5 genres covered = share of those five genres that the list touches (breadth);"
        " artist hit rate = share of songs by an artist of the held-out part; mood error ="
        " mean |song mood_score - target|.",
        "",
        "| playlist | tracks | method | genre precision | top-5 genres covered |"
        " artist hit rate | mood error |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in result["playlists"].items():
        for method in ("original", "ours"):
            m = r[method]
            label = "2021 heuristic" if method == "original" else "Moo-Sic ranker"
            lines.append(f"| {name} | {r['tracks']} | {label} | {m['genre_precision']:.3f} |"
                         f" {m['genres_covered']:.2f} | {m['artist_hit_rate']:.3f} |"
                         f" {m['mood_error']:.3f} |")
    sep = result["mood_separation"]
    lines += [
        "",
        f"Mood separation (each playlist's taste and no taste): a happy face's lists average"
        f" song mood {sep['happy_mean_mood']:.3f}, a sad face's {sep['sad_mean_mood']:.3f};"
        f" the probability that a song from the happy list is happier than one from the sad"
        f" list (AUC) is {sep['auc']:.4f}.",
        "",
        "Limits: held-out genres come from the same profile builder (catalog genres of known"
        " artists), so precision measures agreement with the user's own listening as the"
        " catalog sees it; three playlists are a small sample; liked_songs_c has no features"
        " or genres, so a third of it is understood.",
        "",
    ]
    return "\n".join(lines)
