"""Moo-Sic on Telegram: a thin python-telegram-bot 22 adapter over :class:`Conversation`.

Every update becomes one call of the platform-neutral conversation (``command``, ``photo``,
``document``, ``button`` or ``text``); this module only downloads files into memory, renders
replies (text + inline keyboards), keeps personal answers out of group chats, rate-limits
selfies per user and runs the Application (long polling, or a webhook when configured).

Privacy: photos are downloaded with ``download_as_bytearray`` (memory only, never to disk) and
never logged; the bot token is never logged (httpx's request log, which contains it, is quieted
and :func:`install_secret_redaction` masks it in every log record).

Groups: with privacy mode on, Telegram only delivers commands, mentions and replies to the bot.
The bot reacts to exactly those: commands (``/mood`` also as a photo caption), messages that
mention it, and replies to its own messages. Replies marked ``private`` (taste, links, sign-in
URLs, /forget) go to the user's private chat; the group only learns that an answer was sent
privately. A Spotify sign-in link in a group would let anyone who clicks it link *their* account
to the sender, so it must never be posted there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Literal
from urllib.parse import urlparse

from telegram import Bot as TgBot
from telegram import (
    BotCommand,
    Chat,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageLimit
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.conversation import QUESTION_KINDS, Conversation, Reply, Where
from bot.replies import album_elsewhere_text
from bot.startup import connect_with_retries, token_refused
from bot.telegram_webhook import WebhookServer, kept_alive
from moosic_core.attachments import MAX_DOWNLOAD_BYTES, claimed_kind, kind_of
from moosic_core.config import StartupConfig, TelegramConfig
from moosic_core.errors import ConfigError, NotAnImage
from moosic_core.logs import install_secret_redaction
from moosic_core.service import MoosicService
from moosic_core.types import UserRef

log = logging.getLogger(__name__)

#: An album's parts arrive as separate updates, within a second of each other (in one
#: ``getUpdates`` batch or the next); the album is answered once no part came for this long,
ALBUM_QUIET_S = 1.0
#: or at the latest this long after its first part.
ALBUM_MAX_WAIT_S = 5.0
FLOOD_RETRIES = 3  # a 429 RetryAfter is waited out and the call retried this often
CHAT_ACTION_EVERY_S = 4.5  # Telegram shows a chat action for 5 s
ALLOWED_UPDATES = ("message", "callback_query")
#: PTB's own retries of deleteWebhook/setWebhook when polling or the webhook starts.
BOOTSTRAP_RETRIES = 5
#: Album claims (``claims`` table) are pruned at most this often (seconds).
CLAIMS_PRUNE_EVERY_S = 600.0
#: What a replica that does not answer an album tells the one answering it, while the album's
#: window runs (never the photo): a claim ``telegram:album:<album id>:part:<message id>:<p|f>``
#: per part (a photo or another file; no user content, so it may outlive a /forget until the
#: claims are pruned), and per part addressed to the bot a ``user_state`` value
#: ``album:<album id>:<message id>`` -> JSON ``{"photo": bool, "caption": bool, "said": str}``
#: (``/forget`` deletes it). The answering replica reads and deletes both.
ALBUM_PART_KEY = "album"

COMMANDS = (
    ("start", "what I do and how to use me"),
    ("help", "the commands"),
    ("mood", "songs for a mood you tell me: /mood happy or /mood 0.3"),
    ("more", "more songs for your last mood"),
    ("link", "link your Spotify: /link spotify [id or profile link]"),
    ("unlink", "disconnect Spotify"),
    ("save", "keep the last list: a Spotify playlist or a file"),
    ("taste", "what I know about your listening"),
    ("discover", "more new artists or more of yours: /discover more|less|default"),
    ("forget", "delete everything I know about you"),
    ("agree", "allow me to read the mood on your selfies"),
    ("group", "a group round: songs for everyone here (/group done closes it)"),
)

HINT = "Send me a selfie, or a command such as /mood happy (see /help)."
TOO_LARGE = ("That file is larger than 20 MB, the most a Telegram bot may download. "
             "Please send it as a photo or a smaller file.")
NOT_FETCHED = "I couldn't download that from Telegram just now. Please send it again."
NOT_READABLE = ("I can read selfies (a photo, or an image file) and playlist CSV files "
                "(e.g. an Exportify export). That file is neither.")
#: What a message that carries neither text, a photo nor a file holds, for the hint.
UNSUPPORTED_KINDS = (("sticker", "stickers"), ("animation", "GIFs"),
                     ("voice", "voice messages"), ("video_note", "video messages"),
                     ("video", "videos"), ("audio", "audio files"), ("location", "locations"),
                     ("venue", "locations"), ("contact", "contacts"), ("poll", "polls"),
                     ("dice", "dice"), ("game", "games"), ("story", "stories"))
SENT_PRIVATELY = "I've sent you the answer in a private chat, since it's personal."
OPEN_PRIVATE_CHAT = ("That answer is personal, so I won't post it in the group. Open a private "
                     "chat with me (https://t.me/{username}), press Start, and ask me there.")


def _worth_retrying(exc: BaseException) -> bool:
    """Network trouble and flood control pass; a refused token or a bad request does not."""
    return isinstance(exc, RetryAfter) or (isinstance(exc, NetworkError)
                                           and not isinstance(exc, BadRequest))


def webhook_secret(config: TelegramConfig) -> str:
    """The webhook's secret token: ``telegram.webhook_secret``, or when empty one derived from
    the bot token (hex HMAC-SHA256, 64 characters), so N replicas of one bot agree on it.

    Telegram sends it in ``X-Telegram-Bot-Api-Secret-Token`` with every webhook call
    (Bot API, setWebhook ``secret_token``: 1-256 characters of ``A-Za-z0-9_-``).
    """
    if config.webhook_secret:
        return config.webhook_secret
    return hmac.new(config.token.encode(), b"moosic telegram webhook", hashlib.sha256).hexdigest()


def album_id(token: str, chat_id: int, media_group_id: str) -> str:
    """An album's name in the store (its claim, its parts' facts): a keyed hash (HMAC-SHA256
    with the bot token as key, 32 hex characters) of its chat and media group id, so every
    replica of the bot names it alike while the store never shows whose chat it was."""
    message = f"moosic album {chat_id}:{media_group_id}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()[:32]


@dataclasses.dataclass(frozen=True)
class HandedPart:
    """An album part that reached another replica, as that replica described it in the store:
    its message id, whether it is a photo (never its bytes), whether it is addressed to the bot
    (:meth:`TelegramBot._file_is_for_us`), whether it carried a caption and what the caption
    says (:func:`_said_with`)."""

    message_id: int
    photo: bool
    for_bot: bool
    caption: bool
    said: str


def _is_photo(message: Message) -> bool:
    """A photo, or a file that claims to be an image (its name or type; not yet downloaded)."""
    if message.photo:
        return True
    document = message.document
    return document is not None and \
        claimed_kind(document.file_name or "", document.mime_type) == "image"


def _album_said(messages: Sequence[Message], others: Sequence[HandedPart]) -> str:
    """:func:`_said_with` over an album whose parts are partly here, partly ``others``: the
    caption of the first part (by message id) that has one."""
    captioned = [(m.message_id, _said_with([m])) for m in messages if (m.caption or "").strip()]
    captioned += [(p.message_id, p.said) for p in others if p.for_bot and p.caption]
    return min(captioned)[1] if captioned else ""


def file_url_for(api_url: str) -> str:
    """The Bot API file URL that goes with an API URL: ``…/bot`` -> ``…/file/bot``."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        base = base[: -len("/bot")]
    return f"{base}/file/bot"


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's button rows as an inline keyboard (callback data = the action)."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.action)
                                  for b in row] for row in reply.buttons])


