"""The chat logic every adapter shares: commands, photos, files and buttons -> replies.

Adapters turn a platform update into one of :meth:`Conversation.command`, ``photo``,
``document`` or ``button`` and render the :class:`Reply` with their own markup. Expected
failures become the error's user message; anything else is logged with an id and the user
gets that id, never a traceback.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot import replies
from bot.answers import JOIN_PHRASES, words_of, yes_or_no
from bot.pending_photos import PendingPhotos, dropped_text
from moosic_core.attachments import PLAYLIST_SUFFIXES
from moosic_core.errors import ImageRejected, MoosicError, NoFaceFound
from moosic_core.group_rounds import GroupRounds
from moosic_core.recommend.group import GroupList
from moosic_core.recommend.moods import describe_mood, describe_reading
from moosic_core.recommend.ranking import Mode, can_lift
from moosic_core.saving import SongList, list_title
from moosic_core.service import MoosicService, Suggestions
from moosic_core.store.chat_state import ChatStateStore, StateValue
from moosic_core.store.db import is_unreachable, log_failure
from moosic_core.store.store import LINK_KINDS
from moosic_core.text import count
from moosic_core.types import MoodReading, Track, UserRef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True)
class ReplyFile:
    """A file sent with a reply (a saved list as CSV): its name, bytes and a one-line caption."""

    name: str
    data: bytes
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    """What to send back: text, rows of buttons, and the suggestions for rich rendering."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    suggestions: Suggestions | None = None
    private: bool = False
    link_url: str | None = None
    file: ReplyFile | None = None
    #: Only for the one who pressed a button (a Telegram alert, a Discord ephemeral reply);
    #: the message with the button stays as it is.
    notice: bool = False


CONSENT_BUTTONS = ((Button("✅ I agree", "consent:yes"), Button("No thanks", "consent:no")),)
FORGET_BUTTONS = ((Button("🗑 Yes, delete everything", "forget:yes"),
                   Button("Cancel", "forget:no")),)
DISCOVER_BUTTONS = ((Button("🧭 more new artists", "discover:more"),
                     Button("🏠 more of my artists", "discover:less"),
                     Button("⚖️ default", "discover:default")),)


def suggestion_buttons(s: Suggestions) -> tuple[tuple[Button, ...], ...]:
    """👍/👎 per song, then "more" and the other mode."""
    rows = [tuple([Button(f"👍 {i}", f"fb:+:{r.track.track_id}"),
                   Button(f"👎 {i}", f"fb:-:{r.track.track_id}")])
            for i, r in enumerate(s.items, 1)]
    other = (Button("🌅 lift my mood", "mode:lift") if s.mode == "match"
             else Button("🎯 match my mood", "mode:match"))
    rows.append((Button("➕ more", "more"), other))
    return tuple(rows)


@dataclass(frozen=True)
class RateLimiter:
    """At most ``limit`` events of ``kind`` per ``window_s`` seconds per user: a sliding window
    counted in the store (:meth:`ChatStateStore.take_rate_slot`), so every replica over the
    same database (and a restarted bot) shares it. A ``limit`` of 0 or less means no limit.
    """

    limit: int
    window_s: float
    kind: str = "selfie"

    async def wait_s(self, store: ChatStateStore, user: UserRef) -> float:
        """0 and the event is counted when allowed; else the seconds until it would be."""
        if self.limit <= 0:
            return 0.0
        return await store.take_rate_slot(user, self.kind, self.limit, self.window_s)


def save_button(list_id: str) -> Button:
    """The "💾 Save" button of a song list (personal or group); any member may press it."""
    return Button("💾 Save", f"save:{list_id}")


def with_save_button(rows: tuple[tuple[Button, ...], ...], list_id: str
                     ) -> tuple[tuple[Button, ...], ...]:
    """A list's buttons with "💾 Save" added to its last row (the "more" row)."""
    if not rows:
        return ((save_button(list_id),),)
    return (*rows[:-1], (*rows[-1], save_button(list_id)))


#: An unknown command is echoed back at most this long (a pasted wall of text stays out).
MAX_SHOWN_COMMAND = 32

#: Buttons that act for one user (their question, their list): in a shared chat their action
#: carries ``@<owner's user id>`` (Telegram's callback data holds 64 bytes: the longest,
#: "discover:default@" and a 20-digit id, is 37).
OWNED_KINDS = {"consent", "forget", "more", "mode", "discover"}
QUESTION_KINDS = {"consent", "forget"}

#: A 💾 Save of the list the same user saved last, this soon after, is not sent again.
SAVE_REPEAT_S = 60.0

#: Names as chats show them, remembered per process so an unchanged name costs no write.
KEPT_NAMES = 5000

