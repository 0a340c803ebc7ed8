"""A question's first reply is never left behind: a worker killed after Slack took that reply but
before it recorded where (the ts was still on its way back) is found again by the re-run, through
the reply's message metadata, and answered in place; when Slack refuses the answer and its fallback,
the thread gets a short explained error and ❌, never "Checking…" with ✅."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.fake_slack import FakeSlack
from tests.harness.service import Lab, build_hosts, set_slow, sign, write_inventory


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    fake = FakeSlack().start()
    homes = build_hosts(tmp_path / "hosts")
    lab = Lab(tmp_path, fake, write_inventory(tmp_path / "inventory.yaml", homes), homes)
    try:
        yield lab
    finally:
        lab.close()
        fake.stop()


def test_a_worker_killed_before_it_heard_its_first_reply_ts_answers_in_that_reply(lab: Lab) -> None:
    svc = lab.start("serve")
    worker = svc.wait_worker()
    lab.fake.hold["chat.postMessage"] = [30.0]  # Slack posts the first reply; its ts comes back late
    ts = svc.mention("mail not sending")
    assert lab.fake.wait_for(lambda: any(m.get("thread_ts") == ts for m in lab.fake.messages))
    first = next(m for m in lab.fake.messages if m.get("thread_ts") == ts)
    assert first["metadata"]["event_type"] == "campaign_bot_answer", "the first reply is tagged with its job"
    os.kill(worker, signal.SIGKILL)  # before the worker could record where it answers
    final = lab.wait_thread(ts, ":books:", timeout=60)
    assert "mta@prod" in final
    posted = [c for c in lab.fake.of("chat.postMessage") if c.params.get("thread_ts") == ts]
    assert len(posted) == 1, "the re-run answers in the first reply, it does not post a second one"
    assert lab.fake.of("conversations.replies"), "the re-run looked for its first reply"
    updates = [c for c in lab.fake.of("chat.update") if c.params.get("ts") == first["ts"]]
    assert updates, "the first reply is updated with the answer"
    assert "interrupted and run again" in " ".join(lab.thread(ts))
    assert lab.fake.wait_for(lambda: lab.fake.reactions("CPROD", ts) >= {"eyes"})


def test_an_answer_slack_refuses_twice_ends_with_an_explained_error_and_a_cross(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    set_slow(lab.homes["app2"], 1)
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, "Checking")
    # the final update and its fallback post are both refused, as Slack does with a message too long
    lab.fake.fail["chat.update"] = ["msg_too_long"] * 50
    lab.fake.fail["chat.postMessage"] = ["msg_too_long"]
    assert lab.fake.wait_for(lambda: "x" in lab.fake.reactions("CPROD", ts), timeout=60)
    assert "white_check_mark" not in lab.fake.reactions("CPROD", ts)
    text = lab.wait_thread(ts, "Slack refused the answer (msg_too_long)")
    assert "audit log" in text


def test_a_signed_mention_without_a_channel_is_dropped_without_a_traceback(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    ok_ts = svc.mention("mail not sending")
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A1",
            "event_id": "EvNoChannel",
            "event_time": int(time.time()),
            "event": {"type": "app_mention", "user": "UALICE", "text": "<@UBOT> check app1"},
        }
    )
    status, _ = svc.post(body, sign(body))
    assert status == 200
    lab.wait_thread(ok_ts, ":books:", timeout=60)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "EvNoChannel" not in svc.log.read_text():
        time.sleep(0.1)
    log = svc.log.read_text()
    assert "Traceback" not in log and "KeyError" not in log
