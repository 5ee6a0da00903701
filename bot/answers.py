"""Typed answers: what a chat message means when the bot asked something (yes/no, "I'm in").

Buttons are the sure way to answer; people type instead ("ok", "nope 👎", "I'm in"), and the
conversation reads those with :func:`yes_or_no` and :data:`JOIN_PHRASES`.
"""

from __future__ import annotations

import re

from moosic_core.text import without_emoji_modifiers

YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "yup", "ya", "yea", "yah", "yass", "sure",
                       "ok", "okay", "okey", "k", "kk", "agree", "agreed", "alright",
                       "allright", "fine", "course", "absolutely", "definitely", "certainly",
                       "confirm", "confirmed", "go", "ahead", "do", "it", "si", "oui", "ja",
                       "👍", "✅", "👌", "✔", "☑", "🆗", "🙆"})
NO_WORDS = frozenset({"no", "n", "nope", "nah", "nay", "cancel", "dont", "never", "stop",
                      "not", "now", "nevermind", "mind", "non", "nein", "👎", "❌", "🚫", "✖",
                      "🙅", "⛔"})
#: Words that go with either answer: "yes please", "no thank you".
POLITE_WORDS = frozenset({"please", "pls", "plz", "thanks", "thank", "thx", "ty", "you", "of",
                          "i", "👋", "🙂", "😊"})
_WEAK_YES = frozenset({"go", "ahead", "do", "it", "course"})  # only in these phrases:
_YES_PHRASES = frozenset({"go ahead", "do it", "course", "go"})
_WEAK_NO = frozenset({"now", "mind"})
_ANSWER_TOKEN = re.compile(r"[a-z']+|[^\sa-z'.,!?;:()\-]")

#: What people type to join an open group round (its button says "🙋 I'm in").
JOIN_PHRASES = frozenset({"im in", "i am in", "in", "me too", "count me in", "join", "🙋",
                          "im in 🙋", "🙋 im in", "me", "same"})


def words_of(text: str) -> str:
    """The message folded for matching: lower case, no apostrophes, punctuation or skin tones."""
    cleaned = without_emoji_modifiers(text).casefold().replace("’", "'").replace("'", "")
    return " ".join(_ANSWER_TOKEN.findall(cleaned))


def yes_or_no(text: str) -> bool | None:
    """A typed answer to a yes/no question: True, False, or None when it is neither.

    Words, case, punctuation and emoji (👍/👎, skin tones too) count: "Yes!", "ok sure",
    "nope", "no thanks", "👎🏽". A message with other words ("no idea what this is") is not an
    answer.
    """
    meaningful = [t for t in words_of(text).split() if t not in POLITE_WORDS]
    if not meaningful:
        return None
    phrase = " ".join(meaningful)
    if all(t in YES_WORDS for t in meaningful) and (
            any(t not in _WEAK_YES for t in meaningful) or phrase in _YES_PHRASES):
        return True
    if all(t in NO_WORDS for t in meaningful) and any(t not in _WEAK_NO for t in meaningful):
        return False
    return None
