"""Chat state shared by bot replicas (issue 33): two Conversations over one database (two
replicas, each with its own Store and process memory) behave as one bot, and a restarted bot
keeps what matters. Real service, models and catalog; SQLite and PostgreSQL; a fixed clock."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import replies
from bot.console import ConsoleChat
from bot.conversation import NAME_KEY, Conversation, Reply, Where
from bot.hints import CHAT_HINTS
from bot.pending_photos import dropped_text
from moosic_core.service import MoosicService
from moosic_core.store import Store
from moosic_core.store.chat_state import PRUNE_EVERY_S
from moosic_core.taste.csv_import import read_playlist_csv
from moosic_core.types import UserRef
from tests.test_taste_service import Clock

ANA = UserRef("telegram", "601")
BEN = UserRef("telegram", "702")
GROUP = Where(chat="-100123", name="Ben", shared=True)
DAY = 86400.0


class Replica:
    """One bot process: its own store connection and Conversation (its own memory)."""

    def __init__(self, service: MoosicService) -> None:
        self.service = service
        self.chat = Conversation(service)


async def _replica(config, catalog, face_reader, song_models, target: Path | str,
                   clock: Clock) -> Replica:
    store = Store(target, clock=clock)
    await store.open()
    return Replica(MoosicService(config, catalog, face_reader, store, song_models,
                                 hint_words=CHAT_HINTS))


async def _close(replica: Replica) -> None:
    await replica.service.close()
    await replica.service.store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def replicas(config, catalog, face_reader, song_models, store_target: Path | str,
                   clock: Clock) -> AsyncIterator[tuple[Replica, Replica]]:
    """Replicas A and B over the same database, on one fixed clock."""
    a = await _replica(config, catalog, face_reader, song_models, store_target, clock)
    b = await _replica(config, catalog, face_reader, song_models, store_target, clock)
    yield a, b
    for replica in (a, b):
        await _close(replica)


def _action(reply: Reply, prefix: str) -> str:
    (action,) = [b.action for row in reply.buttons for b in row if b.action.startswith(prefix)]
    return action


def _shown_ids(reply: Reply) -> list[str]:
    assert reply.suggestions is not None
    return [r.track.track_id for r in reply.suggestions.items]


def _file_ids(reply: Reply) -> list[str]:
    assert reply.file is not None, reply.text
    return [str(t.track_id) for t in read_playlist_csv(reply.file.data, reply.file.name)]


async def test_the_selfie_limit_counts_across_replicas(replicas, clock: Clock, selfie: bytes,
                                                       config) -> None:
    a, b = replicas
    limit = config.service.selfies_per_minute
    assert limit == 6
    await a.service.give_consent(ANA)
    for i in range(limit):  # alternating replicas: 6 selfies read
        reply = await (a if i % 2 else b).chat.photo(ANA, selfie)
        assert reply.text.startswith("You look"), reply.text
        clock.now += 1
    for refused_on in (a, b):  # the 7th, whichever replica gets it
        refused = await refused_on.chat.photo(ANA, selfie)
        assert refused.text == (f"That's more than {limit} selfies in a minute. Please wait "
                                f"{60 - limit} s and send it again.")
    clock.now += 60 - limit + 0.5  # the first left the window
    assert (await b.chat.photo(ANA, selfie)).text.startswith("You look")
    assert "Please wait 1 s" in (await a.chat.photo(ANA, selfie)).text


async def test_racing_replicas_never_let_more_than_the_limit_through(replicas) -> None:
    a, b = replicas
    stores = [a.service.store, b.service.store]
    await stores[0].ensure_user(ANA)
    waits = await asyncio.gather(*(stores[i % 2].take_rate_slot(ANA, "selfie", 6, 60)
                                   for i in range(24)))
    assert sum(w == 0.0 for w in waits) == 6
    assert all(0 < w <= 60 for w in waits if w)
    rows = await stores[1].fetchone("SELECT COUNT(*) FROM rate_events")
    assert rows is not None and rows[0] == 6


async def test_old_rate_events_are_pruned(replicas, clock: Clock) -> None:
    a, _ = replicas
    store = a.service.store
    assert await store.take_rate_slot(ANA, "selfie", 6, 60) == 0.0
    clock.now += 2 * 3600  # beyond any window, and beyond the prune interval
    assert await store.take_rate_slot(BEN, "selfie", 6, 60) == 0.0
    assert await store.fetchall("SELECT user_id FROM rate_events") == \
        [(await store.find_user(BEN),)]  # Ana's old event went, unasked


async def test_a_question_asked_on_one_replica_is_answered_on_the_other(replicas,
                                                                        clock: Clock) -> None:
    a, b = replicas
    await a.service.give_consent(ANA)
    asked = await a.chat.command(ANA, "forget")
    assert asked.text == replies.FORGET_QUESTION
    done = await b.chat.text(ANA, "yes")  # typed, on the other replica
    assert done is not None and "deleted everything" in done.text
    assert not await a.service.has_consent(ANA)
    assert await a.chat.text(ANA, "yes") is None  # answered: no question any more
    await a.chat.command(ANA, "forget")
    clock.now += 601  # a typed answer waits 10 minutes
    assert await b.chat.text(ANA, "yes") is None
    assert "no question waiting" in (await b.chat.command(ANA, "yes")).text


async def test_a_list_shown_on_one_replica_is_saved_by_its_button_on_the_other(
        replicas, clock: Clock, config) -> None:
    a, b = replicas
    shown = await a.chat.command(ANA, "mood", "calm")
    save = _action(shown, "save:")
    saved = await b.chat.button(ANA, save)
    assert _file_ids(saved) == _shown_ids(shown)  # those tracks, in the order shown
    assert saved.file is not None and saved.file.name.startswith("Moo-Sic-calm-")
    again = await a.chat.button(ANA, save)  # a repeat press, on the other replica
    assert again.notice and again.text == replies.JUST_SAVED
    clock.now += 61
    assert _file_ids(await a.chat.button(ANA, save)) == _shown_ids(shown)
    # /save on B finds the latest list, shown on A.
    newer = await a.chat.command(ANA, "mood", "happy")
    clock.now += 1
    assert _file_ids(await b.chat.command(ANA, "save")) == _shown_ids(newer)
    # Older than service.saved_list_days: the button says the list is gone, and it is pruned.
    clock.now += config.service.saved_list_days * DAY + PRUNE_EVERY_S
    gone = await b.chat.button(ANA, save)
    assert gone.private and gone.file is None
    assert gone.text == replies.list_gone_text(config.service.saved_list_days)
    assert "don't have that list any more" in gone.text and "30 days" in gone.text
    latest = await a.chat.command(ANA, "mood", "sad")  # a new list prunes the old ones
    rows = await a.service.store.fetchall("SELECT list_id FROM song_lists")
    assert rows == [(_action(latest, "save:").split(":")[1],)]


async def test_a_group_list_from_one_replica_is_saved_by_any_member_on_the_other(
        replicas) -> None:
    a, b = replicas
    ana_there = Where(chat=GROUP.chat, name="Ana", shared=True)
    await a.chat.command(ANA, "group", "", ana_there)
    await a.chat.command(ANA, "mood", "calm", ana_there)
    await a.chat.command(BEN, "mood", "happy", GROUP)
    listed = await a.chat.command(ANA, "group", "done", ana_there)
    assert listed.text.startswith("🎶 For the 2 of you"), listed.text
    save = _action(listed, "save:")
    saved = await b.chat.button(BEN, save, GROUP)  # Ben, on the other replica
    assert saved.private and saved.file is not None
    assert saved.file.name.startswith("Moo-Sic-group-")
    shown = re.findall(r"open\.spotify\.com/track/(\w{22})", listed.text)
    assert _file_ids(saved) == shown
    stored = await a.service.store.song_list(save.split(":")[1], DAY)
    assert stored is not None and stored.is_group  # nobody's: the chat's
    assert (await a.service.store.fetchone("SELECT user_id, chat FROM song_lists WHERE "
                                           "list_id = :id", {"id": stored.list_id})) == \
        (None, GROUP.chat_of(ANA))
    assert _file_ids(await b.chat.command(ANA, "save", "", ana_there)) == shown  # the latest


async def test_names_seen_on_one_replica_answer_presses_on_the_other(replicas,
                                                                     monkeypatch) -> None:
    a, b = replicas
    writes: list[dict[str, str]] = []
    store_write = a.service.store.set_user_state

    async def counted(user: UserRef, values: dict[str, str]) -> None:
        writes.append(dict(values))
        await store_write(user, values)

    monkeypatch.setattr(a.service.store, "set_user_state", counted)
    question = await a.chat.command(BEN, "agree", "", GROUP)  # Ben's question, in the group
    consent_yes = _action(question, "consent:yes")
    assert consent_yes == f"consent:yes@{BEN.user_id}"
    await a.chat.command(BEN, "help", "", GROUP)  # the same name again: not written again
    assert [w for w in writes if NAME_KEY in w] == [{NAME_KEY: "Ben"}]
    ana_there = Where(chat=GROUP.chat, name="Ana", shared=True)
    answer = await b.chat.quick_answer(ANA, consent_yes, ana_there)
    assert answer is not None and answer.text == "This question is for Ben."
    pressed = await b.chat.button(ANA, consent_yes, ana_there)
    assert pressed.text == "This question is for Ben." and pressed.notice
    assert not await b.service.has_consent(BEN)  # nothing changed
    await a.chat.command(BEN, "help", "", Where(GROUP.chat, "Benjamin", shared=True))
    answer = await b.chat.quick_answer(ANA, consent_yes, ana_there)
    assert answer is not None and answer.text == "This question is for Benjamin."


async def test_one_users_lists_asked_at_the_same_moment_repeat_no_song(replicas) -> None:
    """8 /more at once (double taps, both replicas) give 8 lists without a song twice, as 8 in
    a row do; another user's list is made meanwhile."""
    a, b = replicas
    first = await a.chat.command(ANA, "mood", "happy")
    await a.chat.command(BEN, "mood", "happy")
    answers = await asyncio.gather(*((a, b)[i % 2].chat.command(ANA, "more") for i in range(8)),
                                   b.chat.command(BEN, "more"))
    shown = [t for reply in (first, *answers[:8]) for t in _shown_ids(reply)]
    assert len(shown) == 9 * len(_shown_ids(first)) and len(set(shown)) == len(shown)
    assert _shown_ids(answers[8])
    async with a.service.store.holding("x") as held:  # nothing is left held
        assert held


