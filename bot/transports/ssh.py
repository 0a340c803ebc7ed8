"""SSH transport (paramiko): verified host keys, key auth only, every step bounded in time.

- Host keys are checked against the inventory's known_hosts as OpenSSH reads it (`known_hosts.py`:
  `@revoked`, `@cert-authority` with host certificates, hashed names, patterns, `[host]:port`; a bad
  line is skipped and reported, never fatal). A key nothing vouches for is refused, never added.
- The private key is refused, like ssh(1) does, when group or others can access it, and when it is
  encrypted (the bot has no passphrase and uses no agent).
- One connection per host, kept in a `ConnectionPool` between questions; TCP_NODELAY on its socket
  (paramiko never sets it, and each exchange would wait ~40 ms for Nagle and delayed ACKs). Hosts
  connect independently: no pool-wide lock is held while connecting or loading a key.
- The host's deadline is enforced twice: on the server with `timeout -k` (closing a channel does
  not kill the remote command) and on the client by a polling loop (`recv_exit_status` never times out).
- A connection that dies while the script runs is `ConnectionLost` ("closed mid-stream") and is
  dropped from the pool; a pooled connection found dead before the script starts is replaced once.
"""

from __future__ import annotations

import functools
import logging
import shlex
import socket
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from bot.transports.known_hosts import KnownHosts, load_known_hosts, lookup_name

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


