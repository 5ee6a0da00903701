"""Train the face mood model on FER-2013 and export it to LiteRT (the only TensorFlow user).

``train_face`` trains each member of the ensemble (see :mod:`moosic_core.training.members`) on
``train/`` (all 7 classes, augmented), selects each stage's epoch by happy-versus-sad accuracy on
``validation/`` (PublicTest), reports ``test/`` (PrivateTest), and writes ``models/face/``:
``mood.tflite`` (the mean of the members' probabilities, int8 weights, test-time
horizontal-flip averaging built in), ``members/<name>.npz`` (each member's Keras weights, used by
the tests to check the served scores and by ``--reuse``) and ``metrics.json``.
``compare_architectures`` trains the comparison networks briefly and adds their rows.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")  # oneDNN 1x1 stride-2 conv crash (DESIGN)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from moosic_core.mood.emotions import EMOTIONS, HAPPY, SAD
from moosic_core.mood.fer import happy_sad_metrics, load_split
from moosic_core.training.checkpoint import (
    SaveEachEpoch,
    StageCheckpoint,
    StageState,
    TimeBudget,
    TrainingPaused,
)
from moosic_core.training.face_models import ARCHITECTURES
from moosic_core.training.members import Member

log = logging.getLogger(__name__)

TFLITE_NAME = "mood.tflite"
MEMBERS_DIR = "members"  # one float16 Keras weights file per ensemble member
# int8 weights (dynamic range): same validation/test accuracy as float16 here, smaller and faster
SERVED_WEIGHTS = "int8"
METRICS_NAME = "metrics.json"
TRAIN_SUBSET = 6000  # train accuracy is measured on this many fixed random training images

AUGMENTATION = {
    "horizontal_flip": True,
    "translation": 0.1,
    "rotation_deg": 12,
    "zoom": 0.1,
    "brightness": 0.25,
    "contrast": 0.3,
}


def _augmenter(seed: int) -> keras.Sequential:
    a = AUGMENTATION
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(a["translation"], a["translation"], fill_mode="reflect",
                                       seed=seed + 1),
        keras.layers.RandomRotation(float(a["rotation_deg"]) / 360.0, fill_mode="reflect",
                                    seed=seed + 2),
        keras.layers.RandomZoom(a["zoom"], a["zoom"], fill_mode="reflect", seed=seed + 3),
        keras.layers.RandomBrightness(a["brightness"], value_range=(0.0, 255.0), seed=seed + 4),
        keras.layers.RandomContrast(a["contrast"], value_range=(0.0, 255.0), seed=seed + 5),
    ], name="augment")


def _dataset(x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64], batch: int, seed: int,
             n_classes: int, smoothing: float) -> tf.data.Dataset:
    aug = _augmenter(seed)

    def prep(xb: tf.Tensor, yb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        xb = aug(tf.cast(xb, tf.float32)[..., None], training=True)
        xb = tf.clip_by_value(xb, 0.0, 255.0)
        onehot = tf.one_hot(yb, n_classes)
        return xb, onehot * (1.0 - smoothing) + smoothing / n_classes

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed,
                                                             reshuffle_each_iteration=True)
    return ds.batch(batch, drop_remainder=True).map(prep, num_parallel_calls=tf.data.AUTOTUNE
                                                    ).prefetch(2)


def happy_sad_pair_loss(pair_weight: float) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """Cross-entropy over the 7 classes plus ``pair_weight`` times the binary cross-entropy of
    ``P(happy) / (P(happy) + P(sad))`` on the happy and sad faces of the batch.

    The second term trains exactly the decision the bot serves (happy versus sad) without
    giving up the 7 emotion probabilities; it is zero on faces of the other five classes."""
    cross_entropy = keras.losses.CategoricalCrossentropy(reduction="none")

    def loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        base = cross_entropy(y_true, y_pred)
        is_happy = tf.cast(y_true[:, HAPPY] > 0.5, tf.float32)
        is_pair = tf.cast((y_true[:, HAPPY] > 0.5) | (y_true[:, SAD] > 0.5), tf.float32)
        p_happy = y_pred[:, HAPPY] / (y_pred[:, HAPPY] + y_pred[:, SAD] + 1e-7)
        p_happy = tf.clip_by_value(p_happy, 1e-6, 1.0 - 1e-6)
        binary = -(is_happy * tf.math.log(p_happy) + (1.0 - is_happy) * tf.math.log(1.0 - p_happy))
        return tf.reduce_mean(base + pair_weight * is_pair * binary)

    return loss


def flip_tta(model: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """The served function: mean of the model's probabilities on the face and its mirror."""

    def serve(faces: tf.Tensor) -> tf.Tensor:
        return (model(faces, training=False)
                + model(tf.reverse(faces, axis=[2]), training=False)) / 2.0

    return serve


