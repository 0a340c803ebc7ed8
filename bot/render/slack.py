"""Block Kit rendering (pure). Slack's limits are kept here: at most 50 blocks, section text at most
3000 characters, a plain-text fallback always set; long raw output goes to a file instead."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.kb.models import KnowledgeBase, Module, Risk
from bot.kb.placeholders import fill
from bot.models import STATUS_ORDER, Diagnosis, Finding, Match
from bot.render import text as plain

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_BUTTON_VALUE = 2000
Block = dict[str, Any]

STATUS_EMOJI = {
    "ok": ":white_check_mark:",
    "unknown": ":grey_question:",
    "warn": ":warning:",
    "fail": ":x:",
    "error": ":no_entry:",
}
SIMULATED_NOTE = ":test_tube: *Simulated fleet*: these hosts are simulated, not real Campaign servers."


def clip(text: str, limit: int = MAX_SECTION) -> str:
    return text if len(text) <= limit else text[: limit - 20].rstrip() + "\n… (truncated)"


def section(text: str, accessory: Block | None = None) -> Block:
    b: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}
    if accessory:
        b["accessory"] = accessory
    return b


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text)}]}


def divider() -> Block:
    return {"type": "divider"}


def escape(text: str) -> str:
    """Slack mrkdwn control characters in text from hosts or users."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def env_line(env: str, hosts: int, simulated: bool, extra: str = "") -> str:
    sim = " (simulated)" if simulated else ""
    return f":round_pushpin: Environment *{escape(env)}*{sim} · {hosts} host{'s' if hosts != 1 else ''}{extra}"


def match_lines(matches: Sequence[Match], kb: KnowledgeBase, checked: Sequence[str]) -> str:
    lines = []
    for m in matches[:4]:
        why = "; ".join(escape(r) for r in m.reasons[:2])
        mark = "" if m.module in checked else " _(not checked)_"
        lines.append(f"• *{m.module}* ({m.score:.2f}){mark}: {escape(kb.get(m.module).executes)}\n    _why: {why}_")
    extra = [n for n in checked if n not in {m.module for m in matches}]
    if extra:
        lines.append(f"• also checked, tied by the documentation: {', '.join(extra)}")
    return "\n".join(lines)


def progress_blocks(
    question: str,
    env: str,
    simulated: bool,
    matches: Sequence[Match],
    modules: Sequence[str],
    hosts: Sequence[str],
    done: dict[str, str],
    kb: KnowledgeBase,
) -> tuple[list[Block], str]:
    blocks: list[Block] = []
    if simulated:
        blocks.append(context(SIMULATED_NOTE))
    blocks.append(section(f":mag: Checking *{', '.join(modules)}* on *{escape(env)}* ({len(hosts)} hosts)…"))
    if matches:
        blocks.append(section(match_lines(matches, kb, modules)))
    states = " ".join(
        f"{STATUS_EMOJI.get(done[h], ':hourglass_flowing_sand:') if h in done else ':hourglass_flowing_sand:'} {escape(h)}"
        for h in hosts
    )
    blocks.append(context(f"{env_line(env, len(hosts), simulated)} · {len(done)}/{len(hosts)} done: {states}"))
    fallback = f"Checking {', '.join(modules)} on {env} ({len(done)}/{len(hosts)} hosts done)"
    return blocks[:MAX_BLOCKS], fallback


def _finding_line(f: Finding) -> str:
    what = f.module + (f"@{f.instance}" if f.instance else "") if f.module else "host"
    icon = STATUS_EMOJI[f.status]
    line = f"{icon} `{what}` {f.check}: {escape(f.summary)}"
    if f.evidence:
        ev = escape(f.evidence[0])[:280]
        line += f"\n      `{ev}`"
    if f.needs:
        line += f"\n      _needs: {escape(f.needs)}_"
    return line


