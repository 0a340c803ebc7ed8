"""External alerts and the watch share one thread per problem of a host and module; severity labels say
what an alert is; a re-fired alert re-opens its root; a thread Slack refused is posted when the alert
repeats; a group's unknown hosts are told in one message, and a group too large is handled in part and
says what was left out. The watch and intake run in-process on simulated hosts (fake Slack)."""

from __future__ import annotations

import json

from bot.watch.intake import ExternalAlert, map_alert
from bot.watch.model import subject_key
from tests.watch.conftest import CHANNEL, MTA, Sim, mta_key

SUBJECT = "mta@prod process on app1"
AM_KEY = subject_key("prod", "app1", "mta", None, "alert:CampaignMtaDown")


def watch_thread(sim: Sim) -> str:
    sim.round(0)
    sim.set_process("app1", "mta@prod", None)
    sim.round(1)
    roots = sim.roots(SUBJECT)
    assert len(roots) == 1
    return roots[0]


def test_an_external_alert_joins_the_open_watch_thread_of_its_host_and_module(sim: Sim) -> None:
    root = watch_thread(sim)
    before = len(sim.roots())
    sim.alert("alertmanager", "firing", 2, instance="10.1.0.11:9100", job="mta")
    assert len(sim.roots()) == before, "a second thread for the same problem"
    thread = sim.in_thread(root)
    assert any("alertmanager alert 'CampaignMtaDown' is firing for this host and module too" in t for t in thread)
    assert any(":books:" in t for t in thread), "the diagnosis runs in the thread"
    am = sim.watch.get(AM_KEY)
    assert am is not None and am.ts == root and am.joined == mta_key()
    assert "alertmanager alert 'CampaignMtaDown'" in sim.root(root), "the root lists it"
    # the watch recovers first: no ✅ while the external alert is still open in the thread
    sim.set_process("app1", "mta@prod", MTA)
    sim.round(3)
    assert any("Recovered: mta@prod process on app1" in t for t in sim.in_thread(root))
    assert not sim.checked(root)
    assert "Snooze 1 h" in sim.root(root), "the open alert took over the root (and its buttons)"
    sim.alert("alertmanager", "resolved", 4, instance="10.1.0.11:9100", job="mta")
    assert any("is resolved" in t for t in sim.in_thread(root))
    assert sim.checked(root), "nothing open in the thread any more"
    assert len(sim.roots()) == before


def test_a_watch_problem_joins_the_open_thread_of_an_external_alert(sim: Sim) -> None:
    sim.round(0)
    sim.alert("grafana", "firing", 1, alertname="HighMemory", host="app1", module="wfserver")
    root = sim.watch.get(subject_key("prod", "app1", "wfserver", None, "alert:HighMemory")).ts  # type: ignore[union-attr]
    assert root and sim.roots().count(root) == 1
    sim.set_process("app1", "wfserver@prod", "wfserver@prod 2322 1700.0 14400")  # above the warning level
    sim.round(2)
    memory = "wfserver@prod memory on app1"
    assert not sim.roots(memory), "the scheduled check opened a second thread"
    assert any(f"the scheduled check sees a problem here too: {memory}" in t for t in sim.in_thread(root))
    rec = sim.watch.get(subject_key("prod", "app1", "wfserver", "prod", "memory"))
    assert rec is not None and rec.ts == root and rec.joined is not None
    for m in range(3, 6):
        sim.round(m)
    assert not sim.roots(memory)
    assert memory in sim.root(root), "the root lists the scheduled check's problem"
    # a problem of another module keeps its own thread
    sim.set_process("app1", "mta@prod", None)
    sim.round(6)
    assert len(sim.roots(SUBJECT)) == 1 and sim.roots(SUBJECT)[0] != root


def test_severity_labels_say_what_an_alert_is(sim: Sim) -> None:
    sim.alert("alertmanager", "firing", 0, instance="app1", job="mta", severity="warning")
    rec = sim.watch.get(AM_KEY)
    assert rec is not None and rec.status == "warn"
    sim.alert("alertmanager", "firing", 1, instance="app1", job="mta", severity="critical")
    rec = sim.watch.get(AM_KEY)
    assert rec is not None and rec.status == "fail" and rec.count == 2
    assert any("got worse: warn -&gt; fail" in t for t in sim.in_thread(rec.ts or ""))
    posts = sim.posts()
    sim.alert("alertmanager", "firing", 2, instance="app1", alertname="x", job="stat", severity="info")
    assert sim.posts() == posts and sim.watch.get(subject_key("prod", "app1", "stat", None, "alert:x")) is None


