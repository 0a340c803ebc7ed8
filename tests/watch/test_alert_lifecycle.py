"""An alert's life beyond the happy path, on simulated hosts with time driven by the tests: a thread Slack
refused is posted by the next round; a recovered alert back again loses its ✅ and gets it again when it
recovers; a recovered root says what recovered and when; flapping that settles is said once; hosts and
modules removed from the inventory are 'no longer watched', never 'fine again'; "snoozed" is on the
watch's clock."""

from __future__ import annotations

import json
import logging

import pytest

from tests.watch.conftest import CHANNEL, MTA, T0, Sim, mta_key

SUBJECT = "mta@prod process on app1"


def open_mta(sim: Sim) -> str:
    sim.round(0)
    sim.set_process("app1", "mta@prod", None)
    sim.round(1)
    roots = sim.roots(SUBJECT)
    assert len(roots) == 1
    return roots[0]


# ---------------------------------------------------------------------- a thread Slack refused


def test_a_thread_slack_refused_is_posted_by_the_next_round(sim: Sim, caplog: pytest.LogCaptureFixture) -> None:
    sim.round(0)
    sim.set_process("app1", "mta@prod", None)
    sim.fake.absent_channels.add(CHANNEL)  # the bot is not invited to watch.channel yet
    with caplog.at_level(logging.ERROR, logger="bot.slack.alerts"):
        sim.round(1)
    assert not sim.roots(SUBJECT)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "not_in_channel" in logged and "invite the bot" in logged and SUBJECT in logged
    assert sim.watch.get(mta_key()).ts is None  # type: ignore[union-attr]
    sim.fake.absent_channels.clear()  # invited now
    rnd = sim.round(2)
    roots = sim.roots(SUBJECT)
    assert len(roots) == 1, "the next round posts the thread"
    assert next(e for e in rnd.events if e.subject == SUBJECT).notified
    assert "seen 2 times" in sim.root(roots[0])
    for m in range(3, 6):
        sim.round(m)
    assert len(sim.roots(SUBJECT)) == 1, "and only once"
    sim.set_process("app1", "mta@prod", MTA)
    sim.round(6)
    assert len([t for t in sim.in_thread(roots[0]) if "Recovered" in t]) == 1
    assert sim.checked(roots[0])


def test_a_change_of_status_opens_a_thread_never_posted(sim: Sim) -> None:
    sim.round(0)
    sim.set_process("app1", "wfserver@prod", "wfserver@prod 2322 1650.0 14400")  # warn
    sim.fake.fail["chat.postMessage"] = ["service_unavailable"] * 3  # Slack is down for this round
    sim.round(1)
    sim.fake.fail.clear()
    assert not sim.roots("wfserver@prod memory on app1")
    sim.set_process("app1", "wfserver@prod", "wfserver@prod 2322 1900.0 14400")  # fail
    sim.round(2)
    roots = sim.roots("wfserver@prod memory on app1")
    assert len(roots) == 1 and "*fail*" in sim.root(roots[0])


def test_a_never_posted_alert_that_recovers_posts_nothing(sim: Sim) -> None:
    sim.round(0)
    sim.set_process("app1", "mta@prod", None)
    sim.fake.absent_channels.add(CHANNEL)
    sim.round(1)
    sim.set_process("app1", "mta@prod", MTA)
    rnd = sim.round(2)
    sim.fake.absent_channels.clear()
    event = next(e for e in rnd.events if e.subject == SUBJECT)
    assert event.kind == "recovered" and not event.notified
    assert not sim.watch.get(mta_key()).open  # type: ignore[union-attr]
    sim.round(3)
    assert not sim.roots(SUBJECT), "nothing to say about a problem that is gone"


# ---------------------------------------------------------------------- recovery and the ✅


def test_back_again_takes_the_check_mark_away_and_recovery_puts_it_back(sim: Sim) -> None:
    root = open_mta(sim)
    sim.set_process("app1", "mta@prod", MTA)
    sim.round(2)
    assert sim.checked(root)
    sim.set_process("app1", "mta@prod", None)
    sim.round(30)
    assert not sim.checked(root), "a problem back in its thread: the root is no longer ✅"
    assert [c for c in sim.fake.of("reactions.remove") if c.params.get("timestamp") == root]
    assert ":rotating_light:" in sim.root(root) and "Snooze 1 h" in sim.root(root)
    assert any("back again" in t for t in sim.in_thread(root))
    sim.set_process("app1", "mta@prod", MTA)
    sim.round(31)
    assert sim.checked(root)
    assert len([t for t in sim.in_thread(root) if "Recovered" in t]) == 2
    assert not [c for c in sim.fake.of("reactions.add") if not c.result.get("ok", True)]


