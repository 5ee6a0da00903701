"""A local console chat over the same conversation as the bots (``make run`` without tokens).

Type the same commands as in Telegram; a path to an image stands for a photo, a path to a
playlist CSV for a playlist file (quoted, backslash-escaped, ``~`` and ``file://`` paths as
terminals paste them all work); ``/like N`` and ``/dislike N`` press the 👍/👎 of song N;
yes/no questions take a typed yes or no; buttons are shown as ``[label] (action)`` and can be
pressed with ``/press action``. ``/save`` keeps the last list (the user's Spotify when signed
in, else a CSV file written in the current folder); ``/save PATH`` writes it as CSV to PATH.
Ctrl-C, Ctrl-D (end of input) and ``/quit`` leave at once.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import mimetypes
import os
import secrets
import shlex
import sys
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlparse

from bot import replies
from bot.conversation import Conversation, Reply, ReplyFile, Where
from bot.hints import CONSOLE
from moosic_core.attachments import (
    HEAD_BYTES,
    IMAGE_SUFFIXES,
    PLAYLIST_SUFFIXES,
    claimed_kind,
    kind_of,
)
from moosic_core.errors import MoosicError, NotAnImage
from moosic_core.types import UserRef

log = logging.getLogger(__name__)

NOT_READABLE = "That isn't a photo or a playlist I can read: {name}. " \
    "Send a selfie (JPEG, PNG, HEIC…) or a playlist CSV."
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
#: The answer when handling a line failed unexpectedly (the chat goes on; details in the log).
LINE_FAILED = ("Sorry, something went wrong with that line (error id {error_id}). Please try "
               "again, or /help.")
#: A plain line that is neither an answer, a path nor a mood.
TYPE_HINT = "Type a path to a selfie, or a command such as /mood happy (see /help)."


def _exists(path: Path) -> bool:
    """``path.exists()`` that is False, not an error, for names no file can have (too long,
    a NUL byte, a name the system refuses)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _is_dir(path: Path) -> bool:
    """``path.is_dir()``, False (not an error) for a name no folder can have."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def as_path(line: str) -> Path | None:
    """The file a line names, as terminals paste paths: quoted ('…' or "…"), with backslash-
    escaped spaces, ``~``, or a ``file://`` URL; None when the line isn't a path."""
    text = line.strip()
    try:
        if text.startswith("file://"):
            return Path(unquote(urlparse(text).path))
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return Path(text[1:-1]).expanduser()
        if "\\ " in text or "\\(" in text:
            try:
                parts = shlex.split(text)
            except ValueError:
                parts = []
            if len(parts) == 1:
                return Path(parts[0]).expanduser()
    except (RuntimeError, ValueError):  # "~nobody/x" (no such home), a malformed URL
        return None
    if not text or not any(c in text for c in "/\\.~"):
        return None  # a plain word ("yes", "happy") is never a file
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~nobody/...": no such user's home, so no such file
        return Path(text)
    first = text.split(maxsplit=1)[0]
    if _exists(path):
        return path
    looks_like_command = first.startswith("/") and "/" not in first[1:] and "." not in first
    if looks_like_command:
        return None
    if text.startswith(("/", "~", "./", "../")) or "/" in first or "\\" in first \
            or path.suffix.lower() in (*IMAGE_SUFFIXES, *PLAYLIST_SUFFIXES):
        return path
    return None


def file_kind(name: str, head: bytes) -> str | None:
    """"photo", "playlist" or None, from a file's name and its first bytes: the rules every
    adapter uses (:mod:`moosic_core.attachments`), with the type a chat app would declare
    guessed from the name: a name that says it is something else (``cv.pdf``) is neither,
    else the bytes decide."""
    mime = mimetypes.guess_type(name, strict=False)[0]
    if claimed_kind(name, mime) == "other":
        return None
    kind = kind_of(head[:HEAD_BYTES], name, mime)
    return {"image": "photo", "playlist": "playlist"}.get(kind or "")


class SaveRefused(Exception):
    """``/save PATH`` names a place the list can't go: its ``str`` says why, in user words."""


