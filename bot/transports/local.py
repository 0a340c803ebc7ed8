"""Local transport: run a script on this machine with subprocess; psutil ends the whole process tree
at the deadline, so nothing is left running. Like the SSH transport, the script also runs under
`timeout -k` (where coreutils has it), so it ends by its deadline even when the bot process is gone
before it (a SIGKILLed worker). A worker that exits on its own (stopped, or its serve gone) hands its
jobs back and first ends the read-only probes still running (`end_read_only_runs`): their results
would go nowhere, and they would outlive the service by up to their deadline."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
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


def _kill_tree(pid: int, wait: bool = True) -> None:
    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    # The script is its own process group (start_new_session): end it at once, so the shell cannot run its
    # next command when a child dies first; then any process that left the group.
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    if wait:
        psutil.wait_procs(procs, timeout=2)


KILL_GRACE_S = 2

_runs_lock = threading.Lock()
_runs: dict[int, bool] = {}  # pid (= process group) of each running script -> whether it only reads


def _only_reads(script: Script) -> bool:
    from bot.probes.script import READ_ONLY_VERBS  # the probes build on the transports, not the reverse

    return all(v in READ_ONLY_VERBS for v in script.verbs)


def end_read_only_runs() -> int:
    """End the read-only scripts this process still runs (a worker exiting: their jobs are handed back).

    A state-changing one (a confirmed `nlserver start`) is left to finish under its own `timeout -k`:
    cut half-way it could leave the module in a state nobody chose; the next worker reports its
    outcome as unknown. Returns how many were ended.

    It does not wait for them: the caller exits the process next, before the threads that ran them can
    read the cut output and go on to post an answer for a job already handed back."""
    with _runs_lock:
        pids = [pid for pid, only_reads in _runs.items() if only_reads]
    for pid in pids:
        _kill_tree(pid, wait=False)
    return len(pids)


@functools.lru_cache(maxsize=1)
def _timeout_tool() -> str | None:
    return shutil.which("timeout")


def _command(script: Script, timeout_s: float) -> list[str]:
    tool = _timeout_tool()
    if tool is None:
        return ["/bin/sh", "-c", script.text]
    secs = max(1, int(timeout_s + 0.999))
    return [tool, "-k", str(KILL_GRACE_S), str(secs), "/bin/sh", "-c", script.text]


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
                _command(script, timeout_s),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # its own process group, killed as a whole at the deadline
            )
        except OSError as e:
            raise LocalRunError(f"cannot start /bin/sh: {e.strerror or e}") from e
        with _runs_lock:
            _runs[proc.pid] = _only_reads(script)
        try:
            return self._wait(proc, start, started_at, timeout_s)
        finally:
            with _runs_lock:
                _runs.pop(proc.pid, None)

    def _wait(self, proc: subprocess.Popen[bytes], start: float, started_at: float, timeout_s: float) -> CommandResult:
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
        if code in (124, 137) and _timeout_tool() is not None and time.monotonic() >= deadline - 0.5:
            timed_out, code = True, None  # `timeout` ended it a moment before this loop did
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
