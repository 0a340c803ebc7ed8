"""Conversation replies as Block Kit messages (blocks plus an escaped fallback text)."""

from __future__ import annotations

import time
from typing import Any

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
from bot.models import Diagnosis
from bot.render import slack as blocks
from bot.watch.model import AlertState, WatchRound

Message = tuple[list[blocks.Block], str]

INTERRUPTED_NOTE = "The check was interrupted and run again."


def progress(plan: Plan, done: dict[str, str], kb: KnowledgeBase, note: str = "") -> Message:
    return blocks.progress_blocks(
        plan.question, plan.environment, plan.simulated, plan.matches, plan.modules, plan.hosts, done, kb, note
    )


def answer(a: Answer, kb: KnowledgeBase, notes: tuple[str, ...] = (), attached: bool = False) -> Message:
    """`attached`: the full report is in the thread (what does not fit may point to it)."""
    extra = list(notes)
    if a.plan.rerun_of:
        extra.append(f"Again, as asked before: {a.plan.rerun_of}")
    return blocks.result_blocks(a.diagnosis, kb, dict(a.offers), extra, a.direct, attached)


def refusal(r: Refusal, kb: KnowledgeBase, user: str | None = None) -> Message:
    """`user`: who asked or pressed; a reason may name them (the only mention a refusal makes)."""
    mentions = (user,) if user else ()
    if r.why == "access":
        return blocks.refusal_blocks(r.reason, r.environment, mentions)
    if r.why == "unknown_module":
        if r.suggestions:
            hint = f" Did you mean {', '.join(r.suggestions)}?"
        else:
            hint = f" Known modules: {', '.join(kb.names)}."
        name = (r.subject or "")[:60]
        return blocks.notice_blocks(
            ":grey_question:", f"Unknown module '{name}'.{hint} Try /campaign-module for the list."
        )
    if r.why == "expired":
        return blocks.notice_blocks(":hourglass:", "That action was already used or has expired.")
    if r.why == "button":
        return blocks.notice_blocks(":grey_question:", f"{r.reason[:1].upper()}{r.reason[1:]}.")
    if r.why == "configuration":
        return blocks.notice_blocks(":warning:", r.reason)
    icon = ":no_entry_sign:" if r.why == "action" else ":grey_question:"
    return blocks.notice_blocks(icon, r.reason if r.why != "action" else f"Not run: {r.reason}.", mentions)


def reply(
    r: Reply, kb: KnowledgeBase, notes: tuple[str, ...] = (), user: str | None = None, attached: bool = False
) -> Message:
    """Any reply as a message. Everything from hosts and users is escaped inside the renderers; `user`
    (who asked) is the only person a refusal may mention; `attached`: an answer's full report is in
    the thread."""
    if isinstance(r, Answer):
        return answer(r, kb, notes, attached)
    if isinstance(r, Help):
        return blocks.help_blocks(kb, r.environment, r.environments, r.not_campaign, r.note, r.brief)
    if isinstance(r, Clarify):
        return blocks.clarify_blocks(r.question, r.candidates, r.environment, kb)
    if isinstance(r, Refusal):
        return refusal(r, kb, user)
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
    """Whether the question ends with ✅ (answered, nothing worse than a warning) rather than ❌.

    A refusal for a broken configuration (an inventory deleted or invalid, a default environment that is
    not in it) is the bot failing, not the question: ❌, like any other explained error."""
    if isinstance(r, Answer):
        return r.diagnosis.status in ("ok", "unknown", "warn")
    if isinstance(r, Refusal) and r.why == "configuration":
        return False
    return not isinstance(r, Problem)


# ---------------------------------------------------------------------------------------- alerts

SNOOZES = ((3600, "1 h"), (4 * 3600, "4 h"), (24 * 3600, "24 h"))


