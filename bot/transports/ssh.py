"""SSH transport (paramiko): verified host keys, key auth only, every step bounded in time.

- Host keys are checked against the inventory's known_hosts as OpenSSH reads it (`known_hosts.py`:
  `@revoked`, `@cert-authority` with host certificates, hashed names, patterns, `[host]:port`; a bad
  line is skipped and reported, never fatal). A key nothing vouches for is refused, never added.
- The private key is refused, like ssh(1) does, when group or others can access it, and when it is
  encrypted (the bot has no passphrase and uses no agent).
- Connections are kept in a `ConnectionPool` between questions; concurrent runs on one host share one,
  a session channel each, and when sshd refuses one more channel (MaxSessions, 10 by default) the run
  takes another connection (at most `MAX_CONNECTIONS_PER_HOST`) or waits for a channel within its
  deadline: a refused channel never closes the connection under the other runs. TCP_NODELAY on each
  socket (paramiko never sets it, and each exchange would wait ~40 ms for Nagle and delayed ACKs). Hosts
  connect independently: no pool-wide lock is held while connecting or loading a key.
- The host's deadline is enforced twice: on the server with `timeout -k` (closing a channel does
  not kill the remote command) and on the client by a polling loop (`recv_exit_status` never times out).
- A connection that dies while the script runs is `ConnectionLost` ("closed mid-stream") and is
  dropped from the pool; a pooled connection found dead before the script starts is replaced once. Only
  a dead connection is dropped at once; one that must go while other runs use it is closed after them.
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
from dataclasses import dataclass, field
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
    SSHSilent,
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
            return SSHSilent(f"{where} accepted the connection but did not speak SSH in time")
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


MAX_CONNECTIONS_PER_HOST = 4


@dataclass(eq=False)
class PooledConnection:
    """One SSH connection of the pool and the session channels open on it now.

    `limit` is how many channels the server lets one connection have, learned when it refused one more
    (sshd's MaxSessions, 10 by default): the pool then opens another connection to the host instead. A
    `retired` connection takes no new channel and is closed when its last one ends (never under the
    runs still using it)."""

    client: paramiko.SSHClient
    last_used: float
    in_use: int = 0
    limit: int | None = None
    retired: bool = False

    def alive(self) -> bool:
        t = self.client.get_transport()
        return t is not None and t.is_active()

    def has_room(self) -> bool:
        return not self.retired and (self.limit is None or self.in_use < self.limit)


@dataclass(eq=False)
class _HostConnections:
    cond: threading.Condition = field(default_factory=threading.Condition)
    conns: list[PooledConnection] = field(default_factory=list)
    connecting: bool = False


class ConnectionPool:
    """Keeps live SSH connections per host between questions; thread-safe.

    Concurrent runs on one host share a connection, each on its own session channel. When the server
    refuses one more channel on it (MaxSessions reached), that connection is full: the run takes another
    connection to the host, opening one if fewer than `max_per_host` are open, or waits for a channel to
    end, within its deadline. Only a dead connection is dropped at once; one that must go while runs use it
    (a channel that would not open in time) is retired, and closed after its last channel.

    The pool-wide lock guards only the dictionaries: connecting, loading keys and reading known_hosts
    happen under per-host or per-file locks, so one slow or silent host never holds up another; one host
    has at most one connect in progress.
    """

    def __init__(self, idle_s: float = 300.0, max_per_host: int = MAX_CONNECTIONS_PER_HOST) -> None:
        self.idle_s = idle_s
        self.max_per_host = max(1, max_per_host)
        self._lock = threading.Lock()
        self._hosts: dict[_Key, _HostConnections] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._keys: dict[str, tuple[tuple[int, int, int], paramiko.PKey]] = {}
        self.connects = 0

    def _key_for(self, host: Host) -> _Key:
        assert host.address is not None
        return _Key(host.address, host.port, host.user, host.key_file, host.known_hosts)

    def _slot(self, host: Host) -> _HostConnections:
        key = self._key_for(host)
        with self._lock:
            return self._hosts.setdefault(key, _HostConnections())

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

    def lease(self, host: Host, deadline: float | None = None) -> tuple[PooledConnection, bool]:
        """A live connection to `host` with room for one more channel, counted as in use until `release`;
        and whether it was reused from the pool (it may have died unnoticed). Waits for a busy host's
        channel to end until `deadline` (monotonic; default: the host's connect timeout from now)."""
        slot = self._slot(host)
        end = deadline if deadline is not None else time.monotonic() + host.connect_timeout_s
        dropped: list[PooledConnection] = []
        try:
            with slot.cond:
                while True:
                    now = time.monotonic()
                    dropped += self._prune_idle(slot, now)
                    room = [c for c in slot.conns if c.has_room()]
                    if room:
                        conn = min(room, key=lambda c: c.in_use)  # spread runs over the connections there are
                        conn.in_use += 1
                        conn.last_used = now
                        return conn, True
                    if not slot.connecting and len([c for c in slot.conns if not c.retired]) < self.max_per_host:
                        slot.connecting = True
                        break
                    if now >= end:
                        where = f"{host.address}:{host.port}"
                        if not slot.conns:
                            raise SSHTimeout(f"connecting to {where} (begun for another run) did not finish in time")
                        busy = sum(c.in_use for c in slot.conns)
                        raise SSHTimeout(
                            f"every SSH session to {where} is busy ({busy} channels on {len(slot.conns)} "
                            "connection(s), the server's MaxSessions reached); none became free in time"
                        )
                    slot.cond.wait(end - now)
        finally:
            for c in dropped:
                c.client.close()
        try:
            client = self._connect(host)
        except BaseException:
            with slot.cond:
                slot.connecting = False
                slot.cond.notify_all()
            raise
        conn = PooledConnection(client, time.monotonic(), in_use=1)
        with slot.cond:
            slot.connecting = False
            slot.conns.append(conn)
            slot.cond.notify_all()
        with self._lock:
            self.connects += 1
        return conn, False

    def _prune_idle(self, slot: _HostConnections, now: float) -> list[PooledConnection]:
        """Drop the connections that are dead, idle too long, or retired with no channel left (called under
        the slot's lock); returns them, to be closed outside it."""
        gone = [
            c
            for c in slot.conns
            if not c.alive() or (c.in_use == 0 and (c.retired or now - c.last_used >= self.idle_s))
        ]
        if gone:
            slot.conns = [c for c in slot.conns if c not in gone]
        return gone

    def release(self, host: Host, conn: PooledConnection, *, dead: bool = False) -> None:
        """A channel on `conn` ended. A `dead` connection (its transport is gone) leaves the pool now."""
        slot = self._slot(host)
        close = False
        with slot.cond:
            conn.in_use = max(0, conn.in_use - 1)
            conn.last_used = time.monotonic()
            if dead or not conn.alive():
                conn.retired = True
            if conn.retired and (conn.in_use == 0 or not conn.alive()):
                if conn in slot.conns:
                    slot.conns.remove(conn)
                close = True
            slot.cond.notify_all()
        if close:
            conn.client.close()

    def refused(self, host: Host, conn: PooledConnection) -> bool:
        """The server refused one more channel on the live `conn`: it is full at the channels it has now
        (the reserved one is released). False when it holds none: the server takes no session at all."""
        slot = self._slot(host)
        with slot.cond:
            if conn.in_use <= 1:
                full = False  # refused with nothing else open: not a capacity limit
            else:
                conn.in_use -= 1
                conn.limit = conn.in_use if conn.limit is None else min(conn.limit, conn.in_use)
                full = True
                slot.cond.notify_all()
        if not full:
            self.release(host, conn, dead=True)
        return full

    def retire(self, host: Host, conn: PooledConnection) -> None:
        """No new channel on `conn`; it closes when the channels open on it end."""
        slot = self._slot(host)
        close = False
        with slot.cond:
            conn.retired = True
            if conn.in_use == 0:
                if conn in slot.conns:
                    slot.conns.remove(conn)
                close = True
            slot.cond.notify_all()
        if close:
            conn.client.close()

    def get(self, host: Host) -> paramiko.SSHClient:
        """A connected client for `host` (the pooled one if still alive, else a new connection)."""
        conn, _ = self.lease(host)
        self.release(host, conn)
        return conn.client

    def discard(self, host: Host, client: paramiko.SSHClient | None = None) -> None:
        """Retire the host's pooled connections (only `client`'s, when given): each closes once no run uses it."""
        slot = self._slot(host)
        with slot.cond:
            targets = [c for c in slot.conns if client is None or c.client is client]
        for c in targets:
            self.retire(host, c)
        if client is not None and not targets:
            client.close()

    def pooled(self, host: Host) -> bool:
        """Whether a live connection to `host` is kept (for tests and `doctor`)."""
        slot = self._slot(host)
        with slot.cond:
            return any(c.alive() and not c.retired for c in slot.conns)

    def connections(self, host: Host) -> int:
        """How many connections to `host` are open now (for tests)."""
        slot = self._slot(host)
        with slot.cond:
            return len(slot.conns)

    def close(self) -> None:
        with self._lock:
            slots = list(self._hosts.values())
        for slot in slots:
            with slot.cond:
                conns, slot.conns = slot.conns, []
                slot.cond.notify_all()
            for c in conns:
                c.client.close()

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

    def _open(self, deadline: float) -> tuple[PooledConnection, paramiko.Channel]:
        """A session channel on a pooled connection. A pooled connection that turns out dead is replaced
        once; a live one the server refuses one more channel on (MaxSessions) is left to the runs using it,
        and another connection is taken (or a channel waited for) within the deadline."""
        replaced = False
        refused_alone = 0
        while True:
            conn, reused = self.pool.lease(self.host, deadline)
            remaining = max(0.5, deadline - time.monotonic())
            transport = conn.client.get_transport()
            try:
                if transport is None or not transport.is_active():
                    raise EOFError("the connection is closed")
                return conn, transport.open_session(timeout=min(self.host.connect_timeout_s, remaining))
            except paramiko.SSHException as e:
                # sshd's "open failed" for one session too many: paramiko raises it as a ChannelException,
                # or, when two opens fail at once (it keeps one failure per connection), "Unable to open
                # channel." for the other.
                refused = isinstance(e, paramiko.ChannelException) or "Unable to open channel" in str(e)
                if refused and transport is not None and transport.is_active():
                    # sshd's "open failed" for one session too many: this connection is full, not broken.
                    if self.pool.refused(self.host, conn):
                        log.debug("%s refused one more session on a connection (%s)", self._where(), e)
                        if time.monotonic() < deadline:
                            continue
                        raise SSHTimeout(
                            f"every SSH session to {self._where()} is busy (the server's MaxSessions); none became "
                            "free in time"
                        ) from e
                    refused_alone += 1
                    if refused_alone == 1 and deadline - time.monotonic() > 1.0:
                        # The other runs' channels have just closed, but sshd may not have counted them
                        # free yet: the refused connection was dropped, so try once more on a new one.
                        log.debug("%s refused a session with none other open; trying a new connection", self._where())
                        time.sleep(0.1)
                        continue
                    raise SSHProtocolError(
                        f"{self._where()} refuses to open a session channel: {str(e) or type(e).__name__}"
                    ) from e
                lost: BaseException = e
            except (OSError, EOFError) as e:
                lost = e
            if transport is not None and transport.is_active():
                # The server did not answer the channel request in time: this connection takes no new run,
                # and closes once the runs on it end.
                self.pool.retire(self.host, conn)
                self.pool.release(self.host, conn)
                raise SSHProtocolError(f"cannot open a channel on {self._where()}: {str(lost) or type(lost).__name__}")
            self.pool.release(self.host, conn, dead=True)
            if reused and not replaced and deadline - time.monotonic() > self.host.connect_timeout_s:
                log.info("pooled connection to %s was dead (%s); reconnecting", self._where(), lost)
                replaced = True
                continue
            if reused or transport is None:
                raise ConnectionLost(
                    f"connection to {self._where()} closed before the checks could start: "
                    f"{str(lost) or type(lost).__name__}"
                ) from lost
            raise SSHProtocolError(
                f"cannot open a channel on {self._where()}: {str(lost) or type(lost).__name__}"
            ) from lost

    def run(self, script: Script, *, timeout_s: float) -> CommandResult:
        start = time.monotonic()
        deadline = start + timeout_s
        conn, ch = self._open(deadline)
        client = conn.client
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
            # Only a connection that died leaves the pool; the other runs on a live one go on.
            self.pool.release(self.host, conn, dead=lost is not None and _connection_gone(client))
        if lost is not None:
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
