"""Keeping data safe: online backup of a live WAL database, restore (refused while in use),
owner-only files, and re-encrypting stored Spotify tokens with a new key."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from moosic_core import PROJECT_ROOT
from moosic_core.crypto import TokenCipher
from moosic_core.errors import DataError, NotLinked
from moosic_core.store import Link, Store
from moosic_core.store.backup import backup, inspect, restore
from moosic_core.types import UserRef

ANA, BEA, CAI = UserRef("telegram", "1"), UserRef("discord", "2"), UserRef("telegram", "3")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def moosic(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(PROJECT_ROOT), **env})


async def test_database_and_directory_are_owner_only(tmp_path) -> None:
    path = tmp_path / "new" / "dir" / "moosic.sqlite3"
    async with Store(path) as store:
        await store.ensure_user(ANA)
        assert (path.parent / "moosic.sqlite3-wal").exists()
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
        assert mode(path.parent / "moosic.sqlite3-wal") == 0o600
        assert mode(path.parent / "moosic.sqlite3-shm") == 0o600
    loose = tmp_path / "loose.sqlite3"
    loose.touch(mode=0o644)
    os.chmod(loose, 0o644)
    async with Store(loose):
        assert mode(loose) == 0o600  # an existing file others could read is tightened


async def test_backup_of_a_live_wal_database_and_restore(tmp_path) -> None:
    path = tmp_path / "moosic.sqlite3"
    async with Store(path) as store:
        for who in (ANA, BEA):
            await store.add_feedback(who, "track-1", 1)
        wal = path.with_name("moosic.sqlite3-wal")
        assert wal.stat().st_size > 0  # the rows are still in the WAL, not in the main file
        copied = backup(path, tmp_path / "backups")  # while the store is open
        assert copied.users == 2 and mode(copied.path) == 0o600
        assert not copied.path.with_name(copied.path.name + "-wal").exists()  # one file
        await store.add_feedback(CAI, "track-2", -1)  # after the backup
        with pytest.raises(DataError, match="in use"):  # never under a running bot
            restore(copied.path, path)
        assert await store.find_user(CAI) is not None
    info, kept = restore(copied.path, path)
    assert info.users == 2 and kept is not None and inspect(kept).users == 3
    async with Store(path) as store:
        assert await store.feedback(ANA) == {"track-1": 1}
        assert await store.find_user(CAI) is None
        await store.add_feedback(CAI, "track-3", 1)  # the restored database is writable
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataError, match="not a Moo-Sic database"):
        restore(junk, tmp_path / "moosic.sqlite3")
    assert not (tmp_path / "moosic.sqlite3-wal").exists()


async def test_db_backup_and_restore_commands(tmp_path) -> None:
    path = tmp_path / "moosic.sqlite3"
    async with Store(path) as store:
        await store.ensure_user(ANA)
    env = {"MOOSIC_PATHS_DATABASE": str(path)}
    made = moosic("db", "backup", str(tmp_path / "b.sqlite3"), "--json", env=env)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["users"] == 1
    back = moosic("db", "restore", str(tmp_path / "b.sqlite3"), "--json", env=env)
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["previous"].startswith(str(path) + ".before-restore-")
    missing = moosic("db", "restore", str(tmp_path / "nope.sqlite3"), env=env)
    assert missing.returncode == 2 and "No database file" in missing.stderr


def store_env(target: Path | str) -> dict[str, str]:
    """The environment pointing the CLI at a test's store (SQLite file or PostgreSQL URL)."""
    if isinstance(target, Path):
        return {"MOOSIC_PATHS_DATABASE": str(target)}
    return {"MOOSIC_STORE_DATABASE_URL": target}


