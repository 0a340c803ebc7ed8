"""The service never loses a question and never outlives its configuration: signals, killed
workers, restarts with a job running, inventory changes, broken stores."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from tests.harness.fake_slack import FakeSlack
from tests.harness.service import Lab, Service, build_hosts, set_slow, sign, write_inventory


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


def gone(pid: int, within: float) -> bool:
    end = time.monotonic() + within
    while True:
        try:
            if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:  # gone meanwhile (ZombieProcess is one too)
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


def test_sigterm_stops_serve_and_its_worker(lab: Lab) -> None:
    svc = lab.start("serve")
    worker = svc.wait_worker()
    start = time.monotonic()
    assert svc.stop(signal.SIGTERM) == 0
    assert time.monotonic() - start < 15
    assert gone(worker, 1)


def test_sigint_stops_gracefully_too(lab: Lab) -> None:
    svc = lab.start("serve")
    worker = svc.wait_worker()
    assert svc.stop(signal.SIGINT) == 0
    assert gone(worker, 1)


def test_a_killed_serve_takes_its_worker_with_it(lab: Lab) -> None:
    svc = lab.start("serve")
    worker = svc.wait_worker()
    svc.proc.kill()
    svc.proc.wait(5)
    assert gone(worker, 5), "the worker outlived its serve process"


def test_killed_worker_mid_diagnosis_reruns_and_updates_the_same_message(lab: Lab) -> None:
    svc = lab.start("serve")
    worker = svc.wait_worker()
    set_slow(lab.homes["app2"], 6)
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, "Checking")  # the first reply: the checks are running
    time.sleep(1.0)  # let the worker record where it answers (a kill before that is a different test)
    os.kill(worker, signal.SIGKILL)
    set_slow(lab.homes["app2"], 0)
    final = lab.wait_thread(ts, ":books:", timeout=60)
    assert "interrupted and run again" in " ".join(lab.thread(ts))
    assert "mta@prod" in final
    assert "interrupted and run again" in final, "the answer that replaced the progress reply must say so too"
    assert len(lab.answers_in(ts)) == 1, "the re-run must update the same message, not post a second answer"


def test_restart_with_a_job_running_answers_after_the_restart(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    set_slow(lab.homes["app2"], 8)
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, "Checking")
    assert svc.stop(signal.SIGTERM) == 0  # the running job is handed back
    set_slow(lab.homes["app2"], 0)
    lab.start("serve")
    lab.wait_thread(ts, ":books:", timeout=60)
    assert len(lab.answers_in(ts)) == 1


def test_inventory_change_applies_to_the_next_question(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    ts = svc.mention("is mta running?", user="UALICE")
    lab.wait_thread(ts, ":books:")
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"]["protected"] = True
    data["environments"]["prod"]["access"] = {"users": ["UBOSS"]}
    lab.inventory.write_text(yaml.safe_dump(data))
    ts2 = svc.mention("is mta running?", user="UALICE")
    lab.wait_thread(ts2, "protected")
    ts3 = svc.mention("is mta running?", user="UBOSS")
    lab.wait_thread(ts3, ":books:")


def test_a_broken_inventory_is_never_replaced_by_the_old_one(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    lab.inventory.write_text("environments:\n  prod:\n    hosts: [{name: app1, port: nope}]\n")
    ts = svc.mention("is mta running?")
    text = lab.wait_thread(ts, "inventory cannot be used")
    assert "port" in text


def test_sighup_rereads_the_inventory(lab: Lab) -> None:
    svc = lab.start("serve")
    worker = svc.wait_worker()
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"]["aliases"] = ["produktion"]
    lab.inventory.write_text(yaml.safe_dump(data))
    svc.proc.send_signal(signal.SIGHUP)
    os.kill(worker, signal.SIGHUP)
    ts = svc.mention("mail not sending in produktion")
    lab.wait_thread(ts, ":books:")


def test_corrupt_state_file_stops_start_up_with_one_line(lab: Lab) -> None:
    (lab.tmp / "state.sqlite3").write_bytes(b"garbage" * 1000)
    svc = lab.start("serve", wait=False)
    assert svc.proc.wait(20) == 2
    out = svc.log.read_text()
    assert "corrupt" in out and "Traceback" not in out and len(out.strip().splitlines()) <= 3


def test_failed_final_update_falls_back_to_a_new_message(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    lab.fake.fail["chat.update"] = ["message_not_found"] * 50
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, ":books:")
    lab.fake.fail.pop("chat.update")


def test_unwritable_audit_log_still_answers_and_says_so(lab: Lab) -> None:
    (lab.tmp / "audit-dir").mkdir()
    svc = lab.start("serve", CAMPAIGN_BOT_AUDIT_LOG=str(lab.tmp / "audit-dir"))
    svc.wait_worker()
    ts = svc.mention("mail not sending")
    text = lab.wait_thread(ts, ":books:")
    assert "audit log could not be written" in text


def test_state_store_rows_stay_valid(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, ":books:")

    def states() -> list[str]:
        with sqlite3.connect(lab.tmp / "state.sqlite3") as db:
            return [r[0] for r in db.execute("SELECT json_extract(value, '$.state') FROM cb_state WHERE ns='job'")]

    assert lab.fake.wait_for(lambda: bool(states()) and all(s == "done" for s in states()), timeout=20), states()


def test_action_interrupted_by_a_crash_says_outcome_unknown(lab: Lab) -> None:
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"].update({"actions": "enabled", "operators": ["UOPS"]})
    lab.inventory.write_text(yaml.safe_dump(data))
    svc = lab.start("serve")
    worker = svc.wait_worker()
    ts = svc.mention("mail not sending", user="UOPS")
    lab.wait_thread(ts, ":books:")
    button = next(
        b["accessory"]
        for c in reversed(lab.fake.of("chat.update"))
        for b in (c.params.get("blocks") or [])
        if b.get("accessory", {}).get("action_id", "").startswith("act:")
        and "nlserver start mta@prod" in b["text"]["text"]
    )
    set_slow(lab.homes["app2"], 6)  # the simulated `nlserver start` now takes 6 s (and then refuses)
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "UOPS"},
        "api_app_id": "A0001",
        "channel": {"id": "CPROD"},
        "container": {"type": "message", "channel_id": "CPROD", "message_ts": ts},
        "message": {"ts": "1800000000.999999", "thread_ts": ts},
        "trigger_id": "9.9",
        "response_url": lab.fake.url + "response",
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": "b",
                "type": "button",
                "value": button["value"],
                "action_ts": "1",
            }
        ],
    }
    import urllib.parse

    from tests.harness.service import sign

    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    assert svc.post(body, sign(body), "application/x-www-form-urlencoded")[0] == 200
    log = lab.homes["app2"] / "sim" / "invocations.log"
    assert lab.fake.wait_for(lambda: "start mta@prod" in log.read_text(), timeout=30)
    os.kill(worker, signal.SIGKILL)  # while the command runs on the host
    set_slow(lab.homes["app2"], 0)
    text = lab.wait_thread(ts, "interrupted while this ran", timeout=60)
    assert "nlserver start mta@prod" in text
    assert log.read_text().count("start mta@prod") == 1, "a confirmed action must never run twice"
    outcomes = [r["outcome"] for r in lab.audit() if str(r.get("outcome", "")).startswith("action")]
    assert outcomes.index("action-started") < outcomes.index("action-outcome-unknown")


def test_refused_click_keeps_the_button_for_the_operator(lab: Lab) -> None:
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"].update({"actions": "enabled", "operators": ["UOPS"]})
    lab.inventory.write_text(yaml.safe_dump(data))
    svc = lab.start("serve")
    svc.wait_worker()
    ts = svc.mention("mail not sending", user="UOPS")
    lab.wait_thread(ts, ":books:")
    button = next(
        b["accessory"]
        for c in reversed(lab.fake.of("chat.update"))
        for b in (c.params.get("blocks") or [])
        if b.get("accessory", {}).get("action_id", "").startswith("act:")
        and "nlserver start mta@prod" in b["text"]["text"]
    )
    import urllib.parse

    from tests.harness.service import sign

    def click(user: str) -> None:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0001"},
            "user": {"id": user},
            "api_app_id": "A0001",
            "channel": {"id": "CPROD"},
            "container": {"type": "message", "channel_id": "CPROD", "message_ts": ts},
            "message": {"ts": "1800000000.999998", "thread_ts": ts},
            "trigger_id": f"t-{user}",
            "response_url": lab.fake.url + "response",
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "b",
                    "type": "button",
                    "value": button["value"],
                    "action_ts": "1",
                }
            ],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        assert svc.post(body, sign(body), "application/x-www-form-urlencoded")[0] == 200

    click("UMALLORY")
    # Told to the clicker alone (an ephemeral message), the thread stays clean.
    assert lab.fake.wait_for(
        lambda: any(
            "not an operator" in str(c.params.get("text")) and c.params.get("user") == "UMALLORY"
            for c in lab.fake.of("chat.postEphemeral")
        ),
        timeout=40,
    )
    assert not any("not an operator" in t for t in lab.thread(ts))
    click("UOPS")
    lab.wait_thread(ts, "exit 3")  # it ran (the simulator refuses to change state, with exit 3)
    refusals = [r for r in lab.audit() if r.get("outcome") == "action-refused"]
    assert refusals and refusals[0]["user"] == "UMALLORY"


def test_state_file_deleted_while_serving_gets_an_explained_error(lab: Lab) -> None:
    svc = lab.start("serve")
    svc.wait_worker()
    (lab.tmp / "state.sqlite3").unlink()
    ts = svc.mention("mail not sending")
    text = lab.wait_thread(ts, "cannot take questions right now")
    assert "state store" in text
    assert lab.fake.wait_for(
        lambda: any(
            c.params.get("name") == "x" and c.params.get("timestamp") == ts for c in lab.fake.of("reactions.add")
        )
    )


# ------------------------------------------------------------------ a worker never outlives its serve


def _slack_calls_after(lab: Lab, t0: float) -> list[str]:
    """Slack calls that post or update a message, made after `t0` (time.monotonic(), the fake's clock)."""
    return [
        f"{c.method} {str(c.params.get('text'))[:60]}"
        for c in list(lab.fake.calls)
        if c.method in ("chat.update", "chat.postMessage", "files.completeUploadExternal") and c.at > t0
    ]


def test_a_killed_serve_with_a_long_job_takes_its_worker_within_5_seconds(lab: Lab) -> None:
    """The audit's case: a 25 s check kept the orphaned worker alive 35 s, and it posted after serve died."""
    svc = lab.start("serve")
    worker = svc.wait_worker()
    set_slow(lab.homes["app2"], 25)
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, "Checking")
    time.sleep(1.5)  # the checks are running in the worker's threads
    svc.proc.kill()
    t0 = time.monotonic()
    svc.proc.wait(5)
    assert gone(worker, 5), "the worker outlived its serve process"
    time.sleep(1.0)
    assert _slack_calls_after(lab, t0 + 0.5) == [], "the orphaned worker posted after its serve died"
    set_slow(lab.homes["app2"], 0)
    lab.start("serve").wait_worker()
    lab.wait_thread(ts, ":books:", timeout=60)
    assert "interrupted and run again" in " ".join(lab.thread(ts))
    assert len(lab.answers_in(ts)) == 1


