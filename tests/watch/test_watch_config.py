"""The watch block is validated as cron and YAML would have it (no .nan, no .inf, no reversed ranges; names
and @hourly as cron reads them), with file and field and never a traceback."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.errors import InventoryError
from bot.inventory import parse_inventory
from bot.schedule import parse_cron

T0 = 1_900_000_000.0


def inventory(watch: dict[str, Any]) -> dict[str, Any]:
    return {"environments": {"prod": {"watch": watch, "hosts": [{"name": "app1", "address": "10.0.0.1"}]}}}


@pytest.mark.parametrize(
    ("watch", "field", "says"),
    [
        ({"every": math.nan}, "watch.every", "not .nan or .inf"),
        ({"every": math.inf}, "watch.every", "not .nan or .inf"),
        ({"every": "5m", "flap_window": math.inf}, "watch.flap_window", "not .nan or .inf"),
        ({"cron": "5-1 * * * *"}, "watch.cron", "the range 5-1 starts after it ends"),
        ({"cron": "0 23-2 * * *"}, "watch.cron", "the range 23-2 starts after it ends"),
        ({"cron": "0 9 * * FRI-MON"}, "watch.cron", "starts after it ends"),
        ({"cron": "60 * * * *"}, "watch.cron", "60 is not within 0-59"),
        ({"cron": "@reboot"}, "watch.cron", "not a cron shorthand"),
    ],
)
def test_a_watch_block_cron_would_refuse_is_refused_with_file_and_field(
    watch: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(InventoryError) as e:
        parse_inventory(inventory(watch), "inventory.yaml")
    assert f"inventory.yaml: environments.prod.{field}:" in str(e.value) and says in str(e.value)


def test_cron_names_and_shorthands_are_read_as_cron_reads_them() -> None:
    weekdays = parse_cron("0 9 * * MON-FRI")
    days = [weekdays(datetime(2026, 12, d, 9, 0)) for d in range(6, 13)]  # Sunday 6 December .. Saturday 12
    assert days == [False, True, True, True, True, True, False]
    every_other = parse_cron("0 0 * * */2")
    assert [every_other(datetime(2026, 12, d)) for d in range(6, 13)] == [True, False, True, False, True, False, True]
    assert parse_cron("@hourly")(datetime(2026, 12, 6, 5, 0)) and not parse_cron("@hourly")(datetime(2026, 12, 6, 5, 1))
    assert parse_cron("0 0 1 jan-mar *")(datetime(2026, 2, 1))
    env = parse_inventory(inventory({"cron": "@daily"}), "inventory.yaml").environment("prod")
    assert env.watch is not None and env.watch.cron == "@daily"


def test_the_watch_command_says_a_bad_watch_block_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory({"every": math.nan})))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    p = subprocess.run(
        [sys.executable, "-m", "bot", "watch", "--once", "--inventory", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=base,
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "environments.prod.watch.every" in p.stderr and p.stdout == ""


def test_a_watch_round_that_breaks_is_one_line_and_exit_1(kb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import io
    from types import SimpleNamespace

    from bot.stores import MemoryStore
    from bot.watch.terminal import run_terminal_watch

    class Broken:
        def check(self, *a: Any, **k: Any) -> Any:
            raise RuntimeError("the runner broke: password=hunter2secret")

    inv = parse_inventory(inventory({"every": "5m"}), "inventory.yaml")
    svc = SimpleNamespace(
        inventory=lambda: inv, default_env=None, kb=kb, diagnoser=Broken(), store=MemoryStore(), audit=None
    )
    out = io.StringIO()
    code = run_terminal_watch(argparse.Namespace(env="prod", once=True, json=False), svc, out)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert code == 1 and out.getvalue() == ""
    assert "the watch round of prod failed: RuntimeError: the runner broke" in err and "hunter2secret" not in err
