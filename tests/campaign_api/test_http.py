"""The HTTP exchange against servers that trickle, stall or say nothing (a real socket on loopback):
the environment's deadline holds on every read, headers included, and the error says whether the
server had its whole timeout (ApiTimeout) or the deadline cut it short (ApiNoTime)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.campaign_api.facts import ALL_FACTS
from bot.campaign_api.http import ApiNoTime, ApiReplyTruncated, ApiTimeout, ApiTlsError, exchange
from bot.campaign_api.session import EnvironmentApi
from bot.checks.registry import default_registry
from bot.kb import KnowledgeBase
from tests.campaign_api.conftest import environment
from tests.campaign_api.rawserver import RawServer, read_request, reply, self_signed, trickle


def _body_trickler(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n")
    trickle(conn, stop, b" " * 100000, 0.2)


def _header_trickler(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    trickle(conn, stop, b"X-Slow: a\r\n" * 1000, 0.02)


def _status_trickler(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn, stop)
    trickle(conn, stop, b"HTTP/1.1 200 OK" + b" " * 10000, 0.2)


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn, stop)
    stop.wait(30)


def _ok(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn, stop)
    conn.sendall(reply("200 OK", b"OK\n2024-05-01 10:00:00.000Z\n"))


@pytest.fixture
def serve() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for s in servers:
        s.stop()


def _start(servers: list[RawServer], script: object, tls: object = None) -> RawServer:
    srv = RawServer(script, tls)  # type: ignore[arg-type]
    servers.append(srv)
    return srv


@pytest.mark.parametrize(
    "script", [_body_trickler, _header_trickler, _status_trickler], ids=["body", "headers", "status"]
)
def test_a_trickling_server_is_cut_at_the_deadline(serve: list[RawServer], script: object) -> None:
    srv = _start(serve, script)
    start = time.monotonic()
    # Each byte comes well within the 1 s timeout: only the deadline (1.5 s) can end this.
    with pytest.raises(ApiTimeout) as e:
        exchange("GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=1, deadline=start + 1.5)
    took = time.monotonic() - start
    assert took < 2.2, f"the exchange took {took:.1f} s past a 1.5 s deadline"
    assert not isinstance(e.value, ApiNoTime)  # the server had its whole timeout: this is about the server
    assert "deadline" in str(e.value)


def test_silence_within_the_timeout_is_a_timeout(serve: list[RawServer]) -> None:
    srv = _start(serve, _silent)
    start = time.monotonic()
    with pytest.raises(ApiTimeout) as e:
        exchange("GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=0.5, deadline=start + 10)
    assert time.monotonic() - start < 1.5
    assert not isinstance(e.value, ApiNoTime) and "did not answer within 0.5 s" in str(e.value)


def test_a_deadline_shorter_than_the_timeout_is_no_time_left(serve: list[RawServer]) -> None:
    srv = _start(serve, _silent)
    start = time.monotonic()
    with pytest.raises(ApiNoTime) as e:
        exchange("GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=5, deadline=start + 0.6)
    assert time.monotonic() - start < 1.3
    assert "no time left" in str(e.value)


def test_no_time_left_sends_nothing(serve: list[RawServer]) -> None:
    srv = _start(serve, _ok)
    with pytest.raises(ApiNoTime) as e:
        exchange("GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=5, deadline=time.monotonic() - 1)
    assert "nothing sent" in str(e.value)
    time.sleep(0.2)
    assert srv.accepted == 0


def test_a_tls_handshake_that_never_ends_is_cut_at_the_deadline(serve: list[RawServer]) -> None:
    srv = _start(serve, _silent)  # plain TCP: accepts, then says nothing to the ClientHello
    start = time.monotonic()
    with pytest.raises(ApiTimeout):
        exchange(
            "GET",
            srv.url.replace("http://", "https://"),
            "/nl/jsp/ping.jsp",
            {},
            None,
            timeout_s=1,
            deadline=start + 1.5,
        )
    assert time.monotonic() - start < 2.2


def test_self_signed_certificate_is_a_tls_error_not_unreachable(serve: list[RawServer], tmp_path: Path) -> None:
    srv = _start(serve, _ok, self_signed(tmp_path))
    with pytest.raises(ApiTlsError) as e:
        exchange("GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=2, deadline=time.monotonic() + 5)
    assert e.value.verify and "not trusted" in str(e.value)
    ok = exchange(
        "GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=2, deadline=time.monotonic() + 5, tls_verify=False
    )
    assert ok.status == 200 and ok.body.startswith(b"OK")


def test_a_redirect_is_returned_with_its_location_never_followed(serve: list[RawServer]) -> None:
    def redirect(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn, stop)
        conn.sendall(reply("302 Found", b"", {"Location": "https://sso.example.com/login"}))

    srv = _start(serve, redirect)
    r = exchange("GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=2, deadline=time.monotonic() + 5)
    assert r.status == 302 and r.location == "https://sso.example.com/login"
    assert srv.accepted == 1


@pytest.mark.parametrize("script", [_body_trickler, _header_trickler], ids=["body", "headers"])
def test_a_trickling_logon_ends_within_the_environments_deadline(
    kb: KnowledgeBase, serve: list[RawServer], script: object
) -> None:
    srv = _start(serve, script)
    env = environment(srv.url, timeout_s=0.5)  # the environment's deadline: 3 x 0.5 s
    assert env.campaign_api is not None and kb.campaign_api is not None
    start = time.monotonic()
    facts = EnvironmentApi(env, env.campaign_api, kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": "pw"}).fetch(
        ALL_FACTS, start + 60
    )
    took = time.monotonic() - start
    assert took < 2.3, f"fetch took {took:.1f} s for a 1.5 s deadline"
    assert facts.access.kind == "timeout" and "deadline" in facts.access.message


def _cut_mid_chunk(conn: socket.socket, stop: threading.Event) -> None:
    """200 and a chunked body that stops inside its second chunk (the connection closes)."""
    read_request(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nOK\n\r\n")
    conn.sendall(b"ff\r\n2024-05-01")


def _reset_mid_body(conn: socket.socket, stop: threading.Event) -> None:
    """200 with a Content-Length, part of the body, then a TCP reset."""
    read_request(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\nOK\n2024-05")
    time.sleep(0.2)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("script", [_cut_mid_chunk, _reset_mid_body], ids=["chunk", "reset"])
def test_a_reply_that_stops_mid_body_is_an_incomplete_reply_not_a_server_down(
    kb: KnowledgeBase, serve: list[RawServer], script: object
) -> None:
    srv = _start(serve, script)
    with pytest.raises(ApiReplyTruncated) as e:
        exchange("GET", srv.url, "/nl/jsp/ping.jsp", {}, None, timeout_s=2, deadline=time.monotonic() + 5)
    assert "answered HTTP 200" in str(e.value) and "stopped short" in str(e.value)
    # At logon: the server answered, so ping.jsp and monitor.jsp are "cannot tell", never "does not answer".
    env = environment(srv.url, timeout_s=2)
    assert env.campaign_api is not None and kb.campaign_api is not None
    facts = EnvironmentApi(env, env.campaign_api, kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": "pw"}).fetch(
        ALL_FACTS, time.monotonic() + 10
    )
    assert facts.access.kind == "bad_reply" and not facts.access.server_down
    web = [kb.get("web")]
    for check in default_registry().api_checks:
        if check.name in ("api_ping", "api_monitor"):
            for f in check.evaluate_api(env, check.targets(web), facts):  # type: ignore[attr-defined]
                assert f.status == "unknown", f.summary
