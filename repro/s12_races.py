"""Scenario 12: the same update to both replicas at once; over-limit bursts; SIGTERM mid-burst;
a selfie burst with redelivery."""
import asyncio
import collections
import time

from moosic_core.service import FACE_CONSENT
from moosic_core.store import Store
from moosic_core.types import UserRef
from repro.cluster import Cluster, private_chat, selfie_bytes, tracks, user


async def main():
    c = Cluster(2, {"MOOSIC_TELEGRAM_UPDATE_LEASE_S": "3"})
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    A, B = 0, 1

    def answers(people):
        cnt = collections.Counter(x.chat_id for x in f.sent("sendMessage") if x.chat_id in set(people))
        return collections.Counter(cnt[p] for p in people)
    try:
        # (a) every update to A and B at the same moment
        people = list(range(300000, 300100))
        ups = [f.push_message(private_chat(p), user(p), "/mood calm") for p in people]
        res = await asyncio.gather(*(asyncio.gather(c.send(u, to=A), c.send(u, to=B)) for u in ups))
        await asyncio.sleep(1)
        print("(a) same update to both at once:", collections.Counter(s for pair in res for s in pair),
              "statuses of attempts", collections.Counter(d[2] for d in f.deliveries if d[0] in set(ups)),
              "answers/user", answers(people))
        # (b) 150 at once to A only (webhook_max_updates 40)
        people = list(range(310000, 310150))
        ups = [f.push_message(private_chat(p), user(p), "/mood happy") for p in people]
        t = time.monotonic()
        res = await asyncio.gather(*(f.deliver(u, c.urls[A]) for u in ups))
        print(f"(b) 150 at once to A: {collections.Counter(res)} in {time.monotonic()-t:.1f}s")
        left = [u for u, s in zip(ups, res) if s != 200]
        res2 = await asyncio.gather(*(c.send(u, timeout=120) for u in left))
        await asyncio.sleep(1)
        print("    after retrying the refused ones:", collections.Counter(res2), "answers/user", answers(people))
        # (c) SIGTERM mid-burst
        people = list(range(320000, 320120))
        ups = [f.push_message(private_chat(p), user(p), "/mood sad") for p in people]
        sem = asyncio.Semaphore(40)

        async def one(i, u):
            async with sem:
                return await c.send(u, to=i % 2, timeout=120)

        async def term():
            await asyncio.sleep(1.0)
            c.replicas[A].proc.send_signal(15)
            return await c.replicas[A].proc.wait()
        tt = asyncio.create_task(term())
        res = await asyncio.gather(*(one(i, u) for i, u in enumerate(ups)))
        code = await tt
        await asyncio.sleep(1)
        print("(c) SIGTERM A mid-burst: exit", code, collections.Counter(res), "answers/user", answers(people),
              "A's answers 503:", sum(1 for d in f.deliveries if d[0] in set(ups) and d[1] == c.urls[A] and d[2] == 503),
              "conn failed:", sum(1 for d in f.deliveries if d[0] in set(ups) and d[2] is None))
        await c.replicas[A].start()
        # (d) selfie burst, 30 users, round robin, then redelivered to the other
        people = list(range(330000, 330030))
        async with Store(c.database_url) as st:
            for p in people:
                await st.set_consent(UserRef("telegram", str(p)), FACE_CONSENT)
        ups = [f.push_message(private_chat(p), user(p), photo=sf) for p in people]
        t = time.monotonic()
        res = await asyncio.gather(*(c.send(u, to=i % 2, timeout=180) for i, u in enumerate(ups)))
        print(f"(d) 30 selfies: {collections.Counter(res)} in {time.monotonic()-t:.1f}s; attempts",
              collections.Counter(d[2] for d in f.deliveries if d[0] in set(ups)))
        res = await asyncio.gather(*(c.send(u, to=(i + 1) % 2, timeout=60) for i, u in enumerate(ups)))
        await asyncio.sleep(1)
        kinds = collections.Counter("songs" if tracks(x) else x[:50] for p in people for x in c.texts(p))
        print("    redelivered:", collections.Counter(res), "answers/user", answers(people), kinds)
    finally:
        print("exit", await c.stop())
        print("\n".join(c.grep_logs(r" ERROR ")[:8]))


asyncio.run(main())