def _clock(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def _duration(seconds: float) -> str:
    m = max(0, int(seconds // 60))
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h < 48 else f"{h // 24} days"


def alert_message(alert: AlertState, kb: KnowledgeBase, now: float | None = None) -> Message:
    """The root message of an alert thread: what, where, since when, evidence, next steps, buttons.

    `now` is the watch's clock (a snooze shows until then); without it the alert is shown as the watch
    stored it (it clears a snooze that has ended). A closed alert says what recovered and when (or why it
    is no longer watched), not the evidence and steps of the problem it was."""
    icon = blocks.STATUS_EMOJI.get(alert.status, ":grey_question:")
    where = f"{blocks.esc(alert.subject, 200)} · *{blocks.esc(alert.environment, 60)}*"
    was = alert.was or alert.status
    if alert.open:
        head = f":rotating_light: {icon} *{alert.status}* · {where}"
    elif alert.closed_why:
        head = f":heavy_minus_sign: No longer watched · {where}"
    elif alert.external:
        head = f":white_check_mark: Recovered (resolved in {blocks.esc(alert.source, 20)}) · {where}"
    else:
        head = f":white_check_mark: Recovered · {where}"
    facts = [
        f"open since {_clock(alert.opened_at)}",
        f"seen {alert.count} time{'s' if alert.count != 1 else ''}",
        f"last {_clock(alert.last_seen)}",
    ]
    if not alert.open and alert.recovered_at and not alert.closed_why:
        facts.append(f"{'resolved' if alert.external else 'recovered'} {_clock(alert.recovered_at)}")
    if alert.flapping:
        facts.append("flapping")
    snoozed = alert.snoozed(now) if now is not None else alert.snoozed_until > 0
    if alert.open and snoozed:
        facts.append(f"snoozed until {_clock(alert.snoozed_until)} by <@{blocks.esc(alert.snoozed_by or '?', 30)}>")
    if alert.acked_by:
        when = f" at {_clock(alert.acked_at)}" if alert.acked_at else ""
        facts.append(f"acknowledged by <@{blocks.esc(alert.acked_by, 30)}>{when}")
    if alert.external:
        facts.append(f"from {alert.source}")
    out: list[blocks.Block] = [blocks.section(head), blocks.context(" · ".join(facts))]
    if alert.open and alert.detail:
        d = Diagnosis.model_validate(alert.detail)
        body, _ = blocks.result_blocks(d, kb)
        out.extend(body[: blocks.MAX_BLOCKS - 5])
    elif alert.open:
        out.append(blocks.section(blocks.esc(alert.summary, 2000)))
    else:
        end = alert.recovered_at or alert.last_seen
        lines = [f"It was *{blocks.esc(was, 10)}*: {blocks.esc(alert.summary, 1500)}"]
        if alert.closed_why:
            lines.append(f"No longer watched: {blocks.esc(alert.closed_why, 500)}. Nobody saw it recover.")
        else:
            lines.append(
                f"{'Resolved' if alert.external else 'Fine again'} at {_clock(end)}, "
                f"after {_duration(end - alert.opened_at)}."
            )
        out.append(blocks.section("\n".join(lines)))
    if alert.also:
        shown = "\n".join(f"• {blocks.esc(a, 300)}" for a in alert.also[:10])
        more = f"\n… and {len(alert.also) - 10} more" if len(alert.also) > 10 else ""
        out.append(blocks.section(f"*Also open in this thread*\n{shown}{more}"))
    buttons: list[dict[str, Any]] = []
    if alert.open:
        buttons += [
            {
                "type": "button",
                "text": blocks.plain_text(f"Snooze {label}", 75),
                "action_id": f"alert:snooze:{secs}",
                "value": alert.key,
            }
            for secs, label in SNOOZES
        ]
        if not alert.acked_by:
            buttons.append(
                {
                    "type": "button",
                    "text": blocks.plain_text("Acknowledge", 75),
                    "action_id": "alert:ack",
                    "value": alert.key,
                }
            )
    buttons.append(
        {
            "type": "button",
            "text": blocks.plain_text("Investigate", 75),
            "action_id": "alert:investigate",
            "value": alert.key,
            "style": "primary",
        }
    )
    out = out[: blocks.MAX_BLOCKS - 1]
    out.append({"type": "actions", "block_id": f"alert:{alert.key}", "elements": buttons})
    state = "open" if alert.open else "no longer watched" if alert.closed_why else "recovered"
    return out, blocks.fallback(
        f"[{state}] {alert.status if alert.open else was}: {alert.subject} ({alert.environment}): {alert.summary}"
    )


def alert_note(text: str, kb: KnowledgeBase, detail: Diagnosis | None = None) -> Message:
    """A message in an alert thread (a change, flapping, an external alert's state)."""
    out = [blocks.section(f":bell: {blocks.esc(text, 2500)}")]
    if detail is not None:
        body, _ = blocks.result_blocks(detail, kb)
        out.extend(body[: blocks.MAX_BLOCKS - 1])
    return out, blocks.fallback(text)


def recovered_note(alert: AlertState) -> Message:
    if alert.external:
        text = (
            f"Recovered: {alert.source} says alert '{alert.alert_name}' "
            f"({alert.subject}, {alert.environment}) is resolved."
        )
    else:
        text = f"Recovered: {alert.subject} ({alert.environment}) is fine again."
    return [blocks.section(f":white_check_mark: {blocks.esc(text, 1000)}")], blocks.fallback(text)


def notice(text: str, mentions: tuple[str, ...] = ()) -> Message:
    """A short line written by the bot itself; only the user ids in `mentions` are mentions (the rest
    of the text, an external alert's name or labels, may hold `<@U...>` and stays text)."""
    return blocks.notice_blocks(":information_source:", text, mentions)


HOME_MAX_BLOCKS = 100  # Slack's limit for a Home tab view


def home_view(
    user: str,
    environments: list[tuple[str, bool, str, bool, WatchRound | None, list[AlertState]]],
    simulated: bool = False,
    now: float | None = None,
) -> dict[str, Any]:
    """The App Home tab: per environment the last watch result, the open alerts, what this user may do.

    `environments` holds (name, may check, why, may act, last round, open alerts); `now` is the watch's
    clock (what is snoozed, "updated"). Environments that do not fit in Slack's 100 blocks are named in
    a last line, never dropped silently."""
    t = time.time() if now is None else now
    out: list[blocks.Block] = [
        {"type": "header", "text": blocks.plain_text("Campaign servers", 150)},
        blocks.context(
            f"For <@{blocks.esc(user, 30)}> · updated {_clock(t)}"
            + (" · :test_tube: simulated fleet" if simulated else "")
        ),
    ]
    for i, (name, can_check, why, can_act, last, alerts) in enumerate(environments):
        part: list[blocks.Block] = [blocks.divider()]
        if can_check:
            part.extend(_home_state(name, last, alerts, t))
        else:
            # A protected environment's findings and alerts are for those who may check it.
            part.append(
                blocks.section(
                    f"*{blocks.esc(name, 60)}*\nits last check and open alerts are shown only to those who may "
                    "run its checks"
                )
            )
        may = [
            "you may run read-only checks" if can_check else f"you may not run checks ({blocks.esc(why, 200)})",
            "you may run confirmed state-changing steps"
            if can_act
            else "state-changing steps are shown as commands for you",
        ]
        part.append(blocks.context(" · ".join(may)))
        rest = len(environments) - i - 1
        if len(out) + len(part) + (1 if rest else 0) > HOME_MAX_BLOCKS:
            left = [e[0] for e in environments[i:]]
            out.append(_more_environments(left))
            break
        out.extend(part)
    return {"type": "home", "blocks": out}


def _home_state(name: str, last: WatchRound | None, alerts: list[AlertState], t: float) -> list[blocks.Block]:
    """An environment's last scheduled check and its open alerts, for the App Home tab."""
    if last is None:
        state = "no scheduled check has run yet"
    else:
        icon = blocks.STATUS_EMOJI.get(last.status, ":grey_question:")
        state = f"{icon} last check {_clock(last.at)}: {blocks.esc(last.verdict, 1200)}"
    out = [blocks.section(f"*{blocks.esc(name, 60)}*\n{state}")]
    if not alerts:
        return [*out, blocks.context("No open alerts.")]
    lines = [
        f"{blocks.STATUS_EMOJI.get(a.status, ':grey_question:')} {blocks.esc(a.subject, 150)}: "
        f"{blocks.esc(a.summary, 200)}"
        + (f" _(snoozed until {_clock(a.snoozed_until)})_" if a.snoozed(t) else "")
        + (f" _(acknowledged by <@{blocks.esc(a.acked_by, 30)}>)_" if a.acked_by else "")
        for a in alerts[:15]
    ]
    more = f"\n… and {len(alerts) - 15} more" if len(alerts) > 15 else ""
    return [*out, blocks.section(f"*Open alerts ({len(alerts)})*\n" + "\n".join(lines) + more)]


def _more_environments(names: list[str]) -> blocks.Block:
    shown = ", ".join(blocks.esc(n, 60) for n in names[:40])
    tail = f" and {len(names) - 40} more" if len(names) > 40 else ""
    return blocks.context(
        f"… and {len(names)} more environment{'s' if len(names) != 1 else ''} that do not fit on this tab: "
        f"{shown}{tail}. Ask me about one of them (e.g. `is {blocks.esc(names[0], 60)} ok?`)."
    )
