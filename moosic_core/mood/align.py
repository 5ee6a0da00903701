"""Cut a face out of a photo the way FER-2013 frames its faces: upright, square, 48x48 grey.

FER-2013 faces are upright, so the crop is turned by the face's roll (the angle of the line
between the eyes, from the detector's keypoints): a head tilted 30 degrees, or a photo turned
sideways, gives the same crop as the upright head. The square is ``margin`` times the detector's
box wide and its centre is ``shift_y`` box heights below the box centre along the face's own
down direction; both are measured on FER-2013 faces by ``moosic eval face-detector``
(crop_margin_measured, crop_shift_y_measured). The crop is histogram-equalised like FER-2013.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from moosic_core.mood.detect import Face
from moosic_core.mood.model import FACE_SIZE

#: FER-2013's 48 px frame is a median 1.25 BlazeFace box widths wide, centred 0.055 box heights
#: above the box centre (FER keeps more forehead than the box); measured on PrivateTest faces
#: pasted into photos by ``moosic eval face-detector`` (crop_margin_measured, crop_shift_y_...).
CROP_MARGIN = 1.25
CROP_SHIFT_Y = -0.055


def aligned_crop(grey: npt.NDArray[np.uint8], face: Face, margin: float = CROP_MARGIN,
                 shift_y: float = CROP_SHIFT_Y, size: int = FACE_SIZE,
                 equalise: bool = True) -> npt.NDArray[np.uint8]:
    """A (size, size) uint8 crop of ``face`` from the grey (h, w) image, turned upright.

    Pixels outside the image repeat its edge. Large faces are first shrunk with area
    averaging (no aliasing), then turned with bilinear sampling."""
    x, y, w, h = face.box
    side = max(w, h) * margin
    angle = math.radians(face.roll_degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    cx = x + w / 2 - sin * shift_y * h  # the face's down direction is (-sin, cos)
    cy = y + h / 2 + cos * shift_y * h
    # the region that holds the turned square (half its diagonal around the centre), shrunk so
    # that the square is about ``size`` pixels: then sampling it is alias-free
    half = side * 0.75 + 2
    shrink = min(1.0, size / side)
    x0, y0 = math.floor(cx - half), math.floor(cy - half)
    x1, y1 = math.ceil(cx + half), math.ceil(cy + half)
    region = _region(grey, x0, y0, x1, y1)
    if shrink < 1.0:
        out_w = max(1, round(region.shape[1] * shrink))
        out_h = max(1, round(region.shape[0] * shrink))
        sx, sy = out_w / region.shape[1], out_h / region.shape[0]
        region = np.asarray(cv2.resize(region, (out_w, out_h), interpolation=cv2.INTER_AREA),
                            np.uint8)
    else:
        sx = sy = 1.0
    # output pixel (u, v) -> region point: centre + a * R(angle) @ (u - c, v - c)
    a = side / size
    c = (size - 1) / 2.0
    rx, ry = (cx - x0) * sx, (cy - y0) * sy
    matrix = np.array([
        [a * cos * sx, -a * sin * sx, rx - c * a * (cos - sin) * sx],
        [a * sin * sy, a * cos * sy, ry - c * a * (sin + cos) * sy],
    ], np.float64)
    crop: npt.NDArray[np.uint8] = np.asarray(
        cv2.warpAffine(region, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8)
    return np.asarray(cv2.equalizeHist(crop), dtype=np.uint8) if equalise else crop


def _region(grey: npt.NDArray[np.uint8], x0: int, y0: int, x1: int, y1: int
            ) -> npt.NDArray[np.uint8]:
    """grey[y0:y1, x0:x1] with the image's edge repeated where the window leaves it."""
    h, w = grey.shape
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx0 >= cx1 or cy0 >= cy1:  # wholly outside: the nearest edge pixel
        return np.full((y1 - y0, x1 - x0), grey[min(max(y0, 0), h - 1), min(max(x0, 0), w - 1)],
                       np.uint8)
    inside = grey[cy0:cy1, cx0:cx1]
    pads = (cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1)
    if any(pads):
        return np.asarray(cv2.copyMakeBorder(inside, *pads, cv2.BORDER_REPLICATE), np.uint8)
    return np.ascontiguousarray(inside)
