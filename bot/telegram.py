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
import logging
import secrets
from collections.abc import AsyncIterator, Iterable
from urllib.parse import urlparse

from telegram import Bot as TgBot
from telegram import (
    BotCommand,
    Chat,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageLimit
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.conversation import Conversation, Reply, Where
from moosic_core.config import TelegramConfig
from moosic_core.errors import ConfigError
from moosic_core.service import MoosicService
from moosic_core.types import UserRef

log = logging.getLogger(__name__)

#: The largest file a bot may download through the Bot API.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic")
PLAYLIST_SUFFIXES = (".csv", ".txt")
PLAYLIST_MIME_TYPES = ("text/csv", "text/comma-separated-values", "application/csv",
                       "text/plain")
FLOOD_RETRIES = 3  # a 429 RetryAfter is waited out and the call retried this often
CHAT_ACTION_EVERY_S = 4.5  # Telegram shows a chat action for 5 s
ALLOWED_UPDATES = ("message", "callback_query")

COMMANDS = (
    ("start", "what I do and how to use me"),
    ("help", "the commands"),
    ("mood", "songs for a mood you tell me: /mood happy or /mood 0.3"),
    ("more", "more songs for your last mood"),
    ("link", "link your Spotify: /link spotify [id or profile link]"),
    ("unlink", "disconnect Spotify"),
    ("taste", "what I know about your listening"),
    ("discover", "more new artists or more of yours: /discover more|less|default"),
    ("forget", "delete everything I know about you"),
    ("agree", "allow me to read the mood on your selfies"),
    ("group", "a group round: songs for everyone here (/group done closes it)"),
)

HINT = "Send me a selfie, or a command such as /mood happy (see /help)."
TOO_LARGE = ("That file is larger than 20 MB, the most a Telegram bot may download. "
             "Please send it as a photo or a smaller file.")
NOT_READABLE = ("I can read selfies (a photo, or an image file) and playlist CSV files "
                "(e.g. an Exportify export). That file is neither.")
SENT_PRIVATELY = "I've sent you the answer in a private chat, since it's personal."
OPEN_PRIVATE_CHAT = ("That answer is personal, so I won't post it in the group. Open a private "
                     "chat with me (https://t.me/{username}), press Start, and ask me there.")


def file_url_for(api_url: str) -> str:
    """The Bot API file URL that goes with an API URL: ``…/bot`` -> ``…/file/bot``."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        base = base[: -len("/bot")]
    return f"{base}/file/bot"


class SecretRedactor(logging.Filter):
    """Masks secrets (the bot token) in log messages and tracebacks."""

    def __init__(self, secrets_: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets_ if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


_REDACTOR = SecretRedactor(())


def install_secret_redaction(secrets_: Iterable[str]) -> SecretRedactor:
    """Mask these secrets in every record reaching a handler of the root logger."""
    _REDACTOR.secrets.extend(s for s in secrets_ if s and s not in _REDACTOR.secrets)
    for handler in logging.getLogger().handlers:
        if _REDACTOR not in handler.filters:
            handler.addFilter(_REDACTOR)
    return _REDACTOR


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


def user_of(update: Update) -> UserRef:
    sender = update.effective_user
    if sender is None:
        raise ValueError("update without a user")
    return UserRef("telegram", str(sender.id))


def where_of(update: Update) -> Where:
    """The chat and the sender's first name (how the group already knows them)."""
    chat, sender = update.effective_chat, update.effective_user
    return Where(str(chat.id) if chat else None, sender.first_name if sender else None)


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
                 rate_limiter: AIORateLimiter | None = None) -> None:
        if not config.token:
            raise ConfigError("No Telegram token: set telegram.token or MOOSIC_TELEGRAM_TOKEN.")
        self.config = config
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
            .rate_limiter(rate_limiter or AIORateLimiter(max_retries=FLOOD_RETRIES))
            .concurrent_updates(True)
            .build()
        )
        self._add_handlers(self.application)

    def _add_handlers(self, app: Application) -> None:
        new = filters.UpdateType.MESSAGE
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(new & (filters.PHOTO | filters.Document.ALL), self.on_file))
        app.add_handler(MessageHandler(new & filters.COMMAND, self.on_command))
        app.add_handler(MessageHandler(new & filters.TEXT, self.on_text))
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

    def _file_is_for_us(self, message: Message, bot: TgBot) -> bool:
        """Private chats: every file. Groups: a /mood caption, a mention, a reply to us, or any
        photo while the group has a round open (Telegram delivers it when privacy mode is off)."""
        if _is_private(message.chat) or self.conversation.round_open(
                "telegram", str(message.chat_id)):
            return True
        command = _command_of(message.caption or "", message.caption_entities)
        if command is not None and not self._for_another_bot(command[1], bot):
            return True
        return self._mentions_or_replies_to_bot(message, bot)

    # --- handlers --------------------------------------------------------------------------
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
        reply = await self.conversation.text(user_of(update), text) or Reply(HINT)
        await self.deliver(context.bot, message, reply)

    async def on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not self._file_is_for_us(message, context.bot):
            return
        user = user_of(update)
        media: PhotoSize | Document
        if message.photo:
            media = message.photo[-1]  # the largest size
            size, name, playlist = media.file_size, "photo.jpg", False
        elif message.document is not None:
            media = message.document
            name = message.document.file_name or ""
            mime = (message.document.mime_type or "").lower()
            playlist = name.lower().endswith(PLAYLIST_SUFFIXES) or mime in PLAYLIST_MIME_TYPES
            image = mime.startswith("image/") or name.lower().endswith(IMAGE_SUFFIXES)
            if not playlist and not image:
                await self.deliver(context.bot, message, Reply(NOT_READABLE))
                return
            if playlist and not name.lower().endswith(PLAYLIST_SUFFIXES):
                name = f"{name or 'playlist'}.csv"
            size = media.file_size
        else:
            return
        if size is not None and size > MAX_DOWNLOAD_BYTES:
            await self.deliver(context.bot, message, Reply(TOO_LARGE))
            return
        async with self.working(context.bot, message.chat_id):
            try:
                tg_file = await media.get_file()
                data = bytes(await tg_file.download_as_bytearray())  # memory only
            except BadRequest as exc:
                if "too big" not in str(exc).lower():
                    raise
                reply = Reply(TOO_LARGE)
            else:
                where = where_of(update)
                reply = await (self.conversation.document(user, data, name, where) if playlist
                               else self.conversation.photo(user, data, where))
                del data
        await self.deliver(context.bot, message, reply)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        action = query.data or ""
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
                await context.bot.send_message(query.from_user.id, reply_text(reply),
                                               reply_markup=keyboard(reply))
                return
            question = action.partition(":")[0] in {"consent", "forget"}
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
        text, markup = reply_text(reply), keyboard(reply)
        if not (reply.private and not _is_private(chat)):
            await bot.send_message(chat.id, text, reply_markup=markup,
                                   reply_to_message_id=message.message_id
                                   if quote and not _is_private(chat) else None)
            return
        target = user_id if user_id is not None else \
            (message.from_user.id if message.from_user else None)
        if target is None:
            return
        try:
            await bot.send_message(target, text, reply_markup=markup)
        except (Forbidden, BadRequest):  # the user never opened a private chat with us
            notice = OPEN_PRIVATE_CHAT.format(username=bot.username)
        else:
            notice = SENT_PRIVATELY
        await bot.send_message(chat.id, notice,
                               reply_to_message_id=message.message_id if quote else None)

    async def notify(self, chat_id: str, reply: Reply) -> None:
        """Post to a chat unprompted (a group round closed by its timer)."""
        await self.application.bot.send_message(int(chat_id), reply_text(reply),
                                                reply_markup=keyboard(reply))

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
    async def start(self, *, poll_timeout: float = 10.0, poll_interval: float = 0.0) -> None:
        """Initialise, register the commands, and start polling (or the webhook)."""
        app = self.application
        await app.initialize()
        await app.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
        await app.start()
        updater = app.updater
        if updater is None:
            raise RuntimeError("the Application has no Updater")
        if self.config.webhook_url:
            await updater.start_webhook(
                listen=self.config.webhook_listen, port=self.config.webhook_port,
                url_path=urlparse(self.config.webhook_url).path.lstrip("/"),
                webhook_url=self.config.webhook_url, secret_token=secrets.token_urlsafe(32),
                allowed_updates=list(ALLOWED_UPDATES))
            log.info("telegram: webhook listening on %s:%d", self.config.webhook_listen,
                     self.config.webhook_port)
        else:
            await updater.start_polling(timeout=int(poll_timeout), poll_interval=poll_interval,
                                        allowed_updates=list(ALLOWED_UPDATES))
            log.info("telegram: polling as @%s", app.bot.username)

    async def stop(self) -> None:
        """Stop fetching, finish every update already fetched, confirm them, shut down.

        The Updater's last ``getUpdates`` call sends the offset after the last update it
        fetched, so a restart neither loses nor repeats an update.
        """
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def finished(self) -> None:
        """Telegram never ends by itself: wait until :func:`bot.frontends.serve` stops it."""
        await asyncio.Event().wait()
