"""How Alertmanager and Grafana really deliver: a group holds every alert of its group key (firing and
recently resolved), HA peers and retries deliver the same group twice at once, and an alert may fire
and resolve over and over. Nothing posts twice, nothing recovers while it still fires, flapping is
said once. The watch and intake run in-process on simulated hosts
(fake Slack); the replicas share a real Redis."""

from __future__ import annotations

import json
import threading

from bot.stores.redis import RedisStore
from bot.watch.engine import Watch
from bot.watch.intake import AlertIntake, ExternalAlert, map_alert
from bot.watch.model import subject_key
from tests.harness.redis import redis_server
from tests.watch.conftest import CHANNEL, T0, Sim
from tests.watch.test_intake_threads import AM_KEY

KEY = subject_key("prod", "app1", "stat", None, "alert:DiskFull")
STARTS = "2026-11-27T10:00:00.000Z"


def group(*alerts: tuple[str, dict[str, str]], starts: str = STARTS) -> list[ExternalAlert]:
    """One webhook group of DiskFull alerts (Alertmanager v4 fields the intake reads)."""
    out = []
    for status, labels in alerts:
        a = ExternalAlert(
            status=status,  # type: ignore[arg-type]
            labels={"alertname": "DiskFull", "job": "stat", "severity": "critical", **labels},
            annotations={"summary": f"disk full on {labels.get('mountpoint', '/')}"},
            startsAt=starts,
        )
        out.append(a)
    return out


def deliver(sim: Sim, minutes: float, alerts: list[ExternalAlert], intake: AlertIntake | None = None) -> None:
    sim.now[0] = T0 + minutes * 60
    mapped = [map_alert(a, sim.inventory(), sim.svc.resolver, CHANNEL).model_dump(mode="json") for a in alerts]
    (intake or sim.intake).handle("alertmanager", mapped)


ROOT = ("firing", {"instance": "app1:9100", "mountpoint": "/"})
VAR = ("firing", {"instance": "app1:9100", "mountpoint": "/var"})
VAR_RESOLVED = ("resolved", {"instance": "app1:9100", "mountpoint": "/var"})
ROOT_RESOLVED = ("resolved", {"instance": "app1:9100", "mountpoint": "/"})


def test_a_group_resolving_one_alert_while_another_fires_is_not_a_recovery(sim: Sim) -> None:
    deliver(sim, 1, group(ROOT, VAR))
    rec = sim.watch.get(KEY)
    assert rec is not None and rec.open and rec.ts
    posts = sim.posts()
    deliver(sim, 6, group(ROOT, VAR_RESOLVED))  # /var resolved, / still firing: the group's status is firing
    deliver(sim, 11, group(ROOT))  # group_interval later: / still firing
    rec = sim.watch.get(KEY)
    assert rec is not None and rec.open
    assert not sim.checked(rec.ts), "a check mark while an alert of the subject still fires"
    assert not any("Recovered" in t or "firing again" in t for t in sim.in_thread(rec.ts))
    assert sim.posts() == posts, "a still-firing alert posted again"
    deliver(sim, 16, group(ROOT_RESOLVED))
    assert [t for t in sim.in_thread(rec.ts) if "Recovered" in t and "is resolved" in t]
    assert sim.checked(rec.ts)


def test_the_same_group_delivered_twice_at_once_to_two_replicas_opens_one_thread(sim: Sim) -> None:
    with redis_server() as url:
        intakes = []
        for _ in range(2):  # two replicas: their own store client and watch, one Redis, one Slack
            watch = Watch(
                kb=sim.svc.kb,
                diagnoser=sim.svc.diagnoser,
                store=RedisStore(url),
                notifier=sim.watch.notifier,
                audit=sim.svc.audit,
                clock=lambda: sim.now[0],
            )
            intakes.append(AlertIntake(watch, sim.svc.conversation, sim.intake.post_unknown, sim.intake.show_answer))
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def replica(intake: AlertIntake) -> None:
            try:
                start.wait(10)
                deliver(sim, 1, group(ROOT), intake)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=replica, args=(i,)) for i in intakes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        assert len(sim.roots()) == 1, "the same alert opened two threads"
        rec = intakes[0].watch.get(KEY)
        assert rec is not None and rec.open and rec.count == 2


