"""Composition root: the only place that reads settings and builds the real collaborators.

`Services` builds each collaborator on first use (so `campaign-bot match` opens no store and
connects nowhere) and hands them to the edges: the CLI handlers, the terminal chat, the Slack app,
the worker and the watch. Nothing below this module reads the environment or builds its own
dependencies; typed start-up errors become one line on stderr and exit code 2 here.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from functools import cached_property
from pathlib import Path
from typing import TextIO

from bot import cli
from bot.audit import AuditLog
from bot.campaign_api import campaign_api_factory
from bot.checks.registry import Registry, default_registry, validate_knowledge
from bot.config import Settings, load_settings
from bot.conversation.core import Conversation, Identity
from bot.conversation.understand import Understanding
from bot.diagnosis import Diagnoser
from bot.errors import CampaignBotError, ConfigError, InventoryError, UnknownNameError
from bot.inventory import Host, Inventory, find_inventory_path
from bot.kb.loader import load_campaign_api, load_knowledge
from bot.kb.models import KnowledgeBase
from bot.matcher import Matcher
from bot.redact import install_log_redaction
from bot.resolver import ModuleResolver
from bot.runner import Runner, TransportFactory
from bot.service.inventory_source import InventorySource
from bot.stores import MemoryStore, StateStore, open_store
from bot.transports.base import Transport
from bot.transports.local import LocalTransport
from bot.transports.ssh import ConnectionPool, SSHTransport

log = logging.getLogger("bot")


def simulated_inventory() -> Inventory:
    """The built-in simulated fleet (environment `prod`, clearly labelled), in a folder removed at exit."""
    from bot.simulator import build_simulated_inventory

    root = Path(tempfile.mkdtemp(prefix="campaign-bot-sim-"))
    atexit.register(shutil.rmtree, root, True)
    return build_simulated_inventory(root)


class Services:
    """Every collaborator, built once and on first use, from the settings and the command's options."""

    def __init__(
        self,
        settings: Settings,
        *,
        inventory: str | None = None,
        knowledge: str | None = None,
        env: str | None = None,
        allow_simulated: bool = True,
        shared_state: bool = False,
    ) -> None:
        self.settings = settings
        self._inventory_arg = inventory
        self._knowledge_arg = knowledge or settings.campaign_bot_knowledge
        self.default_env = env or settings.campaign_bot_env
        self.allow_simulated = allow_simulated
        # The Slack service and workers share state through the store; a terminal chat or a CLI
        # command keeps its conversation in memory and writes no files unless told to.
        self.shared_state = shared_state
        self.identity: Identity | None = None

    # ------------------------------------------------------------------ the diagnosis core
    @cached_property
    def kb(self) -> KnowledgeBase:
        kb = load_knowledge(Path(self._knowledge_arg) if self._knowledge_arg else None)
        validate_knowledge(kb, self.registry)
        return kb

    @cached_property
    def registry(self) -> Registry:
        return default_registry()

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher(self.kb)

    @cached_property
    def resolver(self) -> ModuleResolver:
        return ModuleResolver(self.kb)

    @cached_property
    def inventory_source(self) -> InventorySource:
        path = find_inventory_path(self._inventory_arg, self.settings.campaign_bot_inventory)
        if path is None and not self.allow_simulated:
            raise ConfigError(
                "no inventory: pass --inventory PATH, set CAMPAIGN_BOT_INVENTORY, or create ./inventory.yaml "
                "(the Slack service never falls back to the simulated fleet)"
            )
        return InventorySource(path, simulated_inventory if path is None else None, self._check_module_names)

    def _check_module_names(self, inv: Inventory, source: str) -> None:
        """Module names in the inventory must be the knowledge's: a typo would check nothing and say OK."""
        names = {n.lower(): n for n in self.kb.names}
        for env in inv.environments.values():
            where: list[tuple[str, tuple[str, ...]]] = [
                (f"environments.{env.name}.hosts.{i}.modules", h.modules or ()) for i, h in enumerate(env.hosts)
            ]
            if env.watch is not None and env.watch.modules:
                where.append((f"environments.{env.name}.watch.modules", env.watch.modules))
            for field, mods in where:
                for j, entry in enumerate(mods):
                    # A host's entry may name one instance (`mta@prod2`): the module must be known, the
                    # instance one of the environment's when it lists them.
                    m, at, inst = (
                        entry.partition("@") if field.endswith(".modules") and "hosts" in field else (entry, "", "")
                    )
                    if at and env.instances and env.known_instance(inst) is None:
                        raise InventoryError(
                            f"{source}: {field}.{j}: unknown instance {inst!r} in {entry!r} "
                            f"(known: {', '.join(env.instances)})"
                        )
                    if m.lower() not in names:
                        close = self.resolver.suggest(m)
                        hint = f"; did you mean {', '.join(close)}?" if close else ""
                        raise InventoryError(
                            f"{source}: {field}.{j}: unknown module {m!r}{hint} (known: {', '.join(self.kb.names)})"
                        )
                    if field.endswith("watch.modules") and names[m.lower()] != m:
                        raise InventoryError(f"{source}: {field}.{j}: write the module as {names[m.lower()]!r}")

    def inventory(self) -> Inventory:
        return self.inventory_source.current()

    @cached_property
    def pool(self) -> ConnectionPool:
        pool = ConnectionPool()
        atexit.register(pool.close)
        return pool

    @cached_property
    def transport_for(self) -> TransportFactory:
        pool = self.pool

        def for_host(host: Host) -> Transport:
            if host.transport == "local":
                return LocalTransport(host.env_path)
            return SSHTransport(host, pool)

        return for_host

    @property
    def concurrency(self) -> int:
        """Hosts checked at once (CAMPAIGN_BOT_CONCURRENCY)."""
        return self.settings.campaign_bot_concurrency

    @cached_property
    def runner(self) -> Runner:
        return Runner(
            self.transport_for,
            self.registry,
            max_workers=self.concurrency,
            api_for=campaign_api_factory(self.kb.campaign_api or load_campaign_api()),
        )

    @cached_property
    def diagnoser(self) -> Diagnoser:
        return Diagnoser(self.kb, self.matcher, self.runner)

    # ------------------------------------------------------------------ state and the conversation
    @cached_property
    def store(self) -> StateStore:
        if not self.shared_state:
            return MemoryStore()
        redis_url = self.settings.campaign_bot_redis_url
        store = open_store(self.settings.campaign_bot_state_db, redis_url.get_secret_value() if redis_url else None)
        atexit.register(store.close)
        return store

    @cached_property
    def audit(self) -> AuditLog:
        if not self.shared_state and "CAMPAIGN_BOT_AUDIT_LOG" not in os.environ:
            return AuditLog(os.devnull)
        return AuditLog(self.settings.campaign_bot_audit_log)

    @cached_property
    def conversation(self) -> Conversation:
        return Conversation(
            kb=self.kb,
            understanding=Understanding(self.kb, self.matcher, self.resolver),
            inventory=self.inventory,
            diagnoser=self.diagnoser,
            store=self.store,
            audit=self.audit,
            transport_for=self.transport_for,
            identity=self.identity,
            default_env=self.default_env,
        )


