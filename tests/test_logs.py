"""The operator's log: JSON lines on request, what runs at INFO, no secrets, no LiteRT noise;
and ``moosic run`` with the monitor endpoint, as a real process against the fake Telegram."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time

import aiohttp
from cryptography.fernet import Fernet

from moosic_core import PROJECT_ROOT
from moosic_core.logs import install_secret_redaction, setup_logging
from tests.fakes.telegram import FakeTelegram, free_port, private_chat, user
from tests.test_monitor import sample

ANA = 801


def test_moosic_mood_prints_no_xnnpack_line(tmp_path, selfie) -> None:
    photo = tmp_path / "me.jpg"
    photo.write_bytes(selfie)
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "mood", str(photo)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "mood" in proc.stdout
    assert "XNNPACK" not in proc.stderr and "TensorFlow Lite" not in proc.stderr


def test_json_lines_with_secrets_masked() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    token = "123456:AAE-secret-telegram-token"
    try:
        setup_logging("INFO", "json", out)
        install_secret_redaction([token, "short"])
        log = logging.getLogger("moosic.test")
        log.info("calling https://api.telegram.org/bot%s/getMe", token)
        log.debug("not at INFO")
        try:
            raise RuntimeError(f"failed with {token}")
        except RuntimeError:
            log.exception("boom")
    finally:
        root.handlers, root.level = saved[0], saved[1]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["level"] for e in lines] == ["INFO", "ERROR"]
    assert lines[0]["message"] == "calling https://api.telegram.org/bot***/getMe"
    assert lines[0]["logger"] == "moosic.test" and lines[0]["time"].endswith("+00:00")
    assert "RuntimeError: failed with ***" in lines[1]["exc"]
    assert token not in out.getvalue()


async def _poll(url: str, want: int, timeout: float = 90) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    status, body = 0, ""
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    status, body = response.status, await response.text()
                if status == want:
                    return status, body
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    return status, body


async def test_moosic_run_json_logs_health_and_metrics(tmp_path) -> None:
    """`moosic --log-format json -v run` with a Telegram token and the monitor on: ready once
    polling, counts the request, logs JSON lines only, never a secret."""
    fake = FakeTelegram()
    await fake.start()
    port = free_port()
    token_key = Fernet.generate_key().decode()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "MOOSIC_TELEGRAM_TOKEN": fake.token, "MOOSIC_TELEGRAM_API_URL": fake.base_url,
           "MOOSIC_SECURITY_TOKEN_KEY": token_key,
           "MOOSIC_SPOTIFY_CLIENT_SECRET": "spotify-client-secret-value",
           "MOOSIC_MONITOR_LISTEN": f"127.0.0.1:{port}",
           "MOOSIC_PATHS_DATABASE": str(tmp_path / "moosic.sqlite3")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "--log-format", "json", "-v", "run", cwd=PROJECT_ROOT,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        status, body = await _poll(f"http://127.0.0.1:{port}/healthz", 200)
        assert status == 200, body
        assert json.loads(body)["checks"]["telegram"]["ok"] is True
        fake.push_message(private_chat(ANA), user(ANA), "/mood happy")
        [reply] = await fake.replies(ANA, timeout=30)
        assert reply.text.startswith("Songs for feeling happy")
        status, metrics = await _poll(f"http://127.0.0.1:{port}/metrics", 200)
        assert sample(metrics, "moosic_requests_total", kind="recommend") == 1
        assert sample(metrics, "moosic_step_seconds_count", step="rank") == 1
        assert sample(metrics, "moosic_users", kind="all") == 1
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    text = stderr.decode()
    entries = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    messages = [e["message"] for e in entries]
    assert "Telegram: polling as @moosic_test_bot" in messages
    assert any(m.startswith("monitor: /healthz and /metrics on") for m in messages)
    assert any("Set Bot API URL" in m for m in messages)  # PTB's debug line, token masked
    for secret in (fake.token, token_key, "spotify-client-secret-value"):
        assert secret not in text
