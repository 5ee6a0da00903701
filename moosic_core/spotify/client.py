"""spotipy behind a bounded retry policy, called off the event loop.

spotipy blocks (requests) and by default retries 429s for as long as Retry-After says, which can
be an hour. Here every spotipy object gets its own plain ``requests.Session`` (no urllib3 retry
adapter, so the real status and headers reach us) and ``retries=0``; each call runs in a worker
thread and this module decides: 429 waits Retry-After within a per-operation budget
(``spotify.max_retry_wait_s``) and fails at once on ``QUOTA_EXCEEDED``; 401 refreshes once;
403 on an endpoint Spotify removed for new apps marks it unavailable for the process; 5xx and
timeouts become :class:`SpotifyUnavailable` (retryable).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.exceptions import SpotifyException, SpotifyOauthError
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyPKCE

from moosic_core.config import SpotifyConfig
from moosic_core.errors import (
    MoosicError,
    OAuthFailed,
    SpotifyAppRejected,
    SpotifyAuthExpired,
    SpotifyFeatureUnavailable,
    SpotifyNotConfigured,
    SpotifyRateLimited,
    SpotifyUnavailable,
)

log = logging.getLogger(__name__)

# spotipy logs request headers (the bearer token) and token-request bodies (refresh tokens,
# PKCE verifiers) at DEBUG: keep its loggers above DEBUG even when the app runs with -v.
logging.getLogger("spotipy").setLevel(logging.WARNING)

SCOPES = ("playlist-read-private", "playlist-read-collaborative", "user-library-read",
          "user-top-read")
#: Asked for only when a user first saves a list to Spotify (incremental consent).
WRITE_SCOPE = "playlist-modify-private"

# Endpoints Spotify withdrew for apps registered after 2024-11-27 / in February 2026.
USER_PLAYLISTS = "users.playlists"
AUDIO_FEATURES = "audio-features"
REMOVABLE = {
    USER_PLAYLISTS: SpotifyFeatureUnavailable.user_message,
    AUDIO_FEATURES: "This bot's Spotify app can't read audio features.",
}

Reauth = Callable[[spotipy.Spotify], Awaitable[None]]


class ApiRefused(SpotifyUnavailable):
    """A 403/404 from an endpoint whose caller decides what it means (e.g. a private playlist)."""

    retryable = False

    def __init__(self, status: int, label: str, reason: str = "") -> None:
        super().__init__(detail=f"{label}: HTTP {status}")
        self.status = status
        self.label = label
        #: Spotify's own error message ("Insufficient client scope"), for the caller to read.
        self.reason = reason


class RetryBudget:
    """The total time one operation may spend waiting on 429s."""

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self.waited = 0.0

    def wait_for(self, exc: SpotifyException) -> float:
        """Seconds to wait before retrying, or raise :class:`SpotifyRateLimited`."""
        text = f"{exc.msg} {exc.reason}".upper()
        if "QUOTA_EXCEEDED" in text:
            raise SpotifyRateLimited(
                "This bot has used up its Spotify quota for now. Please try again later, "
                "or send a playlist CSV.", detail="QUOTA_EXCEEDED")
        retry_after = _retry_after(exc.headers)
        if self.waited + retry_after > self.max_wait_s:
            raise SpotifyRateLimited(detail=f"Retry-After {retry_after:g}s; already waited "
                                            f"{self.waited:g}s of {self.max_wait_s:g}s")
        self.waited += retry_after
        return retry_after


def _retry_after(headers: Any) -> float:
    try:
        return max(0.0, float((headers or {}).get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0


@dataclass(frozen=True)
class TokenSet:
    """A user's OAuth tokens (plaintext: only ever held in memory)."""

    access_token: str
    refresh_token: str
    expires_at: float
    scope: str = ""

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at - (time.time() if now is None else now) < 60

    def __repr__(self) -> str:  # never print tokens
        return f"TokenSet(expires_at={self.expires_at:.0f}, scope={self.scope!r})"

    @classmethod
    def from_info(cls, info: dict[str, Any], old_refresh: str = "") -> TokenSet:
        return cls(access_token=str(info["access_token"]),
                   refresh_token=str(info.get("refresh_token") or old_refresh),
                   expires_at=float(info.get("expires_at")
                                    or time.time() + float(info.get("expires_in", 3600))),
                   scope=str(info.get("scope") or ""))


