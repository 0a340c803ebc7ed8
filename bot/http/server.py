"""The HTTP server: waitress with limits, a reaper for slow clients, and a graceful stop.

Why waitress and these settings (waitress 3.0, read from its source):

- waitress receives each request whole on its I/O loop before a worker thread runs the app, so
  idle and slow clients hold a connection, never a thread. What they can exhaust is the connection
  limit (default 100: 99 idle connections starved every real request) and memory:
  * `connection_limit` is raised (1000 by default, capped by the open-file limit), and the loop
    uses poll() (`asyncore_use_poll`), because select() cannot watch descriptors past 1024;
  * `channel_timeout` closes keep-alive connections idle for `idle_timeout_s` (checked every
    second, `cleanup_interval`), and near the connection limit idle connections are closed first,
    so new clients get their slots;
  * waitress has no deadline for a request that trickles in (its idle timer restarts on every
    byte): the reaper here closes a connection whose request is not complete after
    `request_timeout_s`;
  * `max_request_body_size` is the body limit + 1 byte: a Content-Length over the limit is
    refused with 413 as soon as the headers are in, and a chunked body as soon as it passes the
    limit; nothing larger is ever buffered;
  * `inbuf_overflow` (64 KiB) and `max_request_header_size` (32 KiB) bound what one connection
    holds in memory: a larger body waits in a temporary file, so 1000 connections hold at most
    about 1000 x (64 + 32) KiB;
  * `backlog` is the kernel's accept queue; `expose_tracebacks` stays off.
- `serve_forever()` runs waitress's loop one poll at a time, so `stop()` (from a signal handler or
  any thread) makes it stop accepting, finish the requests in flight, close idle connections and
  return within `drain_timeout_s`.
"""

from __future__ import annotations

import logging
import resource
import threading
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import ConfigError
from bot.http.limits import DEFAULT_BODY_LIMIT

if TYPE_CHECKING:
    from bot.http.wsgi import WSGIApp

log = logging.getLogger(__name__)

_FDS_PER_CONNECTION = 3  # waitress: a socket, and a temporary file each for a large body and answer
_FDS_RESERVED = 64  # for the rest of the process (log files, SQLite, SSH sockets, the pipe triggers)


class ServerLimits(BaseModel):
    """Limits of the HTTP server (the defaults suit Slack and monitoring webhooks)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    body_limit: int = Field(DEFAULT_BODY_LIMIT, ge=1024)  # bytes; over it: 413
    connection_limit: int = Field(1000, ge=16)  # open connections; capped by RLIMIT_NOFILE
    backlog: int = Field(1024, ge=16)  # connections waiting to be accepted (kernel queue)
    idle_timeout_s: int = Field(30, ge=1)  # a keep-alive connection with no request is closed after this
    request_timeout_s: float = Field(10.0, gt=0)  # a request must arrive whole within this
    max_header_bytes: int = Field(32 * 1024, ge=4096)  # request line + headers; over it: 431
    inbuf_overflow: int = Field(64 * 1024, ge=8192)  # a body larger than this waits on disk, not in memory
    drain_timeout_s: float = Field(10.0, gt=0)  # stop(): how long requests in flight may take to finish
    poll_interval_s: float = Field(0.5, gt=0, le=5)  # how often slow requests are looked for


def effective_connection_limit(wanted: int) -> int:
    """`wanted`, lowered so that every connection can have its descriptors within RLIMIT_NOFILE."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, (soft - _FDS_RESERVED) // _FDS_PER_CONNECTION))


