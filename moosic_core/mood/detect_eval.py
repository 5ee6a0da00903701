"""Measure the face detector and the whole photo pipeline (needs scikit-image, a dev extra).

- Recall: FER-2013 test faces (real faces, 48 px) enlarged to 96-288 px and pasted at a random
  place on a 640x480 textured canvas, and ``skimage.data.astronaut()`` at several sizes.
- False detections: face-free pictures shipped with scikit-image plus synthetic textures.
- Crop calibration: where Haar's box falls on a FER-2013 face, which sets the crop margin that
  reproduces FER-2013's framing from a box on a real photo.
- Pipeline: happy-vs-sad accuracy of detect -> crop -> model on those canvases.
- Time: detection on 640x480 and 4000x3000 JPEGs of the astronaut.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from moosic_core.mood.detect import Box, FaceDetector
from moosic_core.mood.emotions import HAPPY, SAD, mood_scores
from moosic_core.mood.fer import load_split
from moosic_core.mood.image import decode_image
from moosic_core.mood.reader import FaceMoodReader, crop_face
from moosic_core.timing import median_ms

FACE_FREE = ("coins", "moon", "page", "horse", "coffee", "chelsea", "rocket", "brick", "grass",
             "gravel", "text", "checkerboard", "clock", "hubble_deep_field",
             "immunohistochemistry", "logo", "colorwheel", "cell", "retina", "microaneurysms",
             "binary_blobs", "shepp_logan_phantom")
DETECTOR_METRICS = "detector_metrics.json"


def _texture(rng: np.random.Generator, h: int = 480, w: int = 640) -> npt.NDArray[np.uint8]:
    """A smooth random background (blurred noise plus a gradient)."""
    noise = rng.normal(0, 1, (h // 16, w // 16)).astype(np.float32)
    base = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    grad = np.linspace(-1, 1, w, dtype=np.float32)[None, :] * rng.uniform(-1, 1)
    img = 128 + 35 * base + 40 * grad + rng.normal(0, 6, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


def place_face(face: npt.NDArray[np.uint8], canvas: npt.NDArray[np.uint8], size: int,
               rng: np.random.Generator) -> tuple[npt.NDArray[np.uint8], Box]:
    """Paste an enlarged face on the canvas at a random place; returns image and its frame."""
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    h, w = canvas.shape
    x = int(rng.integers(0, w - size))
    y = int(rng.integers(0, h - size))
    out = canvas.copy()
    out[y:y + size, x:x + size] = big
    return out, (x, y, size, size)


def _as_grey_uint8(img: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Any scikit-image sample (bool, float, RGB(A)) as grey uint8."""
    work = img.astype(np.float64)
    if work.ndim == 3:
        work = work[..., :3] @ np.array([0.299, 0.587, 0.114])
    span = max(float(work.max() - work.min()), 1e-9)
    return np.asarray(255 * (work - work.min()) / span, dtype=np.uint8)


def _overlaps(box: Box, frame: Box) -> bool:
    """Detection matches the face: its centre lies inside the face frame and sizes agree."""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    inside = frame[0] <= cx <= frame[0] + frame[2] and frame[1] <= cy <= frame[1] + frame[3]
    return inside and 0.4 <= box[2] / frame[2] <= 1.6


