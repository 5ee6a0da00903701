"""How the served ensemble is chosen on validation: the selection keys and the split-half
study that compares them (``moosic eval face-selection``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moosic_core.mood.emotions import EMOTIONS, HAPPY, SAD

pytest.importorskip("tensorflow")


def happy_sad_probs(p_happy: list[float]) -> np.ndarray:
    probs = np.zeros((len(p_happy), len(EMOTIONS)), np.float32)
    probs[:, HAPPY], probs[:, SAD] = p_happy, 1.0 - np.asarray(p_happy)
    return probs


def test_the_log_loss_key_prefers_no_confident_mistakes_to_one_more_right_face() -> None:
    from moosic_core.training.ensemble import SELECTION_KEYS, select_members
    from moosic_core.training.members import SELECTION_KEY_NAMES

    assert tuple(SELECTION_KEYS) == SELECTION_KEY_NAMES
    y = np.array([HAPPY, HAPPY, SAD, SAD])
    sure = happy_sad_probs([0.9, 0.9, 0.4, 0.99])  # 3 of 4 right, one confidently wrong
    hedged = happy_sad_probs([0.6, 0.45, 0.4, 0.55])  # 2 of 4 right, never far off
    assert select_members([sure, hedged], y, [1, 1], 1, key="accuracy") == [0]
    assert select_members([sure, hedged], y, [1, 1], 1, key="log-loss") == [1]
    # the key is minus the mean log-probability of the right class
    assert SELECTION_KEYS["log-loss"](hedged, y) == pytest.approx(
        (np.log([0.6, 0.45, 0.6, 0.45]).mean(),), abs=1e-6)


def test_stratified_halves_split_every_class_in_two() -> None:
    from moosic_core.training.selection_study import stratified_halves

    y = np.repeat(np.arange(7), [5, 1, 4, 9, 6, 7, 3])
    first, second = stratified_halves(y, np.random.default_rng(3))
    assert sorted([*first, *second]) == list(range(len(y)))
    assert all(abs(np.sum(y[first] == c) - np.sum(y[second] == c)) <= 1 for c in range(7))


def test_the_split_half_study_scores_each_keys_choice_on_the_other_half() -> None:
    from moosic_core.training.ensemble import select_members
    from moosic_core.training.face_views import probability_metrics
    from moosic_core.training.selection_study import split_half_study, stratified_halves

    rng = np.random.default_rng(5)
    y = rng.integers(0, 7, 120)
    probs = [rng.dirichlet(np.ones(7), 120).astype(np.float32) for _ in range(4)]
    for p in probs[:2]:  # two candidates that know the labels a little
        p[np.arange(120), y] += 0.3
        p /= p.sum(1, keepdims=True)
    study = split_half_study(probs, y, [1, 1, 1, 1], 2, rounds=1, seed=9)
    a, b = stratified_halves(y, np.random.default_rng(9))
    for key, row in study["keys"].items():
        scores = []
        for choose, score in ((a, b), (b, a)):
            chosen = select_members([p[choose] for p in probs], y[choose], [1, 1, 1, 1], 2, key)
            scores.append(probability_metrics(np.mean([probs[i][score] for i in chosen], 0),
                                              y[score])["accuracy_7class"])
        assert row["held_out_accuracy_7class"] == round(float(np.mean(scores)), 4)
        assert 1 <= row["mean_members"] <= 2
    assert study["keys"]["accuracy"]["gain_happy_sad_accuracy"] == 0.0
    assert study["rounds"] == 1 and study["candidates"] == 4 and study["n_validation"] == 120


def test_eval_face_selection_reads_the_recorded_candidates_and_saves_to_the_card(
        tmp_path: Path, moosic: Callable[..., tuple[int, Any, str]]) -> None:
    from tests.test_face_training import tiny_fer

    fer = tiny_fer(tmp_path / "fer", per_class=4)
    face = tmp_path / "models" / "face"
    face.mkdir(parents=True)
    y = np.repeat(np.arange(7), 4)
    rng = np.random.default_rng(0)
    probs = {f"compact-seed{s}": rng.dirichlet(np.ones(7), len(y)).astype(np.float16)
             for s in (1, 2, 3)}
    np.savez_compressed(face / "candidate_probs.npz", **probs)  # type: ignore[arg-type]
    (face / "metrics.json").write_text(json.dumps(
        {"members": {n: {"params": 1000} for n in probs}}))
    env = {"MOOSIC_DATA_FER2013_DIR": str(fer), "MOOSIC_PATHS_MODELS_DIR": str(face.parent)}
    code, out, err = moosic("eval", "face-selection", "--rounds", "3", "--save", "--json",
                            env=env, timeout=300)
    assert code == 0, err
    assert out["candidates"] == 3 and out["n_validation"] == 28
    assert set(out["keys"]) == {"accuracy", "log-loss"}
    assert json.loads((face / "metrics.json").read_text())["selection_study"] == out
    card = (face / "MODEL_CARD.md").read_text()
    assert "#### Which selection key chooses better" in card
    assert "| log-loss (the 7-class log-loss) |" in card

    (face / "candidate_probs.npz").unlink()
    code, out, err = moosic("eval", "face-selection", "--json", env=env, timeout=300)
    assert code != 0 and "No candidates with recorded validation probabilities" in out["error"]
