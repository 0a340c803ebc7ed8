"""Names in a host's or an environment's place, and state questions, after the audit of the conversation
issue: an unknown host anywhere a host stands is refused with the known ones (nothing runs); pasted
errors, versions and Campaign codes are not hosts; an unknown environment in a follow-up is refused; an
environment called `test` is not `/r/test` nor "test delivery"; "is mta down?" is answered per host."""

from __future__ import annotations

import pytest

from bot.conversation.replies import Answer, Help, Question, Refusal
from bot.conversation.understand import Decision, Understanding, normalize
from bot.inventory import Inventory, parse_inventory
from tests.harness.world import World


def ask(world: World, text: str, thread: str | None = "CPROD:names", **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("user", "UBOSS")
    kw.setdefault("place", "CPROD")
    return world.core.ask(Question(text=text, thread=thread, **kw))


def nothing_ran(world: World) -> bool:
    return all(world.scripts_to(h) == 0 for h in ("app1", "app2", "acc1"))


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("is mta running on nlprd-app01?", "nlprd-app01"),
        ("mail not sending on web01", "web01"),
        ("workflows stuck on nlprd-app01", "nlprd-app01"),
        ("/r/test fails on nlprd-trk01", "nlprd-trk01"),
        ("why is web01 red", "web01"),
        ("web01 disk full", "web01"),
        ("is camp-mta-02 down?", "camp-mta-02"),
        ("is mta running on camp-mta-02?", "camp-mta-02"),
        ("disk full on srv123.example.com", "srv123.example.com"),
        ("de mails komen niet aan op web01", "web01"),
        ("de logs van srv7", "srv7"),
        ("bounces are not processed for camp-mta-02", "camp-mta-02"),
        ("tracking broken at trk-03", "trk-03"),
        ("mta errors on web01", "web01"),
        ("since this morning no mail goes out anymore on nlprd-app01, could someone have a look?", "nlprd-app01"),
        ("is web01 ok?", "web01"),
        ("web01 is down", "web01"),
        ("web01 reageert niet", "web01"),
    ],
)
def test_an_unknown_host_in_a_hosts_place_is_refused_with_the_known_ones(world: World, text: str, host: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "unknown_host", r
    assert r.reason == f"unknown host {host!r}; known: acc1, app1, app2" and nothing_ran(world)


@pytest.mark.parametrize(
    "text",
    [
        "delivery stuck on dm7207",
        "mta won't start on rocky9",
        "mta does not start on el9",
        "mail not sending on utf8 subject lines",
        "mail not sending on tlsv1",
        "tracking broken for ie11 users",
        "workflow stuck at step3",
        "workflow stuck on task2",
        "deliveries stuck for blackfriday2025",
        "import stuck for campaign2025",
        "wfserver lost connection to the database at 10.0.5.12",
        "bounces from the relay at mx1.example.com are not processed",
        "mail not sending for q4 newsletter",
        "quotas met for gmail.com, sending slow",
        "mail not sending on java11",
        "is stat running on app1?",
        "v8 upgrade broke mta",
        "wave2 stuck",
        "blackfriday2025 not sent",
    ],
)
def test_words_shaped_like_hosts_that_are_not_hosts_are_not_refused(world: World, text: str) -> None:
    r = ask(world, text)
    assert not isinstance(r, Refusal), r


def test_a_known_host_still_picks_that_host(world: World) -> None:
    r = ask(world, "workflows stuck on app2")
    assert isinstance(r, Answer) and r.plan.hosts == ("app2",) and "wfserver" in r.plan.modules


# --- an unknown environment in a follow-up ---------------------------------------------------------


@pytest.mark.parametrize(
    ("follow", "env"),
    [
        ("and on staging?", "staging"),
        ("en op staging?", "staging"),
        ("what about uat?", "uat"),
        ("and in development?", "development"),
    ],
)
def test_an_unknown_environment_in_a_follow_up_is_refused_with_the_known_ones(
    world: World, follow: str, env: str
) -> None:
    thread = f"CPROD:fu.{env}.{len(follow)}"
    first = ask(world, "mail not sending", thread=thread)
    assert isinstance(first, Answer)
    before = {h: world.scripts_to(h) for h in ("app1", "app2", "acc1")}
    r = ask(world, follow, thread=thread)
    assert isinstance(r, Refusal) and r.why == "unknown_environment", r
    assert r.reason == f"unknown environment {env!r}; known: acc, prod"
    assert {h: world.scripts_to(h) for h in before} == before


def test_a_follow_up_on_a_known_environment_still_repeats_the_question(world: World) -> None:
    ask(world, "mail not sending", thread="CPROD:fu.acc")
    r = ask(world, "en op acc?", thread="CPROD:fu.acc")
    assert isinstance(r, Answer) and r.plan.environment == "acc" and r.plan.rerun_of == "mail not sending"


def test_an_unknown_environment_in_a_follow_up_without_a_thread_is_refused_too(world: World) -> None:
    r = ask(world, "and on staging?", thread="CPROD:never.asked")
    assert isinstance(r, Refusal) and r.why == "unknown_environment" and nothing_ran(world)


# --- an environment called test -----------------------------------------------------------------------


def _test_env_inventory() -> Inventory:
    return parse_inventory(
        {
            "environments": {
                "prod": {"hosts": [{"name": "app1", "transport": "local"}]},
                "test": {"hosts": [{"name": "tst1", "transport": "local"}]},
            },
            "default_environment": "prod",
        },
        "test",
    )


def _decide(world: World, text: str, inv: Inventory):  # type: ignore[no-untyped-def]
    u: Understanding = world.core.understanding
    return u.decide(Question(text=text, user="U", place="C"), normalize(text), inv, None, None, None)


@pytest.mark.parametrize(
    "text",
    [
        "/r/test fails",
        "r/test returns an error page",
        "https://front.example.com/r/test does not answer OK",
        "test delivery not sent",
        "seed test mail never arrived",
        "the test mail is stuck",
        "mail not sending during test",
        "proof and test sends are not delivered",
    ],
)
def test_an_environment_called_test_is_not_r_test_nor_an_adjective(world: World, text: str) -> None:
    d = _decide(world, text, _test_env_inventory())
    assert isinstance(d, Decision) and d.plan.environment == "prod", d


@pytest.mark.parametrize(
    "text", ["mail not sending on test", "is test ok?", "test: workflows stuck", "check test", "[test] mta down"]
)
def test_an_environment_called_test_is_still_named_where_it_stands_as_one(world: World, text: str) -> None:
    d = _decide(world, text, _test_env_inventory())
    assert isinstance(d, Decision) and d.plan.environment == "test", d


def test_r_test_on_an_environment_called_test_is_that_environment(world: World) -> None:
    d = _decide(world, "/r/test fails on test", _test_env_inventory())
    assert isinstance(d, Decision) and d.plan.environment == "test" and "web" in d.plan.modules, d


# --- the state question, negated ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "module", "hosts"),
    [
        ("is mta down?", "mta", {"app1", "app2"}),
        ("is mta down on app2?", "mta", {"app2"}),
        ("is mta stopped?", "mta", {"app1", "app2"}),
        ("has mta crashed?", "mta", {"app1", "app2"}),
        ("is de mta gestopt?", "mta", {"app1", "app2"}),
        ("ligt de mta plat?", "mta", {"app1", "app2"}),
        ("is mta dood?", "mta", {"app1", "app2"}),
        ("is the wfserver dead?", "wfserver", {"app1", "app2"}),
        ("draait de mta niet?", "mta", {"app1", "app2"}),
        ("is mta not running on app1?", "mta", {"app1"}),
    ],
)
def test_is_mta_down_gets_the_direct_answer_per_host(world: World, text: str, module: str, hosts: set[str]) -> None:
    r = ask(world, text, thread=None)
    assert isinstance(r, Answer) and r.plan.intent == "running", r
    assert r.plan.modules == (module,) and set(r.plan.hosts) == hosts
    assert len(r.direct) >= len(hosts) and all(any(h in line for line in r.direct) for h in hosts), r.direct


