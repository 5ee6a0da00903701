"""Platform-neutral reply texts: help, consent, suggestions, taste. Adapters add markup."""

from __future__ import annotations

from bot.hints import TYPED
from moosic_core.errors import SELFIE_TIP, MoosicError, NoFaceFound
from moosic_core.recommend.group import YOU, GroupList
from moosic_core.recommend.moods import describe_mood, describe_reading
from moosic_core.recommend.ranking import Mode, can_lift
from moosic_core.saving import SaveResult, SongList
from moosic_core.service import Suggestions
from moosic_core.store import Link
from moosic_core.taste.csv_export import IMPORT_HINT
from moosic_core.text import count
from moosic_core.types import MoodReading, Recommendation, TasteProfile, Track

HELP = """\
I'm Moo-Sic. Send me a selfie and I'll suggest songs that fit your mood, from the genres you \
like.

/mood happy, /mood a bit tired, /mood 😌 or a number 0..1 — songs for how you feel (no photo)
/more — more songs   /lift — songs that lift your mood step by step   /match — back to your mood
/like N, /dislike N — rate song N of the last list (or press its 👍/👎)
💾 Save under a list, or /save — keep it: a private playlist in your Spotify when you signed \
in with Spotify, else a CSV file (/save file: always the file)
/link spotify — sign in with Spotify so I know your taste
/link spotify <user id or profile link> — use a public Spotify profile
send a playlist CSV (Exportify export) — use it as your taste
/taste — what I know about your listening
/discover more|less|default — more songs by new artists, or more by the artists you play
/unlink — disconnect Spotify   /unlink playlist — drop your playlist   /unlink all — both
/forget — delete everything about you
In a group: /group (or /blend) starts a group round: to join, """ + TYPED.join_round + """;
/group done closes it, /group leave leaves it, /group lift starts one that lifts the mood."""

CONSOLE_HELP = """\
Moo-Sic console chat: the same bot as on Telegram and Discord, typed here.

/mood happy, /mood a bit tired, /mood 😌 or /mood 0.3 — songs for how you feel
  (or just type it: happy, a bit tired, 0.3)
a path to a photo (e.g. ~/Pictures/me.jpg; drag a file in, quotes are fine) — read your selfie
a path to a playlist CSV (e.g. an Exportify export) — use it as your taste
/like N, /dislike N — rate song N of the last list
/save — keep the last list (your Spotify when signed in, else a CSV file in this folder)
/save PATH — write the last list as a CSV file to PATH (a file or a folder)
/more — more songs   /lift — lift your mood step by step   /match — back to your mood
/taste — what I know about your listening   /unlink playlist — drop your playlist
/forget — delete everything about you   /group — a group round (others can't join here)
Questions (yes/no) take a plain yes or no; buttons show as [label] (/press action).
/quit, Ctrl-D or Ctrl-C — leave."""

CONSENT = """\
Before I read the mood on your face: your photo is analysed in memory only, never stored and \
never logged, and only to suggest music. Face-based emotion reading is imperfect, so treat it \
as a playful guess. Do you agree? """ + TYPED.yes_or_no

CONSENT_THANKS = "Thanks! Send me a selfie whenever you like."

#: Consent given on a replica that does not hold the photo waiting for it (photos stay in the
#: memory of the process they reached): the photo is recent, so no word about its expiry.
CONSENT_SEND_AGAIN = ("Thanks! Please send me your photo once more: it reached another of my "
                      "servers, and I never pass photos between them.")

#: A photo sent while the consent question waits: it replaces the one waiting.
CONSENT_NEWER_PHOTO = ("Got it: once you answer the question above, I'll read this newest "
                       "photo.")


def album_unread_text(photos: int, first_error: MoosicError) -> str:
    """The answer for an album none of whose photos could be read (``first_error``: the first
    photo's reason)."""
    if isinstance(first_error, NoFaceFound):
        return (f"I looked at all {photos} photos in your album and couldn't find a face in any "
                f"of them. {SELFIE_TIP}")
    return f"I looked at all {photos} photos in your album. {first_error.user_message}"


