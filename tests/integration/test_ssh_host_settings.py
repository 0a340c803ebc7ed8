"""Issue 7 after its audit: what a real host shows the checks, against real OpenSSH sshd hosts on loopback
(127.0.0.5x) with simulated Campaign installs behind them, where the host's own tools matter: real `ss`
for moved ports (real sockets bound by this test), real `find`, `stat` and `file` for core files on a
symlinked var and tracking-log folders, the host's `/bin/sh` (dash on Debian) and bash for customer.sh.

This module starts its own sshd hosts (not the shared `fleet`); the simulated `nlserver` logs every
call, so the last test proves nothing sent changed state.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.diagnosis import Diagnoser
from bot.inventory import Environment, load_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Diagnosis, Finding
from bot.runner import Runner
from bot.simulator.fleet import HostScenario, build_host, default_scenarios
from bot.transports.base import Transport
from bot.transports.ssh import ConnectionPool, SSHTransport
from tests.harness.sshd import SshdLab, chown_tree, free_port, require_sshd, write_inventory

N_TRACKING_LOGS = 20_000
# An ELF header of type ET_CORE: what `file` calls a core file when it can read it.
CORE_BYTES = (
    b"\x7fELF"
    + bytes([2, 1, 1, 0])
    + b"\0" * 8
    + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 0, 64, 0, 0)
)
OLD_MTIME = 1_700_000_000


@dataclass
class HostLab:
    lab: SshdLab
    inventory: Path
    homes: dict[str, Path]
    ports: dict[str, int]
    sockets: list[socket.socket] = field(default_factory=list)


def _like(base: HostScenario, name: str, **kw: object) -> HostScenario:
    sc = HostScenario(**{**base.__dict__, "name": name})
    for k, v in kw.items():
        setattr(sc, k, v)
    return sc


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _append(path: Path, text: str) -> None:
    path.write_text((path.read_text() if path.exists() else "") + text)


def _bind(kind: int, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", port))
    if kind == socket.SOCK_STREAM:
        s.listen(4)
    return s


@pytest.fixture(scope="module")
def hl() -> Iterator[HostLab]:
    require_sshd()
    lab = SshdLab()
    app1, _, track1, _ = default_scenarios()
    ports = {name: free_port("127.0.0.1") for name in ("trace", "tomcat", "stat", "trace_closed", "stat_closed")}
    sockets = [
        _bind(socket.SOCK_DGRAM, ports["trace"]),
        _bind(socket.SOCK_STREAM, ports["tomcat"]),
        _bind(socket.SOCK_DGRAM, ports["stat"]),
    ]
    plan: list[tuple[str, str, HostScenario]] = [
        ("moved", "127.0.0.50", _like(app1, "moved", real_tools=("ss",))),
        ("moved-closed", "127.0.0.51", _like(app1, "moved-closed", real_tools=("ss",))),
        ("tracker", "127.0.0.52", _like(track1, "tracker", clock_offset_s=0.0)),
        ("bashism", "127.0.0.53", _like(app1, "bashism", real_tools=("ss",))),
        ("exits", "127.0.0.54", _like(app1, "exits")),
        ("nolibs", "127.0.0.55", _like(app1, "nolibs")),
        ("linkedvar", "127.0.0.56", _like(app1, "linkedvar", real_tools=("file",))),
        ("front", "127.0.0.57", _like(app1, "front", real_tools=("curl",))),
    ]
    homes: dict[str, Path] = {}
    hosts: list[dict[str, object]] = []
    servers: list[ThreadingHTTPServer] = []
    try:
        # two web servers: the front (127.0.0.1), and another host (127.0.0.2) it may redirect /r/test to
        other = _serve("127.0.0.2", {}, servers)
        front = _serve(
            "127.0.0.1",
            {
                "/away404/r/test": (302, {"Location": f"http://127.0.0.2:{other}/r/test"}, ""),
                "/slash/r/test": (301, {"Location": "/slash/r/test/"}, ""),
                "/slash/r/test/": (200, {}, OK_REDIR),
                "/mine404/r/test": (301, {"Location": "/mine404/r/test/"}, ""),
            },
            servers,
        )
        for name, addr, sc in plan:
            home = build_host(lab.root / "hosts", sc, ("prod",))
            homes[name] = home
            h = lab.start_host(name, addr, home)
            hosts.append({"name": name, "address": addr, "port": h.port, "nl_home": str(home)})
        # moved: every configurable port elsewhere, and something listening there (real sockets, real ss)
        m = homes["moved"]
        _append(m / "customer.sh", f"export TRACE_ADDR=localhost:{ports['trace']}\n")
        _edit(
            m / "conf" / "config-default.xml",
            '<web autoStart="true"/>',
            f'<web autoStart="true" httpPort="{ports["tomcat"]}"/>',
        )
        _edit(
            m / "conf" / "config-prod.xml",
            '<stat autoStart="true"/>',
            f'<stat autoStart="true" port="{ports["stat"]}"/>',
        )
        # moved-closed: the same settings, to ports where nothing listens
        c = homes["moved-closed"]
        _append(c / "customer.sh", f"export TRACE_ADDR=localhost:{ports['trace_closed']}\n")
        _edit(
            c / "conf" / "config-prod.xml",
            '<stat autoStart="true"/>',
            f'<stat autoStart="true" port="{ports["stat_closed"]}"/>',
        )
        hosts[1]["tomcat_port"] = ports["tomcat"]  # the inventory names the Tomcat port: it listens
        fr = next(h for h in hosts if h["name"] == "front")
        hosts.remove(fr)
        for kind in ("away404", "slash", "mine404"):
            hosts.append({**fr, "name": f"front-{kind}", "front_url": f"http://127.0.0.1:{front}/{kind}"})
        # tracker: a redirection server with 20,000 tracking logs (a process per file took 56 s)
        redir = homes["tracker"] / "var" / "prod" / "redir" / "log"
        for i in range(N_TRACKING_LOGS):
            f = redir / f"0x{0x100000 + i:016X}.log"
            f.write_text("0x1\t0x2\t0x3\n")
            os.utime(f, (OLD_MTIME, OLD_MTIME))
        # customer.sh with a bash-ism (dash, the Debian /bin/sh, dies on it) and TRACE_ADDR; one that exits
        _append(
            homes["bashism"] / "customer.sh",
            "export LD_LIBRARY_PATH=${LD_LIBRARY_PATH//:\\/old\\/lib/}\n"
            f"export TRACE_ADDR=localhost:{ports['trace']}\n",
        )
        _append(homes["exits"] / "customer.sh", '[ -n "$ORACLE_HOME" ] || exit 1\n')
        # nlserver is there, but its libraries are not on LD_LIBRARY_PATH (what ld.so says, and its exit 127)
        nlserver = homes["nolibs"] / "bin" / "nlserver"
        nlserver.write_text(
            "#!/bin/sh\n"
            f'echo "{nlserver}: error while loading shared libraries: libnlxtk.so: cannot open shared object file: '
            'No such file or directory" >&2\nexit 127\n'
        )
        # var is a symbolic link (nl6/var -> /var/nl6, Linux's default layout), with a core file the bot's
        # user cannot read in it (mode 000), found through the link
        lv = homes["linkedvar"]
        real_var = lab.root / "hosts" / "linkedvar" / "var-nl6"
        (lv / "var").rename(real_var)
        (lv / "var").symlink_to(real_var)
        (real_var / "prod" / "core.5150").write_bytes(CORE_BYTES)
        # an application server (no trackinglogd) with an empty redir/log folder: not a tracking server
        (homes["moved"] / "var" / "prod" / "redir" / "log").mkdir(parents=True)
        chown_tree(lab.root / "hosts", lab.user)
        (real_var / "prod" / "core.5150").chmod(0)
        inv = write_inventory(lab.root / "inventory.yaml", lab, hosts, env="hs", command_timeout_s=10)
        yield HostLab(lab, inv, homes, ports, sockets)
    finally:
        for s in sockets:
            s.close()
        for srv in servers:
            srv.shutdown()
            srv.server_close()
        lab.close()


OK_REDIR = "<redir status='OK' date='2026-11-27 10:00:00.112Z' build='9379' host='front' localHost='front1'/>"
Route = tuple[int, dict[str, str], str]


def _serve(address: str, routes: dict[str, Route], servers: list[ThreadingHTTPServer]) -> int:
    """A web server on `address` answering `routes` (path -> status, headers, body), 404 elsewhere."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, headers, body = routes.get(self.path, (404, {}, "<html><h1>Not Found</h1></html>"))
            data = body.encode()
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    srv = ThreadingHTTPServer((address, 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    servers.append(srv)
    return int(srv.server_address[1])


def _env(hl: HostLab) -> Environment:
    return load_inventory(hl.inventory).environment("hs")


def _check(hl: HostLab, kb: KnowledgeBase, matcher: Matcher, modules: list[str], hosts: list[str]) -> Diagnosis:
    env = _env(hl)
    pool = ConnectionPool()

    def for_host(h):  # type: ignore[no-untyped-def]
        t: Transport = SSHTransport(h, pool)
        return t

    try:
        return Diagnoser(kb, matcher, Runner(for_host)).check(
            [kb.get(m) for m in modules], env, hosts=[env.host(h) for h in hosts]
        )
    finally:
        pool.close()


def _all(d: Diagnosis, host: str, check: str, module: str | None = None) -> list[Finding]:
    return [f for f in d.findings if f.host == host and f.check == check and (module is None or f.module == module)]


def _one(d: Diagnosis, host: str, check: str, module: str | None = None) -> Finding:
    found = _all(d, host, check, module)
    assert len(found) == 1, (host, check, [f"{f.check}: {f.summary}" for f in d.findings if f.host == host])
    return found[0]


def test_ports_where_the_host_moved_them(hl: HostLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(hl, kb, matcher, ["web", "syslogd", "stat"], ["moved", "moved-closed"])
    web, sysl, stat = (_one(d, "moved", "ports", m) for m in ("web", "syslogd", "stat"))
    assert web.status == "ok" and f"{hl.ports['tomcat']}/tcp" in web.summary and "httpPort" in web.summary
    assert sysl.status == "ok" and f"TRACE_ADDR=localhost:{hl.ports['trace']}" in sysl.summary
    assert stat.status == "ok" and f"{hl.ports['stat']}/udp" in stat.summary
    assert not [s for s in d.next_steps if s.host == "moved" and s.command and "restart" in s.command]
    web2, sysl2, stat2 = (_one(d, "moved-closed", "ports", m) for m in ("web", "syslogd", "stat"))
    assert web2.status == "ok" and "tomcat_port" in web2.summary
    assert sysl2.status == "fail" and f"{hl.ports['trace_closed']}/udp" in sysl2.summary
    assert stat2.status == "fail" and f"{hl.ports['stat_closed']}/udp" in stat2.summary


def test_a_redirection_server_with_20000_tracking_logs_answers_in_one_listing(
    hl: HostLab, kb: KnowledgeBase, matcher: Matcher
) -> None:
    start = time.monotonic()
    d = _check(hl, kb, matcher, ["trackinglogd", "tracking"], ["tracker", "moved"])
    assert time.monotonic() - start < 10  # the host's deadline is 10 s; a stat per file took 56 s
    assert not _all(d, "tracker", "run"), [f.summary for f in _all(d, "tracker", "run")]
    tl = _one(d, "tracker", "tracking_logs")
    assert tl.status == "ok" and f"{N_TRACKING_LOGS + 3} file(s)" in tl.evidence[0]
    # every later section finished too
    assert _one(d, "tracker", "cores").status == "ok" and _all(d, "tracker", "system")
    # the application server's empty redir/log is no tracking problem
    assert not [f for f in _all(d, "moved", "tracking_logs") if f.status != "ok"]


def test_customer_sh_under_the_hosts_own_shells(hl: HostLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    """The login shell runs /bin/sh (dash here); the probe runs under bash, as Campaign's own scripts, so a
    bash-ism in customer.sh is read; a customer.sh that exits is a finding, and every other section runs."""
    d = _check(hl, kb, matcher, ["syslogd", "mta"], ["bashism", "exits"])
    assert not _all(d, "bashism", "run") and not _all(d, "exits", "run")
    assert not _all(d, "bashism", "campaign_env")
    assert _one(d, "bashism", "ports", "syslogd").status == "ok"  # TRACE_ADDR read from that customer.sh
    bad = _one(d, "exits", "campaign_env")
    assert bad.status == "warn" and bad.summary.startswith("customer.sh could not be sourced: it ended the shell")
    assert _one(d, "exits", "process", "mta").status == "ok" and _one(d, "exits", "disk").status != "error"
    assert not [s for s in d.next_steps if "hung" in s.text]


def test_nlserver_without_its_libraries_keeps_the_hosts_own_facts(
    hl: HostLab, kb: KnowledgeBase, matcher: Matcher
) -> None:
    d = _check(hl, kb, matcher, ["mta"], ["nolibs"])
    pd = _one(d, "nolibs", "pdump")
    assert pd.status == "error" and "libnlxtk.so" in pd.summary and "LD_LIBRARY_PATH" in pd.summary
    assert "is nl_home right" not in pd.summary
    for check in ("disk", "system", "cores", "clock"):
        assert _all(d, "nolibs", check), check
    assert any(s.host == "nolibs" and "env.sh" in s.text for s in d.next_steps)


def test_core_files_through_a_symlinked_var_and_unreadable(hl: HostLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(hl, kb, matcher, ["mta"], ["linkedvar"])
    core = _one(d, "linkedvar", "cores")
    path = f"{hl.homes['linkedvar']}/var/prod/core.5150"
    assert core.status == "fail" and path in core.summary, core.summary
    assert "cannot tell" in core.summary and "read permission" in core.summary
    assert any(e.startswith(path) for e in core.evidence)


def test_r_test_redirects_told_by_where_they_end(hl: HostLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    """Real curl on the host follows the front's redirects: OK at /r/test/ is ok; another host's 404 is a
    warning naming it; the front's own 404 (after a redirect on itself) is the failure."""
    names = ["front-away404", "front-slash", "front-mine404"]
    d = _check(hl, kb, matcher, ["web"], names)
    away, slash, mine = (_one(d, n, "redir_test") for n in names)
    assert away.status == "warn" and "another host" in away.summary and "http://127.0.0.2:" in away.summary
    assert slash.status == "ok" and "build 9379" in slash.summary
    assert mine.status == "fail" and mine.conditions == ("redir_failed",)
    web_changes = [s for s in d.next_steps if s.module == "web" and s.risk.value == "changes-state"]
    assert not [s for s in web_changes if s.host == "front-away404"] and not [s for s in web_changes if not s.host]


def test_nothing_sent_changed_state(hl: HostLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    """Every check of this module again, then the simulated nlserver's call log: read-only verbs only."""
    names = [n for n in hl.homes if n not in ("front", "nolibs")]
    _check(hl, kb, matcher, list(kb.names), names)
    for name in names:
        calls = (hl.homes[name] / "sim" / "invocations.log").read_text().split("\n")
        verbs = {c.split()[0] for c in calls if c.strip()}
        assert verbs and verbs <= {"pdump", "monitor"}, (name, verbs)
