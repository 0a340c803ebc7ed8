"""Scheduled checks on the job engine: each due slot of each watched environment becomes one job.

Every worker runs a `WatchScheduler` tick every second; the job id of a round is
`watch:<environment>:<slot>`, and the ledger accepts a job id once deployment-wide, so however
many replicas tick, each scheduled check runs once. A round still running when the next slot comes
makes that slot skip (a per-environment lock), so rounds of one environment never overlap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.errors import ConfigError, StoreError
from bot.inventory import Inventory
from bot.schedule import schedule_of
from bot.stores.base import StateStore
from bot.watch.engine import Watch

log = logging.getLogger(__name__)

Submit = Callable[[str, dict[str, Any], str | None], object]
TICK_S = 1.0
NS_RUNNING = "watch-running"


class WatchScheduler:
    def __init__(
        self, inventory: Callable[[], Inventory], submit: Submit, clock: Callable[[], float] = time.time
    ) -> None:
        self.inventory = inventory
        self.submit = submit
        self.clock = clock
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


def run_round(watch: Watch, store: StateStore, inventory: Callable[[], Inventory], payload: dict[str, Any]) -> None:
    """The job of one scheduled check: skip it when the environment's previous round still runs."""
    inv = inventory()
    env = inv.find_environment(str(payload.get("env")))
    if env is None or env.watch is None:
        return  # the environment (or its watch) was removed from the inventory meanwhile
    lease = max(60.0, 3 * max((h.deadline_s for h in env.hosts), default=20.0))
    if not store.add(NS_RUNNING, env.name, {"slot": payload.get("slot")}, ttl_s=lease):
        log.warning("watch round %s of %s skipped: the previous round still runs", payload.get("slot"), env.name)
        return
    try:
        watch.run(env, slot=str(payload.get("slot")))
    finally:
        store.delete(NS_RUNNING, env.name)