def reply_text(reply: Reply) -> str:
    """The reply as plain text (the sign-in link on its own line), within Telegram's limit."""
    text = reply.text if not reply.link_url else f"{reply.text}\n\n{reply.link_url}"
    limit = MessageLimit.MAX_TEXT_LENGTH
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def send_reply(bot: TgBot, chat_id: int, reply: Reply,
                     reply_to: int | None = None) -> None:
    """The reply's text (with its buttons), then its file as a document (a saved list)."""
    await bot.send_message(chat_id, reply_text(reply), reply_markup=keyboard(reply),
                           reply_to_message_id=reply_to)
    if reply.file is not None:
        await bot.send_document(chat_id, InputFile(reply.file.data, filename=reply.file.name),
                                caption=reply.file.caption[:MessageLimit.CAPTION_LENGTH])


def user_of(update: Update) -> UserRef:
    sender = update.effective_user
    if sender is None:
        raise ValueError("update without a user")
    return UserRef("telegram", str(sender.id))


def where_of(update: Update) -> Where:
    """The chat and the sender's first name (how the group already knows them)."""
    chat, sender = update.effective_chat, update.effective_user
    return Where(str(chat.id) if chat else None, sender.first_name if sender else None,
                 shared=chat is not None and not _is_private(chat))


def _with_note(reply: Reply, note: str) -> Reply:
    return dataclasses.replace(reply, text=f"{reply.text}\n\n({note})")


