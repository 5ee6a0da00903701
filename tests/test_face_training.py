"""`moosic train face` end to end on a tiny FER-2013-shaped folder: both stages, the LiteRT
export, the weights file and the model card (the real data takes two hours; this takes seconds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from moosic_core.mood.emotions import EMOTIONS
from moosic_core.mood.model import MoodModel

pytest.importorskip("tensorflow")


def tiny_fer(root: Path, per_class: int = 6) -> Path:
    """Random 48x48 grey faces in the Kaggle image-folder layout, every split and class."""
    rng = np.random.default_rng(0)
    for split in ("train", "validation", "test"):
        for emotion in EMOTIONS:
            folder = root / split / emotion
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (48, 48), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg")
    return root


def test_train_face_runs_both_stages_and_exports(
        tmp_path: Path, moosic: Callable[..., tuple[int, Any, str]]) -> None:
    fer = tiny_fer(tmp_path / "fer")
    models = tmp_path / "models"
    env = {"MOOSIC_DATA_FER2013_DIR": str(fer), "MOOSIC_PATHS_MODELS_DIR": str(models)}
    code, out, err = moosic("train", "face", "--epochs", "1", "--finetune-epochs", "2",
                            "--batch", "14", "--json", env=env, timeout=600)
    assert code == 0, err
    face_dir = models / "face"
    metrics = json.loads((face_dir / "metrics.json").read_text())["model"]
    assert [st["epochs"] for st in metrics["stages"]] == [1, 2]
    assert [st["pair_weight"] for st in metrics["stages"]] == [0.0, 1.0]
    assert len(metrics["stages"][1]["history"]) == 2
    assert out["model"]["epochs"] == 3 and out["model"]["n_train"] == 42
    probs = MoodModel(face_dir / "mood.tflite").predict(
        np.zeros((2, 48, 48), np.uint8))
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1.0, atol=1e-3)
    assert (face_dir / "mood_weights.npz").stat().st_size > 100_000
    card = (face_dir / "MODEL_CARD.md").read_text()
    assert "stage 2: 2 epochs, fine-tuning with the happy-vs-sad term" in card

    # stage 2 alone, from the saved weights
    code, out, err = moosic("train", "face", "--init", str(face_dir / "mood_weights.npz"),
                            "--finetune-epochs", "1", "--batch", "14", "--json", env=env,
                            timeout=600)
    assert code == 0, err
    stages = json.loads((face_dir / "metrics.json").read_text())["model"]["stages"]
    assert [st["epochs"] for st in stages] == [1, 1]  # stage 1 kept from the earlier run
