"""A fake Slack Web API on loopback: records every call and answers like Slack.

Like the real API it refuses what Slack refuses: invalid Block Kit payloads (validated with
slack_sdk's own models: `invalid_blocks`), posting in a channel the bot is not a member of
(`not_in_channel`), unknown tokens (`not_authed`), reacting twice (`already_reacted`), taking away a
reaction that is not there (`no_reaction`); it can answer
429 with Retry-After first, or a given error for a given method (`fail`), or sit on a call after
taking it (`hold`: the message is posted, its ts reaches the caller only later), and it records what is
posted to interaction response URLs (`POST /response...`). It keeps the messages the bot posted (with
their metadata) and answers `conversations.replies` from them. Bodies posted to response URLs are
validated like messages.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSlack:
    bot_user: str = "UBOT"
    calls: list[Call] = field(default_factory=list)
    rate_limit: dict[str, int] = field(default_factory=dict)  # method -> number of 429s to send first
    retry_after: str = "1"  # the Retry-After of those 429s (seconds)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    ws_url: str = ""
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    uploads: dict[str, bytes] = field(default_factory=dict)
    absent_channels: set[str] = field(default_factory=set)  # channels the bot is not a member of
    fail: dict[str, list[str]] = field(default_factory=dict)  # method -> errors to answer first
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (method, why) of refused payloads
    responses: list[dict[str, Any]] = field(default_factory=list)  # bodies posted to response URLs
    _reactions: set[tuple[str, str, str]] = field(default_factory=set)
    hold: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds to sit on the next calls
    messages: list[dict[str, Any]] = field(default_factory=list)  # what is in the channels (posted, updated)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                path = self.path.split("?")[0]
                if path.startswith("/upload/"):
                    fake.uploads[path.rsplit("/", 1)[1]] = raw
                    self._send(200, b"OK", "text/plain")
                    return
                if path.startswith(("/response", "/api/response")):
                    posted = json.loads(raw or b"{}")
                    problem = validate_message(posted)
                    with fake._lock:
                        fake.responses.append(posted)
                        if problem is not None:
                            fake.invalid.append(("response_url", problem))
                    # Slack answers a response URL post it refuses with a 4xx and the reason.
                    self._send(400 if problem else 200, (problem or "ok").encode(), "text/plain")
                    return
                method = path.replace("/api/", "", 1).strip("/")
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    params = json.loads(raw or b"{}")
                else:
                    params = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                    for k in ("blocks", "files"):
                        if isinstance(params.get(k), str):
                            with contextlib.suppress(ValueError):
                                params[k] = json.loads(params[k])
                status, body, headers = fake.answer(method, params, dict(self.headers))
                self._send(status, json.dumps(body).encode(), "application/json", headers)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                method = path.replace("/api/", "", 1).strip("/")
                params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
                status, body, headers = fake.answer(method, params, dict(self.headers))
                self._send(status, json.dumps(body).encode(), "application/json", headers)

            def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        auth = headers.get("Authorization", "")
        call = Call(method, params, headers, time.monotonic())
        with self._lock:
            self.calls.append(call)
            if self.rate_limit.get(method, 0) > 0:
                self.rate_limit[method] -= 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": self.retry_after}
            ts = f"1700000000.{next(self._ts):06d}"
            queued = self.fail.get(method)
            forced = queued.pop(0) if queued else None
            held = self.hold.get(method)
            wait = held.pop(0) if held else 0.0
        if not auth.startswith("Bearer xoxb-") and not auth.startswith("Bearer xapp-"):
            return 200, {"ok": False, "error": "not_authed"}, {}
        if forced is not None:
            return 200, {"ok": False, "error": forced}, {}
        problem = (
            validate_message(params) if method in ("chat.postMessage", "chat.update", "chat.postEphemeral") else None
        )
        if problem is None and method == "views.publish":
            problem = validate_view(params.get("view"))
        if problem is not None:
            with self._lock:
                self.invalid.append((method, problem))
            return 200, {"ok": False, "error": "invalid_blocks", "errors": [problem]}, {}
        if method in ("chat.postMessage", "chat.postEphemeral") and params.get("channel") in self.absent_channels:
            return 200, {"ok": False, "error": "not_in_channel"}, {}
        if method == "reactions.add":
            key = (str(params.get("channel")), str(params.get("timestamp")), str(params.get("name")))
            with self._lock:
                if key in self._reactions:
                    return 200, {"ok": False, "error": "already_reacted"}, {}
                self._reactions.add(key)
        if method == "reactions.remove":
            key = (str(params.get("channel")), str(params.get("timestamp")), str(params.get("name")))
            with self._lock:
                if key not in self._reactions:
                    return 200, {"ok": False, "error": "no_reaction"}, {}
                self._reactions.discard(key)
        if method == "auth.test":
            return (
                200,
                {
                    "ok": True,
                    "user_id": self.bot_user,
                    "bot_id": "BBOT",
                    "team_id": "T0001",
                    "user": "campaign-bot",
                    "url": "https://example.invalid/",
                },
                {},
            )
        if method in ("chat.postMessage", "chat.update"):
            call.result = {
                "ok": True,
                "channel": params.get("channel"),
                "ts": params.get("ts") or ts,
                "message": {"text": params.get("text")},
            }
            self._keep(method, params, str(call.result["ts"]))
            if wait:
                time.sleep(wait)  # the message is in Slack; the caller hears of it only now
            return 200, call.result, {}
        if method == "conversations.replies":
            with_meta = str(params.get("include_all_metadata")).lower() in ("true", "1")
            with self._lock:
                found = [
                    {k: v for k, v in m.items() if k != "metadata" or with_meta}
                    for m in self.messages
                    if m["channel"] == params.get("channel") and params.get("ts") in (m["ts"], m.get("thread_ts"))
                ]
            return 200, {"ok": True, "messages": found, "has_more": False}, {}
        if method == "files.getUploadURLExternal":
            fid = f"F{next(self._ts):06d}"
            return 200, {"ok": True, "upload_url": self.url.replace("/api/", f"/upload/{fid}"), "file_id": fid}, {}
        if method == "files.completeUploadExternal":
            return 200, {"ok": True, "files": [{"id": f["id"]} for f in params.get("files", [])]}, {}
        if method == "usergroups.users.list":
            return 200, {"ok": True, "users": self.usergroups.get(str(params.get("usergroup")), [])}, {}
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": self.ws_url}, {}
        return 200, {"ok": True}, {}

    def _keep(self, method: str, params: dict[str, Any], ts: str) -> None:
        """Remember a posted or updated message, as conversations.replies shows it."""
        with self._lock:
            if method == "chat.update":
                for m in self.messages:
                    if m["channel"] == params.get("channel") and m["ts"] == ts:
                        m["text"] = params.get("text")
                return
            msg: dict[str, Any] = {
                "type": "message",
                "channel": params.get("channel"),
                "ts": ts,
                "thread_ts": params.get("thread_ts"),
                "text": params.get("text"),
                "user": self.bot_user,
                "bot_id": "BBOT",
            }
            if isinstance(params.get("metadata"), dict):
                msg["metadata"] = params["metadata"]
            self.messages.append(msg)

    # --- helpers for assertions
    def assert_all_valid(self) -> None:
        """Every message the bot sent was accepted by the Block Kit models (no invalid_blocks)."""
        assert not self.invalid, f"Slack would refuse {len(self.invalid)} payload(s): {self.invalid[:3]}"

    def reactions(self, channel: str, ts: str) -> set[str]:
        """The reactions the bot has on a message now (added and not taken away)."""
        with self._lock:
            return {n for c, t, n in self._reactions if c == channel and t == ts}

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.05)
        return False


def validate_message(params: dict[str, Any]) -> str | None:
    """What real Slack would refuse in a message: Block Kit errors, a missing or too long text."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    blocks = params.get("blocks")
    text = params.get("text")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return "blocks are not JSON"
    if blocks:
        if not isinstance(blocks, list) or len(blocks) > 50:
            return "more than 50 blocks"
        for b in blocks:
            try:
                parsed = Block.parse(b)
                if parsed is None:
                    return f"unknown block {b.get('type')!r}"
                parsed.validate_json()
            except (SlackObjectFormationError, KeyError, TypeError, ValueError) as e:
                return f"{b.get('type')}: {e}"
    elif not text:
        return "no text and no blocks"
    if isinstance(text, str) and len(text) > 40000:
        return "msg_too_long"
    return None


def validate_view(view: Any) -> str | None:
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.views import View

    if isinstance(view, str):
        view = json.loads(view)
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError) as e:
        return f"view: {e}"
    if len(view.get("blocks", [])) > 100:
        return "view: more than 100 blocks"
    return None
