"""The trained song models as the catalog builder and the taste profile use them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from moosic_core.errors import ModelMissing
from moosic_core.songs.mood import SongMoodScorer

BUNDLE_NAME = "song_models.joblib"
MOOD_NAME = "mood_score.json"
BUNDLE_VERSION = 1


@dataclass(frozen=True)
class SongModels:
    """The emotion proxy (the original's score), the genre models and the mood scorer."""

    emotion_proxy: Any
    genre5: Any
    genre_all: Any
    features: tuple[str, ...]
    mood: SongMoodScorer

    @property
    def genre_names(self) -> list[str]:
        return [str(c) for c in self.genre_all.classes_]

    def _matrix(self, tracks: pd.DataFrame) -> np.ndarray:
        return tracks.loc[:, list(self.features)].to_numpy(dtype=np.float64)

    def emotion_proxy_score(self, tracks: pd.DataFrame) -> np.ndarray:
        """P(genre ``happy`` rather than ``sad``): the original project's "emotion score"."""
        classes = list(self.emotion_proxy.classes_)
        proba = self.emotion_proxy.predict_proba(self._matrix(tracks))
        return np.asarray(proba[:, classes.index("happy")])

    def genre_distribution(self, tracks: pd.DataFrame) -> np.ndarray:
        """A probability distribution over all catalog genres, one row per track."""
        return np.asarray(self.genre_all.predict_proba(self._matrix(tracks)))

    def genre5_label(self, tracks: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.genre5.predict(self._matrix(tracks)))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump({"version": BUNDLE_VERSION, "emotion_proxy": self.emotion_proxy,
                     "genre5": self.genre5, "genre_all": self.genre_all,
                     "features": list(self.features)}, directory / BUNDLE_NAME, compress=3)
        self.mood.save(directory / MOOD_NAME)

    @classmethod
    def load(cls, directory: Path) -> SongModels:
        bundle_path = directory / BUNDLE_NAME
        if not bundle_path.is_file() or not (directory / MOOD_NAME).is_file():
            raise ModelMissing(detail=f"no song models in {directory}; run `moosic train songs`")
        bundle = joblib.load(bundle_path)
        if bundle.get("version") != BUNDLE_VERSION:
            raise ModelMissing(detail=f"{bundle_path} is from another version; retrain")
        return cls(bundle["emotion_proxy"], bundle["genre5"], bundle["genre_all"],
                   tuple(bundle["features"]), SongMoodScorer.load(directory / MOOD_NAME))
