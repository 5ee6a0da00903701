"""The Discord front-end: slash commands and buttons over the shared :class:`Conversation`.

A thin adapter in the shape of discord.py's ``examples/advanced_startup.py`` (the conversation is
passed into the client; ``setup_hook`` registers the buttons and syncs the commands) and
``examples/app_commands/basic.py``. Every command defers before any slow work, turns the
interaction into a conversation call and renders the :class:`Reply` as an embed with buttons.
Personal data (``Reply.private``) is sent ephemerally. No privileged intents: slash commands and
buttons arrive as interactions, so the bot needs no message content.

Sharding: the client is discord.py's ``AutoShardedClient``. By default it runs every shard of
the count Discord recommends (``GET /gateway/bot``; one for a small bot) in this process;
``discord.shard_count`` and ``discord.shard_ids`` split the shards over several processes
(see :func:`moosic_core.config_check.discord_shards`). Discord sends each interaction to one
shard only, and the store's claim table answers any interaction delivered twice (a resumed
session, a shard run by two processes by mistake) once, across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bot import replies
from bot.conversation import Button, Conversation, Reply, Where
from bot.hints import BUTTONS_ONLY
from bot.startup import connect_with_retries, token_refused
from moosic_core.attachments import MAX_DOWNLOAD_BYTES, claimed_kind, kind_of
from moosic_core.config import DiscordConfig, StartupConfig
from moosic_core.config_check import discord_shards
from moosic_core.errors import ConfigError, MoosicError, NotAnImage
from moosic_core.recommend.ranking import can_lift
from moosic_core.types import UserRef

log = logging.getLogger(__name__)

PLATFORM = "discord"
MAX_ROWS = 5
MAX_PER_ROW = 5
EMBED_LIMIT = 4000
COLOUR = discord.Colour.from_rgb(30, 215, 96)
DOWNLOAD_FAILED = "I couldn't download that file from Discord. Please send it again."
HELP_FOOTER = ("On Discord: /mood selfie:<photo> or /mood feeling:happy; send a playlist with "
               "/link playlist file:<csv>; paste a sign-in address with /link spotify address:…")
PLAYLIST_WANTED = "Please attach a playlist CSV (for example an exportify.app export)."


def use_api_base(api_url: str) -> None:
    """Point discord.py's REST (and so webhook/interaction) requests at ``api_url``.

    discord.py keeps the base on ``discord.http.Route`` for the whole process; only tests and
    proxies set it (``discord.api_url`` in the config).
    """
    discord.http.Route.BASE = api_url.rstrip("/")


async def use_announced_gateway(client: discord.Client) -> None:
    """Connect to the gateway that ``GET /gateway/bot`` names (with a configured shard count
    discord.py otherwise goes straight to its built-in default, whatever the API base)."""
    _, url, _ = await client.http.get_bot_gateway()
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


# --- rendering ------------------------------------------------------------------------------
def layout(rows: tuple[tuple[Button, ...], ...]) -> list[list[Button]]:
    """Fit the conversation's button rows into Discord's 5 rows of 5.

    Rows that fit are kept as they are. Otherwise the per-song 👍/👎 buttons are packed five to
    a row (all 👍 first, then all 👎) above the other rows, dropping the feedback of the last
    songs when there is still no room.
    """
    if len(rows) <= MAX_ROWS and all(len(r) <= MAX_PER_ROW for r in rows):
        return [list(r) for r in rows]
    buttons = [b for row in rows for b in row]
    likes = [b for b in buttons if b.action.startswith("fb:+")]
    dislikes = [b for b in buttons if b.action.startswith("fb:-")]
    others = [b for b in buttons if not b.action.startswith("fb:")]
    other_rows = [others[i:i + MAX_PER_ROW] for i in range(0, len(others), MAX_PER_ROW)]
    songs = len(likes)
    while songs > 0:
        per_sign = -(-songs // MAX_PER_ROW)
        if 2 * per_sign + len(other_rows) <= MAX_ROWS:
            break
        songs -= 1
    packed: list[list[Button]] = []
    for group in (likes[:songs], dislikes[:songs]):
        packed.extend(group[i:i + MAX_PER_ROW] for i in range(0, len(group), MAX_PER_ROW))
    return (packed + other_rows)[:MAX_ROWS]


def _link_text(name: str, url: str) -> str:
    safe = discord.utils.escape_markdown(name).replace("[", "(").replace("]", ")")
    return f"[{safe}]({url})" if url else safe


def reply_embed(reply: Reply) -> discord.Embed:
    """The reply as an embed: a mood headline and ranked songs, or the plain text."""
    s = reply.suggestions
    if s is None:
        embed = discord.Embed(description=BUTTONS_ONLY.apply(reply.text)[:EMBED_LIMIT],
                              colour=COLOUR)
        if reply.link_url:
            embed.title = "Sign in with Spotify"
            embed.url = reply.link_url
            embed.set_footer(text="On Discord, paste that address with /link spotify address:…")
        return embed
    headline = replies.mood_headline(s)
    lines: list[str] = []
    if not s.items:
        lines.append("I couldn't find new songs for that right now.")
    for i, rec in enumerate(s.items, 1):
        t = rec.track
        why = replies.song_why(rec, steps=can_lift(s.mood.mood_score))
        artists = discord.utils.escape_markdown(", ".join(t.artists))
        genre = t.genres[0] if t.genres else ""
        lines.append(f"**{i}. {_link_text(t.name, t.url)}** — {artists} · *{genre}*\n-# {why}")
    description = ""
    for line in lines:  # whole songs only, within the embed limit
        if len(description) + len(line) + 1 > EMBED_LIMIT:
            break
        description += line + "\n"
    embed = discord.Embed(title=headline[:256], description=description, colour=COLOUR)
    if s.hints:
        embed.set_footer(text=BUTTONS_ONLY.apply("\n".join(s.hints))[:2048])
    return embed


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?P<action>.+)"):
    """A button whose custom_id is the conversation's action; survives restarts.

    Registered with :meth:`discord.Client.add_dynamic_items`, so a press on any message the bot
    ever sent reaches :meth:`MoosicDiscordBot.on_action`.
    """

    def __init__(self, action: str, label: str = "…", row: int | None = None) -> None:
        style = discord.ButtonStyle.primary if not action.startswith("fb:") \
            else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=label[:80], custom_id=action, style=style,
                                           row=row))
        self.action = action

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any],
                             item: discord.ui.Item[Any], match: re.Match[str], /
                             ) -> ActionButton:
        return cls(match["action"], getattr(item, "label", None) or "…")

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        client = interaction.client
        return not isinstance(client, MoosicDiscordBot) or await client.first_delivery(
            interaction)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client = interaction.client
        if isinstance(client, MoosicDiscordBot):
            await client.on_action(interaction, self.action)


def reply_view(reply: Reply) -> discord.ui.View | None:
    """Buttons for the reply (custom_id = action), plus a link button for a sign-in URL."""
    view = discord.ui.View(timeout=None)
    for i, row in enumerate(layout(reply.buttons)):
        for button in row:
            view.add_item(ActionButton(button.action, button.label, row=i))
    if reply.link_url:
        view.add_item(discord.ui.Button(label="Open Spotify sign-in", url=reply.link_url,
                                        style=discord.ButtonStyle.link))
    return view if view.children else None


# --- the client -----------------------------------------------------------------------------
def user_of(interaction: discord.Interaction[Any]) -> UserRef:
    return UserRef(PLATFORM, str(interaction.user.id))


def where_of(interaction: discord.Interaction[Any]) -> Where:
    """The channel and the sender's display name (how the server already knows them)."""
    channel = interaction.channel_id
    return Where(str(channel) if channel else None, interaction.user.display_name,
                 shared=interaction.guild_id is not None)


