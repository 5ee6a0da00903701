"""The Spotify Web API (2026 rules) through spotipy, with bounded retries."""

from moosic_core.spotify.client import SCOPES, RetryBudget, SpotifyClient, TokenSet
from moosic_core.spotify.library import Library, parse_user_ref

__all__ = ["SCOPES", "Library", "RetryBudget", "SpotifyClient", "TokenSet", "parse_user_ref"]
