"""Scenario 9: /forget on B after a busy life on A: what is left anywhere in the database?"""
import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from moosic_core.store.db import database_url
from repro.cluster import Cluster, group_chat, private_chat, selfie_bytes, user


async def dump(url):
    eng = create_async_engine(database_url(url))
    out = {}
    async with eng.connect() as c:
        tables = [r[0] for r in (await c.execute(text(
            "select table_name from information_schema.tables where table_schema='public'"))).all()]
        for t in sorted(tables):
            cols = [r[0] for r in (await c.execute(text(
                "select column_name from information_schema.columns where table_name=:t order by ordinal_position"), {"t": t})).all()]
            rows = (await c.execute(text(f'select * from "{t}"'))).all()
            out[t] = (cols, [tuple(r) for r in rows])
    await eng.dispose()
    return out


async def main():
    c = Cluster(2, {"MOOSIC_SERVICE_GROUP_ROUND_S": "600"})
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    A, B = 0, 1
    zed, other = 990077, 990088
    Z, O = user(zed, "Zedonius"), user(other, "Otto")
    pc = private_chat(zed)
    chat = group_chat(-100990)
    try:
        async def s(u, to):
            return await c.send(u, to=to)
        csv = b"Track Name,Artist Name(s)\nBohemian Rhapsody,Queen\nHello,Adele\nCreep,Radiohead\n"
        await s(f.push_message(pc, Z, document=f.document(csv, "mine.csv", "text/csv")), A)
        await s(f.push_message(pc, Z, "/mood sad"), A)
        r = (await f.replies(zed, 2, 30))[-1]
        await s(f.push_button(pc, Z, next(a for a in r.actions() if a.startswith("fb:+"))), A)
        await s(f.push_button(pc, Z, next(a for a in r.actions() if a.startswith("fb:-"))), B)
        await s(f.push_message(pc, Z, "/save"), A)
        await s(f.push_message(pc, Z, "/discover more"), A)
        await s(f.push_message(pc, Z, photo=sf), A)
        q = c.fake.sent("sendMessage", zed)[-1]
        await s(f.push_button(pc, Z, next(a for a in q.actions() if a.startswith("consent:yes"))), A)
        await s(f.push_message(pc, Z, photo=sf), A)
        # album
        mg = "mgZ"
        await asyncio.gather(*(c.send(f.push_message(pc, Z, photo=sf, media_group_id=mg), to=k % 2) for k in range(2)))
        await s(f.push_message(pc, Z, "/link spotify"), A)
        # group: other opens, Zed joins with a selfie and /mood; a second, closed round with a list
        await s(f.push_message(chat, O, "/group"), A)
        await s(f.push_message(chat, Z, "/mood happy"), B)
        await s(f.push_message(chat, Z, photo=sf, caption="/mood"), A)
        chat2 = group_chat(-100991)
        await s(f.push_message(chat2, O, "/group"), A)
        await s(f.push_button(chat2, Z, "group:join"), B)
        await s(f.push_message(chat2, O, "/group done"), A)
        await asyncio.sleep(1)
        before = await dump(c.database_url)
        uid = next(r[0] for r in before["users"][1] if str(zed) in map(str, r))
        print("Zed internal id", uid)
        for t, (cols, rows) in before.items():
            print(f"  before {t}: {len(rows)} rows; cols {cols}")
        n0 = len(f.sent("sendMessage", zed))
        await s(f.push_message(pc, Z, "/forget"), B)
        q = (await f.replies(zed, n0 + 1, 30))[-1]
        await s(f.push_button(pc, Z, next(a for a in q.actions() if a.startswith("forget:yes"))), A)
        await asyncio.sleep(1)
        print("forget answer:", [x[:80] for x in c.texts(zed, "editMessageText")][-1:])
        after = await dump(c.database_url)
        print("\nLEFT AFTER FORGET (rows mentioning Zed's platform id, internal id in a user column, or name):")
        for t, (cols, rows) in after.items():
            for r in rows:
                d = dict(zip(cols, r))
                hit = any(str(zed) in str(v) or "Zedonius" in str(v) for v in d.values()) or \
                    any(k in ("user_id", "owner_id", "member_id") and v == uid for k, v in d.items())
                if hit:
                    print(f"  {t}: {str(d)[:300]}")
        for t in after:
            print(f"  {t}: {len(before[t][1])} -> {len(after[t][1])} rows")
        # the open round: does its state still show Zed joined (count, names)?
        await s(f.push_message(chat, O, "/group done"), B)
        await asyncio.sleep(2)
        print("round closed after Zed forgot:", [x[:200].replace("\n", " | ") for x in c.texts(chat["id"]) if x.startswith("🎶")])
    finally:
        print("exit", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR")[:10]))


asyncio.run(main())
