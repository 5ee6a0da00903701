"""Face mood speed: ours (decode + detect + align + LiteRT) against the `fer` package, side by side.

The detector path (decode + BlazeFace + upright 48 px crops, no mood model) is timed on its own so
that its figures stay meaningful whatever mood model is served; the model is timed alone per face.

Run alone with ``python -m benchmarks.face_bench`` (writes ``models/face/bench.json``, which the
model card quotes) or from ``python -m benchmarks``. The photos are ``skimage.data.astronaut()``
resized to 640x480 and 4000x3000 and encoded as JPEG in memory. ``fer`` (``pip install
--no-deps fer``, the ``bench`` extra) is timed the way its README uses it: decode the photo, then
``FER().detect_emotions(image)`` (Haar cascade on the full image + its quantised mini-Xception).
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from benchmarks.timing import cpu_description
from moosic_core.config import load_config
from moosic_core.mood.align import aligned_crop
from moosic_core.mood.image import decode_image
from moosic_core.mood.model import MoodModel
from moosic_core.mood.reader import FaceMoodReader, model_path
from moosic_core.timing import median_ms

log = logging.getLogger(__name__)


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    return median_ms(fn, runs, warmup=2)


def _selfie(width: int, height: int) -> bytes:
    from skimage import data

    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _detector_path(reader: FaceMoodReader, data: bytes) -> np.ndarray:
    """Everything ``reader.read`` does except the mood model: the crops it would be given."""
    image = decode_image(data)
    faces = reader.detector.detect(image.grey, image.scale)
    return np.stack([aligned_crop(image.grey, f) for f in faces])


def _threaded_ms_per_call(fn: Callable[[], object], threads: int, calls: int) -> float:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: fn(), range(threads * 2)))
        t = time.perf_counter()
        list(pool.map(lambda _: fn(), range(calls)))
    return round((time.perf_counter() - t) * 1000.0 / calls, 3)


class _LockedModel:
    """The alternative design: one shared interpreter behind a lock."""

    def __init__(self, model: MoodModel) -> None:
        self.model, self.lock = model, threading.Lock()

    def predict(self, faces: np.ndarray) -> np.ndarray:
        with self.lock:
            return self.model.predict(faces)


def _fer_results(photos: dict[str, bytes]) -> tuple[dict[str, float], str]:
    try:
        from fer.fer import FER  # the `bench` extra, installed with --no-deps
    except Exception as exc:  # not installed, or its TensorFlow import failed
        return {}, f"fer not timed: {type(exc).__name__}: {exc}"
    detector = FER()

    def run(data: bytes) -> object:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return detector.detect_emotions(image)

    out: dict[str, float] = {}
    for name, data in photos.items():
        found = run(data)
        if not found:
            return out, f"fer found no face on the {name} photo"
        out[f"fer: decode + FER().detect_emotions, {name}"] = _median_ms(
            lambda d=data: run(d), runs=7 if "4000" in name else 21)  # type: ignore[misc]
    return out, ""


def main() -> dict[str, Any]:
    """Time everything; print a table; return the numbers."""
    config = load_config()
    reader = FaceMoodReader(model_path(config.paths.models_dir))
    photos = {"640x480": _selfie(640, 480), "4000x3000": _selfie(4000, 3000)}
    results: dict[str, float] = {}
    for name, data in photos.items():
        results[f"ours: decode + detect + align + mood, {name}"] = _median_ms(
            lambda d=data: reader.read(d), runs=7 if "4000" in name else 21)  # type: ignore[misc]
    for name, data in photos.items():
        results[f"ours: detector path alone (decode + detect + align), {name}"] = _median_ms(
            lambda d=data: _detector_path(reader, d),  # type: ignore[misc]
            runs=7 if "4000" in name else 21)
    face = np.random.default_rng(0).integers(0, 256, (1, 48, 48), dtype=np.uint8)
    results["ours: mood model alone, 1 face (LiteRT, all test-time views)"] = _median_ms(
        lambda: reader.model.predict(face), runs=301)
    locked = _LockedModel(MoodModel(reader.model.path))
    results["ours: model, 2 threads, interpreter per thread (ms/call)"] = _threaded_ms_per_call(
        lambda: reader.model.predict(face), threads=2, calls=2000)
    results["ours: model, 2 threads, one interpreter + lock (ms/call)"] = _threaded_ms_per_call(
        lambda: locked.predict(face), threads=2, calls=2000)
    small = photos["640x480"]
    results["ours: 640x480 photo, 2-thread pool (ms/photo)"] = _threaded_ms_per_call(
        lambda: reader.read(small), threads=2, calls=60)
    fer_times, note = _fer_results(photos)
    results.update(fer_times)
    ratios = {}
    for name in photos:
        fer_ms = fer_times.get(f"fer: decode + FER().detect_emotions, {name}")
        ours = results[f"ours: decode + detect + align + mood, {name}"]
        if fer_ms:
            ratios[name] = round(fer_ms / ours, 1)
            path = results[f"ours: detector path alone (decode + detect + align), {name}"]
            ratios[f"{name}, detector path alone"] = round(fer_ms / path, 1)
    width = max(len(k) for k in results)
    print(f"{'task':<{width}}  median ms")
    for key, value in results.items():
        print(f"{key:<{width}}  {value:9.2f}")
    for name, ratio in ratios.items():
        print(f"fer / ours on {name}: {ratio}x")
    if note:
        print(note)
    notes = (f"Medians; {os.cpu_count()} CPU cores, {cpu_description()}; ratio fer/ours: "
             + ", ".join(f"{k} {v}x" for k, v in ratios.items()) + (f". {note}" if note else ""))
    return {"results_ms": results, "fer_over_ours": ratios, "notes": notes}


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    summary = main()
    out = Path(load_config().paths.models_dir) / "face" / "bench.json"
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"written {out}", file=sys.stderr)
