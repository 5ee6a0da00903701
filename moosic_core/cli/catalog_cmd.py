"""``moosic catalog build`` and ``moosic catalog show``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moosic_core.cli.common import CommandTree, print_json, whole_number
from moosic_core.config import Config
from moosic_core.errors import ConfigError


def build_command(args: argparse.Namespace, config: Config) -> int:
    try:
        import pandas  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        raise ConfigError("Building the catalog needs the training extras, which serving does "
                          "not install: run `make catalog` (or pip install -e '.[train]').") \
            from None
    from moosic_core.catalog.store import build_catalog

    report = build_catalog(args.source or config.data.catalog_source,
                           config.paths.models_dir / "songs", config.paths.catalog_dir,
                           packed=config.paths.packed_catalog)
    summary = {"rows": report.rows, "genres": report.genres, "servable": report.servable,
               "seconds": report.seconds, "bytes": report.bytes, "path": str(report.path),
               "packed": str(config.paths.packed_catalog),
               "packed_rewritten": report.packed_written}
    if args.json:
        print_json(summary)
    else:
        print(f"Catalog: {report.rows} tracks in {report.genres} genres ({report.servable} "
              f"servable), {report.bytes / 1e6:.1f} MB, built in {report.seconds:.1f} s "
              f"-> {report.path}")
        print(f"Serving catalog {config.paths.packed_catalog}: " + (
            "rewritten (its contents changed)" if report.packed_written else "unchanged"))
    return 0


def show_command(args: argparse.Namespace, config: Config) -> int:
    from moosic_core.app import load_tool_catalog

    rows = load_tool_catalog(config).show(args.genre, args.limit)
    if args.format == "json" or args.json:
        print_json(rows.to_dict(orient="records"))
    else:
        rows.to_csv(sys.stdout, index=False)
    return 0


def register(tree: CommandTree) -> None:
    parser = tree.add("catalog build", build_command,
                      help="build the song catalog from the dataset CSV")
    parser.add_argument("--source", type=Path,
                        help="dataset CSV (default: config data.catalog_source)")
    parser = tree.add("catalog show", show_command, help="print catalog rows")
    parser.add_argument("--genre", help="only tracks listed under this genre")
    parser.add_argument("--limit", type=whole_number(1), default=20,
                        help="at most this many rows (default 20)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
