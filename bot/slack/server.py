"""Run the Slack app: HTTP mode (Bolt's endpoint under waitress, a production WSGI server) or
Socket Mode when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import logging
import sys
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


def web_client(settings: Settings) -> WebClient:
    """The Web API client: HTTP 429 retried after Retry-After, connection errors retried once."""
    assert settings.slack_bot_token is not None
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3), ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def build(
    settings: Settings, svc: Services, client: WebClient | None = None
) -> tuple[App, SlackBot, ThreadPoolExecutor]:
    client = client or web_client(settings)
    executor = ThreadPoolExecutor(max_workers=settings.campaign_bot_workers, thread_name_prefix="slack-work")
    assert svc.transport_for is not None
    bot = SlackBot(
        svc,
        client,
        StateStore(settings.campaign_bot_state_db),
        AuditLog(settings.campaign_bot_audit_log),
        svc.transport_for,
        settings.campaign_bot_env,
        settings.support_channels,
    )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    try:
        app = build_app(
            bot,
            client=client,
            signing_secret=secret,
            executor=executor,
            socket_mode=settings.slack_app_token is not None,
        )
    except Exception as e:  # auth.test at start-up: a bad token or an unreachable Slack
        raise ConfigError(f"cannot start the Slack app: {type(e).__name__}: {e}") from e
    return app, bot, executor


def wsgi_app(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """POST /slack/events for Bolt; GET /healthz for load balancers."""
    bolt = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return bolt(environ, start_response)

    return application


def serve(settings: Settings, svc: Services, pool: ConnectionPool) -> int:
    # Acknowledgements are short; background work (Slack calls, SSH) is long. A shorter GIL switch
    # interval (default 5 ms) keeps a burst of acks from queueing behind the workers' time slices.
    sys.setswitchinterval(0.001)
    app, _, executor = build(settings, svc)
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
        executor.shutdown(wait=False, cancel_futures=True)
        pool.close()
    return 0
