"""A local console chat over the same conversation as the bots (``make run`` without tokens).

Type the same commands as in Telegram; a path to an image stands for a photo, a path to a
playlist CSV for a playlist file (quoted, backslash-escaped, ``~`` and ``file://`` paths as
terminals paste them all work); ``/like N`` and ``/dislike N`` press the 👍/👎 of song N;
yes/no questions take a typed yes or no; buttons are shown as ``[label] (action)`` and can be
pressed with ``/press action``. Ctrl-C, Ctrl-D (end of input) and ``/quit`` leave at once.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import shlex
import sys
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlparse

from bot import replies
from bot.conversation import Conversation, Reply, Where
from moosic_core.types import UserRef

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic",
                  ".heif")
PLAYLIST_SUFFIXES = (".csv", ".tsv", ".txt")
#: The first bytes of the image formats a selfie comes in (JPEG, PNG, GIF, WebP, BMP, TIFF).
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif")
NOT_READABLE = "That isn't a photo or a playlist I can read: {name}. " \
    "Send a selfie (JPEG, PNG, HEIC…) or a playlist CSV."
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}


def as_path(line: str) -> Path | None:
    """The file a line names, as terminals paste paths: quoted ('…' or "…"), with backslash-
    escaped spaces, ``~``, or a ``file://`` URL; None when the line isn't a path."""
    text = line.strip()
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
    if not text or not any(c in text for c in "/\\.~"):
        return None  # a plain word ("yes", "happy") is never a file
    path = Path(text).expanduser()
    first = text.split(maxsplit=1)[0]
    if path.exists():
        return path
    looks_like_command = first.startswith("/") and "/" not in first[1:] and "." not in first
    if looks_like_command:
        return None
    if text.startswith(("/", "~", "./", "../")) or "/" in first or "\\" in first \
            or path.suffix.lower() in (*IMAGE_SUFFIXES, *PLAYLIST_SUFFIXES):
        return path
    return None


def file_kind(name: str, head: bytes) -> str | None:
    """"photo", "playlist" or None, from a file's name and its first bytes."""
    if head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP") \
            or (head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS):
        return "photo"
    if name.lower().endswith(IMAGE_SUFFIXES):
        return "photo"  # damaged or unusual: the photo reader says what is wrong
    try:
        first_line = head.decode("utf-8-sig").splitlines()[0] if head.strip() else ""
    except UnicodeDecodeError:
        try:
            first_line = head.decode("utf-16").splitlines()[0]
        except (UnicodeDecodeError, IndexError):
            return None
    if "\x00" not in first_line and any(sep in first_line for sep in ",;\t"):
        return "playlist"
    return None


class ConsoleChat:
    """One console user talking to the conversation; ``send`` returns the reply text."""

    def __init__(self, conversation: Conversation, user: UserRef | None = None,
                 chat: str = "local", name: str = replies.YOU) -> None:
        self.conversation = conversation
        self.user = user or UserRef("console", "local")
        self.where = Where(chat, name)
        self.last: Reply | None = None

    async def send(self, line: str) -> str:
        reply = await self._dispatch(line.strip())
        if reply is None:
            return ""
        self.last = reply
        return render(reply)

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
            return await conv.command(user, name, arg, where)
        return await conv.text(user, line, where) or Reply(
            "Type a path to a selfie, or a command such as /mood happy (see /help).")

    async def _file(self, path: Path) -> Reply:
        conv, user, where = self.conversation, self.user, self.where
        if not path.exists():
            return Reply(f"No such file: {path}")
        if not path.is_file():
            return Reply(NOT_READABLE.format(name=f"{path} is a folder"))
        if path.stat().st_size > replies.MAX_FILE_BYTES:
            return Reply(replies.FILE_TOO_LARGE)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Reply(f"I can't open {path}: {exc.strerror or exc}.")
        kind = file_kind(path.name, data[:4096])
        if kind == "photo":
            return await conv.photo(user, data, where)
        if kind == "playlist":
            name = path.name if path.suffix.lower() in PLAYLIST_SUFFIXES else f"{path.name}.csv"
            return await conv.document(user, data, name, where)
        return Reply(NOT_READABLE.format(name=path.name))


def render(reply: Reply) -> str:
    """A reply as console text, with its link and buttons."""
    lines = [reply.text]
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
            answer = await chat.send(line)
            if answer:
                stdout.write(answer + "\n")
    finally:
        reader.close()
        with contextlib.suppress(Exception):
            stdout.write("\nBye.\n")
            stdout.flush()