async def test_user_state_popped_by_prefix_is_the_users_only(replicas) -> None:
    a, b = replicas
    await a.service.store.set_user_state(ANA, {"album:x:1": "1", "album:x:2": "2",
                                              "album:y:1": "3", "name": "Ana"})
    await a.service.store.set_user_state(BEN, {"album:x:1": "4"})
    popped = await b.service.store.pop_user_state_prefix(ANA, "album:x:")
    assert {k: v.value for k, v in popped.items()} == {"album:x:1": "1", "album:x:2": "2"}
    assert await b.service.store.pop_user_state_prefix(ANA, "album:x:") == {}
    assert (await a.service.store.user_state(ANA, "album:y:1")) is not None
    assert (await a.service.store.user_state(BEN, "album:x:1")) is not None


async def test_consent_given_where_the_photo_is_not_asks_to_send_it_again(
        replicas, selfie: bytes, clock: Clock) -> None:
    a, b = replicas
    asked = await a.chat.photo(ANA, selfie)  # the photo waits in A's memory only
    assert asked.text == replies.CONSENT
    clock.now += 5  # seconds later: the photo is recent, not "kept only 10 minutes"
    answer = await b.chat.button(ANA, "consent:yes")
    assert answer.text == replies.CONSENT_SEND_AGAIN
    assert "minutes" not in answer.text and "no longer have" not in answer.text
    assert await a.service.has_consent(ANA)
    # Typed on B, for a photo on A: the same answer.
    await a.chat.photo(BEN, selfie)
    typed = await b.chat.text(BEN, "yes")
    assert typed is not None and typed.text == replies.CONSENT_SEND_AGAIN
    # A photo named in the store longer ago than any photo may wait: it is gone.
    cy = UserRef("telegram", "77")
    await a.chat.photo(cy, selfie)
    clock.now += b.chat._pending_photo.max_age_s + 1
    assert (await b.chat.button(cy, "consent:yes")).text == \
        dropped_text(b.chat._pending_photo.max_age_s)
    # On the replica that holds the photo, the answer reads it.
    cy = UserRef("discord", "9")
    await b.chat.photo(cy, selfie)
    read = await b.chat.button(cy, "consent:yes")
    assert read.text.startswith("You look"), read.text


