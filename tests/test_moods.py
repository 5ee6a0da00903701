"""Stated moods have two dimensions (issue 30): words, modifiers, emoji and numbers."""

from __future__ import annotations

import pytest

from bot.answers import yes_or_no
from moosic_core.recommend.moods import (
    EMOJI,
    LEXICON,
    SYNONYMS,
    BadMood,
    MoodOutOfRange,
    describe_mood,
    parse_mood,
)


def test_the_quadrants_of_the_circumplex() -> None:
    angry, calm, tired = parse_mood("angry"), parse_mood("calm"), parse_mood("tired")
    happy, sad, excited = parse_mood("happy"), parse_mood("sad"), parse_mood("excited")
    assert angry.mood_score < 0.3 and angry.energy is not None and angry.energy > 0.7
    assert calm.mood_score > 0.7 and calm.energy is not None and calm.energy < 0.3
    assert tired.energy is not None and tired.energy < 0.4
    assert happy.mood_score > 0.9 and sad.mood_score < 0.3
    assert excited.energy is not None and excited.energy > angry.energy - 0.1 > calm.energy
    assert angry.label == "angry" and calm.source == "stated"


def test_values_are_the_lexicons_and_every_alias_resolves() -> None:
    assert parse_mood("angry").mood_score == LEXICON["angry"][0] == 0.122  # NRC VAD v1
    assert all(0.0 <= v <= 1.0 and 0.0 <= a <= 1.0 for v, a in LEXICON.values())
    assert all(word in LEXICON for word in SYNONYMS.values())
    assert all(word in LEXICON for word in EMOJI.values())
    assert len(LEXICON) + len(SYNONYMS) >= 60


def test_intensifiers_softeners_and_negation() -> None:
    happy, sad = parse_mood("happy"), parse_mood("sad")
    very = parse_mood("very happy")
    bit = parse_mood("a bit sad")
    assert very.energy is not None and happy.energy is not None and very.energy > happy.energy
    assert sad.mood_score < bit.mood_score < 0.5
    assert parse_mood("happy-ish").mood_score < happy.mood_score
    assert parse_mood("not happy").mood_score < 0.3
    assert 0.2 < parse_mood("not very happy").mood_score < 0.5
    assert parse_mood("I'm not angry").mood_score > 0.5
    assert parse_mood("I don't feel happy").mood_score < 0.3
    assert parse_mood("very happy").label == "very happy"


@pytest.mark.parametrize(("said", "word"), [
    ("😀", "happy"), ("😢", "sad"), ("😡", "angry"), ("😌", "relieved"), ("😴", "drowsy"),
    ("🤬", "furious"), ("😊", "happy"), ("😡😡", "angry"),
])
def test_emoji(said: str, word: str) -> None:
    reading = parse_mood(said)
    assert (reading.mood_score, reading.energy) == LEXICON[word]
    assert reading.label is not None and said[0] in reading.label and word in reading.label


@pytest.mark.parametrize(("said", "word"), [
    ("Happy", "happy"), ("hapy", "happy"), ("exited", "excited"), ("angyr", "angry"),
    ("saaaad", "sad"), ("HAPPYYYY!!!", "happy"), ("feeling relaxed.", "relaxed"),
    ("sleepy", "drowsy"), ("worried", "anxious"), ("stressed out", "stressed"),
    ("fed up", "fedup"), ("ok", "neutral"),
])
def test_typos_inflections_and_everyday_words(said: str, word: str) -> None:
    reading = parse_mood(said)
    assert (reading.mood_score, reading.energy) == LEXICON[word]


def test_two_moods_are_averaged_and_named() -> None:
    both = parse_mood("happy but tired")
    happy, tired = LEXICON["happy"], LEXICON["tired"]
    assert both.mood_score == pytest.approx((happy[0] + tired[0]) / 2, abs=1e-3)
    assert both.label == "happy but tired"


@pytest.mark.parametrize(("said", "score"), [("0.3", 0.3), ("0,7", 0.7), ("30%", 0.3),
                                             ("3/10", 0.3), ("1", 1.0), ("0", 0.0)])