class MoosicDiscordBot(discord.AutoShardedClient):
    """The Discord client; ``conversation`` is shared with the other front-ends.

    ``shard_count`` None: the count Discord recommends; ``shard_ids`` None: every shard (both
    as :func:`moosic_core.config_check.discord_shards` returns them)."""

    def __init__(self, conversation: Conversation, *, test_guild_id: int = 0,
                 shard_count: int | None = None, shard_ids: list[int] | None = None,
                 **options: Any) -> None:
        # guilds only (not privileged): slash commands and buttons arrive as interactions
        if shard_ids is not None:
            options["shard_ids"] = shard_ids
        super().__init__(intents=discord.Intents(guilds=True), shard_count=shard_count,
                         **options)
        self.conversation = conversation
        conversation.set_notifier(PLATFORM, self.notify)
        self.test_guild_id = test_guild_id
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        self.tree.interaction_check = self.first_delivery  # type: ignore[method-assign]
        for command in _commands():
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionButton)
        if self.test_guild_id:
            guild = discord.Object(id=self.test_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to test guild %d", len(synced), self.test_guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally", len(synced))

    async def send(self, interaction: discord.Interaction[Any], reply: Reply,
                   *, thinking_private: bool | None = None, footer: str = "") -> None:
        """Send ``reply`` after the interaction was deferred; private replies stay private.

        ``thinking_private``: whether the "thinking…" message the first follow-up replaces is
        ephemeral; None when there is none (a button press acknowledged without one).
        """
        embed = reply_embed(reply)
        if footer:
            embed.set_footer(text=footer)
        kwargs: dict[str, Any] = {"embed": embed}
        view = reply_view(reply)
        if view is not None:
            kwargs["view"] = view
        if reply.file is not None:  # a saved list, as an attachment
            kwargs["file"] = discord.File(io.BytesIO(reply.file.data),
                                          filename=reply.file.name)
        if reply.private and thinking_private is False:
            # the first follow-up would replace the public "thinking…" message
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(ephemeral=reply.private or bool(thinking_private),
                                        **kwargs)

    async def first_delivery(self, interaction: discord.Interaction[Any], /) -> bool:
        """False for an interaction seen before (Discord may deliver one twice, e.g. around a
        gateway resume), so it is answered once. The store's claim table, shared with
        Telegram's update ids, decides, so this holds across bot processes too. Discord takes
        one acknowledgement within 3 s, so a claimed interaction is marked done at once: a
        retry after a crash could not answer it anyway."""
        service = self.conversation.service
        if not await service.claim_update(PLATFORM, interaction.id):
            log.info("Discord interaction %d was delivered again; not answering it twice",
                     interaction.id)
            return False
        await service.finish_update(PLATFORM, interaction.id)
        return True

    async def run_command(self, interaction: discord.Interaction[Any], name: str,
                          arg: str = "", *, private: bool = False, footer: str = "") -> None:
        await interaction.response.defer(thinking=True, ephemeral=private)
        reply = await self.conversation.command(user_of(interaction), name, arg,
                                                where_of(interaction))
        await self.send(interaction, reply, thinking_private=private, footer=footer)

    async def run_file(self, interaction: discord.Interaction[Any],
                       attachment: discord.Attachment, *, playlist: bool,
                       said: str = "") -> None:
        """Check an attachment's size, name and type, read it into memory, check its first
        bytes (:mod:`moosic_core.attachments`), hand it over (a selfie with ``said``, the
        feeling typed with it)."""
        await interaction.response.defer(thinking=True, ephemeral=playlist)
        user = user_of(interaction)
        claim = claimed_kind(attachment.filename, attachment.content_type)
        if attachment.size > MAX_DOWNLOAD_BYTES:
            reply = Reply(replies.FILE_TOO_LARGE, private=playlist)
        elif claim == "other":  # its name and type agree it is neither (a PDF, a video)
            reply = Reply(PLAYLIST_WANTED, private=True) if playlist \
                else Reply(NotAnImage.user_message)
        else:
            try:
                data = await attachment.read()  # in memory only, never to disk
            except (discord.HTTPException, discord.NotFound):
                log.warning("attachment download failed")
                reply = Reply(DOWNLOAD_FAILED, private=playlist)
            else:
                kind = kind_of(data, attachment.filename, attachment.content_type)
                where = where_of(interaction)
                if playlist and kind != "playlist":
                    reply = Reply(PLAYLIST_WANTED, private=True)
                elif not playlist and kind != "image":
                    reply = Reply(NotAnImage.user_message)
                elif playlist:
                    name = attachment.filename
                    if not name.lower().endswith((".csv", ".txt")):
                        name = f"{name or 'playlist'}.csv"
                    reply = await self.conversation.document(user, data, name, where)
                else:
                    reply = await self.conversation.photo(user, data, where, said)
                del data
        await self.send(interaction, reply, thinking_private=playlist)

    async def on_action(self, interaction: discord.Interaction[Any], action: str) -> None:
        """A button press: acknowledge at once, then answer with a follow-up; another's
        button or a repeat press gets an ephemeral answer at once."""
        quick = await self.conversation.quick_answer(user_of(interaction), action,
                                                     where_of(interaction))
        if quick is not None:
            await interaction.response.send_message(quick.text, ephemeral=True)
            return
        await interaction.response.defer()
        await self.send(interaction, await self.conversation.button(
            user_of(interaction), action, where_of(interaction)))

    async def notify(self, chat_id: str, reply: Reply) -> None:
        """Post to a channel unprompted (a group round closed by its timer)."""
        kwargs: dict[str, Any] = {"embed": reply_embed(reply)}
        view = reply_view(reply)
        if view is not None:
            kwargs["view"] = view
        await self.get_partial_messageable(int(chat_id)).send(**kwargs)

    async def _on_command_error(self, interaction: discord.Interaction[Any],
                                error: app_commands.AppCommandError) -> None:
        log.error("command %s failed: %r", interaction.command and interaction.command.name,
                  error)
        text = "Sorry, something went wrong on my side. Please try again."
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)


