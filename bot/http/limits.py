"""The request body limit: bodies over the limit get 413 before they are read whole.

`read_body` is the one place a request body is read. It checks CONTENT_LENGTH first and answers
413 without reading anything when it is over the limit; without a usable length (a chunked body
that the server did not de-chunk, or no header at all) it reads at most `limit + 1` bytes, so even
then no more than the limit plus one byte is ever held. The bytes are kept in the environ and
`wsgi.input` is replaced by a fresh stream over them, so the next layer (a signature check, then
Bolt) reads exactly the same bytes again.

Under `HttpServer` waitress enforces the same limit while it receives (max_request_body_size), so
an oversized body is refused with 413 before the application is even called; this layer keeps the
guarantee when the application runs under another WSGI server and gives the guards one read.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from bot.errors import CampaignBotError
from bot.http.wsgi import WSGIApp, client_address, request_line, respond_error

if TYPE_CHECKING:
    from collections.abc import Iterable
    from wsgiref.types import InputStream, StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

DEFAULT_BODY_LIMIT = 1024 * 1024  # 1 MiB: Slack's and Alertmanager's payloads are a few KB
BODY_KEY = "campaign_bot.body"  # the environ key that holds the body once read
_READ_CHUNK = 64 * 1024


class HttpRequestError(CampaignBotError):
    """A request the bot refuses: carries the HTTP status and the short reason shown to the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(environ: WSGIEnvironment, limit: int = DEFAULT_BODY_LIMIT) -> bytes:
    """The request body, read once and at most `limit` bytes long.

    Raises HttpRequestError(413) when CONTENT_LENGTH is over `limit` (nothing is read) or when more
    than `limit` bytes arrive, and HttpRequestError(400) for a malformed CONTENT_LENGTH or a body
    shorter than it says. After a successful read, `environ["wsgi.input"]` is a new stream over the
    same bytes and CONTENT_LENGTH is their length.
    """
    cached = environ.get(BODY_KEY)
    if isinstance(cached, bytes):
        if len(cached) > limit:
            raise HttpRequestError(413, "request body too large")
        return cached
    raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
    length: int | None = None
    if raw_length:
        if not raw_length.isdigit() or not raw_length.isascii():
            raise HttpRequestError(400, "invalid Content-Length")
        length = int(raw_length)
        if length > limit:
            raise HttpRequestError(413, "request body too large")
    stream = environ.get("wsgi.input")
    body = b"" if stream is None or length == 0 else _read_at_most(stream, limit + 1 if length is None else length)
    if len(body) > limit:
        raise HttpRequestError(413, "request body too large")
    if length is not None and len(body) != length:
        raise HttpRequestError(400, "request body shorter than its Content-Length")
    environ[BODY_KEY] = body
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _read_at_most(stream: InputStream, most: int) -> bytes:
    """Read until EOF or `most` bytes, in chunks (a server's stream may return short reads)."""
    parts: list[bytes] = []
    left = most
    try:
        while left > 0:
            chunk = stream.read(min(left, _READ_CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
    except (OSError, ValueError) as e:  # the client went away mid-body
        raise HttpRequestError(400, "request body could not be read") from e
    return b"".join(parts)


class BodyLimit:
    """WSGI middleware: reads the body with `read_body` before the inner app runs; 413 (or 400)
    otherwise, and the inner app is not called."""

    def __init__(self, app: WSGIApp, limit: int = DEFAULT_BODY_LIMIT) -> None:
        if limit < 1:
            raise ValueError("the body limit must be at least 1 byte")
        self.app = app
        self.limit = limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            read_body(environ, self.limit)
        except HttpRequestError as e:
            log.warning("%s from %s: %s (%d)", request_line(environ), client_address(environ), e.reason, e.status)
            return respond_error(start_response, e.status, e.reason)
        return self.app(environ, start_response)
