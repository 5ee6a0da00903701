"""``moosic run`` and ``moosic bot console|telegram|discord|all``: start the chat front-ends."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable

from bot.conversation import Conversation
from bot.frontends import ConsoleFrontEnd, FrontEnd, serve
from bot.hints import CHAT_HINTS
from bot.monitor import Monitor
from bot.startup import connect_with_retries
from moosic_core.app import open_service
from moosic_core.cli.common import CommandTree
from moosic_core.config import Config
from moosic_core.config_check import listen_address, report
from moosic_core.errors import ConfigError, DatabaseUnreachable
from moosic_core.store import Store
from moosic_core.store.db import is_unreachable

log = logging.getLogger(__name__)


def _telegram(conversation: Conversation, config: Config) -> FrontEnd:
    from bot.telegram import TelegramBot  # python-telegram-bot loads only when it is used

    return TelegramBot(conversation.service, config.telegram, conversation=conversation,
                       startup=config.startup)


def _discord(conversation: Conversation, config: Config) -> FrontEnd:
    from bot.discord_bot import DiscordFrontEnd  # discord.py loads only when it is used

    return DiscordFrontEnd(conversation, config.discord, config.startup)


#: Front-ends by name, and whether the configuration enables each for ``bot all``.
FRONT_ENDS: dict[str, Callable[[Conversation, Config], FrontEnd]] = {
    "console": lambda conversation, config: ConsoleFrontEnd(conversation),
    "telegram": _telegram,
    "discord": _discord,
}
CONFIGURED: dict[str, Callable[[Config], bool]] = {
    "telegram": lambda config: bool(config.telegram.token),
    "discord": lambda config: bool(config.discord.token),
}


def front_end_names(platform: str, config: Config) -> list[str]:
    """The front-ends ``platform`` stands for; ``all`` is every one with a token configured."""
    if platform != "all":
        return [platform]
    names = [name for name, enabled in CONFIGURED.items() if enabled(config)]
    if not names:
        raise ConfigError("No chat token is configured: set MOOSIC_DISCORD_TOKEN (or "
                          "MOOSIC_TELEGRAM_TOKEN), or run `moosic bot console`.")
    return names


async def open_store_with_retries(store: Store, config: Config) -> None:
    """Open the store, trying again (``startup.retry_for_s``, like the chat platforms) while
    the database server is unreachable: after a reboot PostgreSQL may come up after the bot.

    A warning per failed try; raises :class:`DatabaseUnreachable` (exit status 1: the service
    manager restarts the bot) when the time is spent, and a wrong database name, user,
    password or URL (:class:`DataError`, :class:`ConfigError`; exit status 2) at once."""
    await connect_with_retries("Database", store.open, is_unreachable,
                               config.startup, gave_up=DatabaseUnreachable,
                               advice="check that the server is running and the config key "
                               "store.database_url")


async def run_front_ends(config: Config, names: list[str],
                         monitor: Monitor | None = None) -> None:
    """One service and one conversation shared by the named front-ends, run together.

    The configuration is checked first (problems logged once, fatal ones raise); the monitor
    endpoint, when ``monitor.listen`` is set, starts before the models load.
    """
    report(config)
    monitor = monitor or Monitor()
    if config.monitor.listen:
        await monitor.start(*listen_address(config.monitor.listen))
    try:
        async with open_service(config, monitor.metrics, CHAT_HINTS,
                                lambda store: open_store_with_retries(store, config)) as service:
            monitor.service = service
            conversation = Conversation(service)
            front_ends = [FRONT_ENDS[name](conversation, config) for name in names]
            monitor.front_ends = front_ends
            # This process's group-round sweeper: rounds opened before a restart or on another
            # replica close on their timers here too (they live in the store).
            conversation.groups.start_sweeper()
            try:  # the sweeper stops before the front-ends: a round it took gets posted
                await serve(front_ends, stopping=conversation.groups.close_all)
            finally:
                await conversation.groups.close_all()  # (again: safe) rounds stay stored
    finally:
        await monitor.stop()


#: The log level while a console chat shares the terminal (without ``-v``): only problems.
CONSOLE_LOG_LEVEL = logging.WARNING


def quiet_logs_for_console(args: argparse.Namespace) -> None:
    """While the console chat runs in this terminal, the operator's log (on stderr) keeps to
    warnings and errors, so INFO lines don't land between the chat's answers; ``-v`` keeps
    every line (debugging), and records below WARNING are then still on stderr."""
    if getattr(args, "verbose", False):
        return
    root = logging.getLogger()
    root.setLevel(max(root.level, CONSOLE_LOG_LEVEL))


def run_command(args: argparse.Namespace, config: Config) -> int:
    """Start the configured bots; the console chat when no chat token is configured."""
    if not any(enabled(config) for enabled in CONFIGURED.values()):
        quiet_logs_for_console(args)
        log.info("no chat token configured: starting the console chat")
        asyncio.run(run_front_ends(config, ["console"]))
        return 0
    return bot_command(argparse.Namespace(platform="all"), config)


def bot_command(args: argparse.Namespace, config: Config) -> int:
    """Start one front-end by name, or ``all`` configured ones in one process."""
    names = front_end_names(args.platform, config)
    missing = [n for n in names if n in CONFIGURED and not CONFIGURED[n](config)]
    if missing:  # fail before loading the models
        raise ConfigError(f"The {missing[0].title()} bot needs a token: set "
                          f"MOOSIC_{missing[0].upper()}_TOKEN (or [{missing[0]}] token in "
                          "config.toml).")
    if "console" in names:
        quiet_logs_for_console(args)
    asyncio.run(run_front_ends(config, names))
    return 0


def register(tree: CommandTree) -> None:
    tree.add("run", run_command, json_flag=False,
             help="start the bots (a console chat when no token is configured)")
    parser = tree.add("bot", bot_command, json_flag=False,
                      help="start one front-end, or all configured ones in one process")
    parser.add_argument("platform", choices=(*FRONT_ENDS, "all"))
