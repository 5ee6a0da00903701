"""Emotion classes and how 7-class probabilities become a mood score and valence/arousal.

Pure numpy; shared by training, evaluation and serving (no TensorFlow here).

``mood_score`` is the expected happiness on a three-point scale, rescaled to [0, 1]::

    mood = (1 + P(happy) - P(sad)) / 2

Happy counts +1, sad -1, and every other emotion (neutral above all) 0, so a neutral face sits
near 0.5 instead of being pushed to an extreme, as P(happy) / (P(happy) + P(sad)) would do
(a neutral face with P(happy)=0.04, P(sad)=0.01 scores 0.8 under that ratio, 0.515 here).
For a happy-versus-sad decision at 0.5 both definitions agree: mood > 0.5 iff P(happy) > P(sad).

Valence and arousal are the probability-weighted mean of each emotion's place on Russell's
circumplex (coordinates in [-1, 1], after Russell 1980 and the usual FER circumplex plots).
They are a reading of the emotion probabilities, not separately trained outputs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: FER-2013 classes, in the model's output order (alphabetical, as the image folders).
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
HAPPY = EMOTIONS.index("happy")
SAD = EMOTIONS.index("sad")

#: (valence, arousal) of each emotion on the circumplex, both in [-1, 1].
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "angry": (-0.6, 0.7),
    "disgust": (-0.7, 0.3),
    "fear": (-0.6, 0.8),
    "happy": (0.8, 0.5),
    "neutral": (0.0, 0.0),
    "sad": (-0.7, -0.4),
    "surprise": (0.3, 0.8),
}
_VA = np.array([CIRCUMPLEX[e] for e in EMOTIONS], dtype=np.float64)


def mood_scores(probs: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Mood score in [0, 1] for each row of 7-class probabilities."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1, len(EMOTIONS))
    return np.clip((1.0 + p[:, HAPPY] - p[:, SAD]) / 2.0, 0.0, 1.0)


def valence_arousal(probs: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """(valence, arousal) in [-1, 1] for each row of 7-class probabilities; shape (n, 2)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1, len(EMOTIONS))
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    return p @ _VA