def host_sections(findings: Sequence[Finding], show_ok: bool = False) -> list[Block]:
    by_host: dict[str, list[Finding]] = {}
    for f in findings:
        by_host.setdefault(f.host, []).append(f)
    out = []
    for host, fs in by_host.items():
        worst = max(fs, key=lambda f: STATUS_ORDER[f.status]).status
        shown = [f for f in fs if show_ok or f.status != "ok"]
        ok_n = len(fs) - len(shown)
        ms = max((f.duration_ms for f in fs), default=0)
        head = f"{STATUS_EMOJI[worst]} *{escape(host)}* ({ms} ms)" + (f" · {ok_n} checks OK" if ok_n else "")
        out.append(section("\n".join([head, *(_finding_line(f) for f in shown)])))
    return out


def step_block(n: int, text: str, command: str | None, risk: Risk, action_id: str | None, host: str | None) -> Block:
    label = "read-only" if risk == Risk.READ_ONLY else "*changes state*"
    body = f"{n}. [{label}] {escape(text)}"
    if command:
        body += f"\n```{command}```"
    accessory = None
    if action_id and command:
        accessory = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Run it"},
            "style": "danger",
            "action_id": f"act:{action_id}",
            "value": action_id,
            "confirm": {
                "title": {"type": "plain_text", "text": "Change a server?"},
                "text": {
                    "type": "mrkdwn",
                    "text": clip(f"Run on *{escape(host or '?')}*:\n```{command}```\nThis changes state.", 300),
                },
                "confirm": {"type": "plain_text", "text": "Run it"},
                "deny": {"type": "plain_text", "text": "Cancel"},
                "style": "danger",
            },
        }
    return section(body, accessory)


