"""`/nl/jsp/ping.jsp` on the host itself, without a session: what the SSH side can honestly say.

ping.jsp and monitor.jsp answer only to a valid session token (a "monitoring" operator behind a
trusted-IP / sessionTokenOnly zone); without one Campaign answers an HTTP error whose body carries
`XSV-350008`, and `XSV-350013` for a refused security zone (codes seen in Adobe's JS SDK,
`SDK:src/soap.js`, `SDK:test/client.test.js`; domain reference section 9, fact 1). Over SSH the bot
has no session, so anything but `OK` is "cannot tell" (never a failure of web, never a reason to
restart anything), and it says a token is needed.

When the environment has `campaign_api`, the bot fetches ping.jsp itself with the operator's
session (the `api_ping` check); this check then stays silent rather than say less.
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
from bot.redact import redact_and_clip

NEEDS_SESSION = "a monitoring session token (campaign_api in the inventory)"


def http_timeout(ctx: HostContext) -> float:
    """Per health URL: at most 5 s, and at most a quarter of the host's command budget."""
    return max(1.0, min(5.0, ctx.host.command_timeout_s / 4))


class PingJspCheck(ModuleCheck):
    name = "ping_jsp"
    order = 80
    host_fact = True

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        if ctx.env.campaign_api is None:
            yield s.http_fetch(
                "http:ping", f"http://localhost:{ctx.host.tomcat_port}", "/nl/jsp/ping.jsp", timeout_s=http_timeout(ctx)
            )

    def applies_to(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> bool:
        return ctx.env.campaign_api is None and facts.runs_web()

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        sec = facts.sections.get("http:ping")
        if sec is None:
            return
        url = f"http://localhost:{ctx.host.tomcat_port}/nl/jsp/ping.jsp"
        ans = p.parse_http(sec.text, sec.exit_code)
        if ans.failure == "no_curl":
            yield finding(
                ctx,
                module,
                None,
                self.name,
                "unknown",
                f"cannot tell ping.jsp: curl is not installed on {ctx.host.name}",
                (),
                ("cannot_tell",),
                needs=f"curl on the host, or {NEEDS_SESSION}",
            )
            return
        body = redact_and_clip(ans.body.strip().replace("\n", " | "), 200)
        if ans.status == 200 and p.ping_ok(ans.body):
            yield finding(ctx, module, None, self.name, "ok", "ping.jsp answers OK (web -> Tomcat -> database)", [body])
            return
        if ans.failure in ("refused", "timeout", "dns", "empty", "network"):
            # No HTTP answer at all: no session would change that. Say where nothing answered.
            port = ctx.host.tomcat_port
            conf = facts.setting("web", "httpPort", "server", None)
            hint = f"; the configuration says httpPort {conf[0]} ({conf[1]})" if conf and conf[0] != str(port) else ""
            what = {
                "refused": f"nothing listens on localhost:{port} (connection refused)",
                "timeout": f"localhost:{port} did not answer in time",
            }.get(ans.failure or "", f"no HTTP answer from localhost:{port} ({ans.error or ans.failure})")
            yield finding(
                ctx,
                module,
                None,
                self.name,
                "unknown",
                f"cannot tell ping.jsp (web -> Tomcat -> database): {what}: web is down there or tomcat_port is not "
                f"its Tomcat port{hint}",
                [f"{url}: {ans.error or 'no answer'}"],
                ("cannot_tell",),
                needs=f"Tomcat listening where the bot fetches ping.jsp: the right tomcat_port for {ctx.host.name} in "
                f"the inventory (now {port}), with web@default running",
            )
            return
        code = p.xsv_code(ans.body)
        if code is not None:
            meaning = {"XSV-350008": "session expired or invalid", "XSV-350013": "security zone refused"}.get(
                code, "session refused"
            )
            why = (
                f"ping.jsp answered {code} ({meaning}): it needs an operator's session, which the bot has not over SSH"
            )
        elif ans.status is not None:
            why = f"ping.jsp answered HTTP {ans.status} without OK, to a request without a session"
        else:
            why = f"ping.jsp did not answer on {ctx.host.name} ({ans.error or 'no answer'})"
        yield finding(
            ctx,
            module,
            None,
            self.name,
            "unknown",
            f"cannot tell ping.jsp (web -> Tomcat -> database): {why}",
            [f"{url}: {body or ans.error or 'no body'}"],
            ("cannot_tell",),
            needs=NEEDS_SESSION,
        )


CHECK = PingJspCheck()
