from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.http import HttpServer, ServerLimits
from bot.http.wsgi import WSGIApp
from tests.http.stack import Recorder, build_stack

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    server: HttpServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self, timeout: float = 15) -> None:
        self.server.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "serve_forever() did not return after stop()"


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Start an HttpServer for `app` on a free loopback port, serving on a thread of this process."""
    started: list[Served] = []

    def start(app: WSGIApp, threads: int = 4, **limits: Any) -> Served:
        server = HttpServer(app, "127.0.0.1", 0, threads=threads, limits=ServerLimits(**limits))
        thread = threading.Thread(target=server.serve_forever, name="http-test-server", daemon=True)
        thread.start()
        served = Served(server, thread)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def stack(serve: Callable[..., Served]) -> tuple[Served, Recorder]:
    """The full stack (real Bolt app behind the guards) on an in-process server."""
    recorder = Recorder()
    return serve(build_stack(recorder)), recorder


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every logger (waitress, Bolt, ours), from every thread."""
    caplog.set_level(logging.DEBUG)
    return caplog


def no_tracebacks(caplog: pytest.LogCaptureFixture, one_line: bool = True) -> None:
    """No record carries an exception or a traceback; with `one_line`, every record is one line."""
    for record in caplog.records:
        assert record.exc_info is None, f"traceback logged: {record.getMessage()}"
        assert "Traceback" not in record.getMessage()
        if one_line:
            assert "\n" not in record.getMessage(), f"multi-line log record: {record.getMessage()!r}"


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    port: int


def start_process(plain: bool = False) -> ServerProcess:
    """The stack in its own process (`python -m tests.http.stack`), for memory measurements."""
    args = [sys.executable, "-m", "tests.http.stack", *(["--plain"] if plain else [])]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("port "):
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise RuntimeError(f"the test server did not start: {line!r} {err[-2000:]}")
    return ServerProcess(proc, int(line.split()[1]))


@pytest.fixture
def server_process() -> Iterator[ServerProcess]:
    sp = start_process()
    try:
        yield sp
    finally:
        if sp.proc.poll() is None:
            sp.proc.kill()
        sp.proc.communicate(timeout=15)
