"""A database server that cannot be reached: told apart from an operator's mistake
(:func:`is_unreachable`), waited for at start-up (``startup.retry_for_s``, then exit status 1,
which the service manager restarts), while a wrong database name, user or URL stops the bot at
once (exit status 2). The outage is real: nothing listening on a socket directory or a
127.0.0.1 port, or a relay in front of the test PostgreSQL server switched off and on."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.commands import open_store_with_retries
from moosic_core.cli.common import describe_error
from moosic_core.config import Config, StartupConfig
from moosic_core.errors import ConfigError, DatabaseUnreachable, DataError
from moosic_core.store import Store
from moosic_core.store.db import is_unreachable
from moosic_core.types import UserRef
from tests.conftest import fresh_postgres_database, postgres_server_url
from tests.fakes.pg_relay import PostgresRelay
from tests.fakes.telegram import free_port

FAST = Config(startup=StartupConfig(retry_for_s=1.0, max_backoff_s=0.1))
PATIENT = Config(startup=StartupConfig(retry_for_s=60.0, max_backoff_s=0.2))


class PgError(Exception):
    """What asyncpg raises, as far as :func:`is_unreachable` looks: the SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str) -> DBAPIError:
    return OperationalError("SELECT 1", None, PgError(sqlstate))


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "Connect call failed"), FileNotFoundError(2, "No such file"),
    TimeoutError(), _wrapped("57P03"), _wrapped("53300"), _wrapped("08006"), _wrapped("57P01"),
    DatabaseUnreachable("down")], ids=repr)
def test_outages_are_unreachable(exc: BaseException) -> None:
    assert is_unreachable(exc)
    try:  # also as the cause of another error
        raise RuntimeError("while saving") from exc
    except RuntimeError as outer:
        assert is_unreachable(outer)


@pytest.mark.parametrize("exc", [
    _wrapped("28P01"), _wrapped("3D000"), _wrapped("28000"), _wrapped("42601"),
    _wrapped("40P01"), DataError("not usable"), ValueError("bad")], ids=repr)
def test_mistakes_and_bugs_are_not_unreachable(exc: BaseException) -> None:
    assert not is_unreachable(exc)


@pytest.mark.parametrize("where", ["socket", "port"])
async def test_an_unreachable_database_is_retried_then_exits_1(where: str, tmp_path: Path,
                                                              caplog) -> None:
    url = (f"postgresql://moosic@/moosic?host={tmp_path}" if where == "socket"
           else f"postgresql://moosic:pw@127.0.0.1:{free_port()}/moosic")
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachable) as raised:
        await open_store_with_retries(Store(url), FAST)
    assert 1.0 <= time.monotonic() - started < 10
    message, kind, code = describe_error(raised.value)
    assert (kind, code) == ("DatabaseUnreachable", 1)
    assert "could not be reached for 1 s" in message and "store.database_url" in message
    assert "pw" not in message and "pw" not in caplog.text
    tries = [r for r in caplog.records if "connection attempt" in r.getMessage()]
    assert len(tries) >= 2, caplog.text
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in tries)
    assert all("cannot be reached" in r.getMessage() for r in tries)


async def test_a_database_that_comes_up_during_start_up_is_waited_for(caplog) -> None:
    relay = PostgresRelay(await fresh_postgres_database(postgres_server_url(), "moosic_late"))
    caplog.set_level(logging.WARNING)
    store = Store(relay.url)
    opening = asyncio.create_task(open_store_with_retries(store, PATIENT))
    try:
        deadline = time.monotonic() + 20
        while "connection attempt 2 failed" not in caplog.text:
            assert not opening.done(), opening
            assert time.monotonic() < deadline, caplog.text
            await asyncio.sleep(0.05)
        await relay.up()  # PostgreSQL comes up
        await asyncio.wait_for(opening, 20)
        assert store.is_open
        await store.ensure_user(UserRef("telegram", "7301"))
    finally:
        opening.cancel()
        await store.close()
        await relay.down()


@pytest.mark.parametrize("mistake", ["database", "user"])
async def test_a_wrong_database_or_user_exits_2_at_once(mistake: str, caplog) -> None:
    server = postgres_server_url()
    url = (server.replace("/postgres?", "/no_such_db?") if mistake == "database"
           else server.replace("postgres@", "nobody_here@"))
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    with pytest.raises(DataError) as raised:
        await open_store_with_retries(Store(url), PATIENT)
    assert time.monotonic() - started < 5
    assert not isinstance(raised.value, DatabaseUnreachable)
    message, _, code = describe_error(raised.value)
    assert code == 2 and "is not usable" in message
    assert "connection attempt" not in caplog.text


def test_an_unusable_url_exits_2() -> None:
    with pytest.raises(ConfigError) as raised:
        Store("mysql://u:p@localhost/db")
    assert describe_error(raised.value)[2] == 2


async def test_a_message_during_an_outage_gets_user_words_and_one_log_line(
        service, monkeypatch, caplog) -> None:
    from bot import replies
    from bot.conversation import Conversation

    async def down(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(service.store, "last_list", down)
    with caplog.at_level(logging.WARNING):
        reply = await Conversation(service).command(UserRef("telegram", "77"), "more")
    assert reply.text == replies.STORE_DOWN
    assert "the database is unreachable" in caplog.text and "Traceback" not in caplog.text


def test_a_port_that_is_no_number_is_a_config_error() -> None:
    from moosic_core.store.db import database_url

    with pytest.raises(ConfigError, match=r"store\.database_url"):
        database_url("postgresql://u:p@localhost:notaport/db")
