"""The service's hints worded in the chat bots' own commands (Telegram, Discord, console)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from moosic_core.service import HintWords

CHAT_HINTS = HintWords(
    link_taste="Link your music with /link spotify (or send a playlist CSV) and I'll pick "
               "from the genres you love.",
    try_lift="Want to feel better? Try \"lift my mood\" (/lift): songs that start where you "
             "are and get happier step by step.",
)


@dataclass(frozen=True)
class PlatformWords:
    """What people can do on one chat platform, in the phrases the shared texts use.

    The shared texts (:mod:`bot.replies`, the hints, the service's errors) are worded for a chat
    where the bot reads typed words and files (Telegram, the console): each field's default is
    the exact phrase they contain. A platform where the bot sees only slash commands, their
    options and button presses (Discord, with the guilds intent only) gives its own phrases, and
    its adapter passes every text through :meth:`apply` before sending it.
    """

    #: After a yes/no question: how to answer it.
    yes_or_no: str = "(yes or no)"
    #: Before a question asked again, when the answer was neither yes nor no.
    answer_again: str = "Please answer yes or no (or press a button)."
    #: How to add a playlist file as one's taste (two forms, as the texts use them).
    send_playlist: str = "send a playlist CSV"
    send_me_playlist: str = "send me a playlist CSV"
    #: How to send a selfie (two forms, as the texts use them).
    send_me_selfie: str = "Send me a selfie"
    send_selfie: str = "Send a selfie"
    #: Where to paste the address the Spotify sign-in ends on.
    paste_here: str = "paste it here"
    #: How to join an open group round.
    join_round: str = ("reply to the round message with a selfie (or a group photo) or \"I'm in\", "
                       "press 🙋 I'm in, or use /mood <how you feel>")

    def apply(self, text: str) -> str:
        """``text`` with each typed-chat phrase replaced by this platform's own."""
        for field in dataclasses.fields(self):
            typed, own = getattr(TYPED, field.name), getattr(self, field.name)
            if typed != own:
                text = text.replace(typed, own)
        return text


#: Telegram and the console: the bot reads typed words and files.
TYPED = PlatformWords()
#: Discord: only slash commands, their options (files too) and buttons reach the bot.
BUTTONS_ONLY = PlatformWords(
    yes_or_no="(press a button)",
    answer_again="Please press one of the buttons.",
    send_playlist="/link playlist file:<csv>",
    send_me_playlist="use /link playlist file:<csv>",
    send_me_selfie="Send me a selfie with /mood selfie:",
    send_selfie="Send a selfie with /mood selfie:",
    paste_here="paste it with /link spotify address:…",
    join_round="press 🙋 I'm in, or use /mood feeling:<how you feel> or "
               "/mood selfie:<photo>",
)
#: The console: one user typing; files are paths typed at the prompt.
CONSOLE = PlatformWords(
    send_playlist="type the path of a playlist CSV",
    send_me_playlist="type the path of a playlist CSV",
    send_me_selfie="Type the path of a selfie",
    send_selfie="Type the path of a selfie",
    join_round="type \"I'm in\" or use /mood <how you feel>; others can't join here",
)
