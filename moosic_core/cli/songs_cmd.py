"""``moosic train songs`` and ``moosic eval songs``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moosic_core.cli.common import CommandTree, print_json
from moosic_core.config import Config


def train_songs_command(args: argparse.Namespace, config: Config) -> int:
    from tqdm import tqdm

    from moosic_core.songs.report import write_report
    from moosic_core.songs.train import train_songs

    out_dir = config.paths.models_dir / "songs"
    source = args.source or config.data.catalog_source
    bar = tqdm(total=9, desc="train songs", file=sys.stderr, disable=not sys.stderr.isatty())

    def step(message: str) -> None:
        bar.set_postfix_str(message)
        bar.update(1)

    result = train_songs(source, config.data.song_emotion_dir, out_dir, step)
    report = write_report(result, out_dir, "moosic train songs")
    bar.close()
    if args.json:
        print_json({**result.metrics, "seconds": result.seconds, "report": str(report)})
    else:
        m = result.metrics
        print(f"emotion proxy accuracy {m['emotion_proxy']['accuracy']:.4f}, "
              f"genre5 accuracy {m['genre5']['accuracy']:.4f}, "
              f"all genres top-1 {m['genre_all']['top1']:.4f} / top-5 {m['genre_all']['top5']:.4f}"
              f" ({result.seconds:.0f} s). Report: {report}")
    return 0


def eval_songs_command(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.songs.evaluate import evaluate_songs

    result = evaluate_songs(args.source or config.data.catalog_source,
                            config.data.song_emotion_dir, config.paths.models_dir / "songs")
    if args.json:
        print_json(result)
    else:
        for section, values in result.items():
            print(f"{section}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    return 0


def register(tree: CommandTree) -> None:
    parser = tree.add("train songs", train_songs_command,
                      help="train the song models and write models/songs/REPORT.md")
    parser.add_argument("--source", type=Path, help="dataset CSV (default: config)")
    parser = tree.add("eval songs", eval_songs_command,
                      help="re-evaluate the saved song models on the held-out splits")
    parser.add_argument("--source", type=Path, help="dataset CSV (default: config)")

