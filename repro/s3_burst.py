"""Scenario 3: bursts round-robin, redelivery to the other replica, SIGKILL mid-burst."""
import asyncio
import collections
import sys
import time

from repro.cluster import Cluster, private_chat, tracks, user

N = int(sys.argv[1]) if len(sys.argv) > 1 else 150


async def bounded(coros, limit):
    sem = asyncio.Semaphore(limit)

    async def one(co):
        async with sem:
            try:
                return await co
            except AssertionError as exc:
                return f"FAIL {str(exc)[:200]}"
    return await asyncio.gather(*(one(co) for co in coros))


def per_chat(c, ids):
    cnt = collections.Counter(x.chat_id for x in c.fake.sent("sendMessage") if x.chat_id in ids)
    return cnt


async def main() -> None:
    c = Cluster(2, {"MOOSIC_TELEGRAM_UPDATE_LEASE_S": "4"})
    await c.setup()
    f = c.fake
    A, B = 0, 1
    try:
        # --- burst 1: N updates round robin, 40 in flight, then all redelivered to the other
        people = list(range(700000, 700000 + N))
        moods = ["happy", "sad", "calm", "angry", "0.3", "tired"]
        ups = {p: f.push_message(private_chat(p), user(p), f"/mood {moods[p % 6]}") for p in people}
        t = time.monotonic()
        res = await bounded([c.send(u, to=i % 2, timeout=120) for i, u in enumerate(ups.values())], 40)
        print(f"burst1: {collections.Counter(map(str, res))} in {time.monotonic()-t:.1f}s")
        first_ok = {}
        for u, url, st in f.deliveries:
            if st == 200 and u not in first_ok:
                first_ok[u] = url
        statuses = collections.Counter((st) for u, url, st in f.deliveries if u in set(ups.values()))
        print("   attempts by status:", statuses)
        other = {c.urls[0]: 1, c.urls[1]: 0}
        res = await bounded([c.send(u, to=other[first_ok[u]], timeout=60) for u in ups.values()], 40)
        print("redelivery:", collections.Counter(map(str, res)))
        await asyncio.sleep(2)
        cnt = per_chat(c, set(people))
        print("burst1 answers per chat:", collections.Counter(cnt[p] for p in people))
        bad = [p for p in people if cnt[p] != 1]
        print("   chats not answered exactly once:", bad[:10])
        nolist = [p for p in people if cnt[p] == 1 and not tracks(c.texts(p)[0])]
        print("   answered without songs:", len(nolist), [c.texts(p)[0][:100] for p in nolist[:3]])

        # --- burst 2: N updates, SIGKILL A after 1/3 were sent
        people2 = list(range(800000, 800000 + N))
        ups2 = {p: f.push_message(private_chat(p), user(p), f"/mood {moods[p % 6]}") for p in people2}
        t = time.monotonic()

        async def killer():
            await asyncio.sleep(1.5)
            c.replicas[A].kill()
            print(f"   killed A at {time.monotonic()-t:.1f}s", flush=True)
        kt = asyncio.create_task(killer())
        res = await bounded([c.send(u, to=i % 2, timeout=120) for i, u in enumerate(ups2.values())], 40)
        await kt
        print(f"burst2 (A killed): {collections.Counter(map(str, res))} in {time.monotonic()-t:.1f}s")
        await asyncio.sleep(2)
        cnt = per_chat(c, set(people2))
        print("burst2 answers per chat:", collections.Counter(cnt[p] for p in people2))
        dup = [p for p in people2 if cnt[p] > 1]
        miss = [p for p in people2 if cnt[p] == 0]
        print("   answered twice:", len(dup), dup[:10], " never:", len(miss), miss[:10])
        for p in dup[:3]:
            u = ups2[p]
            print("   deliveries of", u, [(url[-20:], st) for uu, url, st in f.deliveries if uu == u])
        errs = [p for p in people2 if any("went wrong" in t for t in c.texts(p))]
        print("   'went wrong' answers:", len(errs))
        await c.replicas[A].start()
        # redeliver all of burst2 to A (restarted): nothing more must be sent
        before = len(f.sent("sendMessage"))
        res = await bounded([c.send(u, to=A, timeout=60) for u in ups2.values()], 40)
        await asyncio.sleep(2)
        print("redelivery after restart:", collections.Counter(map(str, res)),
              "new sendMessage:", len(f.sent("sendMessage")) - before)
    finally:
        print("exit codes", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR|Traceback")[:30]))


asyncio.run(main())
