"""The server's limits and lifecycle, against real servers on loopback.

Timing bounds here are generous and only catch hangs; the measured figures are in
docs/benchmarks.md ("HTTP limits", bench/bench_http.py)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest

from bot.errors import ConfigError
from bot.http import HttpServer, Route, Router, ServerLimits
from tests.http.conftest import Served, ServerProcess, no_tracebacks
from tests.http.stack import Recorder, build_stack, mention_body, post_slack, request, send_large

MB = 1024 * 1024
HANG = 30.0  # seconds: only a hang takes this long


def open_connections(port: int, n: int, first_bytes: bytes = b"") -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if first_bytes:
            s.sendall(first_bytes)
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket, within: float) -> bool:
    """True when the server closes `s` (EOF or reset) within `within` seconds (data before is skipped)."""
    deadline = time.monotonic() + within
    try:
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            if s.recv(65536) == b"":
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        pass
    return False


def refused_soon(port: int) -> bool:
    """True once a new connection to `port` is refused (polled until HANG)."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False


# -- memory: eight 50 MB bodies at once ----------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_eight_unsigned_50mb_bodies_are_refused_with_bounded_memory(
    server_process: ServerProcess, chunked: bool
) -> None:
    port = server_process.port
    assert post_slack(port, mention_body()).status == 200  # warm: imports and first request done
    proc = psutil.Process(server_process.proc.pid)
    base = peak = proc.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: send_large(port, 50_000_000, chunked=chunked, timeout=HANG), range(8)))
    finally:
        time.sleep(0.2)
        done.set()
        sampler.join()
    assert [a.status for a in answers] == [413] * 8, [(a.status, a.note) for a in answers]
    assert all(a.seconds < HANG for a in answers)
    # before bot.http the same attack took the server from about 40 MB to about 1 GB
    assert peak - base < 64 * MB, f"RSS grew by {(peak - base) / MB:.0f} MB"
    assert post_slack(port, mention_body("EvAfter")).status == 200  # and it still serves


# -- idle and slow clients ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_bytes",
    [
        b"",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\n",
        b"POST /slack/events HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",
    ],
    ids=["idle", "partial-headers", "partial-body"],
)
def test_150_idle_or_slow_connections_do_not_starve_a_signed_request(
    serve: Callable[..., Served], first_bytes: bytes
) -> None:
    recorder = Recorder()
    # default limits, but no reaping of the slow ones while the test looks at them on a loaded machine
    served = serve(build_stack(recorder), threads=8, request_timeout_s=120)
    socks = open_connections(served.port, 150, first_bytes)
    try:
        time.sleep(0.3)  # all accepted (or queued) by the server
        answer = post_slack(served.port, mention_body("EvBusy"), timeout=HANG)
        assert answer.status == 200, answer
        assert [r["body"]["event_id"] for r in recorder.slack] == ["EvBusy"]
        # the connections were all still open while the request was answered
        assert sum(not closed_by_server(s, 0.01) for s in socks) == 150
    finally:
        for s in socks:
            s.close()


def test_beyond_the_connection_limit_idle_connections_make_room(serve: Callable[..., Served]) -> None:
    recorder = Recorder()
    served = serve(build_stack(recorder), connection_limit=16, idle_timeout_s=600, poll_interval_s=0.1)
    socks = open_connections(served.port, 40)  # more than the limit: the rest wait in the backlog
    try:
        answer = post_slack(served.port, mention_body("EvCrowded"), timeout=HANG)
        assert answer.status == 200, answer
        assert any(closed_by_server(s, 0.01) for s in socks)  # idle ones were closed to make room
    finally:
        for s in socks:
            s.close()


def test_a_request_that_trickles_in_is_cut_off(serve: Callable[..., Served]) -> None:
    served = serve(build_stack(Recorder()), request_timeout_s=0.5, poll_interval_s=0.1)
    s = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    try:
        s.sendall(b"POST /slack/events HTTP/1.1\r\n")
        for _ in range(10):  # a byte every 0.2 s keeps waitress's idle timer fresh, not the deadline
            time.sleep(0.2)
            try:
                s.sendall(b"X")
            except OSError:
                break
        assert closed_by_server(s, HANG)
    finally:
        s.close()


def test_an_idle_keep_alive_connection_is_closed(serve: Callable[..., Served]) -> None:
    served = serve(build_stack(Recorder()), idle_timeout_s=1, poll_interval_s=0.1)
    s = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        assert closed_by_server(s, HANG)
    finally:
        s.close()


