"""Slack-side pure parts and stores: access decisions, dedupe across workers, audit, Block Kit limits, settings."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from bot.access import may_act, may_check
from bot.audit import AuditLog
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.inventory import parse_inventory
from bot.kb import KnowledgeBase, Risk
from bot.models import Diagnosis, Finding, Match, NextStep
from bot.render import slack as blocks
from bot.slack.state import StateStore

INV = parse_inventory(
    {
        "environments": {
            "open": {"hosts": [{"name": "a", "address": "h"}]},
            "listed": {
                "access": {"users": ["UAAA1"], "groups": ["SGGG1"], "channels": ["CCCC1"]},
                "hosts": [{"name": "a", "address": "h"}],
            },
            "locked": {"protected": True, "hosts": [{"name": "a", "address": "h"}]},
            "ops": {"actions": "enabled", "operators": ["UOP"], "hosts": [{"name": "a", "address": "h"}]},
        }
    },
    "t",
)


def test_access_rules() -> None:
    assert may_check(INV.environment("open"), "UX", "CX").allowed
    lst = INV.environment("listed")
    assert may_check(lst, "UAAA1", "CX").allowed and may_check(lst, "UX", "CCCC1").allowed
    assert may_check(lst, "UX", "CX", ["SGGG1"]).allowed
    assert not may_check(lst, "UX", "CX").allowed
    locked = may_check(INV.environment("locked"), "UX", "CX")
    assert not locked.allowed and "protected" in locked.reason
    assert not may_act(INV.environment("open"), "UOP").allowed  # actions disabled by default
    assert may_act(INV.environment("ops"), "UOP").allowed and not may_act(INV.environment("ops"), "UX").allowed


def in_processes(target, db: str, n: int) -> list[Any]:  # type: ignore[no-untyped-def]
    """Run `target(db, queue)` in `n` separate processes at once; what each put on the queue."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=target, args=(db, q)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    return [q.get(timeout=5) for _ in procs]


def _claim(path: str, q) -> None:  # type: ignore[no-untyped-def]
    q.put(StateStore(path).first_time("Ev-shared"))


