"""The watch on the simulated fleet, time driven by the tests (no sleeping): one alert thread per
problem, updates in place, recovery once with a check mark, flapping once, snooze until worse."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.audit import AuditLog
from bot.diagnosis import Diagnoser
from bot.inventory import Environment, Host, parse_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.runner import Runner
from bot.simulator.fleet import build_host, default_scenarios
from bot.slack.alerts import SlackAlerts
from bot.slack.calls import SlackCalls
from bot.stores import MemoryStore
from bot.transports.local import LocalTransport
from bot.watch.engine import Watch
from bot.watch.model import subject_key
from tests.harness.fake_slack import FakeSlack

CHANNEL = "CALERTS"
T0 = 1_900_000_000.0


@dataclass
class Rig:
    watch: Watch
    env: Environment
    fake: FakeSlack
    home: Path

    def round(self, minutes: float) -> None:
        self.watch.run(self.env, now=T0 + minutes * 60)

    def set_process(self, name: str, line: str | None) -> None:
        """Put a process line in the simulated host's state (None: the process is gone)."""
        state = self.home / "sim" / "state"
        rows = [r for r in state.read_text().splitlines() if r.split(" ", 1)[0] != name]
        if line is not None:
            rows.append(line)
        state.write_text("".join(f"{r}\n" for r in rows))

    def set_log(self, rel: str, level: str, message: str) -> None:
        """Replace a simulated log with one entry written now (the checks read the host's real clock)."""
        ts = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        (self.home / rel).write_text(f"{ts}\t1200\t1200\t1\t{level}\tlog\t{message}\n")

    def roots(self, needle: str) -> list[str]:
        return [
            str(c.result.get("ts"))
            for c in self.fake.of("chat.postMessage")
            if c.params.get("channel") == CHANNEL and not c.params.get("thread_ts") and needle in str(c.params)
        ]

    def in_thread(self, ts: str) -> list[str]:
        return [
            str(c.params.get("blocks")) for c in self.fake.of("chat.postMessage") if c.params.get("thread_ts") == ts
        ]

    def posts(self) -> int:
        return len(self.fake.of("chat.postMessage"))


@pytest.fixture
def rig(tmp_path: Path, kb: KnowledgeBase, matcher: Matcher) -> Iterator[Rig]:
    sc = next(s for s in default_scenarios() if s.name == "app1")
    home = build_host(tmp_path / "hosts", sc, ("prod",))
    inv = parse_inventory(
        {
            "environments": {
                "prod": {
                    "instances": ["prod"],
                    "watch": {"every": "1m", "channel": CHANNEL, "modules": ["mta", "wfserver", "stat"]},
                    "hosts": [
                        {
                            "name": "app1",
                            "transport": "local",
                            "nl_home": str(home),
                            "env_path": str(home / "sim" / "bin"),
                        }
                    ],
                }
            }
        },
        "test",
    )
    env = inv.environment("prod")
    fake = FakeSlack().start()
    calls = SlackCalls(WebClient(token="xoxb-test", base_url=fake.url))

    def transport_for(h: Host) -> LocalTransport:
        return LocalTransport(h.env_path)

    watch = Watch(
        kb=kb,
        diagnoser=Diagnoser(kb, matcher, Runner(transport_for)),
        store=MemoryStore(),
        notifier=SlackAlerts(calls, kb, lambda env: CHANNEL),
        audit=AuditLog(tmp_path / "audit.jsonl"),
        clock=lambda: T0,
    )
    try:
        yield Rig(watch, env, fake, home)
    finally:
        fake.stop()
    fake.assert_all_valid()


MTA = "mta@prod 2320 23.0 14400"


def test_a_module_going_down_opens_one_thread_repeats_update_it_recovery_once(rig: Rig) -> None:
    rig.round(0)
    baseline = rig.posts()
    rig.set_process("mta@prod", None)
    rig.round(1)
    roots = rig.roots("mta@prod process on app1")
    assert len(roots) == 1, "a module going down opens exactly one thread"
    after_open = rig.posts()
    assert after_open == baseline + 1
    for minute in range(2, 12):  # ten more runs
        rig.round(minute)
    assert rig.posts() == after_open, "repeats update the root in place and post nothing new"
    updates = [c for c in rig.fake.of("chat.update") if c.params.get("ts") == roots[0]]
    assert len(updates) >= 10 and "seen 11 times" in str(updates[-1].params)
    rig.set_process("mta@prod", MTA)
    rig.round(12)
    assert len([t for t in rig.in_thread(roots[0]) if "Recovered" in t]) == 1
    assert any(
        c.params.get("timestamp") == roots[0] and c.params.get("name") == "white_check_mark"
        for c in rig.fake.of("reactions.add")
    )
    rig.round(13)
    assert len([t for t in rig.in_thread(roots[0]) if "Recovered" in t]) == 1, "recovery is posted once"


