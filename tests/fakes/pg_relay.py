"""A switchable TCP relay on 127.0.0.1 in front of the test PostgreSQL server's Unix socket: a
database outage that a test can start and end (:meth:`PostgresRelay.down` refuses new
connections and cuts the open ones, as a stopped server does; :meth:`PostgresRelay.up` serves
again on the same port; :meth:`PostgresRelay.hang` accepts connections and never answers, as
a server behind a dead network link does)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.fakes.telegram import free_port


class PostgresRelay:
    """Relays ``127.0.0.1:port`` to the server of ``server_url`` (a ``postgresql://`` URL
    with ``?host=/socket/dir``); :attr:`url` is ``server_url`` through the relay."""

    def __init__(self, server_url: str) -> None:
        url = make_url(server_url)
        host = url.query.get("host")
        if not isinstance(host, str):
            raise ValueError("the relay needs a server on a Unix socket (?host=/dir)")
        self.socket = Path(host) / f".s.PGSQL.{url.port or 5432}"
        self.port = free_port()
        self.url = url.set(host="127.0.0.1", port=self.port).difference_update_query(
            ["host"]).render_as_string(hide_password=False)
        self._server: asyncio.Server | None = None
        self._hanging = False
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        """Accept and relay connections (again) on :attr:`port`."""
        if self._hanging:
            await self.down()
        if self._server is None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def hang(self) -> None:
        """Cut every relayed connection, then accept new ones and never answer them."""
        await self.down()
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", self.port)
        self._hanging = True

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)

    async def down(self) -> None:
        """Stop accepting (connection refused) and cut every relayed connection."""
        self._hanging = False
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(str(self.socket))
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        tasks = [asyncio.create_task(self._pipe(reader, up_writer)),
                 asyncio.create_task(self._pipe(up_reader, writer))]
        self._pipes.update(tasks)
        for task in tasks:
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(sink)
            with contextlib.suppress(Exception):
                sink.transport.abort()
