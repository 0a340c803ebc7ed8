"""A fake Slack Web API on loopback: records every call, answers like Slack, can answer 429 first."""

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
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    ws_url: str = ""
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    uploads: dict[str, bytes] = field(default_factory=dict)

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
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
            ts = f"1700000000.{next(self._ts):06d}"
        if not auth.startswith("Bearer xoxb-") and not auth.startswith("Bearer xapp-"):
            return 200, {"ok": False, "error": "not_authed"}, {}
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
            return 200, call.result, {}
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

    # --- helpers for assertions
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
