"""``moosic train songs``: every song model, its evaluation, and the report's numbers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer

from moosic_core.catalog.dataset import is_trainable, read_source, unique_tracks
from moosic_core.songs import classifiers, features, splits
from moosic_core.songs.human import agreement, load_judgements
from moosic_core.songs.models import SongModels
from moosic_core.songs.mood import SongMoodScorer

log = logging.getLogger(__name__)

#: Published numbers of the 2021 project, shown beside ours.
ORIGINAL = {"emotion_proxy_accuracy": 0.9525, "genre5_accuracy": 0.8093}

Step = Callable[[str], None]
#: Rows used to estimate mutual information over all genres (the estimator is k-NN based).
MI_SAMPLE = 20_000


@dataclass
class TaskResult:
    """One classification task: the comparison, the searches, and the chosen model."""

    compared: list[classifiers.Scored]
    searched: list[classifiers.Scored]
    chosen: classifiers.Scored
    split_sizes: dict[str, int]
    test_rows: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


@dataclass
class SongTraining:
    models: SongModels
    emotion: TaskResult
    genre5: TaskResult
    genre_all: dict[str, Any]
    human: dict[str, dict[str, dict[str, float]]]
    correlations: pd.DataFrame
    mutual_info: pd.Series
    mutual_info_genre5: pd.Series
    seconds: float
    metrics: dict[str, Any]


def classification_task(split: splits.Split, feats: tuple[str, ...], step: Step,
                        name: str) -> TaskResult:
    """Compare the eight classifiers, grid-search the best and ours, choose by CV."""
    x_train, y_train = split.xy(feats, "train")
    x_test, y_test = split.xy(feats, "test")
    step(f"{name}: comparing the eight classifiers")
    compared = classifiers.compare(x_train, y_train, x_test, y_test)
    best = max(compared, key=lambda s: s.cv_accuracy)
    step(f"{name}: grid search on {best.name}")
    searched = [classifiers.grid_search(f"{best.name} (grid)", classifiers.original_eight()[
        best.name], classifiers.GRIDS[best.name], x_train, y_train, x_test, y_test)]
    step(f"{name}: grid search on gradient boosting")
    searched.append(classifiers.grid_search(
        "gradient_boosting (grid)", classifiers.BOOSTING, classifiers.BOOSTING_GRID,
        x_train, y_train, x_test, y_test))
    chosen = max(searched, key=lambda s: s.cv_accuracy)
    return TaskResult(compared, searched, chosen,
                      {"train": len(split.train), "test": len(split.test)}, split.test)


def genre_all_model() -> Pipeline:
    """114-genre model: quantile-normalised features into a two-layer perceptron."""
    return Pipeline([
        ("scale", QuantileTransformer(n_quantiles=200, random_state=splits.SEED)),
        ("clf", MLPClassifier(hidden_layer_sizes=(256, 128), early_stopping=True,
                              max_iter=60, n_iter_no_change=5, random_state=splits.SEED)),
    ])


def evaluate_genre_all(model: Any, split: splits.Split, feats: tuple[str, ...],
                       truth: dict[str, frozenset[str]]) -> dict[str, float]:
    x_test = split.test.loc[:, list(feats)].to_numpy(dtype=np.float64)
    proba = model.predict_proba(x_test)
    sets = [truth[t] for t in split.test["track_id"]]
    classes = np.asarray(model.classes_)
    return {"top1": splits.top_k_accuracy(proba, classes, sets, 1),
            "top5": splits.top_k_accuracy(proba, classes, sets, 5),
            "n": len(sets)}


def human_agreement(tracks: pd.DataFrame, song_emotion_dir: Path
                    ) -> dict[str, dict[str, dict[str, float]]]:
    """Valence, our mood score and the emotion proxy against both human sets."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for judged in load_judgements(song_emotion_dir, tracks):
        rows = judged.rows
        target = rows["valence_target"].to_numpy()
        arousal_target = rows["arousal_target"].to_numpy()
        out[judged.name] = {
            "valence": agreement(rows["valence"].to_numpy(), target),
            "mood_score": agreement(rows["mood_score"].to_numpy(), target),
            "emotion_proxy": agreement(rows["emotion_proxy"].to_numpy(), target),
            "energy (arousal)": agreement(rows["energy"].to_numpy(), arousal_target),
            "arousal (ours)": agreement(rows["arousal"].to_numpy(), arousal_target),
        }
        out[judged.name]["matched"] = {"n": len(rows), "of": judged.total}
    return out


def train_songs(source: Path, song_emotion_dir: Path, out_dir: Path,
                step: Step = lambda _m: None) -> SongTraining:
    """Train, evaluate and save every song model to ``out_dir``."""
    start = time.perf_counter()
    step("reading the dataset")
    raw = read_source(source)
    tracks = unique_tracks(raw)
    servable = tracks.loc[tracks["servable"]]

    step("feature selection")
    trainable = raw.loc[is_trainable(raw)]
    correlations = features.correlation_matrix(servable)
    mutual_info = features.mutual_information(
        trainable.sample(n=min(len(trainable), MI_SAMPLE), random_state=splits.SEED))
    feats = features.select_features(mutual_info)
    emotion_split = splits.labelled_split(raw, splits.EMOTION_GENRES)
    genre5_split = splits.labelled_split(raw, splits.GENRE5)
    mi_genre5 = features.mutual_information(genre5_split.train)

    emotion = classification_task(emotion_split, feats, step, "emotion proxy (happy vs sad)")
    genre5 = classification_task(genre5_split, feats, step, "genre5")

    step("genre model over all genres")
    all_split = splits.all_genre_split(raw)
    x_all, y_all = all_split.xy(feats, "train")
    fit_start = time.perf_counter()
    genre_all = genre_all_model().fit(x_all, y_all)
    genre_all_metrics: dict[str, Any] = evaluate_genre_all(genre_all, all_split, feats,
                                           splits.track_genre_sets(raw))
    genre_all_metrics["fit_seconds"] = round(time.perf_counter() - fit_start, 1)
    genre_all_metrics["train_rows"] = len(all_split.train)
    genre_all_metrics["loss_curve"] = [round(v, 4) for v in genre_all[-1].loss_curve_]

    models = SongModels(feats, SongMoodScorer.fit(servable),
                        {"emotion_proxy": emotion.chosen.model, "genre5": genre5.chosen.model,
                         "genre_all": genre_all})
    step("scoring songs and checking against human judgements")
    scored = tracks.assign(mood_score=models.mood.mood_score(tracks),
                           arousal=models.mood.arousal_score(tracks),
                           emotion_proxy=models.emotion_proxy_score(tracks))
    human = human_agreement(scored, song_emotion_dir)
    models.save(out_dir)
    metrics = {
        "emotion_proxy": {**emotion.chosen.test, "model": emotion.chosen.name},
        "genre5": {"accuracy": genre5.chosen.test["accuracy"],
                   "f1_macro": genre5.chosen.test["f1"], "model": genre5.chosen.name},
        "genre_all": {"top1": genre_all_metrics["top1"], "top5": genre_all_metrics["top5"]},
        "mood_score": {f"{name}_spearman": h["mood_score"]["spearman"]
                       for name, h in human.items()},
        "features": list(feats),
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return SongTraining(models, emotion, genre5, genre_all_metrics, human, correlations,
                        mutual_info, mi_genre5, round(time.perf_counter() - start, 1), metrics)
