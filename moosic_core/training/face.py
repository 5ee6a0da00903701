"""Train the face mood model on FER-2013 and export it to LiteRT.

Training is plain Keras (augmentation inside the training graph, numpy arrays in), so it runs
on any Keras backend: TensorFlow on a CPU here, or JAX on an accelerator (see
:mod:`moosic_core.training.face_accelerator`). Only the LiteRT export needs TensorFlow, and it
imports it when called.

``train_face`` trains each member of the ensemble (see :mod:`moosic_core.training.members`) on
``train/`` (all 7 classes, augmented), selects each stage's epoch by happy-versus-sad accuracy on
``validation/`` (PublicTest), reports ``test/`` (PrivateTest), and writes ``models/face/``:
``mood.tflite`` (the mean of the served members' probabilities, int8 weights, the average
over the test-time views built in; members and views chosen on the accuracy/latency frontier,
:mod:`moosic_core.training.frontier`), ``members/<name>.npz`` (each served member's Keras weights,
used by the tests to check the served scores and by ``--reuse``; the other members' weights go
to ``<checkpoint_dir>/members/``), ``metrics.json`` and ``eval_test.json`` (the served model on
test). A new choice replaces the served model only through the release gate
(:mod:`moosic_core.training.release`).
``compare_architectures`` trains the comparison networks briefly and adds their rows.
How a model is scored (the test-time views) is in :mod:`moosic_core.training.face_views`; how
the served members are chosen, in :mod:`moosic_core.training.ensemble`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")  # oneDNN 1x1 stride-2 conv crash (DESIGN)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import numpy.typing as npt
from keras import ops

from moosic_core.errors import DataError
from moosic_core.mood.emotions import EMOTIONS, HAPPY, SAD
from moosic_core.mood.fer import load_split
from moosic_core.training.checkpoint import (
    SaveEachEpoch,
    StageCheckpoint,
    StageState,
    TimeBudget,
    TrainingPaused,
)
from moosic_core.training.ensemble import (
    CANDIDATE_PROBS_NAME,
    DEFAULT_SELECTION_KEY,
    build_ensemble,
    candidate_probs,
    read_candidate_probs,
    selection_steps,
    view_choice,
)
from moosic_core.training.face_models import ARCHITECTURES
from moosic_core.training.face_views import (
    FLIP_ONLY,
    SERVED_VIEW_SIDES,
    ViewSet,
    evaluate,
    model_input,
    rounded,
    served_function,
    validation_key,
)
from moosic_core.training.members import Member
from moosic_core.training.release import Release, release, served_before

log = logging.getLogger(__name__)

TFLITE_NAME = "mood.tflite"
MEMBERS_DIR = "members"  # one float16 Keras weights file per ensemble member
# int8 weights (dynamic range): same validation/test accuracy as float16 here, smaller and faster
SERVED_WEIGHTS = "int8"
# The selected ensemble's budget: int8 weights take about a byte per parameter, so mood.tflite
# stays under 5 MB. It bounds size, not time: a face costs every served member's multiply-adds
# over every test-time view (the selected pair over all six views: about 10 ms on one free CPU
# thread); time is bounded by the frontier's choice (moosic_core.training.frontier).
SERVED_MAX_PARAMS = 4_900_000
METRICS_NAME = "metrics.json"
# The optional third stage, weight averaging (Izmailov et al. 2018, "Averaging Weights Leads to
# Wider Optima and Better Generalization"): training goes on at this constant learning rate and
# the served weights are the mean of the weights after each epoch, with the batch-norm
# statistics measured again for that mean on this many batches of unaugmented training faces.
AVERAGE_LR = 3e-4
NORM_BATCHES = 60
STAGE_NAMES = ("from scratch", "fine-tuning with the happy-vs-sad term", "weight averaging")
TRAIN_SUBSET = 6000  # train accuracy is measured on this many fixed random training images

AUGMENTATION = {
    "horizontal_flip": True,
    "translation": 0.1,
    "rotation_deg": 12,
    "zoom": 0.1,
    "brightness": 0.25,
    "contrast": 0.3,
}


def _augmenter(seed: int) -> list[keras.layers.Layer]:
    """The random augmentation layers (active only in training), ending with a clip to the
    pixel range."""
    a = AUGMENTATION
    layers = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(a["translation"], a["translation"], fill_mode="reflect",
                                       seed=seed + 1),
        keras.layers.RandomRotation(float(a["rotation_deg"]) / 360.0, fill_mode="reflect",
                                    seed=seed + 2),
        keras.layers.RandomZoom(a["zoom"], a["zoom"], fill_mode="reflect", seed=seed + 3),
        keras.layers.RandomBrightness(a["brightness"], value_range=(0.0, 255.0), seed=seed + 4),
        keras.layers.RandomContrast(a["contrast"], value_range=(0.0, 255.0), seed=seed + 5),
        keras.layers.Lambda(lambda t: ops.clip(t, 0.0, 255.0), name="clip"),
    ]
    if keras.backend.backend() == "jax":
        # Keras marks the translation, rotation and zoom layers as not XLA-compilable because
        # TensorFlow's image transform op is not; their JAX version is, and without XLA every
        # training step would run op by op.
        for layer in layers:
            layer.supports_jit = True
    return layers


def training_model(model: keras.Model, seed: int) -> keras.Model:
    """``model`` behind the augmentation layers: the model that is fitted. It shares
    ``model``'s weights (augmentation has none) and is ``model`` itself outside training."""
    return keras.Sequential([keras.Input(shape=(48, 48, 1), name="face"), *_augmenter(seed),
                             model], name=f"{model.name}_training")


