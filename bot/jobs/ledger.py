"""The job ledger: every accepted question or click, with its state and a lease.

The task queue (huey) carries only job ids; the ledger, in the state store, is what makes a job
survive a killed worker:

- `accept` records the job (state `queued`) before Slack gets its acknowledgement;
- `claim` moves it to `running` under a lease that the worker renews while it works; a second
  delivery of the same id finds it running (or done) and does nothing;
- `reap` finds running jobs whose lease ran out (or whose worker on this machine is gone) and
  queued jobs nobody took, and hands them back (`interrupted`) so they run again;
- `finish` closes it. A job that was interrupted `MAX_ATTEMPTS` times is given up, with an
  explained error for its thread (the caller posts it).

The job also remembers the message it is answering in (`message`), so a re-run updates the same
thread message, and a `stage` for steps that must never run twice (a confirmed action).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import JobLost
from bot.stores.base import Record, StateStore

NS = "job"
DEFAULT_LEASE_S = 15.0
MAX_ATTEMPTS = 3
QUEUED_GRACE_S = 30.0  # a queued job nobody claimed for this long is enqueued again
DONE_TTL_S = 3 * 86400

JobState = Literal["queued", "running", "interrupted", "done", "failed"]


class JobRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    payload: dict[str, Any]
    state: JobState = "queued"
    attempts: int = 0
    worker: str | None = None
    lease_until: float = 0.0
    created: float = 0.0
    updated: float = 0.0
    message: dict[str, str] | None = None  # where the answer is shown: {"channel": ..., "ts": ...}
    stage: str | None = None
    stage_data: dict[str, Any] | None = None
    error: str | None = None

    @property
    def interrupted_before(self) -> bool:
        """This run repeats one that did not finish."""
        return self.attempts > 1


def worker_id() -> str:
    """`host:pid:random`: unique per worker process; the host and pid tell a dead local worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _runs_under(cur: Record, worker: str) -> bool:
    # "interrupted" too: a worker stopping hands its jobs back, and their threads may still be recording
    # until the process exits; only another worker's claim makes the job someone else's.
    return cur.get("worker") == worker and cur.get("state") in ("running", "interrupted")


def _local_worker_dead(worker: str | None) -> bool:
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Ledger:
    def __init__(self, store: StateStore, lease_s: float = DEFAULT_LEASE_S, clock: Any = time.time) -> None:
        self.store = store
        self.lease_s = lease_s
        self.clock = clock

    def accept(self, kind: str, payload: dict[str, Any], job_id: str | None = None) -> str | None:
        """Record a new job; None if a job with this id exists already (a re-delivered event)."""
        jid = job_id or uuid.uuid4().hex
        now = self.clock()
        rec = JobRecord(id=jid, kind=kind, payload=payload, created=now, updated=now)
        return jid if self.store.add(NS, jid, rec.model_dump(mode="json")) else None

    def get(self, job_id: str) -> JobRecord | None:
        data = self.store.get(NS, job_id)
        return JobRecord.model_validate(data) if data else None

    def claim(self, job_id: str, worker: str) -> JobRecord | None:
        """Start (or restart) a job under this worker's lease; None if it is not ours to run."""
        now = self.clock()

        def fn(cur: Record | None) -> Record | None:
            if cur is None:
                return None
            rec = JobRecord.model_validate(cur)
            if rec.state in ("done", "failed"):
                return cur
            if rec.state == "running" and rec.lease_until > now and rec.worker != worker:
                return cur
            return rec.model_copy(
                update={
                    "state": "running",
                    "worker": worker,
                    "lease_until": now + self.lease_s,
                    "attempts": rec.attempts + 1,
                    "updated": now,
                }
            ).model_dump(mode="json")

        new = self.store.update(NS, job_id, fn)
        if new is None:
            return None
        rec = JobRecord.model_validate(new)
        return rec if rec.state == "running" and rec.worker == worker and rec.updated == now else None

    def renew(self, job_ids: list[str], worker: str) -> None:
        now = self.clock()
        for jid in job_ids:
            self.store.update(
                NS,
                jid,
                lambda cur: (
                    {**cur, "lease_until": now + self.lease_s}
                    if cur is not None and cur.get("state") == "running" and cur.get("worker") == worker
                    else cur
                ),
            )

    def record(self, job_id: str, worker: str | None = None, **fields: Any) -> None:
        """Remember the job's message or stage (durably, before going on).

        With `worker`, only while the job runs under that worker: raises JobLost when its lease ran out and
        another worker took the job over (a worker frozen past its lease must not record a stage, then send
        a confirmed command the other one sends too)."""
        lost = False

        def fn(cur: Record | None) -> Record | None:
            nonlocal lost
            if cur is None:
                return None
            if worker is not None and not _runs_under(cur, worker):
                lost = True
                return cur
            return {**cur, **fields, "updated": self.clock()}

        self.store.update(NS, job_id, fn)
        if lost:
            raise JobLost(f"job {job_id} is another worker's now")

    def runs_under(self, job_id: str, worker: str) -> bool:
        """The job is still running under this worker's lease (no other worker took it over)."""
        cur = self.store.get(NS, job_id)
        return cur is not None and _runs_under(cur, worker)

    def finish(
        self,
        job_id: str,
        state: Literal["done", "failed"] = "done",
        error: str | None = None,
        worker: str | None = None,
    ) -> None:
        """Close the job; with `worker`, only if it still runs under that worker (else another has it)."""
        now = self.clock()

        def fn(cur: Record | None) -> Record | None:
            if cur is None or (worker is not None and not _runs_under(cur, worker)):
                return cur
            return {**cur, "state": state, "error": error, "updated": now, "lease_until": 0.0}

        self.store.update(NS, job_id, fn, ttl_s=DONE_TTL_S)

    def hand_back(self, job_id: str, worker: str) -> bool:
        """A worker stopping gracefully returns a job it cannot finish; True if it was still ours."""
        done = False

        def fn(cur: Record | None) -> Record | None:
            nonlocal done
            if cur is None or cur.get("state") != "running" or cur.get("worker") != worker:
                return cur
            done = True
            return {**cur, "state": "interrupted", "lease_until": 0.0, "updated": self.clock()}

        self.store.update(NS, job_id, fn)
        return done

    def reap(self) -> list[JobRecord]:
        """Jobs to run again: running with an expired lease or a dead local worker, or queued too long."""
        now = self.clock()
        out: list[JobRecord] = []
        for jid, data in self.store.scan(NS):
            state = data.get("state")
            stale_run = state == "running" and (
                float(data.get("lease_until", 0)) < now or _local_worker_dead(data.get("worker"))
            )
            stale_queue = state in ("queued", "interrupted") and now - float(data.get("updated", now)) > QUEUED_GRACE_S
            if not (stale_run or stale_queue):
                continue

            def fn(cur: Record | None, was: Any = data) -> Record | None:
                if cur is None or cur.get("state") != was.get("state") or cur.get("updated") != was.get("updated"):
                    return cur  # someone else moved it meanwhile
                return {**cur, "state": "interrupted", "lease_until": 0.0, "updated": now}

            new = self.store.update(NS, jid, fn)
            if new is not None and new.get("state") == "interrupted" and new.get("updated") == now:
                out.append(JobRecord.model_validate(new))
        return out
