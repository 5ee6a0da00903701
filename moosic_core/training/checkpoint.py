"""Epoch-level checkpoints of one training stage, so that a long stage can span several runs.

After every epoch the stage's whole state goes to one ``.npz`` file (written to a temporary name,
then renamed, so a crash mid-write leaves the previous checkpoint intact): the model's weights,
the optimizer's variables (its step counter drives the learning-rate schedule, so the schedule
resumes where it stopped), the epoch reached, the seconds spent, and the best-on-validation
epoch with its weights, the per-epoch history and, in a weight-averaging stage, the running
average of the weights. A checkpoint only resumes the stage it was
written for (same settings); any other is ignored.

A :class:`TimeBudget` stops training at the last epoch boundary that leaves room for one more
epoch (estimated from the slowest epoch so far, and never before a run's first epoch, so that
repeated runs always finish): the checkpoint is saved and :class:`TrainingPaused` tells the user
how to continue. Resumed runs reshuffle the training data from the start of a
new random order; every other part of the state is exact.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from moosic_core.errors import MoosicError

log = logging.getLogger(__name__)


class TrainingPaused(MoosicError):
    """Training stopped at its time budget; the state is saved and ``--reuse`` resumes it."""

    user_message = "Training paused at its time budget; run the same command with --reuse."


@dataclass
class StageState:
    """Where a stage stands: everything needed to resume it or to report it once done."""

    epochs_done: int = 0
    seconds: float = 0.0
    best: tuple[float, float] = (-1.0, -1.0)
    best_epoch: int = -1
    best_weights: list[Any] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    done: bool = False
    average: list[Any] = field(default_factory=list)  # weight-averaging stages only


def _arrays(npz: Any, prefix: str) -> list[Any]:
    """The arrays saved as ``<prefix><index>``, in index order."""
    keys = [k for k in npz.files if k[0] == prefix and k[1:].isdigit()]
    return [npz[k] for k in sorted(keys, key=lambda k: int(k[1:]))]


class StageCheckpoint:
    """The checkpoint file of one stage, bound to the settings it was trained with."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path = path
        self.settings = json.dumps(settings, sort_keys=True)

    def save(self, model: keras.Model, state: StageState) -> None:
        arrays: dict[str, Any] = {f"w{i:03d}": w for i, w in enumerate(model.get_weights())}
        arrays.update({f"o{i:03d}": np.asarray(v) for i, v in
                       enumerate(model.optimizer.variables)})
        arrays.update({f"b{i:03d}": w for i, w in enumerate(state.best_weights)})
        arrays.update({f"a{i:03d}": w for i, w in enumerate(state.average)})
        meta = {"settings": self.settings, "epochs_done": state.epochs_done,
                "seconds": state.seconds, "best": list(state.best),
                "best_epoch": state.best_epoch, "history": state.history, "done": state.done}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        with open(partial, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.path)

    def load(self, model: keras.Model) -> StageState | None:
        """Restore the model and its (compiled) optimizer; ``None`` if there is no checkpoint
        for these settings."""
        if not self.path.exists():
            return None
        with np.load(self.path) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            if meta["settings"] != self.settings:
                log.warning("ignoring %s: written for other settings", self.path)
                return None
            model.set_weights(_arrays(npz, "w"))
            optimizer = model.optimizer
            optimizer.build(model.trainable_variables)
            for variable, value in zip(optimizer.variables, _arrays(npz, "o"), strict=True):
                variable.assign(value)
            best_weights, average = _arrays(npz, "b"), _arrays(npz, "a")
        return StageState(epochs_done=meta["epochs_done"], seconds=meta["seconds"],
                          best=(meta["best"][0], meta["best"][1]), best_epoch=meta["best_epoch"],
                          best_weights=best_weights, history=meta["history"], done=meta["done"],
                          average=average)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class TimeBudget:
    """The training time of one run: ``deadline`` is a ``time.monotonic()`` value (``None``: no
    limit); ``slowest`` is the longest epoch this run has trained (0 before the first)."""

    deadline: float | None = None
    slowest: float = 0.0

    def exhausted(self) -> bool:
        """Whether another epoch would likely end past the deadline (never before one ran)."""
        return (self.deadline is not None and self.slowest > 0
                and time.monotonic() + self.slowest > self.deadline)


class SaveEachEpoch(keras.callbacks.Callback):
    """Saves the stage after every epoch (when there is a ``checkpoint``) and stops training
    when the ``budget`` is exhausted. Must run after the callback that updates ``state``."""

    def __init__(self, checkpoint: StageCheckpoint | None, state: StageState, epochs: int,
                 budget: TimeBudget) -> None:
        super().__init__()
        self.checkpoint, self.state = checkpoint, state
        self.epochs, self.budget = epochs, budget
        self.paused = False
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        took = time.monotonic() - self._epoch_start
        self.budget.slowest = max(self.budget.slowest, took)
        self.state.epochs_done = epoch + 1
        self.state.seconds += took
        self.state.done = self.state.epochs_done >= self.epochs
        if self.checkpoint is not None:
            self.checkpoint.save(self.model, self.state)
        if not self.state.done and self.budget.exhausted():
            self.paused = True
            self.model.stop_training = True