def predict_tta(model: keras.Model, x: npt.NDArray[np.uint8], batch: int = 512
                ) -> npt.NDArray[np.float32]:
    """Flip-averaged 7-class probabilities for grey 48x48 uint8 faces, with Keras."""
    fn = tf.function(flip_tta(model))
    out = [fn(tf.constant(x[i:i + batch, :, :, None], tf.float32)).numpy()
           for i in range(0, len(x), batch)]
    return np.concatenate(out).astype(np.float32)


def evaluate(model: keras.Model, x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64]
             ) -> dict[str, float]:
    """7-class accuracy and happy-vs-sad metrics (flip-averaged)."""
    return _probability_metrics(predict_tta(model, x), y)


def _probability_metrics(probs: npt.NDArray[np.float32], y: npt.NDArray[np.int64]
                         ) -> dict[str, float]:
    out = {"accuracy_7class": float(np.mean(probs.argmax(1) == y))}
    out.update(happy_sad_metrics(probs, y))
    return out


def _by_size(models: list[keras.Model], data: dict[str, tuple[Any, Any]]) -> list[dict[str, Any]]:
    """Validation and test metrics of the mean of the first k members, for every k."""
    probs = {split: [predict_tta(m, data[split][0]) for m in models]
             for split in ("validation", "test")}
    return [{"members": k, **{split: _rounded(_probability_metrics(
                np.mean(probs[split][:k], axis=0), data[split][1])) for split in probs}}
            for k in range(1, len(models) + 1)]


class _SelectByValidation(keras.callbacks.Callback):
    """Evaluates on validation after each epoch; records the history and keeps the weights of
    the best epoch (happy-vs-sad accuracy, ties broken by 7-class accuracy) in ``state``."""

    def __init__(self, x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64],
                 state: StageState) -> None:
        super().__init__()
        self.x, self.y, self.state = x, y, state
        self.t0, self.seconds_before = time.monotonic(), state.seconds

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        m = evaluate(self.model, self.x, self.y)
        row = {"epoch": epoch + 1, "train_loss": float((logs or {}).get("loss", float("nan"))),
               "val_accuracy_7class": m["accuracy_7class"],
               "val_happy_sad_accuracy": m["happy_sad_accuracy"],
               "elapsed_s": round(self.seconds_before + time.monotonic() - self.t0, 1)}
        self.state.history.append(row)
        log.info("epoch %s", row)
        key = _validation_key(m)
        if key > self.state.best:
            self.state.best, self.state.best_epoch = key, epoch + 1
            self.state.best_weights = self.model.get_weights()


