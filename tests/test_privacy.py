"""PRIVACY.md against the code: stored values never reach the operator's log, not even with
``-v`` (SQL parameters hidden, SQL statement logging off), and the notice names every table
that holds a user's data and what the last list keeps."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy.exc import SQLAlchemyError

from moosic_core import PROJECT_ROOT
from moosic_core.logs import setup_logging
from moosic_core.store import Store
from moosic_core.store.migrations import USER_TABLES
from moosic_core.types import MoodReading, UserRef

ANA = UserRef("telegram", "4242")
STORED = ("0.123457", "0.765432", "zebra feelings", "trk0000secret")


@pytest.fixture
def debug_log():
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    setup_logging("DEBUG", "text", stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


async def test_debug_logs_hold_no_stored_values(tmp_path, debug_log) -> None:
    async with Store(tmp_path / "moosic.sqlite3") as store:
        await store.record_suggestions(ANA, MoodReading(0.123457, 0.765432, "face"), "match",
                                       ["trk0000secret"])
        await store.record_suggestions(ANA, MoodReading(0.123457, 0.765432, "stated",
                                                        label="zebra feelings"),
                                       "lift", ["trk0000secret"])
        last = await store.last_list(ANA)
        assert last is not None and last.mood.label == "zebra feelings"
        with pytest.raises(SQLAlchemyError) as failed:  # an error's message hides them too
            await store.transaction(lambda conn: conn.exec_driver_sql(
                "INSERT INTO last_lists (user_id, mood_score) VALUES (?, ?)",
                (999, 0.123457)))
        assert "0.123457" not in str(failed.value)
    text = debug_log.getvalue()
    assert "DEBUG" in text or "INFO" in text  # the log was on
    for value in STORED:
        assert value not in text
    assert "INSERT INTO" not in text


def test_cli_with_v_logs_no_sql(moosic, tmp_path) -> None:
    code, data, stderr = moosic("-v", "recommend", "--mood", "very calm", "--json")
    assert code == 0, stderr[-2000:]
    assert "DEBUG" in stderr
    assert "INSERT INTO" not in stderr and "SELECT" not in stderr
    for track in data["tracks"]:
        assert track["track_id"] not in stderr


def test_privacy_notice_matches_what_is_stored() -> None:
    notice = (PROJECT_ROOT / "PRIVACY.md").read_text()
    assert "not written to the database" not in notice  # the last list's mood is stored
    for stored in ("mood number", "energy", "from a face or from your words", "overwritten",
                   "/forget", "Telegram update numbers", "/discover"):
        assert stored in notice, stored
    assert set(USER_TABLES) == {"library_tracks", "taste_cache", "oauth_states", "consent",
                                "feedback", "recommendations", "user_settings", "links",
                                "last_lists", "group_members", "rate_events", "user_state",
                                "song_lists"}, "a new table: describe it in PRIVACY.md"
