"""Scenario 7: operator mistakes at start: exit code and the last lines of the log."""
import asyncio
import os
import socket
import subprocess
import sys
import time

from moosic_core import PROJECT_ROOT
from repro.cluster import PG, PUBLIC_URL
from tests.conftest import fresh_postgres_database
from tests.fakes.telegram import FakeTelegram, free_port

PGCTL = "/usr/lib/postgresql/15/bin/pg_ctl"
ONLY = sys.argv[1:]


def pg(action: str) -> None:
    args = ["runuser", "-u", "nobody", "--", PGCTL, "-D", "/tmp/f1pg/data", "-w"]
    args += ["-m", "fast", "stop"] if action == "stop" else [
        "-l", "/tmp/f1pg/sock/server.log", "start", "-o",
        "-c listen_addresses='' -k /tmp/f1pg/sock -F -c max_connections=200"]
    subprocess.run(args, capture_output=True)


async def run(name, env, base, cmd=("bot", "telegram"), wait=40.0, probe=None):
    if ONLY and not any(o in name for o in ONLY):
        return
    full = {**base, **env}
    full = {k: v for k, v in full.items() if v is not None}
    t = time.monotonic()
    p = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *cmd, cwd=PROJECT_ROOT, env=full,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(p.communicate(), wait)
        code = p.returncode
    except TimeoutError:
        if probe:
            await probe()
        p.terminate()
        out, _ = await p.communicate()
        code = f"still running after {wait}s (then SIGTERM -> {p.returncode})"
    lines = [l for l in out.decode(errors="replace").splitlines() if l.strip()]
    tb = any("Traceback" in l for l in lines)
    print(f"\n=== {name}: exit {code} in {time.monotonic()-t:.1f}s, traceback={tb}")
    interesting = [l for l in lines if any(w in l for w in ("ERROR", "CRITICAL", "WARNING", "Config", "config", "Error", "error"))]
    for l in (interesting or lines)[-6:]:
        print("   ", l[:400])


