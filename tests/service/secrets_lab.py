"""The one-host lab the secret-corpus end-to-end tests share: a fake Slack API, a simulated host whose
mta.log receives the planted texts, and `campaign-bot diagnose` run on it as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.harness.fake_slack import FakeSlack
from tests.harness.service import Lab, build_hosts, write_inventory


def one_host_lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab with one simulated host, app1 (yields it; stops everything it started)."""
    fake = FakeSlack().start()
    homes = build_hosts(tmp_path / "hosts", ("app1",))
    lab = Lab(tmp_path, fake, write_inventory(tmp_path / "inventory.yaml", homes), homes)
    try:
        yield lab
    finally:
        lab.close()
        fake.stop()


def mta_log(home: Path) -> Path:
    return home / "var" / "prod" / "log" / "mta.log"


def diagnose_show_log(lab: Lab, *extra: str) -> subprocess.CompletedProcess[str]:
    """`campaign-bot diagnose "show the mta log" --all` on the lab's inventory, without the caller's
    Slack or bot settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "diagnose",
            "show the mta log",
            "--all",
            "--inventory",
            str(lab.inventory),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=lab.tmp,
    )
