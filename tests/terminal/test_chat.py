"""The terminal chat gives the answers Slack gives: the same core, rendered as text."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from bot.kb import KnowledgeBase
from bot.terminal.chat import run_chat
from tests.harness.world import World


def chat(world: World, kb: KnowledgeBase, *lines: str) -> list[str]:
    out = io.StringIO()
    run_chat(lines, out.write, world.core, kb, simulated=False)
    return [a for a in out.getvalue().split("\n\n\n") if a.strip()] or [out.getvalue()]


def test_follow_ups_names_and_cards_in_the_terminal(world: World, kb: KnowledgeBase) -> None:
    out = io.StringIO()
    lines = [
        "mail not sending",
        "check again",
        "and on prod?",
        "/campaign-module mta prod",
        "mta@staging",
        "mail not sending on staging",
        "is mta running on prod?",
        "export",
        "check app2",
        "my printer is broken",
    ]
    run_chat(lines, out.write, world.core, kb, simulated=False)
    text = out.getvalue()
    answers = text.split("\n\n\n") if "\n\n\n" in text else None
    assert "again: mail not sending" in text  # the follow-ups repeated the question
    assert text.count("Environment: prod") >= 3
    assert "mta: Delivery server" in text and "Environment: prod" in text  # the card, for prod
    assert "unknown instance 'staging' in prod; known: prod" in text
    assert "unknown environment 'staging'; known: acc, prod" in text
    assert "mta@prod runs on app1" in text and "mta@prod is NOT running on app2" in text
    assert "export" in text.lower()
    assert "Environment: prod (1 host)" in text  # check app2
    assert "does not look like a question about Adobe Campaign" in text
    assert answers is None or len(answers) >= 1


def _run(*lines: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,  # no ./inventory.yaml there: the simulated fleet
        env={**base, **(env or {})},
    )


def test_make_run_terminal_chat_on_the_simulated_fleet(tmp_path: Path) -> None:
    p = _run("is everything ok on prod?", "check again", "is mta running?", "check app2", "mta@staging", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "SIMULATED" in p.stderr and "SIMULATED" in p.stdout
    assert "Traceback" not in p.stderr + p.stdout
    assert "again: is everything ok on prod?" in p.stdout
    assert "mta@prod" in p.stdout and "app2" in p.stdout
    assert "unknown instance 'staging'" in p.stdout


def test_run_env_pins_the_chat_like_diagnose_env(world: World, kb: KnowledgeBase) -> None:
    """`campaign-bot run --env acc`: a question naming another environment, or a host of another, is
    refused as `diagnose --env acc` refuses it; nothing runs. A question naming none is about acc."""
    from bot.conversation.replies import Question, Refusal

    out = io.StringIO()
    run_chat(
        ["mail not sending on prod", "check app1", "is mta running on app2?"],
        out.write,
        world.core,
        kb,
        simulated=False,
        env="acc",
    )
    text = out.getvalue()
    assert "the question names prod but the environment given is acc" in text
    assert text.count("not in acc") == 2  # app1 and app2 are prod's
    assert all(world.scripts_to(h) == 0 for h in ("app1", "app2", "acc1"))
    for q in ("mail not sending on prod", "check app1"):
        diagnosed = world.core.ask(Question(text=q, user="cli", place="cli", surface="cli", trusted=True, env="acc"))
        assert isinstance(diagnosed, Refusal) and diagnosed.reason.split(":")[0] in text
    out = io.StringIO()
    run_chat(["mail not sending"], out.write, world.core, kb, simulated=False, env="acc")
    assert "Environment: acc" in out.getvalue() and world.scripts_to("acc1") > 0 and world.scripts_to("app1") == 0


def test_run_env_on_the_command_line_reaches_the_chat(tmp_path: Path) -> None:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    p = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--env", "prod"],
        input="mail not sending on staging\nmail not sending on production\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=base,
    )
    assert p.returncode == 0, p.stderr
    assert "unknown environment 'staging'" in p.stdout and "Environment: prod" in p.stdout
