"""The trained song models as the catalog builder and the taste profile use them.

Loading is lazy: the mood scorer and the feature list come from small JSON files, the genre
model's numbers from ``genre_all.npz`` (a NumPy forward pass), and the scikit-learn
classifiers (and scikit-learn itself, ~100 MB of memory) are only unpickled when another
prediction is first asked for. Serving uses only the genre model (for playlist tracks with
audio features that the catalog does not know), so it never loads scikit-learn.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moosic_core.errors import ModelMissing
from moosic_core.songs.genre_net import GenreNet
from moosic_core.songs.mood import SongMoodScorer

if TYPE_CHECKING:
    import pandas as pd

BUNDLE_NAME = "song_models.joblib"
MOOD_NAME = "mood_score.json"
META_NAME = "song_models.json"
#: ``genre_all`` as plain arrays (see :mod:`moosic_core.songs.genre_net`): no scikit-learn.
GENRE_NET_NAME = "genre_all.npz"
BUNDLE_VERSION = 1
CLASSIFIERS = ("emotion_proxy", "genre5", "genre_all")


class SongModels:
    """The emotion proxy (the original's score), the genre models and the mood scorer."""

    def __init__(self, features: tuple[str, ...], mood: SongMoodScorer,
                 classifiers: dict[str, Any] | None = None,
                 bundle_path: Path | None = None, genre_net: GenreNet | None = None) -> None:
        self.features = features
        self._genre_net = genre_net
        self.mood = mood
        self._classifiers = classifiers
        self._bundle_path = bundle_path
        self._lock = threading.Lock()

    def _classifier(self, name: str) -> Any:
        with self._lock:
            if self._classifiers is None:
                import joblib

                assert self._bundle_path is not None
                bundle = joblib.load(self._bundle_path)
                if bundle.get("version") != BUNDLE_VERSION:
                    raise ModelMissing(detail=f"{self._bundle_path} is another version; retrain")
                self._classifiers = {k: bundle[k] for k in CLASSIFIERS}
        return self._classifiers[name]

    @property
    def emotion_proxy(self) -> Any:
        return self._classifier("emotion_proxy")

    @property
    def genre5(self) -> Any:
        return self._classifier("genre5")

    @property
    def genre_all(self) -> Any:
        return self._classifier("genre_all")

    @property
    def genre_names(self) -> list[str]:
        if self._genre_net is not None:
            return list(self._genre_net.classes)
        return [str(c) for c in self.genre_all.classes_]

    def _matrix(self, tracks: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(tracks, np.ndarray):  # already (n, features) in ``features`` order
            return tracks.astype(np.float64, copy=False)
        return tracks.loc[:, list(self.features)].to_numpy(dtype=np.float64)

    def emotion_proxy_score(self, tracks: pd.DataFrame) -> np.ndarray:
        """P(genre ``happy`` rather than ``sad``): the original project's "emotion score"."""
        classes = list(self.emotion_proxy.classes_)
        proba = self.emotion_proxy.predict_proba(self._matrix(tracks))
        return np.asarray(proba[:, classes.index("happy")])

    def genre_distribution(self, tracks: pd.DataFrame | np.ndarray) -> np.ndarray:
        """A probability distribution over all catalog genres (n, len(genre_names)).

        ``tracks`` is a table with every column of ``features``, or an (n, features) array in
        that order. Uses the NumPy forward pass when ``genre_all.npz`` is there (serving never
        loads scikit-learn), else the scikit-learn pipeline.
        """
        if self._genre_net is not None:
            return self._genre_net.predict_proba(self._matrix(tracks))
        return np.asarray(self.genre_all.predict_proba(self._matrix(tracks)))

    def genre5_label(self, tracks: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.genre5.predict(self._matrix(tracks)))

    def save(self, directory: Path) -> None:
        import joblib

        directory.mkdir(parents=True, exist_ok=True)
        bundle = {"version": BUNDLE_VERSION, **{k: self._classifier(k) for k in CLASSIFIERS},
                  "features": list(self.features)}
        joblib.dump(bundle, directory / BUNDLE_NAME, compress=3)
        (directory / META_NAME).write_text(json.dumps(
            {"version": BUNDLE_VERSION, "features": list(self.features)}, indent=1))
        self.mood.save(directory / MOOD_NAME)
        GenreNet.from_pipeline(self.genre_all).save(directory / GENRE_NET_NAME)

    @classmethod
    def load(cls, directory: Path) -> SongModels:
        paths = [directory / n for n in (BUNDLE_NAME, MOOD_NAME, META_NAME)]
        if not all(p.is_file() for p in paths):
            raise ModelMissing(detail=f"no song models in {directory}; run `moosic train songs`")
        meta = json.loads((directory / META_NAME).read_text())
        if meta.get("version") != BUNDLE_VERSION:
            raise ModelMissing(detail=f"{directory} holds another model version; retrain")
        net_path = directory / GENRE_NET_NAME
        return cls(tuple(meta["features"]), SongMoodScorer.load(directory / MOOD_NAME),
                   bundle_path=directory / BUNDLE_NAME,
                   genre_net=GenreNet.load(net_path) if net_path.is_file() else None)
