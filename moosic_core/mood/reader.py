"""Read the mood on the faces of a photo: bytes -> validated image -> faces -> emotions.

``FaceMoodReader.read`` is what the service calls from its thread pool: the model and the
detector are loaded once and each keeps one LiteRT interpreter / Haar cascade per thread. The photo
is only ever held in memory; nothing about it is logged except sizes and timings.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from moosic_core.errors import FaceTooSmall, NoFaceFound
from moosic_core.metrics import StepTimer, no_timer
from moosic_core.mood.detect import Box, DetectorSettings, FaceDetector
from moosic_core.mood.emotions import EMOTIONS, mood_scores, valence_arousal
from moosic_core.mood.image import decode_image
from moosic_core.mood.model import FACE_SIZE, MoodModel
from moosic_core.types import FaceReading, MoodReading

log = logging.getLogger(__name__)

#: Faces narrower than this (in original pixels) are refused: below ~40 px a 48 px crop is an
#: upscaled blur and the expression is not readable.
MIN_FACE_PX = 40
#: FER-2013's framing relative to a Haar box: on FER-2013 faces, the 48 px frame is a median
#: 1.04 box widths wide and centred on the box (vertical offset 0.003 box heights); measured by
#: ``moosic eval face-detector`` (crop_margin_measured, crop_shift_y_measured).
CROP_MARGIN = 1.05
CROP_SHIFT_Y = 0.0


def model_path(models_dir: Path) -> Path:
    """The served artifact's path inside ``models_dir``."""
    return Path(models_dir) / "face" / "mood.tflite"


def crop_face(grey: npt.NDArray[np.uint8], box: Box, margin: float = CROP_MARGIN,
              shift_y: float = CROP_SHIFT_Y) -> npt.NDArray[np.uint8]:
    """A 48x48 histogram-equalised square crop around ``box`` (edges replicated outside)."""
    x, y, w, h = box
    side = max(w, h) * margin
    cx, cy = x + w / 2.0, y + h / 2.0 + shift_y * h
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    x1, y1 = x0 + round(side), y0 + round(side)
    pad = max(0, -x0, -y0, x1 - grey.shape[1], y1 - grey.shape[0])
    src = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else grey
    patch = src[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    interp = cv2.INTER_AREA if patch.shape[0] > FACE_SIZE else cv2.INTER_LINEAR
    face = cv2.resize(patch, (FACE_SIZE, FACE_SIZE), interpolation=interp)
    return np.asarray(cv2.equalizeHist(face), dtype=np.uint8)  # FER-2013 is equalised


class FaceMoodReader:
    """Finds faces in a photo and reads their emotions with the LiteRT mood model."""

    def __init__(self, model_file: Path, detector: FaceDetector | None = None,
                 min_face_px: int = MIN_FACE_PX) -> None:
        self.model = MoodModel(model_file)
        self.detector = detector or FaceDetector(DetectorSettings())
        self.min_face_px = min_face_px

    def read(self, image_bytes: bytes, timer: StepTimer = no_timer) -> list[FaceReading]:
        """Every readable face, largest first. Raises ImageRejected (and subclasses),
        NoFaceFound, or FaceTooSmall when faces were found but none is big enough.

        ``timer`` measures the steps ``decode``, ``detect`` and ``mood`` (the service passes
        :meth:`moosic_core.metrics.Metrics.time`)."""
        with timer("decode"):
            image = decode_image(image_bytes)
        with timer("detect"):
            boxes = self.detector.detect(image.grey)
        if not boxes:
            raise NoFaceFound()
        scale = image.scale
        readable = [b for b in boxes if b[2] * scale >= self.min_face_px]
        if not readable:
            raise FaceTooSmall(detail=f"largest face {round(boxes[0][2] * scale)} px wide")
        with timer("mood"):
            faces = np.stack([crop_face(image.grey, b) for b in readable])
            probs = self.model.predict(faces)
        return self.readings(probs, [_to_original(b, scale, image.original_size)
                                     for b in readable])

    @staticmethod
    def readings(probs: npt.NDArray[np.float32], boxes: list[Box]) -> list[FaceReading]:
        """FaceReadings from model probabilities and original-pixel boxes."""
        moods = mood_scores(probs)
        va = valence_arousal(probs)
        return [
            FaceReading(box=box, mood_score=round(float(m), 4),
                        emotions={e: round(float(p), 4) for e, p in zip(EMOTIONS, row,
                                                                        strict=True)},
                        valence=round(float(v), 4), arousal=round(float(a), 4))
            for box, m, row, (v, a) in zip(boxes, moods, probs, va, strict=True)
        ]

    def read_mood(self, image_bytes: bytes) -> MoodReading:
        """The mood of the largest face (the recommender's input), with every face attached."""
        return mood_reading(self.read(image_bytes))


def mood_reading(faces: list[FaceReading]) -> MoodReading:
    """A MoodReading from the largest face; energy is the arousal mapped to [0, 1]."""
    if not faces:
        raise NoFaceFound()
    main = faces[0]
    energy = None if main.arousal is None else (main.arousal + 1.0) / 2.0
    return MoodReading(mood_score=main.mood_score, energy=energy, source="face",
                       faces=tuple(faces))


def _to_original(box: Box, scale: float, size: tuple[int, int]) -> Box:
    x, y, w, h = (round(v * scale) for v in box)
    x, y = max(0, x), max(0, y)
    return (x, y, min(w, size[0] - x), min(h, size[1] - y))
