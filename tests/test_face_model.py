"""The served LiteRT model: same scores as the Keras model it came from, and good enough."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moosic_core.config import load_config
from moosic_core.mood.emotions import HAPPY, SAD, mood_scores, valence_arousal
from moosic_core.mood.evaluate import evaluate_split, release_failures
from moosic_core.mood.fer import load_split
from moosic_core.mood.model import MoodModel
from moosic_core.mood.reader import model_path

CONFIG = load_config(env={})
FER = Path(CONFIG.data.fer2013_dir)
MODEL = model_path(CONFIG.paths.models_dir)
needs_fer = pytest.mark.skipif(not (FER / "test").is_dir(), reason="FER-2013 not available")


@pytest.fixture(scope="module")
def test_faces() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_split(FER, "test")
    idx = np.random.default_rng(0).choice(len(x), 96, replace=False)
    return x[idx], y[idx]


@needs_fer
def test_litert_matches_keras(test_faces: tuple[np.ndarray, np.ndarray]) -> None:
    pytest.importorskip("tensorflow")
    from moosic_core.training.face import load_served_keras, served_views
    from moosic_core.training.face_views import predict_tta

    x, _ = test_faces
    keras_model = load_served_keras(MODEL.parent)
    views = served_views(MODEL.parent)  # the test-time views the served graph averages over
    expected = predict_tta(keras_model, x, sides=views.sides, mirror=views.mirror)
    served = MoodModel(MODEL).predict(x)
    assert served.shape == expected.shape == (len(x), 7)
    # int8 weights (dynamic-range quantization) in LiteRT: probabilities agree to about 0.01
    assert np.abs(served - expected).max() < 0.02
    assert np.abs(mood_scores(served) - mood_scores(expected)).max() < 0.02
    assert (served.argmax(1) == expected.argmax(1)).mean() >= 0.97


@needs_fer
def test_served_model_separates_happy_from_sad() -> None:
    result = evaluate_split(MODEL, FER, "test")
    assert result["n"] == 1473 and result["n_7class"] == 3589
    assert release_failures(result) == []


def test_release_floors_name_what_falls_short() -> None:
    good = {"happy_sad_accuracy": 0.947, "roc_auc": 0.98, "accuracy_7class": 0.699}
    assert release_failures(good) == []
    assert release_failures({**good, "happy_sad_accuracy": 0.936}) == [
        "happy_sad_accuracy 0.936 < 0.94"]
    assert release_failures({"roc_auc": 0.98}) == [
        "happy_sad_accuracy None < 0.94", "accuracy_7class None < 0.65"]


def test_single_and_batched_calls_agree(test_faces: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = test_faces
    model = MoodModel(MODEL)
    batched = model.predict(x[:8])
    one_by_one = np.concatenate([model.predict(x[i:i + 1]) for i in range(8)])
    assert np.allclose(batched, one_by_one, atol=1e-5)
    assert np.allclose(batched.sum(1), 1.0, atol=1e-3)


def test_mood_score_keeps_neutral_in_the_middle() -> None:
    probs = np.zeros((3, 7))
    probs[0, HAPPY] = 1.0
    probs[1, SAD] = 1.0
    probs[2, 4] = 0.95  # neutral
    probs[2, HAPPY], probs[2, SAD] = 0.04, 0.01
    happy, sad, neutral = mood_scores(probs)
    assert happy == 1.0 and sad == 0.0
    assert 0.45 < neutral < 0.55  # P(h)/(P(h)+P(s)) would say 0.8
    va = valence_arousal(probs)
    assert va[0, 0] > 0.5 and va[1, 0] < -0.5 and abs(va[2, 0]) < 0.1


def test_happy_sad_pair_loss_adds_the_binary_term_on_happy_and_sad_faces_only() -> None:
    pytest.importorskip("tensorflow")
    from moosic_core.training.face import happy_sad_pair_loss

    probs = np.full((3, 7), 0.06, np.float32)
    probs[:, HAPPY], probs[:, SAD] = 0.5, 0.2  # every row sums to 1
    labels = np.zeros((3, 7), np.float32)
    labels[0, HAPPY] = labels[1, SAD] = labels[2, 4] = 1.0  # happy, sad, neutral
    cross_entropy = -np.log(np.array([0.5, 0.2, 0.06]))
    binary = -np.log(np.array([0.5 / 0.7, 0.2 / 0.7, 1.0]))  # the neutral row adds nothing
    for weight in (0.0, 2.0):
        got = float(happy_sad_pair_loss(weight)(labels, probs))
        assert got == pytest.approx(np.mean(cross_entropy + weight * binary), rel=1e-4)
