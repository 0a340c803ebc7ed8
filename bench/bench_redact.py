"""Redaction benchmark: cost per KB of `bot.redact.redact` on the texts it sees, and per log record.

Run: `.venv/bin/python bench/bench_redact.py` (or `make bench`). Prints a Markdown table. Each figure is
the median (and best) of several rounds, in one process, after a warm-up; the first call's one-off cost
(importing detect-secrets and building its patterns) is printed separately. For scale, the hand-written
regex list that `bot/redact.py` held before (commit 1dd8dc3, when git and that commit are available) is
timed on the same texts.
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.secrets import CORPUS, SURVIVORS  # noqa: E402

OLD_COMMIT = "1dd8dc3"


def first_call_ms() -> float:
    """Import + first redact() in a fresh interpreter (detect-secrets is loaded on first use)."""
    code = (
        "import time; t=time.perf_counter(); from bot.redact import redact; redact('password=x'); "
        "print((time.perf_counter()-t)*1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return float(out.stdout.strip())


def old_redact() -> Callable[[str], str] | None:
    try:
        src = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:bot/redact.py"], capture_output=True, text=True, cwd=ROOT, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    mod = types.ModuleType("old_redact")
    exec(compile(src, "old_redact.py", "exec"), mod.__dict__)  # our own file, from git history
    fn: Callable[[str], str] = mod.redact
    return fn


def campaign_log(kb: int) -> str:
    """A realistic module log with no secret in it (what most tails and reports are made of)."""
    lines = [
        "2024-05-31T08:42:{s:02d}.124Z\t2320\t2320\t1\tinfo\tlog\tMessage delivery batch processed (12 messages)",
        "2024-05-31T08:42:{s:02d}.311Z\t2320\t2321\t1\twarning\tlog\tChild process ended: maxWorkingSetMb (128) reached",
        "2024-05-31T08:42:{s:02d}.512Z\t3120\t3120\t1\terror\tlog\tPGS-220000 PostgreSQL error: FATAL: remaining "
        "connection slots are reserved (iRc=-2006)",
        "2024-05-31T08:42:{s:02d}.733Z\t2322\t2322\t1\tinfo\tlog\tWorkflow 'cleanup' (id 5c7e0b3a-9f1d-4c2e-8a6b-"
        "1d2e3f4a5b6c) is being run",
        "2024-05-31T08:42:{s:02d}.901Z\t4111\t4111\t1\tinfo\tlog\tTracking logs written: 512 entries to "
        "/usr/local/neolane/nl6/var/prod/redir/log/0x00000000000A0000.log",
    ]
    out: list[str] = []
    size = 0
    i = 0
    while size < kb * 1024:
        line = lines[i % len(lines)].format(s=i % 60)
        out.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(out)


def hostile_inputs() -> dict[str, str]:
    """Texts a hostile or broken host could send, each ~100 KB, built to make a careless pattern quadratic:
    long runs of token prefixes, markers without their pair, keys without values, unclosed quotes."""
    return {
        "eyJ x30000": "eyJ" * 30000,
        "ghp_ x25000": "ghp_" * 25000,
        "a/b@ x25000": "a/b@" * 25000,
        "/ x100000": "/" * 100000,
        "-----BEGIN x3000": "-----BEGIN RSA PRIVATE KEY-----\n" * 3000,
        "-setdblogin: x8000": "-setdblogin:" * 8000,
        "password= x10000": "password=" * 10000,
        'password=\\" x9000': 'password=\\"' * 9000,
        "<password><![CDATA[ x5000": "<password><![CDATA[" * 5000,
        "password: | + 30000 lines": "password: |\n" + "  x\n" * 30000,
        "value= x16000": "value=" * 16000,
        "A x100000": "A" * 100000,
    }


def per_kb(fn: Callable[[str], str], text: str, rounds: int = 15) -> tuple[float, float]:
    """(median, best) microseconds per KB of `text`."""
    fn(text)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t0)
    kb = len(text) / 1024
    return statistics.median(times) * 1e6 / kb, min(times) * 1e6 / kb


def per_record_us(records: list[tuple[str, tuple[object, ...]]], rounds: int = 5) -> float:
    """Median microseconds per record for a logger at INFO with a redacting filter and a null handler."""
    from bot.redact import RedactingFilter

    logger = logging.getLogger("bench.redact")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.NullHandler()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for msg, args in records:
            logger.info(msg, *args)
        times.append((time.perf_counter() - t0) / len(records))
    logger.removeHandler(handler)
    return statistics.median(times) * 1e6


def main() -> None:
    print(f"first call in a fresh process (import + detect-secrets patterns): {first_call_ms():.0f} ms\n")
    from bot.redact import redact, redact_lines

    corpus = "\n".join(c.text for c in CORPUS)
    texts = {
        "Campaign module log, no secrets (64 KB)": campaign_log(64),
        "evidence that survives unchanged (survivors x10)": "\n".join(SURVIVORS * 10),
        f"secret corpus, one text ({len(CORPUS)} texts, {sum(len(c.secrets) for c in CORPUS)} secrets)": corpus,
        "secret corpus as one JSON line (slack_sdk debug body)": json.dumps({c.id: c.text for c in CORPUS}),
    }
    old = old_redact()
    print("| text | size | µs per KB, median (best) | old hand-written list, µs per KB |")
    print("|---|---|---|---|")
    for name, text in texts.items():
        med, best = per_kb(redact, text)
        old_cell = f"{per_kb(old, text)[0]:.0f}" if old else "n/a"
        print(f"| {name} | {len(text) / 1024:.1f} KB | {med:.0f} ({best:.0f}) | {old_cell} |")
    worst = max(((per_kb(redact, text, rounds=3)[0], name) for name, text in hostile_inputs().items()))
    print(f"\nAdversarial inputs (12 kinds, ~100 KB each): worst {worst[0]:.0f} µs per KB ({worst[1]}).")
    tail = campaign_log(6).split("\n")[-20:]
    t0 = time.perf_counter()
    for _ in range(200):
        redact_lines(tail)
    tail_us = (time.perf_counter() - t0) / 200 * 1e6
    records = [("host %s answered: %s", ("app1", line)) for line in campaign_log(16).split("\n")]
    records += [("finding %s", (c.text,)) for c in CORPUS]
    rec_us = per_record_us(records)
    print(f"\n- a 20-line log tail through `redact_lines`: {tail_us:.0f} µs")
    avg = statistics.mean(len(str(args[-1])) for _, args in records)
    print(
        f"- a log record through `RedactingFilter` ({len(records)} records, {avg:.0f} characters on average): {rec_us:.0f} µs"
    )


if __name__ == "__main__":
    main()