def test_dedupe_is_shared_by_worker_processes(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    StateStore(db)
    results = in_processes(_claim, db, 4)
    assert sorted(results) == [False, False, False, True]


def test_actions_are_single_use_and_threads_remembered(tmp_path: Path) -> None:
    s = StateStore(tmp_path / "s.db")
    aid = s.offer_action({"host": "a"})
    assert s.take_action(aid) == {"host": "a"} and s.take_action(aid) is None
    assert s.take_action("forged") is None
    s.save_thread("C", "1.1", {"env": "prod", "modules": ["mta"]})
    assert s.thread("C", "1.1") == {"env": "prod", "modules": ["mta"]} and s.thread("C", "2.2") is None


def test_audit_redacts_and_truncates(tmp_path: Path) -> None:
    a = AuditLog(tmp_path / "a.jsonl")
    a.record(user="U1", question="x" * 1000, commands=["password=hunter2", "token xoxb-123456789"])
    rec = json.loads((tmp_path / "a.jsonl").read_text())
    assert len(rec["question"]) == 300 and "hunter2" not in json.dumps(rec) and "xoxb-123456789" not in json.dumps(rec)
    assert rec["time"].endswith("+00:00")


def huge_diagnosis(kb: KnowledgeBase) -> Diagnosis:
    findings = [
        Finding(
            host=f"host{i:03d}",
            module="mta",
            instance="prod",
            check="log",
            status="warn",
            summary="E" * 4000,
            evidence=("x" * 5000,),
        )
        for i in range(120)
    ]
    steps = [
        NextStep(
            host=f"host{i:03d}",
            module="mta",
            text="restart " * 600,
            command="nlserver restart mta@prod",
            risk=Risk.CHANGES_STATE,
        )
        for i in range(80)
    ]
    return Diagnosis(
        question="mail not sending",
        environment="prod",
        simulated=False,
        matches=(Match(module="mta", score=0.9, reasons=("r" * 5000,)),),
        modules=("mta", "stat"),
        findings=tuple(findings),
        next_steps=tuple(steps),
        verdict="V" * 5000,
        status="warn",
        hosts=tuple(f"host{i:03d}" for i in range(120)),
        duration_ms=1234,
    )


def test_block_limits_hold_for_huge_results(kb: KnowledgeBase) -> None:
    d = huge_diagnosis(kb)
    bl, text = blocks.result_blocks(d, kb, {0: "a1"}, "report attached")
    assert len(bl) <= 50 and text
    for b in bl:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "context":
            assert all(len(e["text"]) <= 3000 for e in b["elements"])
    assert any("more host" in json.dumps(b) for b in bl)
    assert len(blocks.raw_report(d, kb)) > 100_000  # the full report goes to a file instead


def test_progress_and_card_blocks(kb: KnowledgeBase) -> None:
    bl, text = blocks.progress_blocks(
        "q", "prod", True, [Match(module="mta", score=0.9, reasons=("why",))], ["mta"], ["a", "b"], {"a": "fail"}, kb
    )
    dumped = json.dumps(bl)
    assert "Simulated" in dumped and "1/2 done" in dumped and text
    card, _ = blocks.card_blocks(kb.get("mta"), "prod", "prod", can_run=False)
    assert "run_checks" not in json.dumps(card) and "mta@prod" in json.dumps(card)


def test_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for k in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT"):
        monkeypatch.delenv(k, raising=False)
    s = load_settings(None)
    assert not s.slack_configured and s.slack_api_url == "https://slack.com/api/"
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        s.require_slack()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    s = load_settings(None)
    assert "xoxb-secret-value" not in repr(s) and "xoxb-secret-value" not in str(s.model_dump())
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        s.require_slack()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-token")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        load_settings(None)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(ConfigError, match="PORT"):
        load_settings(None)
    assert isinstance(Settings, type)


def test_clarify_only_when_two_unrelated_modules_tie(kb: KnowledgeBase, matcher) -> None:  # type: ignore[no-untyped-def]
    from bot.slack.app import SlackBot

    bot = SlackBot.__new__(SlackBot)
    bot.kb = kb
    assert bot._ambiguous([Match(module="import", score=0.60, reasons=()), Match(module="export", score=0.59, reasons=())])
    assert not bot._ambiguous([Match(module="mta", score=0.60, reasons=()), Match(module="stat", score=0.60, reasons=())])  # tied by the documentation
    assert not bot._ambiguous([Match(module="import", score=0.80, reasons=()), Match(module="export", score=0.60, reasons=())])
    assert not bot._ambiguous([Match(module="import", score=0.60, reasons=(), mentioned=True), Match(module="export", score=0.60, reasons=())])
    assert not bot._ambiguous(matcher.match("mail not sending"))


def _drain(path: str, q) -> None:  # type: ignore[no-untyped-def]
    s = StateStore(path)
    got = []
    while (job := s.take_job()) is not None:
        got.append(job[1]["n"])
    q.put(got)


def test_job_queue_hands_each_job_to_exactly_one_worker(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    s = StateStore(db)
    for n in range(60):
        s.put_job("event", {"n": n})
    taken = [n for got in in_processes(_drain, db, 3) for n in got]
    assert sorted(taken) == list(range(60))
    assert s.take_job() is None


def test_worker_supervisor_restarts_a_dead_worker() -> None:
    import threading
    import time

    from bot.slack.server import WorkerSupervisor

    class Fake:
        def __init__(self) -> None:
            self.alive = True
            self.exitcode = None

        def is_alive(self) -> bool:
            return self.alive

        def terminate(self) -> None:
            self.alive = False

        def join(self, timeout: float) -> None:
            pass

    started: list[Fake] = []
    lock = threading.Lock()

    def start() -> Fake:
        with lock:
            started.append(Fake())
            return started[-1]

    sup = WorkerSupervisor(start).run()
    started[0].alive = False  # the worker dies
    deadline = time.monotonic() + 5
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    sup.stop()
    assert len(started) == 2 and not started[1].alive
