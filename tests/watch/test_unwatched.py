"""Environments (or watch blocks) removed from the inventory close their alerts through the scheduler, with
a note and without ✅; never while the inventory cannot be read."""

from __future__ import annotations

from typing import Any

from bot.errors import ConfigError
from bot.inventory import parse_inventory
from bot.kb import KnowledgeBase
from bot.models import Diagnosis, Finding
from bot.stores import MemoryStore
from bot.watch.engine import Watch
from bot.watch.model import AlertState
from bot.watch.scheduler import WatchScheduler, run_round

T0 = 1_900_000_000.0


class Recorder:
    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []
        self.marks: list[str] = []

    def opened(self, alert: AlertState, detail: Diagnosis) -> tuple[str, str] | None:
        return "C1", f"1.{alert.key}"

    def refresh(self, alert: AlertState, detail: Diagnosis | None) -> None:
        pass

    def note(self, alert: AlertState, text: str, detail: Diagnosis | None = None) -> None:
        self.notes.append((alert.key, text))

    def recovered(self, alert: AlertState) -> None:
        self.notes.append((alert.key, "recovered"))

    def mark(self, alert: AlertState) -> None:
        self.marks.append(alert.key)


def two_environments(watch_acc: bool = True, acc: bool = True) -> dict[str, Any]:
    envs: dict[str, Any] = {
        "prod": {"watch": {"every": "1m", "channel": "CPRODALERT"}, "hosts": [{"name": "app1", "address": "10.0.0.1"}]}
    }
    if acc:
        envs["acc"] = {"hosts": [{"name": "acc1", "address": "10.0.0.2"}]}
        if watch_acc:
            envs["acc"]["watch"] = {"every": "1m", "channel": "CACCALERT"}
    return {"environments": envs}


def test_alerts_of_a_removed_environment_or_watch_block_are_closed_as_no_longer_watched(kb: KnowledgeBase) -> None:
    store, rec = MemoryStore(), Recorder()
    watch = Watch(kb=kb, diagnoser=None, store=store, notifier=rec, clock=lambda: T0)  # type: ignore[arg-type]
    inv = [parse_inventory(two_environments(), "inventory.yaml")]
    down = Finding(host="acc1", module="mta", instance="acc", check="process", status="fail", summary="mta down")
    watch.apply(
        inv[0].environment("acc"), Diagnosis(question="q", environment="acc", simulated=False, findings=(down,)), T0
    )
    external = AlertState(
        key="ext", environment="acc", host="acc1", module="mta", instance=None, check="alert:MtaDown", status="fail",
        fingerprint="f", summary="x", source="alertmanager", opened_at=T0, last_seen=T0, channel="C1", ts="1.ext",
    )  # fmt: skip
    watch.save(external)
    jobs: list[tuple[str, dict[str, Any], str | None]] = []

    def submit(kind: str, payload: dict[str, Any], job_id: str | None) -> bool:
        jobs.append((kind, payload, job_id))
        return True

    sched = WatchScheduler(lambda: inv[0], submit, store=store)
    sched.tick(T0 + 1)
    assert not [j for j in jobs if j[1].get("retire")], "nothing to retire while acc is watched"
    jobs.clear()
    inv[0] = parse_inventory(two_environments(watch_acc=False), "inventory.yaml")  # acc's watch block removed
    sched.tick(T0 + 61)
    retire = [j for j in jobs if j[1].get("retire")]
    assert len(retire) == 1 and retire[0][2] is not None and retire[0][2].startswith("watch:acc:retire:")
    run_round(watch, store, lambda: inv[0], retire[0][1])
    assert [t for _, t in rec.notes] == ["no longer watched: the environment acc has no watch block any more. "
                                          "I close this alert without a check seeing it recover."]  # fmt: skip
    assert {a.key for a in watch.open_alerts("acc")} == {"ext"}, "external alerts still come and resolve"
    assert not rec.marks, "no ✅: nobody saw it recover"
    jobs.clear()
    sched.tick(T0 + 90)
    assert not jobs or not [j for j in jobs if j[1].get("retire")], "once a minute at most"
    inv[0] = parse_inventory(two_environments(acc=False), "inventory.yaml")  # acc removed
    sched.tick(T0 + 125)
    retire = [j for j in jobs if j[1].get("retire")]
    assert len(retire) == 1
    run_round(watch, store, lambda: inv[0], retire[0][1])
    assert not watch.open_alerts("acc")
    assert "the environment acc was removed from the inventory" in rec.notes[-1][1]
    jobs.clear()
    sched.tick(T0 + 200)
    assert not [j for j in jobs if j[1].get("retire")]


def test_no_alert_is_closed_while_the_inventory_cannot_be_read(kb: KnowledgeBase) -> None:
    store = MemoryStore()
    store.put("alert", "k", AlertState(
        key="k", environment="prod", host="app1", module="mta", instance="prod", check="process", status="fail",
        fingerprint="f", summary="x", opened_at=T0, last_seen=T0,
    ).model_dump(mode="json"))  # fmt: skip

    def broken() -> Any:
        raise ConfigError("inventory.yaml: environments: expected a mapping")

    jobs: list[Any] = []
    WatchScheduler(broken, lambda *a: jobs.append(a) or True, store=store).tick(T0)
    assert not jobs
