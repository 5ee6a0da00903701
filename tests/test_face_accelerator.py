"""Training face-model members away from here: the lossless FER-2013 pack, the TensorFlow-free
architectures, and members trained by ``face_accelerator train`` joining an ensemble through
``moosic train face --reuse``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from moosic_core.mood.card import ARCH_DESCRIPTIONS, ARCH_LABELS
from moosic_core.mood.fer import SPLITS, load_split
from moosic_core.training.face_accelerator import load_pack, main, pack_fer
from moosic_core.training.face_models import ARCHITECTURES
from tests.test_face_training import tiny_fer


def test_pack_round_trips_every_split_exactly(tmp_path: Path) -> None:
    fer = tiny_fer(tmp_path / "fer", per_class=3)
    odd = fer / "train" / "happy" / "odd.jpg"  # other quantisation tables: another header
    Image.fromarray(np.full((48, 48), 90, np.uint8)).save(odd, quality=40)
    pack = tmp_path / "fer.npz"
    size = pack_fer(fer, pack)
    packed = load_pack(pack)
    assert sorted(packed) == sorted(SPLITS)
    for split in SPLITS:
        x, y = load_split(fer, split)
        assert np.array_equal(packed[split][0], x) and np.array_equal(packed[split][1], y)
    files = sum(p.stat().st_size for p in fer.rglob("*.jpg"))
    assert size < files  # the shared header is stored once per split
    with np.load(pack) as npz:
        assert int((~npz["train_shared"]).sum()) == 1


def test_space_to_depth_matches_tensorflow() -> None:
    tf = pytest.importorskip("tensorflow")
    from moosic_core.training.face_models import space_to_depth

    x = np.random.default_rng(0).normal(size=(2, 6, 8, 3)).astype(np.float32)
    assert np.array_equal(np.asarray(space_to_depth(x)), tf.nn.space_to_depth(x, 2).numpy())


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_reads_raw_grey_faces_into_7_probabilities(arch: str) -> None:
    model = ARCHITECTURES[arch]()
    faces = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 1)).astype(np.float32)
    probs = np.asarray(model(faces, training=False))
    assert probs.shape == (2, 7) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert arch in ARCH_LABELS and arch in ARCH_DESCRIPTIONS  # the card can name it


def test_members_trained_elsewhere_join_the_ensemble(
        tmp_path: Path, moosic: Callable[..., tuple[int, Any, str]]) -> None:
    pytest.importorskip("tensorflow")
    fer = tiny_fer(tmp_path / "fer")
    pack_fer(fer, tmp_path / "fer.npz")
    away = tmp_path / "away"
    assert main(["train", "--pack", str(tmp_path / "fer.npz"), "--out-dir", str(away),
                 "--members", "compact:5:1+1", "--batch", "14"]) == 0
    entry = json.loads((away / "metrics.json").read_text())["members"]["compact-seed5"]
    assert [st["epochs"] for st in entry["stages"]] == [1, 1]
    assert "latency_ms_litert_1face" not in entry  # the LiteRT figures are measured here
    assert entry["environment"]["backend"] == "tensorflow"
    assert not (away / "checkpoints").exists()  # nothing half-done is kept there

    face_dir = tmp_path / "models" / "face"
    assert main(["import", "--from", str(away), "--face-dir", str(face_dir)]) == 0
    stamp = (face_dir / "members" / "compact-seed5.npz").stat().st_mtime_ns
    env = {"MOOSIC_DATA_FER2013_DIR": str(fer), "MOOSIC_PATHS_MODELS_DIR": str(face_dir.parent),
           "MOOSIC_PATHS_DATA_DIR": str(tmp_path / "data")}
    code, out, err = moosic("train", "face", "--members", "compact:5:1+1", "--reuse", "--json",
                            env=env, timeout=600)
    assert code == 0, err
    assert (face_dir / "members" / "compact-seed5.npz").stat().st_mtime_ns == stamp  # reused
    joined = json.loads((face_dir / "metrics.json").read_text())["members"]["compact-seed5"]
    assert joined["tflite_bytes"] > 100_000 and joined["latency_ms_litert_1face"] > 0
    assert joined["stages"] == entry["stages"]
    assert out["model"]["members"] == ["compact-seed5"]
    assert (face_dir / "mood.tflite").exists()


def test_card_says_where_members_trained_and_what_the_cpu_alone_would_take() -> None:
    from moosic_core.mood.card import _where_trained

    def member(arch: str, seconds: int, epochs: int, gpu: bool) -> dict[str, Any]:
        env = ({"gpu": True, "device": "NVIDIA H200", "keras": "3", "jax": "0.11"} if gpu
               else {"gpu": False, "cpu_count": 2, "tensorflow": "2.21"})
        return {"arch": arch, "train_seconds": seconds, "epochs": epochs, "environment": env}

    cpu, gpu = member("compact", 6000, 60, False), member("compact", 120, 60, True)
    text = _where_trained([cpu, gpu])
    assert "1 on this machine's 2 CPU cores in **100.0 min**" in text
    assert "1 on an NVIDIA H200 in **2.0 min**" in text
    assert "all 2 would take about **3 h**" in text  # 100 s per epoch x 120 epochs
    wide = member("compact_wide", 120, 60, True)  # never timed on the CPU: no estimate
    assert "would take" not in _where_trained([cpu, wide])


def test_the_cards_reproduce_command_names_members_as_train_face_reads_them() -> None:
    from moosic_core.mood.card import _member_spec
    from moosic_core.training.members import Member, parse_members

    two = {"arch": "compact", "seed": 7, "stages": [{"epochs": 24}, {"epochs": 30}]}
    one = {"arch": "fullres", "seed": 7, "stages": [{"epochs": 24}]}  # no fine-tuning stage
    three = {"arch": "compact", "seed": 9, "stages": [{"epochs": 24}, {"epochs": 30},
                                                      {"epochs": 3}]}  # weight averaging
    spec = ",".join(_member_spec(e) for e in (two, one, three))
    assert parse_members(spec) == [Member("compact", 7, 24, 30), Member("fullres", 7, 24, 0),
                                   Member("compact", 9, 24, 30, 3)]
