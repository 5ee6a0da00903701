"""Scenario 1: consent across replicas, /more, /save + Save button after restart, /forget."""
import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from moosic_core.store.db import database_url
from repro.cluster import Cluster, private_chat, selfie_bytes, tracks, user


async def dump_user_rows(url: str, uid: str) -> dict[str, int]:
    """Every table, every text-ish column containing the user id."""
    eng = create_async_engine(database_url(url))
    found = {}
    async with eng.connect() as c:
        tables = (await c.execute(text(
            "select table_name, column_name from information_schema.columns "
            "where table_schema='public' and data_type in ('text','character varying','json','jsonb','bigint','integer')"))).all()
        for t, col in tables:
            n = (await c.execute(text(
                f'select count(*) from "{t}" where cast("{col}" as text) like :p'),
                {"p": f"%{uid}%"})).scalar()
            if n:
                found[f"{t}.{col}"] = n
    await eng.dispose()
    return found


async def main() -> None:
    c = Cluster(2)
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    A, B = 0, 1
    try:
        # 1. consent on B for photo held on A
        ana = 811001
        up = f.push_message(private_chat(ana), user(ana), photo=sf)
        print("photo->A", await c.send(up, to=A))
        q = (await f.replies(ana, 1, 30))[0]
        print("Q:", q.text[:120], q.actions())
        yes = next(a for a in q.actions() if a.startswith("consent:yes"))
        print("consent->B", await c.send(f.push_button(private_chat(ana), user(ana), yes), to=B))
        await asyncio.sleep(2)
        print("after consent on B: send", c.texts(ana), "edit", c.texts(ana, "editMessageText"))
        # consent pressed again on A (the replica holding the photo) -- a repeat press
        print("consent again->A", await c.send(f.push_button(private_chat(ana), user(ana), yes), to=A))
        await asyncio.sleep(2)
        print("after 2nd press on A: send", [t[:80] for t in c.texts(ana)],
              "edit", [t[:80] for t in c.texts(ana, "editMessageText")])
        print("answerCallbackQuery", [x.params for x in f.sent("answerCallbackQuery")][-2:])

        # 2. /mood on A, /more on B, /save on A, Save button of the B list after restart of B
        ben = 811002
        print("/mood->A", await c.send(f.push_message(private_chat(ben), user(ben, "Ben"), "/mood happy"), to=A))
        r1 = (await f.replies(ben, 1, 30))[-1]
        print("/more->B", await c.send(f.push_message(private_chat(ben), user(ben, "Ben"), "/more"), to=B))
        r2 = (await f.replies(ben, 2, 30))[-1]
        print("list1", len(tracks(r1.text)), "list2", len(tracks(r2.text)),
              "overlap", set(tracks(r1.text)) & set(tracks(r2.text)))
        saves1 = [a for a in r1.actions() if "save" in a]
        saves2 = [a for a in r2.actions() if "save" in a]
        print("save actions", saves1, saves2)
        print("restart B")
        await c.replicas[B].stop(); await c.replicas[B].start()
        print("restart A (SIGKILL)")
        c.replicas[A].kill(); await c.replicas[A].proc.wait(); await c.replicas[A].start()
        if saves1:
            print("Save(list1 made on A)->B", await c.send(f.push_button(private_chat(ben), user(ben, "Ben"), saves1[0]), to=B))
        if saves2:
            print("Save(list2 made on B)->A", await c.send(f.push_button(private_chat(ben), user(ben, "Ben"), saves2[0]), to=A))
        print("/save->A", await c.send(f.push_message(private_chat(ben), user(ben, "Ben"), "/save"), to=A))
        print("/more->A after restarts", await c.send(f.push_message(private_chat(ben), user(ben, "Ben"), "/more"), to=A))
        await asyncio.sleep(3)
        for m in ("sendMessage", "sendDocument", "editMessageText", "answerCallbackQuery"):
            calls = f.sent(m, ben) if m != "answerCallbackQuery" else []
            for x in calls:
                print(" ", m, repr(x.text[:100]), x.upload[0] if x.upload else "",
                      (x.params.get("caption") or "")[:80])
        acq = [x.params for x in f.sent("answerCallbackQuery")]
        print("callback answers:", acq[-3:])

        # 3. /forget on B of everything made on A (+ link a playlist, feedback, consent, group)
        cem = 811003
        csv = b"Track Name,Artist Name(s)\nBohemian Rhapsody,Queen\nHello,Adele\nCreep,Radiohead\n"
        doc = f.document(csv, "mine.csv", "text/csv")
        print("playlist->A", await c.send(f.push_message(private_chat(cem), user(cem, "Cem"), document=doc), to=A))
        await f.replies(cem, 1, 30)
        print("  ", c.texts(cem)[-1][:150])
        print("/mood->A", await c.send(f.push_message(private_chat(cem), user(cem, "Cem"), "/mood sad"), to=A))
        r = (await f.replies(cem, 2, 30))[-1]
        fb = [a for a in r.actions() if a.startswith("fb:+")]
        print("like->B", await c.send(f.push_button(private_chat(cem), user(cem, "Cem"), fb[0]), to=B))
        up = f.push_message(private_chat(cem), user(cem, "Cem"), photo=sf)
        print("photo->A", await c.send(up, to=A))
        q = (await f.replies(cem, 3, 30))[-1]
        yes = next(a for a in q.actions() if a.startswith("consent:yes"))
        print("consent->A", await c.send(f.push_button(private_chat(cem), user(cem, "Cem"), yes), to=A))
        await asyncio.sleep(2)
        print("/link spotify->A", await c.send(f.push_message(private_chat(cem), user(cem, "Cem"), "/link spotify"), to=A))
        await asyncio.sleep(1)
        before = await dump_user_rows(c.database_url, str(cem))
        print("rows before forget:", before)
        n0 = len(f.sent("sendMessage", cem))
        print("/forget->B", await c.send(f.push_message(private_chat(cem), user(cem, "Cem"), "/forget"), to=B))
        q = (await f.replies(cem, n0 + 1, 30))[-1]
        yes = next(a for a in q.actions() if a.startswith("forget:yes"))
        print("forget yes->A", await c.send(f.push_button(private_chat(cem), user(cem, "Cem"), yes), to=A))
        await asyncio.sleep(2)
        print("forget answer:", c.texts(cem, "editMessageText")[-1:])
        after = await dump_user_rows(c.database_url, str(cem))
        print("ROWS AFTER FORGET:", after)
        # handled_updates keeps update ids (not user-identifying) -- check chat ids in claims etc.
    finally:
        print("exit codes", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR|Traceback|error ")[:30]))


asyncio.run(main())
