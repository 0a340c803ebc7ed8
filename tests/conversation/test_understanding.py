"""Understanding a question, beyond the issue's table: names written in other ways, acknowledgements,
general health questions, running questions about a host, unknown hosts, follow-ups without a thread.
Every refusal runs nothing (no script reaches a host)."""

from __future__ import annotations

import pytest

from bot.conversation.replies import Answer, Help, Question, Refusal
from tests.harness.world import World


def ask(world: World, text: str, thread: str | None = "CPROD:9.9", **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("user", "UBOSS")
    kw.setdefault("place", "CPROD")
    return world.core.ask(Question(text=text, thread=thread, **kw))


def nothing_ran(world: World) -> bool:
    return all(world.scripts_to(h) == 0 for h in ("app1", "app2", "acc1"))


@pytest.mark.parametrize(
    "text",
    [
        "mail not sending in the staging environment",
        "staging: mail not sending",
        "mail not sending (staging)",
        "mail not sending on prd2",
        "mail not sending on production-2",
        "mail not sending on prdo",
        "bounces not processed on uat",
        "de acceptatie2 omgeving verstuurt niets",
    ],
)
def test_an_environment_the_inventory_lacks_is_refused_however_it_is_written(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "unknown_environment", r
    assert "known: acc, prod" in r.reason and nothing_ran(world)


@pytest.mark.parametrize("text", ["mail not sending on prod and acc", "is mta running on acc and prod?"])
def test_two_environments_in_one_question_are_refused_not_half_answered(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "several_environments" and nothing_ran(world)
    assert "prod" in r.reason and "acc" in r.reason


def test_an_explicit_environment_that_contradicts_the_question_is_refused(world: World) -> None:
    r = ask(world, "mail not sending on acc", env="prod")
    assert isinstance(r, Refusal) and r.why == "several_environments" and nothing_ran(world)


def test_an_unknown_default_environment_is_a_configuration_error_not_a_silent_fallback(world: World) -> None:
    world.core.default_env = "staging"
    r = ask(world, "mail not sending", place="CELSE", thread=None)
    assert isinstance(r, Refusal) and r.why == "configuration" and "'staging'" in r.reason
    assert nothing_ran(world)


@pytest.mark.parametrize(
    "text", ["ok", "ok thanks", "thx!", "fine", "no problem", "problem solved", "sounds good", "top, opgelost"]
)
def test_acknowledgements_get_a_short_reply_and_run_nothing(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Help) and r.brief and r.note and not r.not_campaign
    assert nothing_ran(world)


@pytest.mark.parametrize(
    "text",
    [
        "is er iets mis?",
        "is there a problem?",
        "what is wrong?",
        "nothing works",
        "alles ligt plat",
        "disk full",
        "schijf vol",
        "out of memory",
        "too many open files",
        "zombie processes",
        "clock skew",
        "check prod",
        "hoe gaat het met productie?",
        "alles goed?",
    ],
)
def test_health_questions_that_name_nothing_specific_sweep_every_host(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.intent == "sweep", r
    assert set(r.plan.hosts) == {"app1", "app2"}


@pytest.mark.parametrize(
    "text", ["is there a problem with my laptop?", "my printer is broken", "hello", "who broke the staging database"]
)
def test_other_questions_stay_off_topic(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Help) and r.not_campaign and nothing_ran(world)


@pytest.mark.parametrize(
    ("text", "module", "hosts"),
    [
        ("is web running?", "web", {"app1", "app2"}),
        ("is the app server running?", "web", {"app1", "app2"}),
        ("is mta running on app2?", "mta", {"app2"}),
        ("is stat running on app1?", "stat", {"app1"}),
    ],
)
def test_running_questions_get_a_direct_answer_for_the_hosts_named(
    world: World, text: str, module: str, hosts: set[str]
) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.intent == "running", r
    assert r.plan.modules == (module,) and set(r.plan.hosts) == hosts
    assert r.direct, "a yes/no line per host"


def test_a_running_question_on_one_host_says_so_for_that_host(world: World) -> None:
    r = ask(world, "is mta running on app2?")
    assert isinstance(r, Answer)
    assert any("app2" in line for line in r.direct) and not any("app1" in line for line in r.direct)
    assert world.scripts_to("app1") == 0


@pytest.mark.parametrize(
    "text",
    [
        "check web01",
        "check host mail01",
        "why is app9 red",
        "disk full on db1",
        "check appl",
        "check app2.example.com",
        "check 10.9.9.9",
    ],
)
def test_unknown_hosts_are_refused_with_the_known_ones(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "unknown_host", r
    assert "acc1, app1, app2" in r.reason and nothing_ran(world)


def test_a_host_by_its_address_is_that_host(world: World) -> None:
    r = ask(world, "check 10.0.0.2")
    assert isinstance(r, Answer) and r.plan.hosts == ("app2",)


@pytest.mark.parametrize(
    "text", ["mail not sending on v8", "mail not sending since the upgrade to 7.0.3", "mail not sending on rhel8"]
)
def test_versions_and_technical_words_are_not_hosts(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.intent == "symptom" and "mta" in r.plan.modules


def test_a_host_in_another_environment_than_the_one_named_is_refused(world: World) -> None:
    r = ask(world, "check app1 on acc")
    assert isinstance(r, Refusal) and "app1 is in prod, not in acc" in r.reason and nothing_ran(world)


def test_host_names_are_not_read_as_module_words(world: World) -> None:
    # "acc1" is a host; the matcher must not see it (it would be a typo of nothing useful, or a place).
    r = ask(world, "is stat running on acc1?")
    assert isinstance(r, Answer) and r.plan.modules == ("stat",) and r.plan.hosts == ("acc1",)
    assert not any("acc1" in reason for m in r.plan.matches for reason in m.reasons)


@pytest.mark.parametrize("text", ["check again", "show the logs", "and on prod?"])
def test_a_follow_up_without_a_previous_question_says_there_is_nothing_to_repeat(world: World, text: str) -> None:
    r = ask(world, text, thread="CPROD:new.thread")
    assert isinstance(r, Help) and r.note and "nothing to repeat" in r.note and not r.not_campaign
    assert nothing_ran(world)


def test_chained_follow_ups_repeat_the_original_question(world: World) -> None:
    first = ask(world, "mail not sending", thread="CPROD:chain")
    assert isinstance(first, Answer)
    again = ask(world, "check again", thread="CPROD:chain")
    assert isinstance(again, Answer) and again.plan.rerun_of == "mail not sending"
    third = ask(world, "and on acc?", thread="CPROD:chain")
    assert isinstance(third, Answer) and third.plan.rerun_of == "mail not sending"
    assert third.plan.environment == "acc" and third.plan.modules == first.plan.modules
