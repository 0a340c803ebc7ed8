"""Listening ports a module must open (syslogd 6666/udp, web 8080/tcp, stat 7777/udp by default).

Each of these ports is configurable (domain reference section 3.1), so the check looks where the host
sets it before it falls back on the knowledge base's default:

- web's Tomcat port: `tomcat_port` of the host in the inventory, or `<web httpPort=...>` in
  config-default.xml / serverConf.xml (CC:installation/using/the-server-configuration-file.md#web);
- syslogd's: `TRACE_ADDR=localhost:<port>` in customer.sh (CC:production/using/configuration.md);
- stat's: `<stat port=...>` in config-<instance>.xml / serverConf.xml
  (CC:installation/using/email-deliverability.md).

When the inventory names another port than the host (its configuration, or the default), a socket on
either is the module listening, never a failure: nothing on the inventory's port while the host's own
is open is a warning about the inventory (the bot fetches ping.jsp there), not about the module.

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


SYSLOGD_DEFAULT = 6666
# (module, the knowledge base's default port) -> where the host may set another one.
CONFIGURABLE: dict[tuple[str, int], PortSource] = {
    ("web", 8080): PortSource(inventory="tomcat_port", element="web", attribute="httpPort"),
    ("syslogd", SYSLOGD_DEFAULT): PortSource(trace_addr=True),
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
) -> tuple[Expected | None, list[Expected]]:
    """(what the inventory says, what the host says): the host's ports are the configuration's and
    the environment's, else the knowledge base's default. A value that is not a port number is skipped."""
    src = CONFIGURABLE.get((module.name, port.port))
    if src is None:
        return None, [Expected(port.port, "default")]
    inventory = None
    if src.inventory and src.inventory in ctx.host.model_fields_set:
        value = getattr(ctx.host, src.inventory)
        inventory = Expected(int(value), f"{src.inventory} {value} in the inventory")
    host: list[Expected] = []
    if src.element and src.attribute:
        got = facts.setting(src.element, src.attribute, module.scope, instance)
        n = _valid(got[0]) if got is not None else None
        if got is not None and n is not None:
            host.append(Expected(n, f'<{src.element} {src.attribute}="{got[0]}"> in {got[1]}'))
    if src.trace_addr:
        n, why = syslogd_port(facts.env.trace_addr)
        if why != "default":
            host.append(Expected(n, why))
    return inventory, host or [Expected(port.port, "default")]


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
            inventory, host = expected_ports(ctx, facts, module, instance, port)
            expected = [
                *([inventory] if inventory else []),
                *(e for e in host if not inventory or e.port != inventory.port),
            ]
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
            up = [e for e in expected if (port.proto, e.port) in listening]
            if up and inventory and inventory not in up:
                # The host listens where its own configuration says; the bot's inventory is what is wrong.
                e = up[0]
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "warn",
                    f"{module.name} listens on {e.port}/{port.proto} ({e.source}), but nothing listens on "
                    f"{inventory.port}/{port.proto}, the {inventory.source}: the bot fetches its pages there",
                    sources,
                    target=target,
                )
                continue
            if up:
                e = up[0]
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
            unread = self._unread_setting(facts, module)
            if unread:
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "unknown",
                    f"cannot tell where {module.name} should listen: nothing listens on {labels}, but {unread}",
                    [*sources, f"listening: {shown}"],
                    ("cannot_tell",),
                    needs="a Campaign environment (env.sh, customer.sh) the bot can source",
                    target=target,
                )
                continue
            where = "; ".join(e.source for e in expected if e.source != "default")
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"nothing listens on {labels}, where {module.name} should ({where + '; ' if where else ''}{port.note})",
                [*sources, f"listening: {shown}"],
                ("port_closed",),
                target=target,
            )

    @staticmethod
    def _unread_setting(facts: HostFacts, module: Module) -> str | None:
        """Why the host may set the port where the bot could not read it (TRACE_ADDR in a customer.sh that
        could not be sourced)."""
        src = CONFIGURABLE.get((module.name, SYSLOGD_DEFAULT))
        if src is not None and src.trace_addr and not facts.env.trace_addr and facts.env.source_errors:
            file = facts.env.source_errors[0].partition(":")[0]
            return f"TRACE_ADDR may move it, and {file} could not be sourced"
        return None


CHECK = PortsCheck()
