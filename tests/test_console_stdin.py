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
    assert "notes.txt doesn't look like a playlist export" in text_file  # as on Telegram
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
    # names no file can have are answered, never raised (too long, NUL, bad URL, no such ~user)
    ("/mood " + "tired " * 45, None), ("x" * 300 + ".jpg", "x" * 300 + ".jpg"),
    ("/" + "a" * 5000, None), ("/tmp/a\x00b.jpg", "/tmp/a\x00b.jpg"),
    ("file://[oops/me.jpg", None), ("'~nobody_at_all/me.jpg'", None),
    ("~nobody_at_all/me.jpg", "~nobody_at_all/me.jpg"),
])
def test_what_counts_as_a_path(line: str, expected: str | None) -> None:
    path = as_path(line)
    assert (str(path) if path else None) == expected


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert as_path("~/me.jpg") == tmp_path / "me.jpg"


@pytest.mark.parametrize(("name", "head", "kind"), [
    ("x.bin", b"\xff\xd8\xff\xe0rest", "photo"), ("photo", b"\x89PNG\r\n\x1a\n", "photo"),
    ("IMG_1.HEIC", b"\x00\x00\x00\x18ftypheic", "photo"), ("a.jpg", b"broken", None),
    ("list.csv", b"Track Name,Artist Name(s)\nA,B\n", "playlist"),
    ("export", b"\xef\xbb\xbfTrack Name;Artist\n", "playlist"),
    ("cv.pdf", b"%PDF-1.4\n", None), ("empty.csv", b"", "playlist"),
    # every dialect the adapters take: cp1252, ";" and "|" separated, TSV, UTF-16
    ("win.csv", "Track Name,Artist Name(s)\nHalo,Beyonc\xe9\n".encode("cp1252"), "playlist"),
    ("semi.csv", "Titel;K\xfcnstler\nA;B\n".encode("cp1252"), "playlist"),
    ("pipe.txt", b"Track Name|Artist Name(s)\nA|B\n", "playlist"),
    ("tabs.tsv", b"Track Name\tArtist Name(s)\nA\tB\n", "playlist"),
    ("u16.csv", "Track Name,Artist\nA,B\n".encode("utf-16"), "playlist"),
    # a header that starts like an image signature is still text
    ("cars.csv", b"BMW,Artist Name(s)\nA,B\n", "playlist"),
    ("gifs.csv", b"GIF8 songs,Artist\nA,B\n", "playlist"),
])
def test_file_kind_by_name_and_first_bytes(name: str, head: bytes, kind: str | None) -> None:
    assert file_kind(name, head) == kind


def _playlist_rows(sep: str) -> str:
    rows = [("Halo", "Beyoncé"), ("Hello", "Adele"), ("Yellow", "Coldplay"),
            ("Bohemian Rhapsody", "Queen"), ("Shake It Off", "Taylor Swift")]
    return "\n".join([f"Track Name{sep}Artist Name(s)", *(f"{t}{sep}{a}" for t, a in rows)])


def test_long_lines_never_end_the_chat_and_logs_stay_out_of_it(tmp_path: Path) -> None:
    """Lines no file can be named (too long, a NUL byte, an unknown ~user) are answered and the
    chat goes on; INFO log lines (a playlist read, a round opened) don't reach the terminal."""
    playlists = {"win.csv": _playlist_rows(",").encode("cp1252"),
                 "semi.csv": _playlist_rows(";").encode("cp1252"),
                 "pipe.csv": _playlist_rows("|").encode(),
                 "tabs.tsv": _playlist_rows("\t").encode(),
                 "BMW.csv": "\n".join(f"BMW,{row}" for row in _playlist_rows(",").splitlines()
                                       ).encode()}
    for name, data in playlists.items():
        (tmp_path / name).write_bytes(data)
    long_words = "tired " * 45
    lines = [
        f"/mood {long_words}",  # > 255 characters starting with "/"
        "x" * 300 + ".jpg",  # > 255 characters ending in .jpg
        "/" + "a" * 5000,
        "~nobody_here_at_all/me.jpg",
        "/tmp/a\x00b.jpg",
        *(str(tmp_path / name) for name in playlists),
        "/group",
        "happy",  # a plain mood works like /mood
        "/mood 150%",
    ]
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"],
                          input="\n".join(lines) + "\n/mood happy\n/quit\n",
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=180,
                          env=_env(tmp_path), check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = _answers(proc.stdout)
    tired, long_jpg, long_slash, nobody, nul, *files = answers[:5 + len(playlists)]
    group, plain, out_of_range, last = answers[5 + len(playlists):9 + len(playlists)]
    assert tired.startswith("Songs for feeling tired"), tired
    assert long_jpg.startswith("No such file")
    for answer in (long_slash, nobody, nul):
        assert answer, "every line gets an answer"
        assert "went wrong" not in answer
    for name, answer in zip(playlists, files, strict=True):
        assert answer.startswith("Got your playlist."), (name, answer)
    assert "Group round open" in group
    assert plain.startswith("You're in, feeling happy"), plain
    assert "Use a number from 0 (sad) to 1 (happy)" in out_of_range
    assert "You're in" in last  # still answering after all that
    assert "Traceback" not in proc.stdout + proc.stderr
    assert " INFO " not in proc.stdout + proc.stderr  # the operator's INFO lines stay out
    assert "front-end failed" not in proc.stderr
