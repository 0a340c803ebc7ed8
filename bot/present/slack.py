"""Conversation replies as Block Kit messages (blocks plus an escaped fallback text)."""

from __future__ import annotations

from bot.conversation.replies import (
    ActionOutcome,
    Answer,
    Card,
    Clarify,
    Help,
    ModuleList,
    Plan,
    Problem,
    Refusal,
    Reply,
)
from bot.kb.models import KnowledgeBase
from bot.render import slack as blocks

Message = tuple[list[blocks.Block], str]

INTERRUPTED_NOTE = "The check was interrupted and run again."


def progress(plan: Plan, done: dict[str, str], kb: KnowledgeBase, note: str = "") -> Message:
    return blocks.progress_blocks(
        plan.question, plan.environment, plan.simulated, plan.matches, plan.modules, plan.hosts, done, kb, note
    )


def answer(a: Answer, kb: KnowledgeBase, notes: tuple[str, ...] = ()) -> Message:
    extra = list(notes)
    if a.plan.rerun_of:
        extra.append(f"Again, as asked before: {a.plan.rerun_of}")
    return blocks.result_blocks(a.diagnosis, kb, dict(a.offers), extra, a.direct)


def refusal(r: Refusal, kb: KnowledgeBase) -> Message:
    if r.why == "access":
        return blocks.refusal_blocks(r.reason, r.environment)
    if r.why == "unknown_module":
        if r.suggestions:
            hint = f" Did you mean {', '.join(r.suggestions)}?"
        else:
            hint = f" Known modules: {', '.join(kb.names)}."
        name = (r.subject or "")[:60]
        return blocks.notice_blocks(":grey_question:", f"Unknown module '{name}'.{hint} Try /campaign-module for the list.")
    if r.why == "expired":
        return blocks.notice_blocks(":hourglass:", f"{r.reason}.")
    if r.why == "configuration":
        return blocks.notice_blocks(":warning:", r.reason)
    icon = ":no_entry_sign:" if r.why == "action" else ":grey_question:"
    return blocks.notice_blocks(icon, r.reason if r.why != "action" else f"Not run: {r.reason}.")


def reply(r: Reply, kb: KnowledgeBase, notes: tuple[str, ...] = ()) -> Message:
    """Any reply as a message. Everything from hosts and users is escaped inside the renderers."""
    if isinstance(r, Answer):
        return answer(r, kb, notes)
    if isinstance(r, Help):
        return blocks.help_blocks(kb, r.environment, r.environments, r.not_campaign)
    if isinstance(r, Clarify):
        return blocks.clarify_blocks(r.question, r.candidates, r.environment, kb)
    if isinstance(r, Refusal):
        return refusal(r, kb)
    if isinstance(r, Card):
        return blocks.card_blocks(kb.get(r.module), r.instance, r.environment, r.can_run)
    if isinstance(r, ModuleList):
        return blocks.modules_blocks(kb)
    if isinstance(r, ActionOutcome):
        return blocks.action_blocks(r.status, r.command, r.host, r.user, r.output, r.duration_ms, r.detail)
    if isinstance(r, Problem):
        return blocks.notice_blocks(":x:", f"Sorry, I could not answer that: {r.message}")
    raise TypeError(f"unknown reply {type(r).__name__}")  # pragma: no cover


def problem(message: str) -> Message:
    return blocks.notice_blocks(":x:", f"Sorry, I could not answer that: {message}")


def ok_status(r: Reply) -> bool:
    """Whether the question ends with ✅ (answered, nothing worse than a warning) rather than ❌."""
    if isinstance(r, Answer):
        return r.diagnosis.status in ("ok", "unknown", "warn")
    return not isinstance(r, Problem)
