"""Listening ports a module must open (syslogd 6666/udp, web 8080/tcp, stat 7777/udp).

A module may list several ports: each finding has its port as `target` (one alert per port).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section


class PortsCheck(ModuleCheck):
    name = "ports"
    order = 40

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        yield s.listening()

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        text = facts.text("ports")
        listening = p.parse_listening(text) if text is not None else None
        for port in module.ports:
            if not port.check or port.direction != "listen":
                continue
            label = f"{port.port}/{port.proto}"
            if listening is None:
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "unknown",
                    f"cannot tell whether {label} is listening: could not list listening sockets",
                    (),
                    ("cannot_tell",),
                    needs="`ss` or `netstat` on the host",
                    target=f"port {label}",
                )
            elif (port.proto, port.port) in listening:
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "ok",
                    f"{module.name} port {label} is listening",
                    target=f"port {label}",
                )
            else:
                shown = ", ".join(f"{pp}/{pr}" for pr, pp in sorted(listening))[:300]
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "fail",
                    f"nothing listens on {label}, where {module.name} should ({port.note})",
                    [f"listening: {shown}"],
                    ("port_closed",),
                    target=f"port {label}",
                )


CHECK = PortsCheck()