def _jpeg(img: npt.NDArray[np.uint8], quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def astronaut_jpeg(width: int, height: int) -> bytes:
    """skimage's astronaut (a real smiling face) resized to width x height, as JPEG."""
    from skimage import data

    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    return _jpeg(img)


def _median_ms(fn: Any, runs: int) -> float:
    return median_ms(fn, runs, warmup=1)


def measure_detector(fer_dir: Path, model_file: Path | None = None, n_faces: int = 500,
                     seed: int = 0) -> dict[str, Any]:
    """Recall, false detections, crop calibration, pipeline accuracy and timings."""
    from skimage import data

    rng = np.random.default_rng(seed)
    det = FaceDetector()
    x, y = load_split(fer_dir, "test")
    idx = rng.choice(len(x), size=min(n_faces, len(x)), replace=False)
    hits, ratios, shifts = 0, [], []
    for i in idx:
        size = int(rng.integers(96, 289))
        img, frame = place_face(x[i], _texture(rng), size, rng)
        boxes = [b for b in det.detect(img) if _overlaps(b, frame)]
        if boxes:
            hits += 1
            b = boxes[0]
            ratios.append(frame[2] / b[2])
            shifts.append(((frame[1] + frame[3] / 2) - (b[1] + b[3] / 2)) / b[3])
    astro = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    astro_found = {}
    for width in (160, 320, 640, 1280, 2560):
        img = cv2.resize(astro, (width, width))
        astro_found[str(width)] = len(det.detect(img))
    false_real = {}
    for name in FACE_FREE:
        false_real[name] = len(det.detect(_as_grey_uint8(np.asarray(getattr(data, name)()))))
    synthetic = [len(det.detect(_texture(rng))) for _ in range(50)]
    small_jpeg, large_jpeg = astronaut_jpeg(640, 480), astronaut_jpeg(4000, 3000)
    small_grey = decode_image(small_jpeg).grey
    large_full = np.asarray(Image.open(io.BytesIO(large_jpeg)).convert("L"))
    full_cascade = cv2.CascadeClassifier(str(det.cascade_path))
    result: dict[str, Any] = {
        "fer_faces_on_canvas": len(idx),
        "recall_fer_faces": round(hits / len(idx), 4),
        "astronaut_faces_found_by_width": astro_found,
        "false_detections_face_free_images": sum(false_real.values()),
        "face_free_images": len(false_real),
        "face_free_images_with_a_detection": sum(1 for v in false_real.values() if v),
        "false_detections_by_image": {k: v for k, v in false_real.items() if v},
        "false_detections_synthetic": int(sum(synthetic)),
        "synthetic_images": len(synthetic),
        "crop_margin_measured": round(float(np.median(ratios)), 3) if ratios else None,
        "crop_shift_y_measured": round(float(np.median(shifts)), 3) if shifts else None,
        "ms_detect_640x480": _median_ms(lambda: det.detect(small_grey), 20),
        "ms_decode_detect_640x480": _median_ms(lambda: det.detect(
            decode_image(small_jpeg).grey), 20),
        "ms_decode_detect_4000x3000": _median_ms(lambda: det.detect(
            decode_image(large_jpeg).grey), 5),
        "ms_haar_full_size_4000x3000_no_downscale": _median_ms(
            lambda: full_cascade.detectMultiScale(large_full, 1.1, 5, minSize=(24, 24)), 1),
    }
    if model_file is not None and Path(model_file).exists():
        result.update(_pipeline_accuracy(FaceMoodReader(model_file), x, y, rng))
    return result


def _pipeline_accuracy(reader: FaceMoodReader, x: npt.NDArray[np.uint8],
                       y: npt.NDArray[np.int64], rng: np.random.Generator) -> dict[str, Any]:
    """Happy-vs-sad accuracy of the whole path (detect, crop, model) on FER faces placed in
    640x480 canvases, against the model on the original 48 px crops of the same faces."""
    idx = np.flatnonzero((y == HAPPY) | (y == SAD))
    found, correct_pipe, correct_direct = 0, 0, 0
    for i in idx:
        size = int(rng.integers(96, 289))
        img, frame = place_face(x[i], _texture(rng), size, rng)
        boxes = [b for b in reader.detector.detect(img) if _overlaps(b, frame)]
        if not boxes:
            continue
        found += 1
        probs = reader.model.predict(np.stack([crop_face(img, boxes[0]), x[i]]))
        pipe, direct = mood_scores(probs)
        truth = y[i] == HAPPY
        correct_pipe += int((pipe > 0.5) == truth)
        correct_direct += int((direct > 0.5) == truth)
    return {
        "pipeline_happy_sad_images": len(idx),
        "pipeline_faces_found": found,
        "pipeline_happy_sad_accuracy_on_found": round(correct_pipe / max(found, 1), 4),
        "direct_happy_sad_accuracy_same_faces": round(correct_direct / max(found, 1), 4),
    }


def save_detector_metrics(out_dir: Path, result: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / DETECTOR_METRICS).write_text(json.dumps(result, indent=2) + "\n")
