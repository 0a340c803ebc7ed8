"""Concurrent runs on one host through one ConnectionPool, against a real sshd whose MaxSessions is low.

What a worker with CAMPAIGN_BOT_WORKERS=12 does when 12 questions about one host arrive at once: they share
the pooled connection, one session channel each. When sshd refuses one more channel on it (MaxSessions
reached: "open failed"), that connection is full, not broken: the run takes another connection (at most
`max_per_host`) or waits for a channel to end, and the runs already on the first connection go on. Before,
the refused run closed the shared connection, and the others failed with "closed mid-stream".
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.errors import SSHTimeout
from bot.inventory import Environment, Host, load_inventory
from bot.kb import KnowledgeBase
from bot.models import Finding
from bot.probes import script as s
from bot.runner import Runner
from bot.simulator.fleet import build_host, default_scenarios
from bot.transports.base import Script
from bot.transports.ssh import ConnectionPool, SSHTransport
from tests.harness.sshd import SshdHost, SshdLab, chown_tree, require_sshd, write_inventory


@dataclass
class PoolLab:
    lab: SshdLab
    env: Environment
    hosts: dict[int, SshdHost]  # by MaxSessions


def _set_max_sessions(lab: SshdLab, host: SshdHost, n: int) -> None:
    config = host.dir / "sshd_config"
    config.write_text(config.read_text() + f"MaxSessions {n}\n")
    os.kill(host.proc.pid, signal.SIGHUP)  # sshd -D re-executes itself and reads its configuration again
    time.sleep(0.3)
    lab._wait_banner(host.address, host.port, host.proc)


@pytest.fixture(scope="module")
def pool_lab() -> Iterator[PoolLab]:
    require_sshd()
    lab = SshdLab()
    try:
        app1 = default_scenarios()[0]
        rows = []
        hosts: dict[int, SshdHost] = {}
        for n, (name, address) in {2: ("ms2", "127.0.0.151"), 4: ("ms4", "127.0.0.152")}.items():
            home = build_host(lab.root / "hosts" / name, app1, ("prod",))
            h = lab.start_host(name, address, home)
            _set_max_sessions(lab, h, n)
            hosts[n] = h
            rows.append({"name": name, "address": address, "port": h.port, "nl_home": str(home)})
        chown_tree(lab.root / "hosts", lab.user)
        inv = write_inventory(lab.root / "inventory.yaml", lab, rows, connect_timeout_s=3, command_timeout_s=15)
        yield PoolLab(lab, load_inventory(inv).environment("it"), hosts)
    finally:
        lab.close()


def _concurrently(n: int, fn: object) -> list[object]:
    out: list[object] = [None] * n

    def one(i: int) -> None:
        try:
            out[i] = fn()  # type: ignore[operator]
        except Exception as e:  # recorded, looked at by the test
            out[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _errors(findings: list[Finding]) -> list[str]:
    return [f.summary for f in findings if f.status == "error"]


@pytest.mark.parametrize(("max_sessions", "runs"), [(2, 6), (4, 6), (4, 12), (2, 10)])
def test_concurrent_runs_on_one_host_all_answer(
    pool_lab: PoolLab, kb: KnowledgeBase, max_sessions: int, runs: int
) -> None:
    host = pool_lab.env.host(f"ms{max_sessions}")
    pool = ConnectionPool()
    runner = Runner(lambda h: SSHTransport(h, pool))
    try:
        runner.run(pool_lab.env, [kb.get("mta")], hosts=[host])  # a warm pooled connection, as in a worker
        results = _concurrently(runs, lambda: runner.run(pool_lab.env, [kb.get("mta")], hosts=[host]))
        outcome = Counter("; ".join(_errors(r.findings)) or "ok" for r in results)  # type: ignore[attr-defined]
        assert outcome == Counter({"ok": runs}), outcome
        assert 1 < pool.connections(host) <= pool.max_per_host  # it grew, within its bound
    finally:
        pool.close()


def _sleep_script(host: Host, seconds: float) -> Script:
    plan = s.Plan(host)
    plan.add(s.nlserver_present())
    script = plan.script()
    return Script(text=f"sleep {seconds}; {script.text}", description=script.description, verbs=script.verbs)


def test_a_refused_channel_never_closes_the_connection_under_other_runs(pool_lab: PoolLab) -> None:
    """MaxSessions 2, one connection allowed: two runs hold both channels for 1.5 s; the others wait for a
    free channel and run on the same connection, which stays open throughout."""
    host = pool_lab.env.host("ms2")
    pool = ConnectionPool(max_per_host=1)
    try:
        client = pool.get(host)
        start = time.monotonic()
        results = _concurrently(5, lambda: SSHTransport(host, pool).run(_sleep_script(host, 1.5), timeout_s=12))
        assert all(getattr(r, "exit_code", None) == 0 for r in results), results
        assert time.monotonic() - start >= 4.0  # three rounds of two channels: they waited, none failed
        assert pool.connects == 1 and pool.get(host) is client
    finally:
        pool.close()


def test_no_free_channel_within_the_deadline_is_a_busy_timeout_not_a_lost_connection(pool_lab: PoolLab) -> None:
    host = pool_lab.env.host("ms2")
    pool = ConnectionPool(max_per_host=1)
    try:
        pool.get(host)
        holders = threading.Thread(
            target=_concurrently, args=(2, lambda: SSHTransport(host, pool).run(_sleep_script(host, 4), timeout_s=12))
        )
        holders.start()
        time.sleep(1.0)  # both channels taken
        start = time.monotonic()
        with pytest.raises(SSHTimeout, match="busy"):
            SSHTransport(host, pool).run(_sleep_script(host, 0), timeout_s=1.5)
        assert time.monotonic() - start < 3
        holders.join(20)
        assert pool.pooled(host) and pool.connects == 1  # the shared connection was never closed
        again = SSHTransport(host, pool).run(_sleep_script(host, 0), timeout_s=5)
        assert again.exit_code == 0
    finally:
        pool.close()


def test_an_idle_or_dead_connection_still_leaves_the_pool(pool_lab: PoolLab) -> None:
    host = pool_lab.env.host("ms4")
    pool = ConnectionPool(idle_s=0.5)
    try:
        first = pool.get(host)
        time.sleep(0.7)
        second = pool.get(host)
        assert second is not first and pool.connects == 2 and pool.connections(host) == 1
        transport = second.get_transport()
        assert transport is not None
        transport.close()  # the connection dies
        third = pool.get(host)
        assert third is not second and pool.connections(host) == 1
    finally:
        pool.close()
