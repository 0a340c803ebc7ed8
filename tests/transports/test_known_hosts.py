"""known_hosts reading and host-key verification, on real files made with ssh-keygen."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import paramiko
import pytest

from bot.errors import ErrorKind, HostKeyChanged, HostKeyRevoked, HostKeyUnknown, TransportError
from bot.transports.known_hosts import CERT_SUFFIX, KnownHosts, KnownHostsCache, lookup_name

# Real keys need ssh-keygen: skipped on a machine without it, never under CI (where it must run).
pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None and os.environ.get("CI") != "true",
    reason="ssh-keygen (openssh-client) not installed",
)


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
    return path


def pub(path: Path) -> str:
    """`type base64` of a key's .pub file (the part a known_hosts line carries)."""
    return " ".join(Path(f"{path}.pub").read_text().split()[:2])


def server_key(path: Path) -> paramiko.PKey:
    """The key a server presents: paramiko loads `<path>-cert.pub` with it when that file exists."""
    return paramiko.PKey.from_path(path)


def sign(
    ca: Path, key: Path, principals: str | None = "app1.example.com", validity: str = "-5m:+1h", user=False
) -> None:
    args = ["ssh-keygen", "-q", "-s", str(ca), "-I", "test-cert", "-V", validity]
    if not user:
        args.append("-h")
    if principals:
        args += ["-n", principals]
    subprocess.run([*args, f"{key}.pub"], check=True)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("keys")
    return {
        "a": keygen(d / "a"),
        "b": keygen(d / "b"),
        "rsa": keygen(d / "rsa", "rsa"),
        "ecdsa": keygen(d / "ecdsa", "ecdsa"),
        "ca": keygen(d / "ca"),
        "ca2": keygen(d / "ca2"),
    }


def known(tmp_path: Path, text: str) -> KnownHosts:
    f = tmp_path / "known_hosts"
    f.write_text(text)
    return KnownHosts.parse(f.read_text(), str(f))


def test_lookup_name_follows_ssh() -> None:
    assert lookup_name("App1.Example.com", 22) == "app1.example.com"
    assert lookup_name("127.0.0.2", 2222) == "[127.0.0.2]:2222"


def test_plain_bracketed_hashed_and_pattern_entries(tmp_path: Path, keys: dict[str, Path]) -> None:
    hashed = tmp_path / "hashed"
    hashed.write_text(f"[10.0.0.9]:2200 {pub(keys['b'])}\n")
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(hashed)], check=True, capture_output=True)
    hashed_line = hashed.read_text().strip()
    assert hashed_line.startswith("|1|")
    kh = known(
        tmp_path,
        "# a comment\n\n"
        f"app1.example.com,10.0.0.1 {pub(keys['a'])} a comment after the key\n"
        f"[10.0.0.2]:2222 {pub(keys['a'])}\n"
        f"{hashed_line}\n"
        f"*.corp.example.com,!bad.corp.example.com {pub(keys['rsa'])}\n"
        f"  \tdb?.example.com {pub(keys['ecdsa'])}\n",
    )
    assert kh.problems == ()
    a, b, rsa, ecdsa = (server_key(keys[k]) for k in ("a", "b", "rsa", "ecdsa"))
    assert kh.verify("app1.example.com", 22, a) == f"{kh.path} line 3"
    assert kh.verify("10.0.0.1", 22, a)
    assert kh.verify("APP1.example.com", 22, a)  # names are compared lower-cased, as ssh does
    assert kh.verify("10.0.0.2", 2222, a) == f"{kh.path} line 4"
    with pytest.raises(HostKeyUnknown, match="not in"):  # the [host]:port entry is for port 2222 only
        kh.verify("10.0.0.2", 22, a)
    assert kh.verify("10.0.0.9", 2200, b) == f"{kh.path} line 5"  # hashed entry
    with pytest.raises(HostKeyUnknown):
        kh.verify("10.0.0.9", 22, b)
    assert kh.verify("x.corp.example.com", 22, rsa)
    with pytest.raises(HostKeyUnknown):  # excluded by the negated pattern
        kh.verify("bad.corp.example.com", 22, rsa)
    assert kh.verify("db1.example.com", 22, ecdsa)
    with pytest.raises(HostKeyUnknown):
        kh.verify("db12.example.com", 22, ecdsa)


