"""The console chat driven through its real stdin (issue 30): paths as terminals paste them,
yes/no by words, numbered ratings, its own /help, and leaving at once on Ctrl-C or Ctrl-D."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.console import as_path, file_kind
from moosic_core import PROJECT_ROOT


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update(HOME=str(tmp_path), MOOSIC_PATHS_DATABASE=str(tmp_path / "console.sqlite3"))
    return env


def _answers(stdout: str) -> list[str]:
    """The reply to each input line: what follows each "> " prompt."""
    return [part.strip() for part in stdout.split("> ")[1:]]


def test_a_console_session(tmp_path: Path, selfie: bytes) -> None:
    photo = tmp_path / "my selfie.jpg"
    photo.write_bytes(selfie)
    notes = tmp_path / "notes.txt"
    notes.write_text("buy milk\nwalk the dog\n")
    lines = [
        "/help",
        str(tmp_path / "missing" / "me.jpg"),  # a missing absolute path
        str(tmp_path),  # a folder
        str(notes),  # a text file that is no playlist
        f"'{photo}'",  # drag-and-drop quotes the path
        "Yes!",  # the consent question, answered with a word
        "/mood angry",
        "/like 0",
        "/dislike -5",
        "/like 99",
        "/like abc",
        "/like 1",
        "~/my\\ selfie.jpg",  # ~ and a backslash-escaped space
        "/forget",
        "nope",
        "/lift",
    ]
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=180,
                          env=_env(tmp_path), check=False)  # ends with end of input (Ctrl-D)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = _answers(proc.stdout)
    (help_, missing, folder, text_file, quoted, consent, angry, zero, minus, big, word, like,
     escaped, forget, kept, lift) = answers[:16]
    assert "/like N" in help_ and "path" in help_ and "Ctrl-C" in help_
    assert "/link spotify <user id" not in help_  # the chat bots' help is not the console's
    assert missing.startswith(f"No such file: {tmp_path / 'missing' / 'me.jpg'}")
    assert "isn't a photo or a playlist I can read" in folder and "folder" in folder
    assert "isn't a photo or a playlist I can read: notes.txt" in text_file
    assert "Do you agree? (yes or no)" in quoted
    assert consent.startswith("You look")
    assert angry.startswith("Songs for feeling angry.")
    for refused in (zero, minus, big, word):
        assert "/like 1 to /like 10" in refused or "/dislike 1 to /dislike 10" in refused
    title = angry.splitlines()[1].split(". ", 1)[1].split(" — ")[0]
    assert like.startswith(f"👍 noted: {title} — ")
    assert escaped.startswith("You look")  # consent remembered, the path understood
    assert "Are you sure? (yes or no)" in forget
    assert "Nothing was deleted" in kept
    assert "I don't know /" not in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
    assert lift.startswith("You look") or "step 1 of 10" in lift or "nothing to lift" in lift
    assert proc.stdout.rstrip().endswith("Bye.")


def test_ctrl_c_quits_at_once_while_waiting_for_input(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PROJECT_ROOT,
                            env=_env(tmp_path))
    assert proc.stdout is not None and proc.stdin is not None
    try:
        os.set_blocking(proc.stdout.fileno(), False)
        seen, deadline = b"", time.monotonic() + 150
        while b"> " not in seen and time.monotonic() < deadline and proc.poll() is None:
            try:
                seen += os.read(proc.stdout.fileno(), 65536)
            except BlockingIOError:
                time.sleep(0.05)
        assert b"> " in seen, seen  # the console waits on stdin (which stays open)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        returncode = proc.wait(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert returncode == 0
    assert elapsed < 5, f"took {elapsed:.1f} s to quit"
    assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()


@pytest.mark.parametrize(("line", "expected"), [
    ("/mood happy", None), ("/like 3", None), ("/help", None), ("yes", None), ("happy", None),
    ("/tmp/x/me.jpg", "/tmp/x/me.jpg"), ("'/tmp/my photo.jpg'", "/tmp/my photo.jpg"),
    ('"/tmp/my photo.jpg"', "/tmp/my photo.jpg"), ("/tmp/my\\ photo.jpg", "/tmp/my photo.jpg"),
    ("file:///tmp/my%20photo.jpg", "/tmp/my photo.jpg"), ("me.jpg", "me.jpg"),
    ("/nothing.png", "/nothing.png"), ("/tmp", "/tmp"),
])
def test_what_counts_as_a_path(line: str, expected: str | None) -> None:
    path = as_path(line)
    assert (str(path) if path else None) == expected


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert as_path("~/me.jpg") == tmp_path / "me.jpg"


@pytest.mark.parametrize(("name", "head", "kind"), [
    ("x.bin", b"\xff\xd8\xff\xe0rest", "photo"), ("photo", b"\x89PNG\r\n", "photo"),
    ("IMG_1.HEIC", b"\x00\x00\x00\x18ftypheic", "photo"), ("a.jpg", b"broken", "photo"),
    ("list.csv", b"Track Name,Artist Name(s)\nA,B\n", "playlist"),
    ("export", b"\xef\xbb\xbfTrack Name;Artist\n", "playlist"),
    ("notes.txt", b"buy milk\n", None), ("cv.pdf", b"%PDF-1.4\n", None), ("empty.csv", b"", None),
])
def test_file_kind_by_name_and_first_bytes(name: str, head: bytes, kind: str | None) -> None:
    assert file_kind(name, head) == kind
