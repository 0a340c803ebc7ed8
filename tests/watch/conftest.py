"""A watch and an alert intake on simulated hosts, posting in a fake Slack; time driven by the tests.

`sim` builds two simulated hosts (app1 runs mta, wfserver and stat; track1 runs none of them), an
inventory file with a watch block, the real services (diagnosis, conversation) on it, and the watch
with the Slack notifier. Rounds are run with `sim.round(minutes)`: nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.__main__ import Services
from bot.config import Settings
from bot.conversation.replies import Answer
from bot.errors import HostUnreachable
from bot.inventory import Environment, Host, Inventory
from bot.present import slack as present
from bot.slack.alerts import SlackAlerts
from bot.slack.calls import SlackCalls
from bot.transports.base import Transport
from bot.transports.local import LocalTransport
from bot.watch.engine import Watch
from bot.watch.intake import AlertIntake, ExternalAlert, map_alert
from bot.watch.model import WatchRound, subject_key
from tests.harness.fake_slack import FakeSlack
from tests.harness.service import build_hosts

CHANNEL = "CALERTS"
T0 = 1_900_000_000.0
MTA = "mta@prod 2320 23.0 14400"


class Down(LocalTransport):
    def run(self, script, *, timeout_s):  # type: ignore[no-untyped-def, override]
        raise HostUnreachable("connect to 10.0.0.1:22: Connection refused")


@dataclass
class Sim:
    svc: Services
    watch: Watch
    intake: AlertIntake
    fake: FakeSlack
    homes: dict[str, Path]
    path: Path
    data: dict[str, Any]
    now: list[float]
    down: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ the world
    def inventory(self) -> Inventory:
        return self.svc.inventory()

    def env(self) -> Environment:
        return self.inventory().environment("prod")

    def rewrite(self, fn: Any) -> None:
        """Change the inventory file (fn edits the data in place) and have it re-read."""
        fn(self.data)
        self.path.write_text(yaml.safe_dump(self.data))
        self.svc.inventory_source.reload()

    def set_process(self, host: str, name: str, line: str | None) -> None:
        """Put a process line in a simulated host's state (None: the process is gone)."""
        state = self.homes[host] / "sim" / "state"
        rows = [r for r in state.read_text().splitlines() if r.split(" ", 1)[0] != name]
        if line is not None:
            rows.append(line)
        state.write_text("".join(f"{r}\n" for r in rows))

    def round(self, minutes: float) -> WatchRound:
        self.now[0] = T0 + minutes * 60
        return self.watch.run(self.env(), now=self.now[0])

    def alert(self, source: str, status: str, minutes: float, **labels: str) -> None:
        """One external alert through the intake, as the webhook would map it."""
        self.now[0] = T0 + minutes * 60
        a = ExternalAlert(
            status=status, labels={"alertname": "CampaignMtaDown", **labels}, annotations={"summary": "x"}
        )  # type: ignore[arg-type]
        m = map_alert(a, self.inventory(), self.svc.resolver, CHANNEL)
        self.intake.handle(source, [m.model_dump(mode="json")])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ what Slack saw
    def roots(self, needle: str = "") -> list[str]:
        """The ts of thread roots posted (and taken by Slack) whose text holds `needle`."""
        return [
            str(c.result["ts"])
            for c in self.fake.of("chat.postMessage")
            if c.result.get("ok") and not c.params.get("thread_ts") and needle in json.dumps(c.params)
        ]

    def in_thread(self, ts: str) -> list[str]:
        return [
            json.dumps(c.params.get("blocks"))
            for c in self.fake.of("chat.postMessage")
            if c.params.get("thread_ts") == ts and c.result.get("ok")
        ]

    def root(self, ts: str) -> str:
        """The root message as it is now (its last update, else as posted)."""
        ups = [c for c in self.fake.of("chat.update") if c.params.get("ts") == ts]
        if ups:
            return json.dumps(ups[-1].params)
        return next(json.dumps(c.params) for c in self.fake.of("chat.postMessage") if c.result.get("ts") == ts)

    def checked(self, ts: str) -> bool:
        return "white_check_mark" in self.fake.reactions(CHANNEL, ts)

    def posts(self) -> int:
        return len(self.fake.of("chat.postMessage"))


def mta_key(host: str = "app1") -> str:
    return subject_key("prod", host, "mta", "prod", "process")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    homes = build_hosts(tmp_path / "hosts", ("app1", "track1"))
    data: dict[str, Any] = {
        "default_environment": "prod",
        "environments": {
            "prod": {
                "instances": ["prod"],
                "watch": {"every": "1m", "channel": CHANNEL, "modules": ["mta", "wfserver", "stat"]},
                "hosts": [
                    {
                        "name": n,
                        "address": f"10.1.0.1{i + 1}",
                        "transport": "local",
                        "nl_home": str(h),
                        "env_path": str(h / "sim" / "bin"),
                    }
                    for i, (n, h) in enumerate(homes.items())
                ],
            }
        },
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data))
    svc = Services(Settings(_env_file=None), inventory=str(path))  # type: ignore[call-arg]
    down: set[str] = set()

    def transport_for(h: Host) -> Transport:
        return Down(h.env_path) if h.name in down else LocalTransport(h.env_path)

    svc.transport_for = transport_for  # type: ignore[misc]
    fake = FakeSlack().start()
    calls = SlackCalls(WebClient(token="xoxb-test", base_url=fake.url))
    now = [T0]
    watch = Watch(
        kb=svc.kb,
        diagnoser=svc.diagnoser,
        store=svc.store,
        notifier=SlackAlerts(calls, svc.kb, lambda env: CHANNEL),
        audit=svc.audit,
        clock=lambda: now[0],
    )

    def show_answer(answer: Answer, channel: str, ts: str) -> None:
        calls.post(channel, ts, present.answer(answer, svc.kb))

    intake = AlertIntake(
        watch,
        svc.conversation,
        post_unknown=lambda channel, text: calls.post(channel, None, present.notice(text)),
        show_answer=show_answer,
    )
    s = Sim(svc, watch, intake, fake, homes, path, data, now, down)
    try:
        yield s
    finally:
        fake.stop()
    fake.assert_all_valid()