PHOTO_WINDOW_S = 60.0

#: A yes/no question waits this long for a typed answer (its buttons work for ever).
QUESTION_TTL_S = 600.0

#: ``user_state`` keys (see :mod:`moosic_core.store.chat_state`): the open yes/no question
#: (its kind, stamped when asked), the photo waiting for consent (in one replica's memory;
#: the value is a random token naming it, never the photo), the list waiting for Spotify's
#: permission to be saved, the last list saved (stamped when), the name shared chats show.
QUESTION_KEY, PHOTO_KEY, PENDING_SAVE_KEY, LAST_SAVED_KEY, NAME_KEY = (
    "question", "photo", "pending_save", "last_saved", "name")

#: Posts a reply to a chat on its own (a group round closed by its timer): (chat id, reply).
Notify = Callable[[str, Reply], Awaitable[None]]

GROUP_BUTTONS = ((Button("🙋 I'm in", "group:join"), Button("✅ Done", "group:done")),)
GROUP_COMMANDS = {"group", "blend"}


@dataclass(frozen=True)
class Where:
    """Where a message came from: the chat's id and the sender's name as the chat sees it."""

    chat: str | None = None
    name: str | None = None
    #: Whether others can see (and press) what is posted there: a group, a server channel.
    shared: bool = False

    def chat_of(self, user: UserRef) -> str:
        """The round key: a platform's chat, or the user's private chat when unknown."""
        return f"{user.platform}:{self.chat}" if self.chat else f"{user.key}:private"

    def name_of(self, user: UserRef) -> str:
        return self.name or f"user {user.user_id[-4:]}"


#: /unlink's word -> the taste sources it removes, and how to name them.
UNLINK_KINDS: dict[str, tuple[str, ...]] = {
    "spotify": ("spotify_user", "spotify_oauth"), "playlist": ("playlist_csv",),
    "csv": ("playlist_csv",), "all": LINK_KINDS, "everything": LINK_KINDS,
}
#: ``/save file``: the list as a file even for a user signed in with Spotify.
SAVE_AS_FILE = {"file", "csv"}
UNLINK_NAMES = {"spotify": "Spotify account", "playlist": "playlist", "csv": "playlist",
                "all": "music", "everything": "music"}


