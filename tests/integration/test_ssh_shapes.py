"""Issue 7 against real sshd hosts whose tools answer in other shapes than the simulator's defaults:
a BusyBox-like `ps` that refuses `-e`, no `ss` but `netstat`, a pdump whose memory column is in
another unit, and a tracking folder the bot's user may not read. Each host is otherwise healthy, so
any `fail` or state-changing step about what these shapes hide is a false alarm, and any `ok` about
what they hide is blind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.diagnosis import Diagnoser
from bot.inventory import load_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Diagnosis, Finding
from bot.runner import Runner
from bot.simulator.fleet import HostScenario, build_host, default_scenarios
from bot.transports.base import Transport
from bot.transports.ssh import ConnectionPool, SSHTransport
from tests.harness.sshd import SshdLab, chown_tree, require_sshd, write_inventory


@dataclass
class ShapesLab:
    lab: SshdLab
    inventory: Path
    homes: dict[str, Path]


def _like(base: HostScenario, name: str) -> HostScenario:
    return HostScenario(**{**base.__dict__, "name": name})


def _tool(home: Path, name: str, body: str) -> None:
    path = home / "sim" / "bin" / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture(scope="module")
def shapes() -> Iterator[ShapesLab]:
    require_sshd()
    lab = SshdLab()
    app1, _, track1, _ = default_scenarios()
    private = _like(app1, "private")
    private.xtk_var_dir = True  # customer.sh moves var to a folder the bot's user may not read (below)
    plan = [
        ("busybox", "127.0.0.40", app1),
        ("units", "127.0.0.41", app1),
        ("locked", "127.0.0.42", track1),
        ("private", "127.0.0.43", private),
    ]
    homes: dict[str, Path] = {}
    hosts: list[dict[str, object]] = []
    try:
        for name, addr, base in plan:
            home = build_host(lab.root / "hosts", base if base.name == name else _like(base, name), ("prod",))
            homes[name] = home
            h = lab.start_host(name, addr, home)
            hosts.append({"name": name, "address": addr, "port": h.port, "nl_home": str(home)})
        busybox = homes["busybox"]
        _tool(
            busybox,
            "ps",
            "echo \"ps: invalid option -- 'e'\" >&2\necho 'BusyBox v1.36.1 multi-call binary.' >&2\nexit 1\n",
        )
        _tool(busybox, "ss", 'echo "sh: ss: not found" >&2\nexit 127\n')
        _tool(
            busybox,
            "netstat",
            'SIM=$(cd "$(dirname "$0")/.." && pwd)\necho "Active Internet connections (only servers)"\n'
            'echo "Proto Recv-Q Send-Q Local Address           Foreign Address         State"\n'
            'while read -r proto port; do if [ "$proto" = udp ]; then echo "udp        0      0 127.0.0.1:$port'
            '          0.0.0.0:*"; else echo "tcp        0      0 0.0.0.0:$port            0.0.0.0:*'
            '               LISTEN"; fi; done < "$SIM/ports"\n',
        )
        units = homes["units"]
        real = units / "bin" / "nlserver.sim"
        (units / "bin" / "nlserver").rename(real)
        # the same answers, memory in MiB (not a documented unit): still the processes pdump lists
        _tool(units, "../../bin/nlserver", f'"{real}" "$@" | sed "s/ MB$/ MiB/"\n')
        chown_tree(lab.root / "hosts", lab.user)
        if os.geteuid() == 0:  # the bot logs in as an unprivileged user: a folder it may not enter
            (homes["locked"] / "var" / "prod" / "redir" / "log").chmod(0o700)
            os.chown(homes["locked"] / "var" / "prod" / "redir" / "log", 0, 0)
            var = homes["private"].parent / "data" / "var"
            var.chmod(0o700)
            os.chown(var, 0, 0)
        inv = write_inventory(lab.root / "inventory.yaml", lab, hosts, env="shapes", command_timeout_s=8)
        yield ShapesLab(lab, inv, homes)
    finally:
        lab.close()


def _check(sl: ShapesLab, kb: KnowledgeBase, matcher: Matcher, modules: list[str], hosts: list[str]) -> Diagnosis:
    env = load_inventory(sl.inventory).environment("shapes")
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


def _one(d: Diagnosis, host: str, check: str, module: str | None = None) -> Finding:
    found = [f for f in d.findings if f.host == host and f.check == check and (module is None or f.module == module)]
    assert len(found) == 1, (host, check, [f.summary for f in d.findings if f.host == host])
    return found[0]


def test_busybox_ps_and_netstat_only(shapes: ShapesLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(shapes, kb, matcher, ["mta", "syslogd"], ["busybox"])
    child = _one(d, "busybox", "mtachild")
    assert child.status == "unknown" and child.needs and "ps" in child.needs  # not "no mtachild right now"
    system = _one(d, "busybox", "system")
    assert "zombie" not in system.summary.split("; not read")[0], system.summary
    assert _one(d, "busybox", "age", "mta").status == "unknown"
    ports = [f for f in d.findings if f.host == "busybox" and f.check == "ports" and f.module == "syslogd"]
    assert ports and all(f.status == "ok" for f in ports), [f.summary for f in ports]  # read from netstat
    assert _one(d, "busybox", "process", "mta").status == "ok"


def test_pdump_memory_in_another_unit(shapes: ShapesLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(shapes, kb, matcher, ["mta", "inMail"], ["units"])
    for module in ("mta", "inMail"):
        f = _one(d, "units", "process", module)
        assert f.status == "unknown" and "could not be read" in f.summary and "MiB" in f.evidence[-1]
    writer = _one(d, "units", "log_writer", "syslogd")
    assert writer.status == "unknown", writer.summary
    assert not [s for s in d.next_steps if s.host == "units" and s.command and s.command.startswith("nlserver start")]


def test_tracking_folder_the_bot_may_not_read(shapes: ShapesLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a folder the login user may not enter")
    d = _check(shapes, kb, matcher, ["trackinglogd"], ["locked"])
    f = _one(d, "locked", "tracking_logs")
    assert f.status == "unknown" and "cannot read" in f.summary and "does not exist" not in f.summary
    assert f.needs and "redir/log" in f.needs


def test_var_the_bot_may_not_read(shapes: ShapesLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    """XTK_VAR_DIR moves var to a folder only its owner may read: no core file found there is not "no
    core file", and its logs are not read as silent."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a folder the login user may not enter")
    d = _check(shapes, kb, matcher, ["mta"], ["private"])
    cores = _one(d, "private", "cores")
    var = str(shapes.homes["private"].parent / "data" / "var")
    assert cores.status == "unknown" and var in cores.summary and cores.needs and var in cores.needs
    logs = [f for f in d.findings if f.host == "private" and f.check == "log"]
    assert logs and all(f.status == "unknown" for f in logs), [f.summary for f in logs]
