"""Composition root: the only place that reads settings and builds the real collaborators
(knowledge base, matcher, inventory, SSH pool, transports, runner, Slack app) and hands them out."""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.process
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot import cli
from bot.checks.registry import default_registry, validate_knowledge
from bot.config import Settings, load_settings
from bot.diagnosis import Diagnoser
from bot.errors import CampaignBotError, ConfigError
from bot.inventory import Host, Inventory, find_inventory_path, load_inventory
from bot.kb.loader import load_knowledge
from bot.matcher import Matcher
from bot.resolver import ModuleResolver
from bot.runner import Runner, TransportFactory
from bot.transports.base import Transport
from bot.transports.local import LocalTransport
from bot.transports.ssh import ConnectionPool, SSHTransport

log = logging.getLogger("bot")


def transport_factory(pool: ConnectionPool) -> TransportFactory:
    def for_host(host: Host) -> Transport:
        if host.transport == "local":
            return LocalTransport(host.env_path)
        return SSHTransport(host, pool)

    return for_host


def simulated_inventory() -> Inventory:
    """The built-in simulated fleet, in a temporary folder removed at exit."""
    from bot.simulator import build_simulated_inventory

    root = Path(tempfile.mkdtemp(prefix="campaign-bot-sim-"))
    atexit.register(shutil.rmtree, root, True)
    return build_simulated_inventory(root)


def inventory_loader(explicit: str | None, settings: Settings, allow_simulated: bool) -> Callable[[], Inventory]:
    def load() -> Inventory:
        path = find_inventory_path(explicit, settings.campaign_bot_inventory)
        if path is None:
            if not allow_simulated:
                raise ConfigError(
                    "no inventory: pass --inventory PATH, set CAMPAIGN_BOT_INVENTORY, or create ./inventory.yaml "
                    "(Slack mode never falls back to the simulated fleet)"
                )
            return simulated_inventory()
        return load_inventory(path)

    return load


def build_services(
    args: object, settings: Settings, allow_simulated: bool = True
) -> tuple[cli.Services, ConnectionPool]:
    knowledge = getattr(args, "knowledge", None) or settings.campaign_bot_knowledge
    kb = load_knowledge(Path(knowledge) if knowledge else None)
    registry = default_registry()
    validate_knowledge(kb, registry)
    matcher = Matcher(kb)
    pool = ConnectionPool()
    atexit.register(pool.close)
    transports = transport_factory(pool)
    runner = Runner(transports, registry)
    svc = cli.Services(
        kb=kb,
        matcher=matcher,
        resolver=ModuleResolver(kb),
        inventory_loader=inventory_loader(getattr(args, "inventory", None), settings, allow_simulated),
        transport_for=transports,
        diagnoser=Diagnoser(kb, matcher, runner),
        default_env=getattr(args, "env", None) or settings.campaign_bot_env,
    )
    return svc, pool


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None, out: TextIO | None = None, inp: TextIO | None = None) -> int:
    out = out or sys.stdout
    inp = inp or sys.stdin
    args = cli.build_parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command in ("serve", "run") and (args.command == "serve" or settings.slack_configured):
            configure_logging(settings)
            return _serve(args, settings)
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
        if args.command == "knowledge":
            kb = load_knowledge(Path(args.knowledge) if args.knowledge else None)
            validate_knowledge(kb, default_registry())
            out.write(
                f"knowledge OK: {len(kb.modules)} modules ({', '.join(kb.names)}), "
                f"{sum(len(m.steps) for m in kb.modules)} steps, {len(kb.lexicon.concepts)} concepts\n"
            )
            return cli.EXIT_OK
        svc, _ = build_services(args, settings)
        if args.command == "match":
            return cli.cmd_match(args, svc, out, inp)
        if args.command == "module":
            return cli.cmd_module(args, svc, out)
        if args.command == "modules":
            return cli.cmd_modules(svc, out)
        if args.command == "check":
            return cli.cmd_check(args, svc, out)
        if args.command == "diagnose":
            return cli.cmd_diagnose(args, svc, out)
        if args.command == "doctor":
            return cli.cmd_doctor(args, svc, out)
        if args.command == "run":
            from bot.chat import run_chat

            answer = cli.ChatAnswerer(svc)
            if svc.inventory.simulated:
                print(
                    "campaign-bot: no Slack tokens and no inventory: terminal chat on the built-in SIMULATED fleet "
                    "(hosts app1, app2, track1). One question per line; Ctrl-D to end.",
                    file=sys.stderr,
                )

            def write(s: str) -> None:
                out.write(s)
                out.flush()

            return run_chat(inp, write, answer, prompt=inp.isatty())
        raise ConfigError(f"unknown command {args.command}")
    except CampaignBotError as e:
        print(f"campaign-bot: {e}", file=sys.stderr)
        return cli.EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`campaign-bot match --jsonl ... | head`): stop quietly, no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _serve(args: object, settings: Settings) -> int:
    mode = getattr(args, "mode", "auto")
    if mode == "socket" and settings.slack_app_token is None:
        raise ConfigError("--mode socket needs SLACK_APP_TOKEN (an app-level token, xapp-...)")
    if mode == "http":
        settings = settings.model_copy(update={"slack_app_token": None})
    settings.require_slack()
    from bot.slack.server import serve

    svc, pool = build_services(args, settings, allow_simulated=False)
    svc.inventory  # noqa: B018 - load and validate the inventory before accepting any request
    spawn = multiprocessing.get_context("spawn")
    worker_args = (getattr(args, "inventory", None), getattr(args, "knowledge", None))

    def start_worker() -> multiprocessing.process.BaseProcess:
        from bot.slack.worker import worker_main  # an importable target: `python -m bot` runs as __main__

        proc = spawn.Process(target=worker_main, args=worker_args, name="campaign-bot-worker", daemon=True)
        proc.start()
        return proc

    return serve(settings, svc, pool, start_worker)


if __name__ == "__main__":
    sys.exit(main())
