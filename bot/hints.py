"""The service's hints worded in the chat bots' own commands (Telegram, Discord, console)."""

from __future__ import annotations

from moosic_core.service import HintWords

CHAT_HINTS = HintWords(
    link_taste="Link your music with /link spotify (or send a playlist CSV) and I'll pick "
               "from the genres you love.",
    try_lift="Want to feel better? Try \"lift my mood\" (/lift): songs that start where you "
             "are and get happier step by step.",
)