def _states_a_mood(bot: MoosicDiscordBot, feeling: str) -> bool:
    """Whether ``feeling`` (typed into /mood's field) reads as a mood."""
    try:
        bot.conversation.service.stated_mood(feeling)
    except MoosicError:
        return False
    return True


def _bot(interaction: discord.Interaction[Any]) -> MoosicDiscordBot:
    client = interaction.client
    assert isinstance(client, MoosicDiscordBot)
    return client


def _commands() -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """The slash commands, usable in servers and in DMs with the bot."""
    contexts = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False)

    @app_commands.command(name="mood", description="Songs for your mood: attach a selfie, "
                                                   "or say how you feel")
    @app_commands.describe(selfie="a photo of your face (read in memory, never stored)",
                           feeling="happy, sad, calm, angry… or a number from 0 to 1")
    async def mood(interaction: discord.Interaction[Any],
                   selfie: discord.Attachment | None = None,
                   feeling: str | None = None) -> None:
        if selfie is not None and (not feeling or _states_a_mood(_bot(interaction), feeling)):
            await _bot(interaction).run_file(interaction, selfie, playlist=False,
                                             said=feeling or "")
        else:  # a feeling that is no mood gets /mood's explanation, also with a selfie
            await _bot(interaction).run_command(interaction, "mood", feeling or "")

    link = app_commands.Group(name="link", description="Tell me your music taste",
                              allowed_contexts=contexts)

    @link.command(name="spotify", description="Sign in with Spotify, or use a public profile")
    @app_commands.describe(address="a Spotify profile link or user id, or the address your "
                                   "browser ended on after signing in")
    async def link_spotify(interaction: discord.Interaction[Any],
                           address: str | None = None) -> None:
        await _bot(interaction).run_command(interaction, "link",
                                            f"spotify {address or ''}", private=True)

    @link.command(name="playlist", description="Use a playlist CSV (e.g. an exportify.app "
                                               "export) as your taste")
    @app_commands.describe(file="the playlist CSV")
    async def link_playlist(interaction: discord.Interaction[Any],
                            file: discord.Attachment) -> None:
        await _bot(interaction).run_file(interaction, file, playlist=True)

    @app_commands.command(name="group", description="A group round: songs for everyone in "
                                                    "this channel")
    @app_commands.describe(action="empty to start (lift: start one that lifts the mood); "
                                  "join, leave or done")
    async def group(interaction: discord.Interaction[Any], action: str = "") -> None:
        await _bot(interaction).run_command(interaction, "group", action)

    @app_commands.command(name="unlink", description="Disconnect Spotify (what: playlist or all "
                                                     "to drop your playlist too)")
    @app_commands.describe(what="spotify (the default), playlist, or all")
    async def unlink(interaction: discord.Interaction[Any], what: str = "") -> None:
        await _bot(interaction).run_command(interaction, "unlink", what, private=True)

    @app_commands.command(name="save", description="Keep your last list: a private playlist in "
                                                   "your Spotify, or a CSV file")
    @app_commands.describe(as_file="send the CSV file even when you signed in with Spotify")
    async def save(interaction: discord.Interaction[Any], as_file: bool = False) -> None:
        await _bot(interaction).run_command(interaction, "save", "file" if as_file else "",
                                            private=True)

    @app_commands.command(name="taste", description="What I know about your listening")
    async def taste(interaction: discord.Interaction[Any]) -> None:
        await _bot(interaction).run_command(interaction, "taste", private=True)

    @app_commands.command(name="discover", description="More songs by new artists, or more "
                                                       "by the artists you play")
    @app_commands.describe(level="more, less or default (empty: show the setting)")
    async def discover(interaction: discord.Interaction[Any], level: str = "") -> None:
        await _bot(interaction).run_command(interaction, "discover", level, private=True)

    @app_commands.command(name="forget", description="Delete everything I know about you")
    async def forget(interaction: discord.Interaction[Any]) -> None:
        await _bot(interaction).run_command(interaction, "forget", private=True)

    @app_commands.command(name="help", description="What Moo-Sic can do")
    async def help_(interaction: discord.Interaction[Any]) -> None:
        await _bot(interaction).run_command(interaction, "help", private=True,
                                            footer=HELP_FOOTER)

    commands: list[app_commands.Command[Any, ..., None] | app_commands.Group] = [
        mood, group, unlink, taste, discover, forget, help_, save]
    for command in commands:
        command.allowed_contexts = contexts
    return [*commands, link]


