"""The WSGI router: exact paths to WSGI apps, `GET /healthz`, 404 and 405.

It is also the last line of defence: an app that raises gets a 500 `{"error": "internal error"}`
(the traceback goes to the log, never into the response), and responses are collected before they
are sent, so a failure half-way through an app's answer still becomes a clean 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.http.wsgi import Headers, WSGIApp, request_line, respond_error, respond_text

if TYPE_CHECKING:
    from types import TracebackType
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

HEALTHZ = "/healthz"


@dataclass(frozen=True)
class Route:
    """A WSGI app and the methods it accepts (POST by default)."""

    app: WSGIApp
    methods: frozenset[str] = field(default_factory=lambda: frozenset({"POST"}))


class Router:
    """Dispatch on the exact PATH_INFO (no prefixes, no trailing-slash variants).

    `GET`/`HEAD /healthz` answers `ok` unless `routes` has its own `/healthz`. Unknown paths get 404
    `{"error": "not found"}`; a known path with another method gets 405 with an `Allow` header. No
    body is read for 404 or 405.
    """

    def __init__(self, routes: Mapping[str, Route | WSGIApp]) -> None:
        self.routes: dict[str, Route] = {}
        for path, target in routes.items():
            if not path.startswith("/"):
                raise ValueError(f"route {path!r} must start with /")
            self.routes[path] = target if isinstance(target, Route) else Route(target)
        self.routes.setdefault(HEALTHZ, Route(_healthz, frozenset({"GET", "HEAD"})))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        route = self.routes.get(str(environ.get("PATH_INFO") or ""))
        if route is None:
            return respond_error(start_response, 404, "not found")
        method = str(environ.get("REQUEST_METHOD") or "").upper()
        if method not in route.methods:
            allow = ", ".join(sorted(route.methods))
            return respond_error(start_response, 405, "method not allowed", [("Allow", allow)])
        return _call_safely(route.app, environ, start_response)


def _healthz(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    return respond_text(start_response, 200, "ok\n", head=environ.get("REQUEST_METHOD") == "HEAD")


def _call_safely(app: WSGIApp, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Run `app`, collect its whole answer, then send it; any exception becomes a clean 500."""
    answer: dict[str, Any] = {}
    written: list[bytes] = []

    def capture(
        status: str,
        headers: Headers,
        exc_info: tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None] | None = None,
    ) -> Any:
        answer["status"], answer["headers"] = status, list(headers)
        return written.append  # PEP 3333's write() callable

    try:
        result = app(environ, capture)
        try:
            collected = list(result)
            chunks = written + collected  # write() output first: PEP 3333 allows it only before iteration
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        if "status" not in answer:
            raise RuntimeError("the app returned without calling start_response")
    except Exception:
        log.exception("%s: internal error (500)", request_line(environ))
        return respond_error(start_response, 500, "internal error")
    start_response(answer["status"], answer["headers"])
    return chunks
