"""What every check is handed: the host's context and its parsed base facts.

The base facts come from the sections every script carries (`BASE_SECTIONS`): the host's clock,
`nlserver pdump`, `nlserver monitor -missing`, the modules' configuration and the process list.
They are parsed once, lazily, and shared by all checks of the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

from bot.inventory import Environment, Host
from bot.kb.models import Module
from bot.probes import parsers as p
from bot.probes import script as s
from bot.transports.base import CommandResult

BASE_SECTIONS: tuple[s.Section, ...] = (
    s.now(),
    s.nlserver("pdump"),
    s.nlserver("monitor", "-missing"),
    s.config_autostart(),
    s.processes(),
)


@dataclass(frozen=True)
class HostContext:
    """Where a check runs: the host, its environment, the modules asked about and the instances."""

    host: Host
    env: Environment
    modules: tuple[Module, ...]
    instances: tuple[str, ...]

    def instances_of(self, module: Module) -> tuple[str | None, ...]:
        """`(None,)` for a server-wide module, else the instances of the run."""
        if module.scope == "server":
            return (None,)
        return self.instances

    def targets(self, check: str) -> list[tuple[Module, str | None]]:
        """(module, instance) pairs whose knowledge lists `check`."""
        return [(m, i) for m in self.modules if check in m.checks for i in self.instances_of(m)]

    def asks_about(self, *names: str) -> bool:
        return any(m.name in names for m in self.modules)


@dataclass
class HostFacts:
    """Parsed output of one host's run. Sections are keyed by their id (`nlserver-pdump`, `log:...`)."""

    ctx: HostContext
    sections: dict[str, p.SectionOutput]
    result: CommandResult

    def text(self, section_id: str) -> str | None:
        sec = self.sections.get(section_id)
        return sec.text if sec is not None else None

    @cached_property
    def pdump(self) -> p.Pdump:
        return p.parse_pdump(self.text("nlserver-pdump") or "")

    @cached_property
    def autostart(self) -> dict[str, dict[str, bool]]:
        text = self.text("config")
        return p.parse_autostart(text) if text is not None else {}

    @cached_property
    def missing(self) -> tuple[str, ...]:
        text = self.text("nlserver-monitor-missing")
        return p.parse_missing(text) if text is not None else ()

    @cached_property
    def ps(self) -> dict[int, p.PsRow]:
        text = self.text("ps")
        return p.parse_ps(text) if text is not None else {}

    @cached_property
    def now_s(self) -> int | None:
        text = self.text("now")
        return p.epoch(text) if text is not None else None

    @cached_property
    def now(self) -> datetime:
        """The host's clock (UTC); the bot's own when the host's could not be read."""
        return datetime.fromtimestamp(self.now_s, timezone.utc) if self.now_s else datetime.now(timezone.utc)

    @cached_property
    def banner(self) -> str:
        return self.pdump.banner.text if self.pdump.banner else "no banner"

    def configured(self, module: Module, instance: str | None) -> bool | None:
        """Is the module meant to run here? Inventory `modules` wins; else autoStart; None if unknown."""
        host = self.ctx.host
        if host.modules is not None:
            return module.name.lower() in (m.lower() for m in host.modules)
        if module.name == "watchdog":
            return True
        if not self.autostart:
            return None
        file = "config-default.xml" if module.scope == "server" else f"config-{instance}.xml"
        tags = self.autostart.get(file, {})
        return any(k.lower() == module.name.lower() and v for k, v in tags.items())

    def running(self, module: Module, instance: str | None) -> p.Proc | None:
        return self.pdump.find(module.process_name(instance))

    def concerns(self, module: Module, instance: str | None) -> bool:
        """The module runs here, or is meant to, or (utilities) may run here at any time."""
        if module.kind != "daemon":
            return True
        return self.running(module, instance) is not None or bool(self.configured(module, instance))

    def runs_web(self) -> bool:
        """Health URLs are fetched only where the web module runs or is meant to run."""
        if self.pdump.find("web@default") is not None:
            return True
        if self.ctx.host.modules is not None:
            return "web" in self.ctx.host.modules
        return bool(self.autostart.get("config-default.xml", {}).get("web"))
