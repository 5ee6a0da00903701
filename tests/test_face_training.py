"""`moosic train face` end to end on a tiny FER-2013-shaped folder: an ensemble of two members
with both stages each, the LiteRT export, the weights files, the model card and ``--reuse``
(the real data takes hours; this takes seconds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from moosic_core.mood.emotions import EMOTIONS, HAPPY, SAD
from moosic_core.mood.model import MoodModel

pytest.importorskip("tensorflow")


def tiny_fer(root: Path, per_class: int = 6) -> Path:
    """Random 48x48 grey faces in the Kaggle image-folder layout, every split and class."""
    rng = np.random.default_rng(0)
    for split in ("train", "validation", "test"):
        for emotion in EMOTIONS:
            folder = root / split / emotion
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (48, 48), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg")
    return root


def validation_keys(metrics: dict[str, Any], names: list[str]) -> list[tuple[float, float]]:
    return [(metrics["members"][n]["validation"]["happy_sad_accuracy"],
             metrics["members"][n]["validation"]["accuracy_7class"]) for n in names]


def test_train_face_trains_an_ensemble_and_reuses_finished_members(
        tmp_path: Path, moosic: Callable[..., tuple[int, Any, str]]) -> None:
    fer = tiny_fer(tmp_path / "fer")
    models = tmp_path / "models"
    env = {"MOOSIC_DATA_FER2013_DIR": str(fer), "MOOSIC_PATHS_MODELS_DIR": str(models),
           "MOOSIC_PATHS_DATA_DIR": str(tmp_path / "data")}
    shelf = tmp_path / "data" / "checkpoints" / "face" / "members"  # unserved weights

    def stored(name: str) -> Path:  # served weights stay in models/, the others are shelved
        in_models = models / "face" / "members" / f"{name}.npz"
        return in_models if in_models.exists() else shelf / f"{name}.npz"

    common = ("--epochs", "1", "--finetune-epochs", "2", "--batch", "14", "--json")
    code, out, err = moosic("train", "face", "--members", "compact:1,vgg16_style:2", *common,
                            env=env, timeout=600)
    assert code == 0, err
    face_dir = models / "face"
    metrics = json.loads((face_dir / "metrics.json").read_text())
    candidates = metrics["model"]["candidates"]  # ranked by their own validation scores
    assert sorted(candidates) == ["compact-seed1", "vgg16_style-seed2"]
    assert validation_keys(metrics, candidates) == sorted(validation_keys(metrics, candidates),
                                                          reverse=True)
    selection = out["model"]["selection"]  # greedy selection on validation, best member first
    selected = [row["added"] for row in selection]
    assert selected[0] == candidates[0] and set(selected) <= set(candidates)
    served = metrics["model"]["members"]  # the frontier's point: some of them, in that order
    assert served == [n for n in selected if n in served] != []
    compact = metrics["members"]["compact-seed1"]
    assert [st["epochs"] for st in compact["stages"]] == [1, 2]
    assert [st["pair_weight"] for st in compact["stages"]] == [0.0, 1.0]
    assert len(compact["stages"][1]["history"]) == 2
    assert out["model"]["n_train"] == 42
    assert out["model"]["params"] == sum(metrics["members"][n]["params"] for n in served)
    keys = [(row["validation"]["happy_sad_accuracy"], row["validation"]["accuracy_7class"])
            for row in selection]
    assert keys == sorted(set(keys))  # each step improves on the last
    frontier = out["model"]["frontier"]  # every subset of the selected over 4 view sets
    assert len(frontier["rows"]) == 4 * (2 ** len(selected) - 1)
    point = frontier["rows"][frontier["chosen"]]
    assert point["members"] == served and out["model"]["validation"] == point["validation"]
    assert out["model"]["view_sides"] == point["view_sides"]
    assert out["model"]["view_mirror"] == point["view_mirror"]
    assert all(r["latency_ms_litert_1face"] > 0 for r in frontier["rows"])
    probs = MoodModel(face_dir / "mood.tflite").predict(np.zeros((2, 48, 48), np.uint8))
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1.0, atol=1e-3)
    assert stored("compact-seed1").stat().st_size > 100_000
    assert sorted(p.stem for p in (face_dir / "members").glob("*.npz")) == sorted(selected)
    card = (face_dir / "MODEL_CARD.md").read_text()
    names = ",".join(f"{n.replace('-seed', ':')}:1+2" for n in candidates)
    assert f"--members {names}`" in card and "2 on this machine's" in card
    assert "| compact CNN (ours), seed 1 |" in card and "greedy selection on validation" in card
    # scores over the served test-time views, with the face-and-mirror ones as the evidence
    assert compact["view_sides"] == [48, 44, 52]
    assert set(compact["validation_flip"]) == set(compact["validation"])
    assert metrics["model"]["view_choice"]["members"] == 2
    assert "zoomed in to its central 44 px" in card and "(6 views)" in card
    assert "### Accuracy and latency: members x test-time views" in card
    assert "| `candidate_probs.npz` |" in card

    # an entry scored over other views (an older run's) is scored again, to the same numbers
    vgg = metrics["members"]["vgg16_style-seed2"]
    stale = {k: v for k, v in vgg.items() if k not in ("view_sides", "validation_flip")}
    stale["validation"] = {**vgg["validation"], "happy_sad_accuracy": -1.0}
    metrics["members"]["vgg16_style-seed2"] = stale
    (face_dir / "metrics.json").write_text(json.dumps(metrics))

    # a third member: the first two are reused, not retrained
    stamps = {n: stored(n).stat().st_mtime_ns for n in candidates}
    code, out, err = moosic("train", "face", "--members", "compact:1,vgg16_style:2,compact:3",
                            "--reuse", *common, env=env, timeout=600)
    assert code == 0, err
    again = json.loads((face_dir / "metrics.json").read_text())
    assert again["members"]["compact-seed1"] == compact
    rescored = dict(again["members"]["vgg16_style-seed2"])
    assert rescored.pop("latency_ms_litert_1face") > 0  # measured again: timings vary
    assert rescored == {k: v for k, v in vgg.items() if k != "latency_ms_litert_1face"}
    assert {n: stored(n).stat().st_mtime_ns for n in stamps} == stamps
    candidates = again["model"]["candidates"]
    assert sorted(candidates) == ["compact-seed1", "compact-seed3", "vgg16_style-seed2"]
    assert validation_keys(again, candidates) == sorted(validation_keys(again, candidates),
                                                        reverse=True)
    selected = [row["added"] for row in again["model"]["selection"]]
    assert selected[0] == candidates[0]
    assert sorted(p.stem for p in (face_dir / "members").glob("*.npz")) == sorted(selected)
    assert sorted(p.stem for p in shelf.glob("*.npz")) == sorted(
        n for n in candidates if n not in selected)

    # a fresh clone has no shelf: the unserved members stay candidates through their recorded
    # validation probabilities, and nothing is trained again
    with np.load(face_dir / "candidate_probs.npz") as npz:
        assert sorted(npz.files) == sorted(candidates)
        assert all(npz[n].shape == (42, 7) and npz[n].dtype == np.float16 for n in candidates)
    for path in shelf.glob("*.npz"):
        path.unlink()
    code, out, err = moosic("train", "face", "--members", "compact:1,vgg16_style:2,compact:3",
                            "--reuse", *common, env=env, timeout=600)
    assert code == 0, err
    fresh = json.loads((face_dir / "metrics.json").read_text())
    assert fresh["members"] == again["members"] and not list(shelf.glob("*.npz"))
    assert fresh["model"]["selection"] == again["model"]["selection"]
    assert fresh["model"]["candidates"] == candidates

    # (in this process from here: the same function, without starting TensorFlow again)
    from moosic_core.errors import DataError
    from moosic_core.training.face import train_face
    from moosic_core.training.members import parse_members

    def retrain() -> None:
        train_face(fer, face_dir, tmp_path / "data" / "checkpoints" / "face",
                   parse_members("compact:1,vgg16_style:2,compact:3", 1, 2), batch=14,
                   reuse=True)

    # a served member without its weights cannot be exported: a clear error, nothing lost
    (face_dir / "members" / f"{selected[0]}.npz").unlink()
    tflite = (face_dir / "mood.tflite").read_bytes()
    with pytest.raises(DataError, match=f"chooses {selected[0]} .* leave it out of --members"):
        retrain()
    assert (face_dir / "mood.tflite").read_bytes() == tflite
    assert json.loads((face_dir / "metrics.json").read_text()) == fresh

    # neither weights nor recorded probabilities: refused at once, not trained again for hours
    with np.load(face_dir / "candidate_probs.npz") as npz:
        kept = {n: npz[n] for n in npz.files if n != selected[0]}
    np.savez_compressed(face_dir / "candidate_probs.npz", **kept)
    with pytest.raises(DataError, match=f"probabilities\\): {selected[0]}\\. Leave them"):
        retrain()
    assert json.loads((face_dir / "metrics.json").read_text()) == fresh


def test_train_face_pauses_at_its_time_budget_and_resumes_with_reuse(
        tmp_path: Path, moosic: Callable[..., tuple[int, Any, str]]) -> None:
    fer = tiny_fer(tmp_path / "fer")
    models = tmp_path / "models"
    env = {"MOOSIC_DATA_FER2013_DIR": str(fer), "MOOSIC_PATHS_MODELS_DIR": str(models),
           "MOOSIC_PATHS_DATA_DIR": str(tmp_path / "data")}
    command = ("train", "face", "--members", "compact_wide:1", "--epochs", "3",
               "--finetune-epochs", "1", "--batch", "14", "--json")
    # a budget shorter than one epoch: each run trains one epoch, saves it and stops
    code, out, err = moosic(*command, "--time-budget", "0.0001", env=env, timeout=600)
    assert code != 0 and out["kind"] == "TrainingPaused", err
    assert "epoch 1 of 3" in out["error"] and "--reuse" in out["error"]
    checkpoints = tmp_path / "data" / "checkpoints" / "face"  # kept out of models/
    assert [p.name for p in checkpoints.iterdir()] == ["compact_wide-seed1-stage1.npz"]
    assert not (models / "face" / "mood.tflite").exists()

    code, out, err = moosic(*command, "--time-budget", "0.0001", "--reuse", env=env,
                            timeout=600)
    assert out["kind"] == "TrainingPaused" and "epoch 2 of 3" in out["error"], err

    code, out, err = moosic(*command, "--reuse", env=env, timeout=600)  # no budget: finishes
    assert code == 0, err
    entry = json.loads((models / "face" / "metrics.json").read_text())["members"][
        "compact_wide-seed1"]
    stage1, stage2 = entry["stages"]
    assert [row["epoch"] for row in stage1["history"]] == [1, 2, 3]
    elapsed = [row["elapsed_s"] for row in stage1["history"]]
    assert elapsed == sorted(elapsed) and stage1["train_seconds"] >= round(elapsed[-1]) - 1
    assert [row["epoch"] for row in stage2["history"]] == [1]
    assert entry["params"] > 2_000_000  # the 2x-wide compact network
    assert list(checkpoints.iterdir()) == []  # a finished member leaves no checkpoint
    assert out["model"]["members"] == ["compact_wide-seed1"]

    # a weight-averaging stage added to the finished member: only that stage trains, and it
    # pauses and resumes like the others (the running mean of the weights is in its checkpoint)
    averaged = ("train", "face", "--members", "compact_wide:1:3+1+2", "--batch", "14", "--json",
                "--reuse")
    code, out, err = moosic(*averaged, "--time-budget", "0.0001", env=env, timeout=600)
    assert out["kind"] == "TrainingPaused" and "epoch 1 of 2" in out["error"], err
    assert [p.name for p in checkpoints.iterdir()] == ["compact_wide-seed1-stage3.npz"]
    with np.load(checkpoints / "compact_wide-seed1-stage3.npz") as npz:
        assert any(k.startswith("a") for k in npz.files)
    code, out, err = moosic(*averaged, env=env, timeout=600)
    assert code == 0, err
    extended = json.loads((models / "face" / "metrics.json").read_text())["members"][
        "compact_wide-seed1"]
    assert extended["stages"][:2] == [stage1, stage2]  # not trained again
    stage3 = extended["stages"][2]
    assert stage3["stage"] == "weight averaging" and stage3["lr"] == 3e-4
    assert [row["epoch"] for row in stage3["history"]] == [1, 2]
    assert stage3["best_epoch"] in (0, 1, 2)  # 0: the stage-2 weights were better on validation
    assert extended["epochs"] == 6 and extended["environment"] == entry["environment"]
    assert list(checkpoints.iterdir()) == []


def test_measured_batch_norm_statistics_are_the_mean_over_the_batches() -> None:
    import keras

    from moosic_core.training.face import measure_batch_norm
    from moosic_core.training.face_models import ARCHITECTURES

    model = ARCHITECTURES["compact"]()
    norm = next(layer for layer in model.layers
                if isinstance(layer, keras.layers.BatchNormalization))
    before = norm.momentum
    faces = np.random.default_rng(1).integers(0, 256, (40, 48, 48), dtype=np.uint8)
    measure_batch_norm(model, faces, batch=8, batches=3)
    # the layer's input on the same 3 fixed batches, by the model cut just before it
    upto = keras.Model(model.input, norm.input)
    idx = np.random.default_rng(0).permutation(len(faces))[:24]
    means = [np.asarray(upto(faces[idx[i:i + 8], :, :, None].astype(np.float32)))
             .mean(axis=(0, 1, 2)) for i in (0, 8, 16)]
    assert np.allclose(np.asarray(norm.moving_mean), np.mean(means, axis=0), atol=1e-4)
    assert norm.momentum == before


@pytest.mark.parametrize("spec", ["compact", "resnet:1", "compact:1,compact:1", "compact:1:2",
                                  "compact:1:2+3+4+5"])
def test_train_face_rejects_a_bad_member_list(
        spec: str, tmp_path: Path, moosic: Callable[..., tuple[int, Any, str]]) -> None:
    env = {"MOOSIC_DATA_FER2013_DIR": str(tmp_path), "MOOSIC_PATHS_MODELS_DIR": str(tmp_path)}
    code, _, err = moosic("train", "face", "--members", spec, env=env)
    assert code != 0 and "ensemble member" in err


def _happy_sad_probs(p_happy: list[float]) -> np.ndarray:
    probs = np.zeros((len(p_happy), len(EMOTIONS)), np.float32)
    probs[:, HAPPY], probs[:, SAD] = p_happy, 1.0 - np.asarray(p_happy)
    return probs


def test_greedy_selection_adds_members_while_validation_improves_within_the_budget() -> None:
    from moosic_core.training.ensemble import select_members

    y = np.array([HAPPY, HAPPY, SAD, SAD])
    a = _happy_sad_probs([0.9, 0.9, 0.4, 0.6])  # 3 of 4 right
    b = _happy_sad_probs([0.45, 0.45, 0.1, 0.1])  # 2 of 4 alone, but fixes a's mistake
    c = a.copy()  # as good as a alone, adds nothing to it
    assert select_members([a, b, c], y, [5, 5, 5], max_params=100) == [0, 1]
    assert select_members([c, b, a], y, [5, 5, 5], max_params=100) == [0, 1]
    assert select_members([a, b, c], y, [5, 5, 5], max_params=9) == [0]  # b does not fit
    assert select_members([b, a], y, [50, 5], max_params=9) == [1]  # best first, then none fits


def test_test_time_views_zoom_in_and_out_and_mirror() -> None:
    from keras import ops

    from moosic_core.mood.card import describe_views
    from moosic_core.training.face_views import SERVED_VIEW_SIDES, tta_views

    faces = np.zeros((1, 48, 48, 1), np.float32)
    faces[0, 20:28, 20:28, 0] = 255.0  # a bright square in the middle
    faces[0, 0, 0, 0] = 255.0  # and a mark in the top-left corner
    views = [ops.convert_to_numpy(v) for v in tta_views(faces)]
    assert len(views) == 2 * len(SERVED_VIEW_SIDES) == 6
    assert all(v.shape == faces.shape for v in views)
    as_framed, mirrored, zoomed_in, _, zoomed_out, _ = views
    assert np.array_equal(as_framed, faces) and np.array_equal(mirrored, faces[:, :, ::-1])
    # the square's brightness in the middle grows by about (48/44)^2, then shrinks by (48/52)^2
    mass = [float(v[0, 12:36, 12:36].sum()) / float(faces[0, 12:36, 12:36].sum())
            for v in (zoomed_in, zoomed_out)]
    assert mass == pytest.approx([(48 / 44) ** 2, (48 / 52) ** 2], rel=0.05)
    assert zoomed_in[0, 0, 0, 0] == 0.0  # the corner is cropped away when zooming in
    for view, flipped in zip(views[::2], views[1::2], strict=True):
        assert np.allclose(flipped, view[:, :, ::-1])
    assert describe_views([48]) == "the face and its mirror image (2 views)"
    assert describe_views(list(SERVED_VIEW_SIDES)) == (
        "the face as framed, zoomed in to its central 44 px, zoomed out over a 2 px mirrored "
        "border, each with its mirror image (6 views)")
    flat = np.full((2, 48, 48, 1), 77.0, np.float32)  # a flat face looks the same in every view
    assert all(np.allclose(ops.convert_to_numpy(v), 77.0, atol=1e-3) for v in tta_views(flat))


def test_card_names_the_candidate_record_and_the_members_of_earlier_rounds() -> None:
    from moosic_core.mood.card import render

    metrics = json.loads((Path(__file__).parents[1] / "models" / "face" / "metrics.json")
                         .read_text())
    model = {k: v for k, v in metrics["model"].items() if k != "candidate_probs"}
    every_member = {**metrics, "model": {**model, "candidates": list(metrics["members"])}}
    card = render(every_member, {}, {}, {})
    assert "candidate_probs" not in card and "earlier rounds" not in card
    served_only = {**metrics, "model": {**model, "candidates": model["members"],
                                        "candidate_probs": "candidate_probs.npz"}}
    card = render(served_only, {}, {}, {})
    assert "| `candidate_probs.npz` | every candidate's validation probabilities" in card
    held_back = {n for record in metrics.get("held_back", []) for n in record["candidates"]}
    earlier = len(set(metrics["members"]) - set(model["members"]) - held_back)
    assert f"\n{earlier} more members were trained in earlier rounds and not chosen;" in card


def test_card_shows_a_validation_choice_held_back_at_the_release_floors() -> None:
    from moosic_core.mood.card import render

    metrics = json.loads((Path(__file__).parents[1] / "models" / "face" / "metrics.json")
                         .read_text())
    record = {"date": "2026-11-27", "candidates": [*metrics["model"]["candidates"], "new-one"],
              "selection": [{**metrics["model"]["selection"][0], "added": "new-one"}],
              "served_eval": {"happy_sad_accuracy": 0.93, "roc_auc": 0.975,
                              "accuracy_7class": 0.7},
              "release_failures": ["happy_sad_accuracy 0.93 < 0.94"]}
    entry = {**metrics["members"][metrics["model"]["members"][0]], "name": "new-one", "seed": 999}
    with_record = {**metrics, "held_back": [record],
                   "members": {**metrics["members"], "new-one": entry}}
    section = render(with_record, {}, {}, {}).split("### Held back on 2026-11-27")[1]
    assert f"With 1 more candidates ({len(record['candidates'])} in all)" in section
    assert "chose new-one on validation" in section and "happy-vs-sad 0.930" in section
    assert "(happy_sad_accuracy 0.93 < 0.94), so the model above stayed served" in section
    assert section.count(", seed ") == 1 and ", seed 999 |" in section
    without = {**metrics, "members": with_record["members"]}
    without.pop("held_back", None)
    card = render(without, {}, {}, {})
    assert "### Held back" not in card and "more members were trained in earlier rounds" in card


def test_card_describes_an_averaging_stage_added_on_another_machine() -> None:
    from moosic_core.mood.card import render

    metrics = json.loads((Path(__file__).parents[1] / "models" / "face" / "metrics.json")
                         .read_text())
    served = metrics["model"]["members"]
    name = served[-1]
    gpu = {"gpu": True, "device": "NVIDIA H200", "keras": "3", "jax": "0"}
    cpu = {"gpu": False, "cpu_count": 2, "tensorflow": "2"}
    averaging = {"stage": "weight averaging", "epochs": 3, "lr": 3e-4, "pair_weight": 1.0,
                 "best_epoch": 2, "train_seconds": 600, "history": [], "environment": cpu}
    # Every served member trained its first two stages on the CPU, except the last one, which
    # trained them on a GPU and then had the averaging stage added on the CPU.
    members = {n: {**metrics["members"][n], "environment": cpu,
                   "stages": metrics["members"][n]["stages"][:2]} for n in served}
    entry = {**members[name], "environment": gpu, "stages": [*members[name]["stages"], averaging]}
    two = int(entry["stages"][0]["epochs"])
    for e in (*members.values(), entry):
        e["train_seconds"] = sum(int(st["train_seconds"]) for st in e["stages"])
    card = render({**metrics, "model": {**metrics["model"], "candidates": served},
                   "members": {**metrics["members"], **members, name: entry}}, {}, {}, {})
    arch, seed = entry["arch"], entry["seed"]
    assert f"{arch}:{seed}:{two}+{entry['stages'][1]['epochs']}+3" in card  # reproduce command
    assert f"- Stage 3, weight averaging (Izmailov et al. 2018), for {name}: " in card
    assert ("then the weight averaging stage was added later to 1 of them, on CPU, in **10.0 min**"
            in card)
    assert "(NVIDIA H200 + CPU) |" in card


def test_a_new_choice_below_the_release_floors_is_held_back_and_the_served_model_stays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moosic_core.mood.card import write_model_card
    from moosic_core.mood.evaluate import release_failures
    from moosic_core.training import release
    from moosic_core.training.face import train_face
    from moosic_core.training.members import parse_members

    fer = tiny_fer(tmp_path / "fer")
    face_dir, checkpoints = tmp_path / "models" / "face", tmp_path / "checkpoints"

    def train(spec: str, key: str = "accuracy") -> release.Release:
        return train_face(fer, face_dir, checkpoints, parse_members(spec), batch=14, reuse=True,
                          selection_key=key)

    # random faces score below the floors, but with no model served before, the choice is served
    first = train("compact:1:1+0")
    evaluation = json.loads((face_dir / "eval_test.json").read_text())
    assert evaluation["n"] == 12 and evaluation["n_7class"] == 42
    assert first.held_back is None and first.served["members"] == ["compact-seed1"]
    assert first.served["release_failures"] == release_failures(evaluation) != []
    assert "is served although it is below the release floors on test" in (
        write_model_card(face_dir).read_text())
    served_bytes = (face_dir / "mood.tflite").read_bytes()
    before = json.loads((face_dir / "metrics.json").read_text())

    measure = release.evaluate_faces

    def scored(keeping: bytes | None) -> Callable[..., dict[str, Any]]:
        def evaluate(model: MoodModel, *args: Any) -> dict[str, Any]:  # the real one, then
            result = measure(model, *args)  # the figures that make only `keeping` pass
            keeps = keeping is None or model.blob == keeping
            return {**result, "happy_sad_accuracy": 0.96 if keeps else 0.93, "roc_auc": 0.99,
                    "accuracy_7class": 0.7}
        return evaluate

    # a new choice below the floors while the served model keeps them: held back
    monkeypatch.setattr(release, "evaluate_faces", scored(served_bytes))
    second = train("compact:3:1+0", key="log-loss")
    after = json.loads((face_dir / "metrics.json").read_text())
    record = second.held_back
    assert record is not None and after["held_back"] == [record]
    assert second.served == after["model"] == before["model"]
    assert (face_dir / "mood.tflite").read_bytes() == served_bytes
    assert json.loads((face_dir / "eval_test.json").read_text()) == evaluation
    assert record["candidates"] == ["compact-seed3"]
    assert [row["added"] for row in record["selection"]] == ["compact-seed3"]
    assert record["served_eval"]["happy_sad_accuracy"] == 0.93
    assert record["release_failures"] == ["happy_sad_accuracy 0.93 < 0.94"]
    assert record["commands"] == [
        "moosic train face --reuse --members compact:3:1+0 --selection-key log-loss"]
    assert "compact-seed3" in after["members"]  # its figures are kept
    assert [p.name for p in (face_dir / "members").iterdir()] == ["compact-seed1.npz"]
    assert (checkpoints / "members" / "compact-seed3.npz").exists()
    card = write_model_card(face_dir).read_text()
    assert "### Held back on " in card and "chose compact-seed3 on validation" in card

    # a new choice that keeps the floors replaces it, with its evaluation
    monkeypatch.setattr(release, "evaluate_faces", scored(None))
    third = train("compact:1:1+0,compact:3:1+0")
    assert third.held_back is None and third.served["release_failures"] == []
    assert third.served["selection_key"] == "accuracy"
    assert json.loads((face_dir / "metrics.json").read_text())["held_back"] == [record]
    assert json.loads((face_dir / "eval_test.json").read_text())["happy_sad_accuracy"] == 0.96
    assert sorted(p.stem for p in (face_dir / "members").glob("*.npz")) == sorted(
        third.served["members"])
