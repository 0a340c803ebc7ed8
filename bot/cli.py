"""Command-line parsing and the handlers of each sub-command.

Handlers are handed their collaborators (`Services`, built in `bot/__main__.py`) and an output
stream; they return the exit code: 0 fine, 1 a finding is `fail` or `error`, 2 bad input or
configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from bot import __version__
from bot.diagnosis import Diagnoser, asks_for_logs, mentioned_environment
from bot.doctor import render_rows, run_doctor
from bot.errors import UnknownModuleError, UnknownNameError
from bot.inventory import INSTANCE_RE, Environment, Inventory
from bot.kb.models import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Diagnosis
from bot.render import text as render
from bot.resolver import ModuleResolver, Resolution
from bot.runner import TransportFactory

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="campaign-bot", description="Chat-ops for Adobe Campaign Classic servers.")
    ap.add_argument("--version", action="version", version=f"campaign-bot {__version__}")
    ap.add_argument("--knowledge", metavar="DIR", help="knowledge folder (default: the repository's knowledge/)")
    sub = ap.add_subparsers(dest="command", required=True)

    m = sub.add_parser("match", help="which modules a symptom points to")
    m.add_argument("text", nargs="*", help="the question")
    m.add_argument("--json", action="store_true")
    m.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin, write one result per line')

    mod = sub.add_parser("module", help="a module's card")
    mod.add_argument("argument", help="module name, alias or module@instance")
    mod.add_argument("--json", action="store_true")

    sub.add_parser("modules", help="list the modules")

    k = sub.add_parser("knowledge", help="knowledge-base tools")
    k.add_argument("action", choices=["check"])

    for name, hlp in (("check", "run a module's read-only checks"), ("diagnose", "match a symptom and check")):
        c = sub.add_parser(name, help=hlp)
        c.add_argument("module" if name == "check" else "text", nargs=None if name == "check" else "+")
        c.add_argument("--env", help="environment from the inventory")
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
    return ap


@dataclass
class Services:
    """Everything a handler may need; built once in the composition root."""

    kb: KnowledgeBase
    matcher: Matcher
    resolver: ModuleResolver
    inventory_loader: Callable[[], Inventory] | None = None
    transport_for: TransportFactory | None = None
    diagnoser: Diagnoser | None = None
    default_env: str | None = None
    _inventory: Inventory | None = field(default=None, repr=False)

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            assert self.inventory_loader is not None
            self._inventory = self.inventory_loader()
        return self._inventory


def match_result(matcher: Matcher, text: str) -> dict[str, object]:
    return {
        "query": text,
        "matches": [{"module": m.module, "score": m.score, "reasons": list(m.reasons)} for m in matcher.match(text)],
    }


def cmd_match(args: argparse.Namespace, svc: Services, out: TextIO, inp: TextIO) -> int:
    if args.jsonl:
        for n, line in enumerate(inp, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"] if isinstance(obj, dict) else None
                if not isinstance(text, str):
                    raise ValueError
            except (ValueError, KeyError):
                print(f'campaign-bot: line {n}: expected a JSON object like {{"text": "..."}}', file=sys.stderr)
                out.write(
                    json.dumps({"query": None, "matches": [], "error": f"line {n}: not a JSON object with 'text'"})
                    + "\n"
                )
                continue
            out.write(json.dumps(match_result(svc.matcher, text), ensure_ascii=False) + "\n")
        out.flush()
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


def resolve_or_explain(svc: Services, argument: str) -> Resolution | None:
    """The resolved module, or None after printing the "unknown module" message on stderr."""
    try:
        return svc.resolver.resolve(argument)
    except UnknownModuleError as e:
        print(unknown_module_message(e, svc.kb), file=sys.stderr)
        return None


def cmd_module(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    res = resolve_or_explain(svc, args.argument)
    if res is None:
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


def cmd_modules(svc: Services, out: TextIO) -> int:
    out.write(render.modules_list(svc.kb) + "\n")
    return EXIT_OK


def pick_environment(svc: Services, name: str | None, text: str = "") -> Environment:
    inv = svc.inventory
    chosen = name or (mentioned_environment(text, inv) if text else None) or svc.default_env
    if chosen is not None and chosen not in inv.environments and not name and inv.simulated:
        chosen = None  # CAMPAIGN_BOT_ENV names a real environment; the simulated fleet has one
    return inv.environment(chosen)


def _exit_for(d: Diagnosis) -> int:
    return EXIT_PROBLEM if any(f.status in ("fail", "error") for f in d.findings) else EXIT_OK


def _emit(d: Diagnosis, args: argparse.Namespace, svc: Services, out: TextIO) -> None:
    if args.json:
        payload = d.public()
        payload["timings_ms"] = {"total": d.duration_ms}
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render.diagnosis(d, svc.kb, show_ok=args.all, show_logs=args.all) + "\n")


def cmd_check(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    res = resolve_or_explain(svc, args.module)
    if res is None:
        return EXIT_USAGE
    env = pick_environment(svc, args.env)
    if res.instance is not None and res.module.scope == "instance":
        if env.instances and res.instance not in env.instances:
            raise UnknownNameError("instance", res.instance, list(env.instances))
        if not INSTANCE_RE.match(res.instance):
            raise UnknownNameError("instance", res.instance, list(env.instances))
        env = env.model_copy(update={"instances": (res.instance,)})
    hosts = [env.host(args.host)] if args.host else None
    assert svc.diagnoser is not None
    d = svc.diagnoser.check([res.module], env, hosts=hosts, label=f"check {res.module.name}")
    _emit(d, args, svc, out)
    return _exit_for(d)


def cmd_diagnose(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    text = " ".join(args.text).strip()
    env = pick_environment(svc, args.env, text)
    assert svc.diagnoser is not None
    d = svc.diagnoser.diagnose(text, env)
    _emit(d, args, svc, out)
    return _exit_for(d)


def cmd_doctor(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    env = pick_environment(svc, args.env)
    assert svc.transport_for is not None
    rows = run_doctor(env, svc.transport_for)
    if args.json:
        out.write(
            json.dumps(
                {"environment": env.name, "simulated": env.simulated, "hosts": [r.public() for r in rows]}, indent=2
            )
            + "\n"
        )
    else:
        out.write(render_rows(rows, env.simulated) + "\n")
    return EXIT_OK if all(r.ok for r in rows) else EXIT_PROBLEM


class ChatAnswerer:
    """Answers one terminal-chat line the way the Slack bot answers a message."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.last_env: str | None = None

    def __call__(self, text: str) -> str:
        svc = self.svc
        prefix = render.SIMULATED_BANNER + "\n" if svc.inventory.simulated else ""
        if text.startswith("/campaign-module"):
            arg = text[len("/campaign-module") :].strip()
            if not arg:
                return prefix + render.modules_list(svc.kb)
            try:
                res = svc.resolver.resolve(arg)
            except UnknownModuleError as e:
                return prefix + unknown_module_message(e, svc.kb).replace("campaign-bot: ", "")
            return prefix + render.card(res.module, res.instance)
        matches = svc.matcher.match(text)
        if not matches:
            return prefix + render.help_text(svc.kb)
        try:
            env_name = mentioned_environment(text, svc.inventory) or self.last_env
            env = pick_environment(svc, env_name)
        except UnknownNameError as e:
            return prefix + str(e)
        self.last_env = env.name
        assert svc.diagnoser is not None
        d = svc.diagnoser.diagnose(text, env, matches=matches)
        return render.diagnosis(d, svc.kb, show_logs=asks_for_logs(text))
