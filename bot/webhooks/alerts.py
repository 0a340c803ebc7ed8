"""`POST /alerts/alertmanager` and `POST /alerts/grafana`: alerts from existing monitoring.

The bearer token and the body limit are checked before this app runs (bot/http). Here the body is
parsed (400 "not JSON" when it is not) and validated (400 naming each field that is wrong), each
alert is mapped to the inventory on its own, and the group becomes one job; the answer is 202 with
what was accepted. Each alert goes to its channel: a known host's environment's `watch.channel`
(else CAMPAIGN_BOT_ALERT_CHANNEL); an unknown host's message to the environment its labels name,
else the default (or only) environment's `watch.channel`, else CAMPAIGN_BOT_ALERT_CHANNEL. Only when
no alert of the group has anywhere to go is the answer 422, naming the missing setting: the sender
keeps it, and nothing is lost silently. A group of more than MAX_ALERTS is accepted: the first ones
are handled and the rest named in a message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from bot.errors import ConfigError
from bot.inventory import Inventory
from bot.resolver import ModuleResolver
from bot.watch.intake import MAX_ALERTS, AlertBatch, Mapped, Source, map_alert

log = logging.getLogger(__name__)

Submit = Callable[[str, dict[str, Any], str | None], object]
StartResponse = Callable[..., Any]


def _reply(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _invalid(e: ValidationError) -> str:
    """Each wrong field with what is wrong (`alerts.0.labels.severity: Input should be a valid string`)."""
    parts = []
    for err in e.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    more = f" (and {e.error_count() - 5} more)" if e.error_count() > 5 else ""
    return "; ".join(parts) + more


def _nowhere(mapped: list[Mapped]) -> str:
    envs = sorted({m.environment for m in mapped if m.channel is None and m.environment})
    where = f"watch.channel for environment(s) {', '.join(envs)} in the inventory" if envs else "watch.channel"
    unknown = any(m.channel is None and m.host is None for m in mapped)
    hint = " (or for the default environment, for alerts about unknown hosts)" if unknown else ""
    return f"set {where}{hint}, or CAMPAIGN_BOT_ALERT_CHANNEL"


def alert_app(
    source: Source,
    *,
    inventory: Callable[[], Inventory],
    resolver: ModuleResolver,
    submit: Submit,
    default_channel: str | None,
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI app of one alert source."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length > 0 else b""
            if not raw.strip():
                return _reply(start_response, "400 Bad Request", {"error": "the body is empty (expected JSON)"})
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _reply(start_response, "400 Bad Request", {"error": "the body is not JSON"})
        if not isinstance(data, dict):
            return _reply(
                start_response,
                "400 Bad Request",
                {"error": "(top level): expected a JSON object with alerts (an Alertmanager or Grafana webhook body)"},
            )
        try:
            batch = AlertBatch.model_validate(data)
        except ValidationError as e:
            return _reply(start_response, "400 Bad Request", {"error": _invalid(e)})
        try:
            inv = inventory()
        except ConfigError as e:
            log.error("alert refused: %s", e)
            return _reply(start_response, "503 Service Unavailable", {"error": "the bot's inventory is not usable"})
        handled, rest = batch.alerts[:MAX_ALERTS], batch.alerts[MAX_ALERTS:]
        mapped = [map_alert(a, inv, resolver, default_channel) for a in handled]
        going = [m for m in mapped if m.channel is not None]
        if not going:
            return _reply(
                start_response,
                "422 Unprocessable Entity",
                {"error": f"no channel for these alerts: {_nowhere(mapped)}"},
            )
        body: dict[str, Any] = {
            "accepted": len(going),
            "mapped_to_hosts": sum(1 for m in going if m.host is not None),
            "unknown_hosts": sum(1 for m in going if m.host is None),
        }
        if len(going) < len(mapped):
            body["no_channel"] = len(mapped) - len(going)
            body["warning"] = f"{len(mapped) - len(going)} alert(s) have no channel: {_nowhere(mapped)}"
            log.warning("%s: %s", source, body["warning"])
        if rest:
            body["left_out"] = len(rest)
        left_out = [(a.labels.get("alertname") or "alert")[:100] for a in rest]
        submit(
            "alert",
            {
                "source": source,
                "alerts": [m.model_dump(mode="json") for m in going],
                "left_out": left_out,
                "truncated": max(0, batch.truncatedAlerts),
            },
            None,
        )
        return _reply(start_response, "202 Accepted", body)

    return app