def test_a_recovered_root_says_what_recovered_and_when_not_the_old_steps(sim: Sim) -> None:
    root = open_mta(sim)
    assert "nlserver start mta@prod" in sim.root(root)
    sim.set_process("app1", "mta@prod", MTA)
    sim.round(2)
    msg = json.loads(sim.root(root))
    text = json.dumps(msg["blocks"])
    assert msg["blocks"][0]["text"]["text"].startswith(":white_check_mark: Recovered")
    assert "nlserver start" not in text and "Next steps" not in text, "no steps for a problem that is gone"
    assert "It was *fail*" in text and "mta@prod should run" in text  # what recovered
    assert "recovered 2030-03-17 17:48 UTC" in text and "after 1 min" in text  # and when
    buttons = [e["text"]["text"] for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["Investigate"]


# ---------------------------------------------------------------------- flapping that settles


def flap(sim: Sim) -> str:
    sim.round(0)
    for minute in range(1, 8):
        sim.set_process("app1", "mta@prod", None if minute % 2 else MTA)
        sim.round(minute)
    roots = sim.roots(SUBJECT)
    assert len(roots) == 1
    assert len([t for t in sim.in_thread(roots[0]) if ":bell: flapping:" in t]) == 1
    return roots[0]


def test_flapping_that_settles_into_ok_posts_the_recovery_once_with_a_check_mark(sim: Sim) -> None:
    root = flap(sim)
    sim.set_process("app1", "mta@prod", MTA)
    sim.round(8)  # it recovers, quietly: it is flapping
    said = len(sim.in_thread(root))
    assert not sim.checked(root)
    for minute in range(10, 70, 10):  # fine, but not for a whole flap_window yet
        sim.round(minute)
    assert len(sim.in_thread(root)) == said and not sim.checked(root)
    for minute in range(70, 130, 10):
        sim.round(minute)
    after = sim.in_thread(root)[said:]
    assert len(after) == 1 and "Recovered" in after[0], "the recovery is said once it settled"
    assert sim.checked(root)
    assert ":white_check_mark: Recovered" in sim.root(root)
    rec = sim.watch.get(mta_key())
    assert rec is not None and not rec.open and not rec.flapping


def test_flapping_that_settles_into_a_problem_says_so_once(sim: Sim) -> None:
    root = flap(sim)  # minute 7: down
    said = len(sim.in_thread(root))
    for minute in range(10, 200, 10):
        sim.round(minute)
    after = sim.in_thread(root)[said:]
    assert len(after) == 1 and "settled" in after[0] and "stays fail" in after[0]
    assert "flapping" not in json.loads(sim.root(root))["blocks"][1]["elements"][0]["text"]


# ---------------------------------------------------------------------- the inventory changes


def test_a_host_removed_from_the_inventory_is_no_longer_watched_not_fine_again(sim: Sim) -> None:
    root = open_mta(sim)
    sim.rewrite(lambda d: d["environments"]["prod"]["hosts"].pop(0))  # app1 goes
    rnd = sim.round(2)
    thread = sim.in_thread(root)
    assert not any("fine again" in t or "Recovered" in t for t in thread)
    assert len([t for t in thread if "no longer watched" in t and "app1 was removed from the inventory" in t]) == 1
    assert not sim.checked(root), "nobody saw it recover"
    assert "No longer watched" in sim.root(root) and "Recovered" not in sim.root(root)
    assert next(e for e in rnd.events if e.subject == SUBJECT).kind == "unwatched"
    assert not sim.watch.open_alerts("prod", now=T0) or all(a.host != "app1" for a in sim.watch.open_alerts("prod"))
    sim.round(3)
    assert len([t for t in sim.in_thread(root) if "no longer watched" in t]) == 1, "said once"


def test_a_module_removed_from_watch_modules_is_no_longer_watched(sim: Sim) -> None:
    root = open_mta(sim)
    sim.rewrite(lambda d: d["environments"]["prod"]["watch"].update(modules=["stat"]))
    sim.round(2)
    thread = sim.in_thread(root)
    assert not any("fine again" in t for t in thread), "mta, still down, is said to be fine again"
    assert any("mta was removed from watch.modules" in t for t in thread)
    assert not sim.checked(root)
    # watched again and still down: back in the same thread
    sim.rewrite(lambda d: d["environments"]["prod"]["watch"].update(modules=["mta", "stat"]))
    sim.round(3)
    assert sim.roots(SUBJECT) == [root]
    assert any("watched again" in t for t in sim.in_thread(root))


def test_an_unreachable_host_is_neither_a_problem_recovered_nor_unwatched(sim: Sim) -> None:
    root = open_mta(sim)
    sim.down.add("app1")
    sim.round(2)
    assert not any("Recovered" in t or "no longer watched" in t for t in sim.in_thread(root))
    connect = sim.roots("app1 connect")
    assert len(connect) == 1
    sim.down.clear()
    sim.round(3)
    assert len([t for t in sim.in_thread(connect[0]) if "Recovered" in t]) == 1 and sim.checked(connect[0])
    assert sim.roots(SUBJECT) == [root] and not sim.in_thread(root)


# ---------------------------------------------------------------------- one clock


def test_snoozed_until_is_on_the_watch_clock(sim: Sim) -> None:
    root = open_mta(sim)
    sim.watch.snooze(mta_key(), "UOPS", 3600, now=T0 + 90)
    assert "snoozed until 2030-03-17 18:48 UTC" in sim.root(root)
    sim.round(30)
    assert "snoozed until" in sim.root(root)
    sim.round(120)  # the snooze has ended on the watch's clock (the wall clock is years before T0)
    assert "snoozed until" not in sim.root(root)
    rec = sim.watch.get(mta_key())
    assert rec is not None and rec.snoozed_until == 0.0
