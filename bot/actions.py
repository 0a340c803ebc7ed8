"""Guarded state-changing actions: a documented `nlserver` step, run on one host after an operator
confirmed it. The command comes from the knowledge base (never from the click or any user text);
only `nlserver start` and `nlserver restart` of a validated `module[@instance]` (optionally with the
documented `-verbose` or `-noconsole` of the log-precision procedure) are possible here."""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass

from bot.errors import TransportError
from bot.inventory import INSTANCE_RE, Host
from bot.kb.models import KnowledgeBase, Risk
from bot.kb.placeholders import fill
from bot.probes.script import prelude
from bot.redact import redact
from bot.runner import TransportFactory
from bot.transports.base import Script

ACTION_VERBS = frozenset({"start", "restart"})
_COMMAND_RE = re.compile(
    r"^nlserver (start|restart) ([A-Za-z][A-Za-z0-9_]*)(?:@([A-Za-z0-9][A-Za-z0-9_-]{0,63}))?(?: (-verbose|-noconsole))?$"
)


class ActionRefused(ValueError):
    """The command is not one the bot may run."""


@dataclass(frozen=True)
class ActionResult:
    host: str
    command: str
    exit_code: int | None
    output: str
    duration_ms: int
    error: str | None = None


def actionable(command: str | None, kb: KnowledgeBase) -> bool:
    """Whether a rendered next-step command may be offered as a button."""
    if not command:
        return False
    m = _COMMAND_RE.match(command)
    if not m:
        return False
    try:
        kb.get(m.group(2))
    except KeyError:
        return False
    return True


def action_script(host: Host, command: str, kb: KnowledgeBase, module: str, step_id: str) -> Script:
    """Build the script for a documented state-changing step; refuse anything else."""
    m = _COMMAND_RE.match(command)
    if not m or m.group(1) not in ACTION_VERBS:
        raise ActionRefused(f"{command!r} is not an allowed action")
    mod = kb.get(module)
    step = next((s for s in mod.steps if s.id == step_id), None)
    if step is None or step.risk != Risk.CHANGES_STATE or not step.command:
        raise ActionRefused(f"{module}/{step_id} is not a documented state-changing step")
    if m.group(2).lower() != mod.name.lower() or (m.group(3) and not INSTANCE_RE.match(m.group(3))):
        raise ActionRefused("the command does not match the step's module")
    expected = fill(step.command, module=mod.name, instance=m.group(3) or "-").replace("@-", "")
    if expected != command:
        raise ActionRefused("the command is not the knowledge base's command for this step")
    target = m.group(2) + (f"@{m.group(3)}" if m.group(3) else "")
    flag = f" {m.group(4)}" if m.group(4) else ""  # one of two fixed words, matched above
    text = "\n".join([*prelude(host.nl_home), f'"$NLSERVER" {m.group(1)} {shlex.quote(target)}{flag} 2>&1']) + "\n"
    return Script(text=text, description=command, verbs=(m.group(1),))


def run_action(host: Host, script: Script, transport_for: TransportFactory) -> ActionResult:
    start = time.monotonic()
    try:
        with transport_for(host) as t:
            res = t.run(script, timeout_s=host.deadline_s)
    except TransportError as e:
        return ActionResult(host.name, script.description, None, "", int((time.monotonic() - start) * 1000), str(e))
    out = redact((res.stdout + res.stderr).decode("utf-8", "replace"))[-3000:]
    err = "timed out" if res.timed_out else None
    return ActionResult(host.name, script.description, res.exit_code, out, res.duration_ms, err)
