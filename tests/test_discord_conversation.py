"""The conversation on Discord (issue 30): stated moods named in the headline, numbered song
steps in lift mode, /unlink that keeps the playlist unless asked, /forget's question.

The real discord.py client against the fake Discord (tests/fakes/discord.py).
"""

from __future__ import annotations

from tests.test_discord import ANN, _mood, ask, bot, fake  # noqa: F401 - fixtures


async def test_stated_moods_are_named_in_the_headline(bot, fake) -> None:  # noqa: F811
    angry = await ask(fake, _mood(fake, "angry"))
    assert angry.embed["title"] == "Songs for feeling angry."
    relieved = await ask(fake, _mood(fake, "😌"))
    assert relieved.embed["title"] == "Songs for feeling relieved 😌."
    number = await ask(fake, _mood(fake, "0.3"))
    assert number.embed["title"] == "Songs for a mood of 0.30 out of 1 (a bit down)."
    refused = await ask(fake, _mood(fake, "purple"))
    assert "0 (sad) to 1 (happy)" in refused.text


async def test_unlink_keeps_the_playlist_until_asked(bot, fake, config) -> None:  # noqa: F811
    csv = (config.data.playlists_dir / "liked_songs_b.csv").read_bytes()
    att = fake.attachment("liked.csv", csv, "text/csv")
    await ask(fake, fake.slash("link", user_id=ANN, sub="playlist", attachments={"file": att}))
    kept = await ask(fake, fake.slash("unlink", user_id=ANN))
    assert kept.ephemeral and "still comes from liked.csv" in kept.text
    dropped = await ask(fake, fake.slash("unlink", {"what": "playlist"}, user_id=ANN))
    assert "dropped your playlist liked.csv" in dropped.text
    assert "don't know your taste" in (await ask(fake, fake.slash("taste", user_id=ANN))).text


async def test_forget_cancelled_by_its_button(bot, fake) -> None:  # noqa: F811
    question = await ask(fake, fake.slash("forget", user_id=ANN))
    assert "Are you sure?" in question.text
    kept = await ask(fake, fake.press("forget:no", question.followups[0], user_id=ANN))
    assert "Nothing was deleted" in kept.text
