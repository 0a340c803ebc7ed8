"""The command line: argument parsing and one handler per sub-command.

Handlers are handed their collaborators (`Services`, built by the composition root in
`bot/__main__.py`) and an output stream; they return the exit code: 0 nothing wrong, 1 a finding
is `fail` or `error`, 2 bad input or configuration. Questions go through the conversation core,
so `diagnose` answers exactly as the chat and Slack do.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Protocol, TextIO

from bot import __version__
from bot.conversation.replies import Answer, Help, Question, Refusal, Reply
from bot.doctor import render_rows, run_doctor
from bot.errors import UnknownModuleError, UnknownNameError
from bot.kb.loader import packaged
from bot.models import Diagnosis
from bot.present import text as present
from bot.redact import redact, strip_control
from bot.render import text as render

if TYPE_CHECKING:
    from bot.conversation.core import Conversation
    from bot.inventory import Inventory
    from bot.kb.models import KnowledgeBase
    from bot.matcher import Matcher
    from bot.resolver import ModuleResolver
    from bot.runner import TransportFactory

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class Services(Protocol):
    """What the handlers use; the composition root builds it (lazily: `match` opens no store)."""

    @property
    def kb(self) -> KnowledgeBase: ...
    @property
    def matcher(self) -> Matcher: ...
    @property
    def resolver(self) -> ModuleResolver: ...
    @property
    def conversation(self) -> Conversation: ...
    @property
    def transport_for(self) -> TransportFactory: ...
    @property
    def concurrency(self) -> int: ...
    def inventory(self) -> Inventory: ...


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="campaign-bot", description="Chat-ops for Adobe Campaign Classic servers.")
    ap.add_argument("--version", action="version", version=f"campaign-bot {__version__}")
    ap.add_argument("--knowledge", metavar="DIR", help="knowledge folder (default: the one shipped in the package)")
    sub = ap.add_subparsers(dest="command", required=True)

    m = sub.add_parser("match", help="which modules a symptom points to")
    m.add_argument("text", nargs="*", help="the question")
    m.add_argument("--json", action="store_true")
    m.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin, write one result per line')

    mod = sub.add_parser("module", help="a module's card")
    mod.add_argument("argument", help="module name, alias or module@instance")
    mod.add_argument("--json", action="store_true")

    ms = sub.add_parser("modules", help="list the modules")
    ms.add_argument("--json", action="store_true", help="as JSON: name, title, kind, scope, aliases, checks")

    k = sub.add_parser("knowledge", help="knowledge-base tools")
    k.add_argument("action", choices=["check"])

    for name, hlp in (("check", "run a module's read-only checks"), ("diagnose", "answer a question (any kind)")):
        c = sub.add_parser(name, help=hlp)
        c.add_argument("module" if name == "check" else "text", nargs=None if name == "check" else "+")
        c.add_argument("--env", help="environment (name or alias) from the inventory")
        if name == "check":
            c.add_argument("--host", help="only this host")
        c.add_argument("--inventory", metavar="PATH")
        c.add_argument("--json", action="store_true")
        c.add_argument("--all", action="store_true", help="show the OK findings too")

    d = sub.add_parser("doctor", help="per host: connect, host key, auth, nlserver, build")
    d.add_argument("--env")
    d.add_argument("--inventory", metavar="PATH")
    d.add_argument("--json", action="store_true")

    r = sub.add_parser("run", help="Slack when tokens are configured, else a terminal chat")
    r.add_argument("--inventory", metavar="PATH")
    r.add_argument("--env")
    sv = sub.add_parser("serve", help="the Slack app (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)")
    sv.add_argument("--inventory", metavar="PATH")
    sv.add_argument(
        "--mode",
        choices=["auto", "http", "socket"],
        default="auto",
        help="auto: Socket Mode when SLACK_APP_TOKEN is set, else HTTP",
    )
    sv.add_argument("--no-worker", action="store_true", help="acknowledge only; `campaign-bot worker` runs the jobs")
    w = sub.add_parser("worker", help="take jobs (questions, clicks, scheduled checks) from the queue")
    w.add_argument("--inventory", metavar="PATH")
    w.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)

    wa = sub.add_parser("watch", help="run an environment's scheduled checks in the terminal (new, ongoing, recovered)")
    wa.add_argument("--env", help="environment (default: the default one)")
    wa.add_argument("--once", action="store_true", help="one round, then exit (cron, monitoring systems)")
    wa.add_argument("--inventory", metavar="PATH")
    wa.add_argument("--json", action="store_true", help="one JSON object per round")

    ex = sub.add_parser("example", help="print a file shipped with the package")
    ex.add_argument("what", choices=["inventory", "slack-manifest"])
    return ap


def match_result(matcher: Matcher, text: str) -> dict[str, object]:
    return {"query": redact(text), "matches": [m.public() for m in matcher.match(text)]}


def cmd_match(args: argparse.Namespace, svc: Services, out: TextIO, inp: TextIO) -> int:
    if args.jsonl:
        bad: list[int] = []
        for n, line in enumerate(inp, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"] if isinstance(obj, dict) else None
                if not isinstance(text, str):
                    raise ValueError
            except (ValueError, KeyError):
                # One output line per input line (a pipeline keeps its alignment); the count goes to stderr.
                bad.append(n)
                out.write(
                    json.dumps({"query": None, "matches": [], "error": f"line {n}: not a JSON object with 'text'"})
                    + "\n"
                )
                continue
            out.write(json.dumps(match_result(svc.matcher, text), ensure_ascii=False) + "\n")
        out.flush()
        if bad:
            shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
            print(
                f'campaign-bot: {len(bad)} line(s) are not JSON objects like {{"text": "..."}}: line {shown}',
                file=sys.stderr,
            )
            return EXIT_USAGE
        return EXIT_OK
    text = " ".join(args.text).strip()
    if not text:
        print("campaign-bot match: give the question as TEXT, or use --jsonl", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        out.write(json.dumps(match_result(svc.matcher, text), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render.matches(svc.matcher.match(text), svc.kb) + "\n")
    return EXIT_OK


def unknown_module_message(e: UnknownModuleError, kb: KnowledgeBase) -> str:
    msg = f"campaign-bot: {e}"
    if not e.suggestions:
        msg += f"\nknown modules: {', '.join(kb.names)}"
    return msg


def cmd_module(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    try:
        res = svc.resolver.resolve(args.argument)
    except UnknownModuleError as e:
        print(unknown_module_message(e, svc.kb), file=sys.stderr)
        return EXIT_USAGE
    m = res.module
    if args.json:
        data = m.model_dump(mode="json", exclude={"signals"})
        payload = {
            "module": m.name,
            "instance": res.instance,
            "resolved_by": res.how,
            "process": m.process_name(res.instance) if m.kind == "daemon" else None,
            **data,
        }
        payload.pop("name", None)
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render.card(m, res.instance) + "\n")
    return EXIT_OK


def cmd_modules(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    if getattr(args, "json", False):
        rows = [
            {
                "name": m.name,
                "title": m.title,
                "kind": m.kind,
                "scope": m.scope,
                "aliases": list(m.aliases),
                "checks": list(m.checks),
            }
            for m in svc.kb.modules
        ]
        out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    out.write(render.modules_list(svc.kb) + "\n")
    return EXIT_OK


def _exit_for(d: Diagnosis) -> int:
    return EXIT_PROBLEM if d.problem else EXIT_OK


def _show(reply: Reply, args: argparse.Namespace, svc: Services, out: TextIO, simulated: bool) -> int:
    """Print a reply; refusals (unknown names, no access) go to stderr with exit 2."""
    if isinstance(reply, Refusal):
        print(f"campaign-bot: {strip_control(present.reply(reply, svc.kb))}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(reply, Answer):
        d = reply.diagnosis
        if getattr(args, "json", False):
            payload = d.public()
            payload["timings_ms"] = {"total": d.duration_ms}
            payload["intent"] = reply.plan.intent
            if reply.direct:
                payload["answer"] = list(reply.direct)
            out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        else:
            text = present.answer(reply, svc.kb, show_ok=getattr(args, "all", False))
            out.write(strip_control(text) + "\n")
        return _exit_for(d)
    if getattr(args, "json", False) and isinstance(reply, Help):
        out.write(
            json.dumps(
                {
                    "query": redact(" ".join(getattr(args, "text", []))),
                    "status": "not-about-campaign",
                    "verdict": "Not a question about Campaign: nothing was checked.",
                },
                indent=2,
            )
            + "\n"
        )
        return EXIT_OK
    out.write(present.reply(reply, svc.kb, simulated=simulated) + "\n")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    reply = svc.conversation.check(args.module, args.env, args.host, user="cli", place="cli")
    return _show(reply, args, svc, out, svc.inventory().simulated)


def cmd_diagnose(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    text = " ".join(args.text).strip()
    q = Question(text=text, user="cli", place="cli", surface="cli", trusted=True, env=args.env)
    return _show(svc.conversation.ask(q), args, svc, out, svc.inventory().simulated)


def cmd_doctor(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    inv = svc.inventory()
    try:
        env = inv.environment(args.env if args.env else (inv.default_environment or None))
    except UnknownNameError as e:
        print(f"campaign-bot: {e}", file=sys.stderr)
        return EXIT_USAGE
    rows = run_doctor(env, svc.transport_for, max_workers=svc.concurrency)
    if args.json:
        out.write(
            json.dumps(
                {"environment": env.name, "simulated": env.simulated, "hosts": [r.public() for r in rows]}, indent=2
            )
            + "\n"
        )
    else:
        out.write(strip_control(render_rows(rows, env.simulated)) + "\n")
    return EXIT_OK if all(r.ok for r in rows) else EXIT_PROBLEM


def cmd_example(args: argparse.Namespace, out: TextIO) -> int:
    name = {"inventory": "inventory.example.yaml", "slack-manifest": "slack-manifest.yaml"}[args.what]
    out.write(packaged("data", name).read_text(encoding="utf-8"))
    return EXIT_OK