def test_numbers_still_work(said: str, score: float) -> None:
    reading = parse_mood(said)
    assert reading.mood_score == pytest.approx(score)
    assert reading.energy is None and reading.label is None


@pytest.mark.parametrize("said", ["purple monkey", "1.7", "-1", "", "150%", "👍", "nan"])
def test_what_is_not_a_mood(said: str) -> None:
    with pytest.raises(BadMood) as caught:
        parse_mood(said)
    assert "0 (sad) to 1 (happy)" in caught.value.user_message


@pytest.mark.parametrize("said", ["1.7", "-1", "150%", "11/10", "1.5", "-0.2", "101%", "2"])
def test_a_number_outside_0_to_1_is_told_the_range(said: str) -> None:
    with pytest.raises(MoodOutOfRange) as caught:
        parse_mood(said)
    assert "Use a number from 0 (sad) to 1 (happy)" in caught.value.user_message


@pytest.mark.parametrize("said", ["-0", "-0.0", "-0%", "0"])
def test_minus_zero_is_zero(said: str) -> None:
    score = parse_mood(said).mood_score
    assert score == 0.0 and f"{score:.2f}" == "0.00"


@pytest.mark.parametrize("said", ["ok", "okay", "fine", "I'm fine", "alright", "so-so",
                                  "OK", "fine I guess", "ok-ish"])
def test_ok_and_fine_are_near_neutral(said: str) -> None:
    assert describe_mood(parse_mood(said).mood_score) == "neutral"


@pytest.mark.parametrize(("said", "happy"), [
    ("never been better", True), ("I've never felt better", True), ("couldn't be better", True),
    ("could not be better", True), ("couldn't be worse", False), ("not happy", False),
    ("never happy", False), ("so so happy", True), ("fed-up", False),
])
def test_idioms_whose_never_or_not_does_not_negate(said: str, happy: bool) -> None:
    assert (parse_mood(said).mood_score > 0.6) is happy


@pytest.mark.parametrize(("said", "happy"), [("🎉🎉", True), ("💀", True), ("🎊", True),
                                             ("😅", False), ("🤕", False), ("🤗", True)])
def test_more_emoji(said: str, happy: bool) -> None:
    assert (parse_mood(said).mood_score > 0.6) is happy


@pytest.mark.parametrize("said", ["triste", "glücklich", "悲しい"])
def test_other_languages_are_told_english_words_work(said: str) -> None:
    with pytest.raises(BadMood) as caught:
        parse_mood(said)
    assert "English word" in caught.value.user_message


@pytest.mark.parametrize("text", ["yes", "Yes!", "YES PLEASE", "ok", "Okay.", "sure", "yep",
                                  "y", "👍", "👍🏽", "✅", "ok sure", "of course", "I agree",
                                  "yes, thank you", "go ahead", "do it"])
def test_yes(text: str) -> None:
    assert yes_or_no(text) is True


@pytest.mark.parametrize("text", ["no", "No.", "nope", "nah", "no thanks", "no thank you",
                                  "👎", "👎🏿", "❌", "cancel", "NO!!", "not now", "never mind"])
def test_no(text: str) -> None:
    assert yes_or_no(text) is False


@pytest.mark.parametrize("text", ["", "hello", "no idea what this is", "yes and no",
                                  "/mood happy", "maybe", "thanks", "ok but what is it", "now"])
def test_neither(text: str) -> None:
    assert yes_or_no(text) is None


@pytest.mark.parametrize("caption", ["just got hired!!", "engaged!!", "passed my exam",
                                     "me at the beach"])
def test_a_caption_counts_only_mood_words_as_written(caption: str) -> None:
    """A photo's caption was not written as a mood: no typo correction ("hired" is not
    "tired", "engaged" not "enraged")."""
    with pytest.raises(BadMood):
        parse_mood(caption, typos=False)
    assert parse_mood("so tired", typos=False).label == "so tired"
    assert parse_mood("feeling saaad 😢", typos=False).mood_score < 0.3
