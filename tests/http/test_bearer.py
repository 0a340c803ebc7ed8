"""The bearer guard of the alert endpoints: the right token lets the inner app run; anything else
is 401 with `WWW-Authenticate: Bearer` and the inner app is not called."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.http import DEFAULT_BODY_LIMIT, BearerGuard, build_app
from tests.http.conftest import Served, no_tracebacks
from tests.http.stack import ALERT_TOKEN, Recorder, request, send_large

PAYLOAD = json.dumps({"version": "4", "status": "firing", "alerts": [{"labels": {"instance": "app1"}}]}).encode()
PATHS = ["/alerts/alertmanager", "/alerts/grafana"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_token_runs_the_inner_app(stack: tuple[Served, Recorder], path: str, scheme: str) -> None:
    served, recorder = stack
    answer = request(served.port, "POST", path, PAYLOAD, {"Authorization": f"{scheme} {ALERT_TOKEN}"})
    assert (answer.status, answer.body) == (202, b'{"accepted":true}')
    assert recorder.alerts == [(path, PAYLOAD)]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token-0123456789",
        f"Bearer {ALERT_TOKEN[:-1]}",
        f"Bearer {ALERT_TOKEN}x",
        f"Basic {ALERT_TOKEN}",
        ALERT_TOKEN,
        f"Token {ALERT_TOKEN}",
        "Bearer ÿÿÿÿ",
    ],
    ids=[
        "missing",
        "empty",
        "scheme-only",
        "scheme-space",
        "wrong",
        "prefix",
        "longer",
        "basic",
        "bare",
        "other-scheme",
        "latin1",
    ],
)
def test_wrong_or_missing_token_is_401_and_nothing_runs(
    stack: tuple[Served, Recorder], logs: Any, path: str, authorization: str | None
) -> None:
    served, recorder = stack
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = request(served.port, "POST", path, PAYLOAD, headers)
    assert answer.status == 401
    assert json.loads(answer.body) == {"error": "unauthorized"}
    challenge = answer.header("WWW-Authenticate") or ""
    assert challenge.startswith('Bearer realm="campaign-bot"')
    assert ('error="invalid_token"' in challenge) == bool(authorization)
    assert recorder.alerts == []
    no_tracebacks(logs)
    assert ALERT_TOKEN not in "\n".join(r.getMessage() for r in logs.records)


def test_unauthenticated_oversized_body_is_refused_unread(stack: tuple[Served, Recorder]) -> None:
    served, recorder = stack
    answer = send_large(served.port, 50_000_000, path="/alerts/alertmanager")
    assert answer.status == 413
    assert recorder.alerts == []


def test_authenticated_body_limit_is_the_same_as_slack(stack: tuple[Served, Recorder]) -> None:
    served, recorder = stack
    auth = {"Authorization": f"Bearer {ALERT_TOKEN}"}
    at_limit = b"x" * DEFAULT_BODY_LIMIT
    assert request(served.port, "POST", "/alerts/grafana", at_limit, auth).status == 202
    over = send_large(served.port, DEFAULT_BODY_LIMIT + 1, path="/alerts/grafana", headers=auth)
    assert over.status == 413
    over_chunked = send_large(served.port, DEFAULT_BODY_LIMIT + 1, path="/alerts/grafana", headers=auth, chunked=True)
    assert over_chunked.status == 413
    assert recorder.alerts == [("/alerts/grafana", at_limit)]


def test_alert_endpoints_are_off_without_a_token(serve: Any) -> None:
    recorder = Recorder()
    served = serve(build_app(alertmanager=recorder.alert_app, grafana=recorder.alert_app, alert_token=None))
    answer = request(served.port, "POST", "/alerts/alertmanager", PAYLOAD, {"Authorization": "Bearer anything-at-all"})
    assert answer.status == 404
    assert recorder.alerts == []


def test_the_guard_refuses_a_short_token_and_never_shows_it() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        BearerGuard(lambda e, s: [], "short")
    guard = BearerGuard(lambda e, s: [], ALERT_TOKEN)
    assert ALERT_TOKEN not in repr(guard) and ALERT_TOKEN not in str(vars(guard))


def test_slack_endpoint_needs_its_secret() -> None:
    with pytest.raises(ValueError, match="signing secret"):
        build_app(slack=lambda e, s: [], signing_secret=None)
