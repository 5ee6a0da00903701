"""Find every face in a photo, in any orientation and down to small sizes, with BlazeFace.

The network (:mod:`moosic_core.mood.blazeface`) sees a 192x192 square and finds faces whose box is
about 20 to 100 of its pixels wide (measured: 11/12 at 20 px, 0/12 at 14 px, and faces filling
two thirds of the square are missed). The passes, each run only when the ones before found nothing:

1. the whole photo shrunk into the square (one inference, ~5 ms on one core);
2. the whole photo at half that size, centred (close-up faces too big for pass 1);
3. tiles: the photo resized so that a face of ``fine_face_px`` original pixels is
   ``tile_face_px`` pixels, cut into overlapping 192 px tiles, and again at half, quarter...
   that size until the photo fits one square (pass 1 again), so every size in between lies
   whole inside some tile;
4. passes 1-3 on the photo turned 90, 180 and 270 degrees (a photo stored sideways with no EXIF
   tag), the tiles aiming at faces ``turn_face_px`` wide (a quarter of the upright tiles' cost);
   the first turn that finds faces is kept. Upright tiles
   come before the turns because the net sometimes finds an upright face, poorly, in a turned
   copy of a photo whose faces are merely small.

The net also finds some turned faces (up to ~75 degrees, and some upside down), with lower scores
(0.5-0.65 against 0.85 upright, measured on pasted real faces) and keypoints sometimes placed as
if the face were upright. So when the best face of pass 1 scores under ``sure_score``, the three
turns are tried too (passes 1-2) and the turn with the best-scoring face is kept.

Group and distant shots: when the faces found by passes 1-2 are small (under ``group_face_px`` in
the square), the next finer tile levels are searched as well (at the turn that found them), so
that smaller faces beside them are not missed; a selfie's face is big and costs nothing more.

Faces come back in the grey image's pixels, with MediaPipe's six keypoints, largest first.
An instance is safe to share between threads (one interpreter per thread).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from moosic_core.mood.blazeface import (
    INPUT_SIZE,
    LEFT_EYE,
    RIGHT_EYE,
    BlazeFace,
    Detection,
    weighted_nms,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Face:
    """A face in image pixels: ``box`` (x, y, w, h), ``keypoints`` (6, 2) as (x, y) in
    MediaPipe's order (the person's right eye, left eye, nose tip, mouth centre, right ear,
    left ear), and the detector's ``score`` in [0, 1]."""

    box: tuple[float, float, float, float]
    keypoints: npt.NDArray[np.float32]
    score: float

    @property
    def roll_degrees(self) -> float:
        """Angle of the line from the right eye to the left eye against the image's x axis,
        in degrees, positive clockwise on screen (y points down); 0 for an upright face."""
        dx, dy = self.keypoints[LEFT_EYE] - self.keypoints[RIGHT_EYE]
        return math.degrees(math.atan2(float(dy), float(dx)))


@dataclass(frozen=True)
class DetectorSettings:
    """Tuned with ``moosic eval face-detector`` (recall against false detections)."""

    min_score: float = 0.5  # whole-photo passes: MediaPipe's full-range graph's threshold
    tile_min_score: float = 0.65  # tiles and turns: many more windows, so a stricter threshold
    # (measured: 0.5 -> 11 false detections on 22 face-free pictures, 0.6 -> 5, 0.65 -> 2)
    zoom_out: float = 0.5  # pass 2: the photo's long side at this fraction of the square
    fine_face_px: int = 80  # the tile pass finds faces this wide (original pixels) or wider ...
    tile_face_px: int = 32  # ... by making them this wide in the tiles (found from ~20, surely
    # from ~32: measured on pasted real faces)
    tile_overlap: int = 64  # tiles overlap by more than twice the floor: each level's faces
    min_tiled_side: int = 640  # small photos are tiled at no less than this long side
    max_enlarge: float = 2.0  # nor enlarged more than this
    turn_face_px: int = 160  # the turns' tile pass aims at faces this wide (cost: a quarter)
    sure_score: float = 0.8  # a best face below this is checked against the photo upside down
    group_face_px: float = 30.0  # faces found smaller than this (square px): search finer too
    # (a selfie face is 40-100 px of the square; 7 people side by side about 20)