def check_save_target(target: Path) -> None:
    """Refuse a ``/save PATH`` before anything is saved: an existing file (never overwritten),
    a folder that doesn't exist. Raises :class:`SaveRefused`."""
    if _is_dir(target):
        return
    if os.path.lexists(target):  # a file, or a link (even a dangling one); never raises
        raise SaveRefused(f"{target} already exists and I never overwrite your files. "
                          "Use /save with a new file name, or a folder.")
    if not _is_dir(target.parent):
        raise SaveRefused(f"There's no folder {target.parent}. Use /save with a path in a "
                          "folder that exists.")


def write_file(file: ReplyFile, target: Path | None, folder: Path) -> Path:
    """Write a reply's file: to ``target`` (a new file, or a folder to put it in), else into
    ``folder``. An existing file is never overwritten: in a folder a number is added to the
    name ("songs (2).csv"); a ``target`` file that exists raises FileExistsError. Returns the
    path written; raises OSError."""
    if target is not None and not _is_dir(target):
        with target.open("xb") as out:  # "x": fails if it exists, even if it just appeared
            out.write(file.data)
        return target
    where = target if target is not None else folder
    path = where / file.name
    stem, suffix, n = path.stem, path.suffix, 1
    while True:
        try:
            with path.open("xb") as out:
                out.write(file.data)
            return path
        except FileExistsError:
            n += 1
            path = where / f"{stem} ({n}){suffix}"


class ConsoleChat:
    """One console user talking to the conversation; ``send`` returns the reply text.

    Files that come with replies (a saved list) are written into ``folder`` (the current
    directory by default) or where ``/save PATH`` says.
    """

    def __init__(self, conversation: Conversation, user: UserRef | None = None,
                 chat: str = "local", name: str = replies.YOU,
                 folder: Path | None = None) -> None:
        self.conversation = conversation
        self.user = user or UserRef("console", "local")
        self.where = Where(chat, name)
        self.folder = folder
        self.last: Reply | None = None
        self._save_to: Path | None = None

    async def send(self, line: str) -> str:
        self._save_to = None
        reply = await self._dispatch(line.strip())
        if reply is None:
            return ""
        self.last = reply
        text = render(reply)
        if reply.file is not None:
            try:
                path = write_file(reply.file, self._save_to, self.folder or Path.cwd())
            except OSError as exc:  # nothing was saved: say only that, not "Here's the file"
                where = self._save_to or self.folder or Path.cwd()
                return (f"I couldn't write the list to {where}: {exc.strerror or exc}. "
                        "Nothing was saved; try /save with another path.")
            text += f"\nSaved to {path.resolve()}"
        return text

    async def _dispatch(self, line: str) -> Reply | None:
        conv, user, where = self.conversation, self.user, self.where
        if not line:
            return None
        path = as_path(line)
        if path is not None:
            return await self._file(path)
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            name = name.lower()
            if name in {"help", "start"}:
                return Reply(replies.CONSOLE_HELP)
            if name == "press":
                return await conv.button(user, arg.strip(), where)
            if name == "save" and arg.strip() and arg.strip().lower() not in {"file", "csv"}:
                target = save_path(arg)  # a path: the list as a file, there
                try:
                    check_save_target(target)
                except SaveRefused as refused:
                    return Reply(str(refused))
                self._save_to = target
                return await conv.command(user, name, "file", where)
            return await conv.command(user, name, arg, where)
        answer = await conv.text(user, line, where)
        if answer is not None:
            return answer
        if self._is_mood(line):  # "happy", "a bit tired", "0.3": the console's /mood
            return await conv.command(user, "mood", line, where)
        return Reply(TYPE_HINT)

    def _is_mood(self, line: str) -> bool:
        try:
            self.conversation.service.stated_mood(line)
        except MoosicError:
            return False
        return True

    async def _file(self, path: Path) -> Reply:
        conv, user, where = self.conversation, self.user, self.where
        if not _exists(path):
            return Reply(f"No such file: {path}")
        try:
            if not path.is_file():
                return Reply(NOT_READABLE.format(name=f"{path} is a folder"))
            if path.stat().st_size > replies.MAX_FILE_BYTES:
                return Reply(replies.FILE_TOO_LARGE)
            data = path.read_bytes()
        except OSError as exc:
            return Reply(f"I can't open {path}: {exc.strerror or exc}.")
        kind = file_kind(path.name, data)  # the rules of the Telegram and Discord adapters
        if kind == "photo":
            return await conv.photo(user, data, where)
        if kind == "playlist":
            name = path.name if path.suffix.lower() in PLAYLIST_SUFFIXES else f"{path.name}.csv"
            return await conv.document(user, data, name, where)
        if claimed_kind(path.name, None) == "image":  # called a photo, but isn't one
            return Reply(NotAnImage.user_message)
        return Reply(NOT_READABLE.format(name=path.name))