def result_blocks(
    d: Diagnosis, kb: KnowledgeBase, action_ids: dict[int, str] | None = None, file_note: str = ""
) -> tuple[list[Block], str]:
    """The final answer: verdict, per-host findings, next steps (buttons where allowed), docs."""
    icon = STATUS_EMOJI.get(d.status, ":grey_question:")
    head: list[Block] = []
    if d.simulated:
        head.append(context(SIMULATED_NOTE))
    head.append(section(f"{icon} {escape(d.verdict)}"))
    head.append(context(env_line(d.environment, len(d.hosts), d.simulated, f" · {d.duration_ms / 1000:.1f} s")))
    if d.matches:
        head.append(section(match_lines(d.matches, kb, d.modules)))
    hosts = host_sections(d.findings)
    steps = [
        step_block(i, s.text, s.command, s.risk, (action_ids or {}).get(i - 1), s.host)
        for i, s in enumerate(d.next_steps, 1)
    ]
    docs = []
    for name in d.modules:
        m = kb.get(name)
        docs.append(f"*{name}*: " + " · ".join(f"<{doc.url}|{escape(doc.title)}>" for doc in m.docs[:3]))
    tail: list[Block] = []
    if docs:
        tail.append(context(clip(":books: " + "  |  ".join(docs), 2900)))
    if file_note:
        tail.append(context(file_note))
    steps_head = (
        [
            section(
                "*Next steps*"
                + (
                    "  _(the bot never runs state-changing steps on its own)_"
                    if any(s.risk == Risk.CHANGES_STATE for s in d.next_steps)
                    else ""
                )
            )
        ]
        if steps
        else []
    )
    budget = MAX_BLOCKS - len(head) - len(tail) - len(steps_head) - 2
    # Hosts first (the evidence), then steps; whatever does not fit is summarised in one block.
    host_room = max(1, budget - min(len(steps), budget // 2))
    if len(hosts) > host_room:
        rest = len(hosts) - (host_room - 1)
        hosts = [*hosts[: host_room - 1], section(f"… and {rest} more host(s): see the attached report.")]
    step_room = budget - len(hosts)
    if len(steps) > step_room:
        steps = [
            *steps[: max(0, step_room - 1)],
            section(f"… {len(d.next_steps) - max(0, step_room - 1)} more step(s) in the attached report."),
        ]
    blocks = [*head, divider(), *hosts, *([divider(), *steps_head, *steps] if steps else []), *tail][:MAX_BLOCKS]
    fallback = f"{'[SIMULATED] ' if d.simulated else ''}{d.verdict} (environment {d.environment})"
    return blocks, fallback[:3000]


def raw_report(d: Diagnosis, kb: KnowledgeBase) -> str:
    """Everything, as plain text, for the file attached to the thread (with the logs' last lines)."""
    return plain.diagnosis(d, kb, show_ok=True, show_logs=True)


def help_blocks(kb: KnowledgeBase, env: str | None) -> tuple[list[Block], str]:
    text = (
        "I help with *Adobe Campaign Classic* servers: tell me the symptom, in English or Dutch, and I check the "
        "modules involved on the servers (read-only) and say what I found and what to do.\n"
        "Try: `mail not sending` · `bounces worden niet verwerkt` · `workflow stuck on prod` · "
        "`no process starts` · `tracking logs missing` · `/campaign-module wfserver`"
    )
    blocks = [
        section(text),
        context(
            "Modules: " + ", ".join(f"`{n}`" for n in kb.names) + (f" · environment *{escape(env)}*" if env else "")
        ),
    ]
    return blocks, "I answer questions about Adobe Campaign Classic servers. Try: mail not sending"


def card_blocks(m: Module, instance: str | None, env: str | None, can_run: bool) -> tuple[list[Block], str]:
    scope = "once per server" if m.scope == "server" else "once per instance"
    pname = m.process_name(instance or ("<instance>" if m.scope == "instance" else None))
    lines = [f"*{m.name}*: {escape(m.title)}", f"_{escape(m.executes)}_", escape(m.description)]
    facts = []
    if m.kind == "daemon":
        facts.append(f"Runs {scope}; `nlserver pdump` shows `{pname}`.")
    else:
        facts.append("Utility module: runs on demand, not a daemon in `nlserver pdump`.")
    if m.ports:
        facts.append("Ports: " + "; ".join(f"{p.port}/{p.proto} {p.direction}" for p in m.ports))
    if m.logs:
        facts.append(
            "Logs: "
            + ", ".join(
                f"`{lf.path.replace('{instance}', instance or '<instance>')}`"
                + (" (UNCONFIRMED)" if lf.unconfirmed else "")
                for lf in m.logs
            )
        )
    checks = "\n".join(
        f"• [{'read-only' if s.risk == Risk.READ_ONLY else 'changes state'}] {escape(s.text)}"
        + (f" `{fill(s.command, module=m.name, instance=instance)}`" if s.command else "")
        for s in m.steps
    )
    accessory = None
    if can_run:
        value = json.dumps({"module": m.name, "instance": instance, "env": env})[:MAX_BUTTON_VALUE]
        accessory = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Run checks"},
            "style": "primary",
            "action_id": "run_checks",
            "value": value,
        }
    blocks = [
        section("\n".join(lines), accessory),
        section("\n".join(facts)),
        section("*What to check and do*\n" + checks),
    ]
    if m.notes:
        blocks.append(context(escape(" · ".join(m.notes))))
    blocks.append(context(":books: " + " · ".join(f"<{d.url}|{escape(d.title)}>" for d in m.docs)))
    return blocks, f"{m.name}: {m.title}"


def modules_blocks(kb: KnowledgeBase) -> tuple[list[Block], str]:
    lines = [
        f"• *{m.name}*: {escape(m.title)} ({'per server' if m.scope == 'server' else 'per instance'})"
        for m in kb.modules
    ]
    return [
        section("*Campaign modules* (`/campaign-module NAME` for a card)\n" + "\n".join(lines))
    ], "Campaign modules: " + ", ".join(kb.names)


def clarify_blocks(question: str, candidates: Sequence[Match], env: str, kb: KnowledgeBase) -> tuple[list[Block], str]:
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": f"{m.module}: {kb.get(m.module).title}"[:75]},
            "action_id": f"clarify:{m.module}",
            "value": json.dumps({"module": m.module, "env": env}),
        }
        for m in candidates[:4]
    ]
    blocks = [
        section(
            f":thinking_face: Which one do you mean (environment *{escape(env)}*)? _{escape(question[:200])}_ could be:"
        ),
        {"type": "actions", "elements": buttons},
    ]
    return blocks, "Which module do you mean: " + " or ".join(m.module for m in candidates[:4]) + "?"


def refusal_blocks(reason: str, env: str) -> tuple[list[Block], str]:
    """`reason` is the bot's own text (it may hold <@user> mentions), so it is not escaped."""
    text = f":no_entry_sign: I can't run checks on *{escape(env)}*: {reason}."
    return [section(text)], f"I can't run checks on {env}: {reason}."