def test_flapping_is_reported_once(rig: Rig) -> None:
    rig.round(0)
    for minute in range(1, 12):
        rig.set_process("mta@prod", None if minute % 2 else MTA)
        rig.round(minute)
    root = rig.roots("mta@prod process on app1")
    assert len(root) == 1
    thread = rig.in_thread(root[0])
    assert len([t for t in thread if ":bell: flapping:" in t]) == 1
    flap_at = next(i for i, t in enumerate(thread) if ":bell: flapping:" in t)
    assert not any("Recovered" in t or "back again" in t for t in thread[flap_at + 1 :]), "quiet while flapping"


def test_snooze_silences_and_ends_early_when_it_gets_worse(rig: Rig) -> None:
    rig.round(0)
    rig.set_process("wfserver@prod", "wfserver@prod 2322 1700.0 14400")  # above the warning level (1600 MB)
    rig.round(1)
    root = rig.roots("wfserver@prod memory on app1")
    assert len(root) == 1
    key = subject_key("prod", "app1", "wfserver", "prod", "memory")
    rig.watch.snooze(key, "UOPS", 3600, now=T0 + 90)
    before = rig.posts()
    rig.round(2)
    rig.round(3)
    assert rig.posts() == before, "a snoozed alert posts nothing"
    rig.set_process("wfserver@prod", "wfserver@prod 2322 1900.0 14400")  # above the alert level: worse
    rig.round(4)
    notes = rig.in_thread(root[0])
    assert any("got worse" in t and "snooze ended" in t for t in notes)
    assert rig.watch.get(key).snoozed_until == 0.0  # type: ignore[union-attr]


def test_the_round_is_audited_with_its_events(rig: Rig, tmp_path: Path) -> None:
    rig.set_process("mta@prod", None)
    rig.round(0)
    text = (tmp_path / "audit.jsonl").read_text()
    assert "(scheduled check)" in text and "opened: mta@prod process on app1" in text


MTA_LOG, CHILD_LOG = "var/prod/log/mta.log", "var/prod/log/mtachild.log"


def test_two_problems_of_one_check_on_one_subject_are_two_alerts_each_recovering_alone(rig: Rig) -> None:
    # mta's two log files are one subject (app1, mta@prod, check log): each file is its own alert.
    rig.set_log(MTA_LOG, "error", "MTA-200001 Error while connecting to the database")
    rig.set_log(CHILD_LOG, "error", "MTA-160012 SMTP connection refused by 192.0.2.25")
    rig.round(0)
    mta = rig.roots(f"mta@prod log ({MTA_LOG}) on app1")
    child = rig.roots(f"mta@prod log ({CHILD_LOG}) on app1")
    assert len(mta) == 1 and len(child) == 1 and mta != child, "one thread per log file"
    key_mta = subject_key("prod", "app1", "mta", "prod", "log", MTA_LOG)
    key_child = subject_key("prod", "app1", "mta", "prod", "log", CHILD_LOG)
    assert {a.key for a in rig.watch.open_alerts("prod")} >= {key_mta, key_child}
    rig.set_log(MTA_LOG, "info", "Message delivery batch processed")  # the mta log is clean again
    rig.round(1)
    assert len([t for t in rig.in_thread(mta[0]) if "Recovered" in t]) == 1
    assert not [t for t in rig.in_thread(child[0]) if "Recovered" in t], "the other log's alert stays open"
    assert rig.watch.get(key_mta).open is False  # type: ignore[union-attr]
    assert rig.watch.get(key_child).open is True  # type: ignore[union-attr]
    rig.set_log(CHILD_LOG, "info", "Message delivery batch processed")
    rig.round(2)
    assert len([t for t in rig.in_thread(child[0]) if "Recovered" in t]) == 1
    assert len([t for t in rig.in_thread(mta[0]) if "Recovered" in t]) == 1, "recovery is posted once"
