"""Scheduled checks on the job engine: each due slot of each watched environment becomes one job.

Every worker runs a `WatchScheduler` tick every second; the job id of a round is
`watch:<environment>:<slot>`, and the ledger accepts a job id once deployment-wide, so however
many replicas tick, each scheduled check runs once. A round still running when the next slot comes
makes that slot skip (a per-environment lock), so rounds of one environment never overlap.

Alerts of an environment nothing watches any more (removed from the inventory, or its watch block
removed) are closed by a job too (`watch:<environment>:retire:<minute>`), with a note in their
threads saying so; never while the inventory cannot be read.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.errors import ConfigError, StoreError
from bot.inventory import Inventory
from bot.schedule import schedule_of
from bot.stores.base import StateStore
from bot.watch.engine import NS_ALERT, Watch
from bot.watch.model import AlertState

log = logging.getLogger(__name__)

Submit = Callable[[str, dict[str, Any], str | None], object]
TICK_S = 1.0
NS_RUNNING = "watch-running"
SWEEP_S = 60.0  # how often a worker looks for alerts of environments nothing watches any more


class WatchScheduler:
    def __init__(
        self,
        inventory: Callable[[], Inventory],
        submit: Submit,
        clock: Callable[[], float] = time.time,
        store: StateStore | None = None,
    ) -> None:
        self.inventory = inventory
        self.submit = submit
        self.clock = clock
        self.store = store  # where the alerts are (None: no sweep for unwatched environments)
        self._swept: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self, now: float | None = None) -> list[str]:
        """Submit the rounds due at `now`; returns the job ids this call submitted (accepted first)."""
        t = self.clock() if now is None else now
        try:
            inv = self.inventory()
        except ConfigError:
            return []  # a broken inventory: no round until it is fixed (and the worker says why)
        out = []
        for env in inv.environments.values():
            sched = schedule_of(env)
            if sched is None:
                continue
            slot = sched.slot(t)
            if slot is None:
                continue
            job_id = f"watch:{env.name}:{slot}"
            try:
                if self.submit("watch", {"env": env.name, "slot": slot, "at": t}, job_id):
                    out.append(job_id)
            except StoreError as e:
                log.error("watch round of %s not scheduled: %s", env.name, e)
        out.extend(self._sweep(inv, t))
        return out

    def _sweep(self, inv: Inventory, t: float) -> list[str]:
        """Once a minute: a job closing the alerts of each environment nothing watches any more."""
        if self.store is None or (self._swept is not None and t - self._swept < SWEEP_S):
            return []
        self._swept = t
        out = []
        try:
            for name in unwatched_environments(self.store, inv):
                job_id = f"watch:{name}:retire:{math.floor(t / SWEEP_S)}"
                if self.submit("watch", {"env": name, "slot": "retire", "retire": True, "at": t}, job_id):
                    out.append(job_id)
        except StoreError as e:
            log.error("alerts of unwatched environments not looked for: %s", e)
        return out

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S - (time.time() % TICK_S)):
            try:
                self.tick()
            except Exception:
                log.exception("watch tick failed")

    def start(self) -> Callable[[], None]:
        self._thread = threading.Thread(target=self._loop, name="watch-scheduler", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stop.set()


def unwatched_environments(store: StateStore, inv: Inventory) -> list[str]:
    """Environments with open alerts nothing will check again: removed from the inventory (any alert), or
    without a watch block any more (the scheduled check's alerts; external ones still come and resolve)."""
    out: set[str] = set()
    for _, data in store.scan(NS_ALERT):
        rec = AlertState.model_validate(data)
        if not rec.open:
            continue
        env = inv.environments.get(rec.environment)
        if env is None or (env.watch is None and not rec.external):
            out.add(rec.environment)
    return sorted(out)


def run_round(watch: Watch, store: StateStore, inventory: Callable[[], Inventory], payload: dict[str, Any]) -> None:
    """The job of one scheduled check: skip it when the environment's previous round still runs.

    An environment (or its watch block) removed from the inventory meanwhile: its alerts are closed
    with a note saying so (no round)."""
    inv = inventory()
    name = str(payload.get("env"))
    env = inv.environments.get(name)
    if env is None or env.watch is None or payload.get("retire"):
        watch.retire_environment(inv, name)
        return
    lease = max(60.0, 3 * max((h.deadline_s for h in env.hosts), default=20.0))
    if not store.add(NS_RUNNING, env.name, {"slot": payload.get("slot")}, ttl_s=lease):
        log.warning("watch round %s of %s skipped: the previous round still runs", payload.get("slot"), env.name)
        return
    try:
        watch.run(env, slot=str(payload.get("slot")))
    finally:
        store.delete(NS_RUNNING, env.name)
