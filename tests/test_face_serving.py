"""Serving: no TensorFlow, many threads, and the `moosic mood` / `moosic eval face` commands."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from moosic_core import PROJECT_ROOT, cli
from moosic_core.config import load_config
from moosic_core.mood.reader import FaceMoodReader, model_path

FER = Path(load_config(env={}).data.fer2013_dir)


def selfie_bytes(width: int = 640, height: int = 480) -> bytes:
    buf = io.BytesIO()
    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_serving_does_not_import_tensorflow(tmp_path: Path) -> None:
    photo = tmp_path / "selfie.jpg"
    photo.write_bytes(selfie_bytes())
    script = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from moosic_core.config import load_config
        from moosic_core.mood.reader import FaceMoodReader, model_path
        reader = FaceMoodReader(model_path(load_config(env={{}}).paths.models_dir))
        faces = reader.read(Path({str(photo)!r}).read_bytes())
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {{"tensorflow", "keras"}})
        print(json.dumps({{"faces": len(faces), "heavy": heavy}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"faces": 1, "heavy": []}


def test_one_reader_shared_by_a_thread_pool() -> None:
    reader = FaceMoodReader(model_path(load_config(env={}).paths.models_dir))
    photos = [selfie_bytes(640, 480), selfie_bytes(1280, 960), selfie_bytes(512, 512)]
    expected = [reader.read(p) for p in photos]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(reader.read, photos * 6))
    for i, got in enumerate(results):
        want = expected[i % len(photos)]
        assert [f.box for f in got] == [f.box for f in want]
        assert np.allclose([f.mood_score for f in got], [f.mood_score for f in want], atol=1e-6)


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("moosic_core.cli.face_cmd",))
    code = cli.main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_cli_mood_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "me.jpg"
    photo.write_bytes(selfie_bytes())
    code, out = run_cli(["mood", str(photo), "--json"], monkeypatch, capsys)
    assert code == 0
    faces = out["faces"]
    assert isinstance(faces, list) and len(faces) == 1
    assert len(faces[0]["box"]) == 4 and 0 <= faces[0]["mood_score"] <= 1
    assert len(faces[0]["emotions"]) == 7
    assert isinstance(out["ms"], float)


def test_cli_mood_errors_are_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    code, out = run_cli(["mood", str(notes), "--json"], monkeypatch, capsys)
    assert code == 2 and out["kind"] == "NotAnImage"
    landscape = tmp_path / "coffee.jpg"
    Image.fromarray(data.coffee()).save(landscape)
    code, out = run_cli(["mood", str(landscape), "--json"], monkeypatch, capsys)
    assert code == 2 and out["kind"] == "NoFaceFound" and "face" in str(out["error"])


def test_cli_mood_several_photos_json_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from moosic_core.mood import reader as reader_module

    selfie, notes, wide = tmp_path / "me.jpg", tmp_path / "notes.txt", tmp_path / "wide.png"
    selfie.write_bytes(selfie_bytes())
    notes.write_text("not a photo")
    Image.open(io.BytesIO(selfie_bytes(1280, 960))).save(wide)
    loads = []
    real_init = reader_module.FaceMoodReader.__init__

    def counting_init(self: reader_module.FaceMoodReader, *a: object, **k: object) -> None:
        loads.append(1)
        real_init(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(reader_module.FaceMoodReader, "__init__", counting_init)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("moosic_core.cli.face_cmd",))
    given = [str(selfie), "missing.jpg", str(notes), str(wide)]
    code = cli.main(["mood", *given, "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 2 and len(loads) == 1  # a photo failed; the models were loaded once
    assert [line["image"] for line in lines] == given
    assert len(lines[0]["faces"]) == 1 and isinstance(lines[0]["ms"], float)
    assert lines[1]["kind"] == "DataError" and "missing.jpg" in lines[1]["error"]
    assert lines[2]["kind"] == "NotAnImage" and "faces" not in lines[2]
    assert len(lines[3]["faces"]) == 1 and "error" not in lines[3]

    assert cli.main(["mood", str(selfie), str(wide), "--json"]) == 0  # all read: exit 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_cli_mood_several_photos_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    selfie, notes = tmp_path / "me.jpg", tmp_path / "notes.txt"
    selfie.write_bytes(selfie_bytes())
    notes.write_text("not a photo")
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("moosic_core.cli.face_cmd",))
    assert cli.main(["mood", str(selfie), str(notes)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"{selfie}:\n  face 1 at [") and "1 face(s) in" in out
    assert f"{notes}: error: That file isn't a photo" in err and str(notes) not in out


@pytest.mark.skipif(not (FER / "test").is_dir(), reason="FER-2013 not available")
def test_cli_eval_face(monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["eval", "face", "--split", "test", "--json"], monkeypatch, capsys)
    assert code == 0
    assert out["n"] == 1473
    assert {"happy_sad_accuracy", "roc_auc", "accuracy_7class"} <= set(out)
