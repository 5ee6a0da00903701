"""``moosic config``: show the effective configuration (secrets masked)."""

from __future__ import annotations

import argparse

from moosic_core.cli.common import CommandTree, print_json
from moosic_core.config import Config, describe, toml_value


def show_config(args: argparse.Namespace, config: Config) -> int:
    described = describe(config)
    if args.json:
        print_json(described)
    else:
        for section, values in described.items():
            print(f"[{section}]")
            for key, value in values.items():
                print(f"{key} = {toml_value(value)}")
    return 0


def register(tree: CommandTree) -> None:
    tree.add("config", show_config, help="show the effective configuration (secrets masked)")
