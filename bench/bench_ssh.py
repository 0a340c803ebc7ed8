"""SSH benchmark: 8 simulated Campaign hosts behind real sshd, each `nlserver` call taking 0.4 s.

Measures, end to end through the CLI (a new process each time, so a cold pool): one host vs eight
hosts. In-process: the one-host-at-a-time baseline (Runner with one worker), and a cold vs a warm
connection pool. Run as root or as a user that can start sshd: `.venv/bin/python bench/bench_ssh.py`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.inventory import load_inventory  # noqa: E402
from bot.kb import load_knowledge  # noqa: E402
from bot.runner import Runner  # noqa: E402
from bot.simulator.fleet import build_host, default_scenarios  # noqa: E402
from bot.transports.ssh import ConnectionPool, SSHTransport  # noqa: E402
from tests.harness.sshd import SshdLab, chown_tree, write_inventory  # noqa: E402

N_HOSTS = 8
DELAY = 0.4
REPEAT = 5


def cli(inventory: Path) -> float:
    start = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "bot", "check", "mta", "--env", "it", "--inventory", str(inventory), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    if p.returncode not in (0, 1) or '"error"' in p.stdout:
        raise SystemExit(f"bench run failed: {p.returncode} {p.stderr[-500:]}")
    return elapsed


def main() -> None:
    lab = SshdLab()
    try:
        app1 = default_scenarios()[0]
        hosts = []
        for i in range(N_HOSTS):
            sc = type(app1)(**{**app1.__dict__, "name": f"b{i}", "mode": "slow", "delay_s": DELAY})
            home = build_host(lab.root / "hosts", sc, ("prod",))
            h = lab.start_host(f"b{i}", f"127.0.0.{20 + i}", home)
            hosts.append({"name": f"b{i}", "address": h.address, "port": h.port, "nl_home": str(home)})
        chown_tree(lab.root / "hosts", lab.user)
        one = write_inventory(lab.root / "one.yaml", lab, hosts[:1], command_timeout_s=10)
        eight = write_inventory(lab.root / "eight.yaml", lab, hosts, command_timeout_s=10)
        cli(one)  # warm the page cache and bytecode
        t1 = [cli(one) for _ in range(REPEAT)]
        t8 = [cli(eight) for _ in range(REPEAT)]
        m1, m8 = statistics.median(t1), statistics.median(t8)

        kb = load_knowledge()
        env = load_inventory(eight).environment("it")
        mods = [kb.get("mta")]
        serial_pool = ConnectionPool()
        serial = Runner(lambda h: SSHTransport(h, serial_pool), max_workers=1)
        s0 = time.perf_counter()
        serial.run(env, mods)
        serial_s = time.perf_counter() - s0
        serial_pool.close()

        pool = ConnectionPool()
        par = Runner(lambda h: SSHTransport(h, pool), max_workers=16)
        c0 = time.perf_counter()
        par.run(env, mods)
        cold = time.perf_counter() - c0
        warm_runs = []
        for _ in range(REPEAT):
            w0 = time.perf_counter()
            par.run(env, mods)
            warm_runs.append(time.perf_counter() - w0)
        warm = statistics.median(warm_runs)
        pool.close()

        print(f"nlserver delay per call: {DELAY} s (the probe script calls nlserver twice: pdump, monitor -missing)")
        print("| measurement | seconds |")
        print("|---|---|")
        print(f"| CLI `check mta`, 1 host (median of {REPEAT}) | {m1:.2f} |")
        print(f"| CLI `check mta`, {N_HOSTS} hosts (median of {REPEAT}) | {m8:.2f} |")
        print(f"| ratio {N_HOSTS} hosts / 1 host (target <= 1.5) | {m8 / m1:.2f} |")
        print(f"| in-process, {N_HOSTS} hosts one at a time (baseline) | {serial_s:.2f} |")
        print(f"| in-process, {N_HOSTS} hosts in parallel, cold pool | {cold:.2f} |")
        print(f"| in-process, {N_HOSTS} hosts in parallel, warm pool (median of {REPEAT}) | {warm:.2f} |")
        print(f"\nCLI samples 1 host: {[round(x, 2) for x in t1]}; {N_HOSTS} hosts: {[round(x, 2) for x in t8]}")
        if m8 / m1 > 1.5:
            raise SystemExit("FAILED: 8 hosts cost more than 1.5 x one host")
    finally:
        lab.close()


if __name__ == "__main__":
    main()