def test_sigterm_with_a_long_job_the_worker_exits_on_its_own(lab: Lab) -> None:
    """SIGTERM to serve: the worker gives the job its grace, hands it back and exits by itself, well within
    15 s (never killed by serve at 12 s); the next serve answers it once."""
    svc = lab.start("serve")
    worker = svc.wait_worker()
    set_slow(lab.homes["app2"], 25)
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, "Checking")
    time.sleep(1.0)
    start = time.monotonic()
    assert svc.stop(signal.SIGTERM) == 0
    assert time.monotonic() - start < 12
    assert gone(worker, 0.5)
    out = svc.log.read_text()
    assert "did not stop within" not in out and "killing it" not in out
    assert "handed back" in out
    set_slow(lab.homes["app2"], 0)
    lab.start("serve").wait_worker()
    lab.wait_thread(ts, ":books:", timeout=60)
    assert len(lab.answers_in(ts)) == 1


def _offer_action(lab: Lab, svc: Service) -> tuple[str, dict[str, Any]]:
    ts = svc.mention("mail not sending", user="UOPS")
    lab.wait_thread(ts, ":books:")
    button = next(
        b["accessory"]
        for c in reversed(lab.fake.of("chat.update"))
        for b in (c.params.get("blocks") or [])
        if b.get("accessory", {}).get("action_id", "").startswith("act:")
        and "nlserver start mta@prod" in b["text"]["text"]
    )
    return ts, button


