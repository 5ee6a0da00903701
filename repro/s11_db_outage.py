"""Scenario 11: PostgreSQL goes away for ~12 s while replicas run: a group timer due meanwhile,
updates delivered (and retried) meanwhile, a selfie in flight when it goes."""
import asyncio
import collections
import subprocess
import time

from moosic_core.service import FACE_CONSENT
from moosic_core.store import Store
from moosic_core.types import UserRef
from repro.cluster import Cluster, group_chat, private_chat, selfie_bytes, tracks, user

PGCTL = "/usr/lib/postgresql/15/bin/pg_ctl"


def pg(action):
    args = ["runuser", "-u", "nobody", "--", PGCTL, "-D", "/tmp/f1pg/data", "-w"]
    args += ["-m", "fast", "stop"] if action == "stop" else [
        "-l", "/tmp/f1pg/sock/server.log", "start", "-o",
        "-c listen_addresses='' -k /tmp/f1pg/sock -F -c max_connections=200"]
    subprocess.run(args, capture_output=True)


async def main():
    c = Cluster(2, {"MOOSIC_SERVICE_GROUP_ROUND_S": "6", "MOOSIC_TELEGRAM_UPDATE_LEASE_S": "3"})
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    A, B = 0, 1
    async with Store(c.database_url) as st:
        await st.set_consent(UserRef("telegram", "4401"), FACE_CONSENT)
    try:
        chat = group_chat(-100440)
        await c.send(f.push_message(chat, user(4402, "Gia"), "/group"), to=A)
        await c.send(f.push_message(chat, user(4403, "Hal"), "/mood calm"), to=B)
        # a selfie in flight
        n0 = len(f.downloads)
        up = f.push_message(private_chat(4401), user(4401), photo=sf)
        f.hold_downloads()
        sel = asyncio.create_task(c.send(up, to=A, timeout=120))
        await f.wait_for(lambda ff: len(ff.downloads) > n0, 20)
        lines0 = [len(r.log_path.read_text(errors="replace").splitlines()) for r in c.replicas]
        pg("stop"); t0 = time.monotonic()
        print("PG stopped", flush=True)
        f.release_downloads()
        people = list(range(4500, 4520))
        ups = [f.push_message(private_chat(p), user(p), "/mood happy") for p in people]
        tasks = [asyncio.create_task(c.send(u, timeout=120)) for u in ups]
        await asyncio.sleep(12)
        print("health during outage:", [(await c.health(r))[0] for r in c.replicas])
        lines1 = [len(r.log_path.read_text(errors="replace").splitlines()) for r in c.replicas]
        print("log lines written during 12 s outage:", [b - a for a, b in zip(lines0, lines1)])
        print("selfie user got during outage:", [x[:70] for x in c.texts(4401)])
        print("group msgs during outage:", [x[:50] for x in c.texts(chat["id"])])
        pg("start"); print(f"PG started at {time.monotonic()-t0:.1f}s", flush=True)
        res = await asyncio.gather(*tasks, return_exceptions=True)
        print("updates sent during outage:", collections.Counter(map(str, res)),
              f"all done at {time.monotonic()-t0:.1f}s")
        print("  deliveries per update (median):",
              sorted(len([d for d in f.deliveries if d[0] == u]) for u in ups)[10])
        print("  statuses seen:", collections.Counter(d[2] for d in f.deliveries if d[0] in set(ups)))
        await sel
        await asyncio.sleep(8)
        cnt = collections.Counter(x.chat_id for x in f.sent("sendMessage") if x.chat_id in set(people))
        print("answers per user:", collections.Counter(cnt[p] for p in people))
        print("selfie user got:", [x[:70] for x in c.texts(4401)])
        print("group lists:", len([x for x in c.texts(chat["id"]) if x.startswith("🎶")]),
              [x[:60] for x in c.texts(chat["id"])])
        print("health after:", [(await c.health(r))[0] for r in c.replicas])
    finally:
        f.release_downloads()
        print("exit", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR|CRITICAL")[:12]))


asyncio.run(main())
