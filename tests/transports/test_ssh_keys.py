"""The bot's private key: refused with a reason when ssh(1) would refuse it; real key files from ssh-keygen."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import paramiko
import pytest

from bot.errors import ErrorKind, TransportConfigError
from bot.inventory import Host
from bot.transports.ssh import ConnectionPool, load_private_key

# Real keys need ssh-keygen: skipped on a machine without it, never under CI (where it must run).
pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None and os.environ.get("CI") != "true",
    reason="ssh-keygen (openssh-client) not installed",
)


def keygen(path: Path, *extra: str, passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, *extra, "-f", str(path)], check=True)
    return path


def refused(path: Path) -> str:
    with pytest.raises(TransportConfigError) as e:
        load_private_key(path)
    assert e.value.kind is ErrorKind.CONFIG
    return str(e.value)


def test_a_private_key_readable_only_by_its_user_loads(tmp_path: Path) -> None:
    key = keygen(tmp_path / "k")
    assert (key.stat().st_mode & 0o777) == 0o600
    assert isinstance(load_private_key(key), paramiko.PKey)
    key.chmod(0o400)
    assert isinstance(load_private_key(key), paramiko.PKey)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_a_key_group_or_others_can_access_is_refused_with_its_mode(tmp_path: Path, mode: int) -> None:
    key = keygen(tmp_path / "k")
    key.chmod(mode)
    msg = refused(key)
    assert "UNPROTECTED PRIVATE KEY FILE" in msg
    assert f"{mode:04o}" in msg and str(key) in msg and "chmod 600" in msg


def test_encrypted_keys_are_refused_with_the_reason(tmp_path: Path) -> None:
    openssh = keygen(tmp_path / "enc", passphrase="correct horse")
    msg = refused(openssh)
    assert "encrypted (passphrase-protected)" in msg and "no passphrase" in msg and "SSH agent" in msg
    pem = tmp_path / "enc_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "pass-phrase", "-f", str(pem)], check=True
    )
    assert "encrypted" in refused(pem)


def test_missing_unreadable_and_not_a_key(tmp_path: Path) -> None:
    assert "not found" in refused(tmp_path / "nope")
    junk = tmp_path / "junk"
    junk.write_text("not a key\n")
    junk.chmod(0o600)
    assert "cannot load SSH key" in refused(junk)
    assert "not a regular file" in refused(tmp_path)


def _host(key: Path, known: Path) -> Host:
    return Host(name="h", address="127.0.0.1", port=1, key_file=str(key), known_hosts=str(known))


def test_pool_checks_the_key_again_on_every_connect(tmp_path: Path) -> None:
    """A key loaded once and later made readable to others is refused on the next connect."""
    key = keygen(tmp_path / "k")
    known = tmp_path / "known_hosts"
    known.write_text("")
    pool = ConnectionPool()
    host = _host(key, known)
    first = pool._pkey(host)
    assert pool._pkey(host) is first  # cached while the file is unchanged
    key.chmod(0o644)
    with pytest.raises(TransportConfigError, match="0644"):
        pool._pkey(host)
    key.chmod(0o600)
    assert pool._pkey(host).asbytes() == first.asbytes()


def test_connect_reports_key_problems_before_touching_the_network(tmp_path: Path) -> None:
    """Port 1 on loopback is closed: had the pool connected, the error would be 'refused'."""
    key = keygen(tmp_path / "k", passphrase="pass-phrase")
    known = tmp_path / "known_hosts"
    known.write_text("")
    with pytest.raises(TransportConfigError, match="encrypted"):
        ConnectionPool().get(_host(key, known))
    with pytest.raises(TransportConfigError, match=r"known_hosts file .* not found"):
        ConnectionPool().get(_host(key, tmp_path / "missing"))