# --- the front-end --------------------------------------------------------------------------
def _worth_retrying(exc: BaseException) -> bool:
    """Network trouble and Discord's 5xx pass; a refused token (LoginFailure) does not."""
    return isinstance(exc, OSError | TimeoutError | aiohttp.ClientError
                      | discord.DiscordServerError | discord.GatewayNotFound)


class DiscordFrontEnd:
    """Starts and stops the Discord client for :func:`bot.frontends.serve`."""

    name = "discord"

    def __init__(self, conversation: Conversation, config: DiscordConfig,
                 startup: StartupConfig | None = None, **client_options: Any) -> None:
        if not config.token:
            raise ConfigError("The Discord bot needs a token: set MOOSIC_DISCORD_TOKEN "
                              "(or [discord] token in config.toml).")
        shard_count, shard_ids = discord_shards(config)  # ConfigError names the key
        self.config = config
        self.startup = startup or StartupConfig()
        self.client = MoosicDiscordBot(conversation, test_guild_id=config.test_guild_id,
                                       shard_count=shard_count, shard_ids=shard_ids,
                                       **client_options)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in (runs ``setup_hook``: command sync), connect, return once ready."""
        if self.config.api_url:
            use_api_base(self.config.api_url)
        try:
            try:
                await connect_with_retries("Discord", self._log_in, _worth_retrying,
                                           self.startup, cleanup=self._close_http)
            except discord.LoginFailure:
                raise token_refused("Discord", "discord.token") from None
            self._task = asyncio.create_task(self.client.connect(), name="discord-gateway")
            ready = asyncio.create_task(self.client.wait_until_ready())
            await asyncio.wait([self._task, ready], return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                ready.cancel()
                await self._task  # raises why the connection ended
                raise ConfigError("The Discord connection closed before it was ready.")
        except BaseException:
            await self.stop()  # close the HTTP session and the gateway task
            raise
        shards = sorted(self.client.shards)
        log.info("Discord: connected as %s (shard%s %s of %s)", self.client.user,
                 "s" if len(shards) > 1 else "", ",".join(map(str, shards)),
                 self.client.shard_count)

    async def _log_in(self) -> None:
        """Log in (REST: /users/@me, the command sync) and find the gateway."""
        await self.client.login(self.config.token)
        if self.config.api_url:
            await use_announced_gateway(self.client)

    async def _close_http(self) -> None:
        """Drop the half-open HTTP session of a failed login, so the next one starts clean."""
        await self.client.http.close()
        self.client.http.connector = discord.utils.MISSING

    def connected(self) -> bool:
        """Whether every shard's gateway session is up (False while discord.py reconnects
        one)."""
        shards = self.client.shards
        return (self.client.is_ready() and not self.client.is_closed() and bool(shards)
                and not any(shard.is_closed() for shard in shards.values()))

    async def finished(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        await self.client.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
