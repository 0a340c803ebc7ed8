"""The conversation core, in-process: every row of the "asked / expected" table of the
conversation issue, through the same API every surface uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.conversation.core import OneShotJob
from bot.conversation.replies import Answer, Card, Clarify, Click, Help, ModuleList, Question, Refusal
from bot.errors import ConfigError
from bot.inventory import Inventory, parse_inventory
from tests.harness.world import INVENTORY, World


def ask(world: World, text: str, user: str = "UALICE", place: str = "CPROD", thread: str | None = "CPROD:1.1", **kw):  # type: ignore[no-untyped-def]
    return world.core.ask(Question(text=text, user=user, place=place, thread=thread, **kw))


@pytest.mark.parametrize(
    "text", ["something is wrong with campaign", "is everything ok on prod?", "is alles goed op productie?"]
)
def test_vague_questions_sweep_every_host(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.intent == "sweep"
    assert r.plan.environment == "prod" and set(r.plan.hosts) == {"app1", "app2"}
    assert {"mta", "stat", "wfserver", "web", "syslogd", "watchdog"} <= set(r.plan.modules)
    # pdump and monitor -missing ran on every host, and what is down is named.
    assert world.scripts_to("app1") == 1 and world.scripts_to("app2") == 1
    assert "mta@prod" in r.diagnosis.verdict and "app2" in r.diagnosis.verdict


@pytest.mark.parametrize("text", ["check app2", "disk full on app2", "why is app2 red", "hoe staat app2 ervoor?"])
def test_a_host_name_gives_that_hosts_health(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.intent == "host"
    assert r.plan.hosts == ("app2",) and r.plan.environment == "prod"
    assert world.scripts_to("app1") == 0 and world.scripts_to("app2") == 1
    assert len(r.plan.modules) >= 6  # all its modules


def test_the_host_picks_its_environment(world: World) -> None:
    r = ask(world, "check acc1", user="UBOSS")
    assert isinstance(r, Answer) and r.plan.environment == "acc" and r.plan.hosts == ("acc1",)


@pytest.mark.parametrize("alias", ["production", "productie", "prd", "PRODUCTION"])
def test_environment_aliases(world: World, alias: str) -> None:
    r = ask(world, f"mail not sending in {alias}", place="CELSE", thread=None)
    assert isinstance(r, Answer) and r.plan.environment == "prod"


def test_acceptance_alias_and_access(world: World) -> None:
    r = ask(world, "mail not sending on acceptatie", user="UALICE")
    assert isinstance(r, Refusal) and r.why == "access" and r.environment == "acc"
    assert world.scripts_to("acc1") == 0
    r = ask(world, "mail not sending on acceptance", user="UBOSS")
    assert isinstance(r, Answer) and r.plan.environment == "acc"


@pytest.mark.parametrize("text", ["mail not sending on staging", "workflow stuck in test", "mail not sending env nope"])
def test_unknown_environment_is_refused_and_nothing_runs(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Refusal) and r.why == "unknown_environment"
    assert "known: acc, prod" in r.reason
    assert all(t.scripts == [] for t in world.transports.values())


def test_explicit_unknown_environment_is_refused(world: World) -> None:
    r = ask(world, "mail not sending", env="nope")
    assert isinstance(r, Refusal) and r.why == "unknown_environment" and "'nope'" in r.reason


def test_follow_ups_reuse_the_thread(world: World) -> None:
    first = ask(world, "mail not sending")
    assert isinstance(first, Answer) and first.plan.environment == "prod"
    again = ask(world, "check again")
    assert isinstance(again, Answer) and again.plan.intent == "followup"
    assert again.plan.modules == first.plan.modules and again.plan.environment == "prod"
    other = ask(world, "and on acc?", user="UBOSS")
    assert isinstance(other, Answer) and other.plan.environment == "acc" and other.plan.modules == first.plan.modules
    logs = ask(world, "show the logs", user="UBOSS")
    assert isinstance(logs, Answer) and logs.plan.show_logs
    # Without a thread, "check again" has nothing to repeat.
    assert isinstance(ask(world, "check again", thread=None), Help)


def test_unknown_instance_is_refused(world: World) -> None:
    r = ask(world, "mta@staging")
    assert isinstance(r, Refusal) and r.why == "unknown_instance" and "known: prod" in r.reason
    r = ask(world, "mta@prod")
    assert isinstance(r, Answer) and r.plan.modules == ("mta",)


@pytest.mark.parametrize("text", ["export", "exports", "Export?"])
def test_single_words_name_modules(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.modules[0] == "export"


def test_slack_links_are_ignored(world: World) -> None:
    r = ask(world, "<@UBOT> mail not sending, see <https://status.example.com/x?a=1|status> and <#C123|ops>")
    assert isinstance(r, Answer) and r.plan.modules[0] == "mta"
    assert "status.example" not in r.plan.question
    assert isinstance(ask(world, "<https://example.com|status>"), Help)


def test_campaign_module_with_environment(world: World) -> None:
    r = ask(world, "/campaign-module mta prod")
    assert isinstance(r, Card) and r.module == "mta" and r.environment == "prod" and r.can_run
    r = ask(world, "/campaign-module waakhond")
    assert isinstance(r, Card) and r.module == "watchdog"
    r = ask(world, "/campaign-module mta staging")
    assert isinstance(r, Refusal) and r.why == "unknown_environment"
    r = ask(world, "/campaign-module")
    assert isinstance(r, ModuleList)
    r = ask(world, "/campaign-module mta; rm -rf /")
    assert isinstance(r, Refusal) and r.why == "unknown_module" and r.suggestions[:1] == ("mta",)


@pytest.mark.parametrize("text", ["is mta running on prod?", "draait mta op productie?", "is mta up?"])
def test_is_x_running_gets_a_direct_answer(world: World, text: str) -> None:
    r = ask(world, text)
    assert isinstance(r, Answer) and r.plan.intent == "running" and r.plan.modules == ("mta",)
    assert any(s.startswith("mta@prod runs on app1") and "pid 3" in s for s in r.direct)
    assert any(s.startswith("mta@prod is NOT running on app2") for s in r.direct)


def test_not_about_campaign_says_so(world: World) -> None:
    for text in ("my laptop wifi is broken", "what's for lunch?", "is everything ok with the printer?"):
        r = ask(world, text)
        assert isinstance(r, Help) and r.not_campaign, text
    assert all(t.scripts == [] for t in world.transports.values())


def test_clarify_then_click(world: World) -> None:
    r = ask(world, "the job did not finish")
    if isinstance(r, Clarify):  # import or export: the user picks one
        value = json.dumps({"module": r.candidates[0].module, "env": r.environment})
        after = world.core.click(Click(kind="clarify", value=value, user="UALICE", place="CPROD", thread="CPROD:1.1"))
        assert isinstance(after, Answer) and after.plan.modules[0] == r.candidates[0].module
    else:
        assert isinstance(r, Answer | Help)


def test_run_checks_button_validates_its_value(world: World) -> None:
    ok = world.core.click(
        Click(
            kind="run_checks",
            value=json.dumps({"module": "mta", "instance": "prod", "env": "prod"}),
            user="UALICE",
            place="CPROD",
        )
    )
    assert isinstance(ok, Answer) and ok.plan.modules == ("mta",)
    for value in (
        "not json",
        json.dumps({"module": "mta; id"}),
        json.dumps({"module": "mta", "instance": "x;y", "env": "prod"}),
    ):
        r = world.core.click(Click(kind="run_checks", value=value, user="UALICE", place="CPROD"))
        assert isinstance(r, Refusal)
        assert "x;y" not in r.reason and "; id" not in r.reason  # raw button values are never echoed


def test_every_question_is_audited(world: World) -> None:
    ask(world, "mail not sending")
    ask(world, "my laptop is slow")
    ask(world, "mail not sending on staging")
    records = [json.loads(x) for x in Path(str(world.audit_path)).read_text().splitlines()]
    assert [r["outcome"] for r in records][-3:][1:] == ["not-about-campaign", "refused-unknown_environment"]
    assert records[-3]["commands"] and records[-3]["environment"] == "prod"


def test_a_broken_inventory_stops_everything(world: World) -> None:
    from bot.errors import InventoryError

    def broken():  # type: ignore[no-untyped-def]
        raise InventoryError("inventory.yaml: environments.prod.hosts.0.port: Input should be a valid integer")

    world.core.inventory = broken
    r = ask(world, "mail not sending")
    assert isinstance(r, Refusal) and r.why == "configuration" and "hosts.0.port" in r.reason
    assert all(t.scripts == [] for t in world.transports.values())


@pytest.mark.parametrize("kind", ["run_checks", "clarify"])
def test_a_click_without_access_is_refused_before_anything_is_decided(world: World, kind: str) -> None:
    """acc lets only UBOSS check: the click's decision is already the refusal (so a surface can tell
    the clicker alone, before it posts anything), audited, and nothing runs."""
    value = json.dumps({"module": "mta", "instance": "acc", "env": "acc"})
    c = Click(kind=kind, value=value, user="UALICE", place="CPROD")  # type: ignore[arg-type]
    decided = world.core.click_decision(c)
    assert isinstance(decided, Refusal) and decided.why == "access" and decided.environment == "acc"
    assert isinstance(world.core.click(c), Refusal) and world.scripts_to("acc1") == 0
    ok = world.core.click_decision(Click(kind=kind, value=value, user="UBOSS", place="CPROD"))  # type: ignore[arg-type]
    assert not isinstance(ok, Refusal)


@pytest.mark.parametrize("change", ["host removed", "inventory broken"])
def test_a_refused_action_click_is_audited_whatever_refused_it(world: World, change: str) -> None:
    """Every refusal of a state-changing button is audited, also when the host left the inventory
    after the button was offered, or the inventory can no longer be read."""
    offer = {"env": "prod", "host": "app2", "module": "mta", "step": "start-mta", "command": "nlserver start mta@prod"}
    world.store.put("action", "ACT1", offer, ttl_s=600)
    if change == "host removed":
        inv = json.loads(json.dumps(INVENTORY))
        inv["environments"]["prod"]["hosts"] = inv["environments"]["prod"]["hosts"][:1]
        smaller = parse_inventory(inv, "test")
        world.core.inventory = lambda: smaller
    else:

        def broken() -> Inventory:
            raise ConfigError("inventory.yaml: environments.prod.hosts.0.port: Input should be a valid integer")

        world.core.inventory = broken
    reply = world.core.click(Click(kind="action", value="ACT1", user="UOPS", place="CPROD"), None, OneShotJob())
    assert isinstance(reply, Refusal)
    records = [json.loads(x) for x in Path(str(world.audit_path)).read_text().splitlines()]
    refused = [r for r in records if r["outcome"] == "action-refused"]
    assert refused and refused[-1]["user"] == "UOPS" and refused[-1]["hosts"] == ["app2"], records
    assert world.scripts_to("app2") == 0, "nothing was sent"


def test_instance_in_another_case_is_the_inventory_instance(world: World) -> None:
    """`mta@PROD`, `check MTA@PROD` and the card of `mta@PROD` are mta@prod (pdump and `monitor -missing`
    are read in any case), never refused as an unknown instance, and the checks name it as the inventory does."""
    r = ask(world, "is mta@PROD running?")
    assert isinstance(r, Answer), r
    assert {f.instance for f in r.diagnosis.findings if f.module == "mta"} == {"prod"}
    checked = world.core.check("MTA@PROD", "prod", None, user="U1", place="cli")
    assert isinstance(checked, Answer), checked
    assert {f.instance for f in checked.diagnosis.findings if f.module == "mta"} == {"prod"}
    card = ask(world, "/campaign-module mta@PROD prod")
    assert isinstance(card, Card) and card.instance == "prod", card
