"""The ``moosic`` command-line tool."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from moosic_core.cli.common import CommandTree, ContractParser, print_json, report_error
from moosic_core.config import load_config, secret_values
from moosic_core.errors import UsageError
from moosic_core.logs import LOG_FORMATS, install_secret_redaction, setup_logging

# Modules that register subcommands (each has ``register(tree: CommandTree)``).
COMMAND_MODULES = (
    "moosic_core.cli.config_cmd",
    "moosic_core.cli.catalog_cmd",
    "moosic_core.cli.songs_cmd",
    "moosic_core.cli.taste_cmd",
    "moosic_core.cli.face_cmd",
    "moosic_core.cli.recommend_cmd",
    "moosic_core.cli.group_cmd",
    "moosic_core.cli.db_cmd",
)


def build_parser(extra_modules: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    parser = ContractParser(prog="moosic", description="Moo-Sic: music for your mood.")
    parser.add_argument("--config", help="path to a config TOML file (default: config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--log-format", choices=LOG_FORMATS,
                        help="text lines or one JSON object per line (default: logging.format)")
    tree = CommandTree(parser)
    for name in (*COMMAND_MODULES, *extra_modules):
        importlib.import_module(name).register(tree)
    return parser


def main(argv: list[str] | None = None, extra_modules: tuple[str, ...] = ()) -> int:
    """Run the CLI; ``extra_modules`` add commands from outside the core (the chat bots)."""
    parser = build_parser(extra_modules)
    words = sys.argv[1:] if argv is None else argv
    try:
        args = parser.parse_args(words)
    except UsageError as exc:  # under --json too, the {"error", "kind"} contract (exit 2)
        return report_usage_error(exc, "--json" in words)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    as_json = bool(getattr(args, "json", False))
    try:
        config = load_config(args.config)
        setup_logging("DEBUG" if args.verbose else config.logging.level,
                      args.log_format or config.logging.format)
        install_secret_redaction(secret_values(config))
        return int(args.handler(args, config))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the CLI's contract: no traceback, a clear message
        return report_error(exc, as_json)


def report_usage_error(exc: UsageError, as_json: bool) -> int:
    """A command line argparse refused: ``{"error", "kind": "UsageError"}`` under ``--json``,
    else argparse's usage line and message on stderr. Returns exit code 2."""
    if as_json:
        print_json({"error": str(exc), "kind": exc.kind})
    else:
        sys.stderr.write(getattr(exc, "usage", ""))
        sys.stderr.write(f"{getattr(exc, 'prog', 'moosic')}: error: {exc}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