def test_an_external_alert_flapping_is_reported_once_then_quiet_until_it_settles(sim: Sim) -> None:
    sim.round(0)
    for i in range(12):  # firing and resolved every minute: more than flap_threshold (4) changes in 1 h
        sim.alert("alertmanager", "firing" if i % 2 == 0 else "resolved", 1 + i, instance="app1", job="mta")
    rec = sim.watch.get(AM_KEY)
    assert rec is not None and rec.ts and not rec.open and rec.flapping
    thread = sim.in_thread(rec.ts)
    assert len([t for t in thread if ":bell: flapping:" in t]) == 1
    flap_at = next(i for i, t in enumerate(thread) if ":bell: flapping:" in t)
    assert not thread[flap_at + 1 :], "it kept posting while flapping"
    assert len([t for t in thread if ":books:" in t]) <= 3, "a diagnosis each time it fired again"
    sim.round(30)
    assert len(sim.in_thread(rec.ts)) == len(thread), "it settles only after flap_window without a change"
    sim.round(80)
    sim.round(81)
    after = sim.in_thread(rec.ts)[len(thread) :]
    assert len(after) == 1 and "Recovered" in after[0] and "is resolved" in after[0]


def test_a_snoozed_external_alert_stays_quiet_when_it_fires_again_and_ends_early_on_worse(sim: Sim) -> None:
    sim.round(0)
    sim.alert("alertmanager", "firing", 1, instance="app1", job="mta", severity="warning")
    rec = sim.watch.get(AM_KEY)
    assert rec is not None and rec.ts
    sim.watch.snooze(AM_KEY, "UOPS", 4 * 3600, now=T0 + 90)
    sim.alert("alertmanager", "resolved", 10, instance="app1", job="mta", severity="warning")
    told = len(sim.in_thread(rec.ts))  # the recovery is told even while snoozed
    sim.alert("alertmanager", "firing", 70, instance="app1", job="mta", severity="warning")
    assert len(sim.in_thread(rec.ts)) == told, "a snoozed alert fired again and posted"
    again = sim.watch.get(AM_KEY)
    assert again is not None and again.open and again.snoozed_until == T0 + 90 + 4 * 3600
    sim.alert("alertmanager", "firing", 75, instance="app1", job="mta", severity="critical")
    worse = sim.in_thread(rec.ts)[told:]
    assert len(worse) == 1 and "got worse" in worse[0] and "snooze ended" in worse[0]
    after = sim.watch.get(AM_KEY)
    assert after is not None and after.snoozed_until == 0.0


def unknown_messages(sim: Sim) -> list[str]:
    return [
        json.dumps(c.params)
        for c in sim.fake.of("chat.postMessage")
        if "does not know" in json.dumps(c.params) and c.result.get("ok")
    ]


def test_an_unknown_host_is_said_once_however_often_the_group_is_re_sent(sim: Sim) -> None:
    db9 = ("firing", {"instance": "db9:9100"})
    for minutes in (1, 6, 11, 240):  # group_interval and repeat_interval re-sends
        deliver(sim, minutes, group(db9))
    assert len(unknown_messages(sim)) == 1
    deliver(sim, 250, group(("resolved", {"instance": "db9:9100"})))
    deliver(sim, 255, group(("resolved", {"instance": "db9:9100"})))
    said = unknown_messages(sim)
    assert len(said) == 2 and "resolved" in said[1]
    deliver(sim, 300, group(db9))  # firing again: news again
    assert len(unknown_messages(sim)) == 3


def test_a_late_copy_of_a_resolved_firing_opens_nothing(sim: Sim) -> None:
    app1 = {"instance": "app1"}
    deliver(sim, 5, group(("resolved", app1)))
    deliver(sim, 5.5, group(("firing", app1)))  # handled after its own resolution (a retry, an HA peer)
    assert sim.posts() == 0
    rec = sim.watch.get(KEY)
    assert rec is None or not rec.open, "an alert open for ever: its resolution was sent already"
    # The same occurrence still firing minutes later is believed (Prometheus keeps startsAt across restarts)
    deliver(sim, 15, group(("firing", app1)))
    rec = sim.watch.get(KEY)
    assert rec is not None and rec.open and len(sim.roots()) == 1


def test_a_late_copy_after_a_recovery_does_not_reopen_the_thread(sim: Sim) -> None:
    app1 = {"instance": "app1"}
    deliver(sim, 1, group(("firing", app1)))
    rec = sim.watch.get(KEY)
    assert rec is not None and rec.ts
    deliver(sim, 5, group(("resolved", app1)))
    posts = sim.posts()
    deliver(sim, 5.2, group(("firing", app1)))
    assert sim.posts() == posts, "a late copy posted 'firing again'"
    rec = sim.watch.get(KEY)
    assert rec is not None and not rec.open and sim.checked(rec.ts)
    # a new occurrence (a new startsAt) right away is a new problem
    deliver(sim, 5.4, group(("firing", app1), starts="2026-11-27T11:00:00Z"))
    rec = sim.watch.get(KEY)
    assert rec is not None and rec.open and sim.posts() > posts
