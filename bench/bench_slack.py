"""Slack benchmark: acknowledgement latency under 50 concurrent requests (target p99 < 100 ms) and
time from a mention to the first thread reply (target < 1 s).

`campaign-bot serve` runs as a real process (waitress, HTTP mode) against the fake Slack Web API on
loopback, with the simulated fleet behind it (an explicit inventory of local simulated hosts).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.simulator import build_simulated_inventory  # noqa: E402
from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.slack.conftest import Bot, sign, start_bot, wait_healthy  # noqa: E402

CONCURRENT = 50


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cb-bench-slack-"))
    inv = build_simulated_inventory(tmp / "fleet")
    env = inv.environment("prod")
    data = {
        "environments": {
            "prod": {
                "instances": ["prod"],
                "channels": ["CPROD"],
                "hosts": [
                    {"name": h.name, "transport": "local", "nl_home": h.nl_home, "env_path": h.env_path}
                    for h in env.hosts
                ],
            }
        }
    }
    (tmp / "inventory.yaml").write_text(yaml.safe_dump(data))
    fake = FakeSlack().start()
    no_worker = "--no-worker" in sys.argv
    extra = {
        "LOG_LEVEL": "WARNING",
        "CAMPAIGN_BOT_THREADS": "16",
        **dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a),
    }
    # --no-worker: the acknowledging process alone (the ack path itself, with no checks running on the
    # same two cores); by default its worker runs beside it and answers every mention of the bursts.
    proc, url = start_bot(tmp, fake, tmp / "inventory.yaml", extra, ("--no-worker",) if no_worker else ())
    try:
        wait_healthy(url, proc, tmp / "bot.log")
        bot = Bot(url, fake, tmp / "audit.jsonl", proc, None)  # type: ignore[arg-type]
        bot.command("mta")  # warm up

        def burst(kind: str, round_no: int) -> list[float]:
            """50 requests at once with curl --parallel (a separate process, so the client's own
            threads do not share a GIL with the fake Slack API and skew the figures)."""
            cfg = []
            for i in range(CONCURRENT):
                if kind == "command":
                    body = urllib.parse.urlencode(
                        {
                            "command": "/campaign-module",
                            "text": ["mta", "waakhond", "wf server", "inmail"][i % 4],
                            "user_id": "UALICE",
                            "channel_id": "CPROD",
                            "team_id": "T0001",
                            "response_url": fake.url + "r",
                            "trigger_id": "1",
                        }
                    )
                    ctype = "application/x-www-form-urlencoded"
                else:
                    ts = f"17001{round_no:05d}.{i:06d}"
                    body = json.dumps(
                        {
                            "type": "event_callback",
                            "team_id": "T0001",
                            "event_id": f"EvB{round_no}-{i}-{time.time_ns()}",
                            "event": {
                                "type": "app_mention",
                                "user": "UALICE",
                                "text": "<@UBOT> good morning",
                                "ts": ts,
                                "channel": "CPROD",
                            },
                        }
                    )
                    ctype = "application/json"
                f = tmp / f"body-{kind}-{i}"
                f.write_text(body)
                h = sign(body)
                cfg += [
                    f'url = "{url}/slack/events"',
                    f'data-binary = "@{f}"',
                    f'header = "Content-Type: {ctype}"',
                    f'header = "X-Slack-Signature: {h["X-Slack-Signature"]}"',
                    f'header = "X-Slack-Request-Timestamp: {h["X-Slack-Request-Timestamp"]}"',
                    'write-out = "%{http_code} %{time_total}\\n"',
                    'output = "/dev/null"',
                    "next",
                ]
            (tmp / "curl.cfg").write_text("\n".join(cfg[:-1]) + "\n")
            out = subprocess.run(
                [
                    "curl",
                    "-s",
                    "--parallel",
                    "--parallel-immediate",
                    "--parallel-max",
                    str(CONCURRENT),
                    "-K",
                    str(tmp / "curl.cfg"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            rows = [line.split() for line in out.splitlines() if line.strip()]
            assert len(rows) == CONCURRENT and all(r[0] == "200" for r in rows), out[:500]
            return [float(r[1]) * 1000 for r in rows]

        results = {}
        for kind in ("command", "event"):
            runs = [burst(kind, n) for n in range(3)]
            flat = [x for r in runs for x in r]
            results[kind] = flat

        if no_worker:
            print(f"{CONCURRENT} concurrent requests, 3 bursts each, `serve --no-worker` (acknowledging only)\n")
            print("| measurement | p50 ms | p99 ms | max ms |")
            print("|---|---|---|---|")
            for kind, label in (
                ("command", "ack of /campaign-module (card in the ack)"),
                ("event", "ack of app_mention events"),
            ):
                xs = results[kind]
                print(f"| {label} | {statistics.median(xs):.1f} | {pct(xs, 99):.1f} | {max(xs):.1f} |")
            return
        # Let the worker answer the 150 burst mentions first: the next figure is about one mention
        # on a bot that is not still draining a burst.
        fake.wait_for(
            lambda: (
                sum(1 for c in fake.of("chat.postMessage") if str(c.params.get("thread_ts", "")).startswith("17001"))
                >= 150
            ),
            timeout=300,
        )
        # ... and the answers to finish (the last posts come while hosts are still being checked).
        fake.wait_for(
            lambda: (
                sum(1 for c in fake.of("reactions.add") if str(c.params.get("timestamp", "")).startswith("17001"))
                >= 300
            ),
            timeout=300,
        )
        first_reply: list[float] = []
        for i in range(10):
            ts = f"1700200000.{i:06d}"
            start = time.monotonic()
            bot.event(
                {
                    "type": "app_mention",
                    "user": "UALICE",
                    "text": "<@UBOT> mail not sending",
                    "ts": ts,
                    "channel": "CPROD",
                },
                f"EvFirst{i}{time.time_ns()}",
            )
            fake.wait_for(
                lambda ts=ts: any(c.params.get("thread_ts") == ts for c in fake.of("chat.postMessage")), timeout=60
            )
            first = min(c.at for c in fake.of("chat.postMessage") if c.params.get("thread_ts") == ts)
            first_reply.append((first - start) * 1000)
            fake.wait_for(
                lambda ts=ts: sum(1 for c in fake.of("reactions.add") if c.params.get("timestamp") == ts) >= 2,
                timeout=60,
            )

        print(f"{CONCURRENT} concurrent requests, 3 bursts each, `campaign-bot serve` (waitress, 16 threads)\n")
        print("| measurement | p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|")
        for kind, label in (
            ("command", "ack of /campaign-module (card in the ack)"),
            ("event", "ack of app_mention events"),
        ):
            xs = results[kind]
            print(f"| {label} | {statistics.median(xs):.1f} | {pct(xs, 99):.1f} | {max(xs):.1f} |")
        print(
            f"| mention -> first thread reply (10 runs) | {statistics.median(first_reply):.1f} | {pct(first_reply, 99):.1f} | {max(first_reply):.1f} |"
        )
        print("\n" + json.dumps({"samples_first_reply_ms": [round(x, 1) for x in first_reply]}))
    finally:
        proc.terminate()
        proc.wait(10)
        fake.stop()


if __name__ == "__main__":
    main()
