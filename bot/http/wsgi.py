"""Small WSGI helpers shared by the router, the body limit and the guards.

Every response this package writes itself is a short JSON object (`{"error": "..."}`) or a short
text line; none carries request data or a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

# A WSGI application, spelt out so that annotations need nothing at run time.
WSGIApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]

Headers = list[tuple[str, str]]


def status_line(code: int) -> str:
    """`413` -> `413 Request Entity Too Large` (the phrase from http.HTTPStatus)."""
    return f"{code} {HTTPStatus(code).phrase}"


def respond_json(
    start_response: StartResponse, code: int, payload: dict[str, Any], headers: Headers | None = None
) -> list[bytes]:
    """Answer with a small JSON object."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    start_response(
        status_line(code),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *(headers or [])],
    )
    return [body]


def respond_error(
    start_response: StartResponse, code: int, message: str, headers: Headers | None = None
) -> list[bytes]:
    """`{"error": message}` with status `code`."""
    return respond_json(start_response, code, {"error": message}, headers)


def respond_text(start_response: StartResponse, code: int, text: str, head: bool = False) -> list[bytes]:
    """A short text/plain answer (no body for HEAD, same headers)."""
    body = text.encode()
    start_response(
        status_line(code), [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [] if head else [body]


def client_address(environ: WSGIEnvironment) -> str:
    """The peer address for log lines (waitress's REMOTE_ADDR; proxy headers are not trusted)."""
    return str(environ.get("REMOTE_ADDR") or "?")


def request_line(environ: WSGIEnvironment) -> str:
    """`POST /slack/events` for log lines (no query string: it may carry tokens)."""
    return f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '?')}"