def _said_with(messages: Sequence[Message]) -> str:
    """What the user wrote with their photos: the first caption (an album has one), without a
    ``/mood`` command word; a caption with another command says nothing about a mood."""
    for message in messages:
        caption = message.caption or ""
        if not caption.strip():
            continue
        command = _command_of(caption, message.caption_entities)
        if command is None:
            return caption
        return command[2] if command[0] == "mood" else ""
    return ""


def _is_private(chat: Chat) -> bool:
    return chat.type == ChatType.PRIVATE


def _command_of(text: str, entities: Iterable[MessageEntity]) -> tuple[str, str, str] | None:
    """(name, addressee, argument) of a message starting with a /command, else None."""
    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            word = text[1: entity.length]
            name, _, addressee = word.partition("@")
            return name.lower(), addressee.lower(), text[entity.length:].strip()
    return None


class TelegramBot:
    """The Telegram front-end: builds the Application and handles its updates."""

    name = "telegram"

    def __init__(self, service: MoosicService, config: TelegramConfig, *,
                 conversation: Conversation | None = None,
                 rate_limiter: AIORateLimiter | None = None,
                 startup: StartupConfig | None = None) -> None:
        if not config.token:
            raise ConfigError("No Telegram token: set telegram.token or MOOSIC_TELEGRAM_TOKEN.")
        self.config = config
        self.startup = startup or StartupConfig()
        self.service = service
        self.conversation = conversation or Conversation(service)
        self.conversation.set_notifier("telegram", self.notify)
        # The request URLs contain the token: httpx logs them at INFO, PTB at DEBUG.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        install_secret_redaction([config.token])
        self.application: Application = (
            ApplicationBuilder()
            .token(config.token)
            .base_url(config.api_url)
            .base_file_url(file_url_for(config.api_url))
            .rate_limiter(rate_limiter or AIORateLimiter(
                overall_max_rate=config.messages_per_second, max_retries=FLOOD_RETRIES))
            .concurrent_updates(True)
            .build()
        )
        self._add_handlers(self.application)
        self._albums: dict[tuple[int, str], list[Message]] = {}
        self._album_seen: dict[tuple[int, str], float] = {}
        self._claims_pruned_at = float("-inf")
        self.webhook: WebhookServer | None = None
        if config.webhook_url:
            self.webhook = WebhookServer(
                handle=self.application.process_update,
                parse=lambda data: Update.de_json(data, self.application.bot),
                leases=service.store, secret=webhook_secret(config),
                path=urlparse(config.webhook_url).path or "/", lease_s=config.update_lease_s,
                max_updates=config.webhook_max_updates)

    def _add_handlers(self, app: Application) -> None:
        # Every update is claimed in the store first (group -1) and marked done last (group 1),
        # so an update Telegram delivers again (a process that died) is answered once, also by
        # another process sharing the database. In webhook mode the webhook server does that
        # (bot.telegram_webhook), since its HTTP answer depends on the claim.
        if not self.config.webhook_url:
            app.add_handler(TypeHandler(Update, self.claim), group=-1)
            app.add_handler(TypeHandler(Update, self.finish), group=1)
        new = filters.UpdateType.MESSAGE
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(new & (filters.PHOTO | filters.Document.ALL), self.on_file))
        app.add_handler(MessageHandler(new & filters.COMMAND, self.on_command))
        app.add_handler(MessageHandler(new & filters.TEXT, self.on_text))
        app.add_handler(MessageHandler(new & ~filters.StatusUpdate.ALL, self.on_unsupported))
        app.add_error_handler(self.on_error)

    # --- addressing in groups --------------------------------------------------------------
    def _for_another_bot(self, addressee: str, bot: TgBot) -> bool:
        return bool(addressee) and addressee != (bot.username or "").lower()

    @staticmethod
    def _mentions_or_replies_to_bot(message: Message, bot: TgBot) -> bool:
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None \
                and replied.from_user.id == bot.id:
            return True
        handle = f"@{bot.username}".lower()
        return any(handle == text.lower() for text in message.parse_entities(
            [MessageEntity.MENTION]).values()) or any(handle == text.lower() for text in
                                                      message.parse_caption_entities(
                                                          [MessageEntity.MENTION]).values())

    async def _file_is_for_us(self, message: Message, bot: TgBot) -> bool:
        """Private chats: every file. Groups: a /mood caption, a mention, a reply to us, or any
        photo while the group has a round open (Telegram delivers it when privacy mode is off;
        the round may live on another replica: one store read)."""
        if _is_private(message.chat):
            return True
        command = _command_of(message.caption or "", message.caption_entities)
        if command is not None and not self._for_another_bot(command[1], bot):
            return True
        return self._mentions_or_replies_to_bot(message, bot) or \
            await self.conversation.round_open("telegram", str(message.chat_id))

    # --- handlers --------------------------------------------------------------------------
    async def claim(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop an update that was handled already (or is being handled elsewhere)."""
        if not await self.service.claim_update(self.name, update.update_id):
            log.info("Telegram update %d was handled already; not answering it again",
                     update.update_id)
            raise ApplicationHandlerStop

    async def finish(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.service.finish_update(self.name, update.update_id)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        command = _command_of(message.text, message.entities)
        if command is None or self._for_another_bot(command[1], context.bot):
            return
        name, _, arg = command
        reply = await self.conversation.command(user_of(update), name, arg, where_of(update))
        await self.deliver(context.bot, message, reply)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        if not _is_private(message.chat) and \
                not self._mentions_or_replies_to_bot(message, context.bot):
            return  # group chatter that isn't for us
        text = message.text.replace(f"@{context.bot.username}", "").strip()
        reply = await self.conversation.text(user_of(update), text, where_of(update)) \
            or Reply(HINT)
        await self.deliver(context.bot, message, reply)

    async def on_unsupported(self, update: Update,
                             context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, voice, locations, polls ...: the hint, in private chats and when a group
        message is addressed to us (a reply to the bot); other group chatter stays unanswered."""
        message = update.effective_message
        if message is None:
            return
        if not _is_private(message.chat) and \
                not self._mentions_or_replies_to_bot(message, context.bot):
            return
        what = next((words for attr, words in UNSUPPORTED_KINDS
                     if getattr(message, attr, None) is not None), "that kind of message")
        await self.deliver(context.bot, message, Reply(f"I can't read {what}. {HINT}"))

    async def on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.animation is not None:  # a GIF also carries a ``document``
            await self.on_unsupported(update, context)
            return
        if message.media_group_id:
            await self._collect_album(message, update, context)
            return
        if not await self._file_is_for_us(message, context.bot):
            return
        await self._answer_files([message], update, context)

    async def _collect_album(self, message: Message, update: Update,
                             context: ContextTypes.DEFAULT_TYPE) -> None:
        """The first part of an album waits for the others (each its own update), then the
        album gets one answer; the later parts only join it.

        With several replicas the parts land on different ones: the album is claimed in the
        store (``telegram:album:<album id>``, :func:`album_id`, a lease of
        ``telegram.update_lease_s`` renewed until it is answered) and only the replica holding
        the claim answers. A replica that lost the claim describes its parts in the store
        (:data:`ALBUM_PART_KEY`: photo or not, addressed to the bot or not, the caption's
        text; never the photo) while the winner's window runs; the winner reads (and deletes)
        them before it answers, so a ``/mood`` caption or a stated mood on another replica's
        part counts, and the answer counts every photo of the album. Photos never leave the
        replica they
        reached: the winner reads only its own. When none of them shows a face and other
        replicas hold photos of the album, the answer says so and asks for the selfie on its
        own (:func:`bot.replies.album_elsewhere_text`) rather than "no face". Why not let the
        losing replica read its photos then: it would have to keep them and wait, polling the
        store, for the winner's verdict, and the answer, the consent question and the one
        selfie counted for the rate limit would be split over two processes; a rare
        album (a landscape and a selfie) costs one more message instead.

        If the claiming replica dies before answering, Telegram's redelivery of its part
        reaches a replica that takes the expired claim and answers with that part.
        """
        key = (message.chat_id, str(message.media_group_id))
        album = self._albums.get(key)
        if album is not None:
            album.append(message)
            self._album_seen[key] = time.monotonic()
            return
        # in memory before the store is asked, so this replica's next parts join it meanwhile
        self._albums[key] = parts = [message]
        self._album_seen[key] = started = time.monotonic()
        hashed = album_id(self.config.token, *key)
        name = f"telegram:album:{hashed}"
        store, lease_s = self.service.store, self.config.update_lease_s
        async with contextlib.AsyncExitStack() as held:
            try:
                claim = await self._claim_album(name)
                if claim == "won":  # held (renewed) from now until answered
                    await held.enter_async_context(
                        kept_alive(lambda: store.renew_claim(name), lease_s / 3, "an album"))
                    await self._album_window(key, started)
            finally:
                del self._albums[key], self._album_seen[key]
            if claim != "won":
                if claim == "taken":
                    await self._hand_over(parts, hashed, update, context.bot)
                log.info("Telegram album of %d part(s) here is answered by another replica",
                         len(parts))
                return
            parts.sort(key=lambda m: m.message_id)
            others = await self._handed_over(hashed, update)
            addressed = any(other.for_bot for other in others)
            for part in parts:
                if addressed or await self._file_is_for_us(part, context.bot):
                    await self._answer_files(parts, update, context, others=others)
                    break
        await store.claim(f"{name}:answered")  # a late part never takes the lapsed lease

    async def _hand_over(self, parts: Sequence[Message], hashed: str, update: Update,
                         bot: TgBot) -> None:
        """Describe this replica's parts of album ``hashed`` in the store, for the replica
        answering it (:data:`ALBUM_PART_KEY`, :meth:`_collect_album`)."""
        store = self.service.store
        facts = {}
        for part in parts:
            photo = _is_photo(part)
            await store.claim(f"telegram:album:{hashed}:part:{part.message_id}:"
                              f"{'p' if photo else 'f'}")
            if await self._file_is_for_us(part, bot):
                facts[f"{ALBUM_PART_KEY}:{hashed}:{part.message_id}"] = json.dumps(
                    {"photo": photo, "caption": bool((part.caption or "").strip()),
                     "said": _said_with([part])})
        if facts:
            await store.set_user_state(user_of(update), facts)

    async def _handed_over(self, hashed: str, update: Update) -> list[HandedPart]:
        """The parts of album ``hashed`` that other replicas described (deleted as read)."""
        store = self.service.store
        prefix, claimed = f"{ALBUM_PART_KEY}:{hashed}:", f"telegram:album:{hashed}:part:"
        addressed = {int(key[len(prefix):]): json.loads(stored.value) for key, stored in
                     (await store.pop_user_state_prefix(user_of(update), prefix)).items()}
        photos = {int(message_id): kind == "p" for message_id, _, kind in
                  (name[len(claimed):].partition(":") for name in await store.pop_claims(claimed))}
        return [HandedPart(message_id, bool(photos.get(message_id)) or
                           bool(addressed.get(message_id, {}).get("photo")),
                           message_id in addressed,
                           bool(addressed.get(message_id, {}).get("caption")),
                           str(addressed.get(message_id, {}).get("said", "")))
                for message_id in sorted({*addressed, *photos})]

    async def _album_window(self, key: tuple[int, str], started: float) -> None:
        """Wait until no part of the album came for :data:`ALBUM_QUIET_S`, or at most
        :data:`ALBUM_MAX_WAIT_S` after its first part."""
        while True:
            now = time.monotonic()
            quiet_left = self._album_seen[key] + ALBUM_QUIET_S - now
            if quiet_left <= 0 or now - started >= ALBUM_MAX_WAIT_S:
                return
            await asyncio.sleep(min(quiet_left, started + ALBUM_MAX_WAIT_S - now))

    async def _claim_album(self, name: str) -> Literal["won", "taken", "answered"]:
        """Whether this replica answers the album ``name`` ("won"), another one is collecting
        it ("taken") or it was answered already (see :meth:`_collect_album`)."""
        store = self.service.store
        now = time.monotonic()
        if now - self._claims_pruned_at > CLAIMS_PRUNE_EVERY_S:
            self._claims_pruned_at = now
            await store.prune_claims()
        if await store.claimed(f"{name}:answered"):
            return "answered"
        return "won" if await store.claim(name, lease_s=self.config.update_lease_s) else "taken"

    async def _answer_files(self, messages: Sequence[Message], update: Update,
                            context: ContextTypes.DEFAULT_TYPE,
                            others: Sequence[HandedPart] = ()) -> None:
        """Download the photos and files of one message or one album, decide what each is by
        its name, type and first bytes, and answer: a playlist file is imported (the first one),
        the photos get ONE song list (for the first with a face). ``others``: the album's parts
        on other replicas (their caption counts, their photos are counted, never read)."""
        first, bot = messages[0], context.bot
        wanted: list[tuple[PhotoSize | Document, str, str | None, int]] = []
        too_large = unreadable = claimed_image = not_fetched = 0
        name: str
        mime: str | None
        for message in messages:
            if message.photo:
                media: PhotoSize | Document = message.photo[-1]  # the largest size
                name, mime = "photo.jpg", "image/jpeg"
            elif message.document is not None:
                media = message.document
                name, mime = media.file_name or "", media.mime_type
            else:
                unreadable += 1  # a video or an audio file in the album
                continue
            claim = claimed_kind(name, mime)
            if claim == "other":
                unreadable += 1
            elif media.file_size is not None and media.file_size > MAX_DOWNLOAD_BYTES:
                too_large += 1
            else:
                claimed_image += claim == "image"
                wanted.append((media, name, mime, message.message_id))
        images: list[bytes] = []
        image_ids: list[int] = []  # the message id of each image
        playlists: list[tuple[bytes, str]] = []
        async with self.working(bot, first.chat_id):
            for media, name, mime, message_id in wanted:
                try:
                    tg_file = await media.get_file()
                    data = bytes(await tg_file.download_as_bytearray())  # memory only
                except BadRequest as exc:
                    if "too big" not in str(exc).lower():
                        raise
                    too_large += 1
                    continue
                except NetworkError:  # a timeout or a dropped connection (BadRequest is not)
                    log.warning("downloading a file from Telegram failed")
                    not_fetched += 1
                    continue
                kind = kind_of(data, name, mime)
                if kind == "image":
                    images.append(data)
                    image_ids.append(message_id)
                elif kind == "playlist":
                    suffixed = name if name.lower().endswith((".csv", ".txt")) \
                        else f"{name or 'playlist'}.csv"
                    playlists.append((data, suffixed))
                else:
                    unreadable += 1
            user, where = user_of(update), where_of(update)
            answers: list[Reply] = []
            if playlists:
                data, name = playlists[0]
                reply = await self.conversation.document(user, data, name, where)
                if len(playlists) > 1:
                    reply = _with_note(reply, f"I used {name} and not the other "
                                       f"{len(playlists) - 1} playlist file(s): send one "
                                       "playlist at a time.")
                answers.append(reply)
            # every photo of the album, by message id: its number as the user sees it
            photo_ids = sorted({*image_ids, *(p.message_id for p in others if p.photo)})
            if images:
                answers.append(await self.conversation.album(
                    user, images, where, said=_album_said(messages, others),
                    numbers=[photo_ids.index(i) + 1 for i in image_ids], total=len(photo_ids)))
            elif len(photo_ids) > 0:  # the album's photos all reached other replicas
                answers.append(Reply(album_elsewhere_text(len(photo_ids), 0)))
            del images, playlists
        if not answers and not_fetched:
            answers.append(Reply(NOT_FETCHED))
        elif not answers:
            answers.append(Reply(TOO_LARGE) if too_large and not unreadable else
                           Reply(NotAnImage.user_message) if claimed_image and len(messages) == 1
                           else Reply(NOT_READABLE))
        elif too_large or unreadable or not_fetched:
            why = ([f"{too_large} larger than 20 MB"] if too_large else []) + \
                  ([f"{unreadable} neither a photo nor a playlist"] if unreadable else []) + \
                  ([f"{not_fetched} I couldn't download"] if not_fetched else [])
            skipped = too_large + unreadable + not_fetched
            answers[-1] = _with_note(answers[-1], f"I skipped {skipped} of the "
                                     f"{len(messages) + len(others)} files: "
                                     f"{' and '.join(why)}.")
        for reply in answers:
            await self.deliver(bot, first, reply)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        action = query.data or ""
        quick = await self.conversation.quick_answer(user_of(update), action,
                                                     where_of(update))
        if quick is not None:  # another's button, or a repeat: a pop-up, the message stays
            await query.answer(quick.text[:200], show_alert=True)
            return
        feedback = action.startswith("fb:")
        answered = False
        try:
            if not feedback:  # answer at once so the button stops spinning
                await query.answer()
                answered = True
            reply = await self.conversation.button(user_of(update), action, where_of(update))
            if feedback:  # a small toast; the list stays as it was
                await query.answer(reply.text[:200])
                answered = True
                return
            message = query.message if isinstance(query.message, Message) else None
            if message is None:
                await send_reply(context.bot, query.from_user.id, reply)
                return
            question = action.partition(":")[0] in QUESTION_KINDS
            if question and not (reply.private and not _is_private(message.chat)):
                # the question is answered: replace it (and its buttons) by the answer
                await query.edit_message_text(reply_text(reply), reply_markup=keyboard(reply))
                return
            await self.deliver(context.bot, message, reply, quote=False,
                               user_id=query.from_user.id)
        finally:
            if not answered:
                with contextlib.suppress(TelegramError):
                    await query.answer()

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error with an id (never the update's content) and tell the user."""
        error_id = secrets.token_hex(4)
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("error %s while handling update %s", error_id, update_id,
                  exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            with contextlib.suppress(TelegramError):
                await context.bot.send_message(
                    update.effective_chat.id,
                    f"Sorry, something went wrong on my side (error id {error_id}). "
                    "Please try again.")

    # --- sending ---------------------------------------------------------------------------
    async def deliver(self, bot: TgBot, message: Message, reply: Reply, *, quote: bool = True,
                      user_id: int | None = None) -> None:
        """Send a reply where it belongs: personal replies never go to a group."""
        chat = message.chat
        if not (reply.private and not _is_private(chat)):
            await send_reply(bot, chat.id, reply, message.message_id
                             if quote and not _is_private(chat) else None)
            return
        target = user_id if user_id is not None else \
            (message.from_user.id if message.from_user else None)
        if target is None:
            return
        try:
            await send_reply(bot, target, reply)
        except (Forbidden, BadRequest):  # the user never opened a private chat with us
            notice = OPEN_PRIVATE_CHAT.format(username=bot.username)
        else:
            notice = SENT_PRIVATELY
        await bot.send_message(chat.id, notice,
                               reply_to_message_id=message.message_id if quote else None)

    async def notify(self, chat_id: str, reply: Reply) -> None:
        """Post to a chat unprompted (a group round closed by its timer)."""
        await send_reply(self.application.bot, int(chat_id), reply)

    @contextlib.asynccontextmanager
    async def working(self, bot: TgBot, chat_id: int) -> AsyncIterator[None]:
        """Show "typing…" while the body runs (repeated every few seconds)."""

        async def show() -> None:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)

        async def repeat() -> None:
            while True:
                await asyncio.sleep(CHAT_ACTION_EVERY_S)
                await show()

        first, again = asyncio.create_task(show()), asyncio.create_task(repeat())
        try:
            yield
        finally:
            again.cancel()
            await asyncio.gather(first, again, return_exceptions=True)

    # --- running ---------------------------------------------------------------------------
    async def _connect(self) -> None:
        """getMe (``initialize``) and setMyCommands: the calls that need the network."""
        await self.application.initialize()
        await self.application.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])

    async def start(self, *, poll_timeout: float = 10.0, poll_interval: float = 0.0) -> None:
        """Connect (retried while the API is unreachable), then poll or start the webhook.

        Webhook mode (``telegram.webhook_url``): listen on ``webhook_listen:webhook_port``
        (:mod:`bot.telegram_webhook`), then setWebhook with the URL and the shared secret; every
        replica does the same, which is idempotent. Raises :class:`ConfigError` at once when
        Telegram refuses the token (401) or the port cannot be listened on, and the last
        network error when the API stayed unreachable for ``startup.retry_for_s``.
        """
        app = self.application
        try:
            await connect_with_retries("Telegram", self._connect, _worth_retrying, self.startup)
        except InvalidToken:
            raise token_refused("Telegram", "telegram.token") from None
        await app.start()
        if self.webhook is not None:
            await self.webhook.start(self.config.webhook_listen, self.config.webhook_port)
            await connect_with_retries("Telegram", self._set_webhook, _worth_retrying,
                                       self.startup)
            log.info("Telegram: webhook on %s as @%s (listening on %s:%d)",
                     self.config.webhook_url, app.bot.username, self.config.webhook_listen,
                     self.webhook.port)
            return
        updater = app.updater
        if updater is None:
            raise RuntimeError("the Application has no Updater")
        await updater.start_polling(timeout=int(poll_timeout), poll_interval=poll_interval,
                                    allowed_updates=list(ALLOWED_UPDATES),
                                    bootstrap_retries=BOOTSTRAP_RETRIES)
        log.info("Telegram: polling as @%s", app.bot.username)

    async def _set_webhook(self) -> None:
        await self.application.bot.set_webhook(
            self.config.webhook_url, secret_token=webhook_secret(self.config),
            allowed_updates=list(ALLOWED_UPDATES))

    def connected(self) -> bool:
        """Whether updates are being fetched (polling) or received (webhook)."""
        if self.webhook is not None:
            return self.application.running and self.webhook.running
        updater = self.application.updater
        return self.application.running and updater is not None and updater.running

    async def stop(self) -> None:
        """Stop fetching, finish every update already fetched, confirm them, shut down.

        Polling: the Updater's last ``getUpdates`` call sends the offset after the last update
        it fetched, so a restart neither loses nor repeats an update. Webhook: stop accepting,
        handle and answer the updates in flight (for at most ``telegram.update_lease_s``), then
        shut down; the webhook is NOT deleted, since other replicas still serve it.
        """
        app = self.application
        if self.webhook is not None:
            await self.webhook.stop(drain_s=self.config.update_lease_s)
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def finished(self) -> None:
        """Telegram never ends by itself: wait until :func:`bot.frontends.serve` stops it."""
        await asyncio.Event().wait()