def _click(lab: Lab, svc: Service, ts: str, button: dict[str, Any], user: str = "UOPS") -> None:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "api_app_id": "A0001",
        "channel": {"id": "CPROD"},
        "container": {"type": "message", "channel_id": "CPROD", "message_ts": ts},
        "message": {"ts": "1800000000.999999", "thread_ts": ts},
        "trigger_id": "9.9",
        "response_url": lab.fake.url + "response",
        "actions": [{"action_id": button["action_id"], "block_id": "b", "type": "button", "value": button["value"]}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    assert svc.post(body, sign(body), "application/x-www-form-urlencoded")[0] == 200


def test_a_killed_serve_during_a_confirmed_action_leaves_its_outcome_unknown(lab: Lab) -> None:
    """The orphan must not finish the action and post as if nothing happened: it hands the job back and
    exits at once; the next worker says 'outcome unknown' (audited after 'action-started'), never runs it
    again."""
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"].update({"actions": "enabled", "operators": ["UOPS"]})
    lab.inventory.write_text(yaml.safe_dump(data))
    svc = lab.start("serve")
    worker = svc.wait_worker()
    ts, button = _offer_action(lab, svc)
    set_slow(lab.homes["app2"], 8)  # the simulated `nlserver start` takes 8 s
    _click(lab, svc, ts, button)
    log = lab.homes["app2"] / "sim" / "invocations.log"
    assert lab.fake.wait_for(lambda: "start mta@prod" in log.read_text(), timeout=30)
    svc.proc.kill()
    t0 = time.monotonic()
    svc.proc.wait(5)
    assert gone(worker, 5), "the worker outlived its serve process"
    time.sleep(9)  # longer than the action: an orphan still running it would post its result now
    assert _slack_calls_after(lab, t0 + 0.5) == [], "the orphaned worker posted after its serve died"
    set_slow(lab.homes["app2"], 0)
    lab.start("serve").wait_worker()
    text = lab.wait_thread(ts, "interrupted while this ran", timeout=60)
    assert "nlserver start mta@prod" in text
    assert log.read_text().count("start mta@prod") == 1, "a confirmed action must never run twice"
    outcomes = [r["outcome"] for r in lab.audit() if str(r.get("outcome", "")).startswith("action")]
    assert outcomes == ["action-started", "action-outcome-unknown"]


# ------------------------------------------------------------------ SIGHUP reaches the worker


def _protect_for(lab: Lab, users: list[str]) -> None:
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"]["protected"] = True
    data["environments"]["prod"]["access"] = {"users": users}
    lab.inventory.write_text(yaml.safe_dump(data))


def _rewrite_in_place(path: Path, old: str, new: str) -> None:
    """Rewrite the file keeping its inode, size and modification time (what `cp -p` over it, or an editor
    that restores the time, leaves): only SIGHUP can tell the bot."""
    assert len(old) == len(new)
    st = os.stat(path)
    with path.open("r+") as f:
        text = f.read().replace(old, new)
        f.seek(0)
        f.write(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)


def test_sighup_to_serve_alone_reaches_the_worker_that_decides_access(lab: Lab) -> None:
    _protect_for(lab, ["UALICE"])
    svc = lab.start("serve")
    svc.wait_worker()
    ts = svc.mention("is mta running?", user="UALICE")
    lab.wait_thread(ts, ":books:")
    _rewrite_in_place(lab.inventory, "UALICE", "UBOBBY")  # Alice's access is revoked
    svc.proc.send_signal(signal.SIGHUP)  # systemd's ExecReload: only serve gets it
    time.sleep(0.5)
    ts = svc.mention("is mta running?", user="UALICE")
    assert "protected" in lab.wait_thread(ts, "protected")
    assert not any(":books:" in t for t in lab.thread(ts))
    ts = svc.mention("is mta running?", user="UBOBBY")
    lab.wait_thread(ts, ":books:")
    assert svc.log.read_text().count("SIGHUP: the inventory will be read again") == 2  # serve and worker


def test_a_sighup_while_the_worker_starts_is_passed_on_once_it_is_ready(lab: Lab) -> None:
    """SIGHUP's default action ends a process: the worker gets it only once its handler is in place."""
    _protect_for(lab, ["UALICE"])
    svc = lab.start("serve")
    end = time.monotonic() + 30
    while not svc.worker_pids() and time.monotonic() < end:
        time.sleep(0.01)
    first = svc.worker_pids()[0]
    for _ in range(3):
        svc.proc.send_signal(signal.SIGHUP)
        time.sleep(0.05)
    worker = svc.wait_worker()
    assert worker == first, "the worker was killed by a SIGHUP passed on too early"
    assert not re.search(r"worker process exited", svc.log.read_text())
    _rewrite_in_place(lab.inventory, "UALICE", "UBOBBY")
    svc.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    ts = svc.mention("is mta running?", user="UALICE")
    lab.wait_thread(ts, "protected")
    assert svc.worker_pids() == [first]


def test_a_signal_while_the_main_thread_holds_a_lock_never_deadlocks() -> None:
    """A signal handler runs in the main thread between two of its bytecodes: one that set the stop Event
    while the main thread held that Event's lock (inside Event.wait) hung the worker for good (an orphan
    that never exited). The handlers only note the signal; a thread acts on it."""
    code = textwrap.dedent(
        """
        import os, signal, sys
        from bot.service.process import Lifecycle
        life = Lifecycle()
        life.install()
        reloads = []
        life.on_reload = lambda: reloads.append(1)
        with life.stop._cond:  # the main thread holds the Event's lock, as it does inside Event.wait
            os.kill(os.getpid(), signal.SIGHUP)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10000):
                pass  # the handlers run here
        print("stopped" if life.stop.wait(5) and reloads else "not stopped", flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=Path(__file__).parents[2]
    )
    assert out.stdout.strip() == "stopped", out.stderr[-2000:]


def test_a_restarted_worker_still_dies_with_its_serve(lab: Lab) -> None:
    """Serve's second worker (the first was killed) and a serve killed while both the kernel's signal and
    the parent watch fire: the worker is gone within 5 s, every time."""
    svc = lab.start("serve")
    first = svc.wait_worker()
    os.kill(first, signal.SIGKILL)
    end = time.monotonic() + 30
    others: list[int] = []
    while time.monotonic() < end and not others:
        time.sleep(0.05)
        try:
            others = [p for p in svc.worker_pids() if p != first]
        except psutil.Error:  # the killed worker is a zombie until serve reaps it
            others = []
    second = others[0]
    assert lab.fake.wait_for(lambda: f":{second}:" in svc.log.read_text(), timeout=30)
    svc.proc.kill()
    svc.proc.wait(5)
    assert gone(second, 5), "the restarted worker outlived its serve process"


# ------------------------------------------------------------------ recorded before the acknowledgement


def _event(text: str, event_id: str) -> tuple[str, str]:
    from tests.harness.service import next_ts

    ts = next_ts()
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event_id": event_id,
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


def test_an_event_is_in_the_ledger_before_slack_gets_its_200(lab: Lab) -> None:
    """Slack never re-delivers an event it got a 200 for: a 200 sent before the job was recorded (Bolt
    acknowledging first and running the listener after) was lost for good when serve died in between
    (2 of 100 acknowledged events of a burst were never recorded after a SIGKILL). With the state file's
    write lock held, serve must not answer 200; killed then, the event is re-delivered and answered once."""
    import threading

    svc = lab.start("serve", "--no-worker")
    ts, body = _event("is mta running?", "EvBeforeAck1")
    db = sqlite3.connect(lab.tmp / "state.sqlite3", isolation_level=None)
    db.execute("BEGIN IMMEDIATE")  # no process can record anything until this ends
    got: list[int] = []

    def deliver() -> None:
        try:
            got.append(svc.post(body, sign(body))[0])
        except OSError:
            got.append(-1)  # the connection ended without an answer: Slack would re-deliver

    t = threading.Thread(target=deliver)
    t.start()
    t.join(1.5)
    recorded = db.execute("SELECT count(*) FROM cb_state WHERE ns='job' AND key='ev:EvBeforeAck1'").fetchone()[0]
    assert got == [] and not recorded, f"Slack got {got} while the job was not recorded"
    svc.proc.kill()  # between Slack's request and the record
    svc.proc.wait(5)
    db.execute("ROLLBACK")
    db.close()
    t.join(10)
    assert got and got[0] != 200
    again = lab.start("serve")  # Slack re-delivers the event it never got a 200 for
    again.wait_worker()
    status, _ = again.post(body, sign(body))
    assert status == 200
    with sqlite3.connect(lab.tmp / "state.sqlite3") as check:
        assert check.execute("SELECT count(*) FROM cb_state WHERE ns='job' AND key='ev:EvBeforeAck1'").fetchone()[0]
    lab.wait_thread(ts, ":books:", timeout=60)
    assert len(lab.answers_in(ts)) == 1


def test_a_state_file_with_a_damaged_page_stops_start_up_with_one_line(lab: Lab) -> None:
    """A sound header opened fine and the start-up probe passed; the damage showed later, as a traceback
    every keeper round (300 lines in 30 s) while questions failed. Start-up now reads every page once."""
    from bot.stores.sqlite import SqliteStore

    path = lab.tmp / "state.sqlite3"
    store = SqliteStore(path)
    for i in range(3000):
        store.put("seen", f"k{i}", {"text": "x" * 200})
    store.close()
    size = path.stat().st_size
    with path.open("r+b") as f:  # two pages in the middle of the table overwritten, the header intact
        f.seek(size // 2)
        f.write(b"\xa5" * 8192)
    for role in ("serve", "worker"):
        svc = lab.start(role, wait=False)
        assert svc.proc.wait(30) == 2, f"{role} started on a damaged state file"
        out = svc.log.read_text()
        assert "corrupt" in out and str(path) in out
        assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_an_audit_folder_that_cannot_be_made_still_answers_and_runs_no_action(lab: Lab) -> None:
    """CAMPAIGN_BOT_AUDIT_LOG under a path that cannot be a folder (a file there; a folder the bot may not
    create): serve died at start with a traceback and exit 1. It starts, every answer says the audit log
    could not be written, and a confirmed action is refused for want of its record: nothing is sent."""
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"].update({"actions": "enabled", "operators": ["UOPS"]})
    lab.inventory.write_text(yaml.safe_dump(data))
    (lab.tmp / "not-a-folder").write_text("a file\n")
    svc = lab.start("serve", CAMPAIGN_BOT_AUDIT_LOG=str(lab.tmp / "not-a-folder" / "audit.jsonl"))
    svc.wait_worker()
    ts, button = _offer_action(lab, svc)
    assert "audit log could not be written" in lab.wait_thread(ts, ":books:")
    _click(lab, svc, ts, button)
    text = lab.wait_thread(ts, "Not run", timeout=40)
    assert "audit record first" in text
    log = lab.homes["app2"] / "sim" / "invocations.log"
    time.sleep(1.0)
    assert "start mta@prod" not in (log.read_text() if log.exists() else "")
    out = svc.log.read_text()
    assert "Traceback" not in out
    assert "its folder cannot be created" in out


def _probes_of(lab: Lab) -> list[str]:
    """Processes still running a probe script on the lab's simulated hosts (found by the hosts' folder)."""
    where = str(lab.tmp / "hosts")
    out = []
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if where in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(f"{p.info['pid']} {cmd[:80]}")
        except psutil.Error:
            continue
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_probe_outlives_a_stopped_or_killed_serve(lab: Lab, sig: int) -> None:
    """The worker hands its jobs back and exits, but the local probes of those jobs (timeout, sh, the
    nlserver they called) ran on, orphaned, until their 35 s deadline. They are ended with the worker."""
    svc = lab.start("serve")
    worker = svc.wait_worker()
    set_slow(lab.homes["app2"], 25)
    ts = svc.mention("mail not sending")
    lab.wait_thread(ts, "Checking")
    assert lab.fake.wait_for(lambda: bool(_probes_of(lab)), timeout=20)
    svc.proc.send_signal(sig)
    svc.proc.wait(20)
    assert gone(worker, 5)
    try:
        assert lab.fake.wait_for(lambda: not _probes_of(lab), timeout=3), _probes_of(lab)
    finally:
        for line in _probes_of(lab):  # a failing run leaves no orphans of its own behind
            with contextlib.suppress(OSError):
                os.killpg(int(line.split()[0]), signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(int(line.split()[0]), signal.SIGKILL)


def test_a_deleted_or_broken_inventory_ends_the_question_with_a_cross(lab: Lab) -> None:
    """'The inventory cannot be used' is the bot failing: it ended with ✅ as if answered."""
    svc = lab.start("serve")
    svc.wait_worker()
    good = lab.inventory.read_text()
    lab.inventory.unlink()
    ts = svc.mention("is mta running?")
    assert "inventory file not found" in lab.wait_thread(ts, "inventory cannot be used")
    assert lab.fake.wait_for(lambda: "x" in lab.fake.reactions("CPROD", ts))
    lab.inventory.write_text(good.replace("command_timeout_s: 30", "command_timeout_s: soon"))
    ts = svc.mention("is mta running?")
    assert "command_timeout_s" in lab.wait_thread(ts, "inventory cannot be used")
    assert lab.fake.wait_for(lambda: "x" in lab.fake.reactions("CPROD", ts))
    assert "white_check_mark" not in lab.fake.reactions("CPROD", ts)
    lab.inventory.write_text(good)  # fixed: answered again, and ✅ only for that one
    ts = svc.mention("is mta running?")
    lab.wait_thread(ts, ":books:")


@pytest.mark.parametrize("action_id", ["run_checks", "clarify:mta"])
def test_a_killed_worker_mid_check_from_a_button_updates_the_same_reply(lab: Lab, action_id: str) -> None:
    """Checks started by a button (Run checks on a card, a clarifying choice) posted a progress reply the
    job did not remember: the re-run posted a second one and the first stayed on "Checking … (1/2 hosts
    done)" for good, without "interrupted and run again"."""
    from tests.harness.service import next_ts

    svc = lab.start("serve")
    worker = svc.wait_worker()
    set_slow(lab.homes["app2"], 6)
    thread = next_ts() if action_id.startswith("clarify:") else None
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "UALICE"},
        "api_app_id": "A0001",
        "channel": {"id": "CPROD"},
        "container": {"type": "message", "channel_id": "CPROD", "message_ts": "1.1"},
        "message": {"ts": "1700000000.000900", **({"thread_ts": thread} if thread else {})},
        "trigger_id": "1.2",
        "response_url": lab.fake.url + "response",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": json.dumps({"module": "mta", "instance": "prod", "env": "prod"}),
            }
        ],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    assert svc.post(body, sign(body), "application/x-www-form-urlencoded")[0] == 200

    def head() -> str | None:  # Run checks opens a thread of its own, under a head message
        return next((m["ts"] for m in list(lab.fake.messages) if "Checks of" in str(m.get("text"))), None)

    if thread is None:
        assert lab.fake.wait_for(lambda: head() is not None, timeout=30)
        thread = head()
    assert thread is not None
    lab.wait_thread(thread, "Checking")
    time.sleep(1.0)  # the worker has recorded its reply
    os.kill(worker, signal.SIGKILL)
    set_slow(lab.homes["app2"], 0)
    final = lab.wait_thread(thread, ":books:", timeout=60)
    assert "mta@prod" in final
    time.sleep(1.0)  # a second reply would show now
    assert len(lab.answers_in(thread)) == 1, "the re-run must update the same reply, not post a second one"
    assert "interrupted and run again" in " ".join(lab.thread(thread))
    assert sum("Checks of" in str(m.get("text")) for m in lab.fake.messages) == (1 if action_id == "run_checks" else 0)
