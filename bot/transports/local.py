"""Local transport: run a script on this machine with subprocess; psutil ends the whole process tree
at the deadline, so nothing is left running."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from typing import IO

import psutil

from bot.errors import LocalRunError
from bot.transports.base import MAX_OUTPUT_BYTES, CommandResult, Script, Transport


def _reader(stream: IO[bytes], sink: bytearray, cap: int, over: threading.Event) -> None:
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        room = cap - len(sink)
        if room > 0:
            sink += chunk[:room]
        if len(chunk) > room:
            over.set()  # keep draining so the child is not blocked, but stop storing


def _kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(procs, timeout=2)


class LocalTransport(Transport):
    name = "local"

    def __init__(self, path_prefix: str | None = None, max_output: int = MAX_OUTPUT_BYTES) -> None:
        self.path_prefix = path_prefix
        self.max_output = max_output

    def run(self, script: Script, *, timeout_s: float) -> CommandResult:
        env = dict(os.environ)
        if self.path_prefix:
            env["PATH"] = f"{self.path_prefix}:{env.get('PATH', '/usr/bin:/bin')}"
        env["LC_ALL"] = "C"
        start = time.monotonic()
        started_at = time.time()
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", script.text],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # its own process group, killed as a whole at the deadline
            )
        except OSError as e:
            raise LocalRunError(f"cannot start /bin/sh: {e.strerror or e}") from e
        out, err = bytearray(), bytearray()
        over = threading.Event()
        assert proc.stdout is not None and proc.stderr is not None
        threads = [
            threading.Thread(target=_reader, args=(proc.stdout, out, self.max_output, over), daemon=True),
            threading.Thread(target=_reader, args=(proc.stderr, err, self.max_output, over), daemon=True),
        ]
        for t in threads:
            t.start()
        timed_out = truncated = False
        deadline = start + timeout_s
        while True:
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
            if over.is_set():
                truncated = True
                _kill_tree(proc.pid)
                break
            if time.monotonic() > deadline:
                timed_out = True
                _kill_tree(proc.pid)
                break
        for t in threads:
            t.join(timeout=2)
        proc.wait(timeout=5)
        code = None if (timed_out or truncated) else proc.returncode
        truncated = truncated or over.is_set()
        return CommandResult(
            exit_code=code,
            stdout=bytes(out),
            stderr=bytes(err),
            duration_ms=int((time.monotonic() - start) * 1000),
            timed_out=timed_out,
            truncated=truncated,
            started_at=started_at,
        )
