"""The ``moosic`` command: the core's commands plus running the chat bots."""

from __future__ import annotations

import sys

from moosic_core.cli import main as core_main

BOT_COMMANDS = ("bot.commands",)


def main(argv: list[str] | None = None) -> int:
    return core_main(argv, BOT_COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
