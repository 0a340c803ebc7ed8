"""SSH edges against real OpenSSH sshd on loopback: known_hosts markers and bad lines, refused key files,
a connection cut mid-command, and fan-out over many silent hosts. This module starts its own sshd hosts
(it does not use the shared `fleet`), on 127.0.0.4x and 127.0.0.6x."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from bot.doctor import render_rows, run_doctor
from bot.errors import ConnectionLost, ErrorKind
from bot.inventory import Environment, load_inventory
from bot.kb import KnowledgeBase
from bot.models import Finding
from bot.runner import Runner
from bot.simulator.fleet import HostScenario, build_host, default_scenarios
from bot.transports.base import Transport
from bot.transports.ssh import ConnectionPool, SSHTransport
from tests.harness.sshd import SshdHost, SshdLab, chown_tree, require_sshd, write_inventory

GARBAGE = "this-is-not a known_hosts line"


@dataclass
class EdgeLab:
    lab: SshdLab
    inventory: Path
    hosts: dict[str, SshdHost]
    known: dict[str, Path]


def _scenario(base: HostScenario, name: str, mode: str = "normal") -> HostScenario:
    sc = HostScenario(**{**base.__dict__, "name": name})
    sc.mode = mode
    return sc


def _pub(path: Path) -> str:
    return " ".join(Path(f"{path}.pub").read_text().split()[:2])


@pytest.fixture(scope="module")
def edges() -> Iterator[EdgeLab]:
    require_sshd()
    lab = SshdLab()
    app1 = default_scenarios()[0]
    plan = [
        # name, address, simulated mode, sshd options
        ("revoked", "127.0.0.41", "normal", {}),
        ("caonly", "127.0.0.42", "normal", {}),
        ("certified", "127.0.0.43", "normal", {"cert_principals": ("127.0.0.43",)}),
        ("garbled", "127.0.0.44", "normal", {}),
        ("enckey", "127.0.0.45", "normal", {}),
        ("openkey", "127.0.0.46", "normal", {}),
        ("cut", "127.0.0.47", "hang", {}),
        ("wrongcert", "127.0.0.48", "normal", {"cert_principals": ("app9.example.com",)}),
    ]
    hosts: dict[str, SshdHost] = {}
    inv_hosts: list[dict[str, object]] = []
    known: dict[str, Path] = {}
    try:
        ca = lab.certificate_authority()
        for name, addr, mode, opts in plan:
            home = build_host(lab.root / "hosts", _scenario(app1, name, mode), ("prod",))
            h = lab.start_host(name, addr, home, record_key=False, **opts)  # type: ignore[arg-type]
            hosts[name] = h
            inv_hosts.append({"name": name, "address": addr, "port": h.port, "nl_home": str(home)})
        chown_tree(lab.root / "hosts", lab.user)
        ca_line = f"@cert-authority {{}} {_pub(ca)}\n"
        files = {
            # The host's own key on a normal line AND on a @revoked line: refused.
            "revoked": hosts["revoked"].known_hosts_line() + f"\n@revoked * {hosts['revoked'].host_pub}\n",
            # Only a CA line, and the host has no certificate: a clear error.
            "caonly": ca_line.format(f"[{hosts['caonly'].address}]:{hosts['caonly'].port}"),
            # Only a CA line, and the host presents a certificate from that CA: verified.
            "certified": ca_line.format("[127.0.0.4?]:*"),
            # A certificate from the listed CA, but for another host name: refused, with why.
            "wrongcert": ca_line.format("*"),
            # A garbled line, an unknown marker and a CA line before a valid line: the valid line works.
            "garbled": f"{GARBAGE}\n@trusted * {hosts['garbled'].host_pub}\n"
            + ca_line.format("*.example.com")
            + hosts["garbled"].known_hosts_line()
            + "\n",
        }
        for name in ("enckey", "openkey", "cut"):
            files[name] = hosts[name].known_hosts_line() + "\n"
        for name, text in files.items():
            known[name] = lab.root / f"known_hosts_{name}"
            known[name].write_text(text)
        for h in inv_hosts:
            h["known_hosts"] = str(known[str(h["name"])])
        encrypted = lab.root / "encrypted_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "a pass phrase", "-f", str(encrypted)], check=True)
        readable = lab.root / "readable_ed25519"
        shutil.copyfile(lab.client_key, readable)
        readable.chmod(0o644)
        by_name = {str(h["name"]): h for h in inv_hosts}
        by_name["enckey"]["key_file"] = str(encrypted)
        by_name["openkey"]["key_file"] = str(readable)
        inv = write_inventory(lab.root / "inventory.yaml", lab, inv_hosts, connect_timeout_s=3, command_timeout_s=8)
        yield EdgeLab(lab, inv, hosts, known)
    finally:
        lab.close()


def _runner(pool: ConnectionPool, **kw: object) -> Runner:
    def for_host(h):  # type: ignore[no-untyped-def]
        t: Transport = SSHTransport(h, pool)
        return t

    return Runner(for_host, **kw)  # type: ignore[arg-type]


def _env(edges: EdgeLab) -> Environment:
    return load_inventory(edges.inventory).environment("it")


def _connect_errors(findings: list[Finding], host: str) -> list[Finding]:
    return [f for f in findings if f.host == host and f.status == "error"]


def test_known_hosts_and_key_file_edges_are_clear_findings(edges: EdgeLab, kb: KnowledgeBase) -> None:
    env = _env(edges)
    names = ["revoked", "caonly", "certified", "wrongcert", "garbled", "enckey", "openkey"]
    pool = ConnectionPool()
    try:
        res = _runner(pool).run(env, [kb.get("mta")], hosts=[env.host(n) for n in names])
    finally:
        pool.close()
    errors = {n: _connect_errors(res.findings, n) for n in names}
    for n in ("revoked", "caonly", "wrongcert", "enckey", "openkey"):
        assert len(errors[n]) == 1, (n, [f.summary for f in res.findings if f.host == n])
        assert "unexpected error" not in errors[n][0].summary
    revoked = errors["revoked"][0]
    assert revoked.error_kind is ErrorKind.HOST_KEY_REVOKED
    assert "@revoked" in revoked.summary and "line 2" in revoked.summary
    caonly = errors["caonly"][0]
    assert caonly.error_kind is ErrorKind.HOST_KEY_UNKNOWN
    assert "only through @cert-authority" in caonly.summary and "plain ssh-ed25519 key" in caonly.summary
    wrong = errors["wrongcert"][0]
    assert wrong.error_kind is ErrorKind.HOST_KEY_UNKNOWN
    assert "host certificate of 127.0.0.48" in wrong.summary and "for app9.example.com, not 127.0.0.48" in wrong.summary
    enc = errors["enckey"][0]
    assert enc.error_kind is ErrorKind.CONFIG and "encrypted (passphrase-protected)" in enc.summary
    assert "SSH agent" in enc.summary
    opened = errors["openkey"][0]
    assert opened.error_kind is ErrorKind.CONFIG
    assert "UNPROTECTED PRIVATE KEY FILE" in opened.summary and "0644" in opened.summary
    # The host with a certificate from the listed CA, and the host behind a file with bad lines, are checked.
    for n in ("certified", "garbled"):
        assert errors[n] == [], (n, [f.summary for f in errors[n]])
        process = next(f for f in res.findings if f.host == n and f.module == "mta" and f.check == "process")
        assert process.status == "ok", process.summary


def test_garbled_line_is_shown_once_by_doctor(edges: EdgeLab) -> None:
    env = _env(edges)
    pool = ConnectionPool()
    try:
        rows = run_doctor(env, lambda h: SSHTransport(h, pool), hosts=[env.host("garbled"), env.host("openkey")])
    finally:
        pool.close()
    by = {r.host: r for r in rows}
    assert by["garbled"].ok and by["garbled"].host_key is True
    assert len(by["garbled"].notes) == 2
    assert "line 1" in by["garbled"].notes[0] and "line 2" in by["garbled"].notes[1]
    assert "unknown marker '@trusted'" in by["garbled"].notes[1]
    assert not by["openkey"].ok and "UNPROTECTED PRIVATE KEY FILE" in by["openkey"].detail
    assert by["openkey"].detail.startswith("bot configuration:")
    text = render_rows(rows, simulated=False)
    assert "known_hosts lines the bot skipped" in text
    assert text.count(str(edges.known["garbled"]) + " line 1") == 1


def test_doctor_cli_shows_the_reasons(edges: EdgeLab) -> None:
    """`campaign-bot doctor` end to end (a subprocess): each refused host says why, in one line."""
    p = subprocess.run(
        [sys.executable, "-m", "bot", "doctor", "--env", "it", "--inventory", str(edges.inventory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1, p.stderr[-2000:]
    assert "Traceback" not in p.stdout + p.stderr
    lines = {line.split()[0]: line for line in p.stdout.splitlines() if line.split()}
    assert "@revoked" in lines["revoked"]
    assert "only through @cert-authority" in lines["caonly"]
    assert "encrypted" in lines["enckey"]
    assert "UNPROTECTED PRIVATE KEY FILE" in lines["openkey"] and "0644" in lines["openkey"]
    assert "known_hosts lines the bot skipped" in p.stdout and GARBAGE not in p.stdout


def _session_processes(host: SshdHost) -> list[psutil.Process]:
    """Processes under this test's own sshd (its per-connection children and the command they run)."""
    assert host.proc is not None
    try:
        return psutil.Process(host.proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_sessions(host: SshdHost) -> None:
    """SIGKILL this test's sshd's per-connection processes and what they run (the listener stays)."""
    for p in _session_processes(host):
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def _wait_for_hang(host: SshdHost) -> None:
    """Until the simulated nlserver hangs (`sleep`) inside a session of this sshd."""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        for p in _session_processes(host):
            with contextlib.suppress(psutil.NoSuchProcess):
                if "sleep" in " ".join(p.cmdline()):
                    return
        time.sleep(0.05)
    pytest.fail("the hanging command never started")


def test_sshd_killed_mid_command_is_connection_lost(edges: EdgeLab, kb: KnowledgeBase) -> None:
    env = _env(edges)
    host = env.host("cut")
    sshd = edges.hosts["cut"]
    pool = ConnectionPool()
    out: dict[str, object] = {}

    def run() -> None:
        out["result"] = _runner(pool).run(env, [kb.get("mta")], hosts=[host])

    worker = threading.Thread(target=run)
    worker.start()
    try:
        # Wait until the simulated nlserver hangs inside the session, then kill the session's sshd.
        _wait_for_hang(sshd)
        assert pool.pooled(host)
        _kill_sessions(sshd)
        worker.join(15)
        assert not worker.is_alive()
    finally:
        _kill_sessions(sshd)
    res = out["result"]
    errors = _connect_errors(res.findings, "cut")  # type: ignore[attr-defined]
    assert len(errors) == 1, [f.summary for f in res.findings]  # type: ignore[attr-defined]
    lost = errors[0]
    assert lost.error_kind is ErrorKind.CONNECTION_LOST
    assert "closed mid-stream" in lost.summary and "did not finish" not in lost.summary
    assert not pool.pooled(host)  # the dead connection left the pool
    pool.close()


def test_a_dead_pooled_connection_is_replaced_not_reported(edges: EdgeLab) -> None:
    """The server drops an idle pooled connection: the next run reconnects instead of failing."""
    from bot.probes import script as s

    env = _env(edges)
    host = env.host("garbled")
    sshd = edges.hosts["garbled"]
    pool = ConnectionPool()
    try:
        plan = s.Plan(host)
        plan.add(s.nlserver_present())
        first = SSHTransport(host, pool).run(plan.script(), timeout_s=5)
        assert first.exit_code == 0 and pool.connects == 1
        _kill_sessions(sshd)
        time.sleep(0.3)
        again = SSHTransport(host, pool).run(plan.script(), timeout_s=5)
        assert again.exit_code == 0 and b"present" in again.stdout
        assert pool.connects == 2
    finally:
        pool.close()


def test_connection_lost_is_raised_by_the_transport(edges: EdgeLab) -> None:
    """The transport itself raises ConnectionLost (not a timeout, not exit -1) when sshd dies mid-command."""
    from bot.probes import script as s

    env = _env(edges)
    host = env.host("cut")
    sshd = edges.hosts["cut"]
    pool = ConnectionPool()
    plan = s.Plan(host)
    plan.add(s.nlserver("pdump"))
    caught: list[BaseException] = []

    def run() -> None:
        try:
            SSHTransport(host, pool).run(plan.script(), timeout_s=10)
        except BaseException as e:
            caught.append(e)

    t = threading.Thread(target=run)
    t.start()
    try:
        _wait_for_hang(sshd)
        _kill_sessions(sshd)
        t.join(15)
    finally:
        _kill_sessions(sshd)
        pool.close()
    assert len(caught) == 1 and isinstance(caught[0], ConnectionLost), caught
    assert caught[0].kind is ErrorKind.CONNECTION_LOST


class _Mute:
    """A TCP listener that completes handshakes (the kernel does) and never accepts or speaks."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()


def test_fan_out_reports_every_host_once_with_many_silent_hosts(edges: EdgeLab, kb: KnowledgeBase) -> None:
    """40 silent hosts and 2 real ones, fewer workers than hosts: each host gets exactly one outcome."""
    env0 = _env(edges)
    mutes = [_Mute(f"127.0.0.{60 + i % 8}") for i in range(40)]
    try:
        silent = [
            env0.host("garbled").model_copy(
                update={
                    "name": f"silent{i}",
                    "address": m.sock.getsockname()[0],
                    "port": m.port,
                    "connect_timeout_s": 1,
                }
            )
            for i, m in enumerate(mutes)
        ]
        real = [env0.host("garbled"), env0.host("certified")]
        targets = silent[:20] + real + silent[20:]
        env = env0.model_copy(update={"hosts": tuple(targets)})
        pool = ConnectionPool()
        try:
            res = _runner(pool, max_workers=16).run(env, [kb.get("mta")])
        finally:
            pool.close()
        assert set(res.hosts) == {h.name for h in targets}
        errors = Counter(f.host for f in res.findings if f.check == "connect")
        for h in silent:
            assert errors[h.name] == 1, h.name
        silent_findings = [f for f in res.findings if f.host.startswith("silent")]
        assert {f.error_kind for f in silent_findings} == {ErrorKind.SILENT}
        assert all("did not speak SSH" in f.summary for f in silent_findings)
        for h in real:
            assert errors[h.name] == 0
            assert any(f.host == h.name and f.check == "process" and f.status == "ok" for f in res.findings)
        # A run deadline shorter than the silent hosts' turns: the hosts not reached are reported, not lost.
        pool = ConnectionPool()
        try:
            cut = _runner(pool, max_workers=4, run_deadline_factor=0.2).run(env, [kb.get("mta")])
        finally:
            pool.close()
        per_host = Counter(f.host for f in cut.findings if f.check == "connect" or f.status == "error")
        assert set(per_host) | {h.name for h in real} >= {h.name for h in silent}
        unreached = [f for f in cut.findings if "deadline" in f.summary]
        assert unreached and all(f.status == "error" and f.error_kind is ErrorKind.TIMEOUT for f in unreached)
        assert all(per_host[h.name] == 1 for h in silent)
    finally:
        for m in mutes:
            m.close()


def test_a_silent_host_does_not_hold_up_another_hosts_connect(edges: EdgeLab) -> None:
    """One pool, two hosts: while one connect waits for a banner that never comes, another host connects
    and runs (proved by overlap: the silent connect is still pending when the other one is done)."""
    from bot.probes import script as s

    env = _env(edges)
    mute = _Mute("127.0.0.60")
    real = env.host("garbled")
    silent = real.model_copy(
        update={"name": "mute", "port": mute.port, "address": "127.0.0.60", "connect_timeout_s": 5}
    )
    pool = ConnectionPool()
    waiting: list[BaseException] = []

    def connect_silent() -> None:
        try:
            pool.get(silent)
        except BaseException as e:
            waiting.append(e)

    t = threading.Thread(target=connect_silent)
    try:
        t.start()
        end = time.monotonic() + 5
        while time.monotonic() < end and not any(
            c.raddr and c.raddr.port == mute.port for c in psutil.Process().net_connections("tcp")
        ):
            time.sleep(0.01)
        assert t.is_alive()  # connected at TCP level, waiting for the SSH banner
        plan = s.Plan(real)
        plan.add(s.nlserver_present())
        res = SSHTransport(real, pool).run(plan.script(), timeout_s=5)
        assert res.exit_code == 0 and b"present" in res.stdout
        assert t.is_alive() and not waiting  # the silent connect is still pending: no shared lock held
        t.join(10)
        assert len(waiting) == 1 and "did not speak SSH" in str(waiting[0])
    finally:
        pool.close()
        mute.close()


def test_known_hosts_unreadable_line_does_not_break_other_hosts_sharing_it(
    edges: EdgeLab, kb: KnowledgeBase, tmp_path: Path
) -> None:
    """One shared known_hosts (as in production) with bad lines among valid ones: every listed host works."""
    shared = tmp_path / "known_hosts"
    hosts = edges.hosts
    shared.write_text(
        f"{GARBAGE}\n"
        + hosts["garbled"].known_hosts_line()
        + "\n@revoked\n"  # a marker with nothing after it
        + hosts["cut"].known_hosts_line()[:40]
        + "\n"  # a truncated line
        + hosts["enckey"].known_hosts_line()
        + "\n"
    )
    env = _env(edges)
    targets = [env.host(n).model_copy(update={"known_hosts": str(shared)}) for n in ("garbled", "enckey")]
    # enckey's own key file is encrypted: point it at the lab's usable key for this check.
    targets[1] = targets[1].model_copy(update={"key_file": str(edges.lab.client_key)})
    pool = ConnectionPool()
    try:
        res = _runner(pool).run(env, [kb.get("mta")], hosts=targets)
    finally:
        pool.close()
    assert [f.summary for f in res.findings if f.status == "error"] == []