def _targets(y: npt.NDArray[np.int64], n_classes: int, smoothing: float
             ) -> npt.NDArray[np.float32]:
    """Label-smoothed one-hot targets."""
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    return onehot * (1.0 - smoothing) + smoothing / n_classes


def happy_sad_pair_loss(pair_weight: float) -> Callable[[Any, Any], Any]:
    """Cross-entropy over the 7 classes plus ``pair_weight`` times the binary cross-entropy of
    ``P(happy) / (P(happy) + P(sad))`` on the happy and sad faces of the batch.

    The second term trains exactly the decision the bot serves (happy versus sad) without
    giving up the 7 emotion probabilities; it is zero on faces of the other five classes."""
    cross_entropy = keras.losses.CategoricalCrossentropy(reduction="none")

    def loss(y_true: Any, y_pred: Any) -> Any:
        base = cross_entropy(y_true, y_pred)
        is_happy = ops.cast(y_true[:, HAPPY] > 0.5, "float32")
        is_pair = ops.cast(ops.logical_or(y_true[:, HAPPY] > 0.5, y_true[:, SAD] > 0.5),
                           "float32")
        p_happy = y_pred[:, HAPPY] / (y_pred[:, HAPPY] + y_pred[:, SAD] + 1e-7)
        p_happy = ops.clip(p_happy, 1e-6, 1.0 - 1e-6)
        binary = -(is_happy * ops.log(p_happy) + (1.0 - is_happy) * ops.log(1.0 - p_happy))
        return ops.mean(base + pair_weight * is_pair * binary)

    return loss


