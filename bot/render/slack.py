"""Block Kit rendering (pure). Slack's limits and mrkdwn rules are kept here.

- Text from hosts, users and the knowledge base is *raw*: it is cut to its budget first (`esc`),
  on its structure (`truncate`: at a word boundary, never inside an emoji code or a backtick run, a
  code fence or span it leaves open closed again), and only then escaped (`&`, `<`, `>`), so a cut
  never splits an entity, and `<instance>` or `<nl_home>` in a command is shown, not swallowed as a link.
- Sections are assembled from whole lines; when a section would pass 3000 characters, whole lines
  are dropped (and counted) and a fence they would have closed is closed, so a code fence, an emoji
  code or a link is never cut in two.
- At most 50 blocks; the plain-text fallback is escaped like the blocks; long output goes to a file.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Any

from bot.kb.models import KnowledgeBase, Module, Risk
from bot.kb.placeholders import fill
from bot.models import STATUS_ORDER, Diagnosis, Finding, Match, NextStep
from bot.render import text as plain

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_TEXT = 75
MAX_CONFIRM_TEXT = 300
MAX_FALLBACK = 3000
Block = dict[str, Any]

STATUS_EMOJI = {
    "ok": ":white_check_mark:",
    "unknown": ":grey_question:",
    "warn": ":warning:",
    "fail": ":x:",
    "error": ":no_entry:",
}
SIMULATED_NOTE = ":test_tube: *Simulated fleet*: these hosts are simulated, not real Campaign servers."
_ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Slack mrkdwn control characters in raw text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What a cut must never split: an entity, a link or mention (`<url|label>`, `<@U1>`), an emoji code,
# a run of backticks (a fence or a code span's mark).
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_LINK = re.compile(r"<[^<>\n]{1,3000}>")
_EMOJI = re.compile(r":[a-z0-9_+'-]{1,100}:")
_TICKS = re.compile(r"`+")
_ELLIPSIS = "…"
_CLOSER_ROOM = 3  # the longest closer: ``` (and a lone backtick before it)
_SPAN = 3100  # no protected unit is longer than this


def _safe_cut(text: str, cut: int, escaped: bool) -> int:
    """The largest position <= `cut` that splits no entity, link, emoji code, backtick run or grapheme."""
    patterns = (_ENTITY, _LINK, _EMOJI, _TICKS) if escaped else (_EMOJI, _TICKS)
    moved = True
    while moved and cut > 0:
        moved = False
        for pat in patterns:
            for m in pat.finditer(text, max(0, cut - _SPAN), min(len(text), cut + _SPAN)):
                if m.start() < cut < m.end():
                    cut, moved = m.start(), True
        while 0 < cut < len(text) and (
            unicodedata.combining(text[cut])
            or text[cut] in "\u200d\ufe0f"
            or "\U0001f3fb" <= text[cut] <= "\U0001f3ff"
            or text[cut - 1] == "\u200d"
        ):
            cut, moved = cut - 1, True
    return max(cut, 0)


def _open_marks(text: str, in_fence: bool = False) -> tuple[bool, bool]:
    """(a ``` fence left open, a single backtick left unpaired) at the end of `text`, counted as Slack
    clients and validators count them: fences as non-overlapping ```, then the single backticks."""
    return in_fence != (text.count("```") % 2 == 1), text.replace("```", "").count("`") % 2 == 1


def truncate(text: str, limit: int, *, escaped: bool, code: bool = False, in_fence: bool = False) -> str:
    """`text` cut on its structure so that it fits `limit` once escaped (raw text is escaped here):
    at a word boundary when one is near, never inside an entity, a link, an emoji code or a backtick
    run, with an ellipsis, and with the fence or code span it left open closed again. `code`: the text
    is a code block's content (its backticks are not marks); `in_fence`: it starts inside a fence."""
    full = text if escaped else escape(text)
    if len(full) <= limit:
        return full
    room = max(0, limit - len(_ELLIPSIS) - _CLOSER_ROOM - 1)
    if escaped:
        cut = room
    else:
        used = cut = 0
        for i, c in enumerate(text):
            used += len(_ESC.get(c, c))
            if used > room:
                break
            cut = i + 1
    cut = _safe_cut(text, cut, escaped)
    space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
    if space > cut - 40 and space > 0 and _safe_cut(text, space, escaped) == space:
        cut = space
    head = text[:cut].rstrip()
    out = head if escaped else escape(head)
    fence, span = _open_marks(head, in_fence)
    # A code block's content closes only its backticks (code() adds the fences).
    return out + _ELLIPSIS + ("`" if span else "") + ("```" if fence and not code else "")


def esc(raw: str, limit: int = MAX_SECTION) -> str:
    """`raw` cut so that its *escaped* form fits in `limit` (see `truncate`), then escaped."""
    return truncate(raw, limit, escaped=False)


def code(raw: str, limit: int = 1500) -> str:
    """A code block (a whole unit: never cut apart from its fences; a fence inside it is defused)."""
    return "```" + truncate(raw.replace("```", "'''"), limit, escaped=False, code=True) + "```"


def join_lines(lines: Sequence[str], limit: int = MAX_SECTION) -> str:
    """Lines (each already escaped and within budget) joined; whole lines dropped past `limit`, and a
    code fence the dropped lines would have closed is closed."""
    out: list[str] = []
    size = 0
    fence = False
    for i, line in enumerate(lines):
        if len(line) > limit - 40:  # only reached by a caller's bug: still cut on structure
            line = truncate(line, limit - 44, escaped=True, in_fence=fence)
        extra = len(line) + (1 if out else 0)
        if size + extra > limit - 40:
            if fence and out:
                out[-1] += "```"
            out.append(f"… ({len(lines) - i} more line{'s' if len(lines) - i != 1 else ''})")
            break
        out.append(line)
        size += extra
        fence = _open_marks(line, fence)[0]
    return "\n".join(out)


def section(text: str, accessory: Block | None = None) -> Block:
    """A section from escaped mrkdwn lines (see `join_lines`)."""
    b: Block = {"type": "section", "text": {"type": "mrkdwn", "text": join_lines(text.split("\n")) or " "}}
    if accessory:
        b["accessory"] = accessory
    return b


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": join_lines(text.split("\n")) or " "}]}


def divider() -> Block:
    return {"type": "divider"}


def fallback(raw: str) -> str:
    """The message's `text` (notifications, clients without blocks): escaped like the blocks."""
    return esc(raw, MAX_FALLBACK)


def plain_text(raw: str, limit: int) -> dict[str, Any]:
    """A plain_text object (not mrkdwn: no escaping, only Slack's length limit)."""
    text = raw if len(raw) <= limit else raw[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def env_line(env: str, hosts: int, simulated: bool, extra: str = "") -> str:
    sim = " (simulated)" if simulated else ""
    return f":round_pushpin: Environment *{esc(env, 80)}*{sim} · {hosts} host{'s' if hosts != 1 else ''}{extra}"


def match_lines(matches: Sequence[Match], kb: KnowledgeBase, checked: Sequence[str]) -> list[str]:
    lines = []
    for m in matches[:4]:
        why = esc("; ".join(m.reasons[:2]), 300)
        mark = "" if m.module in checked else " _(not checked)_"
        lines.append(f"• *{m.module}* ({m.score:.2f}){mark}: {esc(kb.get(m.module).executes, 300)}")
        lines.append(f"    _why: {why}_")
    extra = [n for n in checked if n not in {m.module for m in matches}]
    if extra and matches:
        lines.append(f"• also checked, tied by the documentation: {esc(', '.join(extra), 300)}")
    return lines


def progress_blocks(
    question: str,
    env: str,
    simulated: bool,
    matches: Sequence[Match],
    modules: Sequence[str],
    hosts: Sequence[str],
    done: dict[str, str],
    kb: KnowledgeBase,
    note: str = "",
) -> tuple[list[Block], str]:
    blocks: list[Block] = []
    if simulated:
        blocks.append(context(SIMULATED_NOTE))
    if note:
        blocks.append(context(f":repeat: {esc(note, 500)}"))
    shown_mods = esc(", ".join(modules), 400)
    blocks.append(section(f":mag: Checking *{shown_mods}* on *{esc(env, 80)}* ({len(hosts)} hosts)…"))
    if matches:
        blocks.append(section("\n".join(match_lines(matches, kb, modules))))
    states = " ".join(
        f"{STATUS_EMOJI.get(done[h], ':hourglass_flowing_sand:') if h in done else ':hourglass_flowing_sand:'} {esc(h, 60)}"
        for h in hosts[:60]
    )
    more = f" (+{len(hosts) - 60} more)" if len(hosts) > 60 else ""
    blocks.append(context(f"{env_line(env, len(hosts), simulated)} · {len(done)}/{len(hosts)} done: {states}{more}"))
    raw = f"Checking {', '.join(modules)} on {env} ({len(done)}/{len(hosts)} hosts done)"
    return blocks[:MAX_BLOCKS], fallback(raw)


def finding_lines(f: Finding) -> list[str]:
    lines = [f"{STATUS_EMOJI[f.status]} `{esc(f.subject, 80)}` {esc(f.check, 40)}: {esc(f.summary, 600)}"]
    if f.evidence:
        evidence = f.evidence[0].replace("`", "'")  # a backtick in host text would end the code span
        lines.append(f"      `{esc(evidence, 280)}`")
    if f.needs:
        lines.append(f"      _needs: {esc(f.needs, 300)}_")
    return lines


def host_sections(findings: Sequence[Finding], show_ok: bool = False) -> list[Block]:
    by_host: dict[str, list[Finding]] = {}
    for f in findings:
        by_host.setdefault(f.host, []).append(f)
    out = []
    for host, fs in by_host.items():
        worst = max(fs, key=lambda f: STATUS_ORDER[f.status]).status
        shown = sorted((f for f in fs if show_ok or f.status != "ok"), key=lambda f: -STATUS_ORDER[f.status])
        ok_n = len(fs) - len(shown)
        ms = max((f.duration_ms for f in fs), default=0)
        head = f"{STATUS_EMOJI[worst]} *{esc(host, 80)}* ({ms} ms)" + (f" · {ok_n} checks OK" if ok_n else "")
        lines = [head]
        for f in shown:
            lines.extend(finding_lines(f))
        out.append(section("\n".join(lines)))
    return out


def action_button(action_id: str, command: str, host: str | None) -> Block:
    """A confirmed button for a state-changing step; the click carries only the opaque one-time id."""
    confirm_raw_budget = MAX_CONFIRM_TEXT - 60
    return {
        "type": "button",
        "text": plain_text("Run it", MAX_BUTTON_TEXT),
        "style": "danger",
        "action_id": f"act:{action_id}",
        "value": action_id,
        "confirm": {
            "title": plain_text("Change a server?", 100),
            "text": {
                "type": "mrkdwn",
                "text": f"Run on *{esc(host or '?', 60)}*:\n{code(command, confirm_raw_budget - 2 * len(host or '?'))}\nThis changes state.",
            },
            "confirm": plain_text("Run it", 30),
            "deny": plain_text("Cancel", 30),
            "style": "danger",
        },
    }


def step_block(n: int, step: NextStep, action_id: str | None) -> Block:
    label = "read-only" if step.risk == Risk.READ_ONLY else "*changes state*"
    lines = [f"{n}. [{label}] {esc(step.text, 1200)}"]
    if step.command:
        lines.append(code(step.command))
    accessory = action_button(action_id, step.command, step.host) if action_id and step.command else None
    return section("\n".join(lines), accessory)


def result_blocks(
    d: Diagnosis,
    kb: KnowledgeBase,
    offers: dict[int, str] | None = None,
    notes: Sequence[str] = (),
    direct: Sequence[str] = (),
    attached: bool = False,
) -> tuple[list[Block], str]:
    """The final answer: direct answer, verdict, per-host findings, next steps (buttons where allowed), docs.

    `attached`: the full report is attached in the thread; only then do the lines that stand for the
    hosts and steps that did not fit point to it (an alert thread has no report, an upload can fail)."""
    icon = STATUS_EMOJI.get(d.status, ":grey_question:")
    head: list[Block] = []
    if d.simulated:
        head.append(context(SIMULATED_NOTE))
    if direct:
        head.append(section("\n".join(f":speech_balloon: {esc(s, 500)}" for s in direct)))
    head.append(section(f"{icon} {esc(d.verdict, 2800)}"))
    head.append(context(env_line(d.environment, len(d.hosts), d.simulated, f" · {d.duration_ms / 1000:.1f} s")))
    if d.matches:
        head.append(section("\n".join(match_lines(d.matches, kb, d.modules))))
    hosts = host_sections(d.findings)
    steps = [step_block(i, s, (offers or {}).get(i - 1)) for i, s in enumerate(d.next_steps, 1)]
    docs = []
    for name in d.modules[:6]:
        m = kb.get(name)
        docs.append(f"*{name}*: " + " · ".join(f"<{doc.url}|{esc(doc.title, 80)}>" for doc in m.docs[:3]))
    tail: list[Block] = []
    if docs:
        tail.append(context(":books: " + "\n".join(docs)))
    for note in notes:
        tail.append(context(esc(note, 1000) if not note.startswith(":") else note))
    steps_head = []
    if steps:
        caveat = (
            "  _(the bot never runs state-changing steps on its own)_"
            if any(s.risk == Risk.CHANGES_STATE for s in d.next_steps)
            else ""
        )
        steps_head = [section("*Next steps*" + caveat)]
    budget = MAX_BLOCKS - len(head) - len(tail) - len(steps_head) - 2
    # Hosts first (the evidence), then steps; whatever does not fit is summarised in one block.
    host_room = max(1, budget - min(len(steps), budget // 2))
    where = "see the attached report" if attached else "not shown: too many for one Slack message"
    if len(hosts) > host_room:
        rest = len(hosts) - (host_room - 1)
        hosts = [*hosts[: host_room - 1], section(f"… and {rest} more host(s): {where}.")]
    step_room = budget - len(hosts)
    if len(steps) > step_room:
        keep = max(0, step_room - 1)
        more = f"… {len(d.next_steps) - keep} more step(s)"
        steps = [*steps[:keep], section(f"{more} in the attached report." if attached else f"{more}: {where}.")]
    blocks = [*head, divider(), *hosts, *([divider(), *steps_head, *steps] if steps else []), *tail][:MAX_BLOCKS]
    raw = f"{'[SIMULATED] ' if d.simulated else ''}{(direct[0] + ' ') if direct else ''}{d.verdict} (environment {d.environment})"
    return blocks, fallback(raw)


def raw_report(d: Diagnosis, kb: KnowledgeBase) -> str:
    """Everything, as plain text, for the file attached to the thread (with the logs' last lines)."""
    return plain.diagnosis(d, kb, show_ok=True, show_logs=True)


def help_blocks(
    kb: KnowledgeBase,
    env: str | None,
    environments: Sequence[str] = (),
    not_campaign: bool = False,
    note: str | None = None,
    brief: bool = False,
) -> tuple[list[Block], str]:
    if note and brief:
        return [section(esc(note, 500))], fallback(note)
    if note:
        intro = esc(note, 500) + "\n"
    elif not_campaign:
        intro = "That does not look like a question about Adobe Campaign servers, so I checked nothing.\n"
    else:
        intro = ""
    text = (
        intro
        + "I help with *Adobe Campaign Classic* servers: tell me the symptom, in English or Dutch, and I check the "
        "modules involved on the servers (read-only) and say what I found and what to do.\n"
        "Try: `mail not sending` · `bounces worden niet verwerkt` · `is everything ok on prod?` · `check app2` · "
        "`is mta running?` · `tracking logs missing` · `/campaign-module wfserver`"
    )
    ctx = "Modules: " + ", ".join(f"`{n}`" for n in kb.names)
    if environments:
        ctx += " · environments: " + ", ".join(f"*{esc(e, 60)}*" for e in environments)
    elif env:
        ctx += f" · environment *{esc(env, 60)}*"
    return [section(text), context(ctx)], fallback(
        "I answer questions about Adobe Campaign Classic servers. Try: mail not sending"
    )


def card_blocks(m: Module, instance: str | None, env: str | None, can_run: bool) -> tuple[list[Block], str]:
    scope = "once per server" if m.scope == "server" else "once per instance"
    pname = m.process_name(instance or ("<instance>" if m.scope == "instance" else None))
    lines = [f"*{m.name}*: {esc(m.title, 200)}", f"_{esc(m.executes, 400)}_", esc(m.description, 1500)]
    facts = []
    if m.kind == "daemon":
        facts.append(f"Runs {scope}; `nlserver pdump` shows `{esc(pname, 100)}`.")
    else:
        facts.append("Utility module: runs on demand, not a daemon in `nlserver pdump`.")
    if m.ports:
        facts.append("Ports: " + esc("; ".join(f"{p.port}/{p.proto} {p.direction}" for p in m.ports), 500))
    if m.logs:
        paths = ", ".join(
            f"`{esc(fill(lf.path, module=m.name, instance=instance, paths='never'), 200)}`"
            + (" (UNCONFIRMED)" if lf.unconfirmed else "")
            for lf in m.logs
        )
        facts.append("Logs: " + paths)
    checks = [
        f"• [{'read-only' if s.risk == Risk.READ_ONLY else 'changes state'}] {esc(s.text, 400)}"
        + (f" `{esc(fill(s.command, module=m.name, instance=instance), 300)}`" if s.command else "")
        for s in m.steps
    ]
    accessory = None
    if can_run:
        value = json.dumps({"module": m.name, "instance": instance, "env": env})
        if len(value) <= MAX_BUTTON_VALUE:
            accessory = {
                "type": "button",
                "text": plain_text("Run checks", MAX_BUTTON_TEXT),
                "style": "primary",
                "action_id": "run_checks",
                "value": value,
            }
    blocks = [
        section("\n".join(lines), accessory),
        section("\n".join(facts)),
        section("\n".join(["*What to check and do*", *checks])),
    ]
    if m.notes:
        blocks.append(context("\n".join(esc(n, 600) for n in m.notes)))
    blocks.append(context(":books: " + " · ".join(f"<{d.url}|{esc(d.title, 80)}>" for d in m.docs)))
    if env:
        blocks.append(
            context(f"Environment *{esc(env, 60)}*" + ("" if can_run else " · you may not run its checks here"))
        )
    return blocks, fallback(f"{m.name}: {m.title}")


def modules_blocks(kb: KnowledgeBase) -> tuple[list[Block], str]:
    lines = [
        f"• *{m.name}*: {esc(m.title, 200)} ({'per server' if m.scope == 'server' else 'per instance'})"
        for m in kb.modules
    ]
    return [section("\n".join(["*Campaign modules* (`/campaign-module NAME` for a card)", *lines]))], fallback(
        "Campaign modules: " + ", ".join(kb.names)
    )


def clarify_blocks(question: str, candidates: Sequence[Match], env: str, kb: KnowledgeBase) -> tuple[list[Block], str]:
    buttons = [
        {
            "type": "button",
            "text": plain_text(f"{m.module}: {kb.get(m.module).title}", MAX_BUTTON_TEXT),
            "action_id": f"clarify:{m.module}",
            "value": json.dumps({"module": m.module, "env": env}),
        }
        for m in candidates[:4]
    ]
    blocks = [
        section(
            f":thinking_face: Which one do you mean (environment *{esc(env, 60)}*)? _{esc(question, 200)}_ could be:"
        ),
        {"type": "actions", "elements": buttons},
    ]
    return blocks, fallback("Which module do you mean: " + " or ".join(m.module for m in candidates[:4]) + "?")


_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,20})&gt;")


def notice_blocks(icon: str, raw: str, mentions: Collection[str] = ()) -> tuple[list[Block], str]:
    """A one-line message (refusals, unknown names, problems): raw text escaped. Only the user ids in
    `mentions` (the people the bot itself names: who asked, who pressed) become mentions again; any
    other `<@U...>` in the text (a name the user typed, an external alert's label) stays text, so a
    refusal never pings someone the bot did not mean to."""

    def restore(text: str) -> str:
        return _MENTION.sub(lambda m: f"<@{m.group(1)}>" if m.group(1) in mentions else m.group(0), text)

    return [section(f"{icon} {restore(esc(raw, 2900))}")], restore(fallback(raw))


def refusal_blocks(reason: str, env: str | None, mentions: Collection[str] = ()) -> tuple[list[Block], str]:
    raw = f"I can't run checks on {env}: {reason}." if env else f"{reason}."
    return notice_blocks(":no_entry_sign:", raw, mentions)


def action_blocks(
    status: str, command: str, host: str, user: str, output: str, duration_ms: int, detail: str
) -> tuple[list[Block], str]:
    icon = {"done": ":white_check_mark:", "failed": ":x:", "unknown": ":grey_question:"}.get(status, ":grey_question:")
    head = f"{icon} `{esc(command, 300)}` on *{esc(host, 80)}* {status}" + (f" ({esc(detail, 300)})" if detail else "")
    head += f" · {duration_ms} ms · confirmed by <@{esc(user, 30)}>" if status != "unknown" else ""
    lines = [head]
    if output.strip():
        lines.append(code(output.strip()[-2500:], 2500))
    return [section("\n".join(lines))], fallback(f"{command} on {host}: {status}")
