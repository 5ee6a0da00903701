"""Which selection key chooses the better ensemble, measured on validation alone.

Greedy selection keeps the ensemble that scores best on validation, so with many candidates and
differences of a face or two the winner is partly the luckiest draw, and its validation score
overstates it. This study splits validation in two halves (stratified by class, at random),
chooses on one half with each key of :data:`~moosic_core.training.ensemble.SELECTION_KEYS`,
scores the choice on the other half, and repeats: the key with the better held-out score is the
one to choose with. Test is never read. ``moosic eval face-selection`` runs it on the recorded
validation probabilities of every candidate (``candidate_probs.npz``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moosic_core.errors import DataError
from moosic_core.mood.fer import split_files
from moosic_core.training.ensemble import SELECTION_KEYS, read_candidate_probs, select_members
from moosic_core.training.face import SERVED_MAX_PARAMS, read_metrics, write_metrics
from moosic_core.training.face_views import probability_metrics


def stratified_halves(y: npt.NDArray[np.int64], rng: np.random.Generator
                      ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Indices of two disjoint halves of ``y`` with (within one face) the same class counts."""
    first: list[int] = []
    second: list[int] = []
    for label in np.unique(y):
        faces = rng.permutation(np.flatnonzero(y == label))
        first += faces[:len(faces) // 2].tolist()
        second += faces[len(faces) // 2:].tolist()
    return np.asarray(sorted(first)), np.asarray(sorted(second))


def split_half_study(val_probs: list[npt.NDArray[np.float32]], y: npt.NDArray[np.int64],
                     params: list[int], max_params: int, rounds: int = 300, seed: int = 0
                     ) -> dict[str, Any]:
    """For each key, the mean over ``rounds`` random halvings of the held-out half's scores
    of the ensemble chosen on the other half (both ways round), and its mean difference from
    the first key's, with the standard error of that difference over the rounds (the rounds
    share faces, so it understates the uncertainty somewhat)."""
    rng = np.random.default_rng(seed)
    held_out: dict[str, list[tuple[float, float, float]]] = {key: [] for key in SELECTION_KEYS}
    for _ in range(rounds):
        halves = stratified_halves(y, rng)
        for key in SELECTION_KEYS:
            both = []
            for choose, score in (halves, halves[::-1]):
                chosen = select_members([p[choose] for p in val_probs], y[choose], params,
                                        max_params, key)
                m = probability_metrics(np.mean([val_probs[i][score] for i in chosen], axis=0),
                                        y[score])
                both.append((m["happy_sad_accuracy"], m["accuracy_7class"], len(chosen)))
            held_out[key].append(tuple(np.mean(both, axis=0)))
    baseline = np.asarray(held_out[next(iter(SELECTION_KEYS))])
    result: dict[str, Any] = {"rounds": rounds, "seed": seed, "candidates": len(val_probs),
                              "n_validation": len(y), "keys": {}}
    for key, rows in held_out.items():
        a = np.asarray(rows)
        diff = a[:, :2] - baseline[:, :2]
        error = (diff.std(axis=0, ddof=1) / np.sqrt(len(diff)) if len(diff) > 1
                 else np.zeros(2))
        result["keys"][key] = {
            "held_out_happy_sad_accuracy": round(float(a[:, 0].mean()), 4),
            "held_out_accuracy_7class": round(float(a[:, 1].mean()), 4),
            "mean_members": round(float(a[:, 2].mean()), 2),
            "gain_happy_sad_accuracy": round(float(diff[:, 0].mean()), 4),
            "gain_happy_sad_stderr": round(float(error[0]), 4),
            "gain_accuracy_7class": round(float(diff[:, 1].mean()), 4),
            "gain_7class_stderr": round(float(error[1]), 4),
        }
    return result


def study_recorded(out_dir: Path, fer_dir: Path, rounds: int = 300, seed: int = 0,
                   save: bool = False) -> dict[str, Any]:
    """:func:`split_half_study` over every candidate recorded in ``out_dir`` (its validation
    probabilities in ``candidate_probs.npz``, its parameters in ``metrics.json``) within the
    served model's parameter budget, with the labels of FER-2013's ``validation/``; with
    ``save``, recorded as ``metrics.json["selection_study"]``."""
    recorded = read_candidate_probs(out_dir)
    metrics = read_metrics(out_dir)
    members = metrics.get("members", {})
    names = [n for n in recorded if n in members]
    if not names:
        raise DataError(f"No candidates with recorded validation probabilities in {out_dir}: "
                        "run `moosic train face` first.")
    y = np.asarray([label for _, label in split_files(fer_dir, "validation")], np.int64)
    if any(len(recorded[n]) != len(y) for n in names):
        raise DataError(f"The recorded validation probabilities do not match the {len(y)} "
                        f"images of {fer_dir / 'validation'}.")
    result = split_half_study([recorded[n].astype(np.float32) for n in names], y,
                              [int(members[n]["params"]) for n in names], SERVED_MAX_PARAMS,
                              rounds, seed)
    result["date"] = dt.datetime.now(dt.UTC).date().isoformat()
    if save:
        metrics["selection_study"] = result
        write_metrics(out_dir, metrics)
    return result
