"""`/r/test` at the host's front URL: the redirection (tracking) module answers `<redir status='OK' .../>`.

`/r/test` is served by the web server front (Apache module / IIS filter), at the address users'
tracked links use, often HTTPS, often behind a redirect or a load balancer; Tomcat's 8080 does not
serve it (domain reference section 4.1 and section 9, fact 2). The probe fetches
`<front_url>/r/test` on the host (`front_url` per host or in `defaults`, default `http://localhost`),
following redirects, and tells apart:

- `<redir status='OK' .../>` at the end of the redirects (to `/r/test/`, a path prefix, HTTPS): ok;
- a reply from the front itself (its host) without `<redir status='OK'`: the one failure (`redir_failed`);
- a redirect to another host that answers without it (a 404 there): a warning naming where it went,
  never a failure of the front, nor a reason to restart its web server;
- TLS errors, redirect loops, a redirect away from /r/test, connection refused, timeouts, unknown
  host names: different findings (warnings), because the front URL or the front itself is wrong, not
  the redirection module;
- nothing listening at the default `http://localhost`: "cannot tell" (many app servers have no
  front of their own), with what is needed: the front URL.

Reported under the web module, whose redirection module serves it, whichever module asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.checks.ping_jsp import http_timeout
from bot.kb.models import Condition, Module
from bot.models import Finding, Status
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section
from bot.redact import redact, redact_and_clip

NEEDS_FRONT = "the front URL that serves /r/test for this host (front_url in the inventory), reachable from the host"


def _under_web(f: Finding) -> Finding:
    """/r/test is reported under web (its redirection module serves it), whichever module asked."""
    return f.model_copy(update={"module": "web", "instance": None})


class RedirTestCheck(ModuleCheck):
    name = "redir_test"
    order = 70
    host_fact = True

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        yield s.http_fetch("http:redir", ctx.host.front_url, "/r/test", follow=True, timeout_s=http_timeout(ctx))

    def applies_to(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> bool:
        return facts.runs_web() or facts.runs("trackinglogd") or ctx.front_url_configured

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        sec = facts.sections.get("http:redir")
        if sec is None:
            return
        for f in self._judge(ctx, facts, module, sec):
            yield _under_web(f)

    def unfinished_finding(
        self, ctx: HostContext, facts: HostFacts, module: Module | None, instance: str | None, pending: list[Section]
    ) -> Finding:
        return _under_web(super().unfinished_finding(ctx, facts, module, instance, pending))

    def _judge(self, ctx: HostContext, facts: HostFacts, module: Module, sec: p.SectionOutput) -> Iterable[Finding]:
        url = f"{ctx.host.front_url}/r/test"
        ans = p.parse_http(sec.text, sec.exit_code)

        def out(
            status: Status, summary: str, ev: list[str], conds: tuple[Condition, ...], needs: str | None = None
        ) -> Finding:
            return finding(ctx, module, None, self.name, status, summary, ev, conds, needs=needs)

        after = f" (after {ans.redirects} redirect(s), at {ans.url})" if ans.redirects else ""
        failure = ans.failure
        if failure == "no_curl":
            yield out(
                "unknown",
                f"cannot fetch {url}: curl is not installed on {ctx.host.name}",
                [],
                ("cannot_tell",),
                "curl on the host",
            )
            return
        if failure is not None:
            yield self._no_reply(ctx, ans, url, after, failure, out)
            return
        if ans.status is None:
            yield out(
                "unknown",
                f"cannot tell /r/test: no answer from {url}",
                [ans.error or ""],
                ("cannot_tell",),
                NEEDS_FRONT,
            )
            return
        final = urlsplit(ans.url) if ans.url else urlsplit(url)
        ok, attrs = p.redir_test_ok(ans.body)
        line = (
            redact_and_clip(redact(ans.body).strip().splitlines()[0], 300)
            if ans.body.strip()
            else f"HTTP {ans.status}, empty body"
        )
        if ok and ans.status < 400:
            # The redirection module answered, wherever the redirects led (/r/test/, a path prefix, HTTPS).
            build = f" (build {attrs['build']})" if "build" in attrs else ""
            yield out("ok", f"/r/test answers status OK{build} at {url}{after}", [line], ())
            return
        front_host = (urlsplit(url).hostname or "").lower()
        if ans.redirects and (final.hostname or "").lower() != front_host:
            # Another host answered: not the front's own reply, so not its redirection module failing.
            yield out(
                "warn",
                f"{url} redirects to another host, {ans.url} (after {ans.redirects} redirect(s)), which answered HTTP "
                f"{ans.status} without <redir status='OK'>: not the front's own answer; check where the front (or a "
                "load balancer) sends /r/test, and that front_url is the address tracked links use",
                [line],
                ("front_redirect",),
            )
            return
        if ans.redirects and not final.path.rstrip("/").endswith("/r/test"):
            yield out(
                "warn",
                f"{url} redirects away from /r/test, to {ans.url} (HTTP {ans.status}): the redirection module did not "
                "answer; the front (or a load balancer) sends /r/test elsewhere",
                [line],
                ("front_redirect",),
            )
            return
        yield out(
            "fail",
            f"{url} answered HTTP {ans.status} without <redir status='OK'>{after}: the front answers, but its "
            "redirection module (Apache module or IIS filter) does not serve /r/test",
            [line],
            ("redir_failed",),
        )

    def _no_reply(
        self, ctx: HostContext, ans: p.HttpAnswer, url: str, after: str, failure: str, out: Callable[..., Finding]
    ) -> Finding:
        err = [ans.error] if ans.error else []
        host = urlsplit(url).hostname or url
        if failure == "tls":
            return out(
                "warn",
                f"TLS error fetching {url}{after} from {ctx.host.name}: the front's certificate or TLS setup is refused "
                "(an expired or wrong-name certificate also breaks users' tracked links)",
                err,
                ("tls_error",),
            )
        if failure == "redirects":
            return out(
                "warn",
                f"{url} redirects in a loop (more than {s.MAX_REDIRECTS} redirects, last at {ans.url or '?'})",
                err,
                ("redirect_loop",),
            )
        if failure == "refused" and not ctx.front_url_configured:
            return out(
                "unknown",
                f"cannot tell /r/test: nothing answers at the default front URL {ctx.host.front_url} on {ctx.host.name}"
                " (the front that serves tracked links may be elsewhere)",
                err,
                ("cannot_tell",),
                NEEDS_FRONT,
            )
        what = {
            "refused": f"nothing listens at {url}{after}: connection refused (is the web server front running?)",
            "timeout": f"{url}{after} did not answer within {http_timeout(ctx):g} s",
            "dns": f"{host} cannot be resolved from {ctx.host.name}",
            "empty": f"{url}{after} closed the connection without a reply",
            "network": f"the connection to {url}{after} broke before a reply",
            "too_big": f"{url}{after} answered more than {s.HTTP_MAX_BYTES} bytes: not /r/test's answer",
        }.get(failure, f"{url}{after} could not be fetched (curl exit {ans.exit_code})")
        return out("warn", what, err, ("front_unreachable",))


CHECK = RedirTestCheck()
