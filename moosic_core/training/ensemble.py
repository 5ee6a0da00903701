"""Choosing the served ensemble from the trained members: greedy selection on validation
(Caruana et al., 2004) over every candidate's validation probabilities, which are recorded so
that members whose weights are not kept stay candidates; the mean of the chosen members as one
Keras model; and the validation evidence for the served test-time views."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from moosic_core.errors import DataError
from moosic_core.training.face_views import (
    SERVED_VIEW_SIDES,
    predict_tta,
    probability_metrics,
    rounded,
    validation_key,
)
from moosic_core.training.members import SELECTION_KEY_NAMES

# Every candidate's validation probabilities (float16), so members whose weights are not kept
# stay candidates of later selections
CANDIDATE_PROBS_NAME = "candidate_probs.npz"


def _accuracy_key(probs: npt.NDArray[np.float32], y: npt.NDArray[np.int64]
                  ) -> tuple[float, ...]:
    return validation_key(probability_metrics(probs, y))


def _log_loss_key(probs: npt.NDArray[np.float32], y: npt.NDArray[np.int64]
                  ) -> tuple[float, ...]:
    """Minus the mean 7-class log-loss: every face counts by how sure the mean is of its
    label, not only the few near the happy/sad boundary, so it is less noisy than an accuracy."""
    right = np.clip(np.asarray(probs, np.float64)[np.arange(len(y)), y], 1e-7, 1.0)
    return (float(np.mean(np.log(right))),)


# How greedy selection compares ensembles on validation (``moosic train face --selection-key``);
# ``moosic eval face-selection`` measures which one chooses better (moosic_core.training.
# selection_study).
SELECTION_KEYS: dict[str, Callable[[npt.NDArray[np.float32], npt.NDArray[np.int64]],
                                   tuple[float, ...]]] = {
    "accuracy": _accuracy_key,  # happy-vs-sad accuracy, then 7-class accuracy
    "log-loss": _log_loss_key,
}
DEFAULT_SELECTION_KEY = SELECTION_KEY_NAMES[0]


def select_members(val_probs: list[npt.NDArray[np.float32]], y_val: npt.NDArray[np.int64],
                   params: list[int], max_params: int, key: str = DEFAULT_SELECTION_KEY
                   ) -> list[int]:
    """Greedy forward selection on validation (Caruana et al., 2004): from no member, keep
    adding the one whose addition gives the mean with the best validation ``key`` (one of
    :data:`SELECTION_KEYS`), as long as the key improves and the parameters stay within
    ``max_params``. Candidates come best first, so a tie goes to the better member; at least
    the best member is always chosen."""
    score = SELECTION_KEYS[key]
    chosen: list[int] = []
    best: tuple[float, ...] | None = None
    while True:
        used = sum(params[i] for i in chosen)
        options = [i for i in range(len(val_probs)) if i not in chosen
                   and (not chosen or used + params[i] <= max_params)]
        keys = {i: score(np.mean([val_probs[j] for j in [*chosen, i]], axis=0), y_val)
                for i in options}
        pick = max(options, key=lambda i: keys[i], default=None)
        if pick is None or (best is not None and keys[pick] <= best):
            return chosen
        chosen.append(pick)
        best = keys[pick]


def selection_steps(names: list[str], val_probs: list[npt.NDArray[np.float32]],
                    models: list[keras.Model | None], params: list[int],
                    data: dict[str, tuple[Any, Any]], max_params: int,
                    key: str = DEFAULT_SELECTION_KEY) -> list[dict[str, Any]]:
    """The greedy selection's steps: after each added member, the validation and test metrics
    of the mean so far (test is only reported). A chosen member needs its model."""
    chosen = select_members(val_probs, data["validation"][1], params, max_params, key)
    missing = [names[i] for i in chosen if models[i] is None]
    if missing:
        raise DataError(
            f"Validation chooses {', '.join(missing)} for the served model, but its weights "
            f"are not here (only the served members' weights are kept in models/): put its "
            f"weights file back in models/face/members/, or leave it out of --members.")
    test_probs = {i: predict_tta(models[i], data["test"][0]) for i in chosen}  # reported only
    probs = {"validation": dict(enumerate(val_probs)), "test": test_probs}
    return [{"members": k + 1, "added": names[i], "params": sum(params[j] for j in chosen[:k + 1]),
             **{split: rounded(probability_metrics(
                 np.mean([probs[split][j] for j in chosen[:k + 1]], axis=0), data[split][1]))
                for split in probs}}
            for k, i in enumerate(chosen)]


def candidate_probs(out_dir: Path, names: list[str], models: list[keras.Model | None],
                    data: dict[str, tuple[Any, Any]]) -> list[npt.NDArray[np.float32]]:
    """Each candidate's validation probabilities over the served views, as float16 (the
    precision they are recorded in): computed where its model is here, else read from the
    record, which is then updated. Unserved members' weights are not kept in ``models/``, so
    the record is what keeps them candidates in a later selection."""
    record = read_candidate_probs(out_dir)
    probs = []
    for name, model in zip(names, models, strict=True):
        if model is not None:
            record[name] = predict_tta(model, data["validation"][0]).astype(np.float16)
        elif name not in record:
            raise DataError(f"Neither the weights nor the recorded validation probabilities of "
                            f"the member {name} are here: train it again.")
        probs.append(record[name].astype(np.float32))
    np.savez_compressed(out_dir / CANDIDATE_PROBS_NAME, **record)  # type: ignore[arg-type]
    return probs


def read_candidate_probs(out_dir: Path) -> dict[str, npt.NDArray[np.float16]]:
    """The recorded validation probabilities by member name (none before the first record)."""
    path = out_dir / CANDIDATE_PROBS_NAME
    if not path.exists():
        return {}
    with np.load(path) as npz:
        return {name: npz[name] for name in npz.files}


def build_ensemble(models: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of the members' 7-class probabilities."""
    if len(models) == 1:
        return models[0]
    face = keras.Input(shape=(48, 48, 1), name="face")
    probs = [keras.Model(m.input, m.output, name=f"member{i}")(face)
             for i, m in enumerate(models)]
    return keras.Model(face, keras.layers.Average(name="mean")(probs), name="ensemble")


def view_choice(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The evidence for the served test-time views: over every member scored over them (earlier
    rounds' too), how their validation scores over these views differ from those over the face
    and its mirror alone."""
    pairs = [(e["validation"], e["validation_flip"]) for e in entries
             if e.get("view_sides") == list(SERVED_VIEW_SIDES) and "validation_flip" in e]
    gains = {key: [served[key] - flip[key] for served, flip in pairs]
             for key in ("happy_sad_accuracy", "accuracy_7class")}
    return {"members": len(pairs),
            **{f"mean_gain_{key}": round(float(np.mean(g)), 4) for key, g in gains.items()},
            "happy_sad_better": sum(g > 0 for g in gains["happy_sad_accuracy"]),
            "happy_sad_worse": sum(g < 0 for g in gains["happy_sad_accuracy"])}
