"""Turning what a user states (``/mood angry``, ``/mood very happy``, ``/mood 😌``, ``/mood 0.3``)
into a mood reading with two dimensions: mood (valence) and energy (arousal), both in [0, 1].

Word values come from the NRC Valence, Arousal, and Dominance Lexicon v1 (Saif M. Mohammad,
"Obtaining Reliable Human Ratings of Valence, Arousal, and Dominance for 20,000 English Words",
ACL 2018; https://saifmohammad.com/WebPages/nrc-vad.html). Its scores are best-worst-scaling
ratings already on 0..1 (0 = most negative / calmest, 1 = most positive / most excited), so the
values below are the lexicon's own, copied unchanged (valence, arousal). Only mood words are
kept; a few everyday words the table lacks borrow the entry of the word they mean
(:data:`SYNONYMS`, e.g. "sleepy" -> "drowsy"), and emoji borrow the entry of the feeling their
Unicode CLDR short name describes (:data:`EMOJI`, e.g. 😌 "relieved face" -> "relieved").

Modifiers (a design choice, not from the lexicon): intensifiers ("very", "so", "really") move a
word's point 1.5x further from the neutral middle (0.5, 0.5), softeners ("a bit", "kinda",
"-ish") halfway towards it. Negation ("not happy") multiplies the valence offset by -0.74, the
negation scalar of VADER (C. J. Hutto and E. Gilbert, "VADER: A Parsimonious Rule-based Model
for Sentiment Analysis of Social Media Text", ICWSM 2014), and halves the arousal offset.
Several mood words ("happy but tired") are averaged.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass

from moosic_core.errors import MoosicError
from moosic_core.text import without_emoji_modifiers
from moosic_core.types import MoodReading

#: NRC VAD v1 (Mohammad 2018): word -> (valence, arousal), values as published (0..1).
LEXICON: dict[str, tuple[float, float]] = {
    # positive, energetic
    "happy": (1.000, 0.735), "joyful": (0.990, 0.740), "cheerful": (0.990, 0.720),
    "cheery": (0.949, 0.657), "glad": (0.938, 0.760), "delighted": (0.938, 0.664),
    "excited": (0.908, 0.931), "thrilled": (0.898, 0.818), "elated": (0.792, 0.960),
    "ecstatic": (0.875, 0.769), "euphoric": (0.745, 0.904), "exhilarated": (0.890, 0.963),
    "energetic": (0.847, 0.868), "great": (0.958, 0.665),
    "fun": (0.918, 0.843), "jolly": (0.959, 0.705), "merry": (0.979, 0.731),
    "gleeful": (0.906, 0.806), "festive": (0.854, 0.740), "lucky": (0.960, 0.610),
    "strong": (0.912, 0.745), "vibrant": (0.771, 0.824), "surprised": (0.784, 0.855),
    "curious": (0.635, 0.600), "upbeat": (0.878, 0.531), "joy": (0.980, 0.824),
    "love": (1.000, 0.519), "loved": (0.927, 0.452), "fabulous": (0.979, 0.660),
    "bubbly": (0.698, 0.608), "giddy": (0.438, 0.847),
    # positive, quiet
    "calm": (0.875, 0.100), "relaxed": (0.865, 0.090), "chill": (0.837, 0.206),
    "serene": (0.802, 0.132), "tranquil": (0.917, 0.094), "mellow": (0.633, 0.069),
    "comfortable": (0.927, 0.163), "comfy": (0.930, 0.241), "relieved": (0.896, 0.314),
    "satisfied": (0.959, 0.510), "grateful": (0.958, 0.353), "thankful": (0.969, 0.344),
    "hopeful": (0.947, 0.357), "good": (0.938, 0.368),
    "nice": (0.930, 0.442), "dreamy": (0.837, 0.350), "refreshed": (0.910, 0.377),
    "rested": (0.792, 0.235), "easygoing": (0.823, 0.276), "unwind": (0.837, 0.181),
    # neutral
    "neutral": (0.469, 0.184), "normal": (0.740, 0.127), "meh": (0.380, 0.286),
    # negative, energetic
    "angry": (0.122, 0.830), "mad": (0.219, 0.873), "furious": (0.062, 0.953),
    "enraged": (0.083, 0.962), "irate": (0.188, 0.852), "annoyed": (0.104, 0.783),
    "irritated": (0.210, 0.816), "frustrated": (0.080, 0.651), "fuming": (0.240, 0.660),
    "hangry": (0.219, 0.794), "exasperated": (0.229, 0.816), "jealous": (0.173, 0.855),
    "anxious": (0.281, 0.875), "nervous": (0.235, 0.820), "stressed": (0.167, 0.740),
    "scared": (0.146, 0.828), "afraid": (0.010, 0.775), "frightened": (0.153, 0.817),
    "terrified": (0.090, 0.902), "restless": (0.219, 0.810), "jittery": (0.344, 0.856),
    "edgy": (0.281, 0.895), "uptight": (0.184, 0.716), "upset": (0.071, 0.680),
    "moody": (0.245, 0.811), "desperate": (0.083, 0.842), "distressed": (0.143, 0.771),
    "disgusted": (0.051, 0.773), "uneasy": (0.115, 0.598), "shaky": (0.260, 0.734),
    "hectic": (0.167, 0.811), "stuck": (0.153, 0.644), "lost": (0.199, 0.663),
    # negative, quiet
    "sad": (0.225, 0.333), "unhappy": (0.112, 0.500), "down": (0.208, 0.330),
    "depressed": (0.024, 0.445), "gloomy": (0.107, 0.410), "glum": (0.244, 0.337),
    "melancholy": (0.188, 0.260), "lonely": (0.250, 0.226), "lonesome": (0.281, 0.213),
    "heartbroken": (0.082, 0.551), "hopeless": (0.094, 0.298), "helpless": (0.104, 0.420),
    "disappointed": (0.071, 0.472), "discouraged": (0.220, 0.304), "dejected": (0.104, 0.654),
    "downhearted": (0.119, 0.461), "bummed": (0.296, 0.430), "low": (0.292, 0.220),
    "bored": (0.153, 0.167), "dull": (0.194, 0.120), "empty": (0.188, 0.183),
    "tired": (0.125, 0.317), "exhausted": (0.123, 0.423), "fatigued": (0.146, 0.433),
    "drained": (0.310, 0.441), "drowsy": (0.375, 0.180), "homesick": (0.436, 0.304),
    "crushed": (0.167, 0.647), "devastated": (0.120, 0.544), "defeated": (0.104, 0.582),
    "rejected": (0.102, 0.480), "embarrassed": (0.184, 0.560), "fedup": (0.327, 0.500),
    "crying": (0.153, 0.704), "tense": (0.396, 0.439), "unwell": (0.143, 0.640),
}

#: Everyday words missing from the table above -> the listed word with the same meaning.
#: "ok", "fine", "so-so" answer "how do you feel?" with neither good nor bad, so they borrow
#: "neutral" (NRC VAD's "fine", 0.823, rates the adjective of "a fine wine", not the answer).
SYNONYMS: dict[str, str] = {
    "ok": "neutral", "okay": "neutral", "alright": "neutral", "fine": "neutral",
    "soso": "neutral", "peaceful": "tranquil",
    "relaxing": "relaxed", "sleepy": "drowsy", "worried": "anxious", "worn": "exhausted",
    "grumpy": "irritated", "cranky": "irritated", "pissed": "angry", "livid": "furious",
    "pumped": "excited", "hyped": "excited", "hype": "excited", "stoked": "excited",
    "blue": "sad", "miserable": "unhappy", "content": "satisfied", "awesome": "great",
    "amazing": "great", "wonderful": "great", "fantastic": "great", "sick": "unwell",
    "ill": "unwell", "enthusiastic": "excited", "heartbreak": "heartbroken",
    "sorrowful": "sad", "cheerless": "gloomy", "relax": "relaxed", "chilled": "chill",
    "chilling": "chill", "zen": "serene", "nostalgic": "homesick", "sleep": "drowsy",
    "anger": "angry", "happiness": "happy", "sadness": "sad", "stress": "stressed",
    "fear": "afraid", "excitement": "excited", "boredom": "bored", "angery": "angry",
    "burnedout": "exhausted", "burntout": "exhausted", "stressedout": "stressed",
    "bad": "unhappy", "awful": "unhappy", "terrible": "unhappy", "horrible": "unhappy",
    "lousy": "unhappy", "crappy": "unhappy", "well": "good", "overwhelmed": "stressed",
    "better": "good", "best": "great", "worse": "unhappy", "worst": "unhappy",
    "motivated": "energetic", "hyper": "excited", "romantic": "love", "partying": "festive",
    "party": "festive", "lazy": "drowsy", "nostalgia": "homesick",
}

#: Emoji -> the word for the feeling their Unicode CLDR short name describes.
EMOJI: dict[str, str] = {
    "😀": "happy", "😃": "happy", "😄": "happy", "😁": "happy", "🙂": "good", "😊": "happy",
    "☺": "happy", "😆": "joyful", "😂": "joyful", "🤣": "joyful", "🥳": "festive",
    "🤩": "excited", "😍": "love", "🥰": "love", "❤": "love", "😎": "chill",
    "😌": "relieved", "😇": "calm", "🧘": "serene", "😴": "drowsy", "😪": "drowsy",
    "🥱": "tired", "😩": "exhausted", "😫": "exhausted", "😐": "neutral", "😑": "neutral",
    "😶": "neutral", "🙁": "unhappy", "☹": "unhappy", "😕": "disappointed",
    "😞": "disappointed", "😔": "dejected", "😢": "sad", "😭": "crying", "🥺": "sad",
    "💔": "heartbroken", "😟": "anxious", "😰": "anxious", "😥": "sad", "😨": "scared",
    "😱": "terrified", "😬": "nervous", "😖": "distressed", "😣": "distressed",
    "😡": "angry", "😠": "angry", "🤬": "furious", "😤": "frustrated", "👿": "angry",
    "🤯": "stressed", "🤒": "unwell", "🤢": "disgusted", "🤮": "disgusted",
    "🙃": "meh", "😒": "annoyed", "🥲": "sad", "🔥": "energetic", "⚡": "energetic",
    "🎉": "festive", "🎊": "festive", "🪩": "festive", "🕺": "festive", "💃": "festive",
    "😅": "nervous", "😓": "stressed", "😳": "embarrassed", "🥵": "exhausted",
    "🥶": "tense", "😵": "exhausted", "🤕": "unwell", "🤧": "unwell", "😷": "unwell",
    "🤗": "happy", "😘": "love", "😻": "love", "💕": "love", "💖": "love", "💗": "love",
    "😋": "happy", "🤪": "giddy", "😜": "fun", "😝": "fun", "😛": "fun", "🙌": "joyful",
    "✨": "happy", "🌞": "cheerful", "☀": "cheerful", "🌈": "hopeful", "💪": "strong",
    "🚀": "excited", "😮": "surprised", "😲": "surprised", "😯": "surprised",
    "😦": "anxious", "😧": "distressed", "😿": "sad", "🖤": "gloomy", "🌧": "gloomy",
    "☔": "gloomy", "💤": "drowsy", "😮‍💨": "relieved", "🫠": "exhausted", "🥹": "grateful",
    "🤔": "curious", "🫤": "meh", "😏": "good", "🤤": "dreamy",
    # 💀 "skull": in chat it means "I'm dying (of laughter)", so it reads as joyful.
    "💀": "joyful", "☠": "joyful",
}

#: Modifier words -> factor on the distance from the neutral middle.
INTENSIFIERS: dict[str, float] = {
    "very": 1.5, "really": 1.5, "so": 1.5, "super": 1.5, "extremely": 1.5, "incredibly": 1.5,
    "totally": 1.5, "absolutely": 1.5, "completely": 1.5, "utterly": 1.5, "too": 1.5,
    "mega": 1.5, "hella": 1.5, "insanely": 1.5, "deeply": 1.5, "truly": 1.5, "af": 1.5,
    "bit": 0.5, "little": 0.5, "slightly": 0.5, "kinda": 0.5, "kind": 0.5, "sorta": 0.5,
    "sort": 0.5, "somewhat": 0.5, "mildly": 0.5, "tad": 0.5, "ish": 0.5, "fairly": 0.75,
    "rather": 0.75, "pretty": 1.25, "quite": 1.25,
}
NEGATIONS = frozenset({"not", "no", "never", "nt", "aint", "hardly", "barely"})
#: Negation scalar of VADER (Hutto & Gilbert 2014, ``N_SCALAR = -0.74``).
NEGATION_SCALAR = -0.74
#: Words around a mood that carry no meaning of their own ("I'm feeling a bit ...").
FILLER = frozenset({"i", "im", "i'm", "am", "are", "is", "was", "be", "been", "being", "do",
                    "does", "did", "get", "getting", "got", "feel", "feels", "feeling",
                    "feelin", "felt", "me", "a", "an", "of", "and", "but", "today", "tonight",
                    "now", "rn", "right", "just", "like", "mood", "my", "the", "in", "at",
                    "also", "plus", "yet", "still", "all", "though", "lol", "lmao", "ugh",
                    "omg", "haha", "pls", "please", "songs", "music", "something", "for",
                    "with", "to", "it", "its", "bit"})
#: Two-word moods, read as one word.
PHRASES = {"fed up": "fedup", "burned out": "burnedout", "burnt out": "burntout",
           "stressed out": "stressedout", "worn out": "worn", "easy going": "easygoing",
           "so-so": "soso"}
#: Idioms whose "never"/"not" doesn't negate ("never been better") -> the word they mean;
#: each is read as one word (its letters joined) that borrows that word's entry.
IDIOMS = {"never been better": "great", "never felt better": "great", "never better": "great",
          "couldn't be better": "great", "could not be better": "great",
          "couldn't be worse": "unhappy", "could not be worse": "unhappy",
          "could be better": "meh", "could be worse": "neutral"}
for _idiom, _word in IDIOMS.items():
    _joined = re.sub(r"[^a-z]", "", _idiom)
    PHRASES[_idiom.replace("n't", " nt")] = _joined  # as _tokens spells it
    SYNONYMS[_joined] = _word
_SHOWN = {joined: phrase.replace(" nt", "n't") for phrase, joined in PHRASES.items()}
_WORD = re.compile(r"[a-z']+|\S")
_TYPO_CUTOFF = 0.8
MAX_LABEL = 40


class BadMood(MoosicError):
    user_message = ("Tell me how you feel in an English word or two (happy, calm, angry, "
                    "tired, a bit sad, 😌 …) or as a number from 0 (sad) to 1 (happy), "
                    "e.g. /mood 0.7")


class MoodOutOfRange(BadMood):
    """A number outside 0..1 (``150%``, ``1.5``, ``11/10``, ``-1``)."""

    user_message = ("Use a number from 0 (sad) to 1 (happy), e.g. /mood 0.7 — or 70%, or "
                    "7/10 — or tell me how you feel in a word or two.")


@dataclass(frozen=True)
class _Term:
    word: str
    shown: str
    factor: float
    negated: bool


def _number(text: str) -> float | None:
    """``0.3``, ``0,3``, ``30%`` or ``3/10`` as a mood score; None if not a number."""
    t = text.strip().replace(",", ".")
    try:
        if t.endswith("%"):
            return float(t[:-1]) / 100
        if "/" in t:
            num, _, den = t.partition("/")
            return float(num) / float(den)
        return float(t)
    except (ValueError, ZeroDivisionError):
        return None


def _canonical(token: str, typos: bool = True) -> str | None:
    """The lexicon word a token stands for (exact, synonym, simple inflection, or with
    ``typos`` a close misspelling)."""
    token = token.replace("'", "")
    squeezed = re.sub(r"(.)\1{2,}", r"\1", token)  # "happyyyy", "saaad"
    for candidate in (token, squeezed, re.sub(r"(.)\1{2,}", r"\1\1", token),
                      token.removesuffix("ish")):
        if candidate in LEXICON:
            return candidate
        if candidate in SYNONYMS:
            return SYNONYMS[candidate]
    if typos and len(token) >= 4:
        vocabulary = [*LEXICON, *SYNONYMS]
        close = difflib.get_close_matches(token, vocabulary, n=1, cutoff=_TYPO_CUTOFF)
        if close:
            return SYNONYMS.get(close[0], close[0])
    return None


def _tokens(text: str) -> list[str]:
    cleaned = without_emoji_modifiers(unicodedata.normalize("NFC", text)).lower()
    cleaned = cleaned.replace("’", "'").replace("n't", " nt")
    for phrase, joined in PHRASES.items():  # whole words only: "so so happy" stays
        pattern = re.escape(phrase).replace("\\ ", "[ -]")  # "fed up" or "fed-up"
        cleaned = re.sub(rf"(?<![\w-]){pattern}(?![\w-])", joined, cleaned)
    cleaned = cleaned.replace("-", " ")
    return _WORD.findall(cleaned)


def _terms(text: str, typos: bool = True) -> list[_Term]:
    """The mood terms of ``text`` with the modifiers before (or "-ish" after) each; ``typos``:
    whether a close misspelling of a mood word counts (see :func:`_canonical`)."""
    terms: list[_Term] = []
    factor, negated = 1.0, False
    for token in _tokens(text):
        word = token.strip("'")
        if token in EMOJI:
            word_for = EMOJI[token]
            terms.append(_Term(word_for, f"{word_for} {token}", factor, negated))
            factor, negated = 1.0, False
        elif word == "ish" and terms:
            last = terms[-1]
            terms[-1] = _Term(last.word, f"{last.shown}-ish", last.factor * 0.5, last.negated)
        elif word in NEGATIONS:
            negated = not negated
        elif word in INTENSIFIERS:
            # "not very happy" is a little unhappy, not very unhappy
            boost = INTENSIFIERS[word]
            factor *= 0.5 if negated and boost > 1 else boost
        elif word and word not in FILLER and any(c.isalpha() for c in word):
            canonical = _canonical(word, typos)
            if canonical is None:
                continue  # "happy birthday": the other words don't change the mood
            soft = word.endswith("ish") and canonical != word
            shown = _SHOWN.get(word, word if word in LEXICON or word in SYNONYMS else canonical)
            terms.append(_Term(canonical, shown + ("-ish" if soft else ""),
                               factor * (0.5 if soft else 1.0), negated))
            factor, negated = 1.0, False
    return terms


def _point(term: _Term) -> tuple[float, float]:
    valence, arousal = LEXICON[term.word]
    dv, da = valence - 0.5, arousal - 0.5
    if term.negated:
        dv, da = NEGATION_SCALAR * dv, 0.5 * da
    dv, da = term.factor * dv, term.factor * da
    return min(1.0, max(0.0, 0.5 + dv)), min(1.0, max(0.0, 0.5 + da))


def _label(text: str, terms: list[_Term]) -> str:
    """What the user said, tidied for a headline ("very happy", "not angry", "angry 😡")."""
    words = text.split()
    while words and words[0].lower().strip(",.!'") in {"i", "im", "i'm", "am", "feel",
                                                       "feeling", "feelin"}:
        words.pop(0)
    label = " ".join(words).strip(" .!,")
    if label and len(label) <= MAX_LABEL and all(t.shown.lower() in label.lower()
                                                 for t in terms):
        return label
    return " and ".join(dict.fromkeys(t.shown for t in terms))[:MAX_LABEL]


def parse_mood(text: str, *, typos: bool = True) -> MoodReading:
    """A stated mood -> a :class:`MoodReading` with ``mood_score`` (valence) and ``energy``
    (arousal) in [0, 1] and ``label`` (what the user said, for headlines).

    Accepts mood words with modifiers and emoji (see the module docstring) and numbers from 0
    (sad) to 1 (happy) (``0.3``, ``0,3``, ``30%``, ``3/10``; no energy, no label). Raises
    :class:`MoodOutOfRange` for a number outside 0..1 and :class:`BadMood`, whose message
    tells the user what works, for anything else. ``typos=False`` for text that was not
    written as a mood (a photo's caption): only mood words as written count, so "got hired"
    never becomes "tired".
    """
    value = _number(text)
    if value is not None:
        if not math.isfinite(value):  # "nan", "inf": not a mood anybody states
            raise BadMood()
        if not 0.0 <= value <= 1.0:
            raise MoodOutOfRange()
        return MoodReading(mood_score=value + 0.0, source="stated")  # -0 reads as 0
    terms = _terms(text, typos)
    if not terms:
        raise BadMood()
    points = [_point(t) for t in terms]
    valence = sum(p[0] for p in points) / len(points)
    arousal = sum(p[1] for p in points) / len(points)
    return MoodReading(mood_score=round(valence, 3), energy=round(arousal, 3), source="stated",
                       label=_label(text, terms))


def describe_mood(score: float) -> str:
    """A few words for a mood score that read after "feeling" or "looking": "a bit down"."""
    if score >= 0.75:
        return "happy"
    if score >= 0.55:
        return "fairly cheerful"
    if score > 0.45:
        return "neutral"
    if score > 0.25:
        return "a bit down"
    return "sad"


def describe_reading(mood: MoodReading) -> str:
    """How a headline names a mood: the user's own words, else words for the score."""
    return mood.label or describe_mood(mood.mood_score)
