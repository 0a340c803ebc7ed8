"""Scale-out on one real redis-server: `serve --no-worker` replicas acknowledge, `worker`s answer.

Every event is delivered to both replicas (as a load balancer retrying, or Slack re-delivering,
would); every question is answered exactly once, also when a worker is killed mid-job.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.fake_slack import FakeSlack
from tests.harness.redis import redis_server
from tests.harness.service import Lab, build_hosts, set_slow, write_inventory


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with redis_server() as url:
        fake = FakeSlack().start()
        homes = build_hosts(tmp_path / "hosts")
        lab = Lab(tmp_path, fake, write_inventory(tmp_path / "inventory.yaml", homes), homes, redis_url=url)
        try:
            yield lab
        finally:
            lab.close()
            fake.stop()


def event_body(n: int, text: str) -> tuple[str, str]:
    ts = f"1900000000.{n:06d}"
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event_id": f"EvScale{n:05d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "app_mention",
                "user": "UALICE",
                "text": f"<@UBOT> {text}",
                "ts": ts,
                "channel": "CPROD",
                "event_ts": ts,
            },
        }
    )
    return ts, body


def finals(lab: Lab, ts: str) -> int:
    """How many answers the thread got (top-level messages); the final one carries the docs line."""
    return len(lab.answers_in(ts))


def answered(lab: Lab, ts: str) -> bool:
    return any(":books:" in t for t in lab.thread(ts))


def test_two_replicas_two_workers_every_event_twice_answered_once(lab: Lab) -> None:
    from tests.harness.service import sign

    replicas = [lab.start("serve", "--no-worker", name=f"serve{i}") for i in range(2)]
    workers = [lab.start("worker", name=f"worker{i}", wait=False) for i in range(2)]
    for w in workers:
        assert lab.fake.wait_for(lambda w=w: "threads, state in Redis" in w.log.read_text(), timeout=60), (
            w.log.read_text()
        )
    tss = []
    errors: list[str] = []

    def deliver(n: int) -> None:
        ts, body = event_body(n, "is mta running?")
        tss.append(ts)
        for r in replicas:  # the same event to both replicas
            status, _ = r.post(body, sign(body))
            if status != 200:
                errors.append(f"{n}: {status}")

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert lab.fake.wait_for(lambda: all(answered(lab, ts) for ts in tss), timeout=180), sum(
        answered(lab, ts) for ts in tss
    )
    time.sleep(1.0)  # late duplicates would show now
    assert all(finals(lab, ts) == 1 for ts in tss), [ts for ts in tss if finals(lab, ts) != 1][:5]
    eyes = [c for c in lab.fake.of("reactions.add") if c.params.get("name") == "eyes"]
    assert len(eyes) == 100


def test_a_worker_killed_mid_job_leaves_no_question_unanswered(lab: Lab) -> None:
    from tests.harness.service import sign

    replica = lab.start("serve", "--no-worker", name="serve")
    workers = [lab.start("worker", name=f"worker{i}", wait=False) for i in range(2)]
    for w in workers:
        assert lab.fake.wait_for(lambda w=w: "threads, state in Redis" in w.log.read_text(), timeout=60)
    set_slow(lab.homes["app2"], 4)
    tss = []
    for n in range(10):
        ts, body = event_body(1000 + n, "mail not sending")
        tss.append(ts)
        assert replica.post(body, sign(body))[0] == 200
    assert lab.fake.wait_for(lambda: sum("Checking" in " ".join(lab.thread(ts)) for ts in tss) >= 4, timeout=60)
    time.sleep(1.0)
    os.kill(workers[0].proc.pid, signal.SIGKILL)
    set_slow(lab.homes["app2"], 0)
    assert lab.fake.wait_for(lambda: all(answered(lab, ts) for ts in tss), timeout=120), [
        ts for ts in tss if not answered(lab, ts)
    ]
    assert all(finals(lab, ts) == 1 for ts in tss)


def test_a_worker_frozen_past_its_lease_never_overwrites_the_rerun(lab: Lab) -> None:
    """A worker stopped (SIGSTOP: a VM paused, a GC or swap storm) longer than its lease: the other worker
    runs the question again and answers in the same message; the frozen one, resumed, went on and
    overwrote that answer with its own (without "interrupted and run again") and reacted a second time."""
    from tests.harness.service import sign

    replica = lab.start("serve", "--no-worker", name="serve")
    first = lab.start("worker", name="worker0", wait=False)
    assert lab.fake.wait_for(lambda: "threads, state in Redis" in first.log.read_text(), timeout=60)
    set_slow(lab.homes["app2"], 4)
    ts, body = event_body(3000, "mail not sending")
    assert replica.post(body, sign(body))[0] == 200
    assert lab.fake.wait_for(lambda: "Checking" in " ".join(lab.thread(ts)), timeout=60)
    time.sleep(0.5)
    os.kill(first.proc.pid, signal.SIGSTOP)
    try:
        second = lab.start("worker", name="worker1", wait=False)
        assert lab.fake.wait_for(lambda: "threads, state in Redis" in second.log.read_text(), timeout=60)
        set_slow(lab.homes["app2"], 0)
        assert lab.fake.wait_for(lambda: answered(lab, ts), timeout=60)  # after the 15 s lease
        assert "interrupted and run again" in " ".join(lab.thread(ts))
        rerun = lab.thread(ts)[-1]
        calls = len(lab.fake.calls)
    finally:
        os.kill(first.proc.pid, signal.SIGCONT)
    time.sleep(8)  # the resumed worker's checks end meanwhile
    late = [
        c.method for c in lab.fake.calls[calls:] if c.method in ("chat.update", "chat.postMessage", "reactions.add")
    ]
    assert late == [], f"the resumed worker still wrote to the thread: {late}"
    assert lab.thread(ts)[-1] == rerun
    assert finals(lab, ts) == 1
    assert "another worker runs it" in first.log.read_text()
