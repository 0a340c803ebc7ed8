"""Matcher benchmark: accuracy on the dev, extra, tuning and blind sets, and time per question (median, p95).

Run: `.venv/bin/python bench/bench_matcher.py [EXTRA.jsonl ...]` (or `make bench`). Prints a Markdown
table. Only aggregate figures are printed: the blind sets must not be tuned on question by question.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.kb import load_knowledge  # noqa: E402
from bot.matcher import Matcher  # noqa: E402
from tests.test_matcher import evaluate  # noqa: E402

SETS = {
    "dev set (shared/eval/symptoms-dev.jsonl)": ROOT.parent / "shared" / "eval" / "symptoms-dev.jsonl",
    "extra set (tests/data/symptoms-extra.jsonl)": ROOT / "tests" / "data" / "symptoms-extra.jsonl",
    "tuning set (tests/data/symptoms-tuning.jsonl)": ROOT / "tests" / "data" / "symptoms-tuning.jsonl",
    "blind set (tests/data/symptoms-blind.jsonl)": ROOT / "tests" / "data" / "symptoms-blind.jsonl",
    "blind set 2 (tests/data/symptoms-blind2.jsonl)": ROOT / "tests" / "data" / "symptoms-blind2.jsonl",
    "audit set (tests/data/symptoms-blind3.jsonl, tuned on)": ROOT / "tests" / "data" / "symptoms-blind3.jsonl",
    "blind set 4 (tests/data/symptoms-blind4.jsonl, seen once)": ROOT / "tests" / "data" / "symptoms-blind4.jsonl",
    "blind set 5 (tests/data/symptoms-blind5.jsonl, seen once)": ROOT / "tests" / "data" / "symptoms-blind5.jsonl",
}


def main(argv: list[str]) -> None:
    sets = dict(SETS)
    for arg in argv:
        sets[arg] = Path(arg)
    t0 = time.perf_counter()
    kb = load_knowledge()
    matcher = Matcher(kb)
    build_ms = (time.perf_counter() - t0) * 1000
    print(f"knowledge load + matcher build: {build_ms:.1f} ms\n")
    print("| set | questions | top-1 | all expected in top-3 | abstains off-topic | top-1 EN | top-1 NL |")
    print("|---|---|---|---|---|---|---|")
    texts: list[str] = []
    for name, path in sets.items():
        if not path.exists():
            continue
        rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        texts += [r["text"] for r in rows]
        r = evaluate(matcher, path)
        print(
            f"| {name} | {len(rows)} | {r['top1']:.1%} | {r['top3']:.1%} | {r['abstain']:.1%} | "
            f"{r.get('top1_en', 0):.1%} | {r.get('top1_nl', 0):.1%} |"
        )
    # Timing: a fresh matcher per round so the typo cache does not flatter repeated questions. Wall
    # time depends on what else the machine runs; the thread's CPU time is the matcher's own cost.
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(5):
        m = Matcher(kb)
        for t in texts:
            s, c = time.perf_counter(), time.thread_time()
            m.match(t)
            cpu.append((time.thread_time() - c) * 1000)
            wall.append((time.perf_counter() - s) * 1000)
    for name, per_q in (("wall", wall), ("CPU", cpu)):
        per_q.sort()
        print(
            f"\nper question, {name} time, over {len(per_q)} calls: median {statistics.median(per_q):.3f} ms, "
            f"p95 {per_q[int(len(per_q) * 0.95)]:.3f} ms, max {per_q[-1]:.3f} ms"
        )
    print(f"\nload average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main(sys.argv[1:])
