"""The router on a real server: exact paths, 404/405, /healthz, and no traceback in any answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bot.http import Route, Router
from tests.http.conftest import Served
from tests.http.stack import Recorder, request


def ok_app(env: Any, start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"inner"]


def test_healthz(stack: tuple[Served, Recorder]) -> None:
    served, _ = stack
    answer = request(served.port, "GET", "/healthz")
    assert (answer.status, answer.body) == (200, b"ok\n")
    head = request(served.port, "HEAD", "/healthz")
    assert (head.status, head.body) == (200, b"")


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/slack/events/", "/slack/events/x", "/SLACK/EVENTS", "/alerts", "/healthz/"]
)
def test_unknown_paths_are_404(stack: tuple[Served, Recorder], path: str) -> None:
    served, _ = stack
    answer = request(served.port, "POST", path, b"{}")
    assert answer.status == 404
    assert json.loads(answer.body) == {"error": "not found"}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/slack/events", "POST"),
        ("PUT", "/slack/events", "POST"),
        ("DELETE", "/alerts/alertmanager", "POST"),
        ("GET", "/alerts/grafana", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("OPTIONS", "/healthz", "GET, HEAD"),
    ],
)
def test_wrong_methods_are_405_with_allow(stack: tuple[Served, Recorder], method: str, path: str, allow: str) -> None:
    served, recorder = stack
    answer = request(served.port, method, path)
    assert answer.status == 405
    assert json.loads(answer.body) == {"error": "method not allowed"}
    assert answer.header("Allow") == allow
    assert recorder.slack == [] and recorder.alerts == []


def raising_app(env: Any, start_response: Any) -> Iterable[bytes]:
    raise RuntimeError("secret detail that must not reach the client")


def raising_iterable(env: Any, start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body() -> Iterable[bytes]:
        yield b"half an answer"
        raise KeyError("boom")

    return body()


def silent_app(env: Any, start_response: Any) -> Iterable[bytes]:
    return [b"no start_response"]


@pytest.mark.parametrize("app", [raising_app, raising_iterable, silent_app])
def test_a_failing_app_is_a_clean_500(
    serve: Callable[..., Served], logs: pytest.LogCaptureFixture, app: Callable[..., Iterable[bytes]]
) -> None:
    served = serve(Router({"/x": Route(app)}))
    answer = request(served.port, "POST", "/x", b"{}")
    assert answer.status == 500
    assert json.loads(answer.body) == {"error": "internal error"}
    assert b"Traceback" not in answer.body and b"secret detail" not in answer.body
    assert b"half an answer" not in answer.body
    # a bug (not a bad request) is logged with its traceback for the operator
    assert any(r.exc_info for r in logs.records if r.name == "bot.http.router")


def test_routes_take_plain_apps_and_methods(serve: Callable[..., Served]) -> None:
    served = serve(Router({"/a": ok_app, "/b": Route(ok_app, frozenset({"GET", "PUT"}))}))
    assert request(served.port, "POST", "/a").status == 200
    assert request(served.port, "GET", "/a").status == 405
    assert request(served.port, "PUT", "/b").body == b"inner"
    assert request(served.port, "GET", "/healthz").status == 200


def test_route_paths_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="must start with /"):
        Router({"slack/events": ok_app})