def configure_logging(settings: Settings, level: str | None = None) -> None:
    logging.basicConfig(
        level=getattr(logging, (level or settings.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    install_log_redaction()


def main(argv: list[str] | None = None, out: TextIO | None = None, inp: TextIO | None = None) -> int:
    out = out or sys.stdout
    inp = inp or sys.stdin
    args = cli.build_parser().parse_args(argv)
    try:
        settings = load_settings()
        command = args.command
        if command in ("serve", "worker") or (command == "run" and settings.slack_configured):
            configure_logging(settings)
            return _service(args, settings)
        # The terminal shows problems in its own output (doctor lists unreadable known_hosts lines):
        # the log adds only what nothing else reports.
        configure_logging(settings, "ERROR" if command == "doctor" else "WARNING")
        if command == "example":
            return cli.cmd_example(args, out)
        svc = Services(
            settings,
            inventory=getattr(args, "inventory", None),
            knowledge=args.knowledge,
            env=getattr(args, "env", None) if command in ("run", "watch") else None,
        )
        if command == "knowledge":
            kb = svc.kb
            out.write(
                f"knowledge OK: {len(kb.modules)} modules ({', '.join(kb.names)}), "
                f"{sum(len(m.steps) for m in kb.modules)} steps, {len(kb.lexicon.concepts)} concepts, "
                f"{len(svc.registry.checks)} checks\n"
            )
            return cli.EXIT_OK
        if command == "match":
            return cli.cmd_match(args, svc, out, inp)
        if command == "module":
            return cli.cmd_module(args, svc, out)
        if command == "modules":
            return cli.cmd_modules(args, svc, out)
        if command == "check":
            return cli.cmd_check(args, svc, out)
        if command == "diagnose":
            return cli.cmd_diagnose(args, svc, out)
        if command == "doctor":
            return cli.cmd_doctor(args, svc, out)
        if command == "watch":
            from bot.watch.terminal import run_terminal_watch

            # Alert state must outlive one cron run. The simulated fleet keeps it only where told
            # (CAMPAIGN_BOT_STATE_DB): a demo writes no state file into the current folder.
            svc.shared_state = not svc.inventory_source.simulated or "CAMPAIGN_BOT_STATE_DB" in os.environ
            if args.env is not None:
                try:  # an unknown environment is the one line said, not after a note about state
                    svc.inventory().environment(args.env)
                except UnknownNameError as e:
                    raise ConfigError(str(e)) from e
            if not svc.shared_state:
                print(
                    "campaign-bot: simulated fleet: alert state is not kept between runs "
                    "(set CAMPAIGN_BOT_STATE_DB=PATH to keep it)",
                    file=sys.stderr,
                )
            return run_terminal_watch(args, svc, out)
        if command == "run":
            return _terminal_chat(svc, out, inp, getattr(args, "env", None))
        raise ConfigError(f"unknown command {command}")
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


def _terminal_chat(svc: Services, out: TextIO, inp: TextIO, env: str | None = None) -> int:
    from bot.terminal.chat import run_chat

    inv = svc.inventory()
    if svc.default_env and inv.find_environment(svc.default_env) is None:
        # A chat on the wrong environment would answer every question from the default one.
        print(
            f"campaign-bot: unknown environment {svc.default_env!r}; known: {', '.join(sorted(inv.environments))}",
            file=sys.stderr,
        )
        return cli.EXIT_USAGE
    svc.conversation  # noqa: B018 - build (and validate) everything before the first question
    if inv.simulated:
        print(
            "campaign-bot: no Slack tokens and no inventory: terminal chat on the built-in SIMULATED fleet "
            f"(environment {', '.join(inv.environments)}; hosts "
            f"{', '.join(h.name for e in inv.environments.values() for h in e.hosts)}). "
            "One question per line; Ctrl-D to end.",
            file=sys.stderr,
        )

    def write(s: str) -> None:
        out.write(s)
        out.flush()

    # --env pins the chat as it pins `diagnose`: a question naming another environment is refused.
    return run_chat(inp, write, svc.conversation, svc.kb, simulated=inv.simulated, prompt=inp.isatty(), env=env)


def _service(args: object, settings: Settings) -> int:
    """`serve` (acknowledge, and by default a worker beside it), `worker`, or `run` with Slack tokens."""
    from bot.service import process

    command = getattr(args, "command", "serve")
    svc = Services(
        settings,
        inventory=getattr(args, "inventory", None),
        knowledge=getattr(args, "knowledge", None),
        allow_simulated=False,
        shared_state=True,
    )
    if command == "worker":
        return process.run_worker(svc, parent_pid=getattr(args, "parent_pid", None))
    return process.run_serve(
        svc,
        mode=getattr(args, "mode", "auto"),
        with_worker=not getattr(args, "no_worker", False),
        inventory_arg=getattr(args, "inventory", None),
        knowledge_arg=getattr(args, "knowledge", None),
    )


if __name__ == "__main__":
    sys.exit(main())