def _norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """The batch-norm layers of ``model``, nested models included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found += _norm_layers(layer)
    return found


def measure_batch_norm(model: keras.Model, x: npt.NDArray[np.uint8], batch: int,
                       batches: int = NORM_BATCHES) -> None:
    """Set the moving statistics of ``model``'s batch-norm layers to their plain mean over
    ``batches`` fixed random batches of the faces ``x`` (averaged weights need statistics of
    their own: the running ones belong to the weights they were collected with)."""
    norms = _norm_layers(model)
    momenta = [layer.momentum for layer in norms]
    idx = np.random.default_rng(0).permutation(len(x))[:batch * batches]
    for i, start in enumerate(range(0, len(idx), batch)):
        for layer in norms:  # moving = moving * i/(i+1) + batch/(i+1): the running mean
            layer.momentum = i / (i + 1)
        model(model_input(x[idx[start:start + batch]]), training=True)
    for layer, momentum in zip(norms, momenta, strict=True):
        layer.momentum = momentum


class _SelectByValidation(keras.callbacks.Callback):
    """Evaluates ``net`` on validation after each epoch; records the history and keeps the
    weights of the best epoch (happy-vs-sad accuracy, ties broken by 7-class accuracy) in
    ``state``. With ``norm_faces`` (a weight-averaging stage) it adds the epoch's weights to the
    running mean in ``state`` and evaluates that mean (batch-norm statistics measured on
    ``norm_faces``) instead of the weights being trained."""

    def __init__(self, net: keras.Model, x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64],
                 state: StageState, norm_faces: npt.NDArray[np.uint8] | None = None,
                 batch: int = 128) -> None:
        super().__init__()
        self.net, self.x, self.y, self.state = net, x, y, state
        self.norm_faces, self.batch = norm_faces, batch
        self.t0, self.seconds_before = time.monotonic(), state.seconds

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        trained = None
        if self.norm_faces is not None:
            trained = self.net.get_weights()
            n = epoch + 1  # epochs in the mean, this one included
            self.state.average = (trained if n == 1 else [
                mean + (w - mean) / n for mean, w in zip(self.state.average, trained, strict=True)])
            self.net.set_weights(self.state.average)
            measure_batch_norm(self.net, self.norm_faces, self.batch)
        m = evaluate(self.net, self.x, self.y, sides=FLIP_ONLY)
        row = {"epoch": epoch + 1, "train_loss": float((logs or {}).get("loss", float("nan"))),
               "val_accuracy_7class": m["accuracy_7class"],
               "val_happy_sad_accuracy": m["happy_sad_accuracy"],
               "elapsed_s": round(self.seconds_before + time.monotonic() - self.t0, 1)}
        self.state.history.append(row)
        log.info("epoch %s", row)
        key = validation_key(m)
        if key > self.state.best:
            self.state.best, self.state.best_epoch = key, epoch + 1
            self.state.best_weights = self.net.get_weights()
        if trained is not None:
            self.net.set_weights(trained)


def _fit(arch: str, data: dict[str, tuple[Any, Any]], epochs: int, batch: int, lr: float,
         seed: int, smoothing: float = 0.1, weights: list[Any] | None = None,
         pair_weight: float = 0.0, checkpoint: StageCheckpoint | None = None,
         budget: TimeBudget | None = None, average: bool = False
         ) -> tuple[keras.Model, StageState]:
    """Train ``arch`` (from ``weights`` when given) with one warm-up epoch to ``lr`` and a
    cosine decay; returns the model at its best validation epoch and the stage's record.
    With ``average`` (weight averaging, from ``weights``) the rate stays at ``lr`` and the
    candidates are the means of the first k epochs' weights; epoch 0, ``weights`` as given,
    is one of them, so the stage never serves worse weights on validation than it started from.

    With a ``checkpoint`` the stage resumes from it and saves after every epoch; when the
    ``budget`` is exhausted it stops and raises :class:`TrainingPaused`."""
    budget = budget or TimeBudget()
    keras.utils.set_random_seed(seed)
    model = ARCHITECTURES[arch]()
    if weights is not None:
        model.set_weights(weights)
    x, y = data["train"]
    steps = math.ceil(len(x) / batch)
    schedule = lr if average else keras.optimizers.schedules.CosineDecay(
        lr * 0.1, decay_steps=steps * max(epochs - 1, 1), warmup_target=lr,
        warmup_steps=steps, alpha=0.01)
    loss = (happy_sad_pair_loss(pair_weight) if pair_weight > 0
            else keras.losses.CategoricalCrossentropy())
    trainer = training_model(model, seed)
    trainer.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
                    loss=loss, metrics=["accuracy"])
    state = (checkpoint.load(trainer) if checkpoint is not None else None) or StageState()
    if average and not state.epochs_done:
        state.best = validation_key(evaluate(model, *data["validation"], sides=FLIP_ONLY))
        state.best_epoch, state.best_weights = 0, model.get_weights()
        log.info("averaging from weights with validation happy-vs-sad %.4f, 7-class %.4f",
                 *state.best)
    if not state.done:
        if budget.exhausted():
            raise _paused(state, epochs, checkpoint)
        if state.epochs_done:
            log.info("resuming %s after epoch %d of %d", arch, state.epochs_done, epochs)
        select = _SelectByValidation(model, *data["validation"], state,
                                     norm_faces=x if average else None, batch=batch)
        saver = SaveEachEpoch(checkpoint, state, epochs, budget)
        if state.epochs_done:  # a resumed stage draws a new order of batches
            keras.utils.set_random_seed(seed + state.epochs_done)
        # Keras prints its per-epoch lines on stdout; they go to stderr with the logs, so that
        # stdout carries only the command's result (one JSON document with --json).
        with contextlib.redirect_stdout(sys.stderr):
            trainer.fit(model_input(x), _targets(y, len(EMOTIONS), smoothing), batch_size=batch,
                        epochs=epochs, initial_epoch=state.epochs_done, shuffle=True,
                        callbacks=[select, saver],
                        verbose=2 if log.isEnabledFor(logging.INFO) else 0)
        if saver.paused:
            raise _paused(state, epochs, checkpoint)
    model.set_weights(state.best_weights)
    return model, state


def _paused(state: StageState, epochs: int, checkpoint: StageCheckpoint | None
            ) -> TrainingPaused:
    where = f"; its state is saved in {checkpoint.path}" if checkpoint is not None else ""
    return TrainingPaused(
        f"Training paused at its time budget after epoch {state.epochs_done} of {epochs} of "
        f"this stage{where}. Run the same command with --reuse to continue.")


def _load_all(fer_dir: Path) -> dict[str, tuple[Any, Any]]:
    return {s: load_split(fer_dir, s) for s in ("train", "validation", "test")}


def _train_subset(data: dict[str, tuple[Any, Any]]) -> tuple[Any, Any]:
    x, y = data["train"]
    idx = np.random.default_rng(0).choice(len(x), size=min(TRAIN_SUBSET, len(x)), replace=False)
    return x[idx], y[idx]


def export_tflite(model: keras.Model, path: Path, weights: str = "int8",
                  sides: Sequence[int] = SERVED_VIEW_SIDES, mirror: bool = True) -> int:
    """Write the model, averaged over the test-time views, as a LiteRT flatbuffer; returns its
    size in bytes.

    ``weights``: ``"int8"`` (dynamic-range quantization: int8 weights, float activations; the
    smallest and fastest on CPU), ``"float16"`` or ``"float32"``. Goes through a SavedModel so
    that the converter freezes the weights into constants."""
    if weights not in ("int8", "float16", "float32"):
        raise ValueError(f"unknown weight type {weights!r}")
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=served_function(model, sides, mirror),
                         input_signature=[tf.TensorSpec([None, 48, 48, 1], tf.float32, "faces")])
    with tempfile.TemporaryDirectory() as tmp:
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serve"])
        if weights != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if weights == "float16":
            converter.target_spec.supported_types = [tf.float16]
        blob = converter.convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return len(blob)


def save_weights(model: keras.Model, path: Path) -> None:
    """The model's weights (float16, as served; no optimizer state) as a compressed ``.npz``."""
    arrays = {f"w{i:03d}": np.asarray(w, np.float16) for i, w in enumerate(model.get_weights())}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_model(path: Path, arch: str = "compact") -> keras.Model:
    """Rebuild the Keras model of ``arch`` and load weights written by :func:`save_weights`."""
    model = ARCHITECTURES[arch]()
    with np.load(path) as npz:
        model.set_weights([npz[k].astype(np.float32) for k in sorted(npz.files)])
    return model


