"""A fake Telegram Bot API on 127.0.0.1 for driving the real python-telegram-bot client.

Runs in the caller's event loop (aiohttp). Implements what the bot calls: ``getMe``,
``getUpdates`` (long polling; an ``offset`` confirms and drops every earlier update, as Telegram
does), ``sendMessage``, ``sendChatAction``, ``editMessageText``, ``editMessageReplyMarkup``,
``answerCallbackQuery``, ``setMyCommands``, ``deleteWebhook``, ``setWebhook``, ``getFile``,
``sendDocument`` (the uploaded file is in ``Call.upload``) and the file download path
``/file/bot<token>/<path>``. Tests push update JSON (``push_*``) and read what the bot sent
(``calls``, ``wait_for``). ``flood_next(method)`` answers the next call of a method with 429
flood control; ``closed_private`` users get 403 for private messages (they never started the
bot). ``hold_downloads()`` keeps file downloads waiting (a bot inside an update) until
``release_downloads()``; ``deliver`` POSTs an update to a webhook and ``deliver_until_answered``
retries it round the replicas as Telegram does after a failed call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_ID = 7000001
MAX_GETFILE_BYTES = 20 * 1024 * 1024


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def upload(self) -> tuple[str, bytes] | None:
        """(file name, bytes) of a file the bot uploaded with this call (``sendDocument``)."""
        value = self.params.get("document")
        return value if isinstance(value, tuple) else None

    @property
    def markup(self) -> dict[str, Any] | None:
        raw = self.params.get("reply_markup")
        return json.loads(raw) if isinstance(raw, str) else raw

    def actions(self) -> list[str]:
        """The callback data of every inline button."""
        rows = (self.markup or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def user(user_id: int, first_name: str = "Ana") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def private_chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": "Ana"}


def group_chat(chat_id: int = -1001, title: str = "Friends") -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": title}


def _entities(text: str | None, username: str) -> list[dict[str, Any]]:
    if not text:
        return []
    found = []
    if text.startswith("/"):
        found.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    handle = f"@{username}"
    at = text.find(handle)
    if at >= 0 and not text.startswith("/"):
        found.append({"type": "mention", "offset": at, "length": len(handle)})
    return found


class FakeTelegram:
    """The server and its state; tests push updates and inspect calls."""

    def __init__(self, token: str = "123456:TEST-token-never-logged",
                 username: str = "moosic_test_bot") -> None:
        self.token = token
        self.username = username
        self.pending: list[dict[str, Any]] = []  # updates not yet confirmed by an offset
        self.pushed_at: dict[int, float] = {}
        self.calls: list[Call] = []
        self.get_updates_calls = 0
        self.closed_private: set[int] = set()
        self.files: dict[str, tuple[str, bytes, int]] = {}  # file_id -> (path, data, size)
        self.downloads: list[str] = []
        self.decoy_paths: set[str] = set()  # the small sizes of pushed photos
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._floods: dict[str, list[int]] = {}
        self._watchers: list[asyncio.Event] = []  # long polls and wait_for calls
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.updates: dict[int, dict[str, Any]] = {}  # every pushed update, for (re)delivery
        self.webhook_url: str | None = None  # set by setWebhook, with its secret token
        self.webhook_secret: str | None = None
        self.failing_downloads = 0
        self._downloads_open = asyncio.Event()
        self._downloads_open.set()
        self.deliveries: list[tuple[int, str, int | None]] = []  # (update, url, status|None)

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1:``port`` (0: a free port)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self.release_downloads()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- test controls -------------------------------------------------------------------
    def flood_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 flood control."""
        self._floods.setdefault(method, []).extend([retry_after] * times)

    def add_file(self, data: bytes, size: int | None = None) -> str:
        """Store a file the bot may download; ``size`` may claim more than ``len(data)``."""
        n = next(self._ids)
        file_id = f"file-{n}"
        self.files[file_id] = (f"documents/file_{n}", data, len(data) if size is None else size)
        return file_id

    def push(self, update: dict[str, Any]) -> int:
        update_id = next(self._ids)
        update["update_id"] = update_id
        self.updates[update_id] = update
        self.pending.append(update)
        self.pushed_at[update_id] = time.perf_counter()
        self._notify()
        return update_id

    def push_message(self, chat: dict[str, Any], sender: dict[str, Any], text: str | None = None,
                     *, photo: bytes | None = None, document: dict[str, Any] | None = None,
                     caption: str | None = None, reply_to: dict[str, Any] | None = None,
                     media_group_id: str | None = None, extra: dict[str, Any] | None = None
                     ) -> int:
        """A new message; ``photo`` gets a small decoy size first and the real bytes last.

        ``media_group_id`` makes it a part of an album; ``extra`` adds any other fields (a
        ``sticker``, a ``voice`` ...)."""
        message: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                   "chat": chat, "from": sender, **(extra or {})}
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        if text is not None:
            message["text"] = text
            message["entities"] = _entities(text, self.username)
        if photo is not None:
            decoy = self.add_file(b"not the large photo")
            self.decoy_paths.add(self.files[decoy][0])
            real = self.add_file(photo)
            message["photo"] = [
                {"file_id": decoy, "file_unique_id": f"u{decoy}", "width": 90, "height": 90,
                 "file_size": 19},
                {"file_id": real, "file_unique_id": f"u{real}", "width": 640, "height": 640,
                 "file_size": len(photo)}]
        if document is not None:
            message["document"] = document
        if caption is not None:
            message["caption"] = caption
            message["caption_entities"] = _entities(caption, self.username)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return self.push({"message": message})

    def document(self, data: bytes, file_name: str, mime_type: str,
                 size: int | None = None) -> dict[str, Any]:
        file_id = self.add_file(data, size)
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
                "mime_type": mime_type, "file_size": self.files[file_id][2]}

    def push_button(self, chat: dict[str, Any], sender: dict[str, Any], data: str,
                    message_id: int = 1) -> int:
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                   "from": self.me(), "text": "(an earlier message)"}
        return self.push({"callback_query": {"id": f"cb{next(self._ids)}", "from": sender,
                                             "chat_instance": "ci", "data": data,
                                             "message": message}})

    async def deliver(self, update_id: int, url: str | None = None) -> int:
        """POST a pushed update to the bot's webhook as Telegram does (again, when it was
        delivered before: Telegram's redelivery); ``url`` sends it to another address (one
        replica of several). Returns the HTTP status the bot answered."""
        target = url or self.webhook_url
        assert target, "no webhook: setWebhook was not called"
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret or ""}
        async with aiohttp.ClientSession() as session, session.post(
                target, json=self.updates[update_id], headers=headers) as response:
            return response.status

    async def deliver_until_answered(self, update_id: int, urls: list[str], *, first: int = 0,
                                     retry_s: float = 0.5, timeout: float = 60.0) -> int:
        """Deliver an update as Telegram does: to ``urls[first]``, and after a failed call
        (a non-2xx status, a refused or dropped connection) again ``retry_s`` later to the next
        URL, round-robin (a load balancer), until one answers 2xx; returns that status. Every
        attempt is recorded in :attr:`deliveries` (status None: the connection failed)."""
        deadline = time.monotonic() + timeout
        attempt = first
        while True:
            url = urls[attempt % len(urls)]
            try:
                status: int | None = await self.deliver(update_id, url)
            except aiohttp.ClientError:
                status = None
            self.deliveries.append((update_id, url, status))
            if status is not None and 200 <= status < 300:
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"update {update_id} was never answered: "
                                     f"{[d for d in self.deliveries if d[0] == update_id]}")
            attempt += 1
            await asyncio.sleep(retry_s)

    def fail_downloads(self, times: int = 1) -> None:
        """Answer the next ``times`` file downloads 502 Bad Gateway (a network error)."""
        self.failing_downloads = times

    def hold_downloads(self) -> None:
        """Keep every file download waiting from now on (the bot stays inside its update)."""
        self._downloads_open.clear()

    def release_downloads(self) -> None:
        self._downloads_open.set()

    def me(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Moo-Sic",
                "username": self.username, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and (chat_id is None or c.chat_id == chat_id)]

    async def wait_for(self, predicate: Callable[[FakeTelegram], bool],
                       timeout: float = 15.0) -> None:
        """Wait until ``predicate(self)`` holds (an AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        event = asyncio.Event()  # this waiter's own: a call between check and wait is kept
        self._watchers.append(event)
        try:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    calls = [(c.method, c.chat_id, c.text[:60]) for c in self.calls]
                    raise AssertionError(f"timed out; calls so far: {calls}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), left)
                event.clear()
        finally:
            self._watchers.remove(event)

    async def replies(self, chat_id: int, n: int = 1, timeout: float = 15.0) -> list[Call]:
        """Wait for ``n`` messages to ``chat_id``; returns all so far."""
        await self.wait_for(lambda f: len(f.sent("sendMessage", chat_id)) >= n, timeout)
        return self.sent("sendMessage", chat_id)

    # --- the API ---------------------------------------------------------------------------
    def _notify(self) -> None:
        for event in self._watchers:
            event.set()

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for k, v in form.items():
            if isinstance(v, str):
                params[k] = v
            elif isinstance(v, web.FileField):  # an upload: kept as (file name, bytes)
                params[k] = (v.filename, v.file.read())
        return params

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        if method == "getUpdates":
            return await self._get_updates(params)
        self.calls.append(Call(method, params))
        self._notify()
        floods = self._floods.get(method)
        if floods:
            retry_after = floods.pop(0)
            return web.json_response(
                {"ok": False, "error_code": 429,
                 "description": f"Too Many Requests: retry after {retry_after}",
                 "parameters": {"retry_after": retry_after}}, status=429)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        return await handler(params)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": code, "description": description},
                                 status=code)

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        self.get_updates_calls += 1
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        while not self.pending and time.monotonic() < deadline:
            event = asyncio.Event()
            self._watchers.append(event)
            try:
                await asyncio.wait_for(event.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
            finally:
                self._watchers.remove(event)
        return self._ok(self.pending[:limit])

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = private_chat(chat_id) if chat_id > 0 else group_chat(chat_id)
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self.me(), **extra}

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self.me())

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        if chat_id > 0 and chat_id in self.closed_private:
            return self._error(403, "Forbidden: bot can't initiate conversation with a user")
        return self._ok(self._message(params, text=params.get("text", "")))

    async def _m_sendDocument(self, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        if chat_id > 0 and chat_id in self.closed_private:
            return self._error(403, "Forbidden: bot can't initiate conversation with a user")
        upload = params.get("document")
        if not isinstance(upload, tuple):
            return self._error(400, "Bad Request: there is no document in the request")
        name, data = upload
        return self._ok(self._message(params, caption=params.get("caption", ""), document={
            "file_id": f"up{len(self.calls)}", "file_unique_id": f"u{len(self.calls)}",
            "file_name": name, "file_size": len(data)}))

    async def _m_editMessageText(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self._message(params, text=params.get("text", "")))

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self._message(params, text=""))

    async def _m_sendChatAction(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_setMyCommands(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = self.webhook_secret = None
        return self._ok(True)

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = params.get("url") or None
        self.webhook_secret = params.get("secret_token")
        return self._ok(True)

    async def _m_getFile(self, params: dict[str, Any]) -> web.Response:
        entry = self.files.get(str(params.get("file_id")))
        if entry is None:
            return self._error(400, "Bad Request: invalid file_id")
        path, _, size = entry
        if size > MAX_GETFILE_BYTES:
            return self._error(400, "Bad Request: file is too big")
        return self._ok({"file_id": params["file_id"], "file_unique_id": f"u{params['file_id']}",
                         "file_size": size, "file_path": path})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.downloads.append(path)
        self._notify()
        await self._downloads_open.wait()
        if self.failing_downloads > 0:  # Telegram's file server having a bad moment
            self.failing_downloads -= 1
            return web.Response(status=502)
        for stored_path, data, _ in self.files.values():
            if stored_path == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404)
