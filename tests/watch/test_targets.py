"""Alert identity with `Finding.target`: one check that finds two things on one subject (two workflows,
two log files) opens two alerts, each recovering on its own; states stored before the field still load
and keep their keys; an alert stored without a target is taken over by its subject's targeted problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.campaign_api import campaign_api_factory
from bot.diagnosis import Diagnoser
from bot.inventory import parse_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import PROBLEM_STATUSES, Diagnosis, Finding, Status
from bot.runner import Runner
from bot.simulator import build_simulated_inventory
from bot.stores import MemoryStore
from bot.transports.local import LocalTransport
from bot.watch.engine import NS_ALERT, Watch
from bot.watch.model import AlertState, finding_key, fingerprint, subject_key
from bot.watch.terminal import QuietNotifier

ENV = parse_inventory(
    {"environments": {"prod": {"instances": ["prod"], "hosts": [{"name": "app1", "address": "10.0.0.1"}]}}}, "test"
).environment("prod")
API = "(campaign API)"
T0 = 1_900_000_000.0
FAILED = "workflow cleanup"
PAUSED = "other workflows paused"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []  # (what, alert key, text)
        self.n = 0

    def opened(self, alert: AlertState, detail: Diagnosis) -> tuple[str, str] | None:
        self.n += 1
        self.calls.append(("opened", alert.key, detail.verdict))
        return "C1", f"1.{self.n}"

    def refresh(self, alert: AlertState, detail: Diagnosis | None) -> None:
        self.calls.append(("refresh", alert.key, ""))

    def note(self, alert: AlertState, text: str, detail: Diagnosis | None = None) -> None:
        self.calls.append(("note", alert.key, text))

    def recovered(self, alert: AlertState) -> None:
        self.calls.append(("recovered", alert.key, alert.subject))

    def of(self, what: str) -> list[tuple[str, str, str]]:
        return [c for c in self.calls if c[0] == what]


def wf(status: Status, summary: str, target: str | None) -> Finding:
    return Finding(
        host=API,
        module="wfserver",
        instance="prod",
        check="api_workflows",
        status=status,
        summary=summary,
        target=target,
    )


def diag(*findings: Finding) -> Diagnosis:
    return Diagnosis(question="(scheduled check)", environment="prod", simulated=False, findings=findings)


def key(target: str | None) -> str:
    return subject_key("prod", API, "wfserver", "prod", "api_workflows", target)


def test_a_technical_workflow_two_modules_report_is_one_alert(kb: KnowledgeBase) -> None:
    """tracking's workflow is reported under tracking and under wfserver (which runs every workflow):
    one problem, one thread, and it recovers once."""
    failed = "workflow tracking"
    under_tracking = wf("fail", "technical workflow 'tracking' (Tracking) is in error", failed).model_copy(
        update={"module": "tracking"}
    )
    under_wfserver = wf("fail", "technical workflow 'tracking' (Tracking) is in error", failed)
    assert finding_key("prod", under_tracking) == finding_key("prod", under_wfserver)
    watch, rec, _ = make(kb)
    rnd = watch.apply(ENV, diag(under_tracking, under_wfserver), T0)
    assert rnd.problems == 1 and [e.kind for e in rnd.events] == ["opened"]
    assert len(rec.of("opened")) == 1
    rnd = watch.apply(ENV, diag(under_wfserver, under_tracking), T0 + 60)
    assert [e.kind for e in rnd.events] == ["ongoing"] and len(rec.of("opened")) == 1
    fine = [f.model_copy(update={"status": "ok", "summary": "not in error"}) for f in (under_tracking, under_wfserver)]
    rnd = watch.apply(ENV, diag(*fine), T0 + 120)
    assert [e.kind for e in rnd.events] == ["recovered"] and len(rec.of("recovered")) == 1
    # a host's finding with a target keeps its module: two modules' logs are two problems
    log_a = Finding(host="app1", module="mta", instance="prod", check="log", status="warn", summary="x", target="t")
    assert finding_key("prod", log_a) != finding_key("prod", log_a.model_copy(update={"module": "stat"}))


def make(kb: KnowledgeBase) -> tuple[Watch, Recorder, MemoryStore]:
    rec, store = Recorder(), MemoryStore()
    return Watch(kb=kb, diagnoser=None, store=store, notifier=rec, clock=lambda: T0), rec, store  # type: ignore[arg-type]


FAIL = wf("fail", "technical workflow 'cleanup' (Database cleanup) is in error", FAILED)
HELD = wf("warn", "1 workflow(s) paused: 'WKF2042' (Weekly newsletter import)", PAUSED)
FAIL_OK = wf("ok", "technical workflow 'cleanup' (Database cleanup) is not in error (state 11)", FAILED)
OTHERS_OK = wf("ok", "no other workflow is in error or paused", None)


def test_a_paused_workflow_beside_a_failed_one_is_its_own_alert(kb: KnowledgeBase) -> None:
    watch, rec, _ = make(kb)
    rnd = watch.apply(ENV, diag(FAIL, HELD), T0)
    assert rnd.problems == 2 and [e.kind for e in rnd.events] == ["opened", "opened"]
    opened = {k: verdict for _, k, verdict in rec.of("opened")}
    assert opened == {key(FAILED): FAIL.summary, key(PAUSED): HELD.summary}, "each root leads with its own problem"
    subjects = {a.subject for a in watch.open_alerts("prod")}
    assert subjects == {
        f"wfserver@prod api_workflows ({FAILED}) in the Campaign API",
        f"wfserver@prod api_workflows ({PAUSED}) in the Campaign API",
    }
    # the paused workflow is resumed: only its alert recovers
    rnd = watch.apply(ENV, diag(FAIL, OTHERS_OK), T0 + 60)
    assert [(e.kind, e.key) for e in rnd.events] == [("ongoing", key(FAILED)), ("recovered", key(PAUSED))]
    assert [k for _, k, _ in rec.of("recovered")] == [key(PAUSED)]
    # then the failed one
    rnd = watch.apply(ENV, diag(FAIL_OK, OTHERS_OK), T0 + 120)
    assert [(e.kind, e.key) for e in rnd.events] == [("recovered", key(FAILED))]
    assert not watch.open_alerts("prod")


def test_cannot_tell_about_another_target_is_no_reason_to_keep_an_alert(kb: KnowledgeBase) -> None:
    watch, _, _ = make(kb)
    watch.apply(ENV, diag(FAIL, HELD), T0)
    blind_other = wf("unknown", "technical workflow 'billing' was not found through the API", "workflow billing")
    rnd = watch.apply(ENV, diag(FAIL, blind_other), T0 + 60)
    assert ("recovered", key(PAUSED)) in [(e.kind, e.key) for e in rnd.events]
    # the check blind as a whole (no target): neither a problem nor a recovery, for every target
    watch.apply(ENV, diag(FAIL, HELD), T0 + 120)
    blind = wf("unknown", "cannot tell the workflows' state: 401", None)
    rnd = watch.apply(ENV, diag(blind), T0 + 180)
    assert rnd.events == ()
    assert {a.key for a in watch.open_alerts("prod")} == {key(FAILED), key(PAUSED)}


def test_states_stored_before_targets_load_and_keep_their_keys(kb: KnowledgeBase) -> None:
    f = Finding(host="app1", module="mta", instance="prod", check="process", status="fail", summary="mta down")
    assert f.target is None
    # the key and fingerprint of a finding without target are those computed before the field existed
    assert subject_key("prod", "app1", "mta", "prod", "process") == subject_key(
        "prod", "app1", "mta", "prod", "process", None
    )
    assert fingerprint("prod", f) != fingerprint("prod", f.model_copy(update={"target": "x"}))
    old: dict[str, Any] = {
        "key": "k",
        "environment": "prod",
        "host": "app1",
        "module": "mta",
        "instance": "prod",
        "check": "process",
        "status": "fail",
        "fingerprint": "f",
        "summary": "mta down",
        "opened_at": T0,
        "last_seen": T0,
    }
    a = AlertState.model_validate(old)
    assert a.target is None and a.subject == "mta@prod process on app1"


def test_a_stored_alert_without_target_is_taken_over_not_recovered(kb: KnowledgeBase) -> None:
    watch, rec, store = make(kb)
    legacy = AlertState(
        key=key(None),
        environment="prod",
        host=API,
        module="wfserver",
        instance="prod",
        check="api_workflows",
        status="fail",
        fingerprint="old",
        summary=FAIL.summary,
        opened_at=T0 - 3600,
        last_seen=T0 - 60,
        count=7,
        channel="C1",
        ts="0.9",
        acked_by="UOPS",
    )
    store.put(NS_ALERT, legacy.key, legacy.model_dump(mode="json"))
    rnd = watch.apply(ENV, diag(FAIL, HELD), T0)
    kinds = {e.key: e.kind for e in rnd.events}
    assert kinds == {key(FAILED): "ongoing", key(PAUSED): "opened"}
    assert not rec.of("recovered"), "the old alert is not told as recovered"
    took = watch.get(key(FAILED))
    assert took is not None and took.ts == "0.9" and took.acked_by == "UOPS" and took.count == 8
    assert took.target == FAILED and watch.get(key(None)) is None
    assert [k for _, k, _ in rec.of("opened")] == [key(PAUSED)], "only the new problem opens a thread"


def test_every_problem_of_the_simulated_fleet_is_its_own_alert(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher
) -> None:
    env = build_simulated_inventory(tmp_path / "fleet").environments["prod"]
    assert kb.campaign_api is not None
    runner = Runner(lambda h: LocalTransport(h.env_path), api_for=campaign_api_factory(kb.campaign_api))
    watch = Watch(kb=kb, diagnoser=Diagnoser(kb, matcher, runner), store=MemoryStore(), notifier=QuietNotifier())
    d = watch.diagnoser.check(watch.modules(env), env, label="scheduled check of prod")
    problems = [f for f in d.findings if f.status in PROBLEM_STATUSES]
    keys = [finding_key("prod", f) for f in problems]
    assert len(set(keys)) == len(keys), "two problems share an alert"
    rnd = watch.apply(env, d, T0)
    assert rnd.problems == len(problems) and len(watch.open_alerts("prod")) == len(problems)
    subjects = {e.subject for e in rnd.events}
    assert f"wfserver@prod api_workflows ({FAILED}) in the Campaign API" in subjects
    assert f"wfserver@prod api_workflows ({PAUSED}) in the Campaign API" in subjects
