"""``moosic eval recommend``: splits, spreads and the report, on a real example playlist."""

from __future__ import annotations

import numpy as np
import pytest

from moosic_core.catalog.store import Catalog
from moosic_core.recommend.evaluate import (
    METHODS,
    REACH,
    TRAIN_SHARE,
    bootstrap_interval,
    evaluate_playlist,
    library_splits,
    mean_and_se,
    report_markdown,
)
from moosic_core.recommend.ranking import Ranker
from moosic_core.taste.profile import ProfileBuilder
from moosic_core.types import LibraryTrack


def _tracks(n: int) -> list[LibraryTrack]:
    return [LibraryTrack(name=f"song {i}", artists=(f"artist {i % 7}",), track_id=f"t{i}")
            for i in range(n)]


def test_splits_are_reproducible_partitions_that_differ() -> None:
    tracks = _tracks(50)
    splits = library_splits(tracks, 4)
    assert splits == library_splits(tracks, 4)  # the same seeds, the same splits
    cut = int(50 * TRAIN_SHARE)
    for train, held in splits:
        assert len(train) == cut and len(held) == 50 - cut
        assert {t.track_id for t in train} | {t.track_id for t in held} == \
            {t.track_id for t in tracks}
        assert not {t.track_id for t in train} & {t.track_id for t in held}
    assert len({tuple(t.track_id for t in held) for _, held in splits}) == 4


def test_mean_and_standard_error() -> None:
    figure = mean_and_se([0.5, 0.7, 0.6, 0.6])
    assert figure["mean"] == pytest.approx(0.6)
    assert figure["se"] == pytest.approx(np.std([0.5, 0.7, 0.6, 0.6], ddof=1) / 2, abs=1e-4)
    assert mean_and_se([0.4]) == {"mean": 0.4, "se": 0.0}


def test_bootstrap_interval_brackets_the_mean_and_pairs_the_ratio() -> None:
    values = [0.5, 0.6, 0.7, 0.55, 0.65, 0.6, 0.58, 0.62, 0.5, 0.7]
    low, high = bootstrap_interval(values)
    assert low < np.mean(values) < high and low >= 0.5 and high <= 0.7
    assert bootstrap_interval([0.3] * 5) == [0.3, 0.3]
    # Paired: a method always exactly twice the baseline has the ratio 2 in every resample.
    baseline = [0.1, 0.3, 0.2, 0.25, 0.15]
    assert bootstrap_interval([2 * b for b in baseline], baseline) == [2.0, 2.0]


@pytest.fixture(scope="module")
def evaluated(catalog: Catalog, song_models, config) -> dict:
    path = config.data.playlists_dir / "liked_songs_b.csv"
    proxy = catalog.frame["emotion_proxy"].to_numpy()
    return evaluate_playlist(catalog, ProfileBuilder(catalog, song_models), Ranker(catalog),
                             path, proxy, splits=3)


def test_every_method_gets_a_mean_and_a_spread_per_metric(evaluated) -> None:
    assert evaluated["splits"] == 3
    for method in METHODS:
        hits = evaluated["per_split_hits"][method]
        assert len(hits) == 3 and all(0.0 <= h <= 1.0 for h in hits)
        figure = evaluated["methods"][method]["artist_hit_rate"]
        assert figure["mean"] == pytest.approx(np.mean(hits), abs=1e-3)
        assert figure["se"] >= 0.0
        low, high = evaluated["hit_interval"][method]
        assert low <= figure["mean"] <= high
    ours = evaluated["methods"]["ours"]
    assert ours["library_share"]["mean"] == pytest.approx(0.6)  # the default familiar share
    assert evaluated["worst"]["duplicates"] == 0.0 and evaluated["worst"]["mood_error"] <= 0.10
    # The held-out artists are split into where they stand, and nothing is lost.
    reach = {k: evaluated["reach"][k]["mean"] for k in REACH}
    assert reach["held_artists"] == pytest.approx(sum(reach[k] for k in REACH[1:]))
    assert reach["own"] > reach["similar"] > 0


def test_report_shows_every_method_with_its_spread(evaluated) -> None:
    result = {"playlists": {"liked_songs_b.csv": evaluated}, "examples": {}, "seconds": 1.0,
              "mood_separation": {"happy_mean_mood": 0.9, "sad_mean_mood": 0.1, "auc": 1.0}}
    report = report_markdown(result)
    for label in METHODS.values():
        assert f"| liked_songs_b.csv | {label} |" in report
    assert "±" in report and "95% interval" in report and ">= 0.334" in report


def test_splits_option_takes_1_to_100() -> None:
    import argparse

    from moosic_core.cli.common import whole_number

    _split_count = whole_number(1, 100)  # what --splits takes
    assert _split_count("10") == 10 and _split_count("1") == 1
    for bad in ("0", "101", "ten", "2.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            _split_count(bad)
