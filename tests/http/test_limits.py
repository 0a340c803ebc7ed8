"""The body limit at the WSGI level: what is read, and when nothing is."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import pytest

from bot.http import BodyLimit, HttpRequestError, read_body
from bot.http.limits import BODY_KEY


class CountingStream:
    """A wsgi.input that counts what is read from it (and can refuse to be read at all)."""

    def __init__(self, data: bytes, forbid: bool = False) -> None:
        self._io = io.BytesIO(data)
        self.read_bytes = 0
        self.forbid = forbid

    def read(self, size: int = -1) -> bytes:
        if self.forbid:
            raise AssertionError("the body was read")
        out = self._io.read(size)
        self.read_bytes += len(out)
        return out


def environ(stream: Any, length: str | None) -> dict[str, Any]:
    env: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "wsgi.input": stream}
    if length is not None:
        env["CONTENT_LENGTH"] = length
    return env


def test_over_limit_content_length_is_refused_without_reading() -> None:
    env = environ(CountingStream(b"", forbid=True), str(50_000_000))
    with pytest.raises(HttpRequestError) as e:
        read_body(env, limit=1024)
    assert e.value.status == 413


@pytest.mark.parametrize("length", [None, ""])
def test_without_length_at_most_limit_plus_one_bytes_are_read(length: str | None) -> None:
    stream = CountingStream(b"x" * 10_000_000)
    with pytest.raises(HttpRequestError) as e:
        read_body(environ(stream, length), limit=1024)
    assert e.value.status == 413
    assert stream.read_bytes == 1025


def test_without_length_a_small_body_is_read_whole_and_rewrapped() -> None:
    env = environ(CountingStream(b"hello"), None)
    assert read_body(env, limit=1024) == b"hello"
    assert env["CONTENT_LENGTH"] == "5"
    assert env["wsgi.input"].read() == b"hello"
    assert env[BODY_KEY] == b"hello"


def test_exactly_the_limit_is_accepted_and_the_next_reader_gets_the_same_bytes() -> None:
    body = bytes(range(256)) * 4
    env = environ(CountingStream(body), str(len(body)))
    assert read_body(env, limit=1024) == body
    assert env["wsgi.input"].read(int(env["CONTENT_LENGTH"])) == body
    assert read_body(env, limit=1024) == body  # a second layer gets the kept bytes, nothing is re-read


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "١٢"])
def test_malformed_content_length_is_400(length: str) -> None:
    with pytest.raises(HttpRequestError) as e:
        read_body(environ(CountingStream(b"x", forbid=True), length), limit=1024)
    assert e.value.status == 400


def test_body_shorter_than_its_length_is_400() -> None:
    with pytest.raises(HttpRequestError) as e:
        read_body(environ(CountingStream(b"abc"), "10"), limit=1024)
    assert e.value.status == 400


def test_middleware_answers_413_and_does_not_call_the_app() -> None:
    called: list[bool] = []

    def app(env: Any, start_response: Any) -> Iterable[bytes]:
        called.append(True)
        start_response("200 OK", [])
        return [b"ok"]

    statuses: list[str] = []
    out = BodyLimit(app, limit=100)(
        environ(CountingStream(b"", forbid=True), "101"),
        lambda status, headers, exc_info=None: statuses.append(status),  # type: ignore[arg-type,return-value]
    )
    assert statuses == ["413 Request Entity Too Large"]
    assert b"".join(out) == b'{"error":"request body too large"}'
    assert called == []


def test_middleware_passes_a_body_within_the_limit() -> None:
    seen: list[bytes] = []

    def app(env: Any, start_response: Any) -> Iterable[bytes]:
        seen.append(env["wsgi.input"].read(int(env["CONTENT_LENGTH"])))
        start_response("200 OK", [])
        return [b"ok"]

    statuses: list[str] = []
    out = BodyLimit(app, limit=100)(
        environ(CountingStream(b"x" * 100), "100"),
        lambda status, headers, exc_info=None: statuses.append(status),  # type: ignore[arg-type,return-value]
    )
    assert (statuses, b"".join(out), seen) == (["200 OK"], b"ok", [b"x" * 100])
