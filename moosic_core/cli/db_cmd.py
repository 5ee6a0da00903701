"""``moosic db backup|restore`` and ``moosic keys generate|rotate``: keeping the data safe.

See :mod:`moosic_core.store.backup` (online backup API, restore refused while a bot runs) and
:mod:`moosic_core.crypto` (key rotation with MultiFernet). With ``store.database_url`` set
(PostgreSQL), backup and restore point to ``pg_dump``/``pg_restore``; ``keys rotate`` works on
either store.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from moosic_core.cli.common import CommandTree, print_json
from moosic_core.config import Config
from moosic_core.config_check import token_key_problem
from moosic_core.crypto import TokenCipher
from moosic_core.errors import ConfigError, DataError
from moosic_core.store import Store
from moosic_core.store.backup import BackupInfo, backup, restore

log = logging.getLogger(__name__)


def _info(info: BackupInfo) -> dict[str, object]:
    return {"path": str(info.path), "bytes": info.bytes, "schema": info.schema,
            "users": info.users}


PG_BACKUP_HINT = (
    "store.database_url points at PostgreSQL: `moosic db backup/restore` copy the SQLite file "
    "only. Back PostgreSQL up with its own tools, safe while the bot runs: "
    "`pg_dump --format=custom --file=moosic.dump DB` and restore (bot stopped) with "
    "`pg_restore --clean --if-exists --dbname=DB moosic.dump`.")


def _sqlite_only(config: Config) -> None:
    if config.store.database_url:
        raise DataError(PG_BACKUP_HINT)


def backup_command(args: argparse.Namespace, config: Config) -> int:
    _sqlite_only(config)
    info = backup(config.paths.database, args.path, force=args.force)
    if args.json:
        print_json(_info(info))
    else:
        print(f"Backed up {config.paths.database} to {info.path} ({info.bytes} bytes, "
              f"{info.users} users).")
    return 0


def restore_command(args: argparse.Namespace, config: Config) -> int:
    _sqlite_only(config)
    info, kept = restore(Path(args.path).expanduser(), config.paths.database)
    if args.json:
        print_json({**_info(info), "previous": str(kept) if kept else None})
    else:
        print(f"Restored {args.path} into {config.paths.database} ({info.users} users)."
              + (f" The replaced database was kept as {kept}." if kept else ""))
    return 0


def generate_key_command(args: argparse.Namespace, config: Config) -> int:
    key = Fernet.generate_key().decode("ascii")
    if args.json:
        print_json({"key": key})
    else:
        print(key)
    return 0


async def _rotate(config: Config) -> dict[str, int]:
    cipher = TokenCipher.from_config(config)

    def rotate(blob: bytes) -> bytes | None:
        try:
            return cipher.rotate(blob)
        except InvalidToken:
            return None  # written with a key no longer configured: that user signs in again

    async with Store.from_config(config) as store:
        return await store.rewrite_secrets(rotate)


def rotate_keys_command(args: argparse.Namespace, config: Config) -> int:
    problem = token_key_problem(config.security.token_key)
    if problem:
        raise ConfigError(f"Config key security.token_key {problem}: set it to NEW,OLD (the new "
                          "key first) before rotating; `moosic keys generate` makes a key.")
    counts = asyncio.run(_rotate(config))
    if counts["kept"]:
        log.warning("%d stored secret(s) could not be read with any configured key; their "
                    "users will be asked to sign in to Spotify again", counts["kept"])
    if args.json:
        print_json(counts)
    else:
        print(f"Re-encrypted {counts['rewritten']} stored secret(s) with the first key of "
              f"security.token_key; {counts['kept']} unreadable. You can now remove the old "
              "key(s) from security.token_key and restart.")
    return 0


def register(tree: CommandTree) -> None:
    p = tree.add("db backup", backup_command,
                 help="copy the database safely while the bot runs (SQLite online backup)")
    p.add_argument("path", help="the backup file (must not exist yet), or an existing folder "
                   "(or a path ending in /) for a time-stamped file inside it")
    p.add_argument("--force", action="store_true", help="replace an existing backup file")
    p = tree.add("db restore", restore_command,
                 help="replace the database by a backup (stop the bot first)")
    p.add_argument("path", help="a file written by `moosic db backup`")
    tree.add("keys generate", generate_key_command,
             help="print a new key for security.token_key")
    tree.add("keys rotate", rotate_keys_command,
             help="re-encrypt stored Spotify tokens with the first key of security.token_key")
