"""Scenario 8: Telegram refuses setWebhook (a secret with odd characters, an unresolvable URL),
as the real Bot API does (400 Bad Request). What does the operator get?"""
import asyncio
import os
import re
import sys

from moosic_core import PROJECT_ROOT
from repro.cluster import PG, PUBLIC_URL
from tests.conftest import fresh_postgres_database
from tests.fakes.telegram import FakeTelegram, free_port


class StrictTelegram(FakeTelegram):
    async def _m_setWebhook(self, params):
        secret = params.get("secret_token") or ""
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            return self._error(400, "Bad Request: secret token contains unallowed characters")
        if "unresolvable" in str(params.get("url")):
            return self._error(400, "Bad Request: bad webhook: Failed to resolve host: Name or service not known")
        return await super()._m_setWebhook(params)


async def main():
    fake = StrictTelegram()
    await fake.start()
    db = await fresh_postgres_database(PG, "t1_setwebhook")
    base = {"PATH": os.environ["PATH"], "HOME": "/tmp", "PYTHONPATH": str(PROJECT_ROOT),
            "MOOSIC_TELEGRAM_TOKEN": fake.token, "MOOSIC_TELEGRAM_API_URL": fake.base_url,
            "MOOSIC_TELEGRAM_WEBHOOK_URL": PUBLIC_URL, "MOOSIC_STORE_DATABASE_URL": db,
            "MOOSIC_PATHS_DATABASE": "/tmp/t1startup/unused.sqlite3",
            "MOOSIC_STARTUP_RETRY_FOR_S": "10"}
    for name, env in (("secret with a space", {"MOOSIC_TELEGRAM_WEBHOOK_SECRET": "has space"}),
                      ("secret of 300 chars", {"MOOSIC_TELEGRAM_WEBHOOK_SECRET": "a" * 300}),
                      ("unresolvable webhook_url", {"MOOSIC_TELEGRAM_WEBHOOK_URL": "https://unresolvable.example/telegram"})):
        env = {**base, **env, "MOOSIC_TELEGRAM_WEBHOOK_PORT": str(free_port()),
               "MOOSIC_MONITOR_LISTEN": f"127.0.0.1:{free_port()}"}
        p = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "bot", "telegram",
                                                 cwd=PROJECT_ROOT, env=env, stdout=-1, stderr=-2)
        try:
            out, _ = await asyncio.wait_for(p.communicate(), 40)
            code = p.returncode
        except TimeoutError:
            p.terminate(); out, _ = await p.communicate(); code = "still running after 40 s"
        lines = out.decode(errors="replace").splitlines()
        print(f"\n=== {name}: exit {code}; traceback={any('Traceback' in l for l in lines)}")
        for l in [l for l in lines if re.search("ERROR|error|Error|WARN", l)][-6:]:
            print("   ", l[:300])
    await fake.stop()


asyncio.run(main())
