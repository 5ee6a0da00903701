"""The release gate of ``moosic train face``: validation chooses the served model; test decides
only whether that choice may replace the model served before.

After the export, the new ``mood.tflite`` is evaluated on test as ``moosic eval face`` does (the
LiteRT artifact). If it keeps the release floors
(:data:`moosic_core.mood.evaluate.RELEASE_FLOORS`) it is served and its evaluation is written to
``eval_test.json``. If it falls below them while the model served before keeps them, the choice
is held back: the earlier ``mood.tflite``, its members' weights and its ``metrics.json["model"]``
are put back, and the choice is recorded in ``metrics.json["held_back"]`` (the model card shows
it). Without an earlier model that keeps the floors the new one is served, with its failures
recorded. Test never chooses among candidates; it only vetoes a choice, by a rule fixed beforehand.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moosic_core.mood.evaluate import evaluate_faces, release_failures
from moosic_core.mood.model import MoodModel

log = logging.getLogger(__name__)

EVAL_TEST_NAME = "eval_test.json"  # the served model's `moosic eval face --split test --json`


@dataclass(frozen=True)
class ServedModel:
    """What a run replaces: the served artifact's bytes and its ``metrics.json["model"]``."""

    tflite: bytes
    record: dict[str, Any]

    @property
    def members(self) -> list[str]:
        """Its selected members (greedy selection's), whose weights it keeps in models/; the
        served ones when no selection is recorded."""
        selected = [row["added"] for row in self.record.get("selection", [])]
        return selected or list(self.record.get("members", []))


@dataclass(frozen=True)
class Release:
    """The outcome of a training run: the model served after it, and the record of a choice
    held back at the release floors (``None`` when the new choice is served)."""

    served: dict[str, Any]
    held_back: dict[str, Any] | None = None


def served_before(tflite: Path, metrics: dict[str, Any]) -> ServedModel | None:
    """The model served before this run (none on the first run)."""
    if not tflite.exists() or "model" not in metrics:
        return None
    return ServedModel(tflite.read_bytes(), dict(metrics["model"]))


def gate(tflite: Path, test: tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]],
         previous: ServedModel | None) -> tuple[dict[str, Any], list[str], bool]:
    """Evaluate the new ``tflite`` on ``test``; returns its evaluation, the floors it falls
    below, and whether to hold it back (it fails them and ``previous`` keeps them)."""
    evaluation = evaluate_faces(MoodModel(tflite, num_threads=2), *test, "test")
    failures = release_failures(evaluation)
    if not failures or previous is None:
        return evaluation, failures, False
    earlier = evaluate_faces(MoodModel.from_bytes(previous.tflite, num_threads=2), *test, "test")
    log.info("the new choice falls below the release floors (%s); the model served before "
             "scores %s", "; ".join(failures), earlier["happy_sad_accuracy"])
    return evaluation, failures, not release_failures(earlier)


def release(out_dir: Path, tflite: Path, metrics: dict[str, Any], result: dict[str, Any],
            test: tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]],
            previous: ServedModel | None, command: str,
            restore_members: Callable[[list[str]], None]) -> Release:
    """Serve the newly exported choice (``result``, its ``metrics.json["model"]``) or hold it
    back (see the module docstring). ``restore_members`` puts the given served members' weights
    back in ``out_dir``. Updates ``metrics`` in place; the caller writes it."""
    evaluation, failures, hold_back = gate(tflite, test, previous)
    if not hold_back or previous is None:
        if failures:
            log.warning("serving a model below the release floors (%s): no model served before "
                        "keeps them", "; ".join(failures))
        metrics["model"] = {**result, "release_failures": failures}
        (out_dir / EVAL_TEST_NAME).write_text(json.dumps(evaluation) + "\n")
        return Release(metrics["model"])
    tflite.write_bytes(previous.tflite)
    restore_members(previous.members)
    record = {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "candidates": result["candidates"],
        "selection": result["selection"],
        **({"frontier": result["frontier"]} if "frontier" in result else {}),
        "served_eval": evaluation,
        "release_failures": failures,
        "commands": [command],
    }
    metrics["model"] = previous.record
    metrics.setdefault("held_back", []).append(record)
    log.warning("held back the validation choice %s at the release floors (%s); the model "
                "served before stays", " + ".join(result["members"]), "; ".join(failures))
    return Release(previous.record, record)
