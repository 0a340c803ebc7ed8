"""Fan-out benchmark: 200 hosts, 100 of them silent, in one run.

- 100 real OpenSSH `sshd` hosts, each in front of a simulated Campaign install (the same simulator as
  the tests), on 127.0.1.N;
- 100 silent hosts: real TCP listeners on 127.0.2.N that complete the TCP handshake (the kernel does,
  up to the listen backlog) but never accept and never send a byte, so each costs the bot its whole
  connect timeout waiting for the SSH banner: what a hung sshd or a half-dead host does.

The inventory uses the default timeouts (connect 5 s, command 15 s: a per-host deadline of 20 s), so
the target is that the run ends within two per-host deadlines (40 s) with every host checked. Each
run uses a fresh connection pool (cold, as for a first question). `Runner(max_workers=16)` is the
before (the fixed pool size the issue measured), `Runner()` (64, the default of
CAMPAIGN_BOT_CONCURRENCY) the after; hosts in inventory order alternate real/silent, and a second
order puts all silent hosts first (the worst case for a bounded pool).

Run as root or as a user that can start sshd: `.venv/bin/python bench/bench_fanout.py [--hosts 200] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.inventory import Environment, Host, load_inventory  # noqa: E402
from bot.kb import load_knowledge  # noqa: E402
from bot.runner import DEFAULT_CONCURRENCY, Runner  # noqa: E402
from bot.simulator.fleet import build_host, default_scenarios  # noqa: E402
from bot.transports.ssh import ConnectionPool, SSHTransport  # noqa: E402
from tests.harness.sshd import SshdLab, chown_tree, write_inventory  # noqa: E402

CONNECT_S = 5.0
COMMAND_S = 15.0


def mute_listener(address: str) -> socket.socket:
    s = socket.socket()
    s.bind((address, 0))
    s.listen(64)  # never accepted: the kernel completes handshakes, nobody ever speaks
    return s


def one_run(env: Environment, order: list[Host], workers: int) -> dict[str, float | int]:
    kb = load_knowledge()
    pool = ConnectionPool()
    runner = Runner(lambda h: SSHTransport(h, pool), max_workers=workers)
    t0 = time.perf_counter()
    res = runner.run(env, [kb.get("mta")], hosts=order)
    wall = time.perf_counter() - t0
    pool.close()
    connect_errors = {f.host: f for f in res.findings if f.check == "connect"}
    real = [h for h in order if h.name.startswith("real")]
    silent = [h for h in order if h.name.startswith("silent")]
    real_ok = sum(1 for h in real if h.name not in connect_errors and any(f.host == h.name for f in res.findings))
    kinds = Counter(
        "cut by run deadline" if "deadline" in f.summary else "no SSH banner" if "did not speak SSH" in f.summary
        else f.summary[:40]
        for f in connect_errors.values()
    )  # fmt: skip
    return {
        "wall": wall,
        "real_ok": real_ok,
        "real": len(real),
        "silent_seen": sum(
            1 for h in silent if h.name in connect_errors and "did not speak SSH" in connect_errors[h.name].summary
        ),
        "silent": len(silent),
        "cut": kinds.get("cut by run deadline", 0),
        "other": sum(v for k, v in kinds.items() if k not in ("cut by run deadline", "no SSH banner")),
        "max_host_s": max(res.host_ms.values(), default=0) / 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=200, help="total hosts, half of them silent")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_real = args.hosts // 2
    n_silent = args.hosts - n_real
    lab = SshdLab()
    mutes: list[socket.socket] = []
    try:
        app1 = default_scenarios()[0]
        hosts: list[dict[str, object]] = []
        t0 = time.perf_counter()
        for i in range(n_real):
            sc = type(app1)(**{**app1.__dict__, "name": f"real{i:03d}"})
            home = build_host(lab.root / "hosts", sc, ("prod",))
            h = lab.start_host(sc.name, f"127.0.1.{1 + i}", home)
            hosts.append({"name": sc.name, "address": h.address, "port": h.port, "nl_home": str(home)})
        chown_tree(lab.root / "hosts", lab.user)
        silent: list[dict[str, object]] = []
        for i in range(n_silent):
            m = mute_listener(f"127.0.2.{1 + i}")
            mutes.append(m)
            silent.append(
                {"name": f"silent{i:03d}", "address": f"127.0.2.{1 + i}", "port": m.getsockname()[1], "nl_home": "/x"}
            )
        interleaved = [h for pair in zip(hosts, silent, strict=True) for h in pair]
        inv = write_inventory(
            lab.root / "fanout.yaml", lab, interleaved, connect_timeout_s=CONNECT_S, command_timeout_s=COMMAND_S
        )
        print(f"setup: {n_real} sshd hosts + {n_silent} silent listeners in {time.perf_counter() - t0:.1f} s")
        env = load_inventory(inv).environment("it")
        by_name = {h.name: h for h in env.hosts}
        orders = {
            "alternating": list(env.hosts),
            "silent first": [by_name[str(h["name"])] for h in silent + hosts],
        }
        deadline = env.hosts[0].deadline_s
        one_run(env, list(env.hosts)[:4], 4)  # warm imports and the page cache
        print(f"per-host deadline {deadline:g} s (connect {CONNECT_S:g} + command {COMMAND_S:g}); target: run <= "
              f"{2 * deadline:g} s with every host checked")  # fmt: skip
        print()
        print(f"| workers | host order | wall s (median of {args.repeat}) | min-max s | real hosts checked | silent "
              "hosts reported as silent | cut by the run deadline | slowest host s |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for workers in (16, DEFAULT_CONCURRENCY, args.hosts):
            for label, order in orders.items():
                runs = [one_run(env, order, workers) for _ in range(args.repeat)]
                walls = [float(r["wall"]) for r in runs]
                last = runs[-1]
                print(
                    f"| {workers} | {label} | {statistics.median(walls):.1f} | {min(walls):.1f}-{max(walls):.1f} | "
                    f"{last['real_ok']}/{last['real']} | {last['silent_seen']}/{last['silent']} | {last['cut']} | "
                    f"{float(last['max_host_s']):.1f} |"
                )
                if any(int(r["other"]) for r in runs):
                    print(f"  (unexpected errors in {label} with {workers} workers: {[r['other'] for r in runs]})")
                sys.stdout.flush()
    finally:
        for m in mutes:
            m.close()
        lab.close()


if __name__ == "__main__":
    main()
