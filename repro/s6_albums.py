"""Scenario 6: albums whose parts arrive together on two replicas (as Telegram sends them)."""
import asyncio

from moosic_core.service import FACE_CONSENT
from moosic_core.store import Store
from moosic_core.types import UserRef
from repro.cluster import Cluster, group_chat, private_chat, selfie_bytes, user
from tests.conftest import jpeg_bytes


def headline(t: str) -> str:
    return t[:200].replace("\n", " | ")


async def main() -> None:
    c = Cluster(2)
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    from skimage import data
    coffee = jpeg_bytes(data.coffee())
    A, B = 0, 1
    async with Store(c.database_url) as store:
        for i in range(7000, 7040):
            await store.set_consent(UserRef("telegram", str(i)), FACE_CONSENT)
    try:
        async def album(chat, u, photos, caps, order, gap=0.03, delays=None):
            mg = f"mg{u}-{chat['id']}"
            parts = [f.push_message(chat, user(u), photo=p, caption=cap, media_group_id=mg)
                     for p, cap in zip(photos, caps)]

            async def one(k):
                await asyncio.sleep(delays[k] if delays else k * gap)
                return await c.send(parts[k], to=order[k])
            return await asyncio.gather(*(one(k) for k in range(len(parts))))

        for trial in range(4):
            u = 7030 + trial
            chat = group_chat(-100800 - trial)
            await album(chat, u, [sf, sf, sf], ["/mood", None, None], [B, A, A], delays=[0.15, 0, 0.02])
            await asyncio.sleep(0.5)
            print(f"group album /mood caption@B (arrives 150 ms late) other parts@A #{trial}:",
                  [headline(x) for x in c.texts(chat["id"])])
        for trial in range(2):
            u = 7035 + trial
            await album(private_chat(u), u, [sf, sf, sf], ["so tired", None, None], [B, A, A], delays=[0.15, 0, 0.02])
            await asyncio.sleep(0.5)
            print(f"private album caption@B late #{trial}:", [headline(x) for x in c.texts(u)])
        for trial in range(0):
            u = 7000 + trial
            await album(private_chat(u), u, [sf, sf, sf], ["so tired", None, None], [A, B, B])
            await asyncio.sleep(0.5)
            print(f"private album 3 parts A,B,B caption@A #{trial}:", [headline(x) for x in c.texts(u)])
        for trial in range(0):
            u = 7010 + trial
            await album(private_chat(u), u, [coffee, sf], [None, None], [B, A])
            await asyncio.sleep(0.5)
            print(f"private album coffee@B face@A #{trial}:", [headline(x) for x in c.texts(u)])
        for trial in range(0):
            u = 7020 + trial
            chat = group_chat(-100700 - trial)
            await album(chat, u, [sf, sf, sf], ["/mood", None, None], [B, A, A])
            await asyncio.sleep(0.5)
            print(f"group album /mood caption@B other parts@A #{trial}:",
                  [headline(x) for x in c.texts(chat["id"])], "private:", [headline(x) for x in c.texts(u)])
    finally:
        print("exit codes", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR|WARNING|album")[:20]))


asyncio.run(main())