def test_changed_and_other_type(tmp_path: Path, keys: dict[str, Path]) -> None:
    kh = known(tmp_path, f"app1 {pub(keys['a'])}\n")
    with pytest.raises(HostKeyChanged, match="CHANGED") as e:
        kh.verify("app1", 22, server_key(keys["b"]))
    assert server_key(keys["b"]).fingerprint in str(e.value) and "line 1" in str(e.value)
    with pytest.raises(HostKeyChanged, match="lists only ssh-ed25519"):
        kh.verify("app1", 22, server_key(keys["rsa"]))


def test_revoked_key_is_refused_even_when_another_line_lists_it(tmp_path: Path, keys: dict[str, Path]) -> None:
    kh = known(
        tmp_path,
        f"app1,app2 {pub(keys['a'])}\n@revoked otherhost {pub(keys['a'])}\napp3 {pub(keys['b'])}\n",
    )
    for host in ("app1", "app2"):
        with pytest.raises(HostKeyRevoked, match="@revoked") as e:
            kh.verify(host, 22, server_key(keys["a"]))
        assert e.value.kind is ErrorKind.HOST_KEY_REVOKED and "line 2" in str(e.value)
    assert kh.verify("app3", 22, server_key(keys["b"]))  # other keys are unaffected


def test_bad_lines_are_reported_and_skipped(tmp_path: Path, keys: dict[str, Path]) -> None:
    a = pub(keys["a"])
    key_type, b64 = a.split()
    kh = known(
        tmp_path,
        f"app1 {a}\n"
        "this line is garbage\n"
        f"app2 {key_type} {b64[:-7]}!!!\n"  # not base64
        f"app3 {key_type}\n"  # too few fields
        f"@trusted app4 {a}\n"  # unknown marker
        f"app5 ssh-foo {b64}\n"  # key type paramiko does not know
        f"app6 ssh-rsa {b64}\n"  # an ed25519 key labelled rsa
        f"|1|bad|hash {a}\n"  # malformed hashed name
        f"app7 {key_type} AAAA{b64[10:30]}\n"  # truncated key data
        f"app8 {pub(keys['b'])}\n",
    )
    lines = {p.lineno: p.reason for p in kh.problems}
    assert sorted(lines) == [2, 3, 4, 5, 6, 7, 8, 9], lines
    assert "not a base64 key" in lines[3]
    assert "too few fields" in lines[4]
    assert "unknown marker '@trusted'" in lines[5]
    assert "not supported" in lines[6]
    assert "invalid" in lines[7] or "not ssh-rsa" in lines[7]
    assert "hashed host name" in lines[8]
    assert str(kh.problems[0]).endswith("line ignored") and kh.path in str(kh.problems[0])
    assert kh.verify("app1", 22, server_key(keys["a"]))
    assert kh.verify("app8", 22, server_key(keys["b"]))


def test_cert_authority_lines_verify_host_certificates(tmp_path: Path, keys: dict[str, Path]) -> None:
    host = keygen(tmp_path / "host")
    sign(keys["ca"], host, principals="app1.example.com,*.web.example.com")
    presented = server_key(host)
    assert presented.public_blob is not None and presented.public_blob.key_type.endswith(CERT_SUFFIX)
    kh = known(tmp_path, f"@cert-authority *.example.com {pub(keys['ca'])}\n")
    assert "certificate signed by the CA" in kh.verify("app1.example.com", 22, presented)
    assert kh.verify("w1.web.example.com", 22, presented)  # wildcard principal, as ssh accepts
    with pytest.raises(HostKeyUnknown, match=r"not app2\.example\.com"):
        kh.verify("app2.example.com", 22, presented)
    # The CA line's host pattern decides which hosts it vouches for: on port 2222 the name is [h]:2222.
    with pytest.raises(HostKeyUnknown, match="not in"):
        kh.verify("app1.example.com", 2222, presented)
    kh_port = known(tmp_path, f"@cert-authority [app1.example.com]:2222 {pub(keys['ca'])}\n")
    assert kh_port.verify("app1.example.com", 2222, presented)