async def test_a_photo_is_not_read_after_a_no_or_a_newer_photo_elsewhere(
        replicas, selfie: bytes) -> None:
    a, b = replicas
    await a.chat.photo(ANA, selfie)
    assert (await b.chat.button(ANA, "consent:no")).text == replies.CONSENT_DECLINED
    later = await a.chat.button(ANA, "consent:yes")  # the old question's button, on A
    assert later.text == replies.CONSENT_THANKS  # the photo she said no to is not read
    await a.chat.photo(BEN, selfie)
    newer = await b.chat.photo(BEN, selfie)  # a newer photo, on B: the one to read
    assert newer.text == replies.CONSENT_NEWER_PHOTO
    on_a = await a.chat.button(BEN, "consent:yes")
    assert on_a.text == replies.CONSENT_SEND_AGAIN  # not A's older photo
    cy = UserRef("discord", "9")
    await a.chat.photo(cy, selfie)
    await b.chat.command(cy, "forget", "yes")  # /forget on B drops A's photo too
    assert (await a.chat.button(cy, "consent:yes")).text == replies.CONSENT_THANKS


async def test_a_save_button_from_before_a_restart_works_after_it(
        config, catalog, face_reader, song_models, store_target: Path | str, clock: Clock,
        tmp_path: Path) -> None:
    before = await _replica(config, catalog, face_reader, song_models, store_target, clock)
    console = ConsoleChat(before.chat, folder=tmp_path)
    shown = await console.send("/mood calm")
    assert console.last is not None
    ids = _shown_ids(console.last)
    press = re.search(r"\(/press (save:[\w-]+)\)", shown)
    assert press is not None, shown
    await _close(before)  # the bot stops: its memory is gone

    after = await _replica(config, catalog, face_reader, song_models, store_target, clock)
    try:
        saved = await ConsoleChat(after.chat, folder=tmp_path).send(f"/press {press.group(1)}")
        written = re.search(r"Saved to (.+\.csv)", saved)
        assert written is not None, saved
        data = Path(written.group(1)).read_bytes()
        assert [t.track_id for t in read_playlist_csv(data)] == ids
    finally:
        await _close(after)
