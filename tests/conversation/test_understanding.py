"""Understanding a question, beyond the issue's table: names written in other ways, acknowledgements,
general health questions, running questions about a host, unknown hosts, follow-ups without a thread.
Every refusal runs nothing (no script reaches a host)."""

from __future__ import annotations

import pytest

from bot.conversation.replies import Answer, Help, Question, Refusal
from bot.conversation.understand import Decision, normalize
from bot.inventory import parse_inventory
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
        "disk full on server db1",
        "check appl",
        "check web9.example.com",
        "check 10.9.9.9",
    ],
)
def test_unknown_hosts_are_refused_with_the_known_ones(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "unknown_host", r
    assert "acc1, app1, app2" in r.reason and nothing_ran(world)


@pytest.mark.parametrize(
    "text", ["check 10.0.0.2", "check app2.example.com", "check <http://app2.example.com|app2.example.com>"]
)
def test_a_host_by_its_address_or_full_name_is_that_host(world: World, text: str) -> None:
    r = ask(world, text)
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


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("is everything ok on prod?", "prod"),
        ("alles ok op productie?", "prod"),
        ("check acc", "acc"),
        ("is er iets mis op acc?", "acc"),
    ],
)
def test_a_sweep_naming_an_environment_in_a_thread_is_a_sweep_not_the_threads_question(
    world: World, text: str, env: str
) -> None:
    first = ask(world, "nlserver pdump says No tasks", thread="CPROD:sweep.after")
    assert isinstance(first, Answer) and first.plan.modules == ("watchdog",)
    r = ask(world, text, user="UBOSS", thread="CPROD:sweep.after")
    assert isinstance(r, Answer) and r.plan.intent == "sweep" and r.plan.rerun_of is None, r
    assert r.plan.environment == env and {"mta", "wfserver", "web", "watchdog"} <= set(r.plan.modules)


@pytest.mark.parametrize("text", ["and on acc?", "en op acc?", "acc?", "on acc?", "what about acceptance?"])
def test_a_bare_other_environment_in_a_thread_repeats_the_question_there(world: World, text: str) -> None:
    first = ask(world, "nlserver pdump says No tasks", thread="CPROD:switch")
    assert isinstance(first, Answer)
    r = ask(world, text, user="UBOSS", thread="CPROD:switch")
    assert isinstance(r, Answer) and r.plan.environment == "acc", r
    assert r.plan.rerun_of == "nlserver pdump says No tasks" and r.plan.modules == ("watchdog",)


@pytest.mark.parametrize(
    "text", ["is mtaa runing", "is mtaa running on prod?", "mtaa down", "check module mtx", "the mtx module is down"]
)
def test_a_typo_of_a_module_name_in_its_place_is_that_module(world: World, text: str) -> None:
    r = ask(world, text, thread=None)
    assert isinstance(r, Answer) and r.plan.modules == ("mta",), r


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("is the fooserver running?", "wfserver"),
        ("draait de fooserver?", "wfserver"),
        ("is fooserver running on app2?", "wfserver"),
        ("check module foo", None),
        ("is the xyz process running?", None),
    ],
)
def test_an_unknown_module_is_refused_with_suggestions_and_nothing_runs(
    world: World, text: str, suggested: str | None
) -> None:
    r = ask(world, text, thread=None)
    assert isinstance(r, Refusal) and r.why == "unknown_module", r
    assert (suggested in r.suggestions) if suggested else (r.known and "mta" in r.known)
    assert nothing_ran(world)


@pytest.mark.parametrize("text", ["is jenkins running?", "is docker up?", "is the printer running?"])
def test_something_else_running_is_not_about_campaign(world: World, text: str) -> None:
    r = ask(world, text, thread=None)
    assert isinstance(r, Help) and r.not_campaign, r
    assert nothing_ran(world)


# --- what a second review found: names inside real questions are not refusals -------------------


