"""SSH transport (paramiko): verified host keys, key auth only, every step bounded in time.

- Host keys come from the inventory's known_hosts and RejectPolicy: an unknown or changed key is an
  error finding, never added.
- One connection per host, kept in a `ConnectionPool` between questions; TCP_NODELAY on its socket
  (paramiko never sets it, and each exchange would wait ~40 ms for Nagle and delayed ACKs).
- The host's deadline is enforced twice: on the server with `timeout -k` (closing a channel does
  not kill the remote command) and on the client by a polling loop (`recv_exit_status` never times out).
"""

from __future__ import annotations

import logging
import shlex
import socket
import threading
import time
from dataclasses import dataclass

import paramiko

from bot.errors import (
    AuthRefused,
    ConnectionLost,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
    SSHProtocolError,
    SSHTimeout,
    TransportConfigError,
    TransportError,
)
from bot.inventory import Host
from bot.transports.base import MAX_OUTPUT_BYTES, CommandResult, Script, Transport

log = logging.getLogger(__name__)
# Failed connects make paramiko's transport thread log tracebacks; our findings say what happened.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)

KILL_GRACE_S = 2


@dataclass(frozen=True)
class _Key:
    address: str
    port: int
    user: str
    key_file: str
    known_hosts: str


def classify(exc: BaseException, host: Host) -> TransportError:
    """Turn a connect-time exception into a TransportError whose message says why, in plain words."""
    where = f"{host.address}:{host.port}"
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyChanged(
            f"host key of {where} has CHANGED (got {exc.key.get_name()} {exc.key.fingerprint}, "
            f"known_hosts has {exc.expected_key.fingerprint}); refusing to connect"
        )
    if isinstance(exc, paramiko.AuthenticationException):
        if "timeout" in str(exc).lower():
            return AuthRefused(f"authentication on {where} timed out")
        return AuthRefused(f"authentication refused by {where} for user {host.user!r} (key auth only)")
    if isinstance(exc, paramiko.SSHException):
        text = str(exc)
        if "not found in known_hosts" in text:
            return HostKeyUnknown(
                f"host key of {where} is not in {host.known_hosts}; verify it and add it (never added automatically)"
            )
        if "banner" in text.lower() or "No existing session" in text:
            return SSHTimeout(f"{where} accepted the connection but did not speak SSH in time")
        return SSHProtocolError(f"SSH error with {where}: {text}")
    if isinstance(exc, EOFError):
        return SSHProtocolError(f"{where} closed the connection during the SSH handshake")
    if isinstance(exc, ConnectionRefusedError):
        return HostUnreachable(f"connection to {where} refused (nothing listens on that port)")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return HostUnreachable(f"connection to {where} timed out after {host.connect_timeout_s:g} s")
    if isinstance(exc, socket.gaierror):
        return HostUnreachable(f"cannot resolve {host.address!r}")
    if isinstance(exc, OSError):
        return HostUnreachable(f"cannot reach {where}: {exc.strerror or exc}")
    return SSHProtocolError(f"unexpected error with {where}: {type(exc).__name__}: {exc}")