def album_elsewhere_text(photos: int, looked_at: int) -> str:
    """The answer for an album of ``photos`` photos of which this bot process held
    ``looked_at`` (none with a face it could read); the others reached another of the bot's
    processes (replicas), which never pass photos on."""
    if looked_at:
        seen = (f"The {'one' if looked_at == 1 else looked_at} I could look at "
                f"{'shows' if looked_at == 1 else 'show'} no face I can read; the other "
                f"{'one' if photos - looked_at == 1 else photos - looked_at} reached another "
                "of my servers")
    else:
        seen = "They all reached another of my servers"
    return (f"Your album has {photos} photos. {seen}, and I never pass photos between them. "
            "Please send me your selfie on its own.")


CONSENT_DECLINED = "OK, I won't read any faces. You can still use /mood."
FORGET_QUESTION = ("This deletes everything I know about you: your links, taste, feedback and "
                   f"history. Are you sure? {TYPED.yes_or_no}")
FORGET_KEPT = "Nothing was deleted."
#: Before a question asked again: the answer was neither yes nor no ("maybe").
YES_OR_NO = TYPED.answer_again


#: A selfie sent with a stated mood in which no face could be read: the words still count.
NO_FACE_WORDS = "I couldn't find a face in that photo, so these follow your words."

#: A message that arrived while the database could not be reached (an outage, a restart).
STORE_DOWN = ("I can't reach my memory right now (a hiccup on my side). Please try again in a "
              "minute.")


def mood_headline(s: Suggestions) -> str:
    """The first line of a list: what mood it is for, in the user's words when they gave some."""
    mood = s.mood
    if mood.source == "face":
        extra = (f" ({count(len(mood.faces), 'face')}: I used the largest)"
                 if len(mood.faces) > 1 else "")
        head = f"You look {describe_mood(mood.mood_score)} ({mood.mood_score:.2f}){extra}."
    elif mood.faces:  # a selfie sent with words: the words win
        face = mood.faces[0].mood_score
        head = (f"You look {describe_mood(face)} ({face:.2f}), but you said "
                f"“{describe_reading(mood)}”: songs for that.")
    elif mood.label:
        head = f"Songs for feeling {mood.label}."
    else:
        head = (f"Songs for a mood of {mood.mood_score:.2f} out of 1 "
                f"({describe_mood(mood.mood_score)}).")
    if s.mode == "lift":
        head += (" Lifting your mood, step by step:" if can_lift(mood.mood_score)
                 else " You're already in a happy mood, so these keep you there:")
    return head


def song_why(rec: Recommendation, parts: int = 2, *, steps: bool = True) -> str:
    """The reasons for one song; in lift mode its step comes first ("step 3 of 10") unless
    ``steps`` is False (a mood too happy to lift: the steps stay in place)."""
    step = [r.text.split(" towards")[0] for r in rec.reasons if r.name == "lift" and steps]
    others = [r.text for r in rec.reasons if r.name != "lift"][:parts]
    return " · ".join([*step, "; ".join(others)]) if step else "; ".join(others)


def suggestions_text(s: Suggestions, *, with_links: bool = True) -> str:
    """A numbered list with a short "why" per song."""
    lines = [mood_headline(s)]
    if not s.items:
        lines.append("I couldn't find new songs for that right now.")
    for i, rec in enumerate(s.items, 1):
        t = rec.track
        why = song_why(rec, steps=can_lift(s.mood.mood_score))
        lines.append(f"{i}. {t.name} — {', '.join(t.artists)} [{t.genres[0]}] · {why}")
        if with_links:
            lines.append(f"   {t.url}")
    lines.extend(s.hints)
    return "\n".join(lines)


def nothing_to_lift_text(mood: MoodReading) -> str:
    """The answer to /lift when the mood is already as happy as lifting would make it."""
    return (f"Your mood is already a happy one ({mood.mood_score:.2f}), so there's nothing to "
            "lift. /more gives you more songs that keep you there.")


