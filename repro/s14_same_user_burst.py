"""Scenario 14: one user pressing /more many times at once across replicas; consent asked on
both replicas at once."""
import asyncio
import collections

from repro.cluster import Cluster, private_chat, selfie_bytes, tracks, user


async def main():
    c = Cluster(2)
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    try:
        u = 1401
        pc, U = private_chat(u), user(u, "Mo")
        await c.send(f.push_message(pc, U, "/mood happy"), to=0)
        first = c.texts(u)[-1]
        await asyncio.gather(*(c.send(f.push_message(pc, U, "/more"), to=k % 2) for k in range(8)))
        await asyncio.sleep(1)
        lists = [tracks(t) for t in c.texts(u)[1:]]
        allt = [t for l in [tracks(first)] + lists for t in l]
        dup = [t for t, n in collections.Counter(allt).items() if n > 1]
        print(f"8 concurrent /more: {len(lists)} answers, {len(allt)} songs, repeated songs: {len(dup)}")
        u = 1404
        pc, U = private_chat(u), user(u, "Pa")
        await c.send(f.push_message(pc, U, "/mood happy"), to=0)
        await asyncio.gather(*(c.send(f.push_message(pc, U, "/more"), to=0) for k in range(8)))
        await asyncio.sleep(1)
        allt = [t for x in c.texts(u) for t in tracks(x)]
        print(f"8 concurrent /more on ONE replica: repeated songs: {sum(1 for t, n in collections.Counter(allt).items() if n > 1)}")
        # sequential for comparison
        u = 1402
        pc, U = private_chat(u), user(u, "Ny")
        await c.send(f.push_message(pc, U, "/mood happy"), to=0)
        for k in range(8):
            await c.send(f.push_message(pc, U, "/more"), to=k % 2)
        allt = [t for x in c.texts(u) for t in tracks(x)]
        print(f"8 sequential /more: repeated songs: {sum(1 for t, n in collections.Counter(allt).items() if n > 1)}")
        # consent: photos to both replicas at once before consent
        u = 1403
        pc, U = private_chat(u), user(u, "Ol")
        await asyncio.gather(c.send(f.push_message(pc, U, photo=sf), to=0),
                             c.send(f.push_message(pc, U, photo=sf), to=1))
        await asyncio.sleep(0.5)
        qs = f.sent("sendMessage", u)
        print("two photos at once before consent: questions", len(qs), [q.text[:50] for q in qs])
        yes = next(a for a in qs[-1].actions() if a.startswith("consent:yes"))
        await c.send(f.push_button(pc, U, yes), to=0)
        await asyncio.sleep(1)
        print("  yes on A:", [t[:70] for t in c.texts(u, "editMessageText")], "songs msgs:",
              sum(bool(tracks(t)) for t in c.texts(u) + c.texts(u, "editMessageText")))
    finally:
        print("exit", await c.stop())


asyncio.run(main())
