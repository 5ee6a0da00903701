"""State that must outlive the process (issue 33): the bot is stopped and started again between
a list and ``/more``, through the real console chat, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from moosic_core import PROJECT_ROOT

#: /more with no list to continue, as the console words it (a selfie is a path there).
NOTHING_TO_CONTINUE = "Type the path of a selfie or use /mood first."

TRACK_LINK = re.compile(r"open\.spotify\.com/track/(\w+)")


def _chat(lines: list[str], env: dict[str, str]) -> list[str]:
    """One run of the console chat (a process start and stop); the reply to each line."""
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=180,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [part.strip() for part in proc.stdout.split("> ")[1:]][:len(lines)]


def test_more_and_numbered_ratings_continue_after_a_restart(store_target: Path | str,
                                                            tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_TOKEN") and not k.startswith("MOOSIC_")}
    env["HOME"] = str(tmp_path)
    if isinstance(store_target, Path):
        env["MOOSIC_PATHS_DATABASE"] = str(store_target)
    else:
        env["MOOSIC_STORE_DATABASE_URL"] = store_target
        env["MOOSIC_PATHS_DATABASE"] = str(tmp_path / "unused" / "never.sqlite3")

    (first,) = _chat(["/mood a bit sad"], env)
    first_ids = TRACK_LINK.findall(first)
    assert len(first_ids) >= 3, first

    saved_file = tmp_path / "after restart.csv"
    saved, like, more, lift = _chat([f"/save '{saved_file}'", "/like 2", "/more", "/lift"],
                                    env)  # a new process: /save finds the stored last list
    assert f"Saved to {saved_file}" in saved, saved
    assert re.findall(r"spotify:track:(\w+)", saved_file.read_text()) == first_ids
    second_song = re.search(r"^2\. (.+?) — ", first, re.MULTILINE)
    assert second_song is not None
    assert "👍" in like and second_song.group(1) in like, like  # song 2 of the list before
    more_ids = TRACK_LINK.findall(more)
    assert len(more_ids) >= 3 and not set(more_ids) & set(first_ids), more
    assert NOTHING_TO_CONTINUE not in more and NOTHING_TO_CONTINUE not in lift
    assert TRACK_LINK.findall(lift), lift  # the mood of the first run, lifted
    if not isinstance(store_target, Path):
        assert not (tmp_path / "unused").exists()  # PostgreSQL only: no SQLite file made

    _question, forgotten, after = _chat(["/forget", "yes", "/more"], env)
    assert "deleted everything" in forgotten
    assert after == NOTHING_TO_CONTINUE
    (after_restart,) = _chat(["/more"], env)  # and it stays forgotten in the next process
    assert after_restart.startswith(NOTHING_TO_CONTINUE)