def load_private_key(path: Path) -> paramiko.PKey:
    """The bot's private key at `path`, refused with a reason ssh(1) would also give.

    Raises TransportConfigError: missing or unreadable file; a file group or others can access
    ("UNPROTECTED PRIVATE KEY FILE", with its mode); an encrypted key; a file that is not a key.
    """
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise TransportConfigError(f"SSH key file {path} not found") from e
    except OSError as e:
        raise TransportConfigError(f"cannot read SSH key file {path}: {e.strerror or e}") from e
    if not stat.S_ISREG(st.st_mode):
        raise TransportConfigError(f"SSH key file {path} is not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        # ssh(1) refuses such a key when its user owns it; we refuse it whoever owns it: a key that
        # others can read is a leaked key either way.
        raise TransportConfigError(
            f"UNPROTECTED PRIVATE KEY FILE: permissions {mode:04o} for {path} are too open; a private key must "
            f"not be accessible by group or others (chmod 600 {path}); refused, as OpenSSH does"
        )
    try:
        return paramiko.PKey.from_path(path)
    except TypeError as e:
        # cryptography raises TypeError when the key is encrypted and no password was given
        # ("Password was not given but private key is encrypted", "Key is password-protected, ...").
        if "password" not in str(e).lower() and "encrypt" not in str(e).lower():
            raise TransportConfigError(f"cannot load SSH key {path}: {e}") from e
        raise TransportConfigError(
            f"SSH key {path} is encrypted (passphrase-protected): the bot has no passphrase and does not use an "
            "SSH agent; give it a key without a passphrase, readable only by the bot's user"
        ) from e
    except PermissionError as e:
        raise TransportConfigError(f"cannot read SSH key file {path}: permission denied") from e
    except Exception as e:  # paramiko/cryptography raise many types on a file that is not a usable key
        raise TransportConfigError(f"cannot load SSH key {path}: {type(e).__name__}: {e}") from e


class KnownHostsPolicy(paramiko.RejectPolicy):
    """A RejectPolicy that accepts exactly what our known_hosts reading vouches for, and adds nothing.

    No host key is ever loaded into the paramiko client, so paramiko hands *every* server key to this
    policy (after the key exchange proved the server holds it) and the decision is `KnownHosts.verify`.
    """

    def __init__(self, known: KnownHosts, address: str, port: int) -> None:
        self.known = known
        self.address = address
        self.port = port
        self.verified_by: str | None = None

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:  # type: ignore[override]
        self.verified_by = self.known.verify(self.address, self.port, key)


class _OrderedTransport(paramiko.Transport):
    """A Transport that offers some host-key algorithms first (those known_hosts can verify)."""

    def __init__(self, sock: Any, *, first: Sequence[str] = (), **kw: Any) -> None:
        self._first = tuple(first)
        super().__init__(sock, **kw)

    @property
    def preferred_keys(self) -> Sequence[str]:
        keys = tuple(super().preferred_keys)
        head = [k for k in getattr(self, "_first", ()) if k in keys]
        return tuple(head + [k for k in keys if k not in head])


class ConnectionPool:
    """Keeps one live SSH connection per host between questions; thread-safe.

    The pool-wide lock guards only the dictionaries: connecting, loading keys and reading known_hosts
    happen under per-host or per-file locks, so one slow or silent host never holds up another.
    """

    def __init__(self, idle_s: float = 300.0) -> None:
        self.idle_s = idle_s
        self._lock = threading.Lock()
        self._clients: dict[_Key, tuple[paramiko.SSHClient, float]] = {}
        self._host_locks: dict[_Key, threading.Lock] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._keys: dict[str, tuple[tuple[int, int, int], paramiko.PKey]] = {}
        self.connects = 0

    def _key_for(self, host: Host) -> _Key:
        assert host.address is not None
        return _Key(host.address, host.port, host.user, host.key_file, host.known_hosts)

    def _pkey(self, host: Host) -> paramiko.PKey:
        """The host's private key, loaded once per version of the file; checked again on every connect
        (a key made readable to others since the last connect is refused)."""
        path = host.expand(host.key_file)
        name = str(path)
        with self._lock:
            key_lock = self._key_locks.setdefault(name, threading.Lock())
        with key_lock:
            try:
                st = path.stat()
            except OSError:
                return load_private_key(path)  # raises the reason
            version = (st.st_ino, st.st_mtime_ns, st.st_size)
            with self._lock:
                cached = self._keys.get(name)
            if cached is not None and cached[0] == version and not stat.S_IMODE(st.st_mode) & 0o077:
                return cached[1]
            pkey = load_private_key(path)
            with self._lock:
                self._keys[name] = (version, pkey)
            return pkey

    def get(self, host: Host) -> paramiko.SSHClient:
        """A connected client for `host`: the pooled one if still alive, else a new connection."""
        return self.checkout(host)[0]

    def checkout(self, host: Host) -> tuple[paramiko.SSHClient, bool]:
        """Like `get`, and whether the client was reused from the pool (it may have died unnoticed)."""
        key = self._key_for(host)
        with self._lock:
            host_lock = self._host_locks.setdefault(key, threading.Lock())
        with host_lock:
            with self._lock:
                entry = self._clients.pop(key, None)
            if entry is not None:
                client, last = entry
                t = client.get_transport()
                if t is not None and t.is_active() and time.monotonic() - last < self.idle_s:
                    with self._lock:
                        self._clients[key] = (client, time.monotonic())
                    return client, True
                client.close()
            client = self._connect(host)
            with self._lock:
                self._clients[key] = (client, time.monotonic())
                self.connects += 1
            return client, False

    def discard(self, host: Host, client: paramiko.SSHClient | None = None) -> None:
        """Close and forget the host's pooled connection (only if it is still `client`, when given)."""
        key = self._key_for(host)
        with self._lock:
            entry = self._clients.get(key)
            if entry is not None and (client is None or entry[0] is client):
                del self._clients[key]
            else:
                entry = None
        if entry:
            entry[0].close()
        elif client is not None:
            client.close()

    def pooled(self, host: Host) -> bool:
        """Whether a connection to `host` is kept (for tests and `doctor`)."""
        with self._lock:
            return self._key_for(host) in self._clients

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for c, _ in clients:
            c.close()

    def _known_hosts(self, host: Host) -> KnownHosts:
        path = host.expand(host.known_hosts)
        try:
            return load_known_hosts(path)
        except FileNotFoundError as e:
            raise TransportConfigError(f"known_hosts file {path} not found; host keys are never trusted blindly") from e
        except OSError as e:
            raise TransportConfigError(f"cannot read known_hosts file {path}: {e.strerror or e}") from e

    def _connect(self, host: Host) -> paramiko.SSHClient:
        assert host.address is not None
        known = self._known_hosts(host)
        pkey = self._pkey(host)
        t = host.connect_timeout_s
        sock: socket.socket | None = None
        client = paramiko.SSHClient()
        # No host keys are loaded into paramiko: every server key goes to the policy (see KnownHostsPolicy).
        client.set_missing_host_key_policy(KnownHostsPolicy(known, host.address, host.port))
        first = known.preferred_algorithms(lookup_name(host.address, host.port))
        try:
            sock = socket.create_connection((host.address, host.port), timeout=t)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.connect(
                host.address,
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
                transport_factory=functools.partial(_OrderedTransport, first=first),
            )
        except BaseException as e:
            client.close()
            if sock is not None:
                sock.close()
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            raise classify(e, host) from e
        return client


def _connection_gone(client: paramiko.SSHClient, wait_s: float = 0.5) -> bool:
    """Whether the client's connection is dead. paramiko closes a dead connection's channels a moment
    before it marks the transport inactive, so a just-closed channel waits briefly for the verdict."""
    end = time.monotonic() + wait_s
    while True:
        t = client.get_transport()
        if t is None or not t.is_active():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.01)


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

    def _where(self) -> str:
        return f"{self.host.address}:{self.host.port}"

    def _open(self, deadline: float) -> tuple[paramiko.SSHClient, paramiko.Channel]:
        """A session channel; a pooled connection that turns out dead is replaced once."""
        for attempt in (1, 2):
            client, reused = self.pool.checkout(self.host)
            remaining = max(0.5, deadline - time.monotonic())
            transport = client.get_transport()
            try:
                if transport is None or not transport.is_active():
                    raise EOFError("the connection is closed")
                return client, transport.open_session(timeout=min(self.host.connect_timeout_s, remaining))
            except (paramiko.SSHException, OSError, EOFError) as e:
                self.pool.discard(self.host, client)
                if reused and attempt == 1 and deadline - time.monotonic() > self.host.connect_timeout_s:
                    log.info("pooled connection to %s was dead (%s); reconnecting", self._where(), e)
                    continue
                if reused or transport is None or not transport.is_active():
                    raise ConnectionLost(
                        f"connection to {self._where()} closed before the checks could start: {str(e) or type(e).__name__}"
                    ) from e
                raise SSHProtocolError(f"cannot open a channel on {self._where()}: {str(e) or type(e).__name__}") from e
        raise AssertionError("unreachable")  # pragma: no cover

    def run(self, script: Script, *, timeout_s: float) -> CommandResult:
        start = time.monotonic()
        deadline = start + timeout_s
        client, ch = self._open(deadline)
        remaining = max(0.5, deadline - time.monotonic())
        out, err = bytearray(), bytearray()
        timed_out = truncated = False
        code: int | None = None
        started_at = time.time()
        lost: BaseException | None = None
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
                    # A channel closed without an exit status (paramiko leaves -1) whose connection is
                    # gone was cut mid-stream: sshd killed, host rebooted, network reset.
                    if ch.exit_status == -1 and _connection_gone(client):
                        lost = EOFError("the server closed the connection")
                        break
                    code = ch.recv_exit_status()
                    break
                if time.monotonic() > deadline + KILL_GRACE_S:
                    timed_out = True
                    break
                ch.status_event.wait(0.02)
        except (paramiko.SSHException, OSError, EOFError) as e:
            lost = e
        finally:
            ch.close()
        if lost is not None:
            self.pool.discard(self.host, client)
            raise ConnectionLost(
                f"connection to {self._where()} closed mid-stream while running the checks "
                f"(after {time.monotonic() - start:.1f} s, {len(out)} bytes received): {lost}"
            ) from lost
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
