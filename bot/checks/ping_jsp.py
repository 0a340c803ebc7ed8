"""`/nl/jsp/ping.jsp`: web -> Tomcat -> database round trip (needs a monitoring session token)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section


class PingJspCheck(ModuleCheck):
    name = "ping_jsp"
    order = 80
    host_fact = True

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        yield s.http_get("http:ping", ctx.host.tomcat_port, "/nl/jsp/ping.jsp")

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        sec = facts.sections.get("http:ping")
        if sec is None or not facts.runs_web():
            return
        url = f"http://localhost:{ctx.host.tomcat_port}/nl/jsp/ping.jsp"
        if "not found" in sec.text and "curl" in sec.text and "@@HTTP" not in sec.text:
            yield finding(
                ctx,
                module,
                None,
                self.name,
                "unknown",
                f"cannot fetch {url}: curl is not installed on the host",
                (),
                ("cannot_tell",),
                needs="curl on the host",
            )
            return
        ans = p.parse_http(sec.text)
        if ans.status is None:
            yield finding(
                ctx, module, None, self.name, "fail", f"{url} does not answer", [ans.error or ""], ("health_failed",)
            )
            return
        line = ans.body.strip().replace("\n", " | ")[:200] or "(empty body)"
        if ans.status == 200 and p.ping_ok(ans.body):
            yield finding(ctx, module, None, self.name, "ok", "ping.jsp answers OK (web -> Tomcat -> database)", [line])
        elif ans.status in (401, 403):
            yield finding(
                ctx,
                module,
                None,
                self.name,
                "unknown",
                f"cannot tell: ping.jsp answered HTTP {ans.status}; it needs a monitoring session token",
                [line],
                ("cannot_tell",),
                needs="a monitoring operator's session (campaign_api in the inventory)",
            )
        else:
            yield finding(
                ctx,
                module,
                None,
                self.name,
                "fail",
                f"ping.jsp answered HTTP {ans.status} without OK",
                [line],
                ("health_failed",),
            )


CHECK = PingJspCheck()