class FaceDetector:
    """BlazeFace (full range) over a grey photo: whole photo, then turns, then tiles."""

    def __init__(self, settings: DetectorSettings | None = None,
                 model_file: Path | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.net = BlazeFace(model_file)

    def detect(self, grey: npt.NDArray[np.uint8], scale: float = 1.0) -> list[Face]:
        """Faces in a grey (h, w) uint8 image, largest first, in its own pixels.

        ``scale`` is original-photo pixels per pixel of ``grey`` (>1 when the photo was decoded
        at a reduced size): the tile pass aims at faces ``fine_face_px`` original pixels wide."""
        for turn in (0, 1, 2, 3):
            faces = self._whole(grey, turn)
            if faces and turn == 0 and max(f.score for f in faces) < self.settings.sure_score:
                turn, faces = self._surest_turn(grey, faces)
            if faces:
                faces = self._finer(grey, scale, turn, faces)
            else:
                face_px = self.settings.fine_face_px if turn == 0 else self.settings.turn_face_px
                faces = self._tiles(grey, scale, turn, face_px)
            if faces:
                return sorted(faces, key=lambda f: (-f.box[2], f.box[0], f.box[1]))
        return []

    def _surest_turn(self, grey: npt.NDArray[np.uint8], upright: list[Face]
                     ) -> tuple[int, list[Face]]:
        """(turn, faces) of the turn, upright included, whose best face scores highest; the
        other turns are held to the stricter ``tile_min_score``."""
        best, turn = upright, 0
        for other in (1, 2, 3):
            faces = self._whole(grey, other)
            if faces and max(f.score for f in faces) > max(f.score for f in best):
                best, turn = faces, other
        return turn, best

    def _finer(self, grey: npt.NDArray[np.uint8], scale: float, turn: int,
               faces: list[Face]) -> list[Face]:
        """Group and distant shots: while the smallest face found is under
        ``group_face_px`` at the last level searched, search the next finer level of the tile
        pyramid (twice the size) too, for faces down to half as big."""
        s = self.settings
        last = INPUT_SIZE / max(grey.shape)
        for ratio in reversed(self.tile_ratios(grey.shape, scale)):
            if ratio <= last * 1.01:
                continue
            if min(f.box[2] for f in faces) * last >= s.group_face_px:
                break
            faces = _merge(faces + self._level(grey, ratio, turn))
            last = ratio
        return faces

    def _whole(self, grey: npt.NDArray[np.uint8], turn: int) -> list[Face]:
        """Passes 1-2 for one turn: the photo filling the square, then at ``zoom_out``."""
        h, w = grey.shape
        for fill in (1.0, self.settings.zoom_out):
            ratio = fill * INPUT_SIZE / max(h, w)
            small = _resize(grey, ratio)
            offset = ((INPUT_SIZE - small.shape[1]) // 2, (INPUT_SIZE - small.shape[0]) // 2)
            found = self._square(_pad_square(small, offset), turn, offset, ratio)
            if found:
                return found
        return []

    def _tiles(self, grey: npt.NDArray[np.uint8], scale: float, turn: int, face_px: int
               ) -> list[Face]:
        """The tile pass for one turn: overlapping tiles at a pyramid of sizes whose finest
        makes a ``face_px`` face ``tile_face_px`` wide, merged by NMS."""
        found: list[Face] = []
        for ratio in self.tile_ratios(grey.shape, scale, face_px):
            found += self._level(grey, ratio, turn)
        return _merge(found)

    def _level(self, grey: npt.NDArray[np.uint8], ratio: float, turn: int) -> list[Face]:
        """One pyramid level: the photo resized by ``ratio``, cut into overlapping tiles."""
        level = _resize(grey, ratio)
        found: list[Face] = []
        for x0, y0 in _tile_origins(level.shape, INPUT_SIZE, self.settings.tile_overlap):
            tile = level[y0:y0 + INPUT_SIZE, x0:x0 + INPUT_SIZE]
            found += self._square(_pad_square(tile, (0, 0)), turn, (-x0, -y0), ratio,
                                  self.settings.tile_min_score)
        return found

    def tile_ratios(self, shape: tuple[int, ...], scale: float, face_px: int | None = None
                    ) -> list[float]:
        """Resize ratios of the tile pass, finest first: the first makes a face of ``face_px``
        (default ``fine_face_px``) original pixels ``tile_face_px`` wide (the tiled photo at
        least ``min_tiled_side`` long, enlarged at most ``max_enlarge``), then halves until the
        photo fits one square."""
        s = self.settings
        long_side = max(shape[:2])
        ratio = s.tile_face_px * scale / (face_px or s.fine_face_px)
        ratio = min(max(ratio, s.min_tiled_side / long_side), s.max_enlarge)
        out = []
        while long_side * ratio > INPUT_SIZE:
            out.append(ratio)
            ratio /= 2
        return out

    def _square(self, square: npt.NDArray[np.uint8], turn: int, offset: tuple[int, int],
                ratio: float, min_score: float | None = None) -> list[Face]:
        """Run the net on a grey square turned ``turn`` quarter turns counter-clockwise, and
        map its detections back: square pixels minus ``offset``, divided by ``ratio``."""
        rgb = cv2.cvtColor(np.ascontiguousarray(np.rot90(square, turn)), cv2.COLOR_GRAY2RGB)
        out = []
        threshold = min_score if min_score is not None else (
            self.settings.min_score if turn == 0 else self.settings.tile_min_score)
        for det in self.net.detect(np.asarray(rgb, dtype=np.uint8), threshold):
            out.append(_to_image(det, turn, offset, ratio))
        return out


def _to_image(det: Detection, turn: int, offset: tuple[int, int], ratio: float) -> Face:
    """A detection in fractions of a turned square -> a Face in image pixels."""
    x, y, w, h = det.box
    corners = unturn(np.array([[x, y], [x + w, y + h]], np.float32), turn)
    points = unturn(det.keypoints, turn)
    lo, hi = corners.min(0), corners.max(0)
    shift = np.array(offset, np.float32)
    lo, hi = (lo * INPUT_SIZE - shift) / ratio, (hi * INPUT_SIZE - shift) / ratio
    points = (points * INPUT_SIZE - shift) / ratio
    return Face(box=(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])),
                keypoints=points.astype(np.float32), score=det.score)


