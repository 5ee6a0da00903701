"""/healthz and /metrics over real HTTP (aiohttp on 127.0.0.1), fed by the real service."""

from __future__ import annotations

import asyncio
import json
import re
import time
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest

from bot.conversation import Conversation
from bot.monitor import Monitor
from moosic_core.errors import Busy, ConfigError, SpotifyNotConfigured, SpotifyRateLimited
from moosic_core.metrics import Metrics
from moosic_core.service import MoosicService
from moosic_core.store import Store
from moosic_core.types import UserRef
from tests.conftest import fresh_postgres_database, postgres_server_url
from tests.fakes.pg_relay import PostgresRelay

ANA = UserRef("console", "ana")


class FakeFrontEnd:
    def __init__(self, name: str) -> None:
        self.name = name
        self.up = False

    def connected(self) -> bool:
        return self.up


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name + (f"{{{want}}}" if want else "")) + r" ([0-9.e+-]+)$"
    for line in text.splitlines():
        found = re.match(pattern, line)
        if found:
            return float(found.group(1))
    return 0.0


@pytest.fixture
async def monitor():
    mon = Monitor()
    await mon.start("127.0.0.1", 0)
    yield mon
    await mon.stop()


async def get(monitor: Monitor, path: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{monitor.port}{path}") as response:
        return response.status, await response.text(), dict(response.headers)


async def test_healthz_is_503_until_loaded_and_connected(monitor, service) -> None:
    status, body, _ = await get(monitor, "/healthz")
    assert status == 503
    import json
    checks = json.loads(body)["checks"]
    assert checks["models"] == {"ok": False, "detail": "still loading"}
    assert not checks["catalog"]["ok"] and not checks["store"]["ok"]

    telegram = FakeFrontEnd("telegram")
    monitor.service, monitor.front_ends = service, [telegram]
    status, body, _ = await get(monitor, "/healthz")
    report = json.loads(body)
    assert status == 503 and report["ready"] is False
    assert report["checks"]["telegram"] == {"ok": False, "detail": "not connected"}
    assert report["checks"]["catalog"]["ok"] and report["checks"]["store"]["ok"]

    telegram.up = True
    status, body, _ = await get(monitor, "/healthz")
    assert status == 200 and json.loads(body)["ready"] is True

    await service.store.close()  # the database went away
    status, body, _ = await get(monitor, "/healthz")
    assert status == 503 and json.loads(body)["checks"]["store"]["ok"] is False


async def test_metrics_move_with_requests(service, selfie) -> None:
    mon = Monitor(service.metrics)
    mon.service = service
    await mon.start("127.0.0.1", 0)
    try:
        status, before, headers = await get(mon, "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert sample(before, "moosic_requests_total", kind="recommend") == 0
        assert sample(before, "moosic_step_seconds_count", step="rank") == 0

        chat = Conversation(service)
        await chat.command(ANA, "mood", "happy")
        await service.give_consent(ANA)
        assert (await chat.photo(ANA, selfie)).text.startswith("You look")
        _, after, _ = await get(mon, "/metrics")
        assert sample(after, "moosic_requests_total", kind="recommend") == 2
        assert sample(after, "moosic_requests_total", kind="photo") == 1
        for step in ("decode", "detect", "mood"):
            assert sample(after, "moosic_step_seconds_count", step=step) == 1
        assert sample(after, "moosic_step_seconds_count", step="rank") == 2
        assert sample(after, "moosic_step_seconds_sum", step="rank") > 0
        assert sample(after, "moosic_users", kind="all") == 1

        async def busy(*args: object) -> object:
            raise Busy()

        service.run_cpu = busy
        assert "busy" in (await chat.command(ANA, "mood", "sad")).text
        _, busy_after, _ = await get(mon, "/metrics")
        assert sample(busy_after, "moosic_busy_answers_total") == 1
        assert sample(busy_after, "moosic_errors_total", kind="Busy") == 1
    finally:
        await mon.stop()


def test_spotify_errors_are_counted_but_a_missing_spotify_set_up_is_not() -> None:
    metrics = Metrics()
    metrics.answered_error(SpotifyRateLimited())
    metrics.answered_error(SpotifyNotConfigured())
    text = metrics.exposition().decode()
    assert sample(text, "moosic_spotify_errors_total", kind="SpotifyRateLimited") == 1
    assert sample(text, "moosic_spotify_errors_total", kind="SpotifyNotConfigured") == 0
    assert sample(text, "moosic_errors_total", kind="SpotifyNotConfigured") == 1


async def test_a_port_in_use_is_an_operator_error_naming_monitor_listen(moosic) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        mon = Monitor()
        with pytest.raises(ConfigError, match=r"monitor\.listen: cannot listen on"):
            await mon.start("127.0.0.1", port)
        await mon.stop()
        code, _, stderr = moosic("run", env={"MOOSIC_MONITOR_LISTEN": f"127.0.0.1:{port}",
                                             "MOOSIC_TELEGRAM_TOKEN": "",
                                             "MOOSIC_DISCORD_TOKEN": ""})
    assert code == 2, stderr
    assert "monitor.listen" in stderr and "internal error" not in stderr


def _serving(store: Store) -> MoosicService:
    """The part of a service /healthz reads: a catalog and the store."""
    return cast(MoosicService, SimpleNamespace(catalog=[0], store=store))


async def test_healthz_asks_the_database_and_caches_its_answer(store_target) -> None:
    async with Store(store_target) as store:
        mon = Monitor(store_cache_s=60.0)
        mon.service, mon.front_ends = _serving(store), [FakeFrontEnd("telegram")]
        mon.front_ends[0].up = True  # type: ignore[attr-defined]
        pings = 0
        ping = store.ping

        async def counted(timeout_s: float) -> None:
            nonlocal pings
            pings += 1
            await ping(timeout_s)

        store.ping = counted  # type: ignore[method-assign]
        await mon.start("127.0.0.1", 0)
        try:
            answers = await asyncio.gather(*(get(mon, "/healthz") for _ in range(20)))
        finally:
            await mon.stop()
    assert {status for status, _, _ in answers} == {200}
    assert json.loads(answers[0][1])["checks"]["store"] == {"ok": True, "detail": "answers"}
    assert pings == 1  # 20 probes, one question to the database


async def test_healthz_is_503_while_postgresql_is_down_or_silent_and_200_when_back() -> None:
    relay = PostgresRelay(await fresh_postgres_database(postgres_server_url(),
                                                        "moosic_health"))
    await relay.up()
    store = Store(relay.url)
    await store.open()
    mon = Monitor(store_timeout_s=0.5, store_cache_s=0.0)
    telegram = FakeFrontEnd("telegram")
    telegram.up = True
    mon.service, mon.front_ends = _serving(store), [telegram]
    await mon.start("127.0.0.1", 0)

    async def health() -> tuple[int, dict[str, Any]]:
        status, body, _ = await get(mon, "/healthz")
        return status, json.loads(body)["checks"]["store"]

    try:
        assert await health() == (200, {"ok": True, "detail": "answers"})
        await relay.down()  # the server stops: connections refused
        status, check = await health()
        assert status == 503 and not check["ok"] and "cannot be reached" in check["detail"]
        assert "ConnectionRefusedError" in check["detail"]
        assert (await get(mon, "/metrics"))[0] == 200  # without the user counts
        await relay.hang()  # the network drops packets: no answer
        started = time.monotonic()
        status, check = await health()
        assert status == 503 and "no answer in 0.5 s" in check["detail"]
        assert time.monotonic() - started < 3
        await relay.up()  # back
        assert await health() == (200, {"ok": True, "detail": "answers"})
        status, _, _ = await get(mon, "/metrics")
        assert status == 200
    finally:
        await mon.stop()
        await store.close()
        await relay.down()
