"""HTTP limits: memory under eight 50 MB bodies at once, and a signed request's latency while 150
idle (or slow) connections are open. Before (waitress defaults and Bolt's handler, as
`campaign-bot serve` ran before bot.http) and after (bot.http). Each server runs in its own process
(`python -m tests.http.stack`), whose RSS is sampled with psutil every 10 ms."""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.http.stack import Answer, mention_body, post_slack, send_large  # noqa: E402

MB = 1024 * 1024


def start(plain: bool) -> tuple[subprocess.Popen[str], int]:
    args = [sys.executable, "-m", "tests.http.stack", *(["--plain"] if plain else [])]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("port "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, int(line.split()[1])


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def memory_attack(plain: bool, chunked: bool, count: int = 8, size: int = 50_000_000) -> dict[str, object]:
    proc, port = start(plain)
    try:
        post_slack(port, mention_body())  # warm up: imports, first request
        ps = psutil.Process(proc.pid)
        base = ps.memory_info().rss
        peak = base
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                try:
                    peak = max(peak, ps.memory_info().rss)
                except psutil.Error:
                    return
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.monotonic()
        with ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(lambda _: send_large(port, size, chunked=chunked, timeout=120), range(count)))
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
        done.set()
        sampler.join()
        statuses = sorted(
            {
                f"{sum(1 for b in answers if (b.status or b.note) == (a.status or a.note))} x {a.status or a.note}"
                for a in answers
            }
        )
        return {"base_mb": base / MB, "peak_mb": peak / MB, "seconds": elapsed, "statuses": statuses}
    finally:
        stop(proc)


def open_idle(port: int, n: int, slow: bool) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if slow:  # a request line and one header, then nothing more (a slow-loris client)
            s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    return socks


def idle_latency(plain: bool, slow: bool, rounds: int = 5) -> list[Answer]:
    proc, port = start(plain)
    answers = []
    try:
        post_slack(port, mention_body())
        for i in range(rounds):
            socks = open_idle(port, 150, slow)
            time.sleep(0.3)
            answers.append(post_slack(port, mention_body(f"EvIdle{i}"), timeout=10))
            for s in socks:
                s.close()
            time.sleep(0.5)
    finally:
        stop(proc)
    return answers


def main() -> int:
    for plain in (True, False):
        name = "before (waitress defaults)" if plain else "after (bot.http)"
        for chunked in (False, True):
            r = memory_attack(plain, chunked)
            framing = "chunked" if chunked else "Content-Length"
            print(
                f"{name}, 8 x 50 MB unsigned, {framing}: RSS {r['base_mb']:.0f} -> peak {r['peak_mb']:.0f} MB, "
                f"all answered in {r['seconds']:.2f} s, answers {r['statuses']}"
            )
        r = memory_attack(plain, False, count=200, size=1024 * 1024)
        print(
            f"{name}, 200 x 1 MiB unsigned (at the limit): RSS {r['base_mb']:.0f} -> peak {r['peak_mb']:.0f} MB, "
            f"all answered in {r['seconds']:.2f} s, answers {r['statuses']}"
        )
        for slow in (False, True):
            answers = idle_latency(plain, slow, rounds=2 if plain else 5)
            kind = "slow (partial headers)" if slow else "idle"
            ok = [a.seconds * 1000 for a in answers if a.status == 200]
            failed = [f"{a.status or a.note} after {a.seconds:.1f} s" for a in answers if a.status != 200]
            fig = f"median {statistics.median(ok):.1f} ms, max {max(ok):.1f} ms" if ok else "no answer"
            print(
                f"{name}, signed request with 150 {kind} connections open: {len(ok)}/{len(answers)} ok, {fig}"
                + (f"; failed: {failed}" if failed else "")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
