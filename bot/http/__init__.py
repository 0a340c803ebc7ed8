"""The bot's HTTP endpoint: a router, a body limit, Slack-signature and bearer-token guards, and
a waitress server with connection limits, slow-client reaping and a graceful stop.

    server = HttpServer(
        build_app(slack=SlackRequestHandler(bolt_app), signing_secret=...,
                  alertmanager=..., grafana=..., alert_token=...),
        host, port, threads=settings.campaign_bot_threads,
    )
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    server.serve_forever()      # returns after stop(), once requests in flight are answered
"""

from __future__ import annotations

import logging

from bot.http.guards import BearerGuard, SlackSignatureGuard
from bot.http.limits import DEFAULT_BODY_LIMIT, BodyLimit, HttpRequestError, read_body
from bot.http.router import Route, Router
from bot.http.server import HttpServer, ServerLimits
from bot.http.wsgi import WSGIApp

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
ALERTMANAGER_PATH = "/alerts/alertmanager"
GRAFANA_PATH = "/alerts/grafana"

__all__ = [
    "ALERTMANAGER_PATH",
    "DEFAULT_BODY_LIMIT",
    "GRAFANA_PATH",
    "SLACK_PATH",
    "BearerGuard",
    "BodyLimit",
    "HttpRequestError",
    "HttpServer",
    "Route",
    "Router",
    "ServerLimits",
    "SlackSignatureGuard",
    "build_app",
    "read_body",
]


def build_app(
    *,
    slack: WSGIApp | None = None,
    signing_secret: str | None = None,
    alertmanager: WSGIApp | None = None,
    grafana: WSGIApp | None = None,
    alert_token: str | None = None,
    body_limit: int = DEFAULT_BODY_LIMIT,
) -> Router:
    """The bot's WSGI app: `POST /slack/events` behind the Slack signature guard, `POST
    /alerts/alertmanager` and `/alerts/grafana` behind the bearer guard then the body limit, and
    `GET /healthz`; every other path 404, other methods 405.

    The alert endpoints are only served when `alert_token` is set (else they are 404 and one line
    is logged); `slack` needs `signing_secret` (ValueError otherwise: a Slack endpoint without a
    signature check must not exist).
    """
    routes: dict[str, Route] = {}
    if slack is not None:
        if not signing_secret:
            raise ValueError("the Slack endpoint needs the signing secret")
        routes[SLACK_PATH] = Route(SlackSignatureGuard(slack, signing_secret, limit=body_limit))
    alert_apps = {ALERTMANAGER_PATH: alertmanager, GRAFANA_PATH: grafana}
    for path, app in alert_apps.items():
        if app is None:
            continue
        if alert_token:
            routes[path] = Route(BearerGuard(BodyLimit(app, body_limit), alert_token))
        else:
            log.info("%s is off: CAMPAIGN_BOT_ALERT_TOKEN is not set", path)
    return Router(routes)
