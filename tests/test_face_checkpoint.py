"""Epoch checkpoints of a training stage: an exact round trip of weights, optimizer state and
best-so-far record, settings that must match, and a crash mid-write that loses nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras

from moosic_core.training.checkpoint import StageCheckpoint, StageState

SETTINGS = {"arch": "tiny", "seed": 1, "epochs": 3, "lr": 0.01}


def compiled_model() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, 10, warmup_target=1e-2,
                                                      warmup_steps=2)
    model.compile(optimizer=keras.optimizers.AdamW(schedule), loss="categorical_crossentropy")
    return model


def trained(epochs: int = 2) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = compiled_model()
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[np.arange(16) % 3]
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0)
    return model


def a_state(model: keras.Model) -> StageState:
    return StageState(epochs_done=2, seconds=12.5, best=(0.9, 0.6), best_epoch=1,
                      best_weights=[w * 0 + 1 for w in model.get_weights()],
                      history=[{"epoch": 1, "val_happy_sad_accuracy": 0.9}])


def test_a_checkpoint_restores_weights_optimizer_and_record(tmp_path: Path) -> None:
    model = trained()
    checkpoint = StageCheckpoint(tmp_path / "stage1.npz", SETTINGS)
    checkpoint.save(model, a_state(model))

    fresh = compiled_model()
    state = checkpoint.load(fresh)
    assert state is not None and not state.done
    assert (state.epochs_done, state.seconds, state.best, state.best_epoch) == (2, 12.5,
                                                                                 (0.9, 0.6), 1)
    assert state.history == [{"epoch": 1, "val_happy_sad_accuracy": 0.9}]
    for got, want in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert int(fresh.optimizer.iterations.numpy()) == 8  # 2 epochs of 4 steps: the schedule
    for got, want in zip(fresh.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert all(np.all(w == 1) for w in state.best_weights)


def test_a_checkpoint_for_other_settings_is_ignored(tmp_path: Path) -> None:
    model = trained()
    StageCheckpoint(tmp_path / "stage1.npz", SETTINGS).save(model, a_state(model))
    other = StageCheckpoint(tmp_path / "stage1.npz", {**SETTINGS, "epochs": 4})
    assert other.load(compiled_model()) is None
    assert StageCheckpoint(tmp_path / "missing.npz", SETTINGS).load(compiled_model()) is None


def test_a_crash_mid_write_keeps_the_previous_checkpoint(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    model = trained()
    checkpoint = StageCheckpoint(tmp_path / "stage1.npz", SETTINGS)
    checkpoint.save(model, a_state(model))

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    later = a_state(model)
    later.epochs_done = 3
    with pytest.raises(OSError):
        checkpoint.save(model, later)
    monkeypatch.undo()
    state = checkpoint.load(compiled_model())
    assert state is not None and state.epochs_done == 2
