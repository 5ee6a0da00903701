"""Normalising artist names and titles so that different sources can be matched."""

from __future__ import annotations

import re
import unicodedata

_BRACKETS = re.compile(r"\(.*?\)|\[.*?\]")
_SUFFIX = re.compile(r"\s+-\s+.*$")  # " - Remastered 2011", " - Live", " - Acoustic"
_FEAT = re.compile(r"\s+(feat\.?|featuring|ft\.?)\s+.*$")
_LEADING_THE = re.compile(r"^the\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z\u0080-\uffff]+")
_EMOJI_MODIFIERS = re.compile("[\ufe0f\u200d\U0001F3FB-\U0001F3FF]")


def _fold(text: str) -> str:
    """Lower-case, strip accents (keep non-Latin scripts), ``&`` -> ``and``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().replace("&", " and ")


def normalize_artist(name: str) -> str:
    """A key for an artist name: ``"The Beatles"`` and ``"beatles"`` match."""
    folded = _LEADING_THE.sub("", _fold(name).strip())
    return _NON_ALNUM.sub("", folded)


def normalize_title(title: str) -> str:
    """A key for a song title without versions: ``"Help! - Remastered 2009"`` -> ``"help"``."""
    folded = _fold(title).strip()
    folded = _SUFFIX.sub("", _BRACKETS.sub("", folded))
    folded = _FEAT.sub("", folded)
    key = _NON_ALNUM.sub("", folded)
    return key or _NON_ALNUM.sub("", _fold(title))


def split_artists(artists: str, separators: str = ";") -> list[str]:
    """Split a multi-artist field (``"A;B"``) into trimmed names."""
    return [a.strip() for a in re.split(f"[{re.escape(separators)}]", artists) if a.strip()]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: ``count(1, "track")`` -> ``"1 track"``,
    ``count(3, "person", "people")`` -> ``"3 people"``."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def without_emoji_modifiers(text: str) -> str:
    """``text`` without emoji variation selectors, joiners and skin tones: "👍🏽" -> "👍"."""
    return _EMOJI_MODIFIERS.sub("", text)
