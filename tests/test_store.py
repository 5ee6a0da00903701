"""The aiosqlite store: migrations, concurrency, forgetting, encrypted tokens."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from moosic_core.config import load_config
from moosic_core.crypto import TokenCipher
from moosic_core.errors import ConfigError, NotLinked
from moosic_core.store import Link, Store
from moosic_core.store.migrations import SCHEMA_VERSION, USER_TABLES
from moosic_core.types import LibraryTrack, UserRef

ALICE = UserRef("telegram", "1001")
BOB = UserRef("discord", "2002")


@pytest.fixture
async def store(tmp_path: Path):
    async with Store(tmp_path / "db.sqlite3") as opened:
        yield opened


async def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with Store(path):
        pass
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert set(USER_TABLES) | {"users"} <= tables
    async with Store(path) as again:  # reopening applies nothing twice
        assert await again.find_user(ALICE) is None


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(Exception, match="newer version"):
        async with Store(path):
            pass


async def test_fifty_concurrent_writers_all_succeed(store: Store) -> None:
    users = [UserRef("telegram", str(i)) for i in range(50)]

    async def chat(user: UserRef, n: int) -> None:
        await store.set_link(user, Link(kind="playlist_csv", source_name=f"{n}.csv"),
                             [LibraryTrack(name=f"song {n}", artists=("A",), track_id=f"t{n}")])
        await store.add_feedback(user, f"t{n}", 1)
        await store.add_recommendations(user, [f"r{n}a", f"r{n}b"])

    await asyncio.gather(*(chat(u, i) for i, u in enumerate(users)))
    counts = await store.table_counts()
    assert counts["users"] == 50
    assert counts["links"] == 50
    assert counts["library_tracks"] == 50
    assert counts["feedback"] == 50
    assert counts["recommendations"] == 100


async def test_two_processes_writing_the_same_file(tmp_path: Path) -> None:
    """Two stores (as the bot and the CLI would be) write at once; lock waits are retried."""
    path = tmp_path / "db.sqlite3"
    async with Store(path) as first, Store(path, busy_timeout_s=0.05) as second:
        async def writes(store: Store, prefix: str) -> None:
            for i in range(25):
                await store.add_feedback(UserRef("telegram", f"{prefix}{i}"), "t", -1)

        await asyncio.gather(writes(first, "a"), writes(second, "b"))
        assert (await first.table_counts())["feedback"] == 50


async def test_forget_deletes_every_row_of_the_user_only(store: Store) -> None:
    for user in (ALICE, BOB):
        await store.set_link(user, Link(kind="spotify_oauth", spotify_user_id="sp",
                                        access_token=b"x", refresh_token=b"y"),
                             [LibraryTrack(name="n", artists=("a",))])
        await store.save_profile(user, "{}", "k")
        await store.add_oauth_state(user, f"state-{user.user_id}", b"v", 600)
        await store.set_consent(user, "face")
        await store.add_feedback(user, "t1", 1)
        await store.add_recommendations(user, ["t2"])
        await store.set_setting(user, "discovery", "more")
    deleted = await store.forget(ALICE)
    assert deleted["users"] == 1 and deleted["links"] == 1 and deleted["feedback"] == 1
    assert await store.find_user(ALICE) is None
    assert await store.get_link(ALICE) is None
    assert await store.consent_at(ALICE, "face") is None
    assert await store.setting(ALICE, "discovery") is None
    assert await store.setting(BOB, "discovery") == "more"
    # Bob is untouched, and every remaining row of every user table is his.
    bob_id = await store.ensure_user(BOB)
    for table in USER_TABLES:
        rows = await store.fetchall(f"SELECT DISTINCT user_id FROM {table}")
        assert rows and all(r[0] == bob_id for r in rows), table
    assert await store.forget(ALICE) == {}


async def test_link_replaces_old_source_and_caches(store: Store) -> None:
    await store.set_link(ALICE, Link(kind="playlist_csv", source_name="a.csv"),
                         [LibraryTrack(name="x", artists=("y",), track_id="1",
                                       genres=("pop",), features={"energy": 0.5})])
    await store.save_profile(ALICE, '{"genres": {}}', "csv")
    library = await store.library(ALICE)
    assert library == [LibraryTrack(name="x", artists=("y",), track_id="1", genres=("pop",),
                                    features={"energy": 0.5})]
    assert (await store.cached_profile(ALICE)) is not None
    await store.set_link(ALICE, Link(kind="spotify_user", spotify_user_id="bob"))
    assert await store.library(ALICE) == []
    assert await store.cached_profile(ALICE) is None
    link = await store.get_link(ALICE)
    assert link is not None and link.kind == "spotify_user" and link.fetched_at is None


async def test_oauth_state_is_single_use(store: Store) -> None:
    await store.add_oauth_state(ALICE, "s1", b"verifier", 600)
    assert await store.pending_oauth_state(ALICE) == "s1"
    pending = await store.pop_oauth_state("s1")
    assert pending is not None and pending.user == ALICE and pending.verifier == b"verifier"
    assert await store.pop_oauth_state("s1") is None


async def test_feedback_latest_vote_counts_and_history_window(tmp_path: Path) -> None:
    now = [1000.0]
    async with Store(tmp_path / "db.sqlite3", clock=lambda: now[0]) as store:
        await store.add_feedback(ALICE, "t", 1)
        await store.add_feedback(ALICE, "t", -1)
        assert await store.feedback(ALICE) == {"t": -1}
        with pytest.raises(ValueError):
            await store.add_feedback(ALICE, "t", 2)
        await store.add_recommendations(ALICE, ["old"])
        now[0] += 3600
        await store.add_recommendations(ALICE, ["new"])
        assert await store.recent_recommendations(ALICE, 600) == ["new"]
        assert await store.recent_recommendations(ALICE, 7200) == ["new", "old"]


async def test_tokens_are_encrypted_in_the_file(tmp_path: Path) -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    raw_access, raw_refresh = "BQD-raw-access-token-123456", "AQB-raw-refresh-token-654321"
    path = tmp_path / "db.sqlite3"
    async with Store(path) as store:
        await store.set_link(ALICE, Link(kind="spotify_oauth",
                                         access_token=cipher.encrypt(raw_access),
                                         refresh_token=cipher.encrypt(raw_refresh)))
        link = await store.get_link(ALICE)
        assert link is not None and link.refresh_token is not None
        assert cipher.decrypt(link.refresh_token) == raw_refresh
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert raw_refresh.encode() not in data and raw_access.encode() not in data
    assert b"AQB-raw" not in data


def test_cipher_needs_a_valid_key() -> None:
    with pytest.raises(ConfigError, match="token_key"):
        TokenCipher.from_config(load_config(env={}))
    with pytest.raises(ConfigError, match="not a valid Fernet key"):
        TokenCipher("not-a-key")
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    blob = TokenCipher(old).encrypt("secret")
    assert TokenCipher(f"{new},{old}").decrypt(blob) == "secret"  # rotation
    with pytest.raises(NotLinked):
        TokenCipher(new).decrypt(blob)
    assert "secret" not in repr(TokenCipher(new))
