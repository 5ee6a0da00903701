"""A fake Discord on 127.0.0.1: the REST API, a gateway websocket and a CDN.

The real discord.py client talks to it unchanged (``discord.api_url`` points the REST base here;
``GET /gateway/bot`` hands out this server's websocket). Tests push recorded-shape
``INTERACTION_CREATE`` payloads down the gateway, and read back what the bot sent: interaction
callbacks, follow-up webhooks, edits and deletes, command syncs and CDN downloads.

Shards: a client that IDENTIFYs with ``shard: [id, count]`` gets READY with that shard, and each
dispatched event goes only to the sockets of the shard Discord would send it to (see
:func:`shard_of`); ``recommended_shards`` is the count ``GET /gateway/bot`` recommends.
Several bot processes can share one fake: each may use its own REST prefix
(:meth:`FakeDiscord.api_url_for`), so the requests it makes are told apart (``Recorded.via``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "1100000000000000001"
BOT_USER = {"id": APP_ID, "username": "moosic", "discriminator": "0", "global_name": "Moo-Sic",
            "avatar": None, "bot": True}
GUILD_ID = "1300000000000000001"
CHANNEL_ID = "1400000000000000001"
DM_CHANNEL_ID = "1400000000000000002"
TIMESTAMP = "2026-03-01T12:00:00.000000+00:00"
EPHEMERAL = 64


def shard_of(guild_id: str | int | None, shard_count: int) -> int:
    """The shard that receives a guild's events: ``(guild_id >> 22) % shard_count``; DMs (no
    guild) go to shard 0. Source: Discord developer documentation, Gateway, "Sharding"
    (https://discord.com/developers/docs/events/gateway#sharding)."""
    if guild_id is None:
        return 0
    return (int(guild_id) >> 22) % shard_count


def _json(data: Any, status: int = 200) -> web.Response:
    """JSON with the bare content type Discord sends (discord.py compares it exactly)."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        content_type="application/json")


@dataclass
class Recorded:
    """One request the bot made."""

    method: str
    path: str
    query: dict[str, str]
    body: Any = None
    files: dict[str, bytes] = field(default_factory=dict)  # attachments: name -> bytes
    via: str = ""  # the REST prefix of api_url_for(via) the request came in on; "" = api_url

    @property
    def flags(self) -> int:
        data = self.body.get("data", self.body) if isinstance(self.body, dict) else {}
        return int((data or {}).get("flags") or 0)


@dataclass
class FakeDiscord:
    """Start with ``await fake.start()``; ``api_url`` goes into ``DiscordConfig.api_url``."""

    requests: list[Recorded] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    gateway_events: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    reject_token: bool = False  # answer 401 to the login, as Discord does for a bad token
    names: dict[str, str] = field(default_factory=dict)  # user id -> display name
    recommended_shards: int = 1  # the shard count GET /gateway/bot recommends

    def __post_init__(self) -> None:
        self._ids = itertools.count(1500000000000000001)
        self._seq = itertools.count(1)
        self._changed = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self.shards: dict[web.WebSocketResponse, tuple[int, int]] = {}  # socket -> (id, count)
        self._runner: web.AppRunner | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{name:.+}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.+}", self._api)
        app.router.add_route("*", "/via/{via}/api/v10/{path:.+}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)  # 0: a free port
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    def api_url_for(self, via: str) -> str:
        """The REST base for one bot process of several: its requests are recorded with
        ``via``."""
        return f"{self.base}/via/{via}/api/v10"

    def identified_shards(self) -> list[tuple[int, int]]:
        """(shard id, shard count) of every connected socket that identified with a shard."""
        return sorted(self.shards.values())

    def snowflake(self) -> str:
        return str(next(self._ids))

    def _note(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Callable[[Recorded], bool], count: int = 1,
                       timeout: float = 20.0) -> list[Recorded]:
        """The first ``count`` recorded requests matching ``predicate``, waiting for them."""
        async def poll() -> list[Recorded]:
            while True:
                found = [r for r in self.requests if predicate(r)]
                if len(found) >= count:
                    return found[:count]
                self._changed.clear()
                await self._changed.wait()
        return await asyncio.wait_for(poll(), timeout)

    # --- REST ------------------------------------------------------------------------------
    def _message(self, body: dict[str, Any], channel_id: str = CHANNEL_ID) -> dict[str, Any]:
        return {"id": self.snowflake(), "channel_id": channel_id, "author": BOT_USER,
                "content": body.get("content") or "", "timestamp": TIMESTAMP,
                "edited_timestamp": None, "tts": False, "mention_everyone": False,
                "mentions": [], "mention_roles": [], "attachments": [],
                "embeds": body.get("embeds") or [], "pinned": False, "type": 0,
                "components": body.get("components") or [], "flags": body.get("flags") or 0,
                "application_id": APP_ID, "webhook_id": APP_ID}

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        files: dict[str, bytes] = {}
        if request.content_type.startswith("multipart/"):  # a message with attachments
            form = await request.post()
            payload = form.get("payload_json")
            body = json.loads(payload) if isinstance(payload, str) else {}
            files = {v.filename: v.file.read() for v in form.values()
                     if isinstance(v, web.FileField)}
        else:
            body = await request.json() if request.can_read_body else None
        self.requests.append(Recorded(request.method, path, dict(request.query), body, files,
                                      request.match_info.get("via", "")))
        self._note()
        parts = path.strip("/").split("/")
        if self.reject_token:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        if path == "/users/@me":
            return _json(BOT_USER)
        if path == "/oauth2/applications/@me":
            return _json({
                "id": APP_ID, "name": "Moo-Sic", "description": "", "icon": None,
                "bot_public": True, "bot_require_code_grant": False, "owner": BOT_USER,
                "verify_key": "00" * 32, "flags": 0, "team": None})
        if path == "/gateway/bot":
            return _json({
                "url": f"ws://127.0.0.1:{self.port}/gateway", "shards": self.recommended_shards,
                "session_start_limit": {"total": 1000, "remaining": 999,
                                        "reset_after": 0, "max_concurrency": 1}})
        if parts[0] == "applications" and parts[-1] == "commands" and request.method == "PUT":
            return _json([self._command(c) for c in body or []])
        if parts[0] == "interactions" and parts[-1] == "callback":
            callback: dict[str, Any] = body or {}
            kind = int(callback["type"])
            flags = int((callback.get("data") or {}).get("flags") or 0)
            resource: dict[str, Any] = {"type": kind}
            if kind == 4:
                resource["message"] = self._message(callback.get("data") or {})
            return _json({
                "interaction": {"id": parts[1], "type": 2, "response_message_id": None,
                                "response_message_loading": kind == 5,
                                "response_message_ephemeral": bool(flags & EPHEMERAL)},
                "resource": resource})
        if parts[0] == "channels" and parts[-1] == "messages" and request.method == "POST":
            return _json(self._message(body or {}, parts[1]))
        if parts[0] == "webhooks":
            if request.method == "DELETE":
                return web.Response(status=204)
            return _json(self._message(body or {}))
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _command(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "id": self.snowflake(), "application_id": APP_ID, "version": "1",
                "default_member_permissions": None, "type": payload.get("type", 1)}

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append(Recorded("GET", f"/cdn/{name}", dict(request.query)))
        self._note()
        if name not in self.files:
            return web.Response(status=404, text="404: Not Found")
        data, content_type = self.files[name]
        return web.Response(body=data, headers={"Content-Type": content_type})

    # --- gateway ---------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            event = json.loads(msg.data)
            self.gateway_events.append(event)
            self._note()
            if event["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif event["op"] == 2:
                ready: dict[str, Any] = {
                    "v": 10, "user": BOT_USER, "guilds": [], "session_id": "fake-session",
                    "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                    "application": {"id": APP_ID, "flags": 0}}
                shard = event["d"].get("shard")
                if shard is not None:
                    self.shards[ws] = (int(shard[0]), int(shard[1]))
                    ready["shard"] = shard
                await self._send(ws, "READY", ready)
        self._sockets.remove(ws)
        self.shards.pop(ws, None)
        self.gateway_events.append({"op": "closed"})
        self._note()
        return ws

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    async def dispatch(self, event: str, data: dict[str, Any], *, every_shard: bool = False
                       ) -> None:
        """Send a gateway event to the connected clients of the shard it belongs to (its
        ``guild_id``, :func:`shard_of`), as Discord does; clients that identified without a
        shard get every event. ``every_shard``: to every client (no real Discord does this;
        it stands for one event reaching two sessions, e.g. one shard run by two processes)."""
        for ws in list(self._sockets):
            shard = self.shards.get(ws)
            if every_shard or shard is None or shard[0] == shard_of(data.get("guild_id"),
                                                                    shard[1]):
                await self._send(ws, event, data)

    async def interact(self, payload: dict[str, Any], *, every_shard: bool = False) -> str:
        """Deliver an INTERACTION_CREATE; returns its token to find the bot's answers."""
        await self.dispatch("INTERACTION_CREATE", payload, every_shard=every_shard)
        return str(payload["token"])

    # --- recorded-shape payloads -----------------------------------------------------------
    def attachment(self, name: str, data: bytes | None, content_type: str | None,
                   size: int | None = None) -> dict[str, Any]:
        """An attachment as Discord resolves it; ``data=None`` is one the CDN lost;
        ``content_type=None`` one Discord gave no type (it then has no such field)."""
        attachment_id = self.snowflake()
        key = f"attachments/{CHANNEL_ID}/{attachment_id}/{name}"
        if data is not None:
            self.files[key] = (data, content_type or "application/octet-stream")
        url = f"{self.base}/cdn/{key}"
        payload = {"id": attachment_id, "filename": name, "size": len(data or b"")
                   if size is None else size, "url": url, "proxy_url": url}
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    def _base(self, kind: int, user_id: str, guild: bool, guild_id: str = GUILD_ID
              ) -> dict[str, Any]:
        user = {"id": user_id, "username": f"user{user_id[-3:]}", "discriminator": "0",
                "global_name": self.names.get(user_id, "Ann"), "avatar": None}
        payload: dict[str, Any] = {
            "id": self.snowflake(), "application_id": APP_ID, "type": kind,
            "token": f"itoken-{self.snowflake()}", "version": 1, "locale": "en-US",
            "app_permissions": "2248473465835073", "entitlements": [],
            "attachment_size_limit": 26214400}
        if guild:
            payload.update(
                guild_id=guild_id, channel_id=CHANNEL_ID, context=0,
                guild={"id": guild_id, "locale": "en-US", "features": []},
                channel={"id": CHANNEL_ID, "type": 0, "guild_id": guild_id, "name": "music",
                         "position": 0, "permission_overwrites": [], "nsfw": False,
                         "parent_id": None},
                member={"user": user, "roles": [], "joined_at": TIMESTAMP, "deaf": False,
                        "mute": False, "flags": 0, "permissions": "2248473465835073"},
                authorizing_integration_owners={"0": guild_id})
        else:
            payload.update(channel_id=DM_CHANNEL_ID, context=1, user=user,
                           channel={"id": DM_CHANNEL_ID, "type": 1, "recipients": [user]},
                           authorizing_integration_owners={"0": GUILD_ID})
        return payload

    def slash(self, name: str, options: dict[str, Any] | None = None, *, user_id: str,
              guild: bool = True, sub: str | None = None,
              attachments: dict[str, dict[str, Any]] | None = None,
              guild_id: str = GUILD_ID) -> dict[str, Any]:
        """A slash command (type 2); ``attachments`` maps an option name to :meth:`attachment`;
        ``guild_id``: the server it was used in (when ``guild``)."""
        opts: list[dict[str, Any]] = [{"name": k, "type": 5 if isinstance(v, bool) else 3,
                                       "value": v} for k, v in (options or {}).items()]
        resolved: dict[str, Any] = {}
        for option, att in (attachments or {}).items():
            opts.append({"name": option, "type": 11, "value": att["id"]})
            resolved.setdefault("attachments", {})[att["id"]] = att
        if sub is not None:
            opts = [{"name": sub, "type": 1, "options": opts}]
        data: dict[str, Any] = {"id": self.snowflake(), "name": name, "type": 1,
                                "options": opts}
        if resolved:
            data["resolved"] = resolved
        return {**self._base(2, user_id, guild, guild_id), "data": data}

    def press(self, custom_id: str, message: Recorded, *, user_id: str,
              guild: bool = True) -> dict[str, Any]:
        """A button press (type 3) on a message the bot sent (``message`` is its request)."""
        payload = self._base(3, user_id, guild)
        channel = CHANNEL_ID if guild else DM_CHANNEL_ID
        sent = self._message(message.body.get("data", message.body), channel)
        return {**payload, "message": sent,
                "data": {"custom_id": custom_id, "component_type": 2}}