async def test_keys_rotate_reencrypts_stored_tokens(store_target: Path | str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    path = store_target
    old_cipher = TokenCipher(old)
    async with Store(path) as store:
        await store.set_link(ANA, Link(kind="spotify_oauth", spotify_user_id="ana",
                                       access_token=old_cipher.encrypt("access-A"),
                                       refresh_token=old_cipher.encrypt("refresh-A")))
        await store.add_oauth_state(BEA, "state-1", old_cipher.encrypt("verifier-B"), 600)
    only_new = TokenCipher(new)
    async with Store(path) as store:
        link = await store.get_link(ANA)
        assert link is not None and link.access_token is not None
        with pytest.raises(NotLinked):  # before rotation the new key alone can't read it
            only_new.decrypt(link.access_token)

    env = {**store_env(path), "MOOSIC_SECURITY_TOKEN_KEY": f"{new},{old}"}
    proc = moosic("keys", "rotate", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"rewritten": 3, "kept": 0}
    assert new not in proc.stderr and old not in proc.stderr

    async with Store(path) as store:
        link = await store.get_link(ANA)
        assert link is not None and link.access_token and link.refresh_token
        assert only_new.decrypt(link.access_token) == "access-A"
        assert only_new.decrypt(link.refresh_token) == "refresh-A"
        pending = await store.pop_oauth_state("state-1")
        assert pending is not None and only_new.decrypt(pending.verifier) == "verifier-B"
        with pytest.raises(NotLinked):  # the old key alone no longer reads them
            TokenCipher(old).decrypt(link.access_token)

    bad = moosic("keys", "rotate", env={**env, "MOOSIC_SECURITY_TOKEN_KEY": "nope"})
    assert bad.returncode == 2 and "security.token_key" in bad.stderr
    assert "Traceback" not in bad.stderr


async def test_backup_commands_on_postgresql_point_to_pg_dump(tmp_path) -> None:
    env = {"MOOSIC_STORE_DATABASE_URL": "postgresql://moosic:pw-123@127.0.0.1:1/moosic"}
    for command in (("db", "backup", str(tmp_path)), ("db", "restore", str(tmp_path / "b"))):
        proc = moosic(*command, env=env)
        assert proc.returncode == 2, proc.stderr
        assert "pg_dump" in proc.stderr and "Traceback" not in proc.stderr
        assert "pw-123" not in proc.stderr
    assert not list(tmp_path.iterdir())


async def test_backup_refuses_to_overwrite_guess_folders_or_copy_onto_the_live_database(
        tmp_path) -> None:
    path = tmp_path / "moosic.sqlite3"
    async with Store(path) as store:
        await store.ensure_user(ANA)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    with pytest.raises(DataError, match=r"already exists.*--force"):
        backup(path, notes)
    assert notes.read_text() == "my notes"  # nothing lost
    assert backup(path, notes, force=True).users == 1  # the operator asked for it
    with pytest.raises(DataError, match="does not exist; create it first"):
        backup(path, tmp_path / "missing" / "x.sqlite3")
    assert not (tmp_path / "missing").exists()  # never created silently
    with pytest.raises(DataError, match="does not exist"):
        backup(path, str(tmp_path / "newdir") + "/")  # a trailing "/" means a folder
    assert not (tmp_path / "newdir").exists()
    (tmp_path / "dir").mkdir()
    dated = backup(path, str(tmp_path / "dir") + "/")
    assert dated.path.parent == tmp_path / "dir" and dated.path.name.startswith("moosic-")
    for live in (path, tmp_path / "." / "moosic.sqlite3", path.with_name("moosic.sqlite3-wal")):
        with pytest.raises(DataError, match="live database"):
            backup(path, live, force=True)
    assert inspect(path).users == 1
    with pytest.raises(DataError, match="is a folder"):
        restore(tmp_path / "dir", path)
    with pytest.raises(DataError, match="live database"):
        restore(path, path)


async def test_db_backup_command_refuses_in_words(tmp_path) -> None:
    path = tmp_path / "moosic.sqlite3"
    async with Store(path) as store:
        await store.ensure_user(ANA)
    env = {"MOOSIC_PATHS_DATABASE": str(path)}
    kept = tmp_path / "mine.csv"
    kept.write_text("a,b\n")
    refused = moosic("db", "backup", str(kept), "--json", env=env)
    assert refused.returncode == 2 and json.loads(refused.stdout)["kind"] == "DataError"
    assert kept.read_text() == "a,b\n"
    forced = moosic("db", "backup", str(kept), "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    live = moosic("db", "backup", str(path), "--force", env=env)
    assert live.returncode == 2 and "live database" in live.stderr
