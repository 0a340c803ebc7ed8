"""`campaign-bot watch --once` as cron would run it: on the simulated fleet, and on a real inventory
whose alert state persists between runs (new, then ongoing, then recovered)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.harness.service import build_hosts, write_inventory


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "watch", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**base, **(env or {})},
    )


def test_watch_once_on_the_simulated_fleet(tmp_path: Path) -> None:
    p = run("--once", cwd=tmp_path)
    assert p.returncode == 1, p.stderr  # the simulated fleet has failures: like `check`, exit 1
    assert "SIMULATED" in p.stdout and "NEW" in p.stdout and "mta@prod process on app2" in p.stdout
    assert "Traceback" not in p.stderr
    assert not list(tmp_path.iterdir()), "the simulated watch writes no state file"


def test_watch_once_keeps_state_between_cron_runs(tmp_path: Path) -> None:
    homes = build_hosts(tmp_path / "hosts")
    inv = write_inventory(tmp_path / "inventory.yaml", homes)
    env = {
        "CAMPAIGN_BOT_STATE_DB": str(tmp_path / "state.sqlite3"),
        "CAMPAIGN_BOT_AUDIT_LOG": str(tmp_path / "a.jsonl"),
    }
    first = run("--once", "--inventory", str(inv), cwd=tmp_path, env=env)
    assert first.returncode == 1 and "NEW" in first.stdout and "mta@prod process on app2" in first.stdout
    second = run("--once", "--inventory", str(inv), "--json", cwd=tmp_path, env=env)
    rnd = json.loads(second.stdout.splitlines()[-1])
    kinds = {e["subject"]: e["kind"] for e in rnd["events"]}
    assert kinds["mta@prod process on app2"] == "ongoing"
    state = homes["app2"] / "sim" / "state"
    state.write_text(state.read_text() + "mta@prod 3120 23.0 3600\n")
    third = run("--once", "--inventory", str(inv), cwd=tmp_path, env=env)
    assert "RECOVERED" in third.stdout and "mta@prod process on app2" in third.stdout
    assert run("--once", "--env", "nope", "--inventory", str(inv), cwd=tmp_path, env=env).returncode == 2


def test_watch_on_an_unknown_environment_says_only_that(tmp_path: Path) -> None:
    p = run("--once", "--env", "nope", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == ["campaign-bot: unknown environment 'nope'; known: prod"]
    assert p.stdout == ""
