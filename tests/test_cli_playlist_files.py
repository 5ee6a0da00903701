"""A playlist named on the command line that is a folder, missing or unreadable gets a message
that says which (tester report item 18), through the real ``moosic`` CLI."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("command", [("recommend", "--mood", "happy", "--playlist"),
                                     ("group", "--mood", "happy", "--member")])
def test_a_folder_named_as_a_playlist_is_called_a_folder(moosic, tmp_path: Path,
                                                         command: tuple[str, ...]) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    code, data, _ = moosic(*command, str(folder), "--json")
    assert code != 0
    assert data["error"] == f"{folder} is a folder, not a playlist file: name the CSV in it."


def test_a_missing_playlist_is_not_found(moosic, tmp_path: Path) -> None:
    code, data, _ = moosic("recommend", "--mood", "happy", "--playlist",
                           str(tmp_path / "nope.csv"), "--json")
    assert code != 0 and data["error"] == f"Playlist file not found: {tmp_path / 'nope.csv'}"