def test_certificate_problems_are_named(tmp_path: Path, keys: dict[str, Path]) -> None:
    kh = known(tmp_path, f"@cert-authority * {pub(keys['ca'])}\n")
    cases = {
        "expired": ("-2h:-1h", "app1", False, "expired at"),
        "future": ("+1h:+2h", "app1", False, "not valid before"),
        "user": ("-5m:+1h", "app1", True, "user certificate"),
    }
    for name, (validity, principals, user, reason) in cases.items():
        k = keygen(tmp_path / name)
        sign(keys["ca"], k, principals=principals, validity=validity, user=user)
        with pytest.raises(HostKeyUnknown, match=reason) as e:
            kh.verify("app1", 22, server_key(k))
        assert "host certificate of app1:22 is not valid" in str(e.value)
    anyname = keygen(tmp_path / "anyname")
    sign(keys["ca"], anyname, principals=None)  # no principals: valid for any host, as ssh accepts
    assert kh.verify("whatever", 22, server_key(anyname))


def test_certificate_from_an_unlisted_ca_falls_back_to_the_plain_key(tmp_path: Path, keys: dict[str, Path]) -> None:
    host = keygen(tmp_path / "host")
    sign(keys["ca2"], host, principals="app1")
    presented = server_key(host)
    kh = known(tmp_path, f"@cert-authority * {pub(keys['ca'])}\napp1 {pub(host)}\n")
    assert kh.verify("app1", 22, presented) == f"{kh.path} line 2"
    only_ca = known(tmp_path, f"@cert-authority * {pub(keys['ca'])}\n")
    with pytest.raises(HostKeyUnknown, match="only through @cert-authority") as e:
        only_ca.verify("app1", 22, presented)
    assert "a certificate from a CA not listed" in str(e.value)


def test_ca_only_entry_and_a_plain_key_is_a_clear_error(tmp_path: Path, keys: dict[str, Path]) -> None:
    kh = known(tmp_path, f"@cert-authority [127.0.0.5]:2222 {pub(keys['ca'])}\n")
    with pytest.raises(HostKeyUnknown) as e:
        kh.verify("127.0.0.5", 2222, server_key(keys["a"]))
    msg = str(e.value)
    assert "only through @cert-authority (line 1)" in msg and "plain ssh-ed25519 key" in msg
    assert "HostCertificate" in msg
    assert isinstance(e.value, TransportError) and e.value.kind is ErrorKind.HOST_KEY_UNKNOWN


def test_revoked_ca_and_revoked_certified_key(tmp_path: Path, keys: dict[str, Path]) -> None:
    host = keygen(tmp_path / "host")
    sign(keys["ca"], host, principals="app1")
    kh = known(tmp_path, f"@cert-authority * {pub(keys['ca'])}\n@revoked * {pub(keys['ca'])}\n")
    with pytest.raises(HostKeyRevoked, match="CA key marked @revoked"):
        kh.verify("app1", 22, server_key(host))
    kh2 = known(tmp_path, f"@cert-authority * {pub(keys['ca'])}\n@revoked * {pub(host)}\n")
    with pytest.raises(HostKeyRevoked, match="line 2"):
        kh2.verify("app1", 22, server_key(host))


def test_preferred_algorithms(tmp_path: Path, keys: dict[str, Path]) -> None:
    kh = known(
        tmp_path, f"app1 {pub(keys['rsa'])}\napp1 {pub(keys['ecdsa'])}\n@cert-authority ca.* {pub(keys['ca'])}\n"
    )
    assert kh.preferred_algorithms("app1") == ["rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256"]
    assert kh.preferred_algorithms("unknown") == []
    ca_first = kh.preferred_algorithms("ca.example.com")
    assert ca_first[0] == "ssh-ed25519" + CERT_SUFFIX and all(a.endswith(CERT_SUFFIX) for a in ca_first)


def test_cache_reads_once_per_version_and_logs_problems_once(
    tmp_path: Path, keys: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    f = tmp_path / "known_hosts"
    f.write_text(f"app1 {pub(keys['a'])}\nbroken\n")
    cache = KnownHostsCache()
    with caplog.at_level(logging.WARNING, logger="bot.transports.known_hosts"):
        first = cache.load(f)
        assert cache.load(f) is first
    warnings = [r.getMessage() for r in caplog.records if "known_hosts" in r.getMessage()]
    assert len(warnings) == 1 and "line 2" in warnings[0], warnings
    time.sleep(0.01)
    f.write_text(f"app1 {pub(keys['b'])}\n")
    second = cache.load(f)
    assert second is not first and second.problems == ()
    assert second.verify("app1", 22, server_key(keys["b"]))
