"""The job engine: huey's queue and worker threads, with our ledger for leases and re-runs.

Why huey (see README): it is small and well kept, has an embedded SQLite storage (the default: no
server to run) and a Redis storage (several machines), a consumer with worker threads, periodic
tasks and locks. What it does not do is survive a worker killed mid-task: it removes a task from
the queue when a worker takes it. The `Ledger` closes that gap (see `ledger.py`): the queue only
carries job ids, and a job whose lease runs out is put back in the queue.

Process roles:
- `serve` (acknowledging only) calls `submit`: the job is in the ledger and in the queue before
  Slack gets its 200;
- a worker (`campaign-bot worker`, or the one `serve` starts) calls `start`: huey's consumer runs
  `execute` on its threads; beside it a keeper thread renews the leases of this worker's jobs and
  reaps jobs whose worker died; `stop(graceful=True)` lets running jobs finish for a while, then
  hands back the rest so another worker runs them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from bot.errors import JobLost, StoreError
from bot.jobs.ledger import MAX_ATTEMPTS, JobRecord, Ledger, worker_id
from bot.stores.base import StateStore

log = logging.getLogger(__name__)

KEEPER_EVERY_S = 2.0
QUEUE_NAME = "campaign-bot"


class JobContext:
    """What a job handler gets: its record, and ways to record progress durably (a `JobHandle`)."""

    def __init__(self, ledger: Ledger, record: JobRecord) -> None:
        self.ledger = ledger
        self.record = record
        self._stage = record.stage
        self._data = record.stage_data
        self._message = record.message

    @property
    def attempt(self) -> int:
        return self.record.attempts

    @property
    def interrupted_before(self) -> bool:
        return self.record.interrupted_before

    @property
    def message(self) -> dict[str, str] | None:
        return self._message

    def set_message(self, channel: str, ts: str) -> None:
        """Remember where the job answers; raises JobLost when another worker has the job now."""
        self._message = {"channel": channel, "ts": ts}
        self.ledger.record(self.record.id, worker=self.record.worker, message=self._message)

    def still_ours(self) -> bool:
        """Whether this run still holds the job (checked before its answer is shown: a worker frozen past
        its lease must not overwrite the answer of the worker that ran the job again)."""
        return self.record.worker is None or self.ledger.runs_under(self.record.id, self.record.worker)

    @property
    def stage(self) -> str | None:
        return self._stage

    @property
    def data(self) -> dict[str, Any] | None:
        return self._data

    def set_stage(self, stage: str, data: dict[str, Any] | None = None) -> None:
        """Record a stage durably before going on; raises JobLost when another worker has the job now (so
        a confirmed command is never sent by both)."""
        self._stage = stage
        if data is not None:
            self._data = data
        self.ledger.record(self.record.id, worker=self.record.worker, stage=stage, stage_data=self._data)


Handler = Callable[[JobContext], None]
GiveUp = Callable[[JobRecord], None]


class _QuietConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer without its own signal handlers: the process lifecycle owns the signals."""

    def _set_signal_handlers(self) -> None:
        return None


def make_huey(sqlite_path: str, redis_url: str | None, immediate: bool = False) -> Huey:
    """The queue: Redis when configured (scale-out), else the same SQLite file as the state store.

    Raises StoreError (one line, no secret) when the queue's storage cannot be opened.
    """
    try:
        if redis_url:
            h: Huey = RedisHuey(QUEUE_NAME, url=redis_url, results=False, blocking=True, read_timeout=1, utc=True)
        else:
            # No fsync per enqueue: the ledger (written first, WAL with synchronous=NORMAL) is the durable
            # record, and its keeper re-queues a job nobody took; the queue entry is only a wake-up call.
            h = SqliteHuey(QUEUE_NAME, filename=sqlite_path, results=False, utc=True, timeout=10, fsync=False)
    except (sqlite3.Error, OSError, ValueError) as e:
        raise StoreError(f"job queue storage cannot be opened: {type(e).__name__}: {e}") from e
    h.immediate = immediate
    return h


