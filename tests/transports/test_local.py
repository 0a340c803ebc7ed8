from __future__ import annotations

import random
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

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


def test_the_script_ends_by_its_deadline_even_when_the_bot_is_gone(tmp_path: Path) -> None:
    """A worker that exits at once (its serve died) leaves no local check running past its deadline: the
    script runs under `timeout -k`, as on SSH hosts."""
    if shutil.which("timeout") is None:
        pytest.skip("no timeout(1) on this system")
    a = f"{random.randint(10**6, 10**7)}.75"
    code = textwrap.dedent(
        f"""
        import os, threading, time
        from bot.transports.base import Script
        from bot.transports.local import LocalTransport
        t = threading.Thread(target=LocalTransport().run, args=(Script("sleep {a}", "t"),), kwargs={{"timeout_s": 1.5}})
        t.start()
        time.sleep(0.5)
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30, cwd=Path(__file__).resolve().parents[2])

    def left() -> list[psutil.Process]:
        return [
            p
            for p in psutil.process_iter(["cmdline", "status"])
            if p.info["cmdline"] and p.info["cmdline"][:2] == ["sleep", a] and p.info["status"] != psutil.STATUS_ZOMBIE
        ]

    assert left(), "the script should still run right after the bot vanished"
    end = time.monotonic() + 6
    while left() and time.monotonic() < end:
        time.sleep(0.1)
    assert not left(), "the script outlived its deadline"


def test_an_exit_by_the_hosts_timeout_is_a_timeout() -> None:
    r = LocalTransport().run(Script("sleep 5", "t"), timeout_s=1.0)
    assert r.timed_out and r.exit_code is None
