"""Guarded actions: only documented start/restart steps, rebuilt from the knowledge base."""

from __future__ import annotations

import pytest

from bot.actions import ActionRefused, action_script, actionable
from bot.inventory import Host
from bot.kb import KnowledgeBase

HOST = Host(name="app1", address="10.0.0.1")


def test_documented_steps_are_actionable(kb: KnowledgeBase) -> None:
    assert actionable("nlserver start mta@prod", kb)
    assert actionable("nlserver restart wfserver@prod -verbose", kb)
    for bad in (
        "nlserver stop mta@prod",
        "nlserver start mta@prod; rm -rf /",
        "nlserver shutdown",
        "rm -rf /",
        "nlserver start nosuch@prod",
        "nlserver restart mta@prod -tracefilter:*",
        None,
    ):
        assert not actionable(bad, kb), bad


def test_script_is_the_knowledge_base_command(kb: KnowledgeBase) -> None:
    s = action_script(HOST, "nlserver start mta@prod", kb, "mta", "start-mta")
    assert s.verbs == ("start",) and s.text.rstrip().endswith('"$NLSERVER" start mta@prod 2>&1')
    v = action_script(HOST, "nlserver restart wfserver@prod -verbose", kb, "wfserver", "verbose")
    assert v.text.rstrip().endswith('"$NLSERVER" restart wfserver@prod -verbose 2>&1')


@pytest.mark.parametrize(
    ("command", "module", "step"),
    [
        ("nlserver start mta@prod", "mta", "read-log"),  # a read-only step
        ("nlserver start stat@prod", "mta", "start-mta"),  # another module's command
        ("nlserver restart mta@prod", "mta", "start-mta"),  # not this step's command
        ("nlserver stop mta@prod", "mta", "start-mta"),
        ("nlserver start mta@prod", "mta", "nosuch"),
    ],
)
def test_anything_else_is_refused(kb: KnowledgeBase, command: str, module: str, step: str) -> None:
    with pytest.raises(ActionRefused):
        action_script(HOST, command, kb, module, step)
