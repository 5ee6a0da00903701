"""Serving memory: the resident set (RSS) of a running bot after a selfie and a CSV import.

A fresh child process (so nothing the benchmark harness imported counts) opens the service the
way ``moosic run`` does, starts the real Telegram front-end against the fake Bot API on
127.0.0.1, reads one selfie and imports one 3,000-track playlist CSV (an Exportify export with
audio features, the heaviest kind: tracks the catalog does not know go through the genre model).
It then reports ``VmRSS`` and the peak ``VmHWM`` from ``/proc/self/status`` and which heavy
libraries were loaded. The goal is ``RSS_GOAL_MB``.

The measured start is a restart: the database already exists at the head revision (made by the
parent, as an earlier start would have), the case of every start but the first, so no
migration runs and Alembic is never imported. The very first start on a new database (Alembic
creates the schema and stays imported, about 11 MB more) is measured too and reported beside.

The selfie (scikit-image's astronaut) and the CSV (the first 3,000 rows of the real
``playlists/liked_songs_a.csv``, in a temporary file, never committed) are made by the parent,
so the child imports neither scikit-image nor the dataset tools.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from moosic_core.config import load_config

RSS_GOAL_MB = 300
CSV_TRACKS = 3000
HEAVY_MODULES = ("pandas", "pyarrow", "scipy", "sklearn", "tensorflow", "matplotlib", "cv2",
                 "telegram", "discord", "alembic")


def proc_status_mb(field: str) -> float:
    """A memory field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``...) in MB (10^6 bytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise KeyError(field)


def _selfie() -> bytes:
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((640, 640)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _playlist_head(source: Path, rows: int) -> bytes:
    lines = source.read_bytes().splitlines(keepends=True)
    return b"".join(lines[: rows + 1])


async def _child(selfie: bytes, playlist: bytes, database: Path) -> dict[str, Any]:
    from bot.conversation import Conversation
    from bot.telegram import TelegramBot
    from moosic_core.app import open_service
    from moosic_core.config import TelegramConfig
    from moosic_core.types import UserRef
    from tests.fakes.telegram import FakeTelegram, private_chat, user

    config = load_config()
    config = dataclasses.replace(config, paths=dataclasses.replace(config.paths,
                                                                   database=database))
    out: dict[str, Any] = {}
    async with open_service(config) as service:
        out["after_load_mb"] = round(proc_status_mb("VmRSS"), 1)
        fake = FakeTelegram()
        await fake.start()
        bot = TelegramBot(service, TelegramConfig(token=fake.token, api_url=fake.base_url),
                          conversation=Conversation(service))
        await bot.start(poll_timeout=10)
        try:
            uid = 4242
            await service.give_consent(UserRef("telegram", str(uid)))
            fake.push_message(private_chat(uid), user(uid), photo=selfie)
            selfie_reply = (await fake.replies(uid, 1, timeout=60))[-1].text
            out["after_selfie_mb"] = round(proc_status_mb("VmRSS"), 1)
            document = fake.document(playlist, "liked.csv", "text/csv")
            fake.push_message(private_chat(uid), user(uid), document=document)
            csv_reply = (await fake.replies(uid, 2, timeout=120))[-1].text
        finally:
            await bot.stop()
            await fake.stop()
        out["rss_mb"] = round(proc_status_mb("VmRSS"), 1)
        out["peak_mb"] = round(proc_status_mb("VmHWM"), 1)
    out["selfie_answered"] = selfie_reply.startswith("You look")
    out["csv_answered"] = csv_reply.startswith("Got your playlist")
    out["loaded"] = [m for m in HEAVY_MODULES if m in sys.modules]
    return out


async def _create_store(path: Path) -> None:
    from moosic_core.store import Store

    async with Store(path):
        pass


def _serve(selfie: Path, csv: Path, database: Path) -> dict[str, Any]:
    """One serving child process's figures (see :func:`_child`)."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.rss_bench", "--child",
                           str(selfie), str(csv), str(database)],
                          capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the serving process failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> dict[str, Any]:
    config = load_config()
    source = config.data.playlists_dir / "liked_songs_a.csv"
    if not source.is_file():
        print(f"skipped: the playlist export {source} is not here (data.playlists_dir)")
        return {"skipped": str(source)}
    with tempfile.TemporaryDirectory() as tmp:
        selfie, csv = Path(tmp) / "selfie.jpg", Path(tmp) / "liked.csv"
        selfie.write_bytes(_selfie())
        csv.write_bytes(_playlist_head(source, CSV_TRACKS))
        existing = Path(tmp) / "bench.sqlite3"
        asyncio.run(_create_store(existing))
        result = _serve(selfie, csv, existing)
        first = _serve(selfie, csv, Path(tmp) / "new.sqlite3")
    result["goal_mb"] = RSS_GOAL_MB
    result["first_start_rss_mb"] = first["rss_mb"]
    result["first_start_loaded"] = first["loaded"]
    print(f"{'serving RSS (bot, 1 selfie, 3,000-track CSV)':<44} {result['rss_mb']:>7.1f} MB"
          f"   peak {result['peak_mb']:.1f} MB   goal <= {RSS_GOAL_MB} MB"
          f"   ({'met' if result['rss_mb'] <= RSS_GOAL_MB else 'NOT met'})")
    print(f"{'  after load / after the selfie':<44} {result['after_load_mb']:>7.1f} MB"
          f" / {result['after_selfie_mb']:.1f} MB; loaded: {', '.join(result['loaded'])}")
    print(f"{'  first start (new database, migrations run)':<44} {first['rss_mb']:>7.1f} MB"
          f"   loaded: {', '.join(first['loaded'])}")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(asyncio.run(_child(Path(sys.argv[2]).read_bytes(),
                                            Path(sys.argv[3]).read_bytes(),
                                            Path(sys.argv[4])))))
    else:
        logging.basicConfig(level=logging.WARNING)
        main()
