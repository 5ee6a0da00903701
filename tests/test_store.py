"""The store on SQLite and PostgreSQL: migrations (and upgrading a database made by the old
hand-written ones), concurrency, forgetting, encrypted tokens."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from moosic_core.config import load_config
from moosic_core.crypto import TokenCipher
from moosic_core.errors import ConfigError, DataError, NotLinked
from moosic_core.store import LastList, Link, Store, alembic_upgrade
from moosic_core.store.db import execute
from moosic_core.store.legacy import LEGACY_MIGRATIONS, LEGACY_SCHEMA_VERSION
from moosic_core.store.migrations import (
    HEAD_REVISION,
    SCHEMA_VERSION,
    USER_TABLES,
    shipped_revisions,
)
from moosic_core.types import LibraryTrack, MoodReading, UserRef

ALICE = UserRef("telegram", "1001")
BOB = UserRef("discord", "2002")


@pytest.fixture
async def store(store_target: Path | str):
    async with Store(store_target) as opened:
        yield opened


async def test_schema_is_versioned(store_target: Path | str) -> None:
    async with Store(store_target) as store:
        row = await store.fetchone("SELECT version_num FROM alembic_version")
        assert row is not None and int(row[0]) == SCHEMA_VERSION
        for table in (*USER_TABLES, "users"):
            assert await store.fetchone(f"SELECT COUNT(*) FROM {table}") == (0,)
    async with Store(store_target) as again:  # reopening applies nothing twice
        assert await again.find_user(ALICE) is None
        assert len(await again.fetchall("SELECT * FROM alembic_version")) == 1
    if isinstance(store_target, Path):
        with sqlite3.connect(store_target) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_revision_files_are_alembics_one_chain() -> None:
    """The head read from the file names (without Alembic) is Alembic's: every ``NNNN_*.py``
    holds revision NNNN, each revises the one before, and there is one head."""
    script = alembic_upgrade.script()
    chain = list(reversed(list(script.walk_revisions())))  # oldest first
    assert [rev.revision for rev in chain] == shipped_revisions()
    assert [rev.down_revision for rev in chain] == [None, *shipped_revisions()[:-1]]
    assert script.get_heads() == [HEAD_REVISION] and int(HEAD_REVISION) == SCHEMA_VERSION


async def test_database_at_head_opens_without_alembic(store_target: Path | str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Reopening an up-to-date database reads its revision with a plain query; Alembic's path
    (which a serving process would otherwise have to import) is not taken."""
    async with Store(store_target) as store:
        await store.ensure_user(ALICE)

    def fail(*_: object) -> int:
        raise AssertionError("Alembic was used for a database at the head revision")

    monkeypatch.setattr(alembic_upgrade, "upgrade", fail)
    async with Store(store_target) as again:
        assert await again.find_user(ALICE) is not None


async def test_newer_schema_is_refused(store_target: Path | str) -> None:
    async with Store(store_target) as store:
        await store.transaction(lambda conn: execute(
            conn, "UPDATE alembic_version SET version_num = :v", {"v": "9999"}))
    with pytest.raises(DataError, match="newer version"):
        async with Store(store_target):
            pass


async def test_newer_legacy_sqlite_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(DataError, match="newer version"):
        async with Store(path):
            pass


def _legacy_database(path: Path) -> None:
    """A database made by the old code path: the hand-written migrations applied one by one
    with ``PRAGMA user_version`` counting them (as moosic_core/store/db.py did before Alembic),
    holding one user of every kind of row."""
    with sqlite3.connect(path) as conn:
        for number, script in enumerate(LEGACY_MIGRATIONS, start=1):
            conn.executescript(script)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("INSERT INTO users VALUES (7, 'telegram', '1001', 10.0)")
        conn.execute("INSERT INTO links VALUES (7, 'spotify_oauth', 'sp', 'Ana', ?, ?, 's', "
                     "99.0, NULL, 11.0, 12.0, 13.0)", (b"cipher-a", b"cipher-r"))
        conn.execute("INSERT INTO library_tracks VALUES (7, 0, 't1', 'Song', '[\"A\"]', "
                     "'[\"pop\"]', NULL)")
        conn.execute("INSERT INTO taste_cache VALUES (7, '{}', 'k', 14.0)")
        conn.execute("INSERT INTO oauth_states VALUES ('st', 7, ?, 15.0)", (b"verifier",))
        conn.execute("INSERT INTO consent VALUES (7, 'face', 16.0)")
        conn.execute("INSERT INTO feedback VALUES (7, 't1', 1, 17.0)")
        conn.execute("INSERT INTO recommendations VALUES (1, 7, 't2', 18.0)")


