"""Process lifecycle of the Slack service: `serve` (acknowledge) and `worker` (run jobs).

- SIGTERM and SIGINT stop gracefully: `serve` stops accepting, asks its worker to stop (running
  jobs finish or are handed back) and exits 0 within 15 s; SIGHUP re-reads the inventory (it is
  also re-read whenever its file changes).
- A worker started by `serve` notices within a second that its parent died (PR_SET_PDEATHSIG on
  Linux, and a watch on its parent pid) and exits at once: its running jobs are handed back (the
  next worker runs them again; a confirmed action that was being sent is reported "outcome unknown",
  never run twice) and the process ends without waiting for the checks still running in its threads,
  so no orphan keeps an old configuration or posts after its parent is gone; the local read-only
  probes of the jobs handed back are ended with it (they would run on until their deadline).
- A worker told to stop (SIGTERM, SIGINT) gives its running jobs `WORKER_GRACE_S` to finish, hands
  back the rest and exits on its own (it is never left for `serve` to kill).
- SIGHUP to `serve` is passed on to its worker (which makes the access decisions); both re-read the
  inventory. A SIGHUP that comes while the worker is still starting is passed on once it is ready.
- A worker that exits is started again with a growing back-off, so a broken store or inventory
  is never a tight crash loop; the reason is logged once per attempt.
- `serve --no-worker` and `worker` are the scale-out roles (several of each on one Redis).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.__main__ import Services
    from bot.jobs.engine import JobEngine
    from bot.slack.calls import SlackCalls
    from bot.watch.engine import Watch

log = logging.getLogger(__name__)

STOP_WITHIN_S = 15.0
DISPATCH_EVERY_S = 0.05  # how soon a noted signal is acted on
WORKER_GRACE_S = 8.0
EXIT_GUARD_S = 3.0  # cleanup that hangs (a store that does not answer) never keeps a process alive longer
PARENT_CHECK_S = 0.5
READY_FD_ENV = "CAMPAIGN_BOT_WORKER_READY_FD"  # serve -> its worker: where to say "ready for signals"
WORKER_NICENESS = 5
_PR_SET_PDEATHSIG = 1


class Lifecycle:
    """Signals to events: stop (SIGTERM, SIGINT) and reload (SIGHUP), and any other signal `handle`d.

    A signal handler runs in the main thread between two of its bytecodes, wherever it is: one that takes
    a lock the main thread holds at that moment (an Event's, while it waits on that Event; a logging
    handler's) deadlocks the process for good. So the handlers only note the signal; a dispatcher thread
    acts on it (within `DISPATCH_EVERY_S`): logs, sets the events, calls the callbacks.
    """

    def __init__(self, on_reload: Callable[[], None] | None = None) -> None:
        self.stop = threading.Event()
        self.on_reload = on_reload
        self.on_stop: list[Callable[[], None]] = []
        self.signalled_at: float | None = None  # when a stop signal came (monotonic)
        self._noted: list[int] = []  # appended by the handlers (atomic, no lock), taken by the dispatcher
        self._actions: dict[int, Callable[[], None]] = {}
        self._dispatcher: threading.Thread | None = None

    def install(self) -> None:
        self.handle(signal.SIGTERM, lambda: self._stop(signal.SIGTERM))
        self.handle(signal.SIGINT, lambda: self._stop(signal.SIGINT))
        if hasattr(signal, "SIGHUP"):
            self.handle(signal.SIGHUP, self._reload)

    def handle(self, signum: int, action: Callable[[], None]) -> None:
        """Run `action` (in the dispatcher thread) when `signum` comes. Call from the main thread."""
        self._actions[signum] = action
        signal.signal(signum, self._note)
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(target=self._dispatch, name="signals", daemon=True)
            self._dispatcher.start()

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._noted.append(signum)  # nothing else here: no lock, no logging (see the class docstring)

    def _dispatch(self) -> None:
        while True:
            time.sleep(DISPATCH_EVERY_S)
            while self._noted:
                signum = self._noted.pop(0)
                action = self._actions.get(signum)
                if action is None:
                    continue
                try:
                    action()
                except Exception:
                    log.exception("handling %s failed", signal.Signals(signum).name)

    def _stop(self, signum: int) -> None:
        if self.stop.is_set():
            return
        log.info("%s: stopping", signal.Signals(signum).name)
        self.signalled_at = time.monotonic()
        self.stop.set()
        for fn in self.on_stop:
            fn()

    def _reload(self) -> None:
        log.info("SIGHUP: the inventory will be read again")
        if self.on_reload is not None:
            self.on_reload()


def exit_now(code: int) -> None:
    """End the process now: logs flushed, no wait for the threads still running (checks, Slack calls).

    The interpreter's normal exit joins every non-daemon thread (a ThreadPoolExecutor's included), so a
    worker whose checks take 25 s would live 25 s more, and finish and post them, after it was told to go.
    """
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def exit_guard(within_s: float, code: int = 0) -> threading.Timer:
    """Exit the process after `within_s` seconds whatever is still running (a daemon timer: started before
    cleanup, it also bounds an interpreter exit that waits for threads)."""
    timer = threading.Timer(within_s, exit_now, args=(code,))
    timer.daemon = True
    timer.start()
    return timer


def tell_ready() -> None:
    """Tell the `serve` that started this worker that its signal handlers are in place (see WorkerProcess)."""
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is None or not fd.isdigit():
        return
    with contextlib.suppress(OSError):
        os.write(int(fd), b"R")
    with contextlib.suppress(OSError):
        os.close(int(fd))


def die_with_parent(parent_pid: int, stop: Callable[[], None], life: Lifecycle) -> None:
    """Call `stop` when the parent process goes away (the kernel's signal on Linux, plus a watch).

    The kernel's signal is its own (SIGUSR1, not SIGTERM): a worker must tell "serve asks me to stop"
    (finish what runs) from "serve is gone" (hand everything back now). It comes when the serve thread
    that started the worker ends, which is while serve dies, before the worker's parent pid changes.
    `stop` may be called twice (the signal and the watch): it must be idempotent.
    """
    if sys.platform.startswith("linux") and hasattr(signal, "SIGUSR1"):
        try:
            life.handle(signal.SIGUSR1, stop)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
        except (OSError, AttributeError, ValueError):
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable")
    if os.getppid() != parent_pid:
        stop()  # the parent died before we got here
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        log.warning("the serve process (pid %d) is gone; this worker stops", parent_pid)
        stop()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def web_client(svc: Services) -> WebClient:
    """The Web API client: HTTP 429 retried after Retry-After (a reaction only for a short wait, see
    `RateLimitRetry`), connection errors retried once."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

    from bot.slack.calls import RateLimitRetry

    settings = svc.settings
    assert settings.slack_bot_token is not None
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[RateLimitRetry(max_retry_count=3), ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def job_engine(svc: Services) -> JobEngine:
    """The job engine on the deployment's store (opened first: a broken store is one clear line)."""
    from bot.jobs.engine import JobEngine, make_huey

    store = svc.store
    redis = svc.settings.campaign_bot_redis_url
    huey = make_huey(svc.settings.campaign_bot_state_db, redis.get_secret_value() if redis else None)
    return JobEngine(huey, store, threads=svc.settings.campaign_bot_workers)


def slack_watch(svc: Services, calls: SlackCalls) -> Watch:
    """The watch, posting alert threads in each environment's `watch.channel` (else CAMPAIGN_BOT_ALERT_CHANNEL)."""
    from bot.slack.alerts import SlackAlerts
    from bot.watch.engine import Watch

    default = svc.settings.campaign_bot_alert_channel

    def channel_for(env_name: str) -> str | None:
        try:
            env = svc.inventory().find_environment(env_name)
        except ConfigError:
            env = None
        return (env.watch.channel if env is not None and env.watch is not None else None) or default

    return Watch(
        kb=svc.kb,
        diagnoser=svc.diagnoser,
        store=svc.store,
        notifier=SlackAlerts(calls, svc.kb, channel_for),
        audit=svc.audit,
    )


def _post_notice(calls: SlackCalls, channel: str, msg: tuple[list[dict[str, Any]], str]) -> None:
    calls.post(channel, None, msg)


def home_for(svc: Services, watch: Watch) -> Callable[[str], dict[str, Any]]:
    """The App Home view of a user: each environment's last watch, its open alerts, what the user may do."""
    from bot.access import may_act
    from bot.present import slack as present

    def home(user: str) -> dict[str, Any]:
        try:
            inv = svc.inventory()
        except ConfigError as e:
            return {"type": "home", "blocks": [present.notice(f"The inventory cannot be used: {e}")[0][0]]}
        rows = []
        for env in inv.environments.values():
            decision = svc.conversation.may_check(env.name, user, "")
            rows.append(
                (
                    env.name,
                    decision.allowed,
                    decision.reason,
                    may_act(env, user).allowed,
                    watch.last_round(env.name),
                    watch.open_alerts(env.name),
                )
            )
        return present.home_view(user, rows, inv.simulated, now=watch.clock())

    return home


# ---------------------------------------------------------------------------------------- worker


WorkerExtra = Callable[["Services", "JobEngine", Any], Callable[[], None] | None]


def run_worker(svc: Services, parent_pid: int | None = None, extras: tuple[WorkerExtra, ...] = ()) -> int:
    """Take jobs until told to stop; then let running jobs finish (or hand them back) and exit 0.

    `extras` start what else a worker runs beside the jobs (the watch scheduler); each gets the
    services, the engine and the Slack calls, and returns its stop function (or None).
    """
    from bot.present import slack as present
    from bot.slack.alerts import AlertButtons
    from bot.slack.answers import SlackAnswers
    from bot.slack.calls import SlackCalls
    from bot.slack.identity import SlackIdentity
    from bot.transports.local import end_read_only_runs
    from bot.watch.intake import AlertIntake
    from bot.watch.scheduler import WatchScheduler, run_round

    svc.settings.require_slack()
    life = Lifecycle(on_reload=svc.inventory_source.reload)
    life.install()
    orphaned = threading.Event()

    def parent_gone() -> None:
        orphaned.set()
        life.stop.set()

    if parent_pid is not None:
        die_with_parent(parent_pid, parent_gone, life)
    tell_ready()
    if parent_pid is not None:
        # Beside `serve` on one machine, acknowledgements must not wait for checks: the worker (and
        # the local commands it runs) yields the CPU to the process Slack is waiting for.
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)
    try:
        svc.inventory()
    except ConfigError as e:
        # `serve` refused to start with it; a worker started later answers every question with
        # the reason instead (a job must never wait for a worker that cannot start).
        log.error("the inventory is not usable; questions will be answered with the reason: %s", e)
    engine = job_engine(svc)
    calls = SlackCalls(web_client(svc))
    svc.identity = SlackIdentity(calls)
    watch = slack_watch(svc, calls)
    buttons = AlertButtons(watch, svc.conversation, calls, svc.kb)
    answers = SlackAnswers(svc.conversation, calls, svc.kb, alerts=buttons)
    intake = AlertIntake(
        watch,
        svc.conversation,
        post_unknown=lambda channel, text: _post_notice(calls, channel, present.notice(text)),
        show_answer=lambda answer, channel, ts: answers.show(answer, channel, ts, None),
    )
    engine.register("question", answers.question)
    engine.register("click", answers.click)
    engine.register("watch", lambda job: run_round(watch, svc.store, svc.inventory, job.record.payload))
    engine.register("alert", lambda job: intake.job(job.record.payload))
    engine.give_up = answers.gave_up
    stops = [stop for start in extras if (stop := start(svc, engine, calls)) is not None]
    stops.append(WatchScheduler(svc.inventory, engine.submit, store=svc.store).start())
    engine.start()
    log.info("worker %s: %d threads, state in %s", engine.worker, engine.threads, svc.store.description)
    try:
        life.stop.wait()
    finally:
        # Orphaned (serve was killed): nothing may run on for a parent that is gone, so the running jobs
        # are handed back at once; told to stop, they get WORKER_GRACE_S to finish first.
        gone = orphaned.is_set() or (parent_pid is not None and os.getppid() != parent_pid)
        grace = 0.0 if gone else WORKER_GRACE_S
        exit_guard(grace + EXIT_GUARD_S)
        for stop in stops:
            with contextlib.suppress(Exception):
                stop()
        try:
            engine.stop(graceful_s=grace)
        finally:
            log.info("worker %s: stopped%s", engine.worker, " (its serve process is gone)" if gone else "")
            with contextlib.suppress(Exception):
                svc.pool.close()
            with contextlib.suppress(Exception):
                # The probes of jobs handed back would otherwise run on, orphaned, until their deadline.
                # Last before the exit: a thread whose probe is cut must not live on to post its answer.
                if ended := end_read_only_runs():
                    log.info("worker %s: ended %d local probe(s) of jobs handed back", engine.worker, ended)
            # Checks still running in threads (a job handed back) must neither delay the exit nor post.
            exit_now(0)
    return 0  # pragma: no cover (exit_now does not return)


# ---------------------------------------------------------------------------------------- serve


class WorkerProcess:
    """`campaign-bot worker` as a child of `serve`, restarted with back-off when it exits."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.starts = 0
        self.ready = threading.Event()  # the current worker has its signal handlers in place
        self._lock = threading.RLock()  # re-entrant: `forward` runs in a signal handler (two SIGHUPs nest)
        self._pending: set[int] = set()  # signals to pass on once the worker is ready
        self._thread = threading.Thread(target=self._run, name="worker-supervisor", daemon=True)

    def start(self) -> WorkerProcess:
        self._thread.start()
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        # The worker writes one byte on this pipe once its signal handlers are in place: a SIGHUP passed
        # on before that would kill it (SIGHUP's default action), so it waits until then.
        r, w = os.pipe()
        with self._lock:
            self.ready.clear()
        try:
            proc = subprocess.Popen(
                [*self.argv, "--parent-pid", str(os.getpid())],
                stdin=subprocess.DEVNULL,
                pass_fds=(w,),
                env={**os.environ, READY_FD_ENV: str(w)},
            )
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        with self._lock:
            self.proc = proc
        threading.Thread(target=self._wait_ready, args=(r, proc), name="worker-ready", daemon=True).start()
        return proc

    def _wait_ready(self, fd: int, proc: subprocess.Popen[bytes]) -> None:
        try:
            said = os.read(fd, 1)
        except OSError:
            said = b""
        finally:
            os.close(fd)
        if not said:
            return  # the worker exited before it was ready
        with self._lock:
            if self.proc is not proc:
                return
            self.ready.set()
            pending, self._pending = self._pending, set()
        for sig in pending:
            self._send(proc, sig)

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], sig: int) -> None:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(sig)

    def forward(self, sig: int) -> None:
        """Pass a signal on to the worker now, or as soon as it is ready (it is still starting)."""
        with self._lock:
            proc = self.proc
            if proc is None or not self.ready.is_set():
                self._pending.add(sig)
                return
        self._send(proc, sig)

    def _run(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            started = time.monotonic()
            proc = self._spawn()
            code = proc.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started > 60:
                backoff = 1.0
            log.error("worker process exited (code %s); starting a new one in %.0f s", code, backoff)
            if self.stopping.wait(backoff):
                return
            backoff = min(backoff * 2, 60.0)

    def stop(self, timeout_s: float) -> None:
        self.stopping.set()
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.error("worker did not stop within %.0f s; killing it", timeout_s)
            proc.kill()
            proc.wait(5)


def worker_argv(inventory_arg: str | None, knowledge_arg: str | None) -> list[str]:
    argv = [sys.executable, "-m", "bot"]
    if knowledge_arg:
        argv += ["--knowledge", knowledge_arg]
    argv.append("worker")
    if inventory_arg:
        argv += ["--inventory", inventory_arg]
    return argv


def run_serve(
    svc: Services,
    *,
    mode: str = "auto",
    with_worker: bool = True,
    inventory_arg: str | None = None,
    knowledge_arg: str | None = None,
    home: Callable[[str], dict[str, Any]] | None = None,
    alert_routes: Callable[[JobEngine], dict[str, Any]] | None = None,
) -> int:
    """Acknowledge Slack (HTTP or Socket Mode); by default start one worker process beside it.

    `home` renders a user's App Home view; `alert_routes` gives the WSGI apps of the alert
    endpoints (`alertmanager=`, `grafana=`, `alert_token=`) served on the same port.
    """
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    from bot.slack.calls import SlackCalls
    from bot.slack.identity import SlackIdentity
    from bot.slack.listeners import build_bolt

    settings = svc.settings
    if mode == "socket" and settings.slack_app_token is None:
        raise ConfigError("--mode socket needs SLACK_APP_TOKEN (an app-level token, xapp-...)")
    socket_mode = mode == "socket" or (mode == "auto" and settings.slack_app_token is not None)
    if not socket_mode and settings.slack_signing_secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set (needed for HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)"
        )
    settings.require_slack()
    sys.setswitchinterval(0.001)  # short acks should not wait behind a long time slice
    life = Lifecycle(on_reload=svc.inventory_source.reload)
    svc.inventory()  # validate before accepting anything
    engine = job_engine(svc)
    client = web_client(svc)
    calls = SlackCalls(client)
    svc.identity = SlackIdentity(calls)
    watch = slack_watch(svc, calls)
    home = home if home is not None else home_for(svc, watch)
    if alert_routes is None:
        alert_routes = default_alert_routes(svc)
    executor = ThreadPoolExecutor(max_workers=settings.campaign_bot_threads, thread_name_prefix="ack")
    try:
        bolt = build_bolt(
            core=svc.conversation,
            kb=svc.kb,
            client=client,
            signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
            executor=executor,
            # Slack's 200 waits for the ledger write only (the job is recorded first; see listeners.py).
            submit=lambda kind, payload, job_id: engine.submit(kind, payload, job_id, defer=executor),
            support_channels=frozenset(settings.support_channels),
            socket_mode=socket_mode,
            home=home,
        )
    except Exception as e:  # auth.test at start-up: a bad token or an unreachable Slack
        raise ConfigError(f"cannot start the Slack app: {type(e).__name__}") from e
    worker = WorkerProcess(worker_argv(inventory_arg, knowledge_arg)).start() if with_worker else None

    def reload() -> None:
        svc.inventory_source.reload()
        if worker is not None and hasattr(signal, "SIGHUP"):
            worker.forward(signal.SIGHUP)  # the worker makes the access decisions: it must re-read too

    life.on_reload = reload
    life.install()
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack_app_token is not None
            handler = SocketModeHandler(bolt, app_token=settings.slack_app_token.get_secret_value())
            handler.connect()  # type: ignore[no-untyped-call]
            log.info("Socket Mode: connected")
            life.stop.wait()
            threading.Thread(target=handler.close, daemon=True).start()  # close() can take seconds
        else:
            from bot.http import HttpServer, build_app

            routes = build_app(
                slack=SlackRequestHandler(bolt),
                signing_secret=settings.slack_signing_secret.get_secret_value()
                if settings.slack_signing_secret
                else None,
                **(alert_routes(engine) if alert_routes is not None else {}),
            )
            server = HttpServer(routes, settings.host, settings.port, threads=settings.campaign_bot_threads)
            life.on_stop.append(server.stop)
            if life.stop.is_set():
                server.stop()
            server.serve_forever()
    finally:
        life.stop.set()
        if life.signalled_at is not None:
            # Stopped by a signal: exit 0 within STOP_WITHIN_S of it, whatever threads are still busy
            # (an acknowledgement thread in a slow Slack call is joined by the interpreter's exit).
            exit_guard(max(1.0, STOP_WITHIN_S - 1.0 - (time.monotonic() - life.signalled_at)))
        if worker is not None:
            worker.stop(WORKER_GRACE_S + 2)
        executor.shutdown(wait=False, cancel_futures=True)
        svc.pool.close()
    return 0


def default_alert_routes(svc: Services) -> Callable[[JobEngine], dict[str, Any]]:
    """`POST /alerts/alertmanager` and `/alerts/grafana` (served only when CAMPAIGN_BOT_ALERT_TOKEN is set)."""
    from bot.webhooks.alerts import alert_app

    def routes(engine: JobEngine) -> dict[str, Any]:
        token = svc.settings.campaign_bot_alert_token
        common = {
            "inventory": svc.inventory,
            "resolver": svc.resolver,
            "submit": engine.submit,
            "default_channel": svc.settings.campaign_bot_alert_channel,
        }
        return {
            "alertmanager": alert_app("alertmanager", **common),  # type: ignore[arg-type]
            "grafana": alert_app("grafana", **common),  # type: ignore[arg-type]
            "alert_token": token.get_secret_value() if token else None,
        }

    return routes
