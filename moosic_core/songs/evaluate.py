"""``moosic eval songs``: re-evaluate the saved song models on the held-out splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moosic_core.catalog.dataset import read_source, unique_tracks
from moosic_core.songs import splits
from moosic_core.songs.classifiers import held_out_metrics
from moosic_core.songs.models import SongModels
from moosic_core.songs.train import evaluate_genre_all, human_agreement


def evaluate_songs(source: Path, song_emotion_dir: Path, models_dir: Path) -> dict[str, Any]:
    """The headline metrics of every saved song model, recomputed from the data."""
    models = SongModels.load(models_dir)
    raw = read_source(source)
    feats = models.features

    emotion = splits.labelled_split(raw, splits.EMOTION_GENRES)
    emotion_metrics = held_out_metrics(models.emotion_proxy, *emotion.xy(feats, "test"))
    genre5 = splits.labelled_split(raw, splits.GENRE5)
    genre5_metrics = held_out_metrics(models.genre5, *genre5.xy(feats, "test"))
    genre_all = evaluate_genre_all(models.genre_all, splits.all_genre_split(raw), feats,
                                   splits.track_genre_sets(raw))

    tracks = unique_tracks(raw)
    scored = tracks.assign(mood_score=models.mood.mood_score(tracks),
                           arousal=models.mood.arousal_score(tracks),
                           emotion_proxy=models.emotion_proxy_score(tracks))
    human = human_agreement(scored, song_emotion_dir)
    mood: dict[str, float] = {}
    for name, scores in human.items():
        mood[f"{name}_spearman"] = scores["mood_score"]["spearman"]
        mood[f"{name}_auc"] = scores["mood_score"]["auc"]
        mood[f"{name}_valence_spearman"] = scores["valence"]["spearman"]
        mood[f"{name}_emotion_proxy_spearman"] = scores["emotion_proxy"]["spearman"]
    return {
        "emotion_proxy": {k: emotion_metrics[k] for k in ("accuracy", "f1", "roc_auc")},
        "genre5": {"accuracy": genre5_metrics["accuracy"], "f1_macro": genre5_metrics["f1"]},
        "genre_all": {"top1": genre_all["top1"], "top5": genre_all["top5"]},
        "mood_score": mood,
        "split": {"seed": splits.SEED, "test_size": splits.TEST_SIZE,
                  "emotion_test": len(emotion.test), "genre5_test": len(genre5.test),
                  "genre_all_test": genre_all["n"]},
    }
