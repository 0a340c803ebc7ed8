"""Reliability benchmark: time from a worker killed mid-question to the re-run answer in the same message.

`campaign-bot serve` runs as a real process with its worker (embedded default: one SQLite file),
the fake Slack Web API on loopback, two simulated hosts behind the local transport. For each run a
question is asked while one host is slow, the worker is killed (SIGKILL) once the first reply is
up, the host is made fast again, and the clock runs until the final answer replaces the first
reply. That time is what a user waits for because of the crash: the serve process notices the dead
worker, starts a new one (1 s back-off), which runs the interrupted question again.
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.harness.service import Lab, build_hosts, set_slow, write_inventory  # noqa: E402

RUNS = 5


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cb-bench-recovery-"))
    fake = FakeSlack().start()
    homes = build_hosts(tmp / "hosts")
    lab = Lab(tmp, fake, write_inventory(tmp / "inventory.yaml", homes), homes)
    times: list[float] = []
    try:
        for run in range(RUNS):
            # A fresh service per run: the supervisor's back-off grows when a worker dies again within a
            # minute (crash-loop protection), which is not what a single crash costs.
            svc = lab.start("serve")  # INFO: the worker says when it takes jobs
            worker = svc.wait_worker()
            set_slow(homes["app2"], 20)
            ts = svc.mention("mail not sending")
            lab.wait_thread(ts, "Checking", timeout=60)
            time.sleep(0.5)
            os.kill(worker, signal.SIGKILL)
            killed = time.monotonic()
            set_slow(homes["app2"], 0)
            lab.wait_thread(ts, ":books:", timeout=120)
            took = time.monotonic() - killed
            assert len(lab.answers_in(ts)) == 1
            times.append(took)
            print(f"run {run + 1}: killed worker -> re-run answer in {took:.2f} s", flush=True)
            svc.stop()
    finally:
        lab.close()
        fake.stop()
    print(
        f"\nkilled worker -> re-run answer: median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f} s, max {max(times):.2f} s over {len(times)} runs"
    )


if __name__ == "__main__":
    main()
