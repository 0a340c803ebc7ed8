"""Real OpenSSH sshd instances on 127.0.0.N, each in front of a simulated Campaign host.

Used by the SSH integration tests and by `bench/bench_ssh.py`. As root, sshd runs as root and the
bot logs in as an unprivileged test user (`cbtest`, shell /bin/sh so no rc file slows commands);
otherwise sshd runs as the current user, who is also the login user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
TEST_USER = "cbtest"


def sshd_available() -> bool:
    return os.path.exists(SSHD) and shutil.which("ssh-keygen") is not None


def require_sshd() -> None:
    """Skip without sshd on a developer machine; fail under CI, where these tests must run."""
    import pytest

    if not sshd_available():
        if os.environ.get("CAMPAIGN_BOT_REQUIRE_SSHD") == "1" or os.environ.get("CI") == "true":
            pytest.fail("OpenSSH sshd is required here (CI) but /usr/sbin/sshd is missing")
        pytest.skip("OpenSSH sshd not installed (apt-get install openssh-server)")


def login_user() -> str:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", TEST_USER], check=True)
        subprocess.run(["usermod", "-p", "*", TEST_USER], check=True)  # not locked: UsePAM no refuses '!'
    return TEST_USER


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def chown_tree(path: Path, user: str) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for n in (*dirs, *files):
            os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
    os.lchown(path, pw.pw_uid, pw.pw_gid)


@dataclass
class SshdHost:
    name: str
    address: str
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    host_pub: str = ""

    def known_hosts_line(self) -> str:
        return f"[{self.address}]:{self.port} {self.host_pub}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class SilentServer:
    """Accepts TCP connections and never says a word (an SSH port that hangs)."""

    address: str
    port: int = 0
    sock: socket.socket | None = None
    conns: list[socket.socket] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SilentServer:
        self.sock = socket.socket()
        self.sock.bind((self.address, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True).start()
        return self

    def _loop(self) -> None:
        assert self.sock is not None
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    def stop(self) -> None:
        self.stopped.set()
        for c in self.conns:
            c.close()
        if self.sock:
            self.sock.close()


class SshdLab:
    """A folder with client keys, known_hosts and any number of sshd hosts."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cb-sshd-", dir="/tmp"))
        self.root.chmod(0o755)
        self.user = login_user()
        self.client_key = self.root / "id_ed25519"
        keygen(self.client_key)
        self.other_key = self.root / "other_ed25519"
        keygen(self.other_key)
        self.known_hosts = self.root / "known_hosts"
        self.known_hosts.write_text("")
        self.hosts: list[SshdHost] = []
        self.silent: list[SilentServer] = []
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def start_host(
        self,
        name: str,
        address: str,
        nl_home: Path,
        *,
        authorize: bool = True,
        record_key: bool = True,
        wrong_key: bool = False,
        cert_principals: tuple[str, ...] | None = None,
        cert_validity: str = "-5m:+1h",
    ) -> SshdHost:
        """Start sshd for `name`; with `cert_principals`, its host key also gets a certificate signed by
        the lab's CA (`certificate_authority()`), valid for those principals and `cert_validity`."""
        d = self.root / f"sshd-{name}"
        d.mkdir()
        keygen(d / "host_ed25519")
        cert_line = ""
        if cert_principals is not None:
            self.sign_host_key(d / "host_ed25519.pub", cert_principals, cert_validity)
            cert_line = f"HostCertificate {d}/host_ed25519-cert.pub\n"
        auth = d / "authorized_keys"
        src = self.client_key if authorize else self.other_key
        auth.write_text(Path(f"{src}.pub").read_text())
        auth.chmod(0o644)
        port = free_port(address)
        path_env = f"{nl_home}/sim/bin:/usr/local/bin:/usr/bin:/bin"
        (d / "sshd_config").write_text(
            f"ListenAddress {address}\nPort {port}\nHostKey {d}/host_ed25519\n{cert_line}PidFile {d}/sshd.pid\n"
            f"AuthorizedKeysFile {auth}\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nMaxStartups 100\n"
            f"SetEnv PATH={path_env}\nLogLevel ERROR\n"
        )
        log = open(d / "sshd.log", "wb")  # noqa: SIM115 - kept open for the daemon's lifetime
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=log, stderr=log)
        host = SshdHost(name, address, port, d, proc)
        pub_src = (self.root / "wrong_host_key") if wrong_key else (d / "host_ed25519")
        if wrong_key and not (self.root / "wrong_host_key").exists():
            keygen(self.root / "wrong_host_key")
        host.host_pub = " ".join(Path(f"{pub_src}.pub").read_text().split()[:2])
        self._wait_banner(address, port, proc)
        if record_key:
            with self.known_hosts.open("a") as f:
                f.write(host.known_hosts_line() + "\n")
        self.hosts.append(host)
        return host

    def certificate_authority(self) -> Path:
        """The lab's host CA (a private key; its `.pub` goes on a `@cert-authority` line), made on first use."""
        ca = self.root / "host_ca"
        if not ca.exists():
            keygen(ca)
        return ca

    def sign_host_key(self, pub: Path, principals: tuple[str, ...], validity: str = "-5m:+1h") -> Path:
        """Sign a host public key with the lab's CA (`ssh-keygen -s -h`); returns the `-cert.pub` path."""
        args = ["ssh-keygen", "-q", "-s", str(self.certificate_authority()), "-h", "-I", pub.stem, "-V", validity]
        if principals:
            args += ["-n", ",".join(principals)]
        subprocess.run([*args, str(pub)], check=True)
        return pub.with_name(pub.name.removesuffix(".pub") + "-cert.pub")

    @staticmethod
    def _wait_banner(address: str, port: int, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"sshd on {address}:{port} exited with {proc.returncode}")
            try:
                with socket.create_connection((address, port), timeout=0.5) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"sshd on {address}:{port} did not answer")

    def silent_server(self, address: str) -> SilentServer:
        s = SilentServer(address).start()
        self.silent.append(s)
        return s

    def close(self) -> None:
        for h in self.hosts:
            h.stop()
        for s in self.silent:
            s.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def write_inventory(
    path: Path,
    lab: SshdLab,
    hosts: list[dict[str, object]],
    env: str = "it",
    instances: tuple[str, ...] = ("prod",),
    connect_timeout_s: float = 2,
    command_timeout_s: float = 3,
) -> Path:
    """An inventory YAML for the lab's hosts (the same file the CLI reads with --inventory)."""
    import yaml

    data = {
        "defaults": {
            "user": lab.user,
            "key_file": str(lab.client_key),
            "known_hosts": str(lab.known_hosts),
            "connect_timeout_s": connect_timeout_s,
            "command_timeout_s": command_timeout_s,
        },
        "environments": {env: {"instances": list(instances), "hosts": hosts}},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
