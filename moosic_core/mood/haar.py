"""The Haar-cascade face detector served until BlazeFace replaced it (``moosic_core.mood.detect``);
kept as the baseline that ``moosic eval face-detector`` compares against. Weights ship in
``opencv-python-headless`` 4.x.

The photo is first shrunk to ``detect_width`` pixels wide (Haar's cost grows with the pixel
count: ~13 ms at 320 px against 120-200 ms for a full-size photo). When that finds nothing,
a second pass at ``fine_width`` px (enlarging small photos) looks for smaller faces, so that
a face too small to read is reported as such rather than as "no face"; it uses OpenCV's
``alt`` cascade, which makes far fewer false detections than the default one at that size.
Boxes are returned in the decoded image's pixels, largest first. A detector instance is
safe to share between threads (one pair of cascades per thread).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

CASCADE = "haarcascade_frontalface_default.xml"
FINE_CASCADE = "haarcascade_frontalface_alt.xml"

Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class HaarSettings:
    detect_width: int = 320
    fine_width: int = 960
    scale_factor: float = 1.1
    min_neighbors: int = 8
    fine_min_neighbors: int = 6
    min_size: int = 24  # pixels at the detection scale (the cascade's window)


class HaarDetector:
    """Haar-cascade frontal face detector working on a downscaled copy."""

    def __init__(self, settings: HaarSettings | None = None,
                 cascade_dir: Path | None = None) -> None:
        self.settings = settings or HaarSettings()
        base = Path(cascade_dir or cv2.data.haarcascades)  # type: ignore[attr-defined]
        self.cascade_path, self.fine_cascade_path = base / CASCADE, base / FINE_CASCADE
        for path in (self.cascade_path, self.fine_cascade_path):
            if not path.exists():
                raise FileNotFoundError(f"Haar cascade not found: {path}")
        self._local = threading.local()
        self._cascades()

    def _cascades(self) -> tuple[cv2.CascadeClassifier, cv2.CascadeClassifier]:
        pair: tuple[cv2.CascadeClassifier, cv2.CascadeClassifier] | None = getattr(
            self._local, "cascades", None)
        if pair is None:
            pair = (cv2.CascadeClassifier(str(self.cascade_path)),
                    cv2.CascadeClassifier(str(self.fine_cascade_path)))
            if pair[0].empty() or pair[1].empty():
                raise RuntimeError(f"could not load Haar cascades from {self.cascade_path.parent}")
            self._local.cascades = pair
        return pair

    def detect(self, grey: npt.NDArray[np.uint8]) -> list[Box]:
        """Faces in a grey image as (x, y, w, h) in its own pixels, largest first."""
        s = self.settings
        boxes = self._detect_at(grey, s.detect_width)
        if not boxes:
            boxes = self._detect_at(grey, s.fine_width, fine=True)
        return _suppress_nested(sorted(boxes, key=lambda b: (-b[2] * b[3], b[0], b[1])))

    def _detect_at(self, grey: npt.NDArray[np.uint8], width: int, fine: bool = False
                   ) -> list[Box]:
        s = self.settings
        h, w = grey.shape
        ratio = width / w
        small: npt.NDArray[np.uint8] = grey
        if ratio != 1.0:
            interp = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
            small = np.asarray(cv2.resize(grey, (width, max(1, round(h * ratio))),
                                          interpolation=interp), dtype=np.uint8)
        small = np.asarray(cv2.equalizeHist(small), dtype=np.uint8)
        cascade = self._cascades()[1 if fine else 0]
        found = cascade.detectMultiScale(
            small, scaleFactor=s.scale_factor,
            minNeighbors=s.fine_min_neighbors if fine else s.min_neighbors,
            minSize=(s.min_size, s.min_size))
        out: list[Box] = []
        for x, y, bw, bh in np.asarray(found).reshape(-1, 4):
            out.append((round(x / ratio), round(y / ratio), round(bw / ratio), round(bh / ratio)))
        return out


def _suppress_nested(boxes: list[Box], overlap: float = 0.5) -> list[Box]:
    """Drop a box when more than ``overlap`` of it lies inside a larger box already kept
    (Haar sometimes reports a face and a part of it). ``boxes`` must be largest first."""
    kept: list[Box] = []
    for b in boxes:
        area = b[2] * b[3]
        if all(_intersection(b, k) <= overlap * area for k in kept):
            kept.append(b)
    return kept


def _intersection(a: Box, b: Box) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)
