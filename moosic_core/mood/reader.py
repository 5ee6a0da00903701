"""Read the mood on the faces of a photo: bytes -> validated image -> faces -> emotions.

``FaceMoodReader.read`` is what the service calls from its thread pool: decode (EXIF applied),
detect (BlazeFace: :mod:`moosic_core.mood.detect`), turn each face upright and crop it like
FER-2013 (:mod:`moosic_core.mood.align`), then the mood model. The model and the detector are
loaded once and each keeps one LiteRT interpreter per thread. The photo
is only ever held in memory; nothing about it is logged except sizes and timings.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from moosic_core.errors import FaceTooSmall, NoFaceFound
from moosic_core.metrics import StepTimer, no_timer
from moosic_core.mood.align import aligned_crop
from moosic_core.mood.detect import DetectorSettings, Face, FaceDetector
from moosic_core.mood.emotions import EMOTIONS, mood_scores, valence_arousal
from moosic_core.mood.image import decode_image
from moosic_core.mood.model import MoodModel
from moosic_core.types import FaceReading, MoodReading

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x, y, w, h in original pixels

#: Faces narrower than this (in original pixels) are refused: below ~40 px a 48 px crop is an
#: upscaled blur and the expression is not readable.
MIN_FACE_PX = 40


def model_path(models_dir: Path) -> Path:
    """The served artifact's path inside ``models_dir``."""
    return Path(models_dir) / "face" / "mood.tflite"


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
        scale = image.scale
        with timer("detect"):
            found = self.detector.detect(image.grey, scale)
        if not found:
            raise NoFaceFound()
        readable = [f for f in found if f.box[2] * scale >= self.min_face_px]
        if not readable:
            raise FaceTooSmall(detail=f"largest face {round(found[0].box[2] * scale)} px wide")
        with timer("mood"):
            crops = np.stack([aligned_crop(image.grey, f) for f in readable])
            probs = self.model.predict(crops)
        log.debug("read %d face(s) of %d found in a %dx%d photo", len(readable), len(found),
                  *image.original_size)
        return self.readings(probs, [_to_original(f, scale, image.original_size)
                                     for f in readable])

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


def _to_original(face: Face, scale: float, size: tuple[int, int]) -> Box:
    """The face's box in original pixels, clipped to the photo."""
    x0, y0, w, h = face.box
    x1, y1 = min((x0 + w) * scale, size[0]), min((y0 + h) * scale, size[1])
    x, y = max(0, round(x0 * scale)), max(0, round(y0 * scale))
    return (x, y, max(0, round(x1) - x), max(0, round(y1) - y))