def taste_text(profile: TasteProfile | None) -> str:
    if profile is None:
        return "I don't know your taste yet. Use /link spotify or send me a playlist CSV."
    top = ", ".join(f"{g} {w:.0%}" for g, w in sorted(profile.genres.items(),
                                                        key=lambda kv: -kv[1])[:5])
    text = (f"Your top genres: {top}.\nI understood {profile.tracks_understood} of "
            f"{count(profile.tracks_total, 'track')} ({profile.coverage:.0%}) from "
            f"{count(len(profile.artists), 'artist')}.")
    if profile.artist_weights:
        text += f"\nYou play most: {', '.join(profile.top_artists(5))}."
    text += "".join("\n" + note for note in profile.notes)  # e.g. a library read in part
    return text


# --- /discover (the share of a list by the user's own artists) -------------------------------
DISCOVER_USAGE = ("Use /discover more (more songs by artists new to you), /discover less "
                  "(more by the artists you play) or /discover default.")
_DISCOVERY_WORDS = {
    "more": "about a third of each list by artists you play, the rest by artists new to you",
    "default": "about 6 in 10 songs by artists you play, the rest by artists like them",
    "less": "almost every song by artists you play, now and then a new one",
}


#: /discover for a user whose artists are unknown: the setting waits for their taste.
_NO_TASTE_YET = ("I don't know which artists you play yet, so for now every list is by artists "
                 "new to you. Once you link your music (/link spotify or a playlist CSV), ")


def discovery_text(level: str, *, changed: bool, has_taste: bool = True) -> str:
    """The /discover answer: the setting in words (``level``: more, less or default);
    without a taste (``has_taste`` False) it says the setting applies once one is linked."""
    words = _DISCOVERY_WORDS.get(level, _DISCOVERY_WORDS["default"])
    if not has_taste:
        done = "Done. " if changed else ""
        return f"{done}{_NO_TASTE_YET}I'll give you {words}." + ("" if changed
                                                                 else " Change it:")
    if changed:
        return f"Done: {words}. /more and new lists follow it."
    return f"Now: {words}. Change it:"


def rating_text(track: Track, like: bool) -> str:
    """The confirmation of a 👍/👎, naming the song."""
    song = f"{track.name} — {', '.join(track.artists)}"
    return (f"👍 noted: {song}. More like that." if like
            else f"👎 noted: {song}. I won't suggest it again.")


def remaining_text(link: Link | None) -> str:
    """What the user's taste comes from now, after an /unlink."""
    if link is None:
        return ("I don't know your taste now; your 👍/👎 and history stay (/forget deletes "
                "everything). Use /link spotify or send a playlist CSV to add it again.")
    if link.kind == "playlist_csv":
        name = link.source_name or "your playlist"
        return (f"Your taste still comes from {name} (/unlink playlist drops it); your 👍/👎 "
                "and history stay.")
    return "Your taste still comes from your Spotify account (/unlink removes it)."


#: Chat platforms let bots download files up to 20 MB; adapters check before reading bytes.
MAX_FILE_BYTES = 20 * 1024 * 1024
FILE_TOO_LARGE = "That file is larger than 20 MB, the most a chat bot may receive."


def group_open_text(round_s: float, mode: Mode) -> str:
    minutes = f"{round_s / 60:.0f} min" if round_s >= 60 else f"{round_s:.0f} s"
    lift = " I'll lift the group's mood step by step." if mode == "lift" else ""
    return (f"🎧 Group round open for {minutes}!{lift} To join, {TYPED.join_round}. "
            "\"I'm in\" uses your taste only; /group done closes it.")


def _people(n: int) -> str:
    return count(n, "person", "people")


#: /group done after everybody left: the round closes without a list.
EMPTY_ROUND_CLOSED = ("Nobody is in the round any more, so I closed it without a list. "
                      "/group starts a new one.")


