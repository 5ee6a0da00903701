"""How a face model is scored: the test-time views it is averaged over and the metrics of its
probabilities (happy-vs-sad accuracy and ROC AUC, 7-class accuracy).

The views are Keras ops, so the same code runs inside the exported LiteRT graph
(:func:`served_function`) and in training-time evaluation (:func:`predict_tta`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
from keras import ops

from moosic_core.mood.fer import FACE_SIZE, happy_sad_metrics


def model_input(x: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(n, 48, 48) uint8 -> (n, 48, 48, 1) float32, the models' input."""
    return x[..., None].astype(np.float32)


# Test-time views: the side (input pixels) of the centred square resized to the 48 px input:
# the face as framed, zoomed in to its central 44 px and zoomed out over a 2 px mirrored border;
# each view also mirrored. Every member is scored and selected over all of them: over every
# trained member, these six views read happy-vs-sad and the 7 classes better on validation than
# the face and its mirror alone (``model.view_choice`` in metrics.json). The served model
# averages over the views its frontier point chose (moosic_core.training.frontier).
SERVED_VIEW_SIDES = (48, 44, 52)
FLIP_ONLY = (48,)  # the face and its mirror: how epochs are compared during training (cheaper)


@dataclass(frozen=True)
class ViewSet:
    """The test-time views a model is averaged over: the centred squares of ``sides`` (see
    :func:`tta_views`), each with its mirror image when ``mirror``."""

    sides: tuple[int, ...]
    mirror: bool = True

    @property
    def count(self) -> int:
        """Views per face: the network runs this many times per face."""
        return len(self.sides) * (2 if self.mirror else 1)

    def record(self) -> dict[str, object]:
        """As metrics.json records it (``view_sides``, ``view_mirror``)."""
        return {"view_sides": list(self.sides), "view_mirror": self.mirror}

    @classmethod
    def of(cls, record: dict[str, object]) -> ViewSet:
        """The views of a metrics.json record (before ``view_mirror`` was recorded, every view
        had its mirror image)."""
        sides = record.get("view_sides", list(FLIP_ONLY))
        assert isinstance(sides, list)
        return cls(tuple(int(s) for s in sides), bool(record.get("view_mirror", True)))


def tta_views(faces: Any, sides: Sequence[int] = SERVED_VIEW_SIDES, mirror: bool = True
              ) -> list[Any]:
    """The test-time views of ``(n, 48, 48, 1)`` faces, in Keras ops (so they run inside the
    exported graph): for each side, the centred square of that side resized (bilinear) back to
    48 px, zoomed out ones padded by mirroring the border; then (``mirror``) its mirror image.
    ``len(sides) * (2 if mirror else 1)`` views."""
    views = []
    for side in sides:
        margin = abs(FACE_SIZE - side) // 2
        if side < FACE_SIZE:
            view = ops.image.resize(faces[:, margin:margin + side, margin:margin + side, :],
                                    (FACE_SIZE, FACE_SIZE), interpolation="bilinear")
        elif side > FACE_SIZE:
            border = [[0, 0], [margin, margin], [margin, margin], [0, 0]]
            view = ops.image.resize(ops.pad(faces, border, mode="reflect"),
                                    (FACE_SIZE, FACE_SIZE), interpolation="bilinear")
        else:
            view = faces
        views += [view, ops.flip(view, axis=2)] if mirror else [view]
    return views


def served_function(model: keras.Model, sides: Sequence[int] = SERVED_VIEW_SIDES,
                    mirror: bool = True) -> Callable[[Any], Any]:
    """The served function: mean of the model's probabilities over the test-time views (one
    view: the model's own probabilities)."""

    def serve(faces: Any) -> Any:
        probs = [model(view, training=False) for view in tta_views(faces, sides, mirror)]
        if len(probs) == 1:
            return probs[0]
        return ops.mean(ops.stack(probs), axis=0)

    return serve


def predict_tta(model: keras.Model, x: npt.NDArray[np.uint8], batch: int = 512,
                sides: Sequence[int] = SERVED_VIEW_SIDES, mirror: bool = True
                ) -> npt.NDArray[np.float32]:
    """7-class probabilities (n, 7) for grey (n, 48, 48) uint8 faces averaged over the test-time
    views, with Keras (what the served graph computes)."""
    return np.mean(predict_views(model, x, batch, sides, mirror), axis=0, dtype=np.float32)


def predict_views(model: keras.Model, x: npt.NDArray[np.uint8], batch: int = 512,
                  sides: Sequence[int] = SERVED_VIEW_SIDES, mirror: bool = True
                  ) -> list[npt.NDArray[np.float32]]:
    """The model's 7-class probabilities (n, 7) on each test-time view of grey (n, 48, 48)
    uint8 faces, in :func:`tta_views`' order (side by side, the mirror image after each)."""
    return [np.asarray(model.predict(ops.convert_to_numpy(view), batch_size=batch, verbose=0),
                       np.float32)
            for view in tta_views(model_input(x), sides, mirror)]


def evaluate(model: keras.Model, x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64],
             sides: Sequence[int] = SERVED_VIEW_SIDES, mirror: bool = True) -> dict[str, float]:
    """7-class accuracy and happy-vs-sad metrics over the test-time views."""
    return probability_metrics(predict_tta(model, x, sides=sides, mirror=mirror), y)


def probability_metrics(probs: npt.NDArray[np.float32], y: npt.NDArray[np.int64]
                        ) -> dict[str, float]:
    """7-class accuracy and the happy-vs-sad metrics of 7-class probabilities."""
    out = {"accuracy_7class": float(np.mean(probs.argmax(1) == y))}
    out.update(happy_sad_metrics(probs, y))
    return out


def validation_key(scores: dict[str, float]) -> tuple[float, float]:
    """How members and ensembles are ranked: happy-vs-sad accuracy, then 7-class accuracy."""
    return scores["happy_sad_accuracy"], scores["accuracy_7class"]


def rounded(m: dict[str, float]) -> dict[str, float]:
    """Metrics rounded to 4 digits for metrics.json."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}
