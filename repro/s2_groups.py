"""Scenario 2: group rounds across replicas."""
import asyncio
import time

from moosic_core.service import FACE_CONSENT
from moosic_core.store import Store
from moosic_core.types import UserRef
from repro.cluster import Cluster, group_chat, selfie_bytes, user

ROUND_S = 8


def lists(c, chat):
    return [t for t in c.texts(chat) if t.startswith("🎶")]


async def main() -> None:
    c = Cluster(2, {"MOOSIC_SERVICE_GROUP_ROUND_S": str(ROUND_S),
                    "MOOSIC_TELEGRAM_UPDATE_LEASE_S": "3"})
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    A, B = 0, 1
    store = Store(c.database_url)
    await store.__aenter__()
    try:
        # --- 1: open on A, join 4 ways on B/A, done on B
        chat = group_chat(-100901)
        ana, ben, cem, dan, eve = (user(901 + i, n) for i, n in enumerate(
            ["Ana", "Ben", "Cem", "Dan", "Eve"]))
        await store.set_consent(UserRef("telegram", "903"), FACE_CONSENT)
        print("/group->A", await c.send(f.push_message(chat, ana, "/group"), to=A))
        print("join btn->B", await c.send(f.push_button(chat, ben, "group:join"), to=B))
        print("I'm in (reply to bot)->B", await c.send(f.push_message(
            chat, dan, "I'm in", reply_to={"message_id": 1, "date": 0, "chat": chat,
                                           "from": f.me(), "text": "x"}), to=B))
        print("I'm in (plain)->A", await c.send(f.push_message(chat, eve, "I'm in"), to=A))
        print("selfie->B", await c.send(f.push_message(chat, cem, photo=sf), to=B))
        print("/mood sad->A", await c.send(f.push_message(chat, eve, "/mood sad"), to=A))
        print("/group done->B", await c.send(f.push_message(chat, ben, "/group done"), to=B))
        await asyncio.sleep(ROUND_S + 4)
        for t in c.texts(chat.get("id")):
            print("   >", t[:160].replace("\n", " | "))
        L = lists(c, chat["id"])
        print("LISTS posted:", len(L))
        for who in ("Ana", "Ben", "Cem", "Dan", "Eve"):
            print("  ", who, "in list:", any(who in x for x in L))

        # --- 2: timer closes while A killed (round opened on A, joined on A)
        chat2 = group_chat(-100902)
        print("/group->A", await c.send(f.push_message(chat2, ana, "/group"), to=A))
        print("/mood happy->A", await c.send(f.push_message(chat2, ben, "/mood happy"), to=A))
        await asyncio.sleep(ROUND_S - 2)
        c.replicas[A].kill(); await c.replicas[A].proc.wait()
        t0 = time.monotonic()
        await asyncio.sleep(6)
        print("timer w/ A killed: lists", len(lists(c, chat2["id"])))
        await c.replicas[A].start()

        # --- 3: timer due while both restart
        chat3 = group_chat(-100903)
        print("/group->B", await c.send(f.push_message(chat3, ana, "/group"), to=B))
        print("/mood calm->A", await c.send(f.push_message(chat3, cem, "/mood calm"), to=A))
        codes = await asyncio.gather(*(r.stop() for r in c.replicas))
        print("stopped both", codes)
        await asyncio.sleep(ROUND_S)
        await asyncio.gather(*(r.start() for r in c.replicas))
        await asyncio.sleep(5)
        print("timer during restart: lists", len(lists(c, chat3["id"])))
        print("   ", [t[:100] for t in c.texts(chat3["id"])])

        # --- 4: two /group at once on both
        chat4 = group_chat(-100904)
        res = await asyncio.gather(c.send(f.push_message(chat4, ana, "/group"), to=A),
                                   c.send(f.push_message(chat4, ben, "/group lift"), to=B))
        print("two /group", res)
        await asyncio.sleep(1)
        for t in c.texts(chat4["id"]):
            print("   >", t[:120].replace("\n", " | "))
        # two done at once on both
        res = await asyncio.gather(c.send(f.push_message(chat4, ana, "/group done"), to=A),
                                   c.send(f.push_message(chat4, ben, "/group done"), to=B))
        await asyncio.sleep(ROUND_S + 3)
        print("two done", res, "lists:", len(lists(c, chat4["id"])))
        for t in c.texts(chat4["id"])[2:]:
            print("   >", t[:120].replace("\n", " | "))

        # --- 5: /group done racing the timer
        chat5 = group_chat(-100905)
        print("/group->A", await c.send(f.push_message(chat5, ana, "/group"), to=A))
        await asyncio.sleep(ROUND_S - 0.05)
        print("done at timer", await c.send(f.push_message(chat5, ana, "/group done"), to=B))
        await asyncio.sleep(4)
        print("done racing timer: lists", len(lists(c, chat5["id"])))
        for t in c.texts(chat5["id"]):
            print("   >", t[:120].replace("\n", " | "))
        # --- 6: member /forget during a round: is their name still in the posted list?
        chat6 = group_chat(-100906)
        print("/group->A", await c.send(f.push_message(chat6, ana, "/group"), to=A))
        print("/mood->B", await c.send(f.push_message(chat6, dan, "/mood happy"), to=B))
        from repro.cluster import private_chat
        print("/forget->A", await c.send(f.push_message(private_chat(904), dan, "/forget"), to=A))
        q = (await f.replies(904, 1, 20))[-1]
        yes = next(a for a in q.actions() if a.startswith("forget:yes"))
        print("yes->B", await c.send(f.push_button(private_chat(904), dan, yes), to=B))
        print("/group done->A", await c.send(f.push_message(chat6, ana, "/group done"), to=A))
        await asyncio.sleep(2)
        print("list after Dan forgot:", [t[:200].replace("\n", " | ") for t in lists(c, chat6["id"])])
    finally:
        await store.__aexit__(None, None, None)
        print("exit codes", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR|Traceback|WARNING")[:40]))


asyncio.run(main())