@pytest.mark.parametrize(
    "text",
    [
        "mta log says 'BAS-010010 Failed to connect to 10.20.30.40:25'",
        "bounces: 554 5.7.1 mail rejected by mx1.gmail.com",
        "mta error: Unable to resolve host smtp.acme-corp.internal",
        "wfserver lost connection to database at 10.0.5.12",
        "delivery stuck on DM7207",
        "mta won't start on rocky9",
        "mta crashes on x86_64",
        "import stuck in staging step",
        "the staging table of the import is empty",
        "mail not sending for test delivery",
        "proof sent to qa team never arrived",
        "we are on ACC 7.3 build 9356, deliveries stuck",
    ],
)
def test_names_inside_a_real_question_do_not_refuse_it(world: World, text: str) -> None:
    r = ask(world, text)
    assert not isinstance(r, Refusal), r


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("is mta running on nlprd-app01?", "nlprd-app01"),
        ("check camp-acc-web1", "camp-acc-web1"),
        ("check <http://nlprd-app01.acme.nl|nlprd-app01.acme.nl>", "nlprd-app01"),
    ],
)
def test_hyphenated_host_names_are_hosts(world: World, text: str, host: str) -> None:
    inv = parse_inventory(
        {
            "environments": {
                "prod": {"hosts": [{"name": "nlprd-app01", "transport": "local"}]},
                "acc": {"hosts": [{"name": "camp-acc-web1", "transport": "local"}]},
            },
            "default_environment": "prod",
        },
        "test",
    )
    q = Question(text=text, user="U", place="C")
    d = world.core.understanding.decide(q, normalize(text), inv, None, None, None)
    assert isinstance(d, Decision) and d.plan.hosts == (host,), d


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("acc: mail not sending", "acc"),
        ("[acc] workflows stuck", "acc"),
        ("mail not sending acc", "acc"),
        ("is acc ok?", "acc"),
        ("acc?", "acc"),
        ("check acc", "acc"),
        ("prod workflows stuck", "prod"),
    ],
)
def test_environments_written_the_way_people_write_them(world: World, text: str, env: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.environment == env, r


@pytest.mark.parametrize("text", ["good morning", "morning all", "good night"])
def test_greetings_run_nothing(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Help) and nothing_ran(world)


@pytest.mark.parametrize(
    "text", ["thanks, mta is running again", "mta is back, thanks!", "ok I restarted the mta, thanks", "it's fixed"]
)
def test_thanks_with_news_is_an_acknowledgement(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Help) and r.brief and nothing_ran(world)


def test_thanks_that_still_reports_a_problem_is_a_question(world: World) -> None:
    r = ask(world, "thanks, but mail is still not sending")
    assert isinstance(r, Answer) and "mta" in r.plan.modules


@pytest.mark.parametrize("text", ["is campaign up?", "any errors today?", "we have an outage"])
def test_more_vague_health_questions_sweep(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.intent == "sweep", r


@pytest.mark.parametrize(("text", "module"), [("stat after config-prod.xml edit", "stat"), ("syslogd?", "syslogd")])
def test_a_module_named_without_a_known_symptom_checks_that_module(world: World, text: str, module: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and module in r.plan.modules, r


@pytest.mark.parametrize("text", ["export the Jira board to csv", "wie doet de import van de nieuwe laptops?"])
def test_everyday_words_that_are_module_names_stay_off_topic(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Help) and r.not_campaign and nothing_ran(world)


def test_slack_bold_and_the_tracking_log_daemon(world: World) -> None:
    r = ask(world, "*is mta running?*")
    assert isinstance(r, Answer) and r.plan.intent == "running" and r.plan.modules == ("mta",)
    r = ask(world, "is the tracking log daemon running?")
    assert isinstance(r, Answer) and r.plan.modules == ("trackinglogd",)
    r = ask(world, "is mta running on app2 or not?")
    assert isinstance(r, Answer) and r.plan.intent == "running" and r.plan.hosts == ("app2",)


def test_an_instance_picks_its_environment(world: World) -> None:
    r = ask(world, "mta@acc down", place="CELSE", thread=None)
    assert isinstance(r, Answer) and r.plan.environment == "acc"


@pytest.mark.parametrize("follow", ["still broken", "nog steeds niet", "and now?", "any errors in the log?"])
def test_follow_ups_that_repeat_the_question(world: World, follow: str) -> None:
    thread = f"CPROD:f.{abs(hash(follow))}"
    first = ask(world, "mail not sending", thread=thread)
    assert isinstance(first, Answer)
    r = ask(world, follow, thread=thread)
    assert isinstance(r, Answer) and r.plan.rerun_of == "mail not sending" and r.plan.modules == first.plan.modules, r


def test_a_follow_up_with_a_new_symptom_is_a_new_question(world: World) -> None:
    ask(world, "mail not sending", thread="CPROD:new")
    r = ask(world, "now the wfserver is down again", thread="CPROD:new")
    assert isinstance(r, Answer) and r.plan.modules[0] == "wfserver" and r.plan.rerun_of is None


def test_running_follow_ups_stay_running_questions(world: World) -> None:
    ask(world, "is mta running?", thread="CPROD:run")
    r = ask(world, "and on app2?", thread="CPROD:run")
    assert isinstance(r, Answer) and r.plan.intent == "running" and r.plan.hosts == ("app2",) and r.direct
    r = ask(world, "what about wfserver?", thread="CPROD:run")
    assert isinstance(r, Answer) and r.plan.intent == "running" and r.plan.modules == ("wfserver",)


def test_logs_after_a_host_question_stay_on_that_host(world: World) -> None:
    ask(world, "check app2", thread="CPROD:host")
    r = ask(world, "show the mta log", thread="CPROD:host")
    assert isinstance(r, Answer) and r.plan.hosts == ("app2",) and r.plan.show_logs


def test_logs_of_another_module_than_the_threads_host_question_are_read_where_it_runs(world: World) -> None:
    ask(world, "is stat running on app1?", thread="CPROD:stat.app1")
    r = ask(world, "show the mta log", thread="CPROD:stat.app1")
    assert isinstance(r, Answer) and r.plan.show_logs and r.plan.modules[0] == "mta", r
    assert set(r.plan.hosts) == {"app1", "app2"}
    ask(world, "is stat running on app1?", thread="CPROD:stat.app1.again")
    r = ask(world, "show the stat log", thread="CPROD:stat.app1.again")
    assert isinstance(r, Answer) and r.plan.hosts == ("app1",)


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("workflows hangen op de testomgeving", "test"),
        ("bounces worden niet verwerkt in de staging-omgeving", "staging"),
        ("bounces not processed on prod-eu", "prod-eu"),
        ("mail not sending on eu-prod", "eu-prod"),
    ],
)
def test_a_sibling_or_compound_environment_name_is_refused_not_read_as_prod(
    world: World, text: str, subject: str
) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "unknown_environment" and r.subject == subject, r
    assert nothing_ran(world)


@pytest.mark.parametrize(
    ("text", "env"),
    [("mail not sending op de productieomgeving", "prod"), ("workflows hangen op de acceptatieomgeving", "acc")],
)
def test_a_dutch_compound_of_a_known_environment_names_it(world: World, text: str, env: str) -> None:
    r = ask(world, text, user="UBOSS")
    assert isinstance(r, Answer) and r.plan.environment == env, r


@pytest.mark.parametrize(
    "text",
    [
        "PGS-220000 errors everywhere",
        "ODB-240000 in the logs",
        "BAS-010007 Function not implemented",
        "overal jst-310027 meldingen",
        "XTK-170024?",
    ],
)
def test_a_campaign_error_code_alone_reads_every_modules_log(world: World, text: str) -> None:
    # Every module writes Campaign's codes to its log: with no module's symptom in the question, the
    # answer is every module on every host, with the logs shown (not "not about Campaign").
    r = ask(world, text, thread=None)
    assert isinstance(r, Answer), r
    assert r.plan.intent == "sweep" and r.plan.show_logs
    assert {"mta", "web", "wfserver"} <= set(r.plan.modules)


@pytest.mark.parametrize("text", ["ticket INC-123456 is still open", "order ABC-123456 was shipped", "PGS220000"])
def test_what_only_looks_like_a_campaign_error_code_is_not_one(world: World, text: str) -> None:
    r = ask(world, text, thread=None)
    assert isinstance(r, Help) and r.not_campaign, r
    assert nothing_ran(world)
