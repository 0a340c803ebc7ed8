"""Host text with terminal control sequences never reaches the operator's terminal raw."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.harness.service import build_hosts, write_inventory

HOSTILE = (
    "PGS-220000 PostgreSQL error \x1b[2J\x1b[H\x1b]0;owned title\x07 \x1b]8;;https://evil.invalid\x1b\\click\x1b]8;;\x1b\\"
    " \x9b31m c1 \x1bP+q\x1b\\ end"
)


def test_diagnose_and_chat_strip_control_sequences(tmp_path: Path) -> None:
    homes = build_hosts(tmp_path / "hosts", ("app1",))
    inv = write_inventory(tmp_path / "inventory.yaml", homes)
    log = homes["app1"] / "var" / "prod" / "log" / "mta.log"
    stamp = (datetime.now(timezone.utc) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    log.write_text(f"{stamp}\t4242\t4242\t1\terror\tlog\t{HOSTILE}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    outputs = [
        subprocess.run(
            [sys.executable, "-m", "bot", "diagnose", "show the mta log", "--all", "--inventory", str(inv)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        ),
        subprocess.run(
            [sys.executable, "-m", "bot", "run", "--inventory", str(inv)],
            input="show the mta log\n",
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        ),
    ]
    for p in outputs:
        assert "PGS-220000" in p.stdout, p.stderr[-500:]  # the evidence is shown ...
        assert "\x1b" not in p.stdout and "\x9b" not in p.stdout and "\x07" not in p.stdout  # ... without its controls
        assert "owned title" not in p.stdout or "\x1b]0;" not in p.stdout
