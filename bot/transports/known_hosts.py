"""known_hosts as OpenSSH reads it, and host-key verification for paramiko.

Why not paramiko's `HostKeys.load`: on a `@revoked` or `@cert-authority` line it raises
`InvalidHostKey` (not an `SSHException`), which aborts the whole file, so one such line made every
host fail with "unexpected error"; it ignores markers on lines it does read, so a revoked key listed
on another line would be accepted; and it knows no host patterns (`*`, `?`, `!`). So the *lines* are
read here, while the *keys* are still built by paramiko (`PKey.from_type_string`), hashed names are
checked with paramiko's `HostKeys.hash_host`, and host certificates are parsed and their signature
checked by `cryptography` (`load_ssh_public_identity`, `verify_cert_signature`), the library paramiko
itself is built on. paramiko negotiates certificate host-key algorithms and verifies the key exchange
with the certified key, but checks nothing about the certificate: that part is `check_certificate`.

Rules (OpenSSH's sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"; where it is silent, what ssh(1) does):
- The name looked up is `address` for port 22, else `[address]:port`, lower-cased. `*` and `?` are
  wildcards, `!pattern` excludes, `|1|salt|hash` is a hashed name.
- A key on a `@revoked` line is refused for EVERY host, whatever the line's host pattern: the manual
  says such a key "must not ever be accepted" (ssh(1) scopes the line to its pattern; we are stricter).
  A certificate signed by a revoked CA key is refused too.
- `@cert-authority`: a host certificate signed by a CA listed for the name is accepted when it is a
  host certificate, its signature verifies, the address is one of its principals (or it has none, as
  ssh(1) accepts), it is within its validity and has no critical options; a certificate from such a
  CA that fails one of these is refused with the reason. A certificate from no CA listed for the name
  falls back to the plain key, as ssh(1) does.
- A line that cannot be read is skipped and reported (in the log once per version of the file, and
  by `campaign-bot doctor`); the other lines still count.
- Nothing is ever written to the file.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import paramiko
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    SSHCertificate,
    SSHCertificateType,
    SSHCertPublicKeyTypes,
    load_ssh_public_identity,
)
from paramiko.pkey import UnknownKeyType

from bot.errors import HostKeyChanged, HostKeyRevoked, HostKeyUnknown

log = logging.getLogger(__name__)

CERT_SUFFIX = "-cert-v01@openssh.com"
Marker = Literal["", "@revoked", "@cert-authority"]
_MARKERS: dict[str, Marker] = {"@revoked": "@revoked", "@cert-authority": "@cert-authority"}
_FOREVER = (1 << 64) - 1  # valid_before of a certificate without an end


def lookup_name(address: str, port: int) -> str:
    """The name known_hosts is searched for, as ssh(1) forms it: `host`, or `[host]:port` off port 22."""
    host = address.lower()
    return host if port == 22 else f"[{host}]:{port}"


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # OpenSSH's match_pattern knows only `*` and `?`; everything else (brackets included) is literal.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile(f"^{body}$", re.DOTALL)


@dataclass(frozen=True)
class HostPattern:
    """One comma-separated item of a line's host field."""

    text: str
    negated: bool
    hashed: bool
    regex: re.Pattern[str] | None

    @classmethod
    def parse(cls, item: str) -> HostPattern:
        """Raises ValueError for a malformed hashed name (its salt must be 20 bytes of base64)."""
        if item.startswith("|1|"):
            parts = item.split("|")
            if len(parts) != 4:
                raise ValueError("hashed host name is malformed")
            try:
                salt = base64.b64decode(parts[2], validate=True)
                digest = base64.b64decode(parts[3], validate=True)
            except (binascii.Error, ValueError) as e:
                raise ValueError("hashed host name is not valid base64") from e
            if len(salt) != 20 or len(digest) != 20:
                raise ValueError("hashed host name is malformed (salt and hash must be 20 bytes)")
            return cls(item, False, True, None)
        negated = item.startswith("!")
        text = item[1:] if negated else item
        if not text:
            raise ValueError("empty host pattern")
        return cls(text, negated, False, _pattern_regex(text))

    def matches(self, name: str) -> bool:
        if self.hashed:
            # paramiko computes the hash with the entry's own salt; compare in constant time.
            return hmac.compare_digest(paramiko.HostKeys.hash_host(name, self.text), self.text)
        assert self.regex is not None
        return self.regex.match(name) is not None


