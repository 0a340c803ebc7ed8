"""Shared wording of the Campaign API checks (not a check itself: the registry skips `_` modules)."""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from bot.campaign_api.facts import ApiFacts, Outcome
from bot.checks.base import ApiCheck, api_finding
from bot.inventory import Environment
from bot.kb.models import Module
from bot.models import Finding, Status

XSV_RE = re.compile(r"\bXSV-35\d{4}\b")


def age_text(seconds: float) -> str:
    """`42 min`, `5.5 h`, `3.2 days`."""
    if seconds < 5400:
        return f"{max(0, round(seconds / 60))} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def when(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def problem_text(o: Outcome[Any]) -> str:
    """Why a fact could not be read, in one phrase."""
    return o.problem or "no answer"


def read_needs(schema: str, login: str | None) -> str:
    who = f"operator {login}" if login else "the session's operator"
    return f"read access for {who} to {schema} through the API (a queryDef on {schema} was refused)"


def page_failure(o: Outcome[Any]) -> tuple[Status, str | None]:
    """(status, needs) for a monitoring page that could not be read. Only a request sent that got no
    answer at all (refused, reset, timed out) is a real failure; a refused session (XSV-35000x), a TLS
    failure, a deadline that left no time, a reply that is not the page (too large: a front or a proxy
    answering?), or anything else is "cannot tell", never a reason to restart."""
    if o.code and XSV_RE.match(o.code):
        return "unknown", "an operator session the page accepts (a trusted-IP / sessionTokenOnly security zone)"
    if o.kind in ("unreachable", "timeout"):
        return "fail", None
    if o.kind == "bad_reply":
        return "unknown", "the page's own answer at campaign_api.url (what answered is not it: a front or a proxy?)"
    if o.kind == "no_time":
        return "unknown", "time left in the run for Campaign's API (the deadline passed before the page was read)"
    if o.kind == "tls":
        return "unknown", "TLS with the application server that the bot trusts (campaign_api.tls_verify, the CA)"
    return "unknown", "Campaign's API to answer the page with the operator's session"


def fail_text(url: str, o: Outcome[Any]) -> str:
    """The summary of a page that got no answer."""
    if o.kind == "timeout":
        return f"{url} did not answer in time: {problem_text(o)}"
    return f"{url} does not answer: {problem_text(o)}"


def unknown_text(what: str, o: Outcome[Any]) -> str:
    if o.kind == "bad_reply":
        return f"cannot tell {what}: the server answered, but not with the page: {problem_text(o)}"
    if o.kind == "no_time":
        return f"cannot tell {what} (no time left): {problem_text(o)}"
    return f"cannot tell {what}: {problem_text(o)}"


NOT_READ: tuple[Status, str | None] = ("unknown", "Campaign's API to answer")


class PageCheck(ApiCheck):
    """A monitoring page (ping.jsp, monitor.jsp) fetched with the operator's session.

    Every such check says the same when it cannot read its page (the application server does not
    answer: a `fail`; no API or a refused session: "cannot tell"), so that is said here once;
    subclasses name the page's outcome in the facts (`outcome`) and read the page (`read_page`).
    """

    page: ClassVar[str]
    access_evidence: ClassVar[bool] = False  # show soaprouter's error as evidence when the server is down

    @abc.abstractmethod
    def outcome(self, facts: ApiFacts) -> Outcome[Any] | None:
        """The page's outcome in the facts (`facts.ping`, `facts.monitor`)."""

    @abc.abstractmethod
    def read_page(self, env: Environment, m: Module, url: str, page: Any) -> Iterable[Finding]:
        """Findings from the page that was read at `url`."""

    def evaluate_api(self, env: Environment, modules: Sequence[Module], facts: ApiFacts | None) -> Iterable[Finding]:
        for m in modules:
            yield from self._one(env, m, facts)

    def _one(self, env: Environment, m: Module, facts: ApiFacts | None) -> Iterable[Finding]:
        if facts is not None and not facts.access.ok and facts.access.server_down:
            evidence = (f"{facts.url}/nl/jsp/soaprouter.jsp: {facts.access.message}",) if self.access_evidence else ()
            how = "did not answer in time" if facts.access.kind == "timeout" else "does not answer"
            yield api_finding(
                env,
                m,
                self.name,
                "fail",
                f"{facts.url}{self.page} cannot be reached: the application server {how} ({facts.access.message})",
                evidence,
                ("health_failed",),
            )
            return
        blind = self.cannot_see(env, [m], facts)
        if blind is not None or facts is None:
            yield from blind or ()
            return
        url = facts.url + self.page
        o = self.outcome(facts)
        if o is None or o.value is None:
            status, needs = page_failure(o) if o is not None else NOT_READ
            if o is None:
                summary = f"cannot tell {self.what}: not read"
            else:
                summary = fail_text(url, o) if status == "fail" else unknown_text(self.what, o)
            yield api_finding(
                env,
                m,
                self.name,
                status,
                summary,
                (),
                ("health_failed",) if status == "fail" else ("cannot_tell",),
                needs=needs,
            )
            return
        page = o.value
        if 300 <= page.status < 400:  # never followed: the session would travel to the redirect's target
            where = page.location or "(no Location header)"
            yield api_finding(
                env,
                m,
                self.name,
                "unknown",
                f"cannot tell {self.what}: {self.page.rsplit('/', 1)[-1]} redirects to {where} "
                "(front or security zone configuration)",
                [f"{url}: HTTP {page.status}, Location {where}"],
                ("cannot_tell",),
                needs=f"{self.page} answered at campaign_api.url itself, without a redirect (the front's rewrite "
                "rules, the security zone, or campaign_api.url pointing at the wrong address)",
            )
            return
        yield from self.read_page(env, m, url, page)
