"""``moosic run`` as a real process: with a Telegram token it serves Telegram, stops cleanly on
SIGTERM (confirming every update it fetched) and never logs the token, even with -v."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from moosic_core import PROJECT_ROOT
from tests.fakes.telegram import FakeTelegram, private_chat, user

ANA = 601


async def test_moosic_run_serves_telegram_and_stops_on_sigterm(tmp_path) -> None:
    fake = FakeTelegram()
    await fake.start()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "MOOSIC_TELEGRAM_TOKEN": fake.token, "MOOSIC_TELEGRAM_API_URL": fake.base_url,
           "MOOSIC_PATHS_DATABASE": str(tmp_path / "moosic.sqlite3")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "-v", "run", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        fake.push_message(private_chat(ANA), user(ANA), "/mood happy")
        [reply] = await fake.replies(ANA, timeout=90)
        assert reply.text.startswith("Songs for feeling happy")
        assert fake.sent("setMyCommands")
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert fake.pending == []  # the update was confirmed before the process exited
    log_text = stderr.decode()
    assert "Set Bot API URL" in log_text  # PTB logged its URL (debug), with the token masked
    assert fake.token not in log_text