def _fit(arch: str, data: dict[str, tuple[Any, Any]], epochs: int, batch: int, lr: float,
         seed: int, smoothing: float = 0.1, weights: list[Any] | None = None,
         pair_weight: float = 0.0, checkpoint: StageCheckpoint | None = None,
         budget: TimeBudget | None = None) -> tuple[keras.Model, StageState]:
    """Train ``arch`` (from ``weights`` when given) with one warm-up epoch to ``lr`` and a
    cosine decay; returns the model at its best validation epoch and the stage's record.

    With a ``checkpoint`` the stage resumes from it and saves after every epoch; when the
    ``budget`` is exhausted it stops and raises :class:`TrainingPaused`."""
    budget = budget or TimeBudget()
    keras.utils.set_random_seed(seed)
    model = ARCHITECTURES[arch]()
    if weights is not None:
        model.set_weights(weights)
    x, y = data["train"]
    steps = len(x) // batch
    schedule = keras.optimizers.schedules.CosineDecay(
        lr * 0.1, decay_steps=steps * max(epochs - 1, 1), warmup_target=lr,
        warmup_steps=steps, alpha=0.01)
    loss = (happy_sad_pair_loss(pair_weight) if pair_weight > 0
            else keras.losses.CategoricalCrossentropy())
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
                  loss=loss, metrics=["accuracy"])
    state = (checkpoint.load(model) if checkpoint is not None else None) or StageState()
    if not state.done:
        if budget.exhausted():
            raise _paused(state, epochs, checkpoint)
        if state.epochs_done:
            log.info("resuming %s after epoch %d of %d", arch, state.epochs_done, epochs)
        select = _SelectByValidation(*data["validation"], state)
        saver = SaveEachEpoch(checkpoint, state, epochs, budget)
        order_seed = seed + state.epochs_done  # a resumed stage draws a new order of batches
        model.fit(_dataset(x, y, batch, order_seed, len(EMOTIONS), smoothing), epochs=epochs,
                  initial_epoch=state.epochs_done, callbacks=[select, saver],
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


def export_tflite(model: keras.Model, path: Path, weights: str = "int8") -> int:
    """Write the flip-averaged model as a LiteRT flatbuffer; returns its size in bytes.

    ``weights``: ``"int8"`` (dynamic-range quantization: int8 weights, float activations; the
    smallest and fastest on CPU), ``"float16"`` or ``"float32"``. Goes through a SavedModel so
    that the converter freezes the weights into constants."""
    if weights not in ("int8", "float16", "float32"):
        raise ValueError(f"unknown weight type {weights!r}")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=flip_tta(model),
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


def build_ensemble(models: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of the members' 7-class probabilities."""
    if len(models) == 1:
        return models[0]
    face = keras.Input(shape=(48, 48, 1), name="face")
    probs = [keras.Model(m.input, m.output, name=f"member{i}")(face)
             for i, m in enumerate(models)]
    return keras.Model(face, keras.layers.Average(name="mean")(probs), name="ensemble")


def member_weights_path(out_dir: Path, name: str) -> Path:
    return out_dir / MEMBERS_DIR / f"{name}.npz"


def load_served_keras(out_dir: Path) -> keras.Model:
    """The Keras ensemble that ``mood.tflite`` in ``out_dir`` was exported from."""
    metrics = _read_metrics(out_dir)
    names = metrics["model"]["members"]
    return build_ensemble([load_model(member_weights_path(out_dir, n),
                                      metrics["members"][n]["arch"]) for n in names])


def _litert_latency_ms(tflite_path: Path, runs: int = 200) -> float:
    from moosic_core.mood.model import MoodModel

    mm = MoodModel(tflite_path)
    face = np.random.default_rng(0).integers(0, 255, (1, 48, 48), dtype=np.uint8)
    for _ in range(10):
        mm.predict(face)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        mm.predict(face)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000.0)


def _read_metrics(out_dir: Path) -> dict[str, Any]:
    path = out_dir / METRICS_NAME
    return json.loads(path.read_text()) if path.exists() else {}


def _write_metrics(out_dir: Path, metrics: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / METRICS_NAME).write_text(json.dumps(metrics, indent=2) + "\n")


def _environment() -> dict[str, Any]:
    return {"tensorflow": tf.__version__, "keras": keras.__version__,
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "gpu": bool(tf.config.list_physical_devices("GPU"))}


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
    return {"train_subset": _rounded(evaluate(model, *_train_subset(data))),
            "validation": _rounded(evaluate(model, *data["validation"])),
            "test_keras": _rounded(evaluate(model, *data["test"]))}


def _train_member(member: Member, data: dict[str, tuple[Any, Any]], batch: int, lr: float,
                  finetune_lr: float, pair_weight: float, checkpoints: list[StageCheckpoint],
                  budget: TimeBudget) -> tuple[keras.Model, dict[str, Any]]:
    """Stage 1 trains from scratch on the 7 classes; stage 2 continues from its weights with a
    new warm-up and cosine cycle and the happy-versus-sad term of :func:`happy_sad_pair_loss`
    (skipped when the member has no fine-tuning epochs). Each stage resumes from and saves to
    its entry of ``checkpoints``."""
    model, state = _fit(member.arch, data, member.epochs, batch, lr, member.seed,
                        checkpoint=checkpoints[0], budget=budget)
    stages = [_stage("from scratch", state, epochs=member.epochs, lr=lr, pair_weight=0.0)]
    if member.finetune_epochs > 0:
        model, state = _fit(member.arch, data, member.finetune_epochs, batch, finetune_lr,
                            member.seed + 1, weights=model.get_weights(),
                            pair_weight=pair_weight, checkpoint=checkpoints[1],
                            budget=budget)
        stages.append(_stage("fine-tuning with the happy-vs-sad term", state,
                             epochs=member.finetune_epochs, lr=finetune_lr,
                             pair_weight=pair_weight))
    size, latency = _export_latency_ms(model)
    entry = {"name": member.name, "arch": member.arch, "seed": member.seed,
             "params": int(model.count_params()),
             "epochs": sum(int(st["epochs"]) for st in stages), "batch": batch,
             "train_seconds": sum(int(st["train_seconds"]) for st in stages),
             "n_train": len(data["train"][0]), "stages": stages, **_scores(model, data),
             "tflite_bytes": size, "latency_ms_litert_1face": round(latency, 3),
             "environment": _environment()}
    return model, entry


def _stage_checkpoints(checkpoint_dir: Path, member: Member, n_train: int, batch: int, lr: float,
                       finetune_lr: float, pair_weight: float) -> list[StageCheckpoint]:
    """The checkpoint files of the member's two stages, bound to their settings."""
    common = {"arch": member.arch, "seed": member.seed, "batch": batch, "n_train": n_train}
    stages = ({"stage": 1, "epochs": member.epochs, "lr": lr, "pair_weight": 0.0},
              {"stage": 2, "epochs": member.finetune_epochs, "lr": finetune_lr,
               "pair_weight": pair_weight, "after": member.epochs})
    return [StageCheckpoint(checkpoint_dir / f"{member.name}-stage{s['stage']}.npz",
                            {**common, **s}) for s in stages]


def _reusable(entry: dict[str, Any] | None, member: Member, weights: Path) -> bool:
    """Whether an earlier run trained exactly this member and left its weights."""
    if entry is None or not weights.exists():
        return False
    epochs = [int(st["epochs"]) for st in entry.get("stages", [])]
    wanted = [member.epochs] + ([member.finetune_epochs] if member.finetune_epochs else [])
    return bool(entry.get("arch") == member.arch and epochs == wanted)


def train_face(fer_dir: Path, out_dir: Path, checkpoint_dir: Path, members: list[Member],
               batch: int = 128, lr: float = 2e-3, finetune_lr: float = 1e-3,
               pair_weight: float = 1.0, reuse: bool = False, deadline: float | None = None
               ) -> dict[str, Any]:
    """Train every member (two stages each, the epoch of each stage chosen on validation), rank
    the members by their validation scores, export the mean of the probabilities of the first
    k as the served model, k chosen on validation, and return its metrics.

    Each finished member's weights and numbers are saved at once, and an unfinished one's state
    after every epoch, so with ``reuse`` a later run keeps the members an earlier (possibly
    interrupted) run finished, resumes the one it was training and trains the rest. Near the
    ``deadline`` (``time.monotonic()``) training stops with :class:`TrainingPaused`.
    The per-epoch state goes to ``checkpoint_dir`` (large; kept out of ``out_dir``)."""
    budget = TimeBudget(deadline)
    data = _load_all(fer_dir)
    models: list[keras.Model] = []
    for member in members:
        weights = member_weights_path(out_dir, member.name)
        entry = _read_metrics(out_dir).get("members", {}).get(member.name)
        if reuse and _reusable(entry, member, weights):
            log.info("reusing member %s", member.name)
            models.append(load_model(weights, member.arch))
            continue
        checkpoints = _stage_checkpoints(checkpoint_dir, member, len(data["train"][0]), batch, lr,
                                         finetune_lr, pair_weight)
        if not reuse:
            for checkpoint in checkpoints:
                checkpoint.remove()
        model, entry = _train_member(member, data, batch, lr, finetune_lr, pair_weight,
                                     checkpoints, budget)
        save_weights(model, weights)
        metrics = _read_metrics(out_dir)
        metrics.setdefault("members", {})[member.name] = entry
        _write_metrics(out_dir, metrics)
        for checkpoint in checkpoints:
            checkpoint.remove()
        models.append(model)
    metrics = _read_metrics(out_dir)
    scores = [_validation_key(metrics["members"][m.name]["validation"]) for m in members]
    ranked = sorted(range(len(members)), key=lambda i: scores[i], reverse=True)  # stable
    members, models = [members[i] for i in ranked], [models[i] for i in ranked]
    by_size = _by_size(models, data)
    size_key = [_validation_key(row["validation"]) for row in by_size]
    served = size_key.index(max(size_key)) + 1  # the smallest of the best on validation
    ensemble = build_ensemble(models[:served])
    size = export_tflite(ensemble, out_dir / TFLITE_NAME, weights=SERVED_WEIGHTS)
    result: dict[str, Any] = {
        "members": [m.name for m in members[:served]],
        "candidates": [m.name for m in members], "params": int(ensemble.count_params()),
        "batch": batch, "label_smoothing": 0.1, "augmentation": AUGMENTATION,
        "train_seconds": sum(int(metrics["members"][m.name]["train_seconds"]) for m in members),
        "n_train": len(data["train"][0]),
        # the ensemble's flip-averaged output is the mean of its members': reuse their scores
        "train_subset": _rounded(evaluate(ensemble, *_train_subset(data))),
        "validation": by_size[served - 1]["validation"], "test_keras": by_size[served - 1]["test"],
        "by_size": by_size,
        "tflite_bytes": size, "tflite_weights": SERVED_WEIGHTS, "latency_ms_litert_1face": round(
            _litert_latency_ms(out_dir / TFLITE_NAME), 3),
        "environment": _environment(),
    }
    metrics["model"] = result
    _write_metrics(out_dir, metrics)
    return result


def _validation_key(scores: dict[str, float]) -> tuple[float, float]:
    """How members and ensembles are ranked: happy-vs-sad accuracy, then 7-class accuracy."""
    return scores["happy_sad_accuracy"], scores["accuracy_7class"]


def _rounded(m: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}


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
            "train_subset": _rounded(evaluate(model, *_train_subset(data))),
            "test": _rounded(evaluate(model, *data["test"])),
            "latency_ms_litert_1face": round(latency, 3),
        }
        log.info("compare %s %s", arch, rows[arch])
        metrics = _read_metrics(out_dir)
        metrics.setdefault("comparison", {})[arch] = rows[arch]
        metrics["comparison_environment"] = _environment()
        _write_metrics(out_dir, metrics)
    return rows
