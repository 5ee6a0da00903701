"""FER-2013 image-folder loading and the happy-versus-sad metrics (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from PIL import Image
from sklearn.metrics import roc_auc_score

from moosic_core.datasets import FER2013, dataset_missing
from moosic_core.errors import DataError
from moosic_core.mood.emotions import EMOTIONS, HAPPY, SAD, mood_scores

SPLITS = ("train", "validation", "test")
FACE_SIZE = 48


def load_split(fer_dir: Path, split: str, classes: tuple[str, ...] = EMOTIONS
               ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Grey 48x48 faces (n, 48, 48) uint8 and labels (index into EMOTIONS) of one split."""
    if split not in SPLITS:
        raise DataError(f"Unknown FER-2013 split {split!r}; expected one of {', '.join(SPLITS)}.")
    root = Path(fer_dir) / split
    if not root.is_dir():
        raise dataset_missing(FER2013, root, f"The {split}/ split folder")
    paths = split_files(fer_dir, split, classes)
    if not paths:
        raise DataError(f"No images found under {root}.")
    return (np.stack([face_pixels(path) for path, _ in paths]),
            np.asarray([label for _, label in paths], dtype=np.int64))


def split_files(fer_dir: Path, split: str, classes: tuple[str, ...] = EMOTIONS
                ) -> list[tuple[Path, int]]:
    """The image files of one split with their labels, in :func:`load_split`'s order."""
    root = Path(fer_dir) / split
    return [(path, EMOTIONS.index(name)) for name in classes
            for path in sorted((root / name).glob("*.jpg"))]


def face_pixels(source: Path | BinaryIO) -> npt.NDArray[np.uint8]:
    """One FER-2013 image (a path or an open binary file) as 48x48 grey uint8 pixels."""
    with Image.open(source) as im:
        grey = im.convert("L")
        if grey.size != (FACE_SIZE, FACE_SIZE):
            grey = grey.resize((FACE_SIZE, FACE_SIZE), Image.Resampling.BILINEAR)
        return np.asarray(grey, dtype=np.uint8)


def happy_sad_metrics(probs: npt.NDArray[np.floating], labels: npt.NDArray[np.int64]
                      ) -> dict[str, float]:
    """Happy-vs-sad accuracy (mood_score > 0.5, i.e. P(happy) > P(sad)) and ROC AUC of the
    mood score, over the happy and sad images only."""
    mask = (labels == HAPPY) | (labels == SAD)
    if not mask.any():
        return {"happy_sad_accuracy": float("nan"), "roc_auc": float("nan"), "n_happy_sad": 0}
    score = mood_scores(probs[mask])
    truth = labels[mask] == HAPPY
    return {
        "happy_sad_accuracy": float(np.mean((score > 0.5) == truth)),
        "roc_auc": float(roc_auc_score(truth, score)),
        "n_happy_sad": int(mask.sum()),
    }
