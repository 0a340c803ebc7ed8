"""The Slack signature guard in front of Bolt's own WSGI handler (a real Bolt app): the signature
is checked on the raw bytes before anything parses them; after it, anything Bolt could not take
is a 400 with a one-line log entry, never a 500 or a traceback."""

from __future__ import annotations

import copy
import io
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from bot.http import SlackSignatureGuard
from bot.http.guards import slack_signature_problem
from tests.http.conftest import Served, no_tracebacks
from tests.http.stack import SECRET, Recorder, bolt_app, command_body, mention_body, post_slack, request, sign

INVALID = {"error": "invalid request"}
MALFORMED = {"error": "malformed request body"}


def test_signed_event_reaches_bolt_with_the_same_bytes(stack: tuple[Served, Recorder], logs: Any) -> None:
    served, recorder = stack
    body = mention_body("EvSame", text="<@UBOT> ünïcödé mta")
    answer = post_slack(served.port, body)
    assert answer.status == 200
    assert [r["kind"] for r in recorder.slack] == ["app_mention"]
    assert recorder.slack[0]["body"] == json.loads(body)
    no_tracebacks(logs)


def test_signed_command_is_answered_by_bolt(stack: tuple[Served, Recorder]) -> None:
    served, recorder = stack
    answer = post_slack(served.port, command_body(), "application/x-www-form-urlencoded")
    assert (answer.status, answer.body) == (200, b"card")
    assert recorder.slack[0]["body"]["command"] == "/campaign-module"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Signature": "v0=" + "0" * 64, "X-Slack-Request-Timestamp": "now"},
        {"X-Slack-Request-Timestamp": str(int(time.time()))},
        {"X-Slack-Signature": "v0=" + "0" * 64},
        sign(mention_body(), secret="another-apps-secret"),
        sign(mention_body(), ts=str(int(time.time()) - 301)),  # stale
        sign(mention_body(), ts=str(int(time.time()) + 301)),  # from the future
        sign(mention_body(), ts="0"),
        sign(mention_body(), ts="99999999999999999999"),
        {**sign(mention_body()), "X-Slack-Signature": "v1=" + sign(mention_body())["X-Slack-Signature"][3:]},
        {**sign(mention_body()), "X-Slack-Signature": "v0=ÿ"},
    ],
    ids=[
        "none",
        "non-numeric-ts",
        "no-signature",
        "no-timestamp",
        "other-secret",
        "stale",
        "future",
        "epoch",
        "huge-ts",
        "wrong-version",
        "non-ascii",
    ],
)
def test_bad_signatures_are_401_and_nothing_runs(
    stack: tuple[Served, Recorder], logs: Any, headers: dict[str, str]
) -> None:
    served, recorder = stack
    answer = request(
        served.port, "POST", "/slack/events", mention_body(), {"Content-Type": "application/json", **headers}
    )
    assert answer.status == 401
    assert json.loads(answer.body) == INVALID
    assert recorder.slack == []
    no_tracebacks(logs)


def test_a_signature_for_other_bytes_is_401(stack: tuple[Served, Recorder]) -> None:
    served, recorder = stack
    body = mention_body()
    tampered = body.replace(b"is mta running", b"is mta stopped")
    answer = request(served.port, "POST", "/slack/events", tampered, {"Content-Type": "application/json", **sign(body)})
    assert answer.status == 401
    assert recorder.slack == []


