"""Two bot replicas and one PostgreSQL, end to end (issue 33).

Two real ``moosic bot telegram`` PROCESSES in webhook mode (each on its own port, as behind a
load balancer) share one PostgreSQL database; the fake Bot API delivers every update to the
replicas round-robin and, like Telegram, delivers an update again (to the next replica) when a
call failed. What a user does on one replica is honoured on the other: consent, ``/more``,
``/forget``; a replica killed mid-update leaves the update to the other, which answers 503 while
the dead one's lease runs and then answers it exactly once.

Needs ``MOOSIC_TEST_POSTGRES_URL`` (``scripts/with_postgres.sh``); skips without it, except in
CI, where it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from moosic_core import PROJECT_ROOT
from moosic_core.service import FACE_CONSENT
from moosic_core.store import Store
from moosic_core.types import UserRef
from tests.conftest import fresh_postgres_database, postgres_server_url
from tests.fakes.telegram import FakeTelegram, free_port, group_chat, private_chat, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: The update lease of the replicas (telegram.update_lease_s): short, so the killed replica's
#: update is free again soon.
ROUND_S = 8  # group rounds: long enough for the /group done test to close its round first
LEASE_S = 3.0
#: The public URL Telegram is told (the load balancer's); each replica listens on its own port.
PUBLIC_URL = "https://bot.example.test/telegram"
START_TIMEOUT_S = 180.0
TRACK = re.compile(r"open\.spotify\.com/track/(\w+)")


class Replica:
    """One ``moosic bot telegram`` process in webhook mode."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.monitor_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/telegram"
        self.env = {**env, "MOOSIC_TELEGRAM_WEBHOOK_PORT": str(self.port),
                    "MOOSIC_MONITOR_LISTEN": f"127.0.0.1:{self.monitor_port}"}
        self.log_path = log_dir / f"replica-{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        """Start the process and wait until its /healthz says ready (webhook listening)."""
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "-v", "bot", "telegram", cwd=PROJECT_ROOT,
            env=self.env, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise AssertionError(f"replica {self.name} exited: {self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(
                            f"http://127.0.0.1:{self.monitor_port}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise AssertionError(f"replica {self.name} never got ready: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, whatever it was doing is lost."""
        assert self.proc is not None
        self.proc.kill()

    async def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after 30 s); the exit status."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


class Cluster:
    """Two replicas over one database, the fake Bot API, and round-robin delivery."""

    def __init__(self, fake: FakeTelegram, database_url: str, tmp: Path) -> None:
        self.fake = fake
        self.database_url = database_url
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp),
               "PYTHONPATH": os.environ.get("PYTHONPATH", str(PROJECT_ROOT)),
               "MOOSIC_TELEGRAM_TOKEN": fake.token, "MOOSIC_TELEGRAM_API_URL": fake.base_url,
               "MOOSIC_TELEGRAM_WEBHOOK_URL": PUBLIC_URL,
               "MOOSIC_TELEGRAM_UPDATE_LEASE_S": str(LEASE_S),
               "MOOSIC_SERVICE_GROUP_ROUND_S": str(ROUND_S),
               "MOOSIC_STORE_DATABASE_URL": database_url,
               "MOOSIC_PATHS_DATABASE": str(tmp / "unused.sqlite3")}
        self.a, self.b = Replica("A", env, tmp), Replica("B", env, tmp)
        self._turn = itertools.count()

    @property
    def urls(self) -> list[str]:
        return [self.a.url, self.b.url]

    async def ensure_running(self) -> None:
        """(Re)start whichever replica is not running (one killed by an earlier test)."""
        await asyncio.gather(*(r.start() for r in (self.a, self.b) if not r.alive))

    async def send(self, update_id: int, to: Replica | None = None) -> int:
        """Deliver an update: to ``to``, else to the next replica round-robin; retried on the
        other replica as Telegram does until answered 2xx."""
        first = self.urls.index(to.url) if to is not None else next(self._turn) % 2
        return await self.fake.deliver_until_answered(update_id, self.urls, first=first,
                                                      retry_s=0.5, timeout=60)

    async def stop(self) -> None:
        await asyncio.gather(self.a.stop(), self.b.stop())


