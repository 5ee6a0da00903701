"""A local console chat over the same conversation as the bots (``make run`` without tokens).

Type the same commands as in Telegram; a path to an image stands for a photo, a path to a
``.csv`` for a playlist file; ``/like N`` and ``/dislike N`` press the 👍/👎 of song N;
buttons are shown as ``[label] (action)`` and can be pressed with ``/press action``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.conversation import Conversation, Reply, Where
from moosic_core.service import Suggestions
from moosic_core.types import UserRef

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
MAX_FILE_BYTES = 20 * 1024 * 1024


class ConsoleChat:
    """One console user talking to the conversation; ``send`` returns the reply text."""

    def __init__(self, conversation: Conversation, user: UserRef | None = None,
                 chat: str = "local", name: str = "you") -> None:
        self.conversation = conversation
        self.user = user or UserRef("console", "local")
        self.where = Where(chat, name)
        self.last: Reply | None = None
        self.last_list: Suggestions | None = None

    async def send(self, line: str) -> str:
        reply = await self._dispatch(line.strip())
        if reply is None:
            return ""
        self.last = reply
        if reply.suggestions is not None:
            self.last_list = reply.suggestions
        return render(reply)

    async def _dispatch(self, line: str) -> Reply | None:
        conv, user, where = self.conversation, self.user, self.where
        if not line:
            return None
        path = Path(line).expanduser()
        looks_like_file = path.suffix.lower() in (*IMAGE_SUFFIXES, ".csv")
        if looks_like_file and (path.is_file() or not line.startswith("/")):
            if not path.is_file():
                return Reply(f"No such file: {path}")
            if path.stat().st_size > MAX_FILE_BYTES:
                return Reply("That file is larger than 20 MB, the most a chat bot may receive.")
            data = path.read_bytes()
            if path.suffix.lower() == ".csv":
                return await conv.document(user, data, path.name, where)
            return await conv.photo(user, data, where)
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            if name in {"like", "dislike"}:
                return await self._feedback(name == "like", arg)
            if name == "press":
                return await conv.button(user, arg.strip(), where)
            return await conv.command(user, name, arg, where)
        return await conv.text(user, line) or Reply(
            "Send a path to a selfie, or a command such as /mood happy (see /help).")

    async def _feedback(self, like: bool, arg: str) -> Reply:
        suggestions = self.last_list
        try:
            index = int(arg) - 1
            item = suggestions.items[index] if suggestions else None
        except (ValueError, IndexError):
            item = None
        if item is None:
            return Reply("Use /like N or /dislike N with a number from the last list.")
        sign = "+" if like else "-"
        return await self.conversation.button(self.user, f"fb:{sign}:{item.track.track_id}")


def render(reply: Reply) -> str:
    """A reply as console text, with its link and buttons."""
    lines = [reply.text]
    if reply.link_url:
        lines.append(reply.link_url)
    actions = [b for row in reply.buttons for b in row if not b.action.startswith("fb:")]
    if actions:
        lines.append("  ".join(f"[{b.label}] (/press {b.action})" for b in actions))
    return "\n".join(lines)


async def run_console(conversation: Conversation, stdin: TextIO = sys.stdin,
                      stdout: TextIO = sys.stdout) -> None:
    """Read lines until EOF or /quit, answering each."""
    chat = ConsoleChat(conversation)

    async def notify(chat_id: str, reply: Reply) -> None:  # a group round closed on its timer
        stdout.write("\n" + render(reply) + "\n> ")
        stdout.flush()

    conversation.set_notifier("console", notify)
    stdout.write("Moo-Sic console chat. Type /help, a path to a selfie, or /quit.\n")
    loop = asyncio.get_running_loop()
    while True:
        stdout.write("> ")
        stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line or line.strip() in {"/quit", "/exit"}:
            break
        answer = await chat.send(line)
        if answer:
            stdout.write(answer + "\n")