def member_weights_path(out_dir: Path, name: str) -> Path:
    return out_dir / MEMBERS_DIR / f"{name}.npz"


def load_served_keras(out_dir: Path) -> keras.Model:
    """The Keras ensemble that ``mood.tflite`` in ``out_dir`` was exported from."""
    metrics = read_metrics(out_dir)
    names = metrics["model"]["members"]
    return build_ensemble([load_model(member_weights_path(out_dir, n),
                                      metrics["members"][n]["arch"]) for n in names])


def served_views(out_dir: Path) -> ViewSet:
    """The test-time views ``mood.tflite`` in ``out_dir`` averages over (metrics.json)."""
    return ViewSet.of(read_metrics(out_dir).get("model", {}))


def _litert_latency_ms(tflite_path: Path, runs: int = 200,
                       clock: Callable[[], float] = time.perf_counter) -> float:
    """Median milliseconds per call of the LiteRT model on one face, one thread, after 10
    warm-up calls. ``clock``: wall time (``time.perf_counter``, the default), or
    ``time.thread_time``, the CPU time of the calling thread, which runs the whole one-thread
    invocation, so other processes on a shared machine do not count."""
    from moosic_core.mood.model import MoodModel

    mm = MoodModel(tflite_path)
    face = np.random.default_rng(0).integers(0, 255, (1, 48, 48), dtype=np.uint8)
    for _ in range(10):
        mm.predict(face)
    times = []
    for _ in range(runs):
        t = clock()
        mm.predict(face)
        times.append(clock() - t)
    return float(np.median(times) * 1000.0)


def read_metrics(out_dir: Path) -> dict[str, Any]:
    path = out_dir / METRICS_NAME
    return json.loads(path.read_text()) if path.exists() else {}


def write_metrics(out_dir: Path, metrics: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / METRICS_NAME).write_text(json.dumps(metrics, indent=2) + "\n")


