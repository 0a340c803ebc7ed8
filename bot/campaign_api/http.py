"""One HTTP exchange with a Campaign application server, bounded in time and size.

Built on the standard library's `http.client` (no new dependency) because the API client needs
exactly this and no more:

- no redirects: the session token and security token travel in headers and a cookie, and a
  redirect must never carry them to another address (a 3xx comes back as a reply, with its
  `Location`, for the caller to name);
- no proxies from the environment: the secrets go to `campaign_api.url` and nowhere else;
- time: every socket operation waits at most `min(timeout_s, time left before the deadline)`,
  and the deadline is re-checked before each one. The connection, the TLS handshake (done
  non-blocking, step by step), the request, the status line and headers, and the body (read in
  small chunks) are all bounded that way, so a server that trickles its headers or its body a
  byte at a time cannot hold the bot past the environment's deadline;
- a cap on the reply size: more than `max_bytes` is refused, never buffered.

Errors are `CampaignApiError` subclasses whose messages name the address and what went wrong,
never a header, a cookie or a body sent. `ApiNoTime` (nothing sent, or the wait cut short by the
deadline to less than `timeout_s`) is told apart from `ApiTimeout` (the server had its full
`timeout_s` and did not answer): only the latter says anything about the server.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.errors import CampaignApiError

MAX_REPLY_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024  # what the caller asks for at once
_RECV = 16 * 1024  # one socket read at most


class ApiUnreachable(CampaignApiError):
    """Connection refused or reset, name not resolved: the application server did not answer."""


class ApiTlsError(CampaignApiError):
    """The TLS handshake failed: a certificate the bot does not trust (`verify`), or no TLS where
    `https://` expects it. A trust or configuration problem, not a server that does not answer."""

    def __init__(self, message: str, *, verify: bool) -> None:
        self.verify = verify
        super().__init__(message)


class ApiTimeout(CampaignApiError):
    """The request was attempted with the full `timeout_s` and no (complete) answer came in time."""


class ApiNoTime(ApiTimeout):
    """The environment's deadline left no time to send the request, or less than `timeout_s` to wait
    for it: says nothing about the server."""


class ApiReplyTooLarge(CampaignApiError):
    """The reply was larger than the bot accepts."""


class ApiReplyTruncated(CampaignApiError):
    """The server answered (a status line and headers) but its body stopped short: a chunk cut off, or
    the connection closed or reset mid-body. An incomplete reply, not a server that does not answer."""


@dataclass(frozen=True)
class HttpReply:
    status: int
    content_type: str
    body: bytes
    location: str = ""  # a redirect's Location header (never followed)


class _Clock:
    """The time one exchange may take: each wait is min(timeout_s, time left before the deadline),
    and the deadline is checked before each one."""

    def __init__(self, timeout_s: float, deadline: float, shown: str) -> None:
        self.timeout_s = timeout_s
        self.deadline = deadline
        self.shown = shown
        self.start = time.monotonic()
        self.full = deadline - self.start >= timeout_s  # the server gets its whole timeout
        self.started = False  # something was attempted (a connection at least)
        self.last_wait = timeout_s

    def wait(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0.05:
            raise self._deadline_passed()
        self.started = True
        self.last_wait = min(self.timeout_s, left)
        return self.last_wait

    def _deadline_passed(self) -> ApiTimeout:
        if not self.started:
            return ApiNoTime(f"no time left for {self.shown} within the environment's deadline (nothing sent)")
        elapsed = time.monotonic() - self.start
        if self.full:
            return ApiTimeout(
                f"{self.shown} was still answering when the environment's deadline passed ({elapsed:.1f} s)"
            )
        return ApiNoTime(
            f"{self.shown}: the environment's deadline passed after {elapsed:.1f} s, "
            f"before the {self.timeout_s:g} s timeout (no time left)"
        )

    def timed_out(self) -> ApiTimeout:
        """A socket operation waited `last_wait` without an answer."""
        if self.last_wait < self.timeout_s:  # the wait was cut short: the deadline ended it
            return self._deadline_passed()
        return ApiTimeout(f"{self.shown} did not answer within {self.last_wait:.1f} s")


class _Reader(io.RawIOBase):
    """The reply's bytes: small reads, each with the socket timeout set to what the clock allows."""

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        self._sock = sock
        self._clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        self._sock.settimeout(self._clock.wait())
        return self._sock.recv_into(b, min(len(b), _RECV))


