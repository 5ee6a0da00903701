"""Platform-neutral reply texts: help, consent, suggestions, taste. Adapters add markup."""

from __future__ import annotations

from moosic_core.service import Suggestions
from moosic_core.types import TasteProfile

HELP = """\
I'm Moo-Sic. Send me a selfie and I'll suggest songs that fit your mood, from the genres you \
like.

/mood happy|sad|calm|… or a number 0..1 — songs for a mood you tell me (no photo)
/link spotify — sign in with Spotify so I know your taste
/link spotify <user id or profile link> — use a public Spotify profile
send a playlist CSV (Exportify export) — use it as your taste
/taste — what I know about your listening
/unlink — disconnect Spotify   /forget — delete everything about you
In a group: /group starts a group round."""

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
    return (f"Your top genres: {top}.\nI understood {profile.tracks_understood} of "
            f"{profile.tracks_total} tracks ({profile.coverage:.0%}) from "
            f"{len(profile.artists)} artists.")


#: Chat platforms let bots download files up to 20 MB; adapters check before reading bytes.
MAX_FILE_BYTES = 20 * 1024 * 1024
FILE_TOO_LARGE = "That file is larger than 20 MB, the most a chat bot may receive."