def _environment() -> dict[str, Any]:
    """The Keras backend and hardware that trained (or exported) a model."""
    backend = keras.backend.backend()
    env: dict[str, Any] = {"keras": keras.__version__, "backend": backend,
                           "cpu_count": os.cpu_count(), "machine": platform.machine()}
    if backend == "tensorflow":
        import tensorflow as tf

        env.update(tensorflow=tf.__version__,
                   gpu=bool(tf.config.list_physical_devices("GPU")))
    elif backend == "jax":
        import jax

        device = jax.devices()[0]
        env.update(jax=jax.__version__, gpu=device.platform == "gpu",
                   device=device.device_kind)
    return env


def _stage(name: str, state: StageState, **settings: Any) -> dict[str, Any]:
    return {"stage": name, **settings, "best_epoch": state.best_epoch,
            "train_seconds": round(state.seconds), "history": state.history}


def _export_latency_ms(model: keras.Model) -> tuple[int, float]:
    """Size in bytes and LiteRT latency (ms per face) of ``model`` exported on its own (float16,
    as the comparison table has always been measured)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / TFLITE_NAME
        size = export_tflite(model, path, weights="float16")
        return size, _litert_latency_ms(path)


def _scores(model: keras.Model, data: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """A member's scores over the served test-time views (``validation_flip``: over the face and
    its mirror only, the evidence for choosing the views)."""
    return {"train_subset": rounded(evaluate(model, *_train_subset(data))),
            "validation": rounded(evaluate(model, *data["validation"])),
            "validation_flip": rounded(evaluate(model, *data["validation"], sides=FLIP_ONLY)),
            "test_keras": rounded(evaluate(model, *data["test"])),
            "view_sides": list(SERVED_VIEW_SIDES)}


def _train_member(member: Member, data: dict[str, tuple[Any, Any]], batch: int, lr: float,
                  finetune_lr: float, pair_weight: float,
                  checkpoints: Sequence[StageCheckpoint | None], budget: TimeBudget,
                  earlier: tuple[keras.Model, dict[str, Any]] | None = None
                  ) -> tuple[keras.Model, dict[str, Any]]:
    """Stage 1 trains from scratch on the 7 classes; stage 2 continues from its weights with a
    new warm-up and cosine cycle and the happy-versus-sad term of :func:`happy_sad_pair_loss`
    (skipped when the member has no fine-tuning epochs); stage 3, when the member has averaging
    epochs, averages the weights of a few more epochs from there. Each stage resumes from and
    saves to its entry of ``checkpoints``. ``earlier``: the model and entry of a member whose
    first stages an earlier run finished, so that only its averaging stage is left."""
    if earlier is None:
        model, state = _fit(member.arch, data, member.epochs, batch, lr, member.seed,
                            checkpoint=checkpoints[0], budget=budget)
        stages = [_stage(STAGE_NAMES[0], state, epochs=member.epochs, lr=lr, pair_weight=0.0)]
        if member.finetune_epochs > 0:
            model, state = _fit(member.arch, data, member.finetune_epochs, batch, finetune_lr,
                                member.seed + 1, weights=model.get_weights(),
                                pair_weight=pair_weight, checkpoint=checkpoints[1],
                                budget=budget)
            stages.append(_stage(STAGE_NAMES[1], state, epochs=member.finetune_epochs,
                                 lr=finetune_lr, pair_weight=pair_weight))
        environment = _environment()
    else:
        model, stages = earlier[0], list(earlier[1]["stages"])
        environment = earlier[1]["environment"]
    if member.average_epochs > 0:
        model, state = _fit(member.arch, data, member.average_epochs, batch, AVERAGE_LR,
                            member.seed + 2, weights=model.get_weights(),
                            pair_weight=pair_weight, checkpoint=checkpoints[2], budget=budget,
                            average=True)
        stages.append(_stage(STAGE_NAMES[2], state, epochs=member.average_epochs,
                             lr=AVERAGE_LR, pair_weight=pair_weight,
                             environment=_environment()))
    entry = {"name": member.name, "arch": member.arch, "seed": member.seed,
             "params": int(model.count_params()),
             "epochs": sum(int(st["epochs"]) for st in stages), "batch": batch,
             "train_seconds": sum(int(st["train_seconds"]) for st in stages),
             "n_train": len(data["train"][0]), "stages": stages, **_scores(model, data),
             "environment": environment}
    return model, entry


def _refresh_figures(entry: dict[str, Any], model: keras.Model | None,
                     data: dict[str, tuple[Any, Any]]) -> bool:
    """Brings the member's entry up to date: its scores if they were measured over other
    test-time views than the served ones, and its own LiteRT size and latency if it lacks them
    (members trained on an accelerator come without) or they were for other views. Returns
    whether it changed anything."""
    stale_scores = entry.get("view_sides") != list(SERVED_VIEW_SIDES)
    if not stale_scores and "latency_ms_litert_1face" in entry:
        return False
    if model is None:  # a recorded candidate: nothing to measure it with
        if stale_scores:
            raise DataError(f"The member {entry['name']} was scored over other test-time views "
                            f"and its weights are not here to score it again: train it again.")
        return False
    if stale_scores:
        log.info("scoring member %s over the served test-time views", entry["name"])
        entry.update(_scores(model, data))
    size, latency = _export_latency_ms(model)
    entry.update(tflite_bytes=size, latency_ms_litert_1face=round(latency, 3))
    return True


def _stage_checkpoints(checkpoint_dir: Path, member: Member, n_train: int, batch: int, lr: float,
                       finetune_lr: float, pair_weight: float) -> list[StageCheckpoint]:
    """The checkpoint files of the member's stages, bound to their settings."""
    common = {"arch": member.arch, "seed": member.seed, "batch": batch, "n_train": n_train}
    stages = ({"stage": 1, "epochs": member.epochs, "lr": lr, "pair_weight": 0.0},
              {"stage": 2, "epochs": member.finetune_epochs, "lr": finetune_lr,
               "pair_weight": pair_weight, "after": member.epochs},
              {"stage": 3, "epochs": member.average_epochs, "lr": AVERAGE_LR,
               "pair_weight": pair_weight, "after": [member.epochs, member.finetune_epochs]})
    return [StageCheckpoint(checkpoint_dir / f"{member.name}-stage{s['stage']}.npz",
                            {**common, **s}) for s in stages]


