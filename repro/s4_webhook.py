"""Scenario 4: webhook abuse, graceful stop with updates in flight, /healthz, DB down and back."""
import asyncio
import json
import subprocess
import time

from moosic_core.service import FACE_CONSENT
from moosic_core.store import Store
from moosic_core.types import UserRef
from repro.cluster import Cluster, private_chat, selfie_bytes, tracks, user

PGCTL = "/usr/lib/postgresql/15/bin/pg_ctl"


def pg(action: str) -> None:
    args = ["runuser", "-u", "nobody", "--", PGCTL, "-D", "/tmp/f1pg/data", "-w"]
    if action == "stop":
        args += ["-m", "fast", "stop"]
    else:
        args += ["-l", "/tmp/f1pg/sock/server.log", "start", "-o",
                 "-c listen_addresses='' -k /tmp/f1pg/sock -F -c max_connections=200"]
    print("pg", action, subprocess.run(args, capture_output=True, text=True).returncode, flush=True)


async def main() -> None:
    c = Cluster(2, {"MOOSIC_TELEGRAM_UPDATE_LEASE_S": "4"})
    await c.setup()
    f, sf = c.fake, selfie_bytes()
    A, B = 0, 1
    a = c.replicas[A]
    try:
        u = f.push_message(private_chat(5001), user(5001), "/help")
        body = f.updates[u]
        print("wrong secret", await c.post(a.url, json_body=body, secret="guess"))
        print("no secret", await c.post(a.url, json_body=body, secret=None))
        print("empty secret hdr", await c.post(a.url, json_body=body, secret=""))
        print("huge body 2MB", await c.post(a.url, json.dumps({**body, "pad": "x" * 2_000_000})))
        print("non-JSON", await c.post(a.url, b"hello"))
        print("JSON list", await c.post(a.url, json_body=[1, 2]))
        print("no update_id", await c.post(a.url, json_body={"message": body["message"]}))
        print("update_id str", await c.post(a.url, json_body={**body, "update_id": "7"}))
        print("update_id huge", await c.post(a.url, json_body={**body, "update_id": 2**70}))
        print("update_id negative", await c.post(a.url, json_body={**body, "update_id": -5}))
        print("update_id 2**63", await c.post(a.url, json_body={**body, "update_id": 2**63}))
        print("message not a dict", await c.post(a.url, json_body={"update_id": 900001, "message": "x"}))
        print("message without chat", await c.post(a.url, json_body={"update_id": 900002, "message": {"message_id": 1, "date": 0, "text": "/help"}}))
        print("ignored type (poll)", await c.post(a.url, json_body={"update_id": 900003, "poll": {"id": "1", "question": "q", "options": [], "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular", "allows_multiple_answers": False}}))
        print("my_chat_member", await c.post(a.url, json_body={"update_id": 900004, "my_chat_member": {"chat": private_chat(5002), "from": user(5002), "date": 0, "old_chat_member": {"status": "member", "user": f.me()}, "new_chat_member": {"status": "kicked", "user": f.me(), "until_date": 0}}}))
        print("edited_message", await c.post(a.url, json_body={"update_id": 900005, "edited_message": {**body["message"], "edit_date": 1}}))
        print("only update_id", await c.post(a.url, json_body={"update_id": 900006}))
        print("GET path", await c.post(a.url, method="GET"))
        print("HEAD path", await c.post(a.url, method="HEAD"))
        print("POST other path", await c.post(a.url + "/x", json_body=body))
        print("POST / ", await c.post(a.url.rsplit("/", 1)[0] + "/", json_body=body))
        print("the real one", await c.post(a.url, json_body=body))
        print("text/plain content-type with JSON", await c.post(a.url, json.dumps({**body, "update_id": 900007}), headers={"Content-Type": "text/plain"}))
        await asyncio.sleep(1)
        print("sent to 5001:", [t[:50] for t in c.texts(5001)], "to 5002:", c.texts(5002))
        print("ERRORs in A log:", c.grep_logs(r"ERROR|Traceback")[:5])
        print("health A,B", await c.health(c.replicas[A]), (await c.health(c.replicas[B]))[0])

        # --- graceful stop with a selfie in flight (download held 2 s: shorter than drain)
        async with Store(c.database_url) as store:
            for who in (5003, 5004):
                await store.set_consent(UserRef("telegram", str(who)), FACE_CONSENT)
        up = f.push_message(private_chat(5003), user(5003), photo=sf)
        f.hold_downloads()
        d = asyncio.create_task(c.send(up, to=A))
        await f.wait_for(lambda ff: len(ff.downloads) > 0, 20)
        a.proc.send_signal(15)
        await asyncio.sleep(0.5)
        print("health of A during stop:", await c.health(a))
        u2 = f.push_message(private_chat(5005), user(5005), "/mood happy")
        print("new update to A during stop:", await c.post(a.url, json_body=f.updates[u2]))
        await asyncio.sleep(1.5)
        f.release_downloads()
        print("in-flight selfie delivered:", await d, "A exit", await a.proc.wait())
        await asyncio.sleep(0.5)
        print("  answers to 5003:", len(c.texts(5003)), [bool(tracks(t)) for t in c.texts(5003)])
        print("  deliveries:", [(url[-12:], st) for uu, url, st in f.deliveries if uu == up])
        await a.start()

        # --- graceful stop with the download held LONGER than the drain (lease 4 s)
        n0 = len(f.downloads)
        up = f.push_message(private_chat(5004), user(5004), photo=sf)
        f.hold_downloads()
        t = time.monotonic()
        d = asyncio.create_task(c.send(up, to=A, timeout=90))
        await f.wait_for(lambda ff: len(ff.downloads) > n0, 20)
        a.proc.send_signal(15)
        code = await a.proc.wait()
        print(f"A exited {code} after {time.monotonic()-t:.1f}s with the download still held")
        await asyncio.sleep(6)
        f.release_downloads()
        print("long in-flight delivered:", await d, f"at {time.monotonic()-t:.1f}s")
        await asyncio.sleep(1)
        print("  answers to 5004:", len(c.texts(5004)), [t[:60] for t in c.texts(5004)])
        print("  deliveries:", [(url[-12:], st) for uu, url, st in f.deliveries if uu == up])
        await a.start()

        # --- DB goes away while replicas run
        pg("stop")
        await asyncio.sleep(1)
        print("health while DB down:", await c.health(c.replicas[A]), await c.health(c.replicas[B]))
        u3 = f.push_message(private_chat(5006), user(5006), "/mood happy")
        print("update while DB down:", await c.fake.deliver(u3, c.urls[A]), await c.fake.deliver(u3, c.urls[B]))
        await asyncio.sleep(1)
        print("  user 5006 got:", c.texts(5006))
        pg("start")
        await asyncio.sleep(1)
        t = time.monotonic()
        st = await c.send(u3, timeout=60)
        print(f"after DB back: {st} in {time.monotonic()-t:.1f}s; user got", [x[:60] for x in c.texts(5006)])
        print("health after DB back:", (await c.health(c.replicas[A]))[0], (await c.health(c.replicas[B]))[0])
        u4 = f.push_message(private_chat(5007), user(5007), "/mood sad")
        print("new update after DB back", await c.send(u4), len(c.texts(5007)))
    finally:
        f.release_downloads()
        print("exit codes", await c.stop())
        print("\n".join(c.grep_logs(r"ERROR|Traceback|WARNING|CRITICAL")[:40]))


asyncio.run(main())
