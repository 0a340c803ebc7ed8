"""`/nl/jsp/ping.jsp` fetched by the bot at `campaign_api.url` with the operator's session.

ping.jsp tests Apache -> Tomcat -> web module -> database and answers `OK` (or `Ok`) and the
database's clock on a second line (CC:production/using/monitoring-processes.md, SDK:src/client.js
`ping`, SDK:test/mock.js). It needs an operator session; without one Campaign answers an error
carrying XSV-350008 (domain reference section 9, fact 1). So: no `campaign_api`, or a session the
page refuses, is "cannot tell"; a server that does not answer, or answers without OK, is a failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.campaign_api.facts import PING, ApiFacts, Outcome
from bot.checks._api import XSV_RE, PageCheck
from bot.checks.base import api_finding
from bot.inventory import Environment
from bot.kb.models import Module
from bot.models import Finding
from bot.redact import redact_and_clip


class ApiPingCheck(PageCheck):
    name = "api_ping"
    order = 81
    wants = frozenset({PING})
    what = "ping.jsp (web -> Tomcat -> database)"
    page = "/nl/jsp/ping.jsp"
    access_evidence = True

    def outcome(self, facts: ApiFacts) -> Outcome[Any] | None:
        return facts.ping

    def read_page(self, env: Environment, m: Module, url: str, page: Any) -> Iterable[Finding]:
        lines = [ln.strip() for ln in page.text.strip().splitlines()]
        first = lines[0] if lines else ""
        shown = redact_and_clip(" | ".join(lines[:2]), 200) or "(empty body)"
        if page.status == 200 and first.lower() == "ok":
            yield api_finding(
                env, m, self.name, "ok", f"ping.jsp answers {first} (web -> Tomcat -> database)", [f"{url}: {shown}"]
            )
        elif XSV_RE.search(page.text[:4096]):
            code = XSV_RE.search(page.text[:4096])
            yield api_finding(
                env,
                m,
                self.name,
                "unknown",
                f"cannot tell: ping.jsp refused the operator's session ({code.group(0) if code else 'XSV'})",
                [f"{url}: HTTP {page.status}: {shown}"],
                ("cannot_tell",),
                needs="an operator session ping.jsp accepts (a trusted-IP / sessionTokenOnly security zone)",
            )
        elif page.status in (401, 403):
            yield api_finding(
                env,
                m,
                self.name,
                "unknown",
                f"cannot tell: ping.jsp answered HTTP {page.status} to the operator's session",
                [f"{url}: {shown}"],
                ("cannot_tell",),
                needs="an operator session ping.jsp accepts (a trusted-IP / sessionTokenOnly security zone)",
            )
        else:
            yield api_finding(
                env,
                m,
                self.name,
                "fail",
                f"ping.jsp answered HTTP {page.status} without OK",
                [f"{url}: {shown}"],
                ("health_failed",),
            )


CHECK = ApiPingCheck()
