"""Conversation replies as plain text (the terminal chat and the CLI)."""

from __future__ import annotations

from bot.conversation.replies import (
    ActionOutcome,
    Answer,
    Card,
    Clarify,
    Help,
    ModuleList,
    Problem,
    Refusal,
    Reply,
)
from bot.kb.models import KnowledgeBase
from bot.redact import redact, strip_control
from bot.render import text as render


def answer(a: Answer, kb: KnowledgeBase, show_ok: bool = False) -> str:
    lines: list[str] = []
    if a.direct:
        if a.plan.simulated:
            lines.append(render.SIMULATED_BANNER)
        lines.extend(a.direct)
        lines.append("")
    if a.plan.rerun_of:
        lines.append(f"(again: {a.plan.rerun_of})")
    lines.extend(a.notes)
    body = render.diagnosis(a.diagnosis, kb, show_ok=show_ok, show_logs=a.plan.show_logs)
    if a.direct and a.plan.simulated:
        body = body.replace(render.SIMULATED_BANNER + "\n", "", 1)
    lines.append(body)
    return "\n".join(lines)


def reply(r: Reply, kb: KnowledgeBase, *, simulated: bool = False) -> str:
    """Any reply as text. Host text is already redacted; terminal control sequences are stripped here."""
    prefix = render.SIMULATED_BANNER + "\n" if simulated and not isinstance(r, Answer) else ""
    if isinstance(r, Answer):
        out = answer(r, kb)
    elif isinstance(r, Help):
        out = render.help_text(kb)
        if r.environments:
            out += "\nEnvironments: " + ", ".join(r.environments)
        if r.note:
            out = r.note if r.brief else r.note + "\n" + out
        elif r.not_campaign:
            out = "That does not look like a question about Adobe Campaign servers, so nothing was checked.\n" + out
    elif isinstance(r, Clarify):
        out = (
            f"Which one do you mean (environment {r.environment})? It could be:\n"
            + "\n".join(f"  - {c.module}: {kb.get(c.module).title}" for c in r.candidates)
            + "\nAsk again naming the module (e.g. 'check "
            + r.candidates[0].module
            + "')."
        )
    elif isinstance(r, Refusal):
        out = _refusal(r, kb)
    elif isinstance(r, Card):
        out = render.card(kb.get(r.module), r.instance)
        if r.environment:
            out += f"\n\n  Environment: {r.environment}" + ("" if r.can_run else " (you may not run its checks)")
    elif isinstance(r, ModuleList):
        out = render.modules_list(kb)
    elif isinstance(r, ActionOutcome):
        out = f"{r.status.upper()}: `{r.command}` on {r.host}" + (f" ({r.detail})" if r.detail else "")
        if r.output:
            out += "\n" + r.output
    elif isinstance(r, Problem):
        out = f"Sorry, that could not be answered: {r.message}"
    else:  # pragma: no cover - every reply kind is handled above
        out = str(r)
    return strip_control(redact(prefix + out))


def _refusal(r: Refusal, kb: KnowledgeBase) -> str:
    if r.why == "unknown_module" and not r.suggestions:
        return f"{r.reason}\nknown modules: {', '.join(kb.names)}"
    if r.why == "access":
        return f"I can't run checks on {r.environment}: {r.reason}."
    return r.reason
