"""What goes into the conversation core and what comes out: platform-neutral, frozen models.

A surface (Slack, the terminal chat, the watch, a webhook) turns its input into a `Question` or a
`Click`, hands it to `Conversation`, and renders the `Reply` it gets back. No reply carries Slack
or terminal formatting: renderers in `bot/render/` do that.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from bot.models import Diagnosis, Match
from bot.redact import redact

Surface = Literal["slack", "terminal", "cli", "watch", "webhook"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Question(_Frozen):
    """One message to the bot.

    Args:
        text: what the user wrote, as the surface received it (Slack markup is stripped by the core).
        user: who asked (a Slack user id; `terminal` for the local operator).
        place: where (a Slack channel id; `terminal`).
        thread: the conversation it belongs to, for follow-ups (`<channel>:<thread ts>`; None = new).
        surface: which surface it came from.
        trusted: the local operator of the bot's own machine (terminal, CLI): access lists do not apply,
            since that person already holds the bot's keys.
        env: an environment chosen outside the text (`--env`), or None.
    """

    text: str
    user: str
    place: str
    thread: str | None = None
    surface: Surface = "slack"
    trusted: bool = False
    env: str | None = None


class Click(_Frozen):
    """A button press: `run_checks` and `clarify` carry a small JSON value; `action` an opaque one-time id."""

    kind: Literal["run_checks", "clarify", "action"]
    value: str
    user: str
    place: str
    thread: str | None = None
    surface: Surface = "slack"


Intent = Literal["symptom", "sweep", "host", "running", "module", "followup"]


class Plan(_Frozen):
    """What the core decided to do for a question, before it runs anything (shown as the first reply)."""

    intent: Intent
    question: str
    environment: str
    simulated: bool
    modules: tuple[str, ...]
    hosts: tuple[str, ...]  # the hosts that will be checked
    matches: tuple[Match, ...] = ()
    show_logs: bool = False
    rerun_of: str | None = None  # a follow-up: the question it repeats

    @field_validator("question", "rerun_of")
    @classmethod
    def _redact(cls, v: str | None) -> str | None:
        # A pasted secret in the question never reaches a reply, a thread context or a re-run.
        return redact(v) if v else v


class Answer(_Frozen):
    """Checks ran: the diagnosis, plus what a surface needs to show it well."""

    kind: Literal["answer"] = "answer"
    plan: Plan
    diagnosis: Diagnosis
    direct: tuple[str, ...] = ()  # "is mta running?": one sentence per host, first
    offers: tuple[tuple[int, str], ...] = ()  # (index of a next step, one-time action id) for confirmed buttons
    notes: tuple[str, ...] = ()  # what the answer should mention about the bot itself (e.g. audit not writable)


class Help(_Frozen):
    """Not a question about Campaign (or an empty one): what the bot can do."""

    kind: Literal["help"] = "help"
    environment: str | None = None
    modules: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    not_campaign: bool = True
    note: str | None = None  # said first: "nothing to repeat yet", an acknowledgement's answer
    brief: bool = False  # only the note (an acknowledgement needs no list of what the bot can do)


class Clarify(_Frozen):
    """Two modules are equally likely: ask which one (buttons carry the module and environment)."""

    kind: Literal["clarify"] = "clarify"
    question: str
    environment: str
    candidates: tuple[Match, ...]

    @field_validator("question")
    @classmethod
    def _redact(cls, v: str) -> str:
        return redact(v)  # the buttons' question echoes it


RefusalKind = Literal[
    "access",
    "unknown_environment",
    "unknown_host",
    "unknown_instance",
    "unknown_module",
    "configuration",
    "action",
    "expired",
    "button",
    "several_environments",
]


class Refusal(_Frozen):
    """Nothing ran, and why: no access, an unknown name (with the known ones), a broken configuration."""

    kind: Literal["refusal"] = "refusal"
    why: RefusalKind
    reason: str
    environment: str | None = None
    known: tuple[str, ...] = ()  # the known environments, hosts, instances
    suggestions: tuple[str, ...] = ()  # closest module names
    subject: str | None = None  # the unknown name as written (shown escaped, never interpreted)


class Card(_Frozen):
    """`/campaign-module NAME [env]`: a module's card, with a Run checks button when the user may run them."""

    kind: Literal["card"] = "card"
    module: str
    instance: str | None
    environment: str | None
    can_run: bool


class ModuleList(_Frozen):
    kind: Literal["modules"] = "modules"


class ActionOutcome(_Frozen):
    """A confirmed state-changing step: what ran where, and how it ended (or that the outcome is unknown)."""

    kind: Literal["action"] = "action"
    status: Literal["done", "failed", "unknown"]
    host: str
    command: str
    user: str
    output: str = ""
    exit_code: int | None = None
    duration_ms: int = 0
    detail: str = ""


class Problem(_Frozen):
    """The question was accepted but could not be answered (a bug, a store or Slack failure): say so."""

    kind: Literal["problem"] = "problem"
    message: str


Reply = Answer | Help | Clarify | Refusal | Card | ModuleList | ActionOutcome | Problem