def test_is_mta_down_says_the_same_as_is_mta_running(world: World) -> None:
    up = ask(world, "is mta running?", thread=None)
    down = ask(world, "is mta down?", thread=None)
    assert isinstance(up, Answer) and isinstance(down, Answer) and up.direct == down.direct
    assert any("mta@prod runs on app1" in line for line in down.direct)
    assert any("mta@prod is NOT running on app2" in line for line in down.direct)


def test_is_it_down_after_a_running_question_asks_about_the_same_module(world: World) -> None:
    ask(world, "is wfserver running?", thread="CPROD:down.it")
    r = ask(world, "is it down on app2?", thread="CPROD:down.it")
    assert isinstance(r, Answer) and r.plan.intent == "running" and r.plan.modules == ("wfserver",)


@pytest.mark.parametrize("text", ["why is mta down?", "mta is down"])
def test_a_down_statement_or_a_why_is_a_symptom(world: World, text: str) -> None:
    r = ask(world, text, thread=None)
    assert isinstance(r, Answer) and r.plan.intent == "symptom" and "mta" in r.plan.modules


def test_off_topic_stays_off_topic(world: World) -> None:
    r = ask(world, "have a nice weekend all", thread=None)
    assert isinstance(r, Help) and nothing_ran(world)


@pytest.mark.parametrize(
    ("text", "host"),
    [("check WEB01", "WEB01"), ("check SRV123", "SRV123"), ("is mta running on NLPRD-APP01?", "NLPRD-APP01")],
)
def test_a_host_in_capitals_is_a_host_and_is_named_as_written(world: World, text: str, host: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "unknown_host" and f"unknown host {host!r}" in r.reason, r


@pytest.mark.parametrize("text", ["delivery DM7207 stuck on WKF1234", "error BAS-010010 in the mta log"])
def test_campaign_codes_in_capitals_are_not_hosts(world: World, text: str) -> None:
    assert not isinstance(ask(world, text), Refusal)