class _BoundedSocket:
    """The connection's socket as http.client uses it (sendall, makefile, close), bounded by the clock."""

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        self._sock = sock
        self._clock = clock

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._sock, self._clock), _RECV)

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._clock.wait())  # sendall's timeout bounds the whole send
        self._sock.sendall(data)

    def close(self) -> None:
        """Nothing: http.client closes the connection as soon as it sees `Connection: close`, while the
        body is still to be read (a real socket defers that until its file is closed); `exchange`
        closes the socket itself when it is done."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _handshake(tls: ssl.SSLSocket, clock: _Clock) -> None:
    """The TLS handshake step by step (non-blocking), each wait bounded by the clock."""
    tls.setblocking(False)
    try:
        while True:
            wait = clock.wait()
            try:
                tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                ready = select.select([tls], [], [], wait)[0]
            except ssl.SSLWantWriteError:
                ready = select.select([], [tls], [], wait)[1]
            if not ready:
                raise TimeoutError("TLS handshake")
    finally:
        tls.setblocking(True)


class _Connection(http.client.HTTPConnection):
    """http.client's connection with every socket operation bounded by the exchange's clock."""

    def __init__(self, host: str, port: int | None, clock: _Clock, context: ssl.SSLContext | None) -> None:
        super().__init__(host, port if port is not None else (443 if context else 80), timeout=clock.timeout_s)
        self.clock = clock
        self.context = context
        self.raw: socket.socket | None = None  # closed by `exchange` when it is done

    def connect(self) -> None:
        self.timeout = self.clock.wait()
        super().connect()
        self.raw = self.sock
        if self.context is not None:  # the TLS socket takes the connection over (the plain one is detached)
            self.raw = self.context.wrap_socket(self.sock, server_hostname=self.host, do_handshake_on_connect=False)
            _handshake(self.raw, self.clock)
        self.sock = _BoundedSocket(self.raw, self.clock)


def exchange(
    method: str,
    base_url: str,
    path_and_query: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    timeout_s: float,
    deadline: float,
    tls_verify: bool = True,
    max_bytes: int = MAX_REPLY_BYTES,
) -> HttpReply:
    """Send one request to `base_url` + `path_and_query` and read the whole reply.

    Every socket operation (connect, TLS handshake step, send, each read of the status line, the
    headers and the body) waits at most min(`timeout_s`, time left before `deadline`), and the
    deadline (time.monotonic()) is checked before each: the whole exchange ends by the deadline,
    however slowly the server sends. Raises ApiTimeout (ApiNoTime when the deadline, not the
    server, ended it), ApiUnreachable, ApiTlsError, ApiReplyTooLarge or ApiReplyTruncated.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError as e:
        raise ApiUnreachable(f"{parts.scheme}://{host}: the URL's port is not a port number") from e
    where = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    full_path = (parts.path or "") + path_and_query
    shown = f"{where}{full_path.split('?')[0]}"
    clock = _Clock(timeout_s, deadline, shown)
    context: ssl.SSLContext | None = None
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if not tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    conn = _Connection(host, port, clock, context)
    try:
        try:
            conn.request(method, full_path, body=body, headers=headers)
            resp = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except (http.client.IncompleteRead, ConnectionError) as e:
                    got = size + (len(e.partial) if isinstance(e, http.client.IncompleteRead) else 0)
                    raise ApiReplyTruncated(
                        f"{shown} answered HTTP {resp.status} but its reply stopped short after {got} bytes "
                        f"({type(e).__name__})"
                    ) from e
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise ApiReplyTooLarge(f"{shown} sent more than {max_bytes // 1024} KiB; the bot stopped reading")
                chunks.append(chunk)
            location = (resp.getheader("Location", "") or "") if 300 <= resp.status < 400 else ""
            return HttpReply(resp.status, resp.getheader("Content-Type", "") or "", b"".join(chunks), location)
        except TimeoutError as e:
            raise clock.timed_out() from e
        except ssl.SSLCertVerificationError as e:
            why = e.verify_message or e.reason or "certificate verify failed"
            raise ApiTlsError(f"TLS: the certificate of {where} is not trusted ({why})", verify=True) from e
        except ssl.SSLError as e:
            raise ApiTlsError(f"TLS error with {where}: {e.reason or type(e).__name__}", verify=False) from e
        except ConnectionRefusedError as e:
            raise ApiUnreachable(f"{where} refused the connection") from e
        except socket.gaierror as e:
            raise ApiUnreachable(f"{host}: name not resolved") from e
        except (http.client.HTTPException, OSError) as e:
            raise ApiUnreachable(f"{where}: {type(e).__name__}: {e.strerror if isinstance(e, OSError) else e}") from e
    finally:
        conn.close()
        if conn.raw is not None:
            conn.raw.close()