class ConnectionPool:
    """Keeps one live SSH connection per host between questions; thread-safe."""

    def __init__(self, idle_s: float = 300.0) -> None:
        self.idle_s = idle_s
        self._lock = threading.Lock()
        self._clients: dict[_Key, tuple[paramiko.SSHClient, float]] = {}
        self._host_locks: dict[_Key, threading.Lock] = {}
        self._keys: dict[str, paramiko.PKey] = {}
        self.connects = 0

    def _key_for(self, host: Host) -> _Key:
        assert host.address is not None
        return _Key(host.address, host.port, host.user, host.key_file, host.known_hosts)

    def _pkey(self, host: Host) -> paramiko.PKey:
        path = str(host.expand(host.key_file))
        with self._lock:
            if path not in self._keys:
                try:
                    self._keys[path] = paramiko.PKey.from_path(path)
                except FileNotFoundError as e:
                    raise TransportConfigError(f"SSH key file {path} not found") from e
                except (paramiko.SSHException, OSError, ValueError) as e:
                    raise TransportConfigError(f"cannot load SSH key {path}: {e}") from e
            return self._keys[path]

    def get(self, host: Host) -> paramiko.SSHClient:
        """A connected client for `host`: the pooled one if still alive, else a new connection."""
        key = self._key_for(host)
        with self._lock:
            host_lock = self._host_locks.setdefault(key, threading.Lock())
        with host_lock:
            with self._lock:
                entry = self._clients.get(key)
            if entry is not None:
                client, last = entry
                t = client.get_transport()
                if t is not None and t.is_active() and time.monotonic() - last < self.idle_s:
                    with self._lock:
                        self._clients[key] = (client, time.monotonic())
                    return client
                client.close()
            client = self._connect(host)
            with self._lock:
                self._clients[key] = (client, time.monotonic())
                self.connects += 1
            return client

    def discard(self, host: Host) -> None:
        key = self._key_for(host)
        with self._lock:
            entry = self._clients.pop(key, None)
        if entry:
            entry[0].close()

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for c, _ in clients:
            c.close()

    def _connect(self, host: Host) -> paramiko.SSHClient:
        known = host.expand(host.known_hosts)
        if not known.is_file():
            raise TransportConfigError(f"known_hosts file {known} not found; host keys are never trusted blindly")
        pkey = self._pkey(host)
        t = host.connect_timeout_s
        sock: socket.socket | None = None
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(str(known))
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            sock = socket.create_connection((host.address, host.port), timeout=t)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.connect(
                host.address or "",
                port=host.port,
                username=host.user,
                pkey=pkey,
                sock=sock,
                allow_agent=False,
                look_for_keys=False,
                timeout=t,
                banner_timeout=t,
                auth_timeout=t,
                channel_timeout=t,
            )
        except BaseException as e:
            client.close()
            if sock is not None:
                sock.close()
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            raise classify(e, host) from e
        return client


def wrap_with_timeout(script: Script, seconds: float) -> str:
    """The remote command: the script under `timeout -k`, so the server ends it even if we vanish."""
    secs = max(1, int(seconds + 0.999))
    return f"timeout -k {KILL_GRACE_S} {secs} /bin/sh -c {shlex.quote(script.text)}"


class SSHTransport(Transport):
    name = "ssh"

    def __init__(self, host: Host, pool: ConnectionPool, max_output: int = MAX_OUTPUT_BYTES) -> None:
        self.host = host
        self.pool = pool
        self.max_output = max_output

    def run(self, script: Script, *, timeout_s: float) -> CommandResult:
        start = time.monotonic()
        deadline = start + timeout_s
        client = self.pool.get(self.host)
        remaining = max(0.5, deadline - time.monotonic())
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            self.pool.discard(self.host)
            raise SSHProtocolError(f"connection to {self.host.address}:{self.host.port} dropped")
        try:
            ch = transport.open_session(timeout=min(self.host.connect_timeout_s, remaining))
        except (paramiko.SSHException, OSError, EOFError) as e:
            self.pool.discard(self.host)
            raise SSHProtocolError(f"cannot open a channel on {self.host.address}: {e}") from e
        out, err = bytearray(), bytearray()
        timed_out = truncated = False
        code: int | None = None
        started_at = time.time()
        try:
            ch.settimeout(0.0)
            # The server-side bound is the command budget; the client waits a little longer for the exit.
            ch.exec_command(wrap_with_timeout(script, max(1.0, remaining - 0.5)))
            while True:
                while ch.recv_ready():
                    chunk = ch.recv(65536)
                    if not chunk:
                        break
                    out += chunk
                while ch.recv_stderr_ready():
                    err += ch.recv_stderr(65536)
                if len(out) > self.max_output or len(err) > self.max_output:
                    truncated = True
                    break
                if ch.exit_status_ready() and not ch.recv_ready() and not ch.recv_stderr_ready():
                    code = ch.recv_exit_status()
                    break
                if time.monotonic() > deadline + KILL_GRACE_S:
                    timed_out = True
                    break
                ch.status_event.wait(0.02)
        except (paramiko.SSHException, OSError, EOFError) as e:
            self.pool.discard(self.host)
            raise ConnectionLost(
                f"connection to {self.host.address} closed mid-stream while running the checks: {e}"
            ) from e
        finally:
            ch.close()
        if code == 124 or code == 137:
            timed_out = True  # `timeout` ended it on the server
            code = None
        return CommandResult(
            exit_code=code,
            stdout=bytes(out[: self.max_output]),
            stderr=bytes(err[: self.max_output]),
            duration_ms=int((time.monotonic() - start) * 1000),
            timed_out=timed_out,
            truncated=truncated,
            started_at=started_at,
        )