class JobEngine:
    """Runs jobs by kind through registered handlers, at most `threads` at once per worker."""

    def __init__(self, huey: Huey, store: StateStore, *, threads: int = 8, lease_s: float = 15.0) -> None:
        self.huey = huey
        self.ledger = Ledger(store, lease_s=lease_s)
        self.threads = threads
        self.worker = worker_id()
        self.handlers: dict[str, Handler] = {}
        self.give_up: GiveUp | None = None
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer: Consumer | None = None
        self._keeper: threading.Thread | None = None
        self._task = huey.task(retries=0, name="run_job")(self.execute)

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    # ------------------------------------------------------------------ producer side
    def submit(
        self, kind: str, payload: dict[str, Any], job_id: str | None = None, *, defer: Executor | None = None
    ) -> str | None:
        """Accept a job (durably) and queue it; None when this job id was accepted before.

        With `defer`, only the ledger write happens before this returns and the queue entry is made on
        `defer`: an acknowledgement then waits for one store write, not two. The ledger is the durable
        record; a queue entry lost with its process (or cancelled at shutdown) only delays the job until
        a keeper re-queues it (`QUEUED_GRACE_S`)."""
        jid = self.ledger.accept(kind, payload, job_id)
        if jid is not None:
            if defer is None:
                self._task(jid)
            else:
                defer.submit(self._enqueue, jid)
        return jid

    def _enqueue(self, job_id: str) -> None:
        try:
            self._task(job_id)
        except Exception as e:  # the keeper re-queues it; say why once
            log.error("job %s: queue entry not made (%s); a keeper will queue it", job_id, type(e).__name__)

    def requeue(self, job_id: str) -> None:
        self._task(job_id)

    # ------------------------------------------------------------------ worker side
    def execute(self, job_id: str) -> None:
        """Run one job (called on huey's worker threads). Never raises: a failing job is recorded."""
        try:
            record = self.ledger.claim(job_id, self.worker)
        except StoreError as e:
            log.error("job %s: cannot claim it: %s", job_id, e)
            return
        if record is None:
            return  # done already, or running under someone else's live lease
        if record.attempts > MAX_ATTEMPTS:
            self._give_up(record)
            return
        handler = self.handlers.get(record.kind)
        if handler is None:
            log.error("job %s: no handler for kind %r", job_id, record.kind)
            self.ledger.finish(job_id, "failed", f"no handler for {record.kind}")
            return
        with self._lock:
            self._running.add(job_id)
        try:
            handler(JobContext(self.ledger, record))
            self.ledger.finish(job_id, "done", worker=self.worker)
        except JobLost:
            log.warning(
                "job %s (%s): its lease ran out and another worker runs it; this run stops", job_id, record.kind
            )
        except Exception as e:  # the handler already tried to say so in its thread
            log.exception("job %s (%s) failed", job_id, record.kind)
            try:
                self.ledger.finish(job_id, "failed", f"{type(e).__name__}", worker=self.worker)
            except StoreError:
                log.error("job %s: could not record the failure", job_id)
        finally:
            with self._lock:
                self._running.discard(job_id)

    def _give_up(self, record: JobRecord) -> None:
        log.error("job %s (%s) was interrupted %d times; giving up", record.id, record.kind, record.attempts - 1)
        try:
            if self.give_up is not None:
                self.give_up(record)
        finally:
            self.ledger.finish(record.id, "failed", "interrupted too often")

    def keep(self) -> None:
        """One keeper round: renew this worker's leases, re-queue jobs whose worker died."""
        with self._lock:
            mine = list(self._running)
        if mine:
            self.ledger.renew(mine, self.worker)
        for rec in self.ledger.reap():
            log.warning("job %s (%s) was interrupted (worker %s); running it again", rec.id, rec.kind, rec.worker)
            self.requeue(rec.id)

    def _keeper_loop(self) -> None:
        while not self._stop.wait(KEEPER_EVERY_S):
            try:
                self.keep()
            except StoreError as e:  # already one line naming the store and why: no traceback every round
                log.error("job keeper round failed: %s", e)
            except Exception:
                log.exception("job keeper round failed")

    def start(self) -> None:
        """Start huey's consumer threads and the keeper (non-blocking)."""
        self._consumer = _QuietConsumer(
            self.huey,
            workers=self.threads,
            worker_type="thread",
            periodic=False,
            initial_delay=0.02,
            backoff=1.3,
            max_delay=0.25,
            check_worker_health=True,
            shutdown_timeout=None,
        )
        self._consumer.start()
        try:
            self.keep()  # jobs a previous worker left behind run now, not after a keeper period
        except StoreError as e:
            log.error("first keeper round failed: %s", e)
        except Exception:
            log.exception("first keeper round failed")
        self._keeper = threading.Thread(target=self._keeper_loop, name="job-keeper", daemon=True)
        self._keeper.start()

    @property
    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def stop(self, graceful_s: float = 10.0) -> None:
        """Stop taking jobs; wait up to `graceful_s` for running ones, then hand back the rest."""
        if self._consumer is None:
            return
        self._consumer.stop_flag.set()  # workers finish their current job and take no new one
        deadline = time.monotonic() + graceful_s
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        for jid in self.running:
            try:
                if self.ledger.hand_back(jid, self.worker):
                    self.requeue(jid)
                    log.warning("job %s handed back at shutdown", jid)
            except StoreError as e:
                log.error("job %s could not be handed back: %s", jid, e)
        self._stop.set()
