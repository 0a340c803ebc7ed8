"""`POST /alerts/alertmanager` and `POST /alerts/grafana`: alerts from existing monitoring.

The bearer token and the body limit are checked before this app runs (bot/http). Here the JSON
is validated (400 naming the field otherwise), each alert is mapped to the inventory, and the
batch becomes one job; the answer is 202 with what was accepted. An alert with nowhere to go (no
`watch.channel` for its environment and no CAMPAIGN_BOT_ALERT_CHANNEL) gets 422 naming the missing
setting: the sender keeps it, and nothing is lost silently.
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
from bot.watch.intake import AlertBatch, Source, map_alert

log = logging.getLogger(__name__)

Submit = Callable[[str, dict[str, Any], str | None], object]
StartResponse = Callable[..., Any]


def _reply(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


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
            batch = AlertBatch.model_validate(json.loads(raw or b"null"))
        except (ValueError, UnicodeDecodeError):
            return _reply(start_response, "400 Bad Request", {"error": "the body is not JSON"})
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            return _reply(start_response, "400 Bad Request", {"error": f"{where}: {first['msg']}"})
        try:
            inv = inventory()
        except ConfigError as e:
            log.error("alert refused: %s", e)
            return _reply(start_response, "503 Service Unavailable", {"error": "the bot's inventory is not usable"})
        mapped = [map_alert(a, inv, resolver, default_channel) for a in batch.alerts]
        homeless = sorted({m.environment or "(unknown host)" for m in mapped if m.channel is None})
        if homeless:
            return _reply(
                start_response,
                "422 Unprocessable Entity",
                {
                    "error": "no channel for these alerts: set watch.channel for environment(s) "
                    f"{', '.join(homeless)} in the inventory, or CAMPAIGN_BOT_ALERT_CHANNEL"
                },
            )
        submit("alert", {"source": source, "alerts": [m.model_dump(mode="json") for m in mapped]}, None)
        known = sum(1 for m in mapped if m.host is not None)
        return _reply(
            start_response,
            "202 Accepted",
            {"accepted": len(mapped), "mapped_to_hosts": known, "unknown_hosts": len(mapped) - known},
        )

    return app