MALFORMED_BODIES = [
    ("bad-json", b'{"type": "event_callback", "event": {', "application/json"),
    ("json-array", b"[1, 2, 3]", "application/json"),
    ("json-string", b'"event_callback"', "application/json"),
    ("json-null", b"null", "application/json"),
    ("binary", bytes(range(256)) * 4, "application/octet-stream"),
    ("binary-as-json", b"\xff\xfe{\x00\x00}", "application/json"),
    ("latin-1-form", b"command=/campaign-module&text=caf\xe9", "application/x-www-form-urlencoded"),
    ("bad-percent-utf8", b"command=/campaign-module&text=%ff%fe", "application/x-www-form-urlencoded"),
    ("form-garbage", b"a=%zz&&&b", "application/x-www-form-urlencoded"),
    ("form-no-pairs", b"just some words", "application/x-www-form-urlencoded"),
    ("payload-bad-json", b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    ("payload-not-object", b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    ("form-that-looks-like-json", b'{"type": oops', "application/x-www-form-urlencoded"),
    ("text-plain", mention_body(), "text/plain"),
    (
        "multipart",
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--",
        "multipart/form-data; boundary=x",
    ),
    ("no-content-type", mention_body(), ""),
    ("empty", b"", "application/json"),
    ("event-not-object", b'{"type": "event_callback", "event": "app_mention"}', "application/json"),
    ("team-a-number", b'{"type": "event_callback", "team": 5, "event": {"type": "app_mention"}}', "application/json"),
    ("authorizations-a-number", b'{"type": "event_callback", "authorizations": 5}', "application/json"),
    (
        "actions-empty",
        b"payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%5D%7D",
        "application/x-www-form-urlencoded",
    ),
]


@pytest.mark.parametrize(
    ("body", "content_type"), [m[1:] for m in MALFORMED_BODIES], ids=[m[0] for m in MALFORMED_BODIES]
)
def test_malformed_signed_bodies_are_400_without_traceback(
    stack: tuple[Served, Recorder], logs: Any, body: bytes, content_type: str
) -> None:
    served, recorder = stack
    headers = {"Content-Type": content_type, **sign(body)} if content_type else sign(body)
    answer = request(served.port, "POST", "/slack/events", body, headers)
    assert answer.status == 400
    assert json.loads(answer.body) == MALFORMED
    assert recorder.slack == []
    no_tracebacks(logs)
    lines = [r for r in logs.records if r.name == "bot.http.guards"]
    assert len(lines) == 1 and "signed, but" in lines[0].getMessage()


@pytest.mark.parametrize(
    ("body", "content_type"), [m[1:] for m in MALFORMED_BODIES], ids=[m[0] for m in MALFORMED_BODIES]
)
def test_malformed_unsigned_bodies_are_401_without_traceback(
    stack: tuple[Served, Recorder], logs: Any, body: bytes, content_type: str
) -> None:
    served, recorder = stack
    answer = request(served.port, "POST", "/slack/events", body, {"Content-Type": content_type} if content_type else {})
    assert answer.status == 401
    assert json.loads(answer.body) == INVALID
    assert recorder.slack == []
    no_tracebacks(logs)


def test_log_lines_carry_no_body_content(stack: tuple[Served, Recorder], logs: Any) -> None:
    served, _ = stack
    body = b'{"type": "event_callback", "token": "xoxb-secret-in-body", "event": '
    post_slack(served.port, body)
    post_slack(served.port, body, signed=False)
    text = "\n".join(r.getMessage() for r in logs.records)
    assert "xoxb-secret-in-body" not in text


def test_the_guard_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="empty"):
        SlackSignatureGuard(lambda e, s: [], "  ")


@pytest.mark.parametrize(
    ("age", "problem"), [(0, None), (300, None), (-300, None), (301, "stale timestamp"), (-301, "stale timestamp")]
)
def test_signature_window_edges(age: int, problem: str | None) -> None:
    body, now = b"x=1", 1_700_000_000.0
    headers = sign(body, ts=str(int(now) - age))
    ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert slack_signature_problem(SECRET.encode(), body, ts, sig, now) == problem


def test_signature_reasons() -> None:
    body, now = b"x=1", time.time()
    ts = str(int(now))
    good = sign(body, ts=ts)["X-Slack-Signature"]
    assert slack_signature_problem(SECRET.encode(), body, None, good, now) == "no signature"
    assert slack_signature_problem(SECRET.encode(), body, "12a", good, now) == "malformed timestamp"
    assert slack_signature_problem(SECRET.encode(), body + b" ", ts, good, now) == "signature mismatch"
    assert slack_signature_problem(SECRET.encode(), body, ts, good, now) is None


# -- the sweep: every field Bolt reads, given every wrong JSON kind ------------------------------

EVENT: dict[str, Any] = json.loads(mention_body())
EVENT["event"].update({"team": "T1", "thread_ts": "1.0"})
EVENT.update({"is_ext_shared_channel": False, "event_context": "x"})
MESSAGE = copy.deepcopy(EVENT)
MESSAGE["event"] = {"type": "message", "channel_type": "im", "user": "U1", "text": "hi", "ts": "1.1", "channel": "D1"}
EDITED = copy.deepcopy(EVENT)
EDITED["event"] = {
    "type": "message",
    "subtype": "message_changed",
    "channel": "C1",
    "message": {"type": "message", "user": "U1", "text": "x", "ts": "1.1"},
    "previous_message": {"type": "message", "user": "U1", "text": "y", "ts": "1.1"},
    "ts": "1.2",
}
BLOCK_ACTIONS = {
    "type": "block_actions",
    "team": {"id": "T1", "domain": "d"},
    "user": {"id": "U1", "username": "u", "team_id": "T1"},
    "api_app_id": "A1",
    "trigger_id": "1.2",
    "response_url": "https://hooks.slack.invalid/x",
    "channel": {"id": "C1", "name": "c"},
    "container": {"type": "message", "channel_id": "C1", "message_ts": "1.1"},
    "message": {"ts": "1.1", "thread_ts": "1.0", "type": "message", "text": "x"},
    "enterprise": None,
    "is_enterprise_install": False,
    "actions": [{"action_id": "run_checks", "block_id": "b", "type": "button", "value": "v", "action_ts": "1"}],
}
VIEW = {
    "type": "view_submission",
    "team": {"id": "T1"},
    "user": {"id": "U1", "team_id": "T1"},
    "view": {"id": "V1", "team_id": "T1", "type": "modal", "callback_id": "cb", "app_installed_team_id": "T1"},
}
SHORTCUT = {"type": "shortcut", "team": {"id": "T1"}, "user": {"id": "U1"}, "callback_id": "sc", "trigger_id": "1.2"}
OPTIONS = {
    "type": "block_suggestion",
    "team": {"id": "T1"},
    "user": {"id": "U1"},
    "action_id": "a",
    "block_id": "b",
    "value": "x",
    "channel": {"id": "C1"},
}
URL_VERIFICATION = {"type": "url_verification", "token": "t", "challenge": "c"}
PAYLOADS: dict[str, tuple[dict[str, Any], bool, str]] = {  # name: (payload, sent as a form, listener kind)
    "app_mention": (EVENT, False, "app_mention"),
    "message": (MESSAGE, False, "message"),
    "message_changed": (EDITED, False, "message"),
    "block_actions": (BLOCK_ACTIONS, True, "action"),
    "view_submission": (VIEW, True, "view"),
    "shortcut": (SHORTCUT, True, "shortcut"),
    "block_suggestion": (OPTIONS, True, "options"),
    "url_verification": (URL_VERIFICATION, False, ""),
}
WRONG_KINDS: list[Any] = [5, 1.5, True, None, "x", [], [5], ["x"], [{}], {}]


def encode(payload: Any, form: bool) -> tuple[bytes, str]:
    if form:
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    return json.dumps(payload).encode(), "application/json"


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def replaced(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(obj)
    cur = out
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return out


def call(app: Any, body: bytes, content_type: str) -> tuple[str, bytes]:
    env = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(body).items()},
    }
    status: list[str] = []
    out = b"".join(app(env, lambda s, h, e=None: status.append(s)))
    return status[0], out