def _finished(entry: dict[str, Any] | None, member: Member) -> bool:
    """Whether an earlier run trained exactly this member (``entry``: its metrics)."""
    if entry is None:
        return False
    stages = [(st["stage"], int(st["epochs"])) for st in entry.get("stages", [])]
    wanted = [(name, epochs) for name, epochs in zip(
        STAGE_NAMES, (member.epochs, member.finetune_epochs, member.average_epochs),
        strict=True) if epochs or name == STAGE_NAMES[0]]
    return bool(entry.get("arch") == member.arch and stages == wanted)


def _averaging_left(entry: dict[str, Any] | None, member: Member) -> bool:
    """Whether an earlier run finished the member's first stages and only its weight-averaging
    stage is left."""
    return member.average_epochs > 0 and _finished(entry, replace(member, average_epochs=0))


def train_face(fer_dir: Path, out_dir: Path, checkpoint_dir: Path, members: list[Member],
               batch: int = 128, lr: float = 2e-3, finetune_lr: float = 1e-3,
               pair_weight: float = 1.0, reuse: bool = False, deadline: float | None = None,
               selection_key: str = DEFAULT_SELECTION_KEY) -> Release:
    """Train every member (two or three stages each, the epoch of each stage chosen on
    validation), rank the members by their validation scores, choose the served ones on
    validation (greedy selection within a size budget), export the mean of their probabilities,
    serve it unless the release gate holds it back, and return what is served.

    Each finished member's weights and numbers are saved at once, and an unfinished one's state
    after every epoch, so with ``reuse`` a later run keeps the members an earlier (possibly
    interrupted) run finished, resumes the one it was training and trains the rest. Near the
    ``deadline`` (``time.monotonic()``) training stops with :class:`TrainingPaused`.
    The per-epoch state goes to ``checkpoint_dir`` (large; kept out of ``out_dir``)."""
    data = _load_all(fer_dir)
    models = train_members(data, out_dir, checkpoint_dir, members, batch, lr, finetune_lr,
                           pair_weight, reuse, deadline)
    return _assemble(data, out_dir, checkpoint_dir / MEMBERS_DIR, members, models, batch,
                     selection_key)