def test_oversized_headers_are_refused(stack: tuple[Served, Recorder]) -> None:
    served, recorder = stack
    big = {"X-Filler": "a" * 40_000}
    answer = request(served.port, "POST", "/slack/events", mention_body(), big)
    assert answer.status == 431
    assert recorder.slack == []


# -- lifecycle ----------------------------------------------------------------------------------


def slow_app(started: threading.Event, release: threading.Event) -> Callable[..., Iterable[bytes]]:
    def app(env: Any, start_response: Any) -> Iterable[bytes]:
        started.set()
        release.wait(HANG)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"finished"]

    return app


def test_stop_lets_the_request_in_flight_finish(serve: Callable[..., Served]) -> None:
    started, release = threading.Event(), threading.Event()
    served = serve(Router({"/slow": Route(slow_app(started, release))}))
    idle = open_connections(served.port, 20)
    result: list[Any] = []
    client = threading.Thread(target=lambda: result.append(request(served.port, "POST", "/slow", timeout=HANG)))
    client.start()
    assert started.wait(HANG)
    served.server.stop()
    assert refused_soon(served.port)  # no longer accepting...
    assert served.thread.is_alive()  # ...but still draining: the request is in flight
    release.set()
    client.join(HANG)
    served.thread.join(HANG)
    assert not served.thread.is_alive()
    assert (result[0].status, result[0].body) == (200, b"finished")
    assert all(closed_by_server(s, 1) for s in idle)


def test_stop_returns_promptly_with_idle_connections_open(serve: Callable[..., Served]) -> None:
    served = serve(build_stack(Recorder()), poll_interval_s=5)  # a long poll: stop() must wake it
    socks = open_connections(served.port, 50)
    try:
        t0 = time.monotonic()
        served.stop(timeout=HANG)
        assert time.monotonic() - t0 < 4  # well under the 5 s poll and the 10 s drain limit
    finally:
        for s in socks:
            s.close()


def test_drain_has_a_deadline(serve: Callable[..., Served]) -> None:
    started, release = threading.Event(), threading.Event()
    served = serve(Router({"/slow": Route(slow_app(started, release))}), drain_timeout_s=0.5)
    threading.Thread(target=lambda: request(served.port, "POST", "/slow", timeout=HANG), daemon=True).start()
    assert started.wait(HANG)
    served.server.stop()
    served.thread.join(HANG)
    assert not served.thread.is_alive()
    release.set()


def test_stop_before_serving_and_twice_is_fine() -> None:
    server = HttpServer(build_stack(Recorder()), "127.0.0.1", 0, threads=2)
    server.stop()
    server.stop()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive()
    server.stop()
    with pytest.raises(RuntimeError):
        server.serve_forever()


def test_close_releases_an_unused_server() -> None:
    with HttpServer(build_stack(Recorder()), "127.0.0.1", 0, threads=1) as server:
        port = server.port
    assert refused_soon(port)


def test_a_busy_port_is_a_config_error() -> None:
    with HttpServer(build_stack(Recorder()), "127.0.0.1", 0, threads=1) as first:
        busy = first.port
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{busy}"):
            HttpServer(build_stack(Recorder()), "127.0.0.1", busy, threads=1)


def test_sigterm_stops_the_server_process(server_process: ServerProcess) -> None:
    assert post_slack(server_process.port, mention_body()).status == 200
    server_process.proc.send_signal(signal.SIGTERM)
    assert server_process.proc.wait(HANG) == 0


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        ServerLimits(body_limit=0)
    with pytest.raises(ValueError):
        ServerLimits(unknown=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\n bad folding\r\n\r\n",
    ],
    ids=["request-line", "content-length", "chunk-size", "transfer-encoding", "header-folding"],
)
def test_malformed_http_is_refused_without_traceback(
    stack: tuple[Served, Recorder], logs: pytest.LogCaptureFixture, raw: bytes
) -> None:
    served, recorder = stack
    with socket.create_connection(("127.0.0.1", served.port), timeout=HANG) as s:
        s.sendall(raw)
        reply = s.recv(65536)
    assert reply.split(b" ", 2)[1] in (b"400", b"501"), reply[:100]
    assert b"Traceback" not in reply
    assert recorder.slack == []
    no_tracebacks(logs)
