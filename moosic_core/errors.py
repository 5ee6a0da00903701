"""Typed errors. Each carries the sentence a user sees; adapters never show a traceback."""

from __future__ import annotations


class MoosicError(Exception):
    """Base of every expected failure. ``user_message`` is safe to show to a user."""

    user_message: str = "Something went wrong. Please try again."

    def __init__(self, user_message: str | None = None, *, detail: str | None = None) -> None:
        if user_message is not None:
            self.user_message = user_message
        self.detail = detail
        super().__init__(self.user_message if detail is None else f"{self.user_message} ({detail})")

    @property
    def kind(self) -> str:
        """A stable machine-readable name for the error (the class name)."""
        return type(self).__name__


class ConfigError(MoosicError):
    user_message = "The bot's configuration is invalid."


class UsageError(MoosicError):
    """A command line the CLI cannot parse (unknown option, missing or out-of-range value)."""

    user_message = "The command line is not valid (see --help)."


class PlatformUnreachable(MoosicError):
    """A chat platform stayed unreachable through the start-up retries.

    Exit status 1 (not 2 like other operator errors): a service manager should start the bot
    again later, unlike after a configuration error.
    """

    user_message = "The chat platform could not be reached."
    exit_code = 1


class DataError(MoosicError):
    """An input data file (CSV, dataset) is missing or malformed."""

    user_message = "The data file could not be read."


class DatabaseUnreachable(DataError):
    """The database server could not be reached (not running yet, no socket, refused, timed
    out, still starting up, or out of connections): a failure that waiting may fix.

    Exit status 1 (not 2 like other operator errors): a service manager should start the bot
    again later, unlike after a wrong database name, user or password.
    """

    user_message = "The database could not be reached."
    exit_code = 1


class ModelMissing(MoosicError):
    user_message = "A model this needs has not been built yet (run `make setup`)."


class CatalogMissing(ModelMissing):
    user_message = "The song catalog has not been built yet (run `moosic catalog build`)."


class ImageRejected(MoosicError):
    user_message = "I couldn't read that image. Please send a JPEG or PNG photo."


class EmptyImage(ImageRejected):
    user_message = "That file is empty. Please send a photo."


class NotAnImage(ImageRejected):
    user_message = "That file isn't a photo I can read. Please send a JPEG or PNG selfie."


class CorruptImage(ImageRejected):
    user_message = "That photo seems damaged or cut off. Please send it again."


class AnimatedImage(ImageRejected):
    user_message = "That's an animation. Please send a still photo."


class ImageTooLarge(ImageRejected):
    user_message = "That image is too large for me. Please send a normal phone photo (under 50 MP)."


#: How to take a photo the bot reads: also for a face too far away to be found at all (a
#: face of 50 px in a 12-megapixel photo is below what the detector sees).
SELFIE_TIP = ("Try a well-lit selfie, face to the camera, close enough that your face fills "
              "a good part of the photo.")


class NoFaceFound(MoosicError):
    user_message = f"I couldn't find a face in that photo. {SELFIE_TIP}"


class FaceTooSmall(NoFaceFound):
    user_message = "The face in that photo is too small for me to read. Try a closer selfie."


class NotLinked(MoosicError):
    user_message = "You haven't linked your music yet. Use /link spotify, or send a playlist CSV."


class SpotifyUnavailable(MoosicError):
    """Spotify could not be reached or refused; ``retryable`` says whether to try later."""

    user_message = "Spotify isn't answering right now. Please try again in a few minutes."
    retryable = True


class SpotifyRateLimited(SpotifyUnavailable):
    user_message = "Spotify is rate-limiting this bot right now. Please try again later."


class SpotifyAppRejected(SpotifyUnavailable):
    """Spotify rejected the bot's own app credentials: waiting will not help."""

    user_message = ("Spotify rejected this bot's app credentials; the bot's owner needs to check "
                    "its Spotify settings. Meanwhile you can send a playlist CSV.")
    retryable = False


class SpotifyUserNotFound(MoosicError):
    user_message = "There's no Spotify user with that ID. Check the link or ID and try again."


class SpotifyFeatureUnavailable(MoosicError):
    """The configured Spotify app may not use an endpoint (2024/2026 API restrictions)."""

    user_message = (
        "This bot's Spotify app can't read other users' playlists; "
        "use /link spotify with no ID to sign in instead."
    )


class SpotifyNotConfigured(SpotifyFeatureUnavailable):
    user_message = (
        "This bot has no Spotify app set up, so it can't read Spotify. Send me an exported "
        "playlist CSV instead (for example from exportify.app)."
    )


class SpotifyLinkingUnavailable(SpotifyNotConfigured):
    """The operator's Spotify set-up is unusable (logged at start-up); users get CSV import."""

    user_message = ("Spotify linking isn't available on this bot; send me a playlist CSV "
                    "instead (for example an export from exportify.app).")


class SpotifyNotAllowed(SpotifyFeatureUnavailable):
    """403 on the user's own endpoints: a development-mode app and a user not on its list."""

    user_message = (
        "Spotify refused: this bot's Spotify app is in development mode and your account isn't "
        "on its list of allowed users. Ask the bot's owner to add you, or send a playlist CSV."
    )


class SpotifyScopeMissing(SpotifyFeatureUnavailable):
    """The user's Spotify sign-in lacks a permission a feature needs (saving playlists asks for
    ``playlist-modify-private`` only when the user first saves)."""

    user_message = ("Saving to Spotify needs one more permission from you: making private "
                    "playlists. Use /link spotify to sign in again.")


class SpotifyAuthExpired(NotLinked):
    user_message = ("Your Spotify sign-in has expired or was revoked. "
                    "Please use /link spotify again.")


class OAuthFailed(MoosicError):
    user_message = (
        "That Spotify sign-in didn't work (the link may have expired). Use /link spotify to get "
        "a fresh link."
    )


class EmptyLibrary(MoosicError):
    user_message = ("I couldn't find any tracks to learn your taste from. Save or like some songs "
                    "(or make a playlist) and try again, or send a playlist CSV.")


class Busy(MoosicError):
    user_message = "I'm busy right now. Please try again in a moment."


class ConsentRequired(MoosicError):
    user_message = (
        "Before I read the mood on a photo I need your OK: the photo is analysed in memory only "
        "and never stored. Reply /agree to continue."
    )


class UnknownTrack(MoosicError):
    """A 👍/👎 for a track id the catalog doesn't have (an old button, a rebuilt catalog)."""

    user_message = "I don't know that song any more. Ask me for a new list (/more)."