def code_challenge(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class SpotifyClient:
    """Process-wide access to the Spotify Web API for one configured app."""

    def __init__(self, config: SpotifyConfig,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config = config
        self.unavailable: dict[str, str] = {}
        self._sleep = sleep
        self._app: spotipy.Spotify | None = None

    # --- configuration -------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return bool(self.config.client_id)

    @property
    def has_secret(self) -> bool:
        return bool(self.config.client_id and self.config.client_secret)

    def budget(self) -> RetryBudget:
        return RetryBudget(self.config.max_retry_wait_s)

    def _spotify(self, auth: str | None = None, auth_manager: Any = None) -> spotipy.Spotify:
        sp = spotipy.Spotify(auth=auth, auth_manager=auth_manager,
                             requests_session=requests.Session(),
                             requests_timeout=self.config.request_timeout_s,
                             retries=0, status_retries=0)
        api = self.config.api_url
        sp.prefix = api if api.endswith("/") else api + "/"
        return sp

    def app(self) -> spotipy.Spotify:
        """A client-credentials client (public data only)."""
        if not self.has_secret:
            raise SpotifyNotConfigured(detail="spotify.client_id/client_secret are not set")
        if self._app is None:
            manager = SpotifyClientCredentials(
                self.config.client_id, self.config.client_secret,
                requests_timeout=self.config.request_timeout_s,
                cache_handler=MemoryCacheHandler())
            manager.OAUTH_TOKEN_URL = self.config.token_url
            self._app = self._spotify(auth_manager=manager)
        return self._app

    def user(self, tokens: TokenSet) -> spotipy.Spotify:
        """A client acting as a signed-in user (a bearer token; refresh is ours to do)."""
        return self._spotify(auth=tokens.access_token)

    def _pkce(self, verifier: str | None = None,
              scopes: tuple[str, ...] = SCOPES) -> SpotifyPKCE:
        if not self.configured:
            raise SpotifyNotConfigured(detail="spotify.client_id is not set")
        manager = SpotifyPKCE(client_id=self.config.client_id,
                              redirect_uri=self.config.redirect_uri, scope=list(scopes),
                              cache_handler=MemoryCacheHandler(), open_browser=False,
                              requests_timeout=self.config.request_timeout_s)
        manager.OAUTH_TOKEN_URL = self.config.token_url
        manager.OAUTH_AUTHORIZE_URL = self.config.authorize_url
        if verifier is not None:
            manager.code_verifier = verifier
            manager.code_challenge = code_challenge(verifier)
        return manager

    # --- OAuth (authorization code + PKCE) ------------------------------------------------
    def authorize_url(self, state: str, verifier: str, scopes: tuple[str, ...] = SCOPES) -> str:
        """The sign-in URL asking for ``scopes`` (the read scopes unless more are needed)."""
        return str(self._pkce(verifier, scopes).get_authorize_url(state=state))

    async def exchange_code(self, code: str, verifier: str) -> TokenSet:
        manager = self._pkce(verifier)
        try:
            await asyncio.to_thread(manager.get_access_token, code, False)
        except SpotifyOauthError as exc:
            raise _oauth_error(exc, OAuthFailed) from None
        except requests.RequestException as exc:
            raise SpotifyUnavailable(detail=f"token endpoint: {type(exc).__name__}") from None
        info = manager.cache_handler.get_cached_token()
        if not info or not info.get("refresh_token"):
            raise OAuthFailed(detail="the token endpoint returned no refresh token")
        return TokenSet.from_info(info)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        manager = self._pkce()
        try:
            info = await asyncio.to_thread(manager.refresh_access_token, tokens.refresh_token)
        except SpotifyOauthError as exc:
            raise _oauth_error(exc, SpotifyAuthExpired) from None
        except requests.RequestException as exc:
            raise SpotifyUnavailable(detail=f"token endpoint: {type(exc).__name__}") from None
        return TokenSet.from_info(info, old_refresh=tokens.refresh_token)

    async def _reauth_app(self, sp: spotipy.Spotify) -> None:
        manager = sp.auth_manager
        try:
            await asyncio.to_thread(manager.get_access_token, False, False)
        except SpotifyOauthError as exc:
            raise _oauth_error(exc, SpotifyAppRejected) from None

    # --- calls ---------------------------------------------------------------------------
    async def call(self, sp: spotipy.Spotify, label: str, fn: Callable[[spotipy.Spotify], Any],
                   budget: RetryBudget, reauth: Reauth | None = None) -> Any:
        """Run ``fn(sp)`` in a thread under the retry policy; returns its JSON result."""
        if label in self.unavailable:
            raise SpotifyFeatureUnavailable(self.unavailable[label], detail=f"{label} (cached)")
        if reauth is None and sp.auth_manager is not None:
            reauth = self._reauth_app
        reauthed = False
        while True:
            try:
                return await asyncio.to_thread(fn, sp)
            except SpotifyException as exc:
                status = exc.http_status
                if status == 429:
                    wait = budget.wait_for(exc)
                    log.warning("Spotify 429 on %s; waiting %.1fs (budget %.0f/%.0fs)",
                                label, wait, budget.waited, budget.max_wait_s)
                    await self._sleep(wait)
                    continue
                if status == 401 and reauth is not None and not reauthed:
                    log.info("Spotify 401 on %s; refreshing the token once", label)
                    await reauth(sp)
                    reauthed = True
                    continue
                raise self._http_error(exc, label) from None
            except SpotifyOauthError as exc:  # the client-credentials token request failed
                raise _oauth_error(exc, SpotifyAppRejected) from None
            except requests.RequestException as exc:
                log.warning("Spotify %s failed: %s", label, type(exc).__name__)
                raise SpotifyUnavailable(detail=f"{label}: {type(exc).__name__}") from None

    def _http_error(self, exc: SpotifyException, label: str) -> MoosicError:
        status = exc.http_status
        if status == 401:
            return SpotifyAuthExpired(detail=f"{label}: HTTP 401")
        if status == 403 and label in REMOVABLE:
            self.unavailable[label] = REMOVABLE[label]
            log.warning("Spotify 403 on %s: this app may not use it; not asking again", label)
            return SpotifyFeatureUnavailable(REMOVABLE[label], detail=f"{label}: HTTP 403")
        if status in (403, 404, 405):
            return ApiRefused(status, label, str(exc.msg or ""))
        if status >= 500:
            return SpotifyUnavailable(detail=f"{label}: HTTP {status}")
        error = SpotifyUnavailable(detail=f"{label}: HTTP {status}")
        error.retryable = False
        return error

    async def pages(self, sp: spotipy.Spotify, label: str,
                    first: Callable[[spotipy.Spotify], Any], budget: RetryBudget,
                    reauth: Reauth | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every page of a paged endpoint, following ``next`` to the end."""
        page = await self.call(sp, label, first, budget, reauth)
        while page:
            yield page
            if not page.get("next"):
                return
            page = await self.call(sp, label, _next_page(page), budget, reauth)


def _next_page(page: dict[str, Any]) -> Callable[[spotipy.Spotify], Any]:
    return lambda sp: sp.next(page)


def _oauth_error(exc: SpotifyOauthError, default: type[MoosicError]) -> MoosicError:
    """Map a token-endpoint error (never carrying a token) to a typed error."""
    error = str(getattr(exc, "error", "") or "")
    if error in ("invalid_client", "unauthorized_client"):
        return SpotifyAppRejected(detail=f"token endpoint: {error}")
    if error in ("invalid_grant", "invalid_request"):
        return default(detail=f"token endpoint: {error}")
    return SpotifyUnavailable(detail="token endpoint: error")
