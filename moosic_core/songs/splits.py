"""The held-out splits, derived deterministically from the dataset (seed 42, 80/20).

Training and ``moosic eval songs`` both call these functions, so the evaluation always sees
exactly the rows the models never trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from moosic_core.catalog.dataset import is_trainable, single_label_rows

SEED = 42
TEST_SIZE = 0.2
EMOTION_GENRES = ["happy", "sad"]
GENRE5 = ["happy", "sad", "rock", "edm", "death-metal"]


@dataclass(frozen=True)
class Split:
    """A labelled train/test split of dataset rows."""

    train: pd.DataFrame
    test: pd.DataFrame

    def xy(self, features: tuple[str, ...], part: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self.train if part == "train" else self.test
        return (rows.loc[:, list(features)].to_numpy(dtype=np.float64),
                rows["track_genre"].to_numpy(dtype=str))


def labelled_split(raw: pd.DataFrame, genres: list[str]) -> Split:
    """Stratified split of trainable tracks listed under exactly one of ``genres``."""
    rows = single_label_rows(raw, genres)
    train, test = train_test_split(rows, test_size=TEST_SIZE, random_state=SEED,
                                   stratify=rows["track_genre"].to_numpy(dtype=str))
    return Split(train.reset_index(drop=True), test.reset_index(drop=True))


def all_genre_split(raw: pd.DataFrame) -> Split:
    """All trainable rows, split by track so that no track is on both sides.

    The test side keeps one row per track; a prediction counts as right when it names any
    genre the track is listed under (``genre_sets`` in :func:`track_genre_sets`).
    """
    rows = raw.loc[is_trainable(raw)].reset_index(drop=True)
    splitter = GroupShuffleSplit(n_splits=1, test_size=TEST_SIZE, random_state=SEED)
    train_idx, test_idx = next(splitter.split(rows, groups=rows["track_id"]))
    test = rows.iloc[test_idx].drop_duplicates("track_id")
    return Split(rows.iloc[train_idx].reset_index(drop=True), test.reset_index(drop=True))


def track_genre_sets(raw: pd.DataFrame) -> dict[str, frozenset[str]]:
    return {str(t): frozenset(g) for t, g in raw.groupby("track_id")["track_genre"]}


def top_k_accuracy(proba: np.ndarray, classes: np.ndarray, truth: list[frozenset[str]],
                   k: int) -> float:
    """Share of tracks whose top-``k`` predicted genres include one of their genres."""
    top = np.argsort(-proba, axis=1)[:, :k]
    hits = [bool(truth[i].intersection(classes[top[i]])) for i in range(len(truth))]
    return round(float(np.mean(hits)), 4)
