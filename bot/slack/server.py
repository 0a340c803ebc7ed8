"""Run the Slack app: HTTP mode (Bolt's endpoint under waitress, a production WSGI server) or
Socket Mode when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.audit import AuditLog
from bot.cli import Services
from bot.config import Settings
from bot.errors import ConfigError
from bot.slack.app import SlackBot, build_app
from bot.slack.state import StateStore
from bot.transports.ssh import ConnectionPool

log = logging.getLogger(__name__)

POLL_S = 0.02  # how often an idle worker looks for a job


def web_client(settings: Settings) -> WebClient:
    """The Web API client: HTTP 429 retried after Retry-After, connection errors retried once."""
    assert settings.slack_bot_token is not None
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3), ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def make_bot(settings: Settings, svc: Services, client: WebClient) -> SlackBot:
    assert svc.transport_for is not None
    return SlackBot(
        svc,
        client,
        StateStore(settings.campaign_bot_state_db),
        AuditLog(settings.campaign_bot_audit_log),
        svc.transport_for,
        settings.campaign_bot_env,
        settings.support_channels,
    )


def build(
    settings: Settings,
    svc: Services,
    client: WebClient | None = None,
    submit: Callable[[str, dict[str, Any]], None] | None = None,
) -> tuple[App, SlackBot, ThreadPoolExecutor]:
    """The Bolt app. Without `submit`, jobs run in this process on the bounded listener executor."""
    client = client or web_client(settings)
    executor = ThreadPoolExecutor(max_workers=settings.campaign_bot_workers, thread_name_prefix="slack-work")
    bot = make_bot(settings, svc, client)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    try:
        app = build_app(
            bot,
            client=client,
            signing_secret=secret,
            executor=executor,
            submit=submit or bot.handle,
            socket_mode=settings.slack_app_token is not None,
        )
    except Exception as e:  # auth.test at start-up: a bad token or an unreachable Slack
        raise ConfigError(f"cannot start the Slack app: {type(e).__name__}: {e}") from e
    return app, bot, executor


def run_worker(settings: Settings, svc: Services, stop: threading.Event | None = None) -> None:
    """The worker process's loop: take jobs from the shared queue, at most CAMPAIGN_BOT_WORKERS at once."""
    bot = make_bot(settings, svc, web_client(settings))
    slots = threading.BoundedSemaphore(settings.campaign_bot_workers)
    stop = stop or threading.Event()

    def run(kind: str, payload: dict[str, Any]) -> None:
        try:
            bot.handle(kind, payload)
        finally:
            slots.release()

    with ThreadPoolExecutor(max_workers=settings.campaign_bot_workers, thread_name_prefix="job") as pool:
        while not stop.is_set():
            slots.acquire()
            job = bot.state.take_job()
            if job is None:
                slots.release()
                stop.wait(POLL_S)
                continue
            pool.submit(run, *job)


class WorkerSupervisor:
    """Keeps one worker process alive beside the process that talks to Slack."""

    def __init__(self, start: Callable[[], Any]) -> None:
        self.start = start
        self.proc: Any = None
        self.stopped = threading.Event()

    def run(self) -> WorkerSupervisor:
        self.proc = self.start()
        threading.Thread(target=self._watch, daemon=True, name="worker-supervisor").start()
        return self

    def _watch(self) -> None:
        while not self.stopped.wait(1.0):
            if self.proc is not None and not self.proc.is_alive():
                log.error("worker process exited (code %s); starting a new one", self.proc.exitcode)
                self.proc = self.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.proc is not None and self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(10)


def wsgi_app(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """POST /slack/events for Bolt; GET /healthz for load balancers."""
    bolt = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return bolt(environ, start_response)

    return application


def serve(settings: Settings, svc: Services, pool: ConnectionPool, start_worker: Callable[[], Any]) -> int:
    """Acknowledge in this process; do the work (checks, Slack replies) in a worker process, so a
    burst of questions never slows the acknowledgements Slack waits for (3 s at most)."""
    sys.setswitchinterval(0.001)  # short acks should not wait behind a long time slice
    state = StateStore(settings.campaign_bot_state_db)
    app, _, executor = build(settings, svc, submit=state.put_job)
    supervisor = WorkerSupervisor(start_worker).run()
    try:
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("Socket Mode: connecting to Slack")
            SocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
        else:
            import waitress

            log.info("HTTP mode: POST /slack/events on %s:%s", settings.host, settings.port)
            waitress.serve(
                wsgi_app(app),
                host=settings.host,
                port=settings.port,
                threads=settings.campaign_bot_threads,
                ident="campaign-bot",
            )
    finally:
        supervisor.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        pool.close()
    return 0