def unturn(points: npt.NDArray[np.float32], turn: int) -> npt.NDArray[np.float32]:
    """Points (n, 2) in fractions of a square turned by ``np.rot90(square, turn)`` -> the
    same points in the unturned square. One counter-clockwise quarter turn maps (x, y) to
    (y, 1 - x), so its inverse maps (x', y') to (1 - y', x')."""
    out = np.asarray(points, np.float32)
    for _ in range(turn % 4):
        out = np.stack([1.0 - out[:, 1], out[:, 0]], axis=1)
    return out


def _merge(faces: list[Face]) -> list[Face]:
    """One face per person from overlapping tiles (MediaPipe's weighted NMS)."""
    if not faces:
        return []
    boxes = np.array([f.box for f in faces], np.float64)
    points = np.stack([f.keypoints for f in faces]).astype(np.float64)
    scores = np.array([f.score for f in faces], np.float64)
    return [Face(box=d.box, keypoints=d.keypoints, score=d.score)
            for d in weighted_nms(boxes, points, scores)]


def _resize(grey: npt.NDArray[np.uint8], ratio: float) -> npt.NDArray[np.uint8]:
    h, w = grey.shape
    size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
    interp = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(grey, size, interpolation=interp), dtype=np.uint8)


def _pad_square(img: npt.NDArray[np.uint8], offset: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """``img`` placed at ``offset`` (x, y) on a black INPUT_SIZE square."""
    square = np.zeros((INPUT_SIZE, INPUT_SIZE), np.uint8)
    h, w = min(img.shape[0], INPUT_SIZE), min(img.shape[1], INPUT_SIZE)
    square[offset[1]:offset[1] + h, offset[0]:offset[0] + w] = img[:h, :w]
    return square


def _tile_origins(shape: tuple[int, ...], size: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Top-left corners of ``size`` tiles covering an (h, w) image, overlapping by at least
    ``overlap`` pixels; the last row and column end at the image's edge."""
    h, w = shape[:2]

    def starts(length: int) -> list[int]:
        if length <= size:
            return [0]
        n = math.ceil((length - size) / (size - overlap)) + 1
        return [round(i * (length - size) / (n - 1)) for i in range(n)]

    for y in starts(h):
        for x in starts(w):
            yield x, y
