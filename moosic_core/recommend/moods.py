"""Turning what a user states (``/mood happy``, ``/mood 0.3``) into a mood reading."""

from __future__ import annotations

from moosic_core.errors import MoosicError
from moosic_core.types import MoodReading

#: Named moods: (mood score, energy).
NAMED_MOODS: dict[str, tuple[float, float | None]] = {
    "happy": (0.9, 0.7), "joyful": (0.95, 0.8), "excited": (0.85, 0.9),
    "calm": (0.65, 0.2), "relaxed": (0.7, 0.25), "neutral": (0.5, None),
    "sad": (0.1, 0.3), "down": (0.15, 0.3), "angry": (0.2, 0.9), "tired": (0.4, 0.1),
}


class BadMood(MoosicError):
    user_message = ("Tell me a mood as a word (" + ", ".join(NAMED_MOODS)
                    + ") or a number from 0 (sad) to 1 (happy), e.g. /mood 0.7")


def parse_mood(text: str) -> MoodReading:
    """Parse a stated mood; raises :class:`BadMood` with a helpful message."""
    word = text.strip().lower()
    if word in NAMED_MOODS:
        mood, energy = NAMED_MOODS[word]
        return MoodReading(mood_score=mood, energy=energy, source="stated")
    try:
        value = float(word.replace(",", "."))
    except ValueError:
        raise BadMood() from None
    if not 0.0 <= value <= 1.0:
        raise BadMood()
    return MoodReading(mood_score=value, source="stated")


def describe_mood(score: float) -> str:
    """A few words for a mood score."""
    if score >= 0.75:
        return "happy"
    if score >= 0.55:
        return "fairly cheerful"
    if score > 0.45:
        return "neutral"
    if score > 0.25:
        return "a bit down"
    return "sad"