def save_path(text: str) -> Path:
    """The path ``/save PATH`` names, written as terminals paste paths (see :func:`as_path`)."""
    return as_path(text) or Path(text.strip()).expanduser()


def render(reply: Reply) -> str:
    """A reply as console text, with its link and buttons."""
    lines = [CONSOLE.apply(reply.text)]
    if reply.link_url:
        lines.append(reply.link_url)
    actions = [b for row in reply.buttons for b in row if not b.action.startswith("fb:")]
    if actions:
        lines.append("  ".join(f"[{b.label}] (/press {b.action})" for b in actions))
    return "\n".join(lines)


class LineReader:
    """Lines from a text stream that a Ctrl-C can interrupt at once.

    Where the event loop can watch the stream's file descriptor (a terminal or a pipe on
    POSIX) the lines are read without a thread, so cancelling a wait leaves nothing blocked
    behind; elsewhere (Windows, files, in-memory streams) ``readline`` runs in a thread.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._fd: int | None = None
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        loop = asyncio.get_running_loop()
        try:
            fd = stream.fileno()
            loop.add_reader(fd, self._readable)
        except (AttributeError, OSError, ValueError, NotImplementedError, RuntimeError):
            return  # io.UnsupportedOperation is an OSError; regular files can't be watched
        self._fd = fd

    def _readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # end of input (Ctrl-D)
            self._partial += self._decoder.decode(b"", final=True)
            if self._partial:
                self._lines.put_nowait(self._partial)
            self._partial = ""
            self._lines.put_nowait("")
            self.close()
            return
        self._partial += self._decoder.decode(data)
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self._lines.put_nowait(line + "\n")

    async def readline(self) -> str:
        """The next line with its newline; "" at the end of input."""
        if self._fd is None and self._lines.empty():
            return await asyncio.get_running_loop().run_in_executor(None, self.stream.readline)
        return await self._lines.get()

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._fd)
            self._fd = None


async def answer_line(chat: ConsoleChat, line: str) -> str:
    """The answer to one typed line; an unexpected failure is logged with an id and answered
    in words, so one bad line never ends the chat."""
    try:
        return await chat.send(line)
    except Exception:
        error_id = secrets.token_hex(4)
        log.exception("console line failed (error id %s)", error_id)
        return LINE_FAILED.format(error_id=error_id)


async def run_console(conversation: Conversation, stdin: TextIO = sys.stdin,
                      stdout: TextIO = sys.stdout) -> None:
    """Read lines until end of input or /quit, answering each; cancelling it (Ctrl-C) stops
    the wait for input at once."""
    chat = ConsoleChat(conversation)

    async def notify(chat_id: str, reply: Reply) -> None:  # a group round closed on its timer
        stdout.write("\n" + render(reply) + "\n> ")
        stdout.flush()

    conversation.set_notifier("console", notify)
    stdout.write("Moo-Sic console chat. Type /help, a path to a selfie, or /quit "
                 "(Ctrl-C also leaves).\n")
    reader = LineReader(stdin)
    try:
        while True:
            stdout.write("> ")
            stdout.flush()
            line = await reader.readline()
            if not line or line.strip().lower() in QUIT_WORDS:
                break
            answer = await answer_line(chat, line)
            if answer:
                stdout.write(answer + "\n")
    finally:
        reader.close()
        with contextlib.suppress(Exception):
            stdout.write("\nBye.\n")
            stdout.flush()
