"""`/nl/jsp/monitor.jsp`: the instance's monitoring page, fetched with the operator's session.

Adobe describes it (CC:production/using/monitoring-processes.md, screenshot ncs_monitoring_web.png):
"Server monitoring for the instance <name>", then a Summary listing problems in red, such as
`Workflow failed: <label> (<internal name>) (<instance>)`. Its exact HTML is not published
(UNCONFIRMED): the bot reads the page's text, reports the summary lines it recognises ("… failed:",
"… error:"), and never judges the workflows from this page alone (api_workflows reads xtk:workflow).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

from bot.campaign_api.facts import MONITOR, ApiFacts, Outcome
from bot.checks._api import XSV_RE, PageCheck
from bot.checks.base import api_finding
from bot.inventory import Environment
from bot.kb.models import Module
from bot.models import Finding
from bot.redact import redact_and_clip

_PROBLEM_RE = re.compile(r"(?i)\b(failed|error|missing|stopped)\s*:")


# Tags that end a line of text, opening or closing (the page's summary items are often inline
# <font>/<span> text between them: "<h2>Summary</h2><font>Workflow failed: …</font><br>").
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot", "thead", "title", "tr", "ul",
})  # fmt: skip
_CELL = frozenset({"td", "th"})


class _Text(HTMLParser):
    """The visible text of a page, line by line (scripts and styles left out): a line ends at each
    block tag, opening or closing; table cells of a row stay on its line, apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in _CELL:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            if self._skip:
                self._skip -= 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in _CELL:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_lines(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return [" ".join(line.split()) for line in "".join(parser.parts).splitlines() if line.strip()]


class ApiMonitorCheck(PageCheck):
    name = "api_monitor"
    order = 82
    wants = frozenset({MONITOR})
    what = "monitor.jsp (the instance's monitoring page)"
    page = "/nl/jsp/monitor.jsp"

    def outcome(self, facts: ApiFacts) -> Outcome[Any] | None:
        return facts.monitor

    def read_page(self, env: Environment, m: Module, url: str, page: Any) -> Iterable[Finding]:
        lines = page_lines(page.text[:200_000])
        if page.status != 200:
            code = XSV_RE.search(page.text[:4096])
            if code or page.status in (401, 403):
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "unknown",
                    f"cannot tell: monitor.jsp refused the operator's session ({code.group(0) if code else page.status})",
                    [f"{url}: HTTP {page.status}"],
                    ("cannot_tell",),
                    needs="an operator session monitor.jsp accepts (a trusted-IP / sessionTokenOnly security zone)",
                )
            else:
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "fail",
                    f"monitor.jsp answered HTTP {page.status}",
                    [f"{url}: HTTP {page.status}"],
                    ("health_failed",),
                )
            return
        title = next((ln for ln in lines if "monitoring" in ln.lower()), lines[0] if lines else "(empty page)")
        problems = [redact_and_clip(ln, 200) for ln in lines if _PROBLEM_RE.search(ln)]
        if problems:
            yield api_finding(
                env,
                m,
                self.name,
                "warn",
                f"monitor.jsp lists {len(problems)} problem(s): {problems[0]}",
                [*problems, "(monitor.jsp's exact layout is not published by Adobe: lines read from its text)"],
                ("monitoring_failed",),
            )
        else:
            yield api_finding(
                env,
                m,
                self.name,
                "ok",
                "monitor.jsp answers and lists no failed item",
                [
                    redact_and_clip(title, 200),
                    "(monitor.jsp's exact layout is not published by Adobe: lines read from its text)",
                ],
            )


CHECK = ApiMonitorCheck()
