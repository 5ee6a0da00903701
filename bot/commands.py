"""``moosic run`` and ``moosic bot console|telegram``: start the chat front-ends."""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.console import run_console
from bot.conversation import Conversation
from moosic_core.app import open_service
from moosic_core.cli.common import CommandTree
from moosic_core.config import Config

log = logging.getLogger(__name__)


async def _console(config: Config) -> None:
    async with open_service(config) as service:
        await run_console(Conversation(service))


def run_command(args: argparse.Namespace, config: Config) -> int:
    """Start the configured bots; the console chat when no chat token is configured."""
    if not config.telegram.token and not config.discord.token:
        log.info("no chat token configured: starting the console chat")
        asyncio.run(_console(config))
        return 0
    return bot_command(argparse.Namespace(platform="all"), config)


async def _telegram(config: Config) -> None:
    from bot.telegram import run_telegram  # imports python-telegram-bot only when needed

    await run_telegram(config)


def bot_command(args: argparse.Namespace, config: Config) -> int:
    """Start one front-end by name ("all": every front-end with a token)."""
    if args.platform == "telegram" or (args.platform == "all" and config.telegram.token):
        asyncio.run(_telegram(config))
        return 0
    asyncio.run(_console(config))
    return 0


def register(tree: CommandTree) -> None:
    tree.add("run", run_command, json_flag=False,
             help="start the bots (a console chat when no token is configured)")
    parser = tree.add("bot", bot_command, json_flag=False, help="start one front-end")
    parser.add_argument("platform", choices=("console", "telegram"))
