"""Listening ports a module must open (syslogd 6666/udp, web 8080/tcp, stat 7777/udp by default).

Each of these ports is configurable (domain reference section 3.1), so the check looks where the host
sets it before it falls back on the knowledge base's default:

- web's Tomcat port: `tomcat_port` of the host in the inventory, or `<web httpPort=...>` in
  config-default.xml / serverConf.xml (CC:installation/using/the-server-configuration-file.md#web);
- syslogd's: `TRACE_ADDR=localhost:<port>` in customer.sh (CC:production/using/configuration.md);
- stat's: `<stat port=...>` in config-<instance>.xml / serverConf.xml
  (CC:installation/using/email-deliverability.md).

When two sources name different ports (the inventory says one, the configuration another), a socket
on either is the module listening (never a failure); the evidence names both.

A module may list several ports: each finding has its port as `target` (one alert per port, by the
knowledge base's port, so that moving the port does not make it a new alert).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.checks.log_writer import syslogd_port
from bot.kb.models import Module, Port
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section


@dataclass(frozen=True)
class PortSource:
    """Where a module's configurable listen port is set on a host."""

    inventory: str | None = None  # a Host field of the inventory (e.g. tomcat_port)
    element: str | None = None  # the configuration element and attribute (e.g. web httpPort)
    attribute: str | None = None
    trace_addr: bool = False  # TRACE_ADDR in the Campaign environment (syslogd)


# (module, the knowledge base's default port) -> where the host may set another one.
CONFIGURABLE: dict[tuple[str, int], PortSource] = {
    ("web", 8080): PortSource(inventory="tomcat_port", element="web", attribute="httpPort"),
    ("syslogd", 6666): PortSource(trace_addr=True),
    ("stat", 7777): PortSource(element="stat", attribute="port"),
}


@dataclass(frozen=True)
class Expected:
    port: int
    source: str  # where the value comes from, as the finding names it


def _valid(value: str) -> int | None:
    v = value.strip()
    return int(v) if v.isdigit() and 0 < int(v) < 65536 else None


def expected_ports(
    ctx: HostContext, facts: HostFacts, module: Module, instance: str | None, port: Port
) -> list[Expected]:
    """The ports this host says the module listens on, the inventory first, then the configuration,
    then the environment; the knowledge base's default when none says anything. Values that are not
    a port number are skipped (and named as such)."""
    src = CONFIGURABLE.get((module.name, port.port))
    if src is None:
        return [Expected(port.port, "default")]
    out: list[Expected] = []
    if src.inventory and src.inventory in ctx.host.model_fields_set:
        value = getattr(ctx.host, src.inventory)
        out.append(Expected(int(value), f"{src.inventory} {value} in the inventory"))
    if src.element and src.attribute:
        got = facts.setting(src.element, src.attribute, module.scope, instance)
        if got is not None:
            value, file = got
            n = _valid(value)
            if n is not None:
                out.append(Expected(n, f'<{src.element} {src.attribute}="{value}"> in {file}'))
    if src.trace_addr:
        n, why = syslogd_port(facts.env.trace_addr)
        if why != "default":
            out.append(Expected(n, why))
    unique: list[Expected] = []
    for e in out:
        if all(u.port != e.port for u in unique):
            unique.append(e)
    return unique or [Expected(port.port, "default")]


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
            target = f"port {port.port}/{port.proto}"
            expected = expected_ports(ctx, facts, module, instance, port)
            labels = " or ".join(f"{e.port}/{port.proto}" for e in expected)
            sources = [f"{e.port}/{port.proto}: {e.source}" for e in expected]
            if listening is None:
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "unknown",
                    f"cannot tell whether {labels} is listening: could not list listening sockets",
                    sources,
                    ("cannot_tell",),
                    needs="`ss` or `netstat` on the host",
                    target=target,
                )
                continue
            open_ = [e for e in expected if (port.proto, e.port) in listening]
            if open_:
                e = open_[0]
                said = "" if e.source == "default" else f" ({e.source})"
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "ok",
                    f"{module.name} port {e.port}/{port.proto} is listening{said}",
                    sources if len(expected) > 1 else (),
                    target=target,
                )
                continue
            shown = ", ".join(f"{pp}/{pr}" for pr, pp in sorted(listening))[:300]
            where = "; ".join(e.source for e in expected)
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"nothing listens on {labels}, where {module.name} should ({where}; {port.note})",
                [*sources, f"listening: {shown}"],
                ("port_closed",),
                target=target,
            )


CHECK = PortsCheck()
