"""IP affinities declared in the configuration, shown as evidence for the mta.

A delivery whose IP affinity is not declared on the sending instance stays "Pending"
(CC:delivery/using/about-delivery-monitoring.md#pending-deliveries; domain reference section 9,
fact 13); affinities live in `<mta><child><smtp><IPAffinity name=...><IP address=... heloHost=...
publicId=.../>` of serverConf.xml or config-<instance>.xml
(CC:installation/using/the-server-configuration-file.md#mta). Which of the two files wins for a
list of affinities is not documented: both are shown, with their file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import SERVER_CONF, HostContext, HostFacts, config_files
from bot.kb.models import Module
from bot.models import Finding
from bot.probes import parsers as p


@dataclass(frozen=True)
class Affinity:
    file: str
    name: str
    ips: tuple[str, ...]  # "192.0.2.10 (heloHost mta1.example.com, publicId 1)"

    def addresses(self) -> tuple[str, ...]:
        return tuple(sorted(ip.split(" ", 1)[0] for ip in self.ips))


def affinities(conf: p.ServerConfig, files: tuple[str, ...]) -> list[Affinity]:
    """The affinities declared in `files`, each with the IPs that follow it in document order."""
    out: list[Affinity] = []
    for f in files:
        current: tuple[str, list[str]] | None = None
        for e in conf.elements:
            if e.file != f:
                continue
            if e.tag == "IPAffinity":
                if current is not None:
                    out.append(Affinity(f, current[0], tuple(current[1])))
                current = (e.get("name") or "(no name)", [])
            elif e.tag == "IP" and current is not None and e.parent in ("IPAffinity", None):
                extra = ", ".join(
                    f"{k} {v}" for k, v in (("heloHost", e.get("heloHost")), ("publicId", e.get("publicId"))) if v
                )
                current[1].append(f"{e.get('address') or '?'}" + (f" ({extra})" if extra else ""))
        if current is not None:
            out.append(Affinity(f, current[0], tuple(current[1])))
    return out


def declared(facts: HostFacts, instance: str | None) -> list[Affinity]:
    return affinities(facts.config, config_files("instance", instance))


class IpAffinityCheck(ModuleCheck):
    name = "ip_affinity"
    order = 90

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        if not facts.config.files:
            return  # the process check already says the configuration could not be read
        files = " / ".join(config_files("instance", instance))
        unread = [f for f in config_files("instance", instance) if f in facts.config.unreadable]
        if unread:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "unknown",
                f"cannot tell the IP affinities declared for {instance}: the bot cannot read {', '.join(unread)}",
                (),
                ("cannot_tell",),
                needs=f"read access to conf/{unread[0]} for the bot's user (only allow-listed tags leave the host)",
            )
            return
        found = declared(facts, instance)
        if not found:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"no IP affinity declared in {files}: a delivery that uses an affinity stays Pending on this instance",
                (),
            )
            return
        names = ", ".join(f"{a.name} ({len(a.ips)} IP{'s' if len(a.ips) != 1 else ''}, {a.file})" for a in found)
        ev = [f"{a.name} [{a.file}]: {ip}" for a in found for ip in (a.ips or ("no IP",))]
        where = "serverConf.xml only" if all(a.file == SERVER_CONF for a in found) else files
        yield finding(
            ctx,
            module,
            instance,
            self.name,
            "ok",
            f"IP affinities declared ({where}): {names}; a delivery using any other affinity stays Pending here",
            ev,
        )


CHECK = IpAffinityCheck()