def train_members(data: dict[str, tuple[Any, Any]], out_dir: Path, checkpoint_dir: Path | None,
                  members: list[Member], batch: int = 128, lr: float = 2e-3,
                  finetune_lr: float = 1e-3, pair_weight: float = 1.0, reuse: bool = False,
                  deadline: float | None = None) -> list[keras.Model | None]:
    """Train (or with ``reuse``, load or resume) each member and save its weights and entry in
    ``out_dir`` as soon as it is done; returns the members' models in order. Needs no
    TensorFlow: this is the part that runs on an accelerator. Without a ``checkpoint_dir``
    unfinished stages are not saved. Weights an earlier run shelved in ``checkpoint_dir``
    (members it did not serve) are reused from there; a finished member whose weights are gone
    but whose validation probabilities are recorded stays a candidate without its model
    (``None``)."""
    budget = TimeBudget(deadline)
    models: list[keras.Model | None] = []
    recorded = read_candidate_probs(out_dir) if reuse else {}
    shelf = None if checkpoint_dir is None else checkpoint_dir / MEMBERS_DIR
    if reuse:
        _check_nothing_lost(out_dir, shelf, members, recorded)
    for member in members:
        weights = _stored_weights(out_dir, shelf, member.name)
        entry = read_metrics(out_dir).get("members", {}).get(member.name)
        if reuse and _finished(entry, member) and weights.exists():
            log.info("reusing member %s", member.name)
            models.append(load_model(weights, member.arch))
            continue
        if reuse and _finished(entry, member) and member.name in recorded:
            log.info("reusing member %s as a candidate: its validation probabilities are "
                     "recorded, its weights are not here", member.name)
            models.append(None)
            continue
        earlier = None
        if reuse and entry is not None and _averaging_left(entry, member) and weights.exists():
            log.info("member %s: its first stages are done, training its weight averaging",
                     member.name)
            earlier = (load_model(weights, member.arch), entry)
        checkpoints: Sequence[StageCheckpoint | None] = (
            (None, None, None) if checkpoint_dir is None else _stage_checkpoints(
                checkpoint_dir, member, len(data["train"][0]), batch, lr, finetune_lr,
                pair_weight))
        if not reuse:
            _remove(checkpoints)
        model, entry = _train_member(member, data, batch, lr, finetune_lr, pair_weight,
                                     checkpoints, budget, earlier)
        save_weights(model, weights)
        metrics = read_metrics(out_dir)
        metrics.setdefault("members", {})[member.name] = entry
        write_metrics(out_dir, metrics)
        _remove(checkpoints)
        models.append(model)
    return models


def _stored_weights(out_dir: Path, shelf: Path | None, name: str) -> Path:
    """Where the member's weights are: in ``out_dir``, else on the shelf if they are there."""
    weights = member_weights_path(out_dir, name)
    if shelf is not None and not weights.exists() and (shelf / weights.name).exists():
        return shelf / weights.name
    return weights


def _check_nothing_lost(out_dir: Path, shelf: Path | None, members: list[Member],
                        recorded: dict[str, Any]) -> None:
    """With ``--reuse``, a member an earlier run finished but whose weights and recorded
    validation probabilities are both gone (a clone without the git-ignored shelf) would be
    trained again from scratch, for hours; refuse and say so instead."""
    entries = read_metrics(out_dir).get("members", {})
    lost = [m.name for m in members if not _stored_weights(out_dir, shelf, m.name).exists() and (
        (_finished(entries.get(m.name), m) and m.name not in recorded)
        or _averaging_left(entries.get(m.name), m))]
    if lost:
        raise DataError(
            f"{len(lost)} member(s) were trained before, but their weights are not here (nor, "
            f"for a finished member, its recorded validation probabilities): "
            f"{', '.join(lost)}. Leave them out of --members, or leave out --reuse to train "
            f"every member again.")


def _remove(checkpoints: Sequence[StageCheckpoint | None]) -> None:
    for checkpoint in checkpoints:
        if checkpoint is not None:
            checkpoint.remove()


