"""Authentication in front of the WSGI apps: Slack's request signature and a bearer token.

Both answer 401 and never call the inner app when the check fails; both compare in constant time.
Log lines name the peer and the reason, never a header value or body content.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.http.limits import DEFAULT_BODY_LIMIT, HttpRequestError, read_body
from bot.http.slack_body import body_problem
from bot.http.wsgi import WSGIApp, client_address, request_line, respond_error

if TYPE_CHECKING:
    from collections.abc import Iterable
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

SLACK_MAX_AGE_S = 5 * 60  # Slack: refuse requests whose timestamp is more than five minutes away
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def slack_signature_problem(
    secret: bytes, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """None when the request carries a valid Slack v0 signature; otherwise why not (for the log).

    Slack's v0 scheme: `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{body}`), the timestamp
    within five minutes of `now`, compared in constant time. Computed on the raw bytes:
    slack_sdk's SignatureVerifier decodes the body as UTF-8 first and calls int() on the
    timestamp, so a binary body or a non-numeric timestamp would raise there instead of simply
    being refused.
    """
    if not timestamp or not signature:
        return "no signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "malformed timestamp"
    if abs(now - int(timestamp)) > SLACK_MAX_AGE_S:
        return "stale timestamp"
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    presented = signature.encode("latin-1", errors="replace")  # WSGI header values are latin-1 str
    return None if hmac.compare_digest(expected.encode(), presented) else "signature mismatch"


class SlackSignatureGuard:
    """WSGI middleware for Slack's request URL.

    In this order, and nothing else runs before: the body is read within `limit` (413 over it);
    `X-Slack-Signature` / `X-Slack-Request-Timestamp` are verified on the raw bytes (401
    `{"error": "invalid request"}` otherwise); only then is the body parsed, and a body Bolt could
    not take (see `slack_body.body_problem`) gets 400 `{"error": "malformed request body"}` with a
    one-line log entry. The inner app then gets the same bytes on a fresh `wsgi.input`.
    """

    def __init__(
        self,
        app: WSGIApp,
        signing_secret: str,
        *,
        limit: int = DEFAULT_BODY_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not signing_secret.strip():
            raise ValueError("the Slack signing secret is empty")
        self.app = app
        self._secret = signing_secret.encode()
        self.limit = limit
        self.clock = clock

    def __repr__(self) -> str:  # never show the secret
        return f"SlackSignatureGuard({self.app!r}, limit={self.limit})"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        peer, line = client_address(environ), request_line(environ)
        try:
            body = read_body(environ, self.limit)
        except HttpRequestError as e:
            log.warning("%s from %s: %s (%d)", line, peer, e.reason, e.status)
            return respond_error(start_response, e.status, e.reason)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        refused = slack_signature_problem(self._secret, body, timestamp, signature, self.clock())
        if refused is not None:
            log.warning("%s from %s: %s (401)", line, peer, refused)
            return respond_error(start_response, 401, "invalid request")
        from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest  # exactly what Bolt's adapter passes on

        problem = body_problem(
            body, environ.get("CONTENT_TYPE"), WsgiHttpRequest(environ).get_headers(), environ.get("QUERY_STRING", "")
        )
        if problem is not None:
            log.warning("%s from %s: signed, but %s (400)", line, peer, problem)
            return respond_error(start_response, 400, "malformed request body")
        return self.app(environ, start_response)


class BearerGuard:
    """WSGI middleware: `Authorization: Bearer <token>` must carry `token`, compared in constant
    time (SHA-256 of both sides, so not even the length is timed); otherwise 401 with
    `WWW-Authenticate: Bearer` and the inner app is not called (the body is not read either)."""

    def __init__(self, app: WSGIApp, token: str, *, realm: str = "campaign-bot") -> None:
        if len(token) < 16:
            raise ValueError("the bearer token must be at least 16 characters")
        self.app = app
        self._digest = hashlib.sha256(token.encode()).digest()
        self.realm = realm

    def __repr__(self) -> str:  # never show the token
        return f"BearerGuard({self.app!r})"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        header = str(environ.get("HTTP_AUTHORIZATION") or "")
        scheme, _, presented = header.strip().partition(" ")
        presented = presented.strip()
        given = hashlib.sha256(presented.encode("latin-1", errors="replace")).digest()
        if scheme.lower() == "bearer" and presented and hmac.compare_digest(given, self._digest):
            return self.app(environ, start_response)
        challenge = f'Bearer realm="{self.realm}"'
        if header:  # RFC 6750 3.1: a presented but wrong token is "invalid_token"
            challenge += ', error="invalid_token"'
        log.warning(
            "%s from %s: %s (401)",
            request_line(environ),
            client_address(environ),
            "wrong bearer token" if header else "no bearer token",
        )
        return respond_error(start_response, 401, "unauthorized", [("WWW-Authenticate", challenge)])