class HttpServer:
    """A waitress server for one WSGI app on `host:port` (port 0: a free port, see `port`).

    The socket is bound and listening when the constructor returns. `serve_forever()` serves until
    `stop()`; `stop()` is thread-safe, idempotent and may be called from a signal handler. Raises
    ConfigError when the address cannot be bound.
    """

    def __init__(
        self,
        app: WSGIApp,
        host: str,
        port: int,
        threads: int = 8,
        limits: ServerLimits | None = None,
        *,
        ident: str = "campaign-bot",
    ) -> None:
        from waitress.server import BaseWSGIServer, create_server

        self.limits = limits or ServerLimits()
        self.connection_limit = effective_connection_limit(self.limits.connection_limit)
        if self.connection_limit < self.limits.connection_limit:
            log.warning(
                "HTTP connection limit lowered from %d to %d by the open-file limit (ulimit -n)",
                self.limits.connection_limit,
                self.connection_limit,
            )
        self._map: dict[int, Any] = {}
        try:
            create_server(
                app,
                map=self._map,
                host=host,
                port=port,
                threads=threads,
                ident=ident,
                expose_tracebacks=False,
                max_request_body_size=self.limits.body_limit + 1,  # waitress refuses length >= this
                max_request_header_size=self.limits.max_header_bytes,
                inbuf_overflow=self.limits.inbuf_overflow,
                # waitress counts its listening sockets and wake-up pipes too
                connection_limit=self.connection_limit + 4,
                channel_timeout=self.limits.idle_timeout_s,
                cleanup_interval=1,
                backlog=self.limits.backlog,
                asyncore_use_poll=True,
            )
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot listen on {host}:{port}: {e}") from e
        self._listeners: list[Any] = [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]
        self._dispatcher = self._listeners[0].task_dispatcher
        self._stopping = threading.Event()
        self._lock = threading.RLock()  # reentrant: stop() may run in a signal handler of the serving thread
        self._state = "ready"  # ready -> serving -> closed
        self._slow: dict[Any, tuple[Any, float]] = {}  # channel -> (the request it is receiving, since when)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (host, port) pairs actually listened on."""
        return [(str(s.effective_host), int(s.effective_port)) for s in self._listeners]

    @property
    def port(self) -> int:
        return self.addresses[0][1]

    def serve_forever(self) -> None:
        """Serve until `stop()`; then stop accepting, let requests in flight finish (at most
        `drain_timeout_s`), close every connection and return."""
        from waitress import wasyncore

        with self._lock:
            if self._state != "ready":
                raise RuntimeError("serve_forever() can run only once")
            self._state = "serving"
        log.info(
            "HTTP server on %s (connection limit %d, body limit %d bytes)",
            ", ".join(f"{h}:{p}" for h, p in self.addresses),
            self.connection_limit,
            self.limits.body_limit,
        )
        try:
            next_reap = 0.0
            while not self._stopping.is_set():
                wasyncore.loop(timeout=self.limits.poll_interval_s, map=self._map, use_poll=True, count=1)
                now = time.monotonic()
                if now >= next_reap:
                    self._reap(now)
                    next_reap = now + self.limits.poll_interval_s
            self._drain()
        finally:
            self._close()

    def stop(self) -> None:
        """Ask `serve_forever()` to finish (thread-safe, idempotent, signal-handler safe)."""
        with self._lock:
            self._stopping.set()
            if self._state == "serving":
                self._listeners[0].pull_trigger()  # wake the poll now instead of after its timeout

    def close(self) -> None:
        """Release the socket of a server that never served (serve_forever closes its own)."""
        with self._lock:
            if self._state == "ready":
                self._stopping.set()
                self._close()

    def __enter__(self) -> HttpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()

    # -- inside the serving thread ---------------------------------------------------------------

    def _channels(self) -> list[Any]:
        return [ch for listener in self._listeners for ch in list(listener.active_channels.values())]

    def _reap(self, now: float) -> None:
        """Close connections whose request has been arriving for longer than `request_timeout_s`,
        and, near the connection limit, connections idle for more than a second."""
        channels = self._channels()
        slow: dict[Any, tuple[Any, float]] = {}
        for ch in channels:
            if ch.will_close or ch.requests or ch.request is None:
                continue  # closing, being served, or idle
            seen = self._slow.get(ch)
            since = seen[1] if seen is not None and seen[0] is ch.request else now
            slow[ch] = (ch.request, since)
            if now - since > self.limits.request_timeout_s:
                log.info("HTTP: closing a connection whose request is not complete after %.0f s", now - since)
                ch.will_close = True
        self._slow = slow
        if len(channels) >= self.connection_limit * 0.9:
            wall = time.time()  # waitress keeps last_activity in wall-clock time
            idle = [ch for ch in channels if _idle(ch) and wall - ch.last_activity > 1.0]
            for ch in idle:
                ch.will_close = True
            if idle:
                log.warning("HTTP: near the connection limit, closed %d idle connections", len(idle))

    def _drain(self) -> None:
        from waitress import wasyncore

        for listener in self._listeners:
            wasyncore.dispatcher.close(listener)  # stop accepting; its wake-up pipe stays open
        deadline = time.monotonic() + self.limits.drain_timeout_s
        while True:
            busy = False
            for ch in self._channels():
                if _idle(ch):
                    ch.will_close = True
                elif not ch.will_close:
                    busy = True  # a request arriving, being served, or its answer being sent
            if not busy and not self._channels():
                return
            if time.monotonic() >= deadline:
                log.warning("HTTP: stopping with requests still in flight after %.0f s", self.limits.drain_timeout_s)
                return
            wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)

    def _close(self) -> None:
        from waitress import wasyncore

        with self._lock:
            if self._state == "closed":
                return
            self._state = "closed"
        self._dispatcher.shutdown(cancel_pending=True, timeout=max(1.0, self.limits.drain_timeout_s / 2))
        if self._dispatcher.threads:
            # A worker thread still runs an app and will pull a wake-up pipe when it ends: closing
            # the pipes now could let it write into a reused descriptor. Close the sockets only.
            for d in list(self._map.values()):
                if d not in self._triggers():
                    d.close()
        else:
            wasyncore.close_all(self._map)

    def _triggers(self) -> list[Any]:
        return [listener.trigger for listener in self._listeners]


def _idle(channel: Any) -> bool:
    """No request arriving, none being served, nothing left to send."""
    return not (channel.requests or channel.request is not None or channel.total_outbufs_len)
