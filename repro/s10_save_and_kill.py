"""Scenario 10: Save buttons of lists made on the other replica after restarts (right list?),
then SIGKILL mid-burst repeated to count double answers."""
import asyncio
import collections
import csv
import io
import sys
import time

from repro.cluster import Cluster, private_chat, tracks, user

N = int(sys.argv[1]) if len(sys.argv) > 1 else 120
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def csv_ids(data: bytes) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    key = next(k for k in rows[0] if "URI" in k or "Spotify ID" in k or "uri" in k.lower())
    return [r[key].rsplit(":", 1)[-1] for r in rows]


async def main():
    c = Cluster(2, {"MOOSIC_TELEGRAM_UPDATE_LEASE_S": "3"})
    await c.setup()
    f = c.fake
    A, B = 0, 1
    try:
        ben = 812002
        B_ = user(ben, "Ben")
        pc = private_chat(ben)
        await c.send(f.push_message(pc, B_, "/mood happy"), to=A)
        l1 = (await f.replies(ben, 1, 30))[-1]
        await c.send(f.push_message(pc, B_, "/more"), to=B)
        l2 = (await f.replies(ben, 2, 30))[-1]
        await c.send(f.push_message(pc, B_, "/mood sad"), to=A)
        l3 = (await f.replies(ben, 3, 30))[-1]
        await asyncio.gather(*(r.stop() for r in c.replicas))
        await asyncio.gather(*(r.start() for r in c.replicas))
        for name, lst, to in (("list1(A)", l1, B), ("list2(B)", l2, A), ("list3(A)", l3, B)):
            save = next(a for a in lst.actions() if a.startswith("save:"))
            n = len(f.sent("sendDocument", ben))
            await c.send(f.push_button(pc, B_, save), to=to)
            await f.wait_for(lambda ff: len(ff.sent("sendDocument", ben)) > n, 20)
            doc = f.sent("sendDocument", ben)[-1]
            ids = csv_ids(doc.upload[1])
            print(f"Save {name} pressed on {'AB'[to]} after restart: file {doc.upload[0]}, "
                  f"matches shown list: {ids == tracks(lst.text)}")
        # old list's 'more' button, after a newer list
        more = [a for a in l1.actions() if "more" in a]
        print("list1 buttons:", [a for a in l1.actions() if not a.startswith("fb:")])
        if more:
            n = len(f.sent("sendMessage", ben))
            await c.send(f.push_button(pc, B_, more[0]), to=B)
            r = (await f.replies(ben, n + 1, 20))[-1]
            print("more on OLD list1 (after sad list3):", r.text.split("\n")[0][:100],
                  "| overlaps list3:", bool(set(tracks(r.text)) & set(tracks(l3.text))))
        # /save twice quickly on both replicas
        n = len(f.sent("sendDocument", ben))
        await asyncio.gather(c.send(f.push_message(pc, B_, "/save"), to=A),
                             c.send(f.push_message(pc, B_, "/save"), to=B))
        await asyncio.sleep(1)
        print("/save on both at once: documents", len(f.sent("sendDocument", ben)) - n)

        moods = ["happy", "sad", "calm", "angry", "0.3", "tired"]
        total_dup = total = 0
        for rnd in range(ROUNDS):
            people = list(range(900000 + rnd * 1000, 900000 + rnd * 1000 + N))
            ups = [f.push_message(private_chat(p), user(p), f"/mood {moods[p % 6]}") for p in people]
            sem = asyncio.Semaphore(40)
            victim = c.replicas[rnd % 2]

            async def one(i, u):
                async with sem:
                    return await c.send(u, to=i % 2, timeout=120)
            t = time.monotonic()

            async def killer():
                await asyncio.sleep(1.0)
                victim.kill()
                return time.monotonic() - t
            kt = asyncio.create_task(killer())
            res = await asyncio.gather(*(one(i, u) for i, u in enumerate(ups)))
            kt_at = await kt
            await asyncio.sleep(1.5)
            cnt = collections.Counter(x.chat_id for x in f.sent("sendMessage") if x.chat_id in set(people))
            dup = [p for p in people if cnt[p] > 1]
            miss = [p for p in people if cnt[p] == 0]
            total_dup += len(dup); total += N
            print(f"round {rnd}: killed {victim.name} at {kt_at:.1f}s; statuses {collections.Counter(res)}; "
                  f"answered twice {len(dup)}, never {len(miss)}, took {time.monotonic()-t:.1f}s")
            await victim.start()
        print(f"double answers after SIGKILL: {total_dup} of {total}")
    finally:
        print("exit", await c.stop())


asyncio.run(main())
