"""Human judgements of song emotion (MoodyLyrics4Q, CAL500), matched to the catalog.

These are a yardstick, never training data. MoodyLyrics4Q labels songs happy/relaxed
(positive valence) or angry/sad (negative); happy/angry are high arousal. CAL500 gives, per
song, the share of listeners who tagged it Emotion-Happy, Emotion-Sad, -Arousing, -Calming.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from moosic_core.datasets import SONG_EMOTION, dataset_missing
from moosic_core.text import normalize_artist, normalize_title, split_artists


@dataclass(frozen=True)
class JudgedSongs:
    """Catalog rows matched to one human-judgement set, with valence/arousal targets."""

    name: str
    rows: pd.DataFrame  # catalog columns + "valence_target", "arousal_target"
    total: int


def _match_keys(tracks: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(artist, title) keys -> row position; the most popular track wins a tie."""
    order = np.argsort(-tracks["popularity"].to_numpy(), kind="stable")
    keys: dict[tuple[str, str], int] = {}
    names = tracks["track_name"].to_numpy()
    artists = tracks["artists"].to_numpy()
    for pos in order:
        title = normalize_title(str(names[pos]))
        for artist in split_artists(str(artists[pos])):
            keys.setdefault((normalize_artist(artist), title), int(pos))
    return keys


def _attach(tracks: pd.DataFrame, keys: dict[tuple[str, str], int], artist: pd.Series,
            title: pd.Series, targets: pd.DataFrame) -> pd.DataFrame:
    found: list[int] = []
    positions: list[int] = []
    for i, (a, t) in enumerate(zip(artist, title, strict=True)):
        pos = keys.get((normalize_artist(a), normalize_title(t)))
        if pos is not None:
            found.append(i)
            positions.append(pos)
    rows = tracks.iloc[positions].reset_index(drop=True)
    return pd.concat([rows, targets.iloc[found].reset_index(drop=True)], axis=1)


def load_judgements(song_emotion_dir: Path, tracks: pd.DataFrame) -> list[JudgedSongs]:
    """Both sets, matched to ``tracks`` by normalised artist + title."""
    keys = _match_keys(tracks)
    moody_path = song_emotion_dir / "MoodyLyrics4Q.csv"
    cal_dir = song_emotion_dir / "cal500"
    if not moody_path.is_file() or not (cal_dir / "softAnnotations.txt").is_file():
        raise dataset_missing(SONG_EMOTION, song_emotion_dir)
    moody = pd.read_csv(moody_path)
    mood = moody["Mood"].str.lower()
    moody_targets = pd.DataFrame({
        "valence_target": np.where(mood.isin(["happy", "relaxed"]), 1.0, -1.0),
        "arousal_target": np.where(mood.isin(["happy", "angry"]), 1.0, -1.0),
        "human_label": mood,
    })
    moody_rows = _attach(tracks, keys, moody["Artist"], moody["Title"], moody_targets)

    names = (cal_dir / "songNames.txt").read_text().split()
    vocab = [line.split(":", 1)[-1].strip() for line in
             (cal_dir / "vocab.txt").read_text().splitlines() if line.strip()]
    soft = pd.DataFrame(np.loadtxt(cal_dir / "softAnnotations.txt", delimiter=","),
                        columns=vocab)
    artist = pd.Series([n.split("-", 1)[0].replace("_", " ") for n in names])
    title = pd.Series([n.split("-", 1)[-1].replace("_", " ") for n in names])
    cal_targets = pd.DataFrame({
        "valence_target": soft["Emotion-Happy"] - soft["Emotion-Sad"],
        "arousal_target": soft["Emotion-Arousing_/_Awakening"]
        - soft["Emotion-Calming_/_Soothing"],
    })
    cal_rows = _attach(tracks, keys, artist, title, cal_targets)
    return [JudgedSongs("moodylyrics4q", moody_rows, len(moody)),
            JudgedSongs("cal500", cal_rows, len(names))]


def agreement(score: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Spearman correlation, and ROC-AUC for separating positive from negative targets."""
    rho = float(spearmanr(score, target).statistic)
    positive, negative = target > 0, target < 0
    keep = positive | negative
    auc = float(roc_auc_score(positive[keep], score[keep])) if positive.any() and negative.any() \
        else float("nan")
    return {"spearman": round(rho, 4), "auc": round(auc, 4), "n": len(score)}
