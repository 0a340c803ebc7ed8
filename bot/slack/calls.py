"""Slack Web API calls that never take the bot down, with the fallbacks answers rely on.

Every call returns the response data or None; failures are logged with Slack's error code only
(never a token or a body). `update_or_post` falls back to a new thread message when the final
`chat.update` fails, and `respond` answers through an interaction's response URL when the bot
cannot post in a channel it is not a member of.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

log = logging.getLogger(__name__)

Message = tuple[list[dict[str, Any]], str]
RESPONSE_URL_TIMEOUT_S = 10
_RESPONSE_HOSTS = ("hooks.slack.com",)


# Calls whose only purpose is a mark on a message (👀, ✅, ❌), and calls made with `cosmetic=True`
# (a progress update the next one or the answer replaces): never worth holding an answer for.
COSMETIC_METHODS = ("reactions.add", "reactions.remove")
COSMETIC_MAX_WAIT_S = 2
_calling = threading.local()  # .cosmetic: the call this thread makes now is cosmetic


class RateLimitRetry(RateLimitErrorRetryHandler):
    """HTTP 429 retried after Retry-After, except for a cosmetic call (a reaction, a progress update)
    that Slack asks to wait longer than `COSMETIC_MAX_WAIT_S` for: Slack limits each method on its own,
    and waiting (Retry-After times the retries) would hold the first reply or the answer."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None  # a 429 was seen
        if not getattr(_calling, "cosmetic", False) and not request.url.rstrip("/").endswith(COSMETIC_METHODS):
            return True
        found = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), "1")
        wait = found if isinstance(found, str) else (found[0] if found else "1")
        try:
            return int(wait) <= COSMETIC_MAX_WAIT_S
        except ValueError:
            return False


class SlackCalls:
    def __init__(self, client: WebClient, response_hosts: tuple[str, ...] = _RESPONSE_HOSTS) -> None:
        self.client = client
        self.response_hosts = response_hosts
        self.last_error: str | None = None

    def call(self, method: str, *, cosmetic: bool = False, **kwargs: Any) -> dict[str, Any] | None:
        """`cosmetic`: a long rate-limit wait is not worth it (see `RateLimitRetry`); the call fails instead."""
        self.last_error = None
        _calling.cosmetic = cosmetic
        try:
            resp = getattr(self.client, method)(**kwargs)
            data = getattr(resp, "data", None)
            return dict(data) if isinstance(data, dict) else {}
        except SlackApiError as e:
            err = e.response.get("error") if e.response is not None else "unknown"
            self.last_error = str(err)
            log.warning("Slack %s failed: %s", method, err)
        except Exception as e:  # network, timeouts: the bot lives on
            self.last_error = type(e).__name__
            log.warning("Slack %s failed: %s", method, type(e).__name__)
        finally:
            _calling.cosmetic = False
        return None

    def react(self, channel: str, ts: str, name: str) -> None:
        self.call("reactions_add", channel=channel, timestamp=ts, name=name)

    def unreact(self, channel: str, ts: str, name: str) -> None:
        """Take the bot's reaction away (a recovered alert that came back loses its ✅)."""
        self.call("reactions_remove", channel=channel, timestamp=ts, name=name)

    def post(
        self, channel: str, thread_ts: str | None, msg: Message, metadata: dict[str, Any] | None = None
    ) -> str | None:
        """Post in a thread; `metadata` (Slack message metadata: event_type, event_payload) tags the message
        so that a job run again can find it (`find_tagged`)."""
        extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
        resp = self.call(
            "chat_postMessage",
            channel=channel,
            thread_ts=thread_ts,
            blocks=msg[0],
            text=msg[1],
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        return str(resp["ts"]) if resp and resp.get("ts") else None

    def find_tagged(self, channel: str, thread_ts: str, event_type: str, key: str, value: str) -> str | None:
        """The ts of the bot's message in the thread whose metadata has `event_payload[key] == value`
        (conversations.replies; None when there is none or the thread cannot be read)."""
        resp = self.call("conversations_replies", channel=channel, ts=thread_ts, include_all_metadata=True, limit=200)
        for m in (resp or {}).get("messages") or ():
            meta = m.get("metadata") if isinstance(m, dict) else None
            if (
                isinstance(meta, dict)
                and meta.get("event_type") == event_type
                and str((meta.get("event_payload") or {}).get(key)) == value
                and m.get("ts")
            ):
                return str(m["ts"])
        return None

    def update(self, channel: str, ts: str, msg: Message, *, cosmetic: bool = False) -> bool:
        """Replace a message; `cosmetic` (a progress update): skipped rather than waited for when rate limited."""
        return (
            self.call("chat_update", cosmetic=cosmetic, channel=channel, ts=ts, blocks=msg[0], text=msg[1]) is not None
        )

    def update_or_post(self, channel: str, thread_ts: str, ts: str | None, msg: Message) -> str | None:
        """Replace the progress message; if that fails (or there is none), post the message in the thread."""
        if ts is not None and self.update(channel, ts, msg):
            return ts
        return self.post(channel, thread_ts, msg)

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        self.call("chat_postEphemeral", channel=channel, user=user, text=text)

    def upload(self, channel: str, thread_ts: str, content: str, filename: str, title: str) -> bool:
        return (
            self.call(
                "files_upload_v2", channel=channel, thread_ts=thread_ts, content=content, filename=filename, title=title
            )
            is not None
        )

    def respond(self, response_url: str, msg: Message, *, replace: bool = False) -> bool:
        """Answer through an interaction's response URL (works where the bot is not a channel member)."""
        parts = urlsplit(response_url)
        base = urlsplit(self.client.base_url)
        allowed = parts.hostname in self.response_hosts or parts.hostname == base.hostname
        if parts.scheme not in ("https", "http") or not allowed:
            log.warning("refusing a response_url on an unexpected host")
            return False
        body = json.dumps(
            {"blocks": msg[0], "text": msg[1], "response_type": "ephemeral", "replace_original": replace}
        ).encode()
        req = urllib.request.Request(  # noqa: S310 - scheme and host checked above
            response_url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=RESPONSE_URL_TIMEOUT_S) as r:  # noqa: S310 - host checked above
                return bool(200 <= r.status < 300)
        except Exception as e:
            log.warning("response_url post failed: %s", type(e).__name__)
            return False
