"""The song mood score and arousal coordinate: explainable weighted sums, calibrated.

``mood_raw = 0.60·valence + 0.25·danceability + 0.10·mode(major) + 0.05·acousticness``.
Valence is Spotify's measure of musical positiveness and carries most of the weight;
danceability (groove) and the major mode are classic cues of happy music; a little acousticness
credits calm, content songs (positive valence, low arousal). The raw sum is mapped through the
catalog's empirical distribution (a monotone quantile table), so ``mood_score`` is a percentile:
0.9 means happier than 90% of the catalog. ``arousal = 0.80·energy + 0.20·danceability``,
calibrated the same way. Both weights were chosen from music-psychology cues and checked against
human judgements (MoodyLyrics4Q, CAL500); see ``models/songs/REPORT.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MOOD_WEIGHTS: dict[str, float] = {
    "valence": 0.60, "danceability": 0.25, "mode": 0.10, "acousticness": 0.05,
}
AROUSAL_WEIGHTS: dict[str, float] = {"energy": 0.80, "danceability": 0.20}
QUANTILES = 201


def weighted_sum(frame: pd.DataFrame | Mapping[str, Any], weights: dict[str, float]
                 ) -> np.ndarray:
    """The raw score: a weighted sum of features that all lie in [0, 1].

    ``frame`` is a table or a mapping of feature name -> array (one value per track).
    """
    total = np.zeros(len(np.asarray(frame[next(iter(weights))])), dtype=np.float64)
    for feature, weight in weights.items():
        total += weight * np.asarray(frame[feature], dtype=np.float64).clip(0.0, 1.0)
    return total


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw score to its percentile in the catalog."""

    knots: tuple[float, ...]

    @classmethod
    def fit(cls, raw: np.ndarray) -> Calibration:
        knots = np.quantile(raw, np.linspace(0.0, 1.0, QUANTILES))
        return cls(tuple(float(k) for k in np.maximum.accumulate(knots)))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        knots = np.asarray(self.knots)
        levels = np.linspace(0.0, 1.0, len(knots))
        # np.interp needs increasing x; ties between knots take the upper level.
        unique_knots, first = np.unique(knots[::-1], return_index=True)
        unique_levels = levels[::-1][first]
        return np.interp(raw, unique_knots, unique_levels, left=0.0, right=1.0)


@dataclass(frozen=True)
class SongMoodScorer:
    """Scores songs on mood (sad 0 .. happy 1) and arousal (calm 0 .. energetic 1)."""

    mood: Calibration
    arousal: Calibration

    @classmethod
    def fit(cls, tracks: pd.DataFrame) -> SongMoodScorer:
        return cls(Calibration.fit(weighted_sum(tracks, MOOD_WEIGHTS)),
                   Calibration.fit(weighted_sum(tracks, AROUSAL_WEIGHTS)))

    def mood_score(self, tracks: pd.DataFrame) -> np.ndarray:
        return self.mood(weighted_sum(tracks, MOOD_WEIGHTS))

    def arousal_score(self, tracks: pd.DataFrame) -> np.ndarray:
        return self.arousal(weighted_sum(tracks, AROUSAL_WEIGHTS))

    @staticmethod
    def explain(track: pd.Series) -> dict[str, float]:
        """Each feature's contribution to a track's raw mood."""
        return {f: round(w * float(track[f]), 4) for f, w in MOOD_WEIGHTS.items()}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({
            "mood_weights": MOOD_WEIGHTS, "arousal_weights": AROUSAL_WEIGHTS,
            "mood_knots": self.mood.knots, "arousal_knots": self.arousal.knots,
        }, indent=1))

    @classmethod
    def load(cls, path: Path) -> SongMoodScorer:
        data = json.loads(path.read_text())
        if data["mood_weights"] != MOOD_WEIGHTS or data["arousal_weights"] != AROUSAL_WEIGHTS:
            raise ValueError(f"{path} was fitted with other weights; retrain the song models")
        return cls(Calibration(tuple(data["mood_knots"])),
                   Calibration(tuple(data["arousal_knots"])))
