"""The playlist import's cap counts different songs, and a bigger library is read in part
(the first songs, said in user words) instead of refused; rows and bytes stay bounded."""

from __future__ import annotations

import subprocess
import sys

from moosic_core import PROJECT_ROOT
from moosic_core.taste import csv_import
from moosic_core.taste.csv_import import MAX_ROWS, MAX_TRACKS, read_playlist_export

HEADER = '"Track Name","Artist Name(s)"\n'


def playlist(songs: int, rows: int) -> bytes:
    """``rows`` rows cycling through ``songs`` different songs."""
    lines = [f'"Song {i % songs}","Band {i % songs}"\n' for i in range(rows)]
    return (HEADER + "".join(lines)).encode()


def test_many_rows_of_few_songs_are_read_whole() -> None:
    data = playlist(720, 33_000)  # the tester's big33k.csv: 33k rows, ~720 songs
    export = read_playlist_export(data, "big33k.csv")
    assert len(export.tracks) == 720 and export.duplicates == 33_000 - 720
    assert not export.partial and export.note is None


def test_a_library_over_the_cap_is_read_in_part_and_says_so() -> None:
    data = playlist(MAX_TRACKS + 500, MAX_TRACKS + 500)
    export = read_playlist_export(data, "huge.csv")
    assert export.partial and len(export.tracks) == MAX_TRACKS
    assert export.tracks[0].name == "Song 0" and export.tracks[-1].name == f"Song {MAX_TRACKS - 1}"
    assert export.note is not None
    assert "huge.csv" in export.note and "first 20,000 different songs" in export.note


def test_rows_are_bounded_too(monkeypatch) -> None:
    monkeypatch.setattr(csv_import, "MAX_ROWS", 1000)
    export = read_playlist_export(playlist(10, 5000), "loop.csv")
    assert export.partial and export.rows == 1000 and len(export.tracks) == 10
    assert MAX_ROWS >= 10 * MAX_TRACKS  # repeats alone do not cut a library short


def test_exactly_at_the_cap_is_whole() -> None:
    export = read_playlist_export(playlist(MAX_TRACKS, MAX_TRACKS), "full.csv")
    assert len(export.tracks) == MAX_TRACKS and not export.partial


def test_cli_taste_reports_the_partial_read(tmp_path) -> None:
    path = tmp_path / "huge.csv"
    path.write_bytes(playlist(MAX_TRACKS + 10, MAX_TRACKS + 10))
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "taste", "--playlist", str(path)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "first 20,000 different songs" in proc.stdout


async def test_the_service_passes_the_note_to_the_chat(service) -> None:
    from moosic_core.types import UserRef

    profile = await service.import_playlist(UserRef("console", "big"),
                                            playlist(MAX_TRACKS + 3, MAX_TRACKS + 3), "big.csv")
    assert profile.tracks_total == MAX_TRACKS
    assert len(profile.notes) == 1 and "big.csv" in profile.notes[0]
    again = await service.import_playlist(UserRef("console", "small"), playlist(5, 5), "s.csv")
    assert again.notes == ()


async def test_the_chat_tells_a_user_whose_library_was_read_in_part(service) -> None:
    from bot.conversation import Conversation
    from moosic_core.types import UserRef

    reply = await Conversation(service).document(
        UserRef("console", "big"), playlist(MAX_TRACKS + 3, MAX_TRACKS + 3), "big.csv")
    assert reply.text.startswith("Got your playlist")
    assert "first 20,000 different songs" in reply.text
