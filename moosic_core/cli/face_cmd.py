"""``moosic mood IMAGE``, ``moosic train face`` and ``moosic eval face``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moosic_core.cli.common import (
    EXIT_INTERNAL_ERROR,
    EXIT_USER_ERROR,
    CommandTree,
    describe_error,
    positive_number,
    print_json,
    whole_number,
)
from moosic_core.config import Config
from moosic_core.errors import DataError
from moosic_core.mood.card import ARCH_LABELS
from moosic_core.training.members import (
    DEFAULT_MEMBERS,
    DEFAULT_SCHEDULE,
    FRONTIER_KEY,
    LATENCY_BUDGET_MS,
    SELECTION_KEY_NAMES,
    parse_members,
)

if TYPE_CHECKING:
    from moosic_core.mood.reader import FaceMoodReader


def mood(args: argparse.Namespace, config: Config) -> int:
    """Read every photo given, with the models loaded once; one result per photo (JSON Lines
    with ``--json``), in the order given. A photo that fails gets its error and the others are
    still read; the exit code is non-zero when any failed (internal errors first)."""
    from moosic_core.mood.reader import FaceMoodReader, model_path

    reader = FaceMoodReader(model_path(config.paths.models_dir))
    codes = []
    for image in args.images:
        try:
            out: dict[str, object] = {"image": image, **_read_mood(reader, Path(image))}
            codes.append(0)
        except Exception as exc:  # one bad photo must not lose the others' answers
            message, kind, code = describe_error(exc)
            out = {"image": image, "error": message, "kind": kind}
            codes.append(code)
        if args.json:
            print_json(out)
        else:
            _print_mood(out)
    failed = [c for c in codes if c]
    return (EXIT_INTERNAL_ERROR if EXIT_INTERNAL_ERROR in failed
            else EXIT_USER_ERROR if failed else 0)


def _read_mood(reader: FaceMoodReader, path: Path) -> dict[str, object]:
    """One photo's faces (largest first) and the milliseconds the reading took (decode, detect,
    mood; not the file read)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}") from None
    t0 = time.perf_counter()
    faces = reader.read(data)
    ms = (time.perf_counter() - t0) * 1000.0
    return {"faces": [{"box": list(f.box), "mood_score": f.mood_score, "emotions": f.emotions,
                       "valence": f.valence, "arousal": f.arousal} for f in faces],
            "ms": round(ms, 1)}


def _print_mood(out: dict[str, Any]) -> None:
    """One photo's result in words: its faces on stdout, or its error on stderr."""
    if "error" in out:
        sys.stderr.write(f"{out['image']}: error: {out['error']}\n")
        return
    print(f"{out['image']}:")
    for i, f in enumerate(out["faces"], 1):
        top = max(f["emotions"], key=lambda e: f["emotions"][e])
        print(f"  face {i} at {f['box']}: mood {f['mood_score']:.2f} "
              f"(0 = sad, 1 = happy), mostly {top} ({f['emotions'][top]:.0%}), "
              f"valence {f['valence']:+.2f}, arousal {f['arousal']:+.2f}")
    print(f"  {len(out['faces'])} face(s) in {out['ms']:.1f} ms")