@pytest.fixture(scope="module")
def postgres_url() -> str:
    return postgres_server_url()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(postgres_url: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[Cluster]:
    database_url = await fresh_postgres_database(
        postgres_url, f"moosic_replicas_{uuid.uuid4().hex[:12]}")
    fake = FakeTelegram()  # the replicas start together on the empty database
    await fake.start()
    group = Cluster(fake, database_url, tmp_path_factory.mktemp("replicas"))
    try:
        await group.ensure_running()
        yield group
    finally:
        codes = await asyncio.gather(group.a.stop(), group.b.stop())
        await fake.stop()
    assert fake.webhook_url == PUBLIC_URL  # no replica deleted the webhook when it stopped
    assert all(code == 0 for code in codes), (codes, group.a.log_tail(), group.b.log_tail())


@pytest_asyncio.fixture(loop_scope="module")
async def running(cluster: Cluster) -> Cluster:
    await cluster.ensure_running()
    return cluster


@pytest_asyncio.fixture(loop_scope="module")
async def store(cluster: Cluster) -> AsyncIterator[Store]:
    """The replicas' database, opened by the test (to check what they stored)."""
    async with Store(cluster.database_url) as opened:
        yield opened


def tracks(text: str) -> list[str]:
    return TRACK.findall(text)


async def test_both_replicas_set_the_same_webhook_and_refuse_a_wrong_secret(running) -> None:
    fake = running.fake
    assert fake.webhook_url == PUBLIC_URL
    assert len(fake.sent("setWebhook")) >= 2  # each replica (idempotent)
    assert {c.params.get("secret_token") for c in fake.sent("setWebhook")} == \
        {fake.webhook_secret}
    update = fake.push_message(private_chat(701), user(701), "/help")
    async with aiohttp.ClientSession() as session, session.post(
            running.a.url, json=fake.updates[update],
            headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}) as response:
        assert response.status == 403
    await asyncio.sleep(0.3)
    assert fake.sent("sendMessage", 701) == []
    assert fake.token not in running.a.log_tail(100_000)


async def test_a_burst_delivered_round_robin_is_answered_once_each(running) -> None:
    fake, people = running.fake, range(761, 773)
    updates = {who: fake.push_message(private_chat(who), user(who), "/mood happy")
               for who in people}
    assert await asyncio.gather(*(running.send(u) for u in updates.values())) == [200] * 12
    answered_by = {update: url for update, url, status in fake.deliveries
                   if update in updates.values() and status == 200}
    assert set(answered_by.values()) == set(running.urls)  # both replicas answered a share
    # Telegram delivers them all again, each to the replica that did not answer it
    other = {running.a.url: running.b, running.b.url: running.a}
    assert await asyncio.gather(*(running.send(u, to=other[answered_by[u]])
                                  for u in updates.values())) == [200] * 12
    await asyncio.sleep(0.5)
    for who in people:
        [answer] = fake.sent("sendMessage", who)
        assert tracks(answer.text)


async def test_consent_given_on_b_is_honoured_everywhere(running, store, selfie) -> None:
    fake, ana = running.fake, 711
    photo = fake.push_message(private_chat(ana), user(ana), photo=selfie)
    assert await running.send(photo, to=running.a) == 200
    [question] = await fake.replies(ana, 1, timeout=30)
    yes = next(a for a in question.actions() if a.startswith("consent:yes"))
    press = fake.push_button(private_chat(ana), user(ana), yes)
    assert await running.send(press, to=running.b) == 200
    await fake.wait_for(lambda f: len(f.sent("editMessageText", ana)) >= 1, timeout=30)
    [answer] = fake.sent("editMessageText", ana)
    # The photo stayed in A's memory (photos never leave memory): B asks for it again.
    assert "selfie" in answer.text.lower() or "photo" in answer.text.lower()
    assert not tracks(answer.text)
    assert await store.consent_at(UserRef("telegram", str(ana)), FACE_CONSENT) is not None
    again = fake.push_message(private_chat(ana), user(ana), photo=selfie)
    assert await running.send(again, to=running.a) == 200  # A, which asked, reads it now
    replies = await fake.replies(ana, 2, timeout=30)
    assert tracks(replies[1].text), replies[1].text
    assert len(fake.sent("sendMessage", ana)) == 2


async def test_more_on_b_continues_the_list_from_a(running) -> None:
    fake, ben = running.fake, 721
    mood = fake.push_message(private_chat(ben), user(ben, "Ben"), "/mood happy")
    assert await running.send(mood, to=running.a) == 200
    [first] = await fake.replies(ben, 1, timeout=30)
    more = fake.push_message(private_chat(ben), user(ben, "Ben"), "/more")
    assert await running.send(more, to=running.b) == 200
    replies = await fake.replies(ben, 2, timeout=30)
    shown, continued = tracks(first.text), tracks(replies[1].text)
    assert shown and continued
    assert not set(shown) & set(continued)  # no repeats: B knew what A showed
    await asyncio.sleep(0.3)
    assert len(fake.sent("sendMessage", ben)) == 2