def test_a_refired_alert_reopens_its_root_and_takes_the_check_mark_away(sim: Sim) -> None:
    sim.alert("alertmanager", "firing", 0, instance="app1", job="mta")
    root = sim.watch.get(AM_KEY).ts  # type: ignore[union-attr]
    assert root
    sim.alert("alertmanager", "resolved", 10, instance="app1", job="mta")
    assert sim.checked(root) and "Recovered (resolved in alertmanager)" in sim.root(root)
    assert "Snooze" not in sim.root(root)
    sim.alert("alertmanager", "firing", 20, instance="app1", job="mta")
    assert sim.roots().count(root) == 1 and len(sim.roots()) == 1
    assert any("is firing again" in t for t in sim.in_thread(root))
    assert not sim.checked(root)
    msg = json.loads(sim.root(root))
    assert msg["blocks"][0]["text"]["text"].startswith(":rotating_light:") and "Snooze 1 h" in sim.root(root)


def test_an_external_alert_slack_refused_is_posted_when_it_repeats(sim: Sim) -> None:
    sim.fake.absent_channels.add(CHANNEL)
    sim.alert("alertmanager", "firing", 0, instance="app1", job="mta")
    assert sim.watch.get(AM_KEY).ts is None  # type: ignore[union-attr]
    sim.fake.absent_channels.clear()
    sim.alert("alertmanager", "firing", 5, instance="app1", job="mta")  # Alertmanager's repeat_interval
    rec = sim.watch.get(AM_KEY)
    assert rec is not None and rec.ts and sim.roots() == [rec.ts] and rec.count == 2


def test_a_group_tells_its_unknown_hosts_in_one_message_and_what_it_left_out(sim: Sim) -> None:
    inv = sim.inventory()
    raw = [
        map_alert(
            ExternalAlert(status="firing", labels={"alertname": f"Disk{i}", "instance": f"db{i}:9100"}),
            inv,
            sim.svc.resolver,
            CHANNEL,
        )  # type: ignore[arg-type]
        for i in range(3)
    ]
    sim.intake.handle("alertmanager", [m.model_dump(mode="json") for m in raw], left_out=["Disk3", "Disk4"])
    texts = [json.dumps(c.params) for c in sim.fake.of("chat.postMessage")]
    unknown = [t for t in texts if "do not know" in t or "does not know" in t]
    assert len(unknown) == 1 and all(f"db{i}:9100" in unknown[0] for i in range(3))
    left = [t for t in texts if "left out" in t]
    assert len(left) == 1 and "Disk3" in left[0] and "the first 3 were handled" in left[0]


def test_an_alert_without_a_module_joins_only_a_thread_about_the_host_being_down(sim: Sim) -> None:
    sim.round(0)  # the watch has a host-level warning on app1 (tmp_device)
    tmp_root = sim.roots("app1 tmp_device")
    assert len(tmp_root) == 1
    sim.alert("alertmanager", "firing", 1, alertname="DatasourceNoData", instance="app1:9100")
    key = subject_key("prod", "app1", None, None, "alert:DatasourceNoData")
    rec = sim.watch.get(key)
    assert rec is not None and rec.ts not in (None, tmp_root[0]), "it said nothing about tmp_device"
    sim.alert("alertmanager", "resolved", 1.5, alertname="DatasourceNoData", instance="app1:9100")
    sim.down.add("app1")
    sim.round(2)
    connect = sim.roots("app1 connect")
    assert len(connect) == 1
    sim.alert("alertmanager", "firing", 3, alertname="InstanceDown", instance="10.1.0.11:9100", job="node")
    down = sim.watch.get(subject_key("prod", "app1", None, None, "alert:InstanceDown"))
    assert down is not None and down.ts == connect[0], "the host being down is one problem: one thread"
