"""Scenario 13: a group round's timer fires while Telegram answers the post with flood control
(429 retry_after); and while the closing replica is SIGKILLed in that wait."""
import asyncio
import sys
import time

from repro.cluster import Cluster, group_chat, user

RETRY = int(sys.argv[1]) if len(sys.argv) > 1 else 35
ROUND_S = 5


def lists(c, chat):
    return [t for t in c.texts(chat) if t.startswith("🎶")]


async def case2(c, f):
    chat = group_chat(-100131)
    await c.send(f.push_message(chat, user(1303, "Kai"), "/group"), to=0)
    await c.send(f.push_message(chat, user(1304, "Lu"), "/mood sad"), to=1)
    await asyncio.sleep(0.5)
    n = len(f.sent("sendMessage", chat["id"]))
    f.flood_next("sendMessage", retry_after=20)
    await f.wait_for(lambda ff: len(ff.sent("sendMessage", chat["id"])) > n, timeout=ROUND_S + 10)
    print("429 given to:", f.sent("sendMessage", chat["id"])[-1].text[:40], flush=True)
    await asyncio.sleep(0.5)
    for r in c.replicas:
        r.kill()
    for r in c.replicas:
        await r.proc.wait()
    t = time.monotonic()
    await asyncio.gather(*(r.start() for r in c.replicas))
    try:
        await f.wait_for(lambda ff: len(lists(c, chat["id"])) >= 2, timeout=90)
    except AssertionError:
        pass
    await asyncio.sleep(3)
    print(f"(2) holder killed in the flood wait: list calls {len(lists(c, chat['id']))} (the first got 429) "
          f"last one {time.monotonic()-t:.0f}s after the restart")
    print("exit", await c.stop())
    return 0


async def main():
    c = Cluster(2, {"MOOSIC_SERVICE_GROUP_ROUND_S": str(ROUND_S)})
    await c.setup()
    f = c.fake
    A, B = 0, 1
    try:
        if RETRY > 0:
          pass
        # (1) flood control of RETRY s on the list's post, nobody dies
        chat = group_chat(-100130)
        if sys.argv[2:] == ['only2']:
            raise SystemExit(await case2(c, f))
        await c.send(f.push_message(chat, user(1301, "Ivo"), "/group"), to=A)
        await c.send(f.push_message(chat, user(1302, "Jo"), "/mood happy"), to=B)
        f.flood_next("sendMessage", retry_after=RETRY)
        t = time.monotonic()
        try:
            await f.wait_for(lambda ff: len(lists(c, chat["id"])) >= 1, timeout=ROUND_S + RETRY + 40)
        except AssertionError:
            pass
        await asyncio.sleep(2)
        print(f"(1) 429 retry_after={RETRY} at close: lists posted {len(lists(c, chat['id']))} "
              f"(waited {time.monotonic()-t:.0f}s); sendMessage calls to chat: {len(f.sent('sendMessage', chat['id']))}")
        print("    ", c.grep_logs(r"group|round")[-4:])
        # (2) flood control, and both replicas SIGKILLed while the holder waits; restart both
        chat = group_chat(-100131)
        await c.send(f.push_message(chat, user(1303, "Kai"), "/group"), to=A)
        await c.send(f.push_message(chat, user(1304, "Lu"), "/mood sad"), to=B)
        n = len(f.sent("sendMessage", chat["id"]))
        f.flood_next("sendMessage", retry_after=20)
        await f.wait_for(lambda ff: len(ff.sent("sendMessage", chat["id"])) > n, timeout=ROUND_S + 10)
        await asyncio.sleep(0.3)
        for r in c.replicas:
            r.kill()
        for r in c.replicas:
            await r.proc.wait()
        t = time.monotonic()
        await asyncio.gather(*(r.start() for r in c.replicas))
        try:
            await f.wait_for(lambda ff: len(lists(c, chat["id"])) >= 1, timeout=90)
        except AssertionError:
            pass
        await asyncio.sleep(3)
        print(f"(2) holder killed in the flood wait: lists {len(lists(c, chat['id']))} "
              f"{time.monotonic()-t:.0f}s after the restart")
    finally:
        print("exit", await c.stop())


asyncio.run(main())