def left_text(name: str) -> str:
    """A member left the round ("You left the round." for the console's one user)."""
    return "You left the round." if name == YOU else f"{name} left the round."


def joined_text(name: str, mood: MoodReading | None, members: int) -> str:
    how = f", feeling {describe_reading(mood)}" if mood is not None else ""
    who = "You're in" if name == YOU else f"{name} is in"
    return f"{who}{how}. {_people(members)} in the round."


ALREADY_IN = "You're already in."


def not_yours_text(owner: str | None, *, question: bool) -> str:
    """The private answer to a press on another user's question or list."""
    if question:
        return f"This question is for {owner or 'someone else'}."
    whose = f"That's {owner}'s list" if owner else "That list is someone else's"
    return f"{whose} — use /mood for your own."


def group_photo_text(faces: int, members: int) -> str:
    return (f"Got a group photo: {count(faces, 'face')} count for the group's mood (I don't "
            f"tell who is who). {_people(members)} in the round.")


def group_text(g: GroupList, *, with_links: bool = True) -> str:
    """The group's list: mood, taste match, the song that brings them together, the why."""
    if g.mood.source == "default":
        mood = "nobody shared a mood, so I aimed for a neutral one"
    else:
        mood = f"the group's mood is {describe_mood(g.mood.mood_score)} ({g.mood.mood_score:.2f})"
    who = (g.members[0] if len(g.members) == 1
           else f"the {len(g.members)} of you ({', '.join(g.members)})")
    lines = [f"🎶 For {who}: {mood}."]
    if g.mode == "lift":
        lines[0] += (" Lifting it step by step:" if can_lift(g.mood.mood_score)
                     else " It's already a happy mood, so I kept it there:")
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
        lines.append(f"{i}. {t.name} — {', '.join(t.artists)} [{t.genres[0]}] · "
                     f"{song_why(rec, len(rec.reasons), steps=can_lift(g.mood.mood_score))}")
        if with_links:
            lines.append(f"   {t.url}")
    return "\n".join(lines)


# --- keeping a list (💾 Save, /save) ----------------------------------------------------------
NOTHING_TO_SAVE = ("Ask me for songs first (/mood happy or a selfie), then press 💾 Save under "
                   "the list or use /save.")


def list_gone_text(days: int) -> str:
    """The answer to a 💾 Save of a list that is unknown, forgotten or older than ``days``
    days."""
    return (f"I don't have that list any more (I keep lists {count(days, 'day')}, until you "
            "/forget). /save keeps "
            "your last list; or ask me again (/more or /mood) and press 💾 Save under the new "
            "list.")


SAVE_SIGN_IN = ("To save lists in your Spotify I need one more permission: making private "
                "playlists (I still only read your music otherwise). Open this link and approve "
                "— I'll save the list right after. If your browser ends on a page that doesn't "
                "load, copy its address and paste it here.")


JUST_SAVED = "I've just sent you that list."


def saved_text(songs: SongList, result: SaveResult) -> str:
    """What a save did, in the user's words: the playlist and its link, or the file (and why
    Spotify didn't take the list)."""
    n = count(len(songs.tracks), "song")
    playlist, problem = result.playlist, result.problem
    if playlist is not None and problem is None:
        return (f"💾 Saved \"{playlist.name}\" in your Spotify as a private playlist "
                f"({n}): {playlist.url}")
    if playlist is not None and problem is not None:
        added = (f"could add only {playlist.added} of the {n}" if playlist.added
                 else "couldn't add the songs")
        return (f"I made the playlist \"{playlist.name}\" ({playlist.url}) but {added}: "
                f"{problem.user_message} Here's the whole list as a file instead. "
                f"{IMPORT_HINT}")
    if problem is not None:
        return (f"I couldn't save the list to your Spotify: {problem.user_message} Here it is "
                f"as a file instead ({n}). {IMPORT_HINT}")
    return f"💾 Here's \"{songs.title}\" as a file ({n}). {IMPORT_HINT}"