def _shape(path: Path) -> dict[str, object]:
    """Tables with their columns (name, not null, primary key; a primary key is never null),
    foreign keys and indexes."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: ([(r[1], r[3] or r[5], r[5]) for r in conn.execute(f"PRAGMA table_info({t})")],
                    sorted(r[2:5] + r[6:7] for r in conn.execute(
                        f"PRAGMA foreign_key_list({t})")),
                    sorted((r[1], r[2]) for r in conn.execute(f"PRAGMA index_list({t})")
                           if not r[1].startswith("sqlite_autoindex")))
                for t in tables}


async def test_revision_1_is_the_schema_of_the_old_migration_1(tmp_path: Path) -> None:
    """Adopting an old database as revision 0001 is right only if the two schemas agree."""
    _legacy_database(tmp_path / "old.sqlite3")
    async with Store(tmp_path / "new.sqlite3"):
        pass
    old, new = _shape(tmp_path / "old.sqlite3"), _shape(tmp_path / "new.sqlite3")
    assert old  # the legacy tables, all of which revision 0001 makes the same way
    assert {t: new[t] for t in old} == old


async def test_database_of_the_old_migrations_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    _legacy_database(path)
    assert LEGACY_SCHEMA_VERSION <= SCHEMA_VERSION
    async with Store(path, clock=lambda: 1000.0) as store:
        assert (await store.fetchone("SELECT version_num FROM alembic_version")) == (
            f"{SCHEMA_VERSION:04d}",)
        assert await store.find_user(ALICE) == 7
        link = await store.get_link(ALICE)
        assert link == Link("spotify_oauth", "sp", "Ana", b"cipher-a", b"cipher-r", "s", 99.0,
                            None, 11.0, 13.0)
        assert await store.library(ALICE) == [LibraryTrack(name="Song", artists=("A",),
                                                           track_id="t1", genres=("pop",))]
        assert await store.cached_profile(ALICE) is not None
        assert await store.consent_at(ALICE, "face") == 16.0
        assert await store.feedback(ALICE) == {"t1": 1}
        assert await store.recent_recommendations(ALICE, 10_000) == ["t2"]
        pending = await store.pop_oauth_state("st")
        assert pending is not None and pending.verifier == b"verifier"
        await store.add_recommendations(ALICE, ["t3"])  # new rows after the old ones
        await store.add_feedback(BOB, "t9", -1)
        assert await store.recent_recommendations(ALICE, 10_000) == ["t3", "t2"]
        await store.record_suggestions(ALICE, MoodReading(0.7), "match", ["t4"])  # schema 2
        assert (await store.last_list(ALICE)) is not None
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    async with Store(path) as again:  # the second opening finds nothing to do
        assert (await again.table_counts())["users"] == 2


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


async def test_two_processes_writing_the_same_database(store_target: Path | str) -> None:
    """Two stores (the bot and the CLI, or two replicas) write at once; lock waits are
    retried."""
    async with Store(store_target) as first, \
            Store(store_target, busy_timeout_s=0.05) as second:
        async def writes(store: Store, prefix: str) -> None:
            for i in range(25):
                await store.add_feedback(UserRef("telegram", f"{prefix}{i}"), "t", -1)

        await asyncio.gather(writes(first, "a"), writes(second, "b"))
        assert (await first.table_counts())["feedback"] == 50


async def test_failed_or_cancelled_transaction_leaves_nothing(store: Store) -> None:
    """A write that raises or is cancelled half-way is rolled back, and the next write on the
    same (pooled) connection starts clean: no pool reset is needed after a transaction."""
    started = asyncio.Event()

    async def half_done(conn, *, fail: bool) -> None:
        await execute(conn, "INSERT INTO users (platform, platform_user_id, created_at) "
                      "VALUES ('t', 'half', 0)")
        if fail:
            raise ValueError("half-way")
        started.set()
        await asyncio.sleep(30)

    with pytest.raises(ValueError):
        await store.transaction(lambda conn: half_done(conn, fail=True))
    task = asyncio.create_task(store.transaction(lambda conn: half_done(conn, fail=False)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await store.add_feedback(ALICE, "t", 1)
    assert await store.find_user(UserRef("t", "half")) is None
    assert await store.feedback(ALICE) == {"t": 1}


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
        await store.record_suggestions(user, MoodReading(0.5), "match", ["t3"])
        await store.set_setting(user, "discovery", "more")
        assert await store.take_rate_slot(user, "selfie", 6, 60) == 0.0
        await store.set_user_state(user, {"question": "forget", "name": user.user_id})
        await store.add_song_list(f"list-{user.user_id}", "title", ["t4"], owner=user,
                                  chat=None, keep_s=86400)
    await store.add_song_list("group-list", "title", ["t5"], owner=None, chat="telegram:-1",
                              keep_s=86400)  # a group round's list is nobody's: it stays
    # Both in one group round (Alice opened it) and each in a round of their own.
    assert await store.open_round("telegram:-1", ALICE, "Alice", "match", 60) is not None
    assert await store.join_round("telegram:-1", BOB, "Bob", MoodReading(0.7)) is not None
    for user in (ALICE, BOB):
        assert await store.open_round(f"{user.key}:private", user, "me", "lift", 60)
    deleted = await store.forget(ALICE)
    assert deleted["users"] == 1 and deleted["links"] == 1 and deleted["feedback"] == 1
    assert await store.find_user(ALICE) is None
    assert await store.get_link(ALICE) is None
    assert await store.consent_at(ALICE, "face") is None
    assert await store.last_list(ALICE) is None and deleted["last_lists"] == 1
    assert await store.setting(ALICE, "discovery") is None
    assert await store.setting(BOB, "discovery") == "more"
    assert deleted["rate_events"] == 1 and deleted["user_state"] == 2
    assert deleted["song_lists"] == 1 and await store.song_list("list-1001", 86400) is None
    assert await store.user_state(ALICE, "question") is None
    assert await store.song_list("group-list", 86400) is not None
    assert (await store.user_state(BOB, "name")) is not None
    assert deleted["group_members"] == 1  # the shared round's; her own round went whole
    assert deleted["group_rounds"] == 1
    # A round Alice opened in a shared chat stays open (without her) until it closes, as
    # when everybody leaves; the one in her own private chat goes with her.
    shared = await store.group_round("telegram:-1")
    assert shared is not None and list(shared.members) == [BOB.key]
    assert await store.group_round(f"{ALICE.key}:private") is None
    assert await store.group_round(f"{BOB.key}:private") is not None
    # Bob is untouched, and every remaining row of every user table is his.
    bob_id = await store.ensure_user(BOB)
    for table in USER_TABLES:
        rows = await store.fetchall(f"SELECT DISTINCT user_id FROM {table} "
                                    "WHERE user_id IS NOT NULL")  # NULL: a group's list
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


async def test_feedback_latest_vote_counts_and_history_window(store_target: Path | str
                                                              ) -> None:
    now = [1000.0]
    async with Store(store_target, clock=lambda: now[0]) as store:
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


async def test_last_list_is_kept_replaced_and_in_the_history(store_target: Path | str
                                                             ) -> None:
    now = [1000.0]
    async with Store(store_target, clock=lambda: now[0]) as store:
        assert await store.last_list(ALICE) is None
        sad = MoodReading(0.2, 0.4, "face", label="sad 😢")
        await store.record_suggestions(ALICE, sad, "lift", ["a", "b", "c"])
        now[0] += 1
        await store.record_suggestions(BOB, MoodReading(0.9), "match", ["z"])
    async with Store(store_target, clock=lambda: now[0]) as store:  # a restart
        last = await store.last_list(ALICE)
        assert last == LastList(MoodReading(0.2, 0.4, "face", label="sad 😢"), "lift",
                                ("a", "b", "c"), 1000.0)
        await store.record_suggestions(ALICE, MoodReading(0.6), "match", ["d"])
        last = await store.last_list(ALICE)
        assert last is not None and last.track_ids == ("d",) and last.mode == "match"
        assert last.mood == MoodReading(0.6, None, "stated")
        assert await store.recent_recommendations(ALICE, 60) == ["d", "c", "b", "a"]
        assert (await store.last_list(BOB)) is not None


async def test_updates_are_claimed_once_and_a_dead_claim_expires(store_target: Path | str
                                                                 ) -> None:
    now = [1000.0]
    async with Store(store_target, clock=lambda: now[0]) as store:
        assert await store.claim_update("telegram", 7, lease_s=120)
        assert not await store.claim_update("telegram", 7, lease_s=120)  # being handled
        assert await store.claim_update("discord", 7, lease_s=120)  # ids are per platform
        now[0] += 121  # the process that took it died without finishing it
        assert await store.claim_update("telegram", 7, lease_s=120)
        await store.finish_update("telegram", 7)
        now[0] += 10_000
        assert not await store.claim_update("telegram", 7, lease_s=120)  # done is done
        assert await store.claim_update("telegram", 2**40, lease_s=120)  # 64-bit ids
        now[0] += 3 * 86400  # long after Telegram stops redelivering: the records go
        assert await store.claim_update("telegram", 8, lease_s=120)
        assert await store.fetchone("SELECT COUNT(*) FROM handled_updates") == (1,)


async def test_processes_racing_for_one_update_get_it_once(store_target: Path | str) -> None:
    async with Store(store_target) as first, Store(store_target) as second:
        results = await asyncio.gather(*(
            store.claim_update("telegram", update_id, lease_s=120)
            for update_id in range(20) for store in (first, second)))
        assert sum(results) == 20
        assert all(a != b for a, b in zip(results[::2], results[1::2], strict=True))


async def test_tokens_are_encrypted_at_rest(store_target: Path | str, tmp_path: Path) -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    raw_access, raw_refresh = "BQD-raw-access-token-123456", "AQB-raw-refresh-token-654321"
    async with Store(store_target) as store:
        await store.set_link(ALICE, Link(kind="spotify_oauth",
                                         access_token=cipher.encrypt(raw_access),
                                         refresh_token=cipher.encrypt(raw_refresh)))
        link = await store.get_link(ALICE)
        assert link is not None and link.refresh_token is not None
        assert cipher.decrypt(link.refresh_token) == raw_refresh
        stored = await store.fetchall("SELECT access_token, refresh_token FROM links")
    data = b"".join(bytes(blob) for row in stored for blob in row)
    if isinstance(store_target, Path):
        data += b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert raw_refresh.encode() not in data and raw_access.encode() not in data
    assert b"AQB-raw" not in data and b"BQD-raw" not in data


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