async def main():
    fake = FakeTelegram()
    await fake.start()
    db = await fresh_postgres_database(PG, "t1_startup")
    tmp = "/tmp/t1startup"
    os.makedirs(tmp, exist_ok=True)
    base = {"PATH": os.environ["PATH"], "HOME": tmp, "PYTHONPATH": str(PROJECT_ROOT),
            "MOOSIC_TELEGRAM_TOKEN": fake.token, "MOOSIC_TELEGRAM_API_URL": fake.base_url,
            "MOOSIC_TELEGRAM_WEBHOOK_URL": PUBLIC_URL, "MOOSIC_STORE_DATABASE_URL": db,
            "MOOSIC_PATHS_DATABASE": f"{tmp}/unused.sqlite3",
            "MOOSIC_TELEGRAM_WEBHOOK_PORT": str(free_port()),
            "MOOSIC_MONITOR_LISTEN": f"127.0.0.1:{free_port()}",
            "MOOSIC_STARTUP_RETRY_FOR_S": "15"}
    R = lambda *a, **k: run(*a, base=base, **k)  # noqa: E731
    await R("db: wrong host socket", {"MOOSIC_STORE_DATABASE_URL": "postgresql://postgres@/x?host=/tmp/nowhere"})
    await R("db: wrong database name", {"MOOSIC_STORE_DATABASE_URL": PG.replace("/postgres?", "/no_such_db?")})
    await R("db: wrong user", {"MOOSIC_STORE_DATABASE_URL": PG.replace("postgres@", "nobodyx@")})
    await R("db: mysql scheme", {"MOOSIC_STORE_DATABASE_URL": "mysql://u:p@localhost/db"})
    await R("db: garbage", {"MOOSIC_STORE_DATABASE_URL": "not a url"})
    await R("db: postgres:// scheme", {"MOOSIC_STORE_DATABASE_URL": db.replace("postgresql", "postgres", 1)})
    await R("db: sqlite in missing dir", {"MOOSIC_STORE_DATABASE_URL": "sqlite:////nonexistent/dir/x.db"})
    await R("db: TCP port closed", {"MOOSIC_STORE_DATABASE_URL": "postgresql://postgres:pw@127.0.0.1:1/postgres"})
    await R("secret: with space", {"MOOSIC_TELEGRAM_WEBHOOK_SECRET": "has space"})
    await R("secret: 300 chars", {"MOOSIC_TELEGRAM_WEBHOOK_SECRET": "a" * 300})
    await R("secret: non-ascii", {"MOOSIC_TELEGRAM_WEBHOOK_SECRET": "geheim-é"})
    await R("webhook_url http", {"MOOSIC_TELEGRAM_WEBHOOK_URL": "http://bot.example.test/telegram"})
    await R("webhook_url no scheme", {"MOOSIC_TELEGRAM_WEBHOOK_URL": "bot.example.test/telegram"})
    await R("webhook_port 70000", {"MOOSIC_TELEGRAM_WEBHOOK_PORT": "70000"})
    await R("update_lease_s 0", {"MOOSIC_TELEGRAM_UPDATE_LEASE_S": "0"})
    await R("update_lease_s -1", {"MOOSIC_TELEGRAM_UPDATE_LEASE_S": "-1"})
    await R("webhook_max_updates 0", {"MOOSIC_TELEGRAM_WEBHOOK_MAX_UPDATES": "0"}, wait=15)
    await R("webhook_listen bad host", {"MOOSIC_TELEGRAM_WEBHOOK_LISTEN": "10.255.255.1"})
    # port in use
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); busy = s.getsockname()[1]
    await R("webhook port in use", {"MOOSIC_TELEGRAM_WEBHOOK_PORT": str(busy)})
    await R("monitor port in use", {"MOOSIC_MONITOR_LISTEN": f"127.0.0.1:{busy}"})
    await R("webhook port == monitor port", {"MOOSIC_TELEGRAM_WEBHOOK_PORT": str(busy + 1 if False else 0) if False else base["MOOSIC_MONITOR_LISTEN"].rsplit(":", 1)[1]})
    s.close()
    # discord shards
    dbase = {"MOOSIC_TELEGRAM_TOKEN": None, "MOOSIC_DISCORD_TOKEN": "x" * 59,
             "MOOSIC_DISCORD_API_URL": "http://127.0.0.1:1"}
    for nm, env in (("shard id out of range", {"MOOSIC_DISCORD_SHARD_COUNT": "2", "MOOSIC_DISCORD_SHARD_IDS": "5"}),
                    ("shard id repeated", {"MOOSIC_DISCORD_SHARD_COUNT": "2", "MOOSIC_DISCORD_SHARD_IDS": "0,0"}),
                    ("shard ids w/o count", {"MOOSIC_DISCORD_SHARD_IDS": "0"}),
                    ("shard ids garbage", {"MOOSIC_DISCORD_SHARD_COUNT": "2", "MOOSIC_DISCORD_SHARD_IDS": "a-b"}),
                    ("shard ids reversed range", {"MOOSIC_DISCORD_SHARD_COUNT": "4", "MOOSIC_DISCORD_SHARD_IDS": "3-1"}),
                    ("shard ids negative", {"MOOSIC_DISCORD_SHARD_COUNT": "4", "MOOSIC_DISCORD_SHARD_IDS": "-1"}),
                    ("shard count negative", {"MOOSIC_DISCORD_SHARD_COUNT": "-2"}),
                    ("shard ids huge range", {"MOOSIC_DISCORD_SHARD_COUNT": "4", "MOOSIC_DISCORD_SHARD_IDS": "0-99999999"})):
        await R("discord " + nm, {**dbase, **env}, cmd=("bot", "discord"), wait=25)
    # PostgreSQL down at start, then up while it waits
    if not ONLY or any("pgdown" in o for o in ONLY):
        pg("stop")
        async def up_later():
            await asyncio.sleep(8)
            pg("start")
        task = asyncio.create_task(up_later())
        await run("pgdown: PostgreSQL down at start (up after 8 s)", {}, base=base, wait=30)
        await task
    await fake.stop()


asyncio.run(main())