async def test_forget_on_b_removes_what_a_stored(running, store) -> None:
    fake, cem = running.fake, 731
    who = UserRef("telegram", str(cem))
    mood = fake.push_message(private_chat(cem), user(cem, "Cem"), "/mood calm")
    assert await running.send(mood, to=running.a) == 200
    await fake.replies(cem, 1, timeout=30)
    assert await store.last_list(who) is not None
    forget = fake.push_message(private_chat(cem), user(cem, "Cem"), "/forget")
    assert await running.send(forget, to=running.b) == 200
    [_, question] = await fake.replies(cem, 2, timeout=30)
    yes = next(a for a in question.actions() if a.startswith("forget:yes"))
    press = fake.push_button(private_chat(cem), user(cem, "Cem"), yes)
    assert await running.send(press, to=running.b) == 200
    await fake.wait_for(lambda f: len(f.sent("editMessageText", cem)) >= 1, timeout=30)
    assert await store.find_user(who) is None
    assert await store.last_list(who) is None


async def test_a_replica_killed_mid_update_leaves_it_to_the_other_exactly_once(
        running, store, selfie) -> None:
    fake, dee = running.fake, 741
    who = UserRef("telegram", str(dee))
    await store.set_consent(who, FACE_CONSENT)
    photo = fake.push_message(private_chat(dee), user(dee, "Dee"), photo=selfie)
    downloads = len(fake.downloads)
    fake.hold_downloads()  # A gets inside the update and stays there
    try:
        delivery = asyncio.create_task(fake.deliver_until_answered(
            photo, running.urls, first=0, retry_s=0.3, timeout=60))
        await fake.wait_for(lambda f: len(f.downloads) > downloads, timeout=30)
        killed_at = time.monotonic()
        running.a.kill()
    finally:
        fake.release_downloads()
    assert await delivery == 200
    attempts = [(url, status) for update, url, status in fake.deliveries if update == photo]
    assert attempts[0] == (running.a.url, None)  # A died with the call open
    b_answers = [status for url, status in attempts if url == running.b.url]
    assert b_answers[-1] == 200 and 503 in b_answers  # busy elsewhere, then taken over
    assert b_answers.count(200) == 1
    assert time.monotonic() - killed_at >= LEASE_S * 0.5
    await asyncio.sleep(1.0)
    answers = fake.sent("sendMessage", dee)
    assert len(answers) == 1 and tracks(answers[0].text)  # answered once, by B
    assert await running.send(photo) == 200  # a later redelivery: handled already
    await asyncio.sleep(0.5)
    assert len(fake.sent("sendMessage", dee)) == 1


async def test_a_group_round_opened_on_a_joined_on_b_closes_once(running) -> None:
    fake, chat = running.fake, group_chat(-100741)
    ana, ben = user(751, "Ana"), user(752, "Ben")
    opened = fake.push_message(chat, ana, "/group")
    assert await running.send(opened, to=running.a) == 200
    await fake.replies(chat["id"], 1, timeout=30)
    join = fake.push_button(chat, ben, "group:join")
    assert await running.send(join, to=running.b) == 200
    done = fake.push_message(chat, ana, "/group done")
    assert await running.send(done, to=running.a) == 200
    await fake.wait_for(lambda f: any(c.text.startswith("🎶") for c in f.sent(
        "sendMessage", chat["id"])), timeout=30)
    await asyncio.sleep(1.0)
    lists = [c.text for c in fake.sent("sendMessage", chat["id"]) if c.text.startswith("🎶")]
    assert len(lists) == 1 and "Ana" in lists[0] and "Ben" in lists[0], lists


async def test_a_group_round_closed_by_its_timer_is_posted_once_by_one_replica(running) -> None:
    """Both replicas run a sweeper over the shared rounds: the lease lets one of them post."""
    fake, chat = running.fake, group_chat(-100742)
    cem, dan = user(753, "Cem"), user(754, "Dan")
    assert await running.send(fake.push_message(chat, cem, "/group"), to=running.b) == 200
    assert await running.send(fake.push_message(chat, dan, "/mood calm"), to=running.a) == 200
    await fake.wait_for(lambda f: any(c.text.startswith("🎶") for c in f.sent(
        "sendMessage", chat["id"])), timeout=ROUND_S + 30)
    await asyncio.sleep(3.0)  # both sweepers have woken several times since
    lists = [c.text for c in fake.sent("sendMessage", chat["id"]) if c.text.startswith("🎶")]
    assert len(lists) == 1 and "Cem" in lists[0] and "Dan" in lists[0], lists
