"""`/r/test`: the redirection (tracking) module answers `<redir status='OK' .../>`."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section


class RedirTestCheck(ModuleCheck):
    name = "redir_test"
    order = 70
    host_fact = True

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        yield s.http_url_get("http:redir", ctx.host.front_url, "/r/test")

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        sec = facts.sections.get("http:redir")
        if sec is None or not facts.runs_web():
            return
        url = f"{ctx.host.front_url}/r/test"
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
        ok, attrs = p.redir_test_ok(ans.body)
        line = ans.body.strip().splitlines()[0][:300] if ans.body.strip() else f"HTTP {ans.status}, empty body"
        if ans.status == 200 and ok:
            build = f" (build {attrs['build']})" if "build" in attrs else ""
            yield finding(ctx, module, None, self.name, "ok", f"/r/test answers status OK{build}", [line])
        else:
            yield finding(
                ctx,
                module,
                None,
                self.name,
                "fail",
                f"{url} answered HTTP {ans.status} without <redir status='OK'>",
                [line],
                ("health_failed",),
            )


CHECK = RedirTestCheck()
