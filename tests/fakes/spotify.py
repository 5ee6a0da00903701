"""A fake Spotify Web API (2026 rules) on 127.0.0.1, for driving the real spotipy client.

- ``POST /api/token``: client credentials (Basic auth), authorization code + PKCE (S256 checked),
  refresh token (rotating); expired or revoked tokens give 401.
- ``GET /authorize``: approves at once as ``fake_user`` (a query parameter tests append) and
  redirects to ``redirect_uri?code=...&state=...``.
- ``/v1/me``, ``/v1/me/playlists``, ``/v1/me/tracks``, ``/v1/me/top/tracks``: user token only.
- ``/v1/users/{id}/playlists``: public playlists, or 403 (``new_app=True``: removed for new apps)
  or 404 for unknown users. ``/v1/playlists/{id}/items``: for a user token only the owner's or
  collaborative playlists (else 403); entries carry the track under ``item`` or ``track``.
- ``/v1/audio-features``: 403 when ``new_app`` (as for every app registered after 2024-11-27).
- Paging with ``limit``/``offset``/``next``; ``rate_limit(n, retry_after)`` answers the next n
  API calls with 429 + Retry-After (``method="POST"``: only writes); ``fail_next(n, status)``
  with 5xx.
- Writing (issue 34): ``POST /v1/me/playlists`` (2026) and ``POST /v1/users/{id}/playlists``
  (extended quota; 403 when ``new_app``) create a playlist; ``POST /v1/playlists/{id}/items``
  (2026) and ``/tracks`` (extended quota; 404 when ``new_app``) add at most 100 URIs per request
  (400 beyond), owner or collaborator only. A private playlist needs ``playlist-modify-private``
  and a public one ``playlist-modify-public`` in the token's scope (403 "Insufficient client
  scope" otherwise); the scope is what the sign-in asked for (``scope`` on ``/authorize``) and
  refreshing keeps it. ``api_2026=False`` answers 404 on the 2026 write endpoints (an app that
  only has the older ones). ``add_batches`` records each add's size; ``fail_write(after,
  status)`` fails a later write.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse


def make_track(track_id: str, name: str, artists: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": track_id, "name": name, "type": "track", "uri": f"spotify:track:{track_id}",
            "artists": [{"id": f"ar{abs(hash(a)) % 10**8}", "name": a} for a in artists],
            "explicit": False, **extra}


@dataclass
class FakeUser:
    user_id: str
    display_name: str = ""
    saved: list[dict[str, Any]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)  # playlist ids in /me/playlists


@dataclass
class FakePlaylist:
    playlist_id: str
    owner: str
    tracks: Sequence[dict[str, Any] | None]
    public: bool = True
    collaborative: bool = False
    entry_key: str = "item"  # 2026 responses use "item"; older ones "track"
    name: str = ""
    description: str = ""

    def track_ids(self) -> list[str]:
        return [str(t["id"]) for t in self.tracks if t]


class FakeSpotify:
    """The server's state; tests change it between calls."""

    def __init__(self, client_id: str = "cid", client_secret: str = "csecret",
                 new_app: bool = True) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.new_app = new_app
        self.api_2026 = True
        self.add_batches: list[int] = []
        self._writes = 0
        self._fail_write: tuple[int, int] | None = None  # (write number, status)
        self.token_scopes: dict[str, str] = {}  # access or refresh token -> granted scope
        self.users: dict[str, FakeUser] = {}
        self.playlists: dict[str, FakePlaylist] = {}
        self.features: dict[str, dict[str, float]] = {}
        self.token_lifetime_s = 3600
        self.access: dict[str, tuple[str | None, float]] = {}  # token -> (user or None, expiry)
        self.refresh: dict[str, str] = {}  # refresh token -> user
        self.codes: dict[str, dict[str, str]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.granted_scope = ("playlist-read-private playlist-read-collaborative "
                              "user-library-read user-top-read")
        self._rate_limited = 0
        self._rate_method: str | None = None
        self._retry_after = 1
        self._rate_body: dict[str, Any] = {}
        self._failures: list[int] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- test controls -------------------------------------------------------------------
    def add_user(self, user: FakeUser) -> FakeUser:
        self.users[user.user_id] = user
        return user

    def add_playlist(self, playlist: FakePlaylist) -> FakePlaylist:
        self.playlists[playlist.playlist_id] = playlist
        return playlist

    def rate_limit(self, calls: int, retry_after: int = 1, quota: bool = False,
                   method: str | None = None) -> None:
        """Answer the next ``calls`` API calls (of ``method`` only, when given) with 429."""
        with self.lock:
            self._rate_limited, self._retry_after = calls, retry_after
            self._rate_method = method
            self._rate_body = ({"error": {"status": 429, "message": "API rate limit exceeded",
                                          "reason": "QUOTA_EXCEEDED"}} if quota else
                               {"error": {"status": 429, "message": "API rate limit exceeded"}})

    def fail_next(self, calls: int, status: int = 503) -> None:
        with self.lock:
            self._failures = [status] * calls

    def fail_write(self, after: int, status: int = 503) -> None:
        """Let ``after`` more writes (creates, adds) through, then fail the next with ``status``."""
        with self.lock:
            self._fail_write = (self._writes + after + 1, status)

    def revoke_access_tokens(self) -> None:
        """Every access token stops working (refresh tokens still do)."""
        with self.lock:
            self.access.clear()

    def api_calls(self, prefix: str = "/v1/") -> list[str]:
        return [p for _, p in self.requests if p.startswith(prefix)]

    # --- server --------------------------------------------------------------------------
    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def env(self) -> dict[str, str]:
        """Config overrides pointing the app at this server."""
        return {"MOOSIC_SPOTIFY_API_URL": f"{self.base_url}/v1/",
                "MOOSIC_SPOTIFY_TOKEN_URL": f"{self.base_url}/api/token",
                "MOOSIC_SPOTIFY_AUTHORIZE_URL": f"{self.base_url}/authorize",
                "MOOSIC_SPOTIFY_CLIENT_ID": self.client_id,
                "MOOSIC_SPOTIFY_CLIENT_SECRET": self.client_secret}

    # --- token helpers -------------------------------------------------------------------
    def issue(self, user: str | None, scope: str | None = None) -> dict[str, Any]:
        token = "BQ" + secrets.token_urlsafe(24)
        self.access[token] = (user, time.time() + self.token_lifetime_s)
        info: dict[str, Any] = {"access_token": token, "token_type": "Bearer",
                                "expires_in": self.token_lifetime_s}
        if user is not None:
            scope = self.granted_scope if scope is None else scope
            refresh = "AQ" + secrets.token_urlsafe(32)
            self.refresh[refresh] = user
            self.token_scopes[token] = self.token_scopes[refresh] = scope
            info.update(refresh_token=refresh, scope=scope)
        return info

    def playlists_of(self, user_id: str) -> list[FakePlaylist]:
        """The playlists a user made through the API, oldest first."""
        return [p for p in self.playlists.values() if p.owner == user_id and p.name]

    def _limited(self, method: str) -> bool:
        """Whether this call gets a 429 (called under the lock)."""
        if self._rate_limited > 0 and self._rate_method in (None, method):
            self._rate_limited -= 1
            return True
        return False


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSpotify

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, **headers: str) -> None:
        self._send(status, {"error": {"status": status, "message": message}}, headers)

    # --- token endpoint ------------------------------------------------------------------
    def do_POST(self) -> None:
        fake = self.fake
        url = urlparse(self.path)
        fake.requests.append(("POST", url.path))
        if url.path.startswith("/v1/"):
            return self._write(url.path)
        if url.path != "/api/token":
            return self._error(404, "Service not found")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        grant = form.get("grant_type")
        with fake.lock:
            if grant == "client_credentials":
                expected = base64.b64encode(
                    f"{fake.client_id}:{fake.client_secret}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self._send(400, {"error": "invalid_client"})
                return self._send(200, fake.issue(None))
            if grant == "authorization_code":
                pending = fake.codes.pop(form.get("code", ""), None)
                if pending is None or form.get("client_id") != fake.client_id:
                    return self._send(400, {"error": "invalid_grant",
                                            "error_description": "Invalid authorization code"})
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                if challenge != pending["challenge"] or \
                        form.get("redirect_uri") != pending["redirect_uri"]:
                    return self._send(400, {"error": "invalid_grant",
                                            "error_description": "code_verifier was incorrect"})
                return self._send(200, fake.issue(pending["user"], pending.get("scope")))
            if grant == "refresh_token":
                old = form.get("refresh_token", "")
                user = fake.refresh.pop(old, None)
                if user is None:
                    return self._send(400, {"error": "invalid_grant",
                                            "error_description": "Refresh token revoked"})
                # rotates the refresh token; the grant keeps its scope
                return self._send(200, fake.issue(user, fake.token_scopes.get(old)))
        return self._send(400, {"error": "unsupported_grant_type"})

    # --- API ------------------------------------------------------------------------------
    def do_GET(self) -> None:
        fake = self.fake
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        fake.requests.append(("GET", url.path))
        if url.path == "/authorize":
            return self._authorize(query)
        if not url.path.startswith("/v1/"):
            return self._error(404, "Service not found")
        with fake.lock:
            if fake._failures:
                return self._error(fake._failures.pop(), "Server error")
            if fake._limited("GET"):
                return self._send(429, fake._rate_body,
                                  {"Retry-After": str(fake._retry_after)})
            auth = self.headers.get("Authorization", "")
            entry = fake.access.get(auth.removeprefix("Bearer "))
        if entry is None or entry[1] < time.time():
            return self._error(401, "The access token expired")
        user = entry[0]
        parts = url.path[len("/v1/"):].strip("/").split("/")
        return self._route(parts, user, query)

    def _authorize(self, query: dict[str, str]) -> None:
        fake = self.fake
        if query.get("client_id") != fake.client_id or query.get("code_challenge_method") != "S256":
            return self._error(400, "INVALID_CLIENT")
        user = query.get("fake_user", "")
        target = query["redirect_uri"]
        if user not in fake.users:
            params = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            with fake.lock:
                fake.codes[code] = {"user": user, "challenge": query["code_challenge"],
                                    "redirect_uri": target,
                                    "scope": " ".join(query.get("scope", "").split())}
            params = {"code": code, "state": query.get("state", "")}
        self.send_response(302)
        self.send_header("Location", f"{target}?{urlencode(params)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _page(self, items: list[Any], query: dict[str, str], path: str) -> None:
        limit = min(int(query.get("limit", 20)), 50)
        offset = int(query.get("offset", 0))
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        base = f"{self.fake.base_url}{path}"
        nxt = f"{base}?{urlencode({'offset': offset + limit, 'limit': limit})}" if more else None
        self._send(200, {"href": base, "items": page, "limit": limit, "offset": offset,
                         "total": len(items), "next": nxt, "previous": None})

    def _route(self, parts: list[str], user: str | None, query: dict[str, str]) -> None:
        fake = self.fake
        path = "/v1/" + "/".join(parts)
        if parts[0] == "me":
            if user is None:
                return self._error(401, "This endpoint needs a user token")
            me = fake.users[user]
            if parts == ["me"]:
                return self._send(200, {"id": me.user_id, "display_name": me.display_name,
                                        "type": "user"})
            if parts == ["me", "playlists"]:
                return self._page([self._playlist_json(fake.playlists[p]) for p in me.followed],
                                  query, path)
            if parts == ["me", "tracks"]:
                return self._page([{"added_at": "2026-01-01T00:00:00Z", "track": t}
                                   for t in me.saved], query, path)
            if parts == ["me", "top", "tracks"]:
                return self._page(me.top, query, path)
        if parts[0] == "users" and len(parts) == 3 and parts[2] == "playlists":
            if fake.new_app:
                return self._error(403, "Forbidden")
            owner = fake.users.get(parts[1])
            if owner is None:
                return self._error(404, "Not found.")
            mine = [self._playlist_json(p) for p in fake.playlists.values()
                    if p.owner == owner.user_id and p.public]
            return self._page(mine, query, path)
        if parts[0] == "playlists" and len(parts) == 3 and parts[2] == "items":
            playlist = fake.playlists.get(parts[1])
            if playlist is None:
                return self._error(404, "Not found.")
            allowed = (playlist.owner == user or playlist.collaborative) if (
                user is not None and fake.new_app) else playlist.public or user == playlist.owner
            if not allowed:
                return self._error(403, "Forbidden")
            entries = [{"added_at": "2026-01-01T00:00:00Z", playlist.entry_key: t}
                       for t in playlist.tracks]
            return self._page(entries, query, path)
        if parts == ["audio-features"]:
            if fake.new_app:
                return self._error(403, "Forbidden")
            ids = query.get("ids", "").split(",")
            return self._send(200, {"audio_features": [fake.features.get(i) for i in ids]})
        return self._error(404, "Service not found")

    def _playlist_json(self, playlist: FakePlaylist) -> dict[str, Any]:
        return {"id": playlist.playlist_id, "name": playlist.playlist_id, "type": "playlist",
                "owner": {"id": playlist.owner}, "public": playlist.public,
                "collaborative": playlist.collaborative,
                "items": {"total": len(playlist.tracks)}}

    # --- writing (create playlist, add items) --------------------------------------------
    def _write(self, path: str) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._error(400, "Error parsing JSON.")
        with fake.lock:
            fake._writes += 1
            if fake._fail_write is not None and fake._fail_write[0] == fake._writes:
                return self._error(fake._fail_write[1], "Server error")
            if fake._failures:
                return self._error(fake._failures.pop(), "Server error")
            if fake._limited("POST"):
                return self._send(429, fake._rate_body, {"Retry-After": str(fake._retry_after)})
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            entry = fake.access.get(token)
            scope = set(fake.token_scopes.get(token, "").split())
            if entry is None or entry[1] < time.time():
                return self._error(401, "The access token expired")
            user = entry[0]
            if user is None:
                return self._error(401, "This endpoint needs a user token")
            parts = path[len("/v1/"):].strip("/").split("/")
            if parts == ["me", "playlists"] or (len(parts) == 3 and parts[0] == "users"
                                                and parts[2] == "playlists"):
                return self._create(parts, user, scope, body)
            if len(parts) == 3 and parts[0] == "playlists" and parts[2] in ("items", "tracks"):
                return self._add(parts[1], parts[2], user, scope, body)
        return self._error(404, "Service not found")

    def _create(self, parts: list[str], user: str, scope: set[str], body: Any) -> None:
        fake = self.fake
        if parts[0] == "me" and not fake.api_2026:
            return self._error(404, "Service not found")
        if parts[0] == "users":
            if fake.new_app:
                return self._error(403, "Forbidden")  # removed for development-mode apps
            if parts[1] != user:
                return self._error(403, "You cannot create a playlist for another user")
        if not isinstance(body, dict) or not body.get("name"):
            return self._error(400, "Missing required field: name")
        public = bool(body.get("public", True))
        needed = "playlist-modify-public" if public else "playlist-modify-private"
        if needed not in scope:
            return self._error(403, "Insufficient client scope")
        playlist_id = "pl" + secrets.token_hex(11)
        playlist = FakePlaylist(playlist_id, user, [], public=public,
                                collaborative=bool(body.get("collaborative")),
                                name=str(body["name"]),
                                description=str(body.get("description") or ""))
        fake.playlists[playlist_id] = playlist
        fake.users[user].followed.insert(0, playlist_id)
        self._send(201, {**self._playlist_json(playlist), "name": playlist.name,
                         "description": playlist.description,
                         "external_urls": {"spotify":
                                           f"https://open.spotify.com/playlist/{playlist_id}"}})

    def _add(self, playlist_id: str, path: str, user: str, scope: set[str], body: Any) -> None:
        fake = self.fake
        if (path == "items" and not fake.api_2026) or (path == "tracks" and fake.new_app):
            return self._error(404, "Service not found")
        playlist = fake.playlists.get(playlist_id)
        if playlist is None:
            return self._error(404, "Not found.")
        if playlist.owner != user and not playlist.collaborative:
            return self._error(403, "Forbidden")
        needed = "playlist-modify-public" if playlist.public else "playlist-modify-private"
        if needed not in scope:
            return self._error(403, "Insufficient client scope")
        uris = body.get("uris") if isinstance(body, dict) else body
        if not isinstance(uris, list) or not uris:
            return self._error(400, "No uris provided")
        if len(uris) > 100:
            return self._error(400, "Too many ids requested")
        ids = [str(u).rsplit(":", 1)[-1] for u in uris]
        if not all(len(i) == 22 for i in ids):
            return self._error(400, "Invalid track uri")
        fake.add_batches.append(len(ids))
        playlist.tracks = [*playlist.tracks,
                           *({"id": i, "type": "track", "uri": f"spotify:track:{i}"}
                             for i in ids)]
        self._send(201, {"snapshot_id": secrets.token_hex(8)})
