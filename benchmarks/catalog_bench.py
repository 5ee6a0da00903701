"""Catalog: load time, ``catalog show``, a 1,000-track lookup, ranking the whole catalog."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np

from benchmarks.timing import measure, row
from moosic_core.catalog.store import Catalog
from moosic_core.config import load_config
from moosic_core.recommend.group import GroupMember, GroupRanker
from moosic_core.recommend.ranking import Ranker, RankRequest
from moosic_core.types import MoodReading


def main() -> dict[str, Any]:
    config = load_config()
    results: dict[str, Any] = {}
    results["catalog load (parquet -> memory)"] = measure(
        lambda: Catalog.load(config.paths.catalog_dir), runs=5)
    catalog = Catalog.load(config.paths.catalog_dir)
    rng = np.random.default_rng(0)
    ids = list(rng.choice(catalog.track_ids, 1000, replace=False))
    results["1,000-track lookup by ID"] = measure(lambda: catalog.rows_of(ids), runs=21)
    artists = [catalog.track(int(r)).artists[0] for r in rng.integers(0, len(catalog), 1000)]
    catalog.rows_by_artist("warm-up")
    results["1,000 artist lookups"] = measure(
        lambda: [catalog.rows_by_artist(a) for a in artists], runs=21)
    results["catalog show --limit 20 (CLI process)"] = measure(
        lambda: subprocess.run([sys.executable, "-m", "moosic_core.cli", "catalog", "show",
                                "--limit", "20", "--format", "json"], check=True,
                               capture_output=True), runs=5)
    ranker = Ranker(catalog)
    taste = {"rock": 0.4, "indie": 0.3, "pop": 0.2, "acoustic": 0.1}
    results["rank 90k tracks (match, taste)"] = measure(
        lambda: ranker.rank(RankRequest(mood=0.8, energy=0.6, taste=taste)), runs=21)
    results["rank 90k tracks (lift, taste)"] = measure(
        lambda: ranker.rank(RankRequest(mood=0.2, mode="lift", taste=taste)), runs=21)
    results["rank 90k tracks (no taste)"] = measure(
        lambda: ranker.rank(RankRequest(mood=0.3)), runs=21)
    from moosic_core.catalog.artists import ArtistIndex
    from moosic_core.recommend.ranking import personal_request
    from moosic_core.taste.csv_import import read_playlist_csv
    from moosic_core.taste.profile import ProfileBuilder

    results["artist index build (once at load)"] = measure(lambda: ArtistIndex(catalog), runs=3)
    results["artist index size (MB)"] = round(catalog.artists.nbytes / 1e6, 1)
    playlist = config.data.playlists_dir / "liked_songs_b.csv"
    profile = ProfileBuilder(catalog).build(read_playlist_csv(playlist.read_bytes(),
                                                              playlist.name))
    results["rank 90k tracks (genres only, liked_songs_b)"] = measure(
        lambda: ranker.rank(RankRequest(mood=0.5, taste=profile.genres,
                                        exclude_ids=profile.known_track_ids)), runs=21)
    results["rank 90k tracks (artists, liked_songs_b)"] = measure(
        lambda: ranker.rank(personal_request(profile, 0.5)), runs=21)
    results["rank 90k tracks (artists, lift, liked_songs_b)"] = measure(
        lambda: ranker.rank(personal_request(profile, 0.2, mode="lift")), runs=21)
    group = GroupRanker(ranker)
    members = [GroupMember("a", {"hip-hop": 0.9, "pop": 0.1}),
               GroupMember("b", {"hip-hop": 0.8, "rock": 0.2}),
               GroupMember("c", {"classical": 0.5, "piano": 0.3, "jazz": 0.2})]
    results["group list, 3 tastes (floor acts)"] = measure(
        lambda: group.rank(members, MoodReading(0.8, 0.6)), runs=21)
    for name, result in results.items():
        print(row(name, result) if isinstance(result, dict) else f"{name:<48} {result}")
    return results
