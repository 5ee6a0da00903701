"""Scenario 5: selfie rate limit across replicas, albums split, captions, stop-drain overrun."""
import asyncio
import time

from moosic_core.service import FACE_CONSENT
from moosic_core.store import Store
from moosic_core.types import UserRef
from repro.cluster import Cluster, group_chat, private_chat, selfie_bytes, tracks, user
from tests.conftest import jpeg_bytes


def headline(t: str) -> str:
    return t.split("\n")[0][:160]


async def main() -> None:
    c = Cluster(2, {"MOOSIC_TELEGRAM_UPDATE_LEASE_S": "2"})
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    from skimage import data
    coffee = jpeg_bytes(data.coffee())
    A, B = 0, 1
    store = Store(c.database_url)
    await store.__aenter__()
    ids = list(range(6001, 6020))
    for i in ids:
        await store.set_consent(UserRef("telegram", str(i)), FACE_CONSENT)
    try:
        # --- rate limit: 10 selfies sequential, alternating replicas
        u = 6001
        for k in range(10):
            await c.send(f.push_message(private_chat(u), user(u), photo=sf), to=k % 2)
        t = c.texts(u)
        print("sequential 10: songs", sum(bool(tracks(x)) for x in t), "limited",
              sum("in a minute" in x for x in t), "total", len(t))
        # --- rate limit: 10 selfies at once, 5 per replica
        u = 6002
        await asyncio.gather(*(c.send(f.push_message(private_chat(u), user(u), photo=sf), to=k % 2)
                               for k in range(10)))
        await asyncio.sleep(1)
        t = c.texts(u)
        print("concurrent 10: songs", sum(bool(tracks(x)) for x in t), "limited",
              sum("in a minute" in x for x in t), "total", len(t), [x[:60] for x in t if not tracks(x)][:3])

        # --- captions
        for u, cap in ((6003, "so tired"), (6004, "/mood sad"), (6005, "me at the beach"),
                       (6006, "feeling happy but tired"), (6007, "😢"), (6008, "/mood"),
                       (6009, "/help"), (6010, "not happy at all")):
            await c.send(f.push_message(private_chat(u), user(u), photo=sf, caption=cap))
            print(f"caption {cap!r}: {headline(c.texts(u)[-1])}")

        # --- albums split across replicas: 3 parts, caption on part 1
        for u, order in ((6011, [A, B, B]), (6012, [B, A, A]), (6013, [A, B, A])):
            mg = f"mg{u}"
            parts = [f.push_message(private_chat(u), user(u), photo=sf if k else sf,
                                    caption="so tired" if k == 0 else None, media_group_id=mg)
                     for k in range(3)]
            await asyncio.gather(*(c.send(p, to=r) for p, r in zip(parts, order)))
            await asyncio.sleep(1)
            t = c.texts(u)
            print(f"album {order} caption on part1: {len(t)} answer(s):", [headline(x) for x in t])
        # album: first photo without face lands on replica B, second (face) on A
        u = 6014
        mg = "mg6014"
        p1 = f.push_message(private_chat(u), user(u), photo=coffee, media_group_id=mg)
        p2 = f.push_message(private_chat(u), user(u), photo=sf, media_group_id=mg)
        await asyncio.gather(c.send(p1, to=B), c.send(p2, to=A))
        await asyncio.sleep(1)
        print("album coffee@B + face@A:", [headline(x) for x in c.texts(u)])
        # album in a group with /mood caption on the part of the losing replica
        chat = group_chat(-100601)
        u = 6015
        mg = "mg6015"
        p1 = f.push_message(chat, user(u), photo=sf, caption="/mood", media_group_id=mg)
        p2 = f.push_message(chat, user(u), photo=sf, media_group_id=mg)
        p3 = f.push_message(chat, user(u), photo=sf, media_group_id=mg)
        await c.send(p2, to=A)  # A claims first
        await asyncio.gather(c.send(p1, to=B), c.send(p3, to=A))
        await asyncio.sleep(1)
        print("group album /mood caption on B, A claimed:", [headline(x) for x in c.texts(chat["id"])],
              "private:", [headline(x) for x in c.texts(u)])
        # album redelivered later (whole) to the other replica
        before = len(f.sent("sendMessage"))
        u = 6011
        for p in [x for x in f.updates if f.updates[x].get("message", {}).get("media_group_id") == "mg6011"]:
            await c.send(p, to=B)
        await asyncio.sleep(7)
        print("album 6011 redelivered: new sendMessage", len(f.sent("sendMessage")) - before)

        # --- stop whose drain (lease 2 s) is shorter than the in-flight update (3.5 s held)
        a = c.replicas[A]
        u = 6016
        n0 = len(f.downloads)
        up = f.push_message(private_chat(u), user(u), photo=sf)
        f.hold_downloads()
        t0 = time.monotonic()
        d = asyncio.create_task(c.send(up, to=A, timeout=60))
        await f.wait_for(lambda ff: len(ff.downloads) > n0, 20)
        a.proc.send_signal(15)
        await asyncio.sleep(3.5)
        f.release_downloads()
        st = await d
        code = await a.proc.wait()
        await asyncio.sleep(1)
        print(f"drain overrun: delivered {st} at {time.monotonic()-t0:.1f}s, A exit {code}")
        print("  deliveries:", [(url[-12:], s) for uu, url, s in f.deliveries if uu == up])
        print("  answers:", [headline(x) for x in c.texts(u)])
        await a.start()
        # --- a slow download on a running replica (held 6 s > PTB read timeout?)
        u = 6017
        n0 = len(f.downloads)
        up = f.push_message(private_chat(u), user(u), photo=sf)
        f.hold_downloads()
        d = asyncio.create_task(c.send(up, to=B, timeout=60))
        await f.wait_for(lambda ff: len(ff.downloads) > n0, 20)
        await asyncio.sleep(6)
        f.release_downloads()
        await d
        await asyncio.sleep(0.5)
        print("slow download 6 s:", [headline(x) for x in c.texts(u)])
    finally:
        f.release_downloads()
        await store.__aexit__(None, None, None)
        print("exit codes", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR|WARNING")[:20]))


asyncio.run(main())