@dataclass(frozen=True)
class KnownHostsLine:
    """A readable line: marker, host patterns and the key paramiko built from it."""

    lineno: int
    marker: Marker
    patterns: tuple[HostPattern, ...]
    key: paramiko.PKey

    def matches(self, name: str) -> bool:
        """ssh(1)'s match_hostname: a negated pattern that matches excludes the line."""
        hit = False
        for p in self.patterns:
            if p.matches(name):
                if p.negated:
                    return False
                hit = True
        return hit

    @property
    def ident(self) -> tuple[str, bytes]:
        return _ident(self.key)


@dataclass(frozen=True)
class LineProblem:
    """A line that was skipped, and why (shown in the log and by `doctor`)."""

    path: str
    lineno: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path} line {self.lineno}: {self.reason}; line ignored"


def _ident(key: paramiko.PKey) -> tuple[str, bytes]:
    # The plain public key, also for a key that carries a certificate (asbytes() is the bare key).
    return key.get_name(), key.asbytes()


def _describe(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


def _algorithms(key_type: str) -> list[str]:
    # A known `ssh-rsa` key is negotiated as one of the SHA-2 signature algorithms (paramiko never offers SHA-1).
    return ["rsa-sha2-512", "rsa-sha2-256"] if key_type == "ssh-rsa" else [key_type]


@dataclass(frozen=True)
class KnownHosts:
    """A parsed known_hosts file. Build it with `parse` (or `load_known_hosts`, which caches)."""

    path: str
    keys: tuple[KnownHostsLine, ...]
    revoked: tuple[KnownHostsLine, ...]
    authorities: tuple[KnownHostsLine, ...]
    problems: tuple[LineProblem, ...]

    @classmethod
    def parse(cls, text: str, path: str) -> KnownHosts:
        """Read every line; a line that cannot be read becomes a `LineProblem`, never an exception."""
        keys: list[KnownHostsLine] = []
        revoked: list[KnownHostsLine] = []
        cas: list[KnownHostsLine] = []
        problems: list[LineProblem] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                entry = _parse_line(line, lineno)
            except ValueError as e:
                problems.append(LineProblem(path, lineno, str(e)))
                continue
            {"": keys, "@revoked": revoked, "@cert-authority": cas}[entry.marker].append(entry)
        return cls(path, tuple(keys), tuple(revoked), tuple(cas), tuple(problems))

    def keys_for(self, name: str) -> list[KnownHostsLine]:
        return [e for e in self.keys if e.matches(name)]

    def authorities_for(self, name: str) -> list[KnownHostsLine]:
        return [e for e in self.authorities if e.matches(name)]

    def revoked_line(self, ident: tuple[str, bytes]) -> KnownHostsLine | None:
        return next((e for e in self.revoked if e.ident == ident), None)

    def preferred_algorithms(self, name: str) -> list[str]:
        """Host-key algorithms to offer first for `name`, as ssh(1) orders them: certificate algorithms
        when a CA is listed for it, then the types of its known keys. Without this the server picks
        its own favourite type, which may not be the one known_hosts lists."""
        known = [a for e in self.keys_for(name) for a in _algorithms(e.key.get_name())]
        head: list[str] = []
        if self.authorities_for(name):
            for a in [*known, "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                      "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"]:  # fmt: skip
                if a + CERT_SUFFIX not in head:
                    head.append(a + CERT_SUFFIX)
        for a in known:
            if a not in head:
                head.append(a)
        return head

    def verify(self, address: str, port: int, key: paramiko.PKey, *, now: float | None = None) -> str:
        """Accept `key` (presented by `address:port`) or raise why not; returns how it was verified.

        Raises:
            HostKeyRevoked: the key, or the CA that signed its certificate, is on a `@revoked` line.
            HostKeyChanged: known_hosts lists other keys for this host.
            HostKeyUnknown: nothing vouches for the key (also: an invalid certificate from a listed CA).
        """
        name = lookup_name(address, port)
        where = f"{address}:{port}"
        ident = _ident(key)
        rev = self.revoked_line(ident)
        if rev is not None:
            raise HostKeyRevoked(
                f"host key of {where} ({_describe(key)}) is marked @revoked in {self.path} line {rev.lineno}; "
                "refusing to connect"
            )
        cert = certificate_of(key, where)
        cas = self.authorities_for(name)
        if cert is not None:
            ca_ident = _crypto_ident(cert.signature_key())
            rev = self.revoked_line(ca_ident)
            if rev is not None:
                raise HostKeyRevoked(
                    f"host certificate of {where} is signed by a CA key marked @revoked in {self.path} "
                    f"line {rev.lineno}; refusing to connect"
                )
            ca = next((e for e in cas if e.ident == ca_ident), None)
            if ca is not None:
                problem = check_certificate(cert, address, time.time() if now is None else now)
                if problem:
                    raise HostKeyUnknown(
                        f"host certificate of {where} is not valid: {problem} (CA of {self.path} line "
                        f"{ca.lineno}); refusing to connect"
                    )
                return f"certificate signed by the CA of {self.path} line {ca.lineno}"
            # Signed by no CA listed for this name: judge the plain key, as ssh(1) does.
        known = self.keys_for(name)
        for e in known:
            if e.ident == ident:
                return f"{self.path} line {e.lineno}"
        same_type = [e for e in known if e.key.get_name() == ident[0]]
        if same_type:
            raise HostKeyChanged(
                f"host key of {where} has CHANGED (got {_describe(key)}, {self.path} line {same_type[0].lineno} "
                f"has {same_type[0].key.fingerprint}); refusing to connect"
            )
        if known:
            types = ", ".join(sorted({e.key.get_name() for e in known}))
            raise HostKeyChanged(
                f"host key of {where} has CHANGED or is of another type: it presented {_describe(key)}, but "
                f"{self.path} lists only {types} for it (line {known[0].lineno}); refusing to connect"
            )
        if cas:
            lines = ", ".join(str(c.lineno) for c in cas)
            got = "a certificate from a CA not listed for it" if cert is not None else f"a plain {ident[0]} key"
            raise HostKeyUnknown(
                f"host key of {where} is not in {self.path}: the file trusts {name} only through "
                f"@cert-authority (line {lines}), but the host presented {got} ({key.fingerprint}); give the "
                "host a certificate signed by that CA (sshd HostCertificate), or verify its key and add it"
            )
        raise HostKeyUnknown(
            f"host key of {where} ({_describe(key)}) is not in {self.path}; verify it and add it "
            "(never added automatically)"
        )


def _parse_line(line: str, lineno: int) -> KnownHostsLine:
    fields = line.split()
    marker: Marker = ""
    if fields[0].startswith("@"):
        if fields[0] not in _MARKERS:
            raise ValueError(f"unknown marker {fields[0][:40]!r} (known: @revoked, @cert-authority)")
        marker = _MARKERS[fields[0]]
        fields = fields[1:]
    if len(fields) < 3:
        raise ValueError("too few fields (expected: host names, key type, base64 key)")
    hosts, key_type, b64 = fields[0], fields[1], fields[2]
    patterns = tuple(HostPattern.parse(item) for item in hosts.split(",") if item)
    if not patterns:
        raise ValueError("no host names")
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(
            f"the third field is not a base64 key (expected: host names, key type, base64 key; got type {key_type[:40]!r})"
        ) from e
    if key_type.endswith(CERT_SUFFIX):
        raise ValueError(f"a certificate ({key_type}) where a key is expected")
    try:
        key = paramiko.PKey.from_type_string(key_type, blob)
    except UnknownKeyType as e:
        raise ValueError(f"key type {key_type[:60]!r} is not supported by the bot's SSH library (paramiko)") from e
    except Exception as e:  # paramiko raises several types on bad key data; the line is simply unusable
        raise ValueError(f"the {key_type} key data is invalid ({type(e).__name__})") from e
    if key.get_name() != key_type:
        raise ValueError(f"the key data is a {key.get_name()} key, not {key_type}")
    return KnownHostsLine(lineno, marker, patterns, key)


def _crypto_ident(public_key: SSHCertPublicKeyTypes) -> tuple[str, bytes]:
    # cryptography -> the same (type, wire bytes) pair paramiko's keys give, so the two compare.
    raw = public_key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    key_type, b64 = raw.split()[:2]
    return key_type.decode(), base64.b64decode(b64)


def certificate_of(key: paramiko.PKey, where: str) -> SSHCertificate | None:
    """The OpenSSH certificate `key` was presented with, or None for a plain key.

    Raises HostKeyUnknown when the server sent a certificate that cannot be read."""
    blob = key.public_blob
    if blob is None or not blob.key_type.endswith(CERT_SUFFIX):
        return None
    text = f"{blob.key_type} {base64.b64encode(blob.key_blob).decode()}".encode()
    try:
        ident = load_ssh_public_identity(text)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise HostKeyUnknown(f"{where} presented a host certificate that cannot be read: {e}") from e
    return ident if isinstance(ident, SSHCertificate) else None


def _when(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_certificate(cert: SSHCertificate, address: str, now: float) -> str | None:
    """Why `cert` is not a valid host certificate for `address` at `now`, or None when it is.

    The caller has already matched its signing key to a trusted CA; this checks the rest."""
    if cert.type is not SSHCertificateType.HOST:
        return "it is a user certificate, not a host certificate"
    try:
        cert.verify_cert_signature()
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return "its CA signature does not verify"
    if now < cert.valid_after:
        return f"not valid before {_when(cert.valid_after)}"
    if cert.valid_before != _FOREVER and now >= cert.valid_before:
        return f"expired at {_when(cert.valid_before)}"
    principals = [p.decode("utf-8", "replace") for p in cert.valid_principals]
    if principals and not any(_pattern_regex(p).match(address.lower()) for p in principals):
        shown = ", ".join(principals[:5]) + (" ..." if len(principals) > 5 else "")
        return f"it is for {shown}, not {address}"
    if cert.critical_options:
        names = ", ".join(sorted(k.decode("utf-8", "replace") for k in cert.critical_options))
        return f"it has critical options ({names}), which a host certificate must not have"
    return None


class KnownHostsCache:
    """Parsed known_hosts files, re-read when a file changes; problems are logged once per version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path_locks: dict[str, threading.Lock] = {}
        self._files: dict[str, tuple[tuple[int, int, int], KnownHosts]] = {}

    def load(self, path: Path) -> KnownHosts:
        """Raises OSError (FileNotFoundError, PermissionError...) when the file cannot be read."""
        key = str(path)
        with self._lock:
            path_lock = self._path_locks.setdefault(key, threading.Lock())
        # One lock per file: hosts sharing a file wait for one parse; other files are not held up.
        with path_lock:
            st = path.stat()
            version = (st.st_ino, st.st_mtime_ns, st.st_size)
            with self._lock:
                cached = self._files.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            parsed = KnownHosts.parse(path.read_text(encoding="utf-8", errors="replace"), key)
            for problem in parsed.problems:
                log.warning("known_hosts: %s", problem)
            with self._lock:
                self._files[key] = (version, parsed)
            return parsed


_CACHE = KnownHostsCache()


def load_known_hosts(path: Path) -> KnownHosts:
    """The parsed file at `path`, from the process-wide cache (see `KnownHostsCache.load`)."""
    return _CACHE.load(path)


def problems_of(paths: Sequence[Path]) -> list[LineProblem]:
    """The skipped lines of these files (unreadable files are left to the connect to report)."""
    out: list[LineProblem] = []
    for path in dict.fromkeys(paths):
        try:
            out.extend(load_known_hosts(path).problems)
        except OSError:
            continue
    return out
