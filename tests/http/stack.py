"""The HTTP stack under test, and raw-socket clients for it.

`build_stack()` composes `bot.http.build_app` around a real Bolt app (Bolt's own WSGI handler,
listeners that only record what they were given) and a recording alert app. Run as a module it
serves that stack in its own process and prints `port N` once listening:

    python -m tests.http.stack [--plain] [--threads N]

`--plain` serves what `campaign-bot serve` ran before bot.http existed: Bolt's handler plus
/healthz under waitress's default limits (the "before" of docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import re
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult

from bot.http import HttpServer, Router, ServerLimits, build_app

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

SECRET = "http-test-signing-secret"
ALERT_TOKEN = "alert-token-0123456789abcdef"


def sign(body: bytes, ts: str | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def mention_body(event_id: str = "Ev1", text: str = "<@UBOT> is mta running?") -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "app_mention",
                "user": "U1",
                "text": text,
                "ts": "1.1",
                "channel": "C1",
                "event_ts": "1.1",
            },
        }
    ).encode()


def command_body(text: str = "mta") -> bytes:
    return urllib.parse.urlencode(
        {
            "command": "/campaign-module",
            "text": text,
            "user_id": "U1",
            "channel_id": "C1",
            "team_id": "T1",
            "response_url": "https://hooks.slack.invalid/x",
            "trigger_id": "1.2",
            "is_enterprise_install": "false",
        }
    ).encode()


@dataclass
class Recorder:
    """What the inner apps were given."""

    slack: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def alert_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self.lock:
            self.alerts.append((str(environ["PATH_INFO"]), body))
        start_response("202 Accepted", [("Content-Type", "application/json")])
        return [b'{"accepted":true}']


def bolt_app(recorder: Recorder) -> App:
    """A real Bolt app: request verification on, an authorize function instead of auth.test."""
    app = App(
        signing_secret=SECRET,
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="UBOT", bot_id="BBOT"
        ),
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )

    def record(kind: str, body: dict[str, Any]) -> None:
        with recorder.lock:
            recorder.slack.append({"kind": kind, "body": body})

    @app.event("app_mention")
    def _mention(ack: Any, body: dict[str, Any]) -> None:
        ack()
        record("app_mention", body)

    @app.event("message")
    def _message(ack: Any, body: dict[str, Any]) -> None:
        ack()
        record("message", body)

    @app.command("/campaign-module")
    def _command(ack: Any, body: dict[str, Any]) -> None:
        ack(text="card")
        record("command", body)

    @app.action({"action_id": re.compile(".*")})
    def _action(ack: Any, body: dict[str, Any]) -> None:
        ack()
        record("action", body)

    @app.view(re.compile(".*"))
    def _view(ack: Any, body: dict[str, Any]) -> None:
        ack()
        record("view", body)

    @app.shortcut(re.compile(".*"))
    def _shortcut(ack: Any, body: dict[str, Any]) -> None:
        ack()
        record("shortcut", body)

    @app.options(re.compile(".*"))
    def _options(ack: Any, body: dict[str, Any]) -> None:
        ack(options=[])
        record("options", body)

    return app


def build_stack(recorder: Recorder) -> Router:
    return build_app(
        slack=SlackRequestHandler(bolt_app(recorder)),
        signing_secret=SECRET,
        alertmanager=recorder.alert_app,
        grafana=recorder.alert_app,
        alert_token=ALERT_TOKEN,
    )


def plain_stack(recorder: Recorder) -> Any:
    """What `campaign-bot serve` composed before bot.http: Bolt's handler and /healthz."""
    bolt = SlackRequestHandler(bolt_app(recorder), path="/slack/events")

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return bolt(environ, start_response)

    return application


# -- clients -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (reset, closed, timed out)
    body: bytes
    seconds: float
    note: str = ""
    raw_head: str = ""  # status line and headers

    def header(self, name: str) -> str | None:
        """A response header's value (names compare case-insensitively: waitress title-cases them)."""
        for line in self.raw_head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


def _parse(raw: bytes) -> tuple[int | None, bytes, str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1]), body, head.decode("latin-1")
    return None, raw, ""


def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    host: str = "127.0.0.1",
) -> Answer:
    """One HTTP/1.1 request on a new connection (`Connection: close`), read to the end."""
    start = time.monotonic()
    hdrs = {"Host": f"{host}:{port}", "Connection": "close", "Content-Length": str(len(body)), **(headers or {})}
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    chunks: list[bytes] = []
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(head.encode("latin-1") + body)
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
    except OSError as e:
        status, rest, raw_head = _parse(b"".join(chunks))
        return Answer(status, rest, time.monotonic() - start, type(e).__name__, raw_head)
    status, rest, raw_head = _parse(b"".join(chunks))
    return Answer(status, rest, time.monotonic() - start, "", raw_head)


def post_slack(
    port: int, body: bytes, content_type: str = "application/json", signed: bool = True, **kw: Any
) -> Answer:
    headers = {"Content-Type": content_type, **(sign(body) if signed else {})}
    return request(port, "POST", "/slack/events", body, headers, **kw)


def send_large(
    port: int,
    size: int,
    path: str = "/slack/events",
    chunked: bool = False,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
    content_type: str = "application/x-www-form-urlencoded",
) -> Answer:
    """POST `size` bytes (`text=xxx...`), stopping as soon as the server answers (as a real client would notice).

    Returns the HTTP status if one was read; a connection the server closed or reset before an
    answer could be read is status None with the error in `note`."""
    start = time.monotonic()
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{extra}{framing}\r\n\r\n"
    ).encode()
    first, piece = b"text=" + b"x" * (64 * 1024 - 5), b"x" * (64 * 1024)
    received: list[bytes] = []
    note = ""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        s.setblocking(False)
        sent = 0  # body bytes framed so far
        pending = b""  # framed bytes not yet accepted by the socket
        deadline = start + timeout
        while (sent < size or pending) and time.monotonic() < deadline:
            readable, writable, _ = select.select([s], [s], [], 1.0)
            if readable:
                break  # the server answered (or closed) before the whole body was sent
            if not writable:
                continue
            if not pending:
                n = min(len(piece), size - sent)
                data = (first if sent == 0 else piece)[:n]
                pending = (f"{n:x}\r\n".encode() + data + b"\r\n") if chunked else data
                sent += n
            try:
                pending = pending[s.send(pending) :]
            except BlockingIOError:
                continue
            except OSError as e:
                note = type(e).__name__
                break
        if chunked and sent >= size and not pending and not note:
            s.setblocking(True)
            s.sendall(b"0\r\n\r\n")
        s.setblocking(True)
        s.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                received.append(data)
                if b"\r\n\r\n" in b"".join(received):
                    break
        except OSError as e:
            note = note or type(e).__name__
    status, rest, raw_head = _parse(b"".join(received))
    return Answer(status, rest, time.monotonic() - start, note, raw_head)


# -- the server process ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plain", action="store_true", help="waitress defaults and Bolt's handler (before)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    recorder = Recorder()
    if args.plain:
        import waitress.server

        server: Any = waitress.server.create_server(
            plain_stack(recorder), host=args.host, port=0, threads=args.threads, ident="campaign-bot"
        )
        print(f"port {server.effective_port}", flush=True)
        server.run()
        return 0
    http = HttpServer(build_stack(recorder), args.host, 0, threads=args.threads, limits=ServerLimits())
    signal.signal(signal.SIGTERM, lambda *_: http.stop())
    print(f"port {http.port}", flush=True)
    http.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