@pytest.fixture
def guarded() -> tuple[SlackSignatureGuard, Recorder]:
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    recorder = Recorder()
    return SlackSignatureGuard(SlackRequestHandler(bolt_app(recorder)), SECRET), recorder


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_realistic_payloads_reach_their_listener(guarded: tuple[SlackSignatureGuard, Recorder], name: str) -> None:
    guard, recorder = guarded
    payload, form, kind = PAYLOADS[name]
    status, _ = call(guard, *encode(payload, form))
    assert status == "200 OK"
    assert [r["kind"] for r in recorder.slack] == ([kind] if kind else [])


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_every_field_with_every_wrong_kind_is_never_a_500(
    guarded: tuple[SlackSignatureGuard, Recorder], logs: Any, name: str
) -> None:
    """Each value of the payload (and the payload itself) replaced by each wrong JSON kind: Bolt
    answers (200/404) or the guard refuses (400); nothing raises, nothing is a 5xx, no traceback."""
    guard, _ = guarded
    payload, form, _ = PAYLOADS[name]
    refused = 0
    cases = [((), wrong) for wrong in WRONG_KINDS] + [(p, w) for p in paths(payload) for w in WRONG_KINDS]
    for path, wrong in cases:
        mutated = wrong if path == () else replaced(payload, path, wrong)
        status, out = call(guard, *encode(mutated, form))
        assert status[:3] in ("200", "400", "404"), f"{name} {path}={wrong!r}: {status} {out[:200]!r}"
        refused += status.startswith("400")
    no_tracebacks(logs, one_line=False)  # Bolt's own "Unhandled request" warning spans lines
    assert refused >= len(WRONG_KINDS) - 1  # at least the whole payload replaced by a non-object is refused
