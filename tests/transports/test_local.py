from __future__ import annotations

import random
import time

import psutil

from bot.transports.base import Script
from bot.transports.local import LocalTransport


def test_runs_and_captures() -> None:
    r = LocalTransport().run(Script("echo hi; echo err >&2; exit 3", "t"), timeout_s=5)
    assert r.exit_code == 3 and r.stdout == b"hi\n" and r.stderr == b"err\n" and not r.timed_out


def test_deadline_kills_the_whole_tree() -> None:
    # Sleep lengths unique to this test run: only the processes it started are looked at.
    a, b = (f"{random.randint(10**6, 10**7)}.5", f"{random.randint(10**6, 10**7)}.25")
    start = time.monotonic()
    r = LocalTransport().run(Script(f"sleep {a} & sleep {b}; echo never", "t"), timeout_s=0.5)
    assert r.timed_out and r.exit_code is None
    assert time.monotonic() - start < 3
    time.sleep(0.2)
    left = [
        p
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and p.info["cmdline"][:2] in (["sleep", a], ["sleep", b])
    ]
    assert not left


def test_output_cap() -> None:
    r = LocalTransport(max_output=10_000).run(Script("yes x | head -c 5000000", "t"), timeout_s=10)
    assert r.truncated and len(r.stdout) <= 10_000


def test_path_prefix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tool = tmp_path / "nlserver"
    tool.write_text("#!/bin/sh\necho simulated\n")
    tool.chmod(0o755)
    r = LocalTransport(str(tmp_path)).run(Script("nlserver", "t"), timeout_s=5)
    assert r.stdout == b"simulated\n"
