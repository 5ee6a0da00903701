"""Platform-neutral reply texts: help, consent, suggestions, taste. Adapters add markup."""

from __future__ import annotations

from moosic_core.recommend.group import GroupList
from moosic_core.recommend.moods import describe_mood
from moosic_core.recommend.ranking import Mode
from moosic_core.service import Suggestions
from moosic_core.types import MoodReading, TasteProfile

HELP = """\
I'm Moo-Sic. Send me a selfie and I'll suggest songs that fit your mood, from the genres you \
like.

/mood happy|sad|calm|… or a number 0..1 — songs for a mood you tell me (no photo)
/link spotify — sign in with Spotify so I know your taste
/link spotify <user id or profile link> — use a public Spotify profile
send a playlist CSV (Exportify export) — use it as your taste
/taste — what I know about your listening
/discover more|less|default — more songs by new artists, or more by the artists you play
/unlink — disconnect Spotify   /forget — delete everything about you
In a group: /group (or /blend) starts a group round: join with a selfie, /mood or "I'm in";
/group done closes it, /group leave leaves it, /group lift starts one that lifts the mood."""

CONSENT = """\
Before I read the mood on your face: your photo is analysed in memory only, never stored and \
never logged, and only to suggest music. Face-based emotion reading is imperfect, so treat it \
as a playful guess. Do you agree?"""

CONSENT_THANKS = "Thanks! Send me a selfie whenever you like."


def suggestions_text(s: Suggestions, *, with_links: bool = True) -> str:
    """A numbered list with a short "why" per song."""
    if s.mood.source == "face":
        extra = f" ({len(s.mood.faces)} faces: I used the largest)" if len(s.mood.faces) > 1 \
            else ""
        head = f"You look {s.mood_words} ({s.mood.mood_score:.2f}){extra}."
    else:
        head = f"Songs for a {s.mood_words} mood ({s.mood.mood_score:.2f})."
    if s.mode == "lift":
        head += " Lifting your mood, step by step:"
    lines = [head]
    if not s.items:
        lines.append("I couldn't find new songs for that right now.")
    for i, rec in enumerate(s.items, 1):
        t = rec.track
        why = "; ".join(r.text for r in rec.reasons[:2])
        lines.append(f"{i}. {t.name} — {', '.join(t.artists)} [{t.genres[0]}] · {why}")
        if with_links:
            lines.append(f"   {t.url}")
    lines.extend(s.hints)
    return "\n".join(lines)


def taste_text(profile: TasteProfile | None) -> str:
    if profile is None:
        return "I don't know your taste yet. Use /link spotify or send me a playlist CSV."
    top = ", ".join(f"{g} {w:.0%}" for g, w in sorted(profile.genres.items(),
                                                        key=lambda kv: -kv[1])[:5])
    text = (f"Your top genres: {top}.\nI understood {profile.tracks_understood} of "
            f"{profile.tracks_total} tracks ({profile.coverage:.0%}) from "
            f"{len(profile.artists)} artists.")
    if profile.artist_weights:
        text += f"\nYou play most: {', '.join(profile.top_artists(5))}."
    return text


# --- /discover (the share of a list by the user's own artists) -------------------------------
DISCOVER_USAGE = ("Use /discover more (more songs by artists new to you), /discover less "
                  "(more by the artists you play) or /discover default.")
_DISCOVERY_WORDS = {
    "more": "about a third of each list by artists you play, the rest by artists new to you",
    "default": "about 6 in 10 songs by artists you play, the rest by artists like them",
    "less": "almost every song by artists you play, now and then a new one",
}


def discovery_text(level: str, *, changed: bool) -> str:
    """The /discover answer: the setting in words (``level``: more, less or default)."""
    words = _DISCOVERY_WORDS.get(level, _DISCOVERY_WORDS["default"])
    if changed:
        return f"Done: {words}. /more and new lists follow it."
    return f"Now: {words}. Change it:"


#: Chat platforms let bots download files up to 20 MB; adapters check before reading bytes.
MAX_FILE_BYTES = 20 * 1024 * 1024
FILE_TOO_LARGE = "That file is larger than 20 MB, the most a chat bot may receive."


def group_open_text(round_s: float, mode: Mode) -> str:
    minutes = f"{round_s / 60:.0f} min" if round_s >= 60 else f"{round_s:.0f} s"
    lift = " I'll lift the group's mood step by step." if mode == "lift" else ""
    return (f"🎧 Group round open for {minutes}!{lift} Join with a selfie (or a group photo), "
            "/mood <how you feel>, or \"I'm in\" (your taste only). /group done closes it.")


def joined_text(name: str, mood: MoodReading | None, members: int) -> str:
    how = f" with a {describe_mood(mood.mood_score)} mood" if mood is not None else ""
    return f"{name} is in{how}. {members} in the round."


def group_photo_text(faces: int, members: int) -> str:
    return (f"Got a group photo: {faces} faces count for the group's mood (I don't tell who is "
            f"who). {members} in the round.")


def group_text(g: GroupList, *, with_links: bool = True) -> str:
    """The group's list: mood, taste match, the song that brings them together, the why."""
    names = ", ".join(g.members)
    if g.mood.source == "default":
        mood = "nobody shared a mood, so I aimed for a neutral one"
    else:
        mood = f"the group's mood is {describe_mood(g.mood.mood_score)} ({g.mood.mood_score:.2f})"
    lines = [f"🎶 For {len(g.members)} of you ({names}): {mood}."]
    if g.mode == "lift":
        lines[0] += " Lifting it step by step:"
    if g.taste_match.overall is not None:
        lines.append(f"Taste match: {g.taste_match.overall:.0%}.")
    elif not g.member_fit:
        lines.append("Nobody here has linked their music, so these are popular songs that fit "
                     "the mood.")
    if g.together is not None:
        t = g.together.track
        lines.append(f"The song that brings you together: {t.name} — {', '.join(t.artists)}")
    if not g.items:
        lines.append("I couldn't find songs for that right now.")
    for i, rec in enumerate(g.items, 1):
        t = rec.track
        why = "; ".join(r.text for r in rec.reasons)
        lines.append(f"{i}. {t.name} — {', '.join(t.artists)} [{t.genres[0]}] · {why}")
        if with_links:
            lines.append(f"   {t.url}")
    return "\n".join(lines)