class Conversation:
    """One per bot process. What a chat needs between messages is in the store (shared by
    every replica over the same database); only a photo waiting for consent stays in memory."""

    def __init__(self, service: MoosicService, photo_limit: RateLimiter | None = None) -> None:
        self.service = service
        self._notifiers: dict[str, Notify] = {}
        # In the store (any replica's); this process's sweeper closes only rounds it can post.
        self.groups = GroupRounds(service, on_timeout=self._group_timed_out,
                                  platforms=self._notifiers.keys)
        # Selfies per user: enough for retries, not enough to use the bot as a face reader.
        self.photo_limit = photo_limit or RateLimiter(
            service.config.service.selfies_per_minute, PHOTO_WINDOW_S)
        waiting = service.config.service
        # (where it came from, its token in the store's PHOTO_KEY) per waiting photo.
        self._pending_photo: PendingPhotos[tuple[Where, str]] = PendingPhotos(
            waiting.pending_photo_minutes * 60, waiting.pending_photos_max_mb * 1_000_000)
        self.store: ChatStateStore = service.store
        # 💾 Save's lists are kept this long (seconds).
        self.keep_lists_s = waiting.saved_list_days * 86400.0
        # Names as chats show them, as last written to the store by this process.
        self._names: OrderedDict[str, str] = OrderedDict()

    async def round_open(self, platform: str, chat: str) -> bool:
        """Whether a chat of this platform has a group round open (on any replica)."""
        return await self.groups.is_open(f"{platform}:{chat}")

    def set_notifier(self, platform: str, notify: Notify) -> None:
        """How an adapter posts to its chats when no message is being answered (timers)."""
        self._notifiers[platform] = notify

    async def _safely(self, work: Awaitable[Reply]) -> Reply:
        try:
            return await work
        except MoosicError as exc:
            self.service.metrics.answered_error(exc)
            return Reply(exc.user_message)
        except Exception as exc:
            if is_unreachable(exc):  # an outage: one log line, not a traceback per message
                log_failure(log, "answering a message", exc)
                return Reply(replies.STORE_DOWN)
            error_id = secrets.token_hex(4)
            log.exception("unexpected error %s", error_id)
            return Reply(f"Sorry, something went wrong on my side (error id {error_id}). "
                         "Please try again.")

    # --- entry points ----------------------------------------------------------------------
    async def command(self, user: UserRef, name: str, arg: str = "",
                      where: Where | None = None) -> Reply:
        where = await self._seen(user, where)
        return self._owned(user, where, await self._safely(
            self._command(user, name.lower().lstrip("/"), arg.strip(), where)))

    async def photo(self, user: UserRef, image: bytes, where: Where | None = None,
                    said: str = "") -> Reply:
        """A selfie; ``said`` is the text sent with it (a caption, Discord's ``feeling``):
        when it states a mood ("feeling tired", "😢"), the songs follow the words and the
        answer says what the face showed."""
        where = await self._seen(user, where)
        return self._owned(user, where, await self._safely(
            self._photo(user, image, where, said)))

    async def album(self, user: UserRef, images: list[bytes],
                    where: Where | None = None, said: str = "",
                    numbers: Sequence[int] | None = None, total: int | None = None) -> Reply:
        """Photos sent together (a Telegram album): ONE answer, for the first photo with a face
        (one selfie for the rate limit; before consent, the first photo waits); ``said`` as
        for :meth:`photo`. ``images`` may be part of the album (the rest reached another
        replica): ``numbers`` are their numbers in the album (1-based, default 1 to
        ``len(images)``), ``total`` how many photos it has (default ``len(images)``); when
        none of ``images`` shows a face and others exist, the answer asks for the selfie on
        its own. Raises ValueError for no images or one number per image missing."""
        if not images or (numbers is not None and len(numbers) != len(images)):
            raise ValueError("an album answer needs its images and one number per image")
        where = await self._seen(user, where)
        return self._owned(user, where, await self._safely(
            self._album(user, images, where, said, numbers or range(1, len(images) + 1),
                        max(total or 0, len(images)))))

    async def document(self, user: UserRef, data: bytes, filename: str,
                       where: Where | None = None) -> Reply:
        where = await self._seen(user, where)
        return self._owned(user, where, await self._safely(
            self._document(user, data, filename, where)))

    async def button(self, user: UserRef, action: str, where: Where | None = None) -> Reply:
        """A button press. A button that belongs to someone else, or a repeat press, gets
        :meth:`quick_answer`'s reply (``notice``) and changes nothing."""
        where = await self._seen(user, where)
        quick = await self.quick_answer(user, action, where)
        if quick is not None:
            return quick
        action = action.rpartition("@")[0] if "@" in action else action
        return self._owned(user, where, await self._safely(self._button(user, action, where)))

    async def quick_answer(self, user: UserRef, action: str, where: Where | None = None
                           ) -> Reply | None:
        """The answer to a press that must not act, None for one that may: a question or list
        of another user ("This question is for Ben."), a second 🙋 of a member ("You're
        already in."), a 💾 Save of the list this user saved moments ago. Cheap (at most one
        read of the store, none for most presses), so an adapter can answer the press with it
        at once (a pop-up, an ephemeral)."""
        where = where or Where()
        kind = action.partition(":")[0]
        at, owner = action.rpartition("@")[1:]
        if at and owner != user.user_id:
            shown = await self.store.user_state(UserRef(user.platform, owner), NAME_KEY)
            return Reply(replies.not_yours_text(shown.value if shown else None,
                                                question=kind in QUESTION_KINDS),
                         private=True, notice=True)
        if action in {"group:join", "group:in"}:
            round_ = await self.groups.get(where.chat_of(user))
            if round_ is not None and user.key in round_.members:
                return Reply(replies.ALREADY_IN, notice=True)
        if kind == "save":
            list_id = action.split(":")[1] if action.count(":") else ""
            last = await self.store.user_state(user, LAST_SAVED_KEY)
            if last is not None and last.value == list_id \
                    and self.store.clock() - last.updated_at < SAVE_REPEAT_S:
                return Reply(replies.JUST_SAVED, private=True, notice=True)
        return None

    async def _seen(self, user: UserRef, where: Where | None) -> Where:
        """Remember the user's name as a shared chat shows it (for "This question is for
        Ben." on any replica); written to the store only when it changed."""
        where = where or Where()
        if where.name and where.shared:  # only in a shared chat may others press its buttons
            if self._names.get(user.key) != where.name:
                await self.store.set_user_state(user, {NAME_KEY: where.name})
            self._names[user.key] = where.name
            self._names.move_to_end(user.key)
            while len(self._names) > KEPT_NAMES:
                self._names.popitem(last=False)
        return where

    @staticmethod
    def _owned(user: UserRef, where: Where, reply: Reply) -> Reply:
        """In a shared chat, the reply's buttons that act for ``user`` carry their id (a
        private reply's buttons are seen by the user alone)."""
        if not where.shared or reply.private or not reply.buttons:
            return reply
        rows = tuple(tuple(replace(b, action=f"{b.action}@{user.user_id}")
                           if b.action.partition(":")[0] in OWNED_KINDS else b for b in row)
                     for row in reply.buttons)
        return replace(reply, buttons=rows)

    async def text(self, user: UserRef, text: str, where: Where | None = None) -> Reply | None:
        """Plain text: the answer to an open yes/no question, or a pasted Spotify redirect URL
        (completes sign-in); else None (the adapter shows its hint)."""
        where = await self._seen(user, where)
        question = await self._open_question(user)
        answer = yes_or_no(text) if question else None
        if question is not None and answer is not None:
            return await self.button(user, f"{question}:{'yes' if answer else 'no'}", where)
        if where is not None and words_of(text) in JOIN_PHRASES \
                and await self.groups.is_open(where.chat_of(user)):  # its "I'm in", typed
            return await self._safely(self._group_command(user, "join", where))
        if "code=" in text and "state=" in text:
            return await self._safely(self._complete_link(user, text))
        if question is not None:  # "maybe", "sure thing?": ask again, with the buttons
            return self._owned(user, where, self._ask_again(user, question))
        return None

    # --- yes/no questions ------------------------------------------------------------------
    async def _ask(self, user: UserRef, kind: str, *, photo: str | None = None) -> None:
        """Open a yes/no question (for every replica); ``photo``: the token of the photo that
        waits in this process's memory for the answer (the newest photo's is the one kept)."""
        await self.store.set_user_state(
            user, {QUESTION_KEY: kind, **({PHOTO_KEY: photo} if photo is not None else {})})

    def _ask_again(self, user: UserRef, question: str) -> Reply:
        """The open question once more, for an answer that was neither yes nor no."""
        if question == "consent":
            return Reply(f"{replies.YES_OR_NO}\n\n{replies.CONSENT}", CONSENT_BUTTONS)
        return Reply(f"{replies.YES_OR_NO}\n\n{replies.FORGET_QUESTION}", FORGET_BUTTONS,
                     private=True)

    async def _open_question(self, user: UserRef) -> str | None:
        """The kind of the question waiting for this user's typed answer ("consent",
        "forget"); None when there is none or it was asked over :data:`QUESTION_TTL_S` ago."""
        asked = await self.store.user_state(user, QUESTION_KEY)
        if asked is None or self.store.clock() - asked.updated_at > QUESTION_TTL_S:
            return None
        return asked.value

    # --- handlers --------------------------------------------------------------------------
    async def _command(self, user: UserRef, name: str, arg: str, where: Where) -> Reply:
        if name in GROUP_COMMANDS:
            return await self._group_command(user, arg, where)
        if name in {"start", "help"}:
            return Reply(replies.HELP)
        if name == "agree":
            if await self._open_question(user) != "consent" \
                    and not await self.service.has_consent(user):  # agree to what was shown
                await self._ask(user, "consent")
                return Reply(replies.CONSENT, CONSENT_BUTTONS)
            return await self._button(user, "consent:yes", where)
        if name in {"yes", "no"}:
            question = await self._open_question(user)
            if question is None:
                return Reply("There's no question waiting for your answer right now.")
            return await self._button(user, f"{question}:{name}", where)
        if name in {"like", "dislike"}:
            return await self._rate_by_number(user, name == "like", arg)
        if name == "mood":
            if not arg:
                return Reply("Tell me how you feel, e.g. /mood happy or /mood 0.3 — or send "
                             "a selfie.")
            if await self.groups.is_open(where.chat_of(user)):
                return await self._join(user, where, self.service.stated_mood(arg))
            return await self._suggest(user, self.service.stated_mood(arg), "match")
        if name == "more":
            return await self._more(user)
        if name in {"lift", "match"}:
            return await self._switch_mode(user, name)
        if name == "link":
            return await self._link(user, arg)
        if name == "unlink":
            return await self._unlink(user, arg)
        if name == "save":
            return await self._save_latest(user, where, file_only=arg.lower() in SAVE_AS_FILE)
        if name == "discover":
            return await self._discover(user, arg)
        if name == "taste":
            profile = await self.service.taste_profile(user)
            return Reply(replies.taste_text(profile), private=True)
        if name == "forget":
            if arg.lower() in {"yes", "confirm"}:
                return await self._forget(user)
            await self._ask(user, "forget")
            return Reply(replies.FORGET_QUESTION, FORGET_BUTTONS, private=True)
        shown = name if len(name) <= MAX_SHOWN_COMMAND else name[:MAX_SHOWN_COMMAND] + "…"
        return Reply(f"I don't know /{shown}. " + replies.HELP.splitlines()[0])

    async def _photo(self, user: UserRef, image: bytes, where: Where, said: str = "") -> Reply:
        if not await self.service.has_consent(user):
            # In memory only, until the user answers; a newer photo replaces the waiting one
            # (one question, however many photos arrive first; none is read, none is counted).
            asked = await self._open_question(user) == "consent"
            token = secrets.token_hex(8)
            self._pending_photo.put(user.key, image, (where, token))
            await self._ask(user, "consent", photo=token)
            return Reply(replies.CONSENT_NEWER_PHOTO if asked else replies.CONSENT,
                         CONSENT_BUTTONS)
        wait = await self.photo_limit.wait_s(self.store, user)
        if wait > 0:
            return Reply(f"That's more than {count(self.photo_limit.limit, 'selfie')} in a "
                         f"minute. Please wait {math.ceil(wait)} s and send it again.")
        return await self._read_and_answer(user, image, where, said)

    def _stated_in(self, said: str) -> MoodReading | None:
        """The mood a photo's caption states ("feeling tired", "/mood sad", "😢"), or None
        when it states none ("me at the beach")."""
        if not said.strip():
            return None
        try:
            return self.service.stated_mood(said, typos=False)  # a caption: words as written
        except MoosicError:
            return None

    async def _read_and_answer(self, user: UserRef, image: bytes, where: Where,
                               said: str = "") -> Reply:
        """Personal songs; or, while the chat has a round, a join (one face) or a group photo.
        A mood stated with the photo wins over the face (the user knows best)."""
        try:
            mood = await self.service.read_photo(user, image)
        except NoFaceFound:
            stated = self._stated_in(said)
            if stated is None or await self.groups.is_open(where.chat_of(user)):
                raise
            return await self._suggest(user, stated, "match", note=replies.NO_FACE_WORDS)
        return await self._answer_reading(user, mood, where, said)

    async def _answer_reading(self, user: UserRef, mood: MoodReading, where: Where,
                              said: str = "") -> Reply:
        """:meth:`_read_and_answer` for a photo already read."""
        stated = self._stated_in(said)
        if not await self.groups.is_open(where.chat_of(user)):
            # the face stays with the stated mood, for the headline (never for the store)
            return await self._suggest(
                user, mood if stated is None else replace(stated, faces=mood.faces), "match")
        if len(mood.faces) < 2:
            return await self._join(user, where, stated or mood)
        faces = [MoodReading(f.mood_score, f.arousal, "face") for f in mood.faces]
        round_ = await self.groups.add_group_photo(where.chat_of(user), user,
                                                   where.name_of(user), faces)
        return Reply(replies.group_photo_text(len(faces), len(round_.members)))

    async def _album(self, user: UserRef, images: list[bytes], where: Where, said: str,
                     numbers: Sequence[int], total: int) -> Reply:
        if total == 1 or not await self.service.has_consent(user) \
                or await self.photo_limit.wait_s(self.store, user) > 0:  # once, for the album
            reply = await self._photo(user, images[0], where, said)
            if total > 1 and reply.buttons == CONSENT_BUTTONS:
                which = "the first one" if numbers[0] == 1 else f"photo {numbers[0]}"
                reply = replace(reply, text=f"{reply.text}\n\n(Your album has {total} photos; "
                                f"I'll read {which}.)")
            return reply
        first_error: MoosicError | None = None
        for i, (image, number) in enumerate(zip(images, numbers, strict=True), 1):
            try:
                mood = await self.service.read_photo(user, image)
            except (NoFaceFound, ImageRejected) as exc:
                first_error = first_error or exc
                continue
            reply = await self._answer_reading(user, mood, where, said)
            which = "the first photo" if number == 1 else \
                f"photo {number}, the first with a face" if number == i else f"photo {number}"
            return replace(reply, text=f"Your album has {total} photos: I read {which}.\n\n"
                                       f"{reply.text}")
        assert first_error is not None
        if total > len(images):  # the others reached another replica: never read here
            return Reply(replies.album_elsewhere_text(total, len(images)))
        return Reply(replies.album_unread_text(total, first_error))

    async def _document(self, user: UserRef, data: bytes, filename: str,
                        where: Where) -> Reply:
        if filename.lower().endswith(PLAYLIST_SUFFIXES):
            profile = await self.service.import_playlist(user, data, filename)
            return Reply("Got your playlist. " + replies.taste_text(profile), private=True)
        return await self._photo(user, data, where)

    async def _button(self, user: UserRef, action: str, where: Where) -> Reply:
        kind, _, rest = action.partition(":")
        answered = await self.store.pop_user_state(
            user, QUESTION_KEY, *((PHOTO_KEY,) if kind == "consent" else ())) \
            if kind in QUESTION_KINDS else {}
        if kind == "consent":
            pending, waiting = self._pending_photo.take(user.key), answered.get(PHOTO_KEY)
            if rest != "yes":
                return Reply(replies.CONSENT_DECLINED)
            await self.service.give_consent(user)
            photo = pending.photo
            if photo is not None and (waiting is None or waiting.value != photo.where[1]):
                # Since it came: declined, /forget or a newer photo, on another replica.
                photo = None
            if photo is None:
                return Reply(self._photo_not_here(pending.dropped, waiting))
            return await self._read_and_answer(user, photo.image, photo.where[0])
        if kind == "group":
            return await self._group_command(user, rest, where)
        if kind == "fb":
            sign, _, track_id = rest.partition(":")
            return await self._rate(user, track_id, sign == "+")
        if kind == "save":
            list_id, _, how = rest.partition(":")
            return await self._save(user, list_id, file_only=how == "file")
        if kind == "more":
            return await self._more(user)
        if kind == "mode":
            return await self._switch_mode(user, rest)
        if kind == "discover":
            return await self._discover(user, rest)
        if kind == "forget":
            if rest == "yes":
                return await self._forget(user)
            return Reply(replies.FORGET_KEPT, private=True)
        return Reply("That button has expired. Send a selfie or /mood to start again.")

    def _photo_not_here(self, dropped: bool, waiting: StateValue | None) -> str:
        """The answer to a yes when this process holds no photo of the user's that the store
        names (``waiting``: the store's token of the newest waiting photo, or None): this
        process dropped it (expired, or pushed out), or the store names a photo older than any
        photo may wait -> the photo is gone; the store names a recent photo -> it waits in
        another replica's memory (or this one holds an older one the user replaced): send it
        once more; none named -> thanks (declined or forgotten since, or /agree alone)."""
        max_age_s = self._pending_photo.max_age_s
        if dropped or (waiting is not None
                       and self.store.clock() - waiting.updated_at >= max_age_s):
            return dropped_text(max_age_s)
        return replies.CONSENT_SEND_AGAIN if waiting is not None else replies.CONSENT_THANKS

    # --- group rounds ----------------------------------------------------------------------
    async def _group_command(self, user: UserRef, arg: str, where: Where) -> Reply:
        """/group [lift], /group done, /group leave, /group join (and the round's buttons)."""
        chat, word = where.chat_of(user), arg.lower()
        if word in {"done", "close", "end"}:
            round_ = await self.groups.get(chat)
            if round_ is not None and not round_.members:  # everybody left
                await self.groups.close(chat)
                return Reply(replies.EMPTY_ROUND_CLOSED)
            result = await self.groups.close(chat)
            return await self._group_list_reply(chat, result)
        if word == "leave":
            left = await self.groups.leave(chat, user)
            return Reply(replies.left_text(where.name_of(user)) if left
                         else "You weren't in this round.")
        if word in {"join", "in"}:
            return await self._join(user, where, None)
        if word not in {"", "start", "match", "lift"}:
            return Reply("Use /group to start a round (/group lift to lift the mood), "
                         "/group done to close it, /group leave to leave it.")
        mode: Mode = "lift" if word == "lift" else "match"
        await self.groups.start(chat, user, where.name_of(user), mode)
        return Reply(replies.group_open_text(self.groups.round_s, mode), GROUP_BUTTONS)

    async def _join(self, user: UserRef, where: Where, mood: MoodReading | None) -> Reply:
        """Add the user to the chat's round (a mood updates theirs); a bare second join only
        says "You're already in."."""
        if mood is None:
            round_ = await self.groups.get(where.chat_of(user))
            if round_ is not None and user.key in round_.members:
                return Reply(replies.ALREADY_IN)
        round_ = await self.groups.join(where.chat_of(user), user, where.name_of(user), mood)
        return Reply(replies.joined_text(where.name_of(user), mood, len(round_.members)))

    async def _group_timed_out(self, chat: str, result: GroupList) -> None:
        platform, _, chat_id = chat.partition(":")
        notify = self._notifiers.get(platform)
        if notify is None:
            log.warning("a group round closed on its timer with no way to post it")
            return
        await notify(chat_id, await self._group_list_reply(chat, result))

    async def _group_list_reply(self, chat: str, result: GroupList) -> Reply:
        """The group's list with its "💾 Save" (for whoever presses it)."""
        if not result.items:
            return Reply(replies.group_text(result))
        words = f"group · {describe_mood(result.mood.mood_score)}"
        list_id = await self._keep(SongList(list_title(words, date.today()),
                                            tuple(r.track for r in result.items), group=True),
                                   chat=chat)
        return Reply(replies.group_text(result), ((save_button(list_id),),))

    async def _suggest(self, user: UserRef, mood: MoodReading, mode: Mode,
                       note: str = "") -> Reply:
        """The ranked list for ``mood`` with its buttons; ``note`` is shown first among its
        hints (why the list is for that mood)."""
        s = await self.service.recommend(user, mood, mode)
        if note:
            s = replace(s, hints=(note, *s.hints))
        buttons = suggestion_buttons(s)
        if s.items:
            words = describe_reading(mood) + (" · lift" if mode == "lift" else "")
            list_id = await self._keep(SongList(list_title(words, date.today()),
                                                tuple(r.track for r in s.items)), owner=user)
            buttons = with_save_button(buttons, list_id)
        return Reply(replies.suggestions_text(s), buttons, s)

    # --- keeping lists (💾 Save, /save) ------------------------------------------------------
    async def _keep(self, songs: SongList, *, owner: UserRef | None = None,
                    chat: str | None = None) -> str:
        """Keep a list in the store for its Save button (on any replica, after a restart): a
        personal list of ``owner``, or a group round's list of ``chat``, found as their latest
        by /save. Returns its id (short: Telegram's callback data holds 64 bytes)."""
        list_id = secrets.token_urlsafe(6)
        await self.store.add_song_list(list_id, songs.title, songs.track_ids, owner=owner,
                                       chat=chat, keep_s=self.keep_lists_s)
        return list_id

    async def _save_latest(self, user: UserRef, where: Where, *, file_only: bool) -> Reply:
        """/save: the newest of the user's own last list and this chat's last group list."""
        found = await self.store.latest_song_list(user, where.chat_of(user), self.keep_lists_s)
        if found is None:  # none kept (older than the lists kept): the stored last list
            stored = await self._stored_last_list(user)
            if stored is None:
                return Reply(replies.NOTHING_TO_SAVE, private=True)
            return await self._save(user, await self._keep(stored, owner=user),
                                    file_only=file_only)
        return await self._save(user, found.list_id, file_only=file_only)

    def _catalog_tracks(self, track_ids: Sequence[str]) -> tuple[Track, ...]:
        """The catalog's tracks for ``track_ids``, in order; ids it no longer has are left
        out (the catalog was rebuilt since)."""
        catalog = self.service.catalog
        return tuple(catalog.track(row) for row in catalog.rows_of(track_ids)
                     if row is not None)

    async def _stored_last_list(self, user: UserRef) -> SongList | None:
        """The user's last list from the store (the one /like N and /more use), as a list to
        save; None when there is none, or none of its songs is in the catalog any more."""
        last = await self.service.last_list(user)
        if last is None or not last.track_ids:
            return None
        tracks = self._catalog_tracks(last.track_ids)
        if not tracks:
            return None
        words = describe_reading(last.mood) + (" · lift" if last.mode == "lift" else "")
        return SongList(list_title(words, datetime.fromtimestamp(last.created_at).date()),
                        tracks)

    async def _save(self, user: UserRef, list_id: str, *, file_only: bool = False) -> Reply:
        """Save the list a button belongs to: a Spotify playlist, a sign-in that adds the
        permission (the save completes after it), or the file."""
        kept = await self.store.song_list(list_id, self.keep_lists_s)
        tracks = self._catalog_tracks(kept.track_ids) if kept is not None else ()
        if kept is None or not tracks:
            return Reply(replies.list_gone_text(self.service.config.service.saved_list_days),
                         private=True)
        songs = SongList(kept.title, tracks, group=kept.is_group)
        result = await self.service.save_list(user, songs, file_only=file_only)
        if result.sign_in_url is not None:
            await self.store.set_user_state(user, {PENDING_SAVE_KEY: list_id})
            return Reply(replies.SAVE_SIGN_IN, ((Button("📄 Send a file instead",
                                                        f"save:{list_id}:file"),),),
                         private=True, link_url=result.sign_in_url)
        file = None if result.csv is None else ReplyFile(result.filename, result.csv,
                                                         replies.IMPORT_HINT)
        await self.store.set_user_state(user, {LAST_SAVED_KEY: list_id})
        return Reply(replies.saved_text(songs, result), private=True, file=file)

    async def _more(self, user: UserRef) -> Reply:
        last = await self.service.last_list(user)
        if last is None:
            return Reply("Send me a selfie or use /mood first.")
        return await self._suggest(user, last.mood, "lift" if last.mode == "lift" else "match")

    async def _switch_mode(self, user: UserRef, mode: str) -> Reply:
        last = await self.service.last_list(user)
        if last is None:
            return Reply("Send me a selfie or use /mood first.")
        if mode == "lift" and not can_lift(last.mood.mood_score):
            return Reply(replies.nothing_to_lift_text(last.mood),
                         ((Button("➕ more", "more"),),))
        return await self._suggest(user, last.mood, "lift" if mode == "lift" else "match")

    async def _discover(self, user: UserRef, arg: str) -> Reply:
        """/discover more|less|default: how many songs by new artists; no word: the buttons."""
        if not arg:
            current = await self.service.discovery(user)
            has_taste = await self.service.taste_link(user) is not None
            return Reply(replies.discovery_text(current, changed=False, has_taste=has_taste),
                         DISCOVER_BUTTONS, private=True)
        try:
            level = await self.service.set_discovery(user, arg)
        except ValueError:
            return Reply(replies.DISCOVER_USAGE, DISCOVER_BUTTONS, private=True)
        has_taste = await self.service.taste_link(user) is not None
        return Reply(replies.discovery_text(level, changed=True, has_taste=has_taste),
                     private=True)

    # --- feedback --------------------------------------------------------------------------
    async def _rate(self, user: UserRef, track_id: str, like: bool) -> Reply:
        track = await self.service.feedback(user, track_id, 1 if like else -1)
        return Reply(replies.rating_text(track, like), private=True)

    async def _rate_by_number(self, user: UserRef, like: bool, arg: str) -> Reply:
        """``/like N`` and ``/dislike N``: rate song N (1-based) of the user's last list."""
        command = "/like" if like else "/dislike"
        last = await self.service.last_list(user)
        if last is None or not last.track_ids:
            return Reply(f"Ask me for songs first (/mood happy or a selfie), then {command} N "
                         "rates song N of the list.")
        size = len(last.track_ids)
        example = f"{command} 1" if size == 1 else f"{command} 1 to {command} {size}"
        try:
            number = int(arg.strip().lstrip("#"))
        except ValueError:
            return Reply(f"Which song? Give its number from the last list: {example}.")
        if not 1 <= number <= size:
            return Reply(f"There's no song {number} in the last list; it has "
                         f"{count(size, 'song')} ({example}).")
        return await self._rate(user, last.track_ids[number - 1], like)

    # --- taste sources ---------------------------------------------------------------------
    async def _unlink(self, user: UserRef, arg: str) -> Reply:
        """/unlink (Spotify), /unlink playlist, /unlink all; says what remains."""
        what = arg.lower().strip() or "spotify"
        kinds = UNLINK_KINDS.get(what)
        if kinds is None:
            return Reply("Use /unlink to disconnect Spotify, /unlink playlist to drop your "
                         "playlist, or /unlink all for both.", private=True)
        removed = await self.service.unlink(user, kinds)
        remaining = await self.service.taste_link(user)
        if removed is None:
            text = f"You have no {UNLINK_NAMES[what]} linked, so nothing changed."
        elif removed.kind == "playlist_csv":
            text = (f"Done: I've dropped your playlist {removed.source_name or ''}".rstrip()
                    + " and the taste I read from it.")
        else:
            text = "Unlinked Spotify: I've deleted your Spotify tokens and the taste I read there."
        return Reply(f"{text} {replies.remaining_text(remaining)}", private=True)

    async def _link(self, user: UserRef, arg: str) -> Reply:
        words = arg.split(maxsplit=1)
        if not words or words[0].lower() != "spotify":
            return Reply("Use /link spotify to sign in with Spotify, or /link spotify "
                         "<user id or profile link>.")
        target = words[1] if len(words) > 1 else ""
        if "code=" in target and "state=" in target:  # the pasted sign-in redirect address
            return await self._complete_link(user, target)
        if target:
            message = await self.service.link_spotify_user(user, target)
            return Reply(message, private=True)
        url = await self.service.start_spotify_sign_in(user)
        return Reply("Open this link, approve, and you're done. If your browser ends on a page "
                     "that doesn't load, copy its address and paste it here.", private=True,
                     link_url=url)

    async def _complete_link(self, user: UserRef, text: str) -> Reply:
        """Finish a sign-in; a save that waited for it completes now."""
        message = await self.service.complete_spotify_sign_in(user, text.strip())
        waiting = (await self.store.pop_user_state(user, PENDING_SAVE_KEY)).get(PENDING_SAVE_KEY)
        if waiting is None:
            return Reply(message, private=True)
        saved = await self._save(user, waiting.value)
        return replace(saved, text=f"{message}\n\n{saved.text}")

    async def _forget(self, user: UserRef) -> Reply:
        """/forget: the store deletes the user's rows (their questions, lists, saves, selfie
        counts and name included, for every replica); this process drops its waiting photo
        and the name it remembers."""
        await self.service.forget(user)
        self._pending_photo.discard(user.key)
        self._names.pop(user.key, None)
        return Reply("Done: I've deleted everything I knew about you.", private=True)


__all__ = ["Button", "Conversation", "Notify", "Reply", "ReplyFile", "Where"]
