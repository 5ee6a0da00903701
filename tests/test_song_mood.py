"""The song mood score and arousal: ranges, monotonicity, and the human yardstick."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moosic_core.songs.models import SongModels
from moosic_core.songs.mood import AROUSAL_WEIGHTS, MOOD_WEIGHTS, SongMoodScorer

FEATURES = sorted(set(MOOD_WEIGHTS) | set(AROUSAL_WEIGHTS))


@pytest.fixture(scope="module")
def scorer(config) -> SongMoodScorer:
    return SongModels.load(config.paths.models_dir / "songs").mood


def _random_tracks(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.random((n, len(FEATURES))), columns=FEATURES)
    frame["mode"] = rng.integers(0, 2, n).astype(float)
    return frame


@pytest.mark.parametrize("feature", ["valence", "danceability", "mode", "acousticness"])
def test_more_of_a_happy_cue_never_lowers_mood(scorer: SongMoodScorer, feature: str) -> None:
    base = _random_tracks(2000, seed=1)
    raised = base.copy()
    raised[feature] = np.clip(base[feature] + 0.3, 0, 1) if feature != "mode" else 1.0
    assert (scorer.mood_score(raised) >= scorer.mood_score(base)).all()


def test_more_energy_never_lowers_arousal(scorer: SongMoodScorer) -> None:
    base = _random_tracks(2000, seed=2)
    raised = base.assign(energy=np.clip(base["energy"] + 0.2, 0, 1))
    assert (scorer.arousal_score(raised) >= scorer.arousal_score(base)).all()


def test_scores_stay_in_unit_interval(scorer: SongMoodScorer) -> None:
    extremes = pd.DataFrame([{f: 0.0 for f in FEATURES}, {f: 1.0 for f in FEATURES}])
    for scores in (scorer.mood_score(extremes), scorer.arousal_score(extremes)):
        assert scores[0] == pytest.approx(0.0, abs=0.01)
        assert scores[1] == pytest.approx(1.0, abs=0.01)


def test_explanations_add_up_to_the_raw_score(scorer: SongMoodScorer) -> None:
    track = _random_tracks(1, seed=3).iloc[0]
    parts = scorer.explain(track)
    assert set(parts) == set(MOOD_WEIGHTS)
    assert sum(parts.values()) == pytest.approx(
        sum(w * track[f] for f, w in MOOD_WEIGHTS.items()), abs=1e-3)


def test_save_and_load_round_trip(scorer: SongMoodScorer, tmp_path) -> None:
    scorer.save(tmp_path / "mood.json")
    again = SongMoodScorer.load(tmp_path / "mood.json")
    tracks = _random_tracks(100, seed=4)
    np.testing.assert_allclose(again.mood_score(tracks), scorer.mood_score(tracks))
