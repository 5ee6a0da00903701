"""Evaluate the served (LiteRT) mood model on a FER-2013 split; no TensorFlow."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moosic_core.mood.emotions import EMOTIONS
from moosic_core.mood.fer import happy_sad_metrics, load_split
from moosic_core.mood.model import MoodModel

# What a served model must keep on PrivateTest (``moosic eval face --split test``) to be released
# (``make test`` checks the committed one). Validation chooses the model; these floors only keep
# a validation choice that is worse on test, within validation's noise, from replacing it.
RELEASE_FLOORS = {"happy_sad_accuracy": 0.94, "roc_auc": 0.97, "accuracy_7class": 0.65}


def evaluate_split(model_file: Path, fer_dir: Path, split: str = "test", batch: int = 256
                   ) -> dict[str, Any]:
    """Happy-vs-sad accuracy / ROC AUC on the split's happy and sad images (mood_score > 0.5
    means happy) and 7-class accuracy on all its images, with the LiteRT artifact."""
    t0 = time.perf_counter()
    x, y = load_split(fer_dir, split)
    result = evaluate_faces(MoodModel(model_file, num_threads=2), x, y, split, batch)
    return {**result, "seconds": round(time.perf_counter() - t0, 2)}


def evaluate_faces(model: MoodModel, x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64],
                   split: str, batch: int = 256) -> dict[str, Any]:
    """:func:`evaluate_split` on faces already loaded (``x``: (n, 48, 48) grey, ``y``: labels)."""
    t0 = time.perf_counter()
    probs = np.concatenate([model.predict(x[i:i + batch]) for i in range(0, len(x), batch)])
    hs = happy_sad_metrics(probs, y)
    pred = probs.argmax(1)
    per_class = {e: round(float(np.mean(pred[y == i] == i)), 4)
                 for i, e in enumerate(EMOTIONS) if np.any(y == i)}
    return {
        "split": split,
        "happy_sad_accuracy": round(hs["happy_sad_accuracy"], 4),
        "n": hs["n_happy_sad"],
        "roc_auc": round(hs["roc_auc"], 4),
        "accuracy_7class": round(float(np.mean(pred == y)), 4),
        "n_7class": len(y),
        "recall_per_class": per_class,
        "model": str(model.path),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def release_failures(result: dict[str, Any]) -> list[str]:
    """The :data:`RELEASE_FLOORS` an :func:`evaluate_split` result on test falls below, as
    ``"happy_sad_accuracy 0.936 < 0.94"`` (none: the model may be served)."""
    return [f"{key} {result.get(key)} < {floor}" for key, floor in RELEASE_FLOORS.items()
            if not isinstance(result.get(key), int | float) or result[key] < floor]