def _assemble(data: dict[str, tuple[Any, Any]], out_dir: Path, shelf: Path,
              members: list[Member], models: list[keras.Model | None], batch: int,
              selection_key: str = DEFAULT_SELECTION_KEY) -> Release:
    """Rank the trained members on validation, choose the selected ones by greedy selection on
    validation within :data:`SERVED_MAX_PARAMS`, export the point of their accuracy/latency
    frontier (members x test-time views) chosen on validation within the latency budget
    (:mod:`moosic_core.training.frontier`), keep only the selected members' weights in
    ``out_dir`` (the others go to ``shelf``), record the metrics and pass the export through
    the release gate (:mod:`moosic_core.training.release`)."""
    metrics = read_metrics(out_dir)
    previous = served_before(out_dir / TFLITE_NAME, metrics)
    command = (f"moosic train face --reuse --members {','.join(m.spec for m in members)}"
               + ("" if selection_key == DEFAULT_SELECTION_KEY
                  else f" --selection-key {selection_key}"))
    for member, model in zip(members, models, strict=True):
        if _refresh_figures(metrics["members"][member.name], model, data):
            write_metrics(out_dir, metrics)  # at once: a long refresh can be interrupted
    scores = [validation_key(metrics["members"][m.name]["validation"]) for m in members]
    ranked = sorted(range(len(members)), key=lambda i: scores[i], reverse=True)  # stable
    members, models = [members[i] for i in ranked], [models[i] for i in ranked]
    names = [m.name for m in members]
    selection = selection_steps(names, candidate_probs(out_dir, names, models, data), models,
                                [int(metrics["members"][n]["params"]) for n in names], data,
                                SERVED_MAX_PARAMS, selection_key)
    from moosic_core.training.frontier import export_choice  # it builds on this module

    selected = [row["added"] for row in selection]
    chosen_models = {n: m for n, m in zip(names, models, strict=True)
                     if n in selected and m is not None}
    point, _ = export_choice(chosen_models, selected, data, out_dir / TFLITE_NAME)
    _shelve_unserved(out_dir, shelf, names, selected)  # a later frontier needs them all
    result: dict[str, Any] = {
        **point, "candidates": names, "max_params": SERVED_MAX_PARAMS,
        "batch": batch, "label_smoothing": 0.1, "augmentation": AUGMENTATION,
        "train_seconds": sum(int(metrics["members"][m.name]["train_seconds"]) for m in members),
        "n_train": len(data["train"][0]),
        "selection": selection, "selection_key": selection_key,
        "candidate_probs": CANDIDATE_PROBS_NAME,
        "view_choice": view_choice(list(metrics["members"].values())),
        "environment": _environment(),
    }
    outcome = release(out_dir, out_dir / TFLITE_NAME, metrics, result, data["test"], previous,
                      command, lambda kept: _shelve_unserved(out_dir, shelf, names, kept))
    write_metrics(out_dir, metrics)
    return outcome


def _shelve_unserved(out_dir: Path, shelf: Path, candidates: list[str], served: list[str]
                     ) -> None:
    """Only the served members' weights stay in ``out_dir`` (``models/`` stays small); the
    other candidates' move to ``shelf`` (git-ignored), where ``--reuse`` still finds them."""
    for name in candidates:
        in_models, on_shelf = member_weights_path(out_dir, name), shelf / f"{name}.npz"
        if name in served and not in_models.exists() and on_shelf.exists():
            on_shelf.replace(in_models)
        elif name not in served and in_models.exists():
            shelf.mkdir(parents=True, exist_ok=True)
            in_models.replace(on_shelf)



COMPARE_ORDER = ("mobilenet_v2_style", "vgg16_style", "inception_v3_style", "compact")


def compare_architectures(fer_dir: Path, out_dir: Path, epochs: int = 5, batch: int = 128,
                          lr: float = 2e-3, seed: int = 7, n_train: int | None = None,
                          archs: tuple[str, ...] = COMPARE_ORDER) -> dict[str, Any]:
    """Train each architecture for ``epochs`` epochs (same data, augmentation, schedule) and
    record train/test accuracy, parameters, training time and LiteRT latency. ``n_train``
    limits training to a fixed random subset of ``train/`` (CPU budget)."""
    data = _load_all(fer_dir)
    if n_train is not None and n_train < len(data["train"][0]):
        x, y = data["train"]
        idx = np.random.default_rng(seed).permutation(len(x))[:n_train]
        data["train"] = (x[idx], y[idx])
    rows: dict[str, Any] = {}
    for arch in archs:
        model, state = _fit(arch, data, epochs, batch, lr, seed)
        _, latency = _export_latency_ms(model)
        rows[arch] = {
            "params": int(model.count_params()), "epochs": epochs,
            "n_train": len(data["train"][0]),
            "train_seconds": round(state.seconds),
            "train_subset": rounded(evaluate(model, *_train_subset(data))),
            "test": rounded(evaluate(model, *data["test"])),
            "latency_ms_litert_1face": round(latency, 3),
            "view_sides": list(SERVED_VIEW_SIDES),
        }
        log.info("compare %s %s", arch, rows[arch])
        metrics = read_metrics(out_dir)
        metrics.setdefault("comparison", {})[arch] = rows[arch]
        metrics["comparison_environment"] = _environment()
        write_metrics(out_dir, metrics)
    return rows