def train_face(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.mood.card import write_model_card
    from moosic_core.training import face

    out_dir = Path(config.paths.models_dir) / "face"
    fer_dir = Path(config.data.fer2013_dir)
    result: dict[str, object] = {}
    if not args.compare_only:
        members = parse_members(args.members, args.epochs, args.finetune_epochs)
        deadline = (None if args.time_budget is None
                    else time.monotonic() + 60.0 * args.time_budget)
        checkpoint_dir = config.paths.checkpoints_dir / "face"
        outcome = face.train_face(fer_dir, out_dir, checkpoint_dir, members, batch=args.batch,
                                  finetune_lr=args.finetune_lr, pair_weight=args.pair_weight,
                                  reuse=args.reuse, deadline=deadline,
                                  selection_key=args.selection_key)
        result["model"] = outcome.served
        if outcome.held_back is not None:
            result["held_back"] = outcome.held_back
    if args.compare or args.compare_only:
        result["comparison"] = face.compare_architectures(
            fer_dir, out_dir, epochs=args.compare_epochs, n_train=args.compare_n_train or None)
    write_model_card(out_dir)
    if args.json:
        print_json(result)
    else:
        held = result.get("held_back")
        if isinstance(held, dict):
            print(f"held back the new choice ({'; '.join(held['release_failures'])} on test, "
                  "below the release floors): the model served before stays")
        print(f"wrote {out_dir} (model card: {out_dir / 'MODEL_CARD.md'})")
    return 0


def train_face_frontier(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.mood.card import write_model_card
    from moosic_core.training.frontier import serve_frontier

    out_dir = Path(config.paths.models_dir) / "face"
    outcome = serve_frontier(Path(config.data.fer2013_dir), out_dir,
                             config.paths.checkpoints_dir / "face", args.budget_ms, args.key)
    write_model_card(out_dir)
    frontier = (outcome.held_back or outcome.served).get("frontier", {})
    if args.json:
        print_json({"model": outcome.served, "held_back": outcome.held_back})
        return 0
    for i, row in enumerate(frontier.get("rows", [])):
        mark = "*" if i == frontier.get("chosen") else " "
        print(f"{mark} {' + '.join(row['members']):40} {row['views']} views: val happy-vs-sad "
              f"{row['validation']['happy_sad_accuracy']:.4f}, 7-class "
              f"{row['validation']['accuracy_7class']:.4f}, "
              f"{row['latency_ms_litert_1face']:.2f} ms/face, {row['tflite_bytes']:,} bytes")
    if outcome.held_back is not None:
        print(f"held back the new choice ({'; '.join(outcome.held_back['release_failures'])} "
              "on test, below the release floors): the model served before stays")
    print(f"wrote {out_dir} (model card: {out_dir / 'MODEL_CARD.md'})")
    return 0


def eval_face(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.mood.evaluate import evaluate_split
    from moosic_core.mood.reader import model_path

    result = evaluate_split(model_path(config.paths.models_dir), Path(config.data.fer2013_dir),
                            args.split)
    if args.json:
        print_json(result)
    else:
        print(f"FER-2013 {args.split}: happy-vs-sad accuracy {result['happy_sad_accuracy']:.4f} "
              f"(n={result['n']}), ROC AUC {result['roc_auc']:.4f}, 7-class accuracy "
              f"{result['accuracy_7class']:.4f} (n={result['n_7class']}), "
              f"{result['seconds']} s")
    return 0


def eval_face_selection(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.mood.card import write_model_card
    from moosic_core.training.selection_study import study_recorded

    out_dir = Path(config.paths.models_dir) / "face"
    result = study_recorded(out_dir, Path(config.data.fer2013_dir), args.rounds, args.seed,
                            save=args.save)
    if args.save:
        write_model_card(out_dir)
    if args.json:
        print_json(result)
    else:
        print(f"{result['candidates']} candidates, {result['rounds']} random halvings of "
              f"validation: choose on one half, score on the other")
        for key, row in result["keys"].items():
            print(f"  {key:>9}: held-out happy-vs-sad {row['held_out_happy_sad_accuracy']:.4f} "
                  f"({row['gain_happy_sad_accuracy']:+.4f} +- {row['gain_happy_sad_stderr']:.4f}"
                  f"), 7-class {row['held_out_accuracy_7class']:.4f} "
                  f"({row['gain_accuracy_7class']:+.4f} +- {row['gain_7class_stderr']:.4f}), "
                  f"{row['mean_members']} members")
    return 0


def eval_face_detector(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.mood.card import write_model_card
    from moosic_core.mood.detect_eval import measure_detector, save_detector_metrics
    from moosic_core.mood.reader import model_path

    result = measure_detector(Path(config.data.fer2013_dir), model_path(config.paths.models_dir),
                              n_faces=args.n)
    if args.save:
        save_detector_metrics(Path(config.paths.models_dir) / "face", result)
        write_model_card(Path(config.paths.models_dir) / "face")
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key}: {value}\n")
    return 0


def register(tree: CommandTree) -> None:
    p = tree.add("mood", mood, help="read the mood on the faces of one or more photos "
                 "(--json: one JSON line per photo)")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="photos (JPEG, PNG, WebP, HEIC, AVIF, TIFF, ...)")

    p = tree.add("train face", train_face,
                 help="train the face mood model on FER-2013 and export it to models/face/")
    p.add_argument("--members", default=DEFAULT_MEMBERS,
                   help="the served ensemble: comma-separated "
                   "ARCH:SEED[:EPOCHS+FINETUNE_EPOCHS[+AVERAGE_EPOCHS]], "
                   f"ARCH one of {', '.join(ARCH_LABELS)} (default {DEFAULT_MEMBERS})")
    p.add_argument("--epochs", type=whole_number(1),
                   help="stage 1 epochs from scratch, for every member "
                   f"(default: the member's own, else {DEFAULT_SCHEDULE[0]})")
    p.add_argument("--finetune-epochs", type=whole_number(0),
                   help="stage 2 epochs with the happy-vs-sad term, for every member (0 skips "
                   f"it; default: the member's own, else {DEFAULT_SCHEDULE[1]})")
    p.add_argument("--finetune-lr", type=positive_number, default=1e-3,
                   help="stage 2 peak learning rate")
    p.add_argument("--pair-weight", type=float, default=1.0,
                   help="weight of the happy-vs-sad term in stage 2's loss")
    p.add_argument("--reuse", action="store_true",
                   help="keep the members an earlier run finished (same architecture, seed and "
                   "epochs), resume an unfinished one from its last epoch and train the others")
    p.add_argument("--time-budget", type=positive_number, metavar="MINUTES",
                   help="stop at the last epoch that fits in this many minutes, saving the "
                   "state (continue later with --reuse)")
    p.add_argument("--selection-key", choices=SELECTION_KEY_NAMES, default=SELECTION_KEY_NAMES[0],
                   help="how greedy selection compares ensembles on validation: happy-vs-sad "
                   "then 7-class accuracy, or the 7-class log-loss (see `moosic eval "
                   "face-selection`)")
    p.add_argument("--batch", type=whole_number(1), default=128)
    p.add_argument("--compare", action="store_true",
                   help="also train the comparison architectures (briefly)")
    p.add_argument("--compare-only", action="store_true",
                   help="only train the comparison architectures")
    p.add_argument("--compare-epochs", type=whole_number(1), default=5)
    p.add_argument("--compare-n-train", type=whole_number(0), default=0,
                   help="training images (random subset) for each comparison network; 0: all")

    p = tree.add("train face-frontier", train_face_frontier,
                 help="serve the selected members and test-time views on the accuracy/latency "
                 "frontier: measured on validation, chosen within the latency budget, exported "
                 "to models/face/mood.tflite through the release gate (no training)")
    p.add_argument("--budget-ms", type=positive_number, default=LATENCY_BUDGET_MS,
                   help="the served model's time per face on one thread, in ms "
                   f"(default {LATENCY_BUDGET_MS:g})")
    p.add_argument("--key", choices=SELECTION_KEY_NAMES, default=FRONTIER_KEY,
                   help="how the points within the budget are compared on validation (default "
                   f"{FRONTIER_KEY}: the key that chose better in `moosic eval face-selection`)")

    p = tree.add("eval face-selection", eval_face_selection,
                 help="which selection key chooses the better ensemble: choose on half of "
                 "validation, score on the other half (test is not read)")
    p.add_argument("--rounds", type=whole_number(1), default=300,
                   help="random halvings of validation")
    p.add_argument("--seed", type=whole_number(0), default=0)
    p.add_argument("--save", action="store_true",
                   help="record the result in models/face/metrics.json and the model card")

    p = tree.add("eval face", eval_face,
                 help="evaluate the served face model on FER-2013 (happy vs sad, 7 classes)")
    p.add_argument("--split", choices=("train", "validation", "test"), default="test")

    p = tree.add("eval face-detector", eval_face_detector,
                 help="measure the face detector (recall, false detections, time)")
    p.add_argument("--n", type=whole_number(1), default=500,
                   help="FER-2013 test faces to place in photos")
    p.add_argument("--save", action="store_true", help="store the numbers for the model card")
