"""One environment's Campaign API session for one run: log on, read what the checks want, log off.

`campaign_api_factory(knowledge)` is what the composition root hands to `Runner(api_for=...)`: it
returns an `EnvironmentApi` for environments with `campaign_api` in the inventory, None otherwise.
`EnvironmentApi.fetch` never raises for an expected failure (wrong password, missing variable,
server down, expired session, hostile reply): each becomes part of the `ApiFacts` the checks read.

Secrets are read from the environment variables the inventory names, when the API is used; they,
and every session and security token a Logon reply carries (registered as soon as it is read), are
scrubbed from every message and page text that leaves this module, for as long as the session
lives (besides bot/redact.py's patterns, which know Campaign's `___<GUID>` token shape).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal, Protocol, TypeVar

from bot.campaign_api import queries as q
from bot.campaign_api import soap
from bot.campaign_api.client import ApiRedirect, CampaignClient, HttpStatusError, PageReply, Secret
from bot.campaign_api.facts import (
    DELIVERIES,
    MONITOR,
    OTHER_WORKFLOWS,
    PING,
    RUNS,
    WORKFLOWS,
    Access,
    ApiFacts,
    Outcome,
    ProblemKind,
)
from bot.campaign_api.http import (
    MAX_REPLY_BYTES,
    ApiNoTime,
    ApiReplyTooLarge,
    ApiReplyTruncated,
    ApiTimeout,
    ApiTlsError,
    ApiUnreachable,
)
from bot.errors import CampaignApiError
from bot.inventory import CampaignApi, Environment
from bot.kb.models import CampaignApiKnowledge
from bot.redact import redact

log = logging.getLogger(__name__)

DEADLINE_FACTOR = 3.0  # the environment's calls share one deadline of 3 x campaign_api.timeout_s
T = TypeVar("T")
_XSV_RE = re.compile(r"\bXSV-35\d{4}\b")  # the session / security zone family (XSV-350008, XSV-350013)


class CampaignApiSession(Protocol):
    """What the runner needs: the facts the checks want, within a deadline (time.monotonic())."""

    def fetch(self, wanted: frozenset[str], deadline: float) -> ApiFacts: ...


ApiFactory = Callable[[Environment], "CampaignApiSession | None"]


def _kind(e: BaseException) -> tuple[ProblemKind, str | None, int | None]:
    if isinstance(e, soap.SoapFault):
        return "fault", e.code, None
    if isinstance(e, HttpStatusError):
        return "http", e.code, e.status
    if isinstance(e, ApiRedirect):
        return "redirect", None, e.status
    if isinstance(e, ApiNoTime):  # before ApiTimeout: the deadline, not the server, ended it
        return "no_time", None, None
    if isinstance(e, ApiTimeout):
        return "timeout", None, None
    if isinstance(e, ApiTlsError):
        return "tls", None, None
    if isinstance(e, ApiUnreachable):
        return "unreachable", None, None
    if isinstance(e, (soap.BadReply, ApiReplyTooLarge, ApiReplyTruncated)):
        return "bad_reply", None, None
    return "error", None, None


def tls_needs(url: str, verify: bool) -> str:
    if verify:
        return (
            f"a certificate the bot trusts for {url}: its CA in the bot's trust store (SSL_CERT_FILE), "
            "or campaign_api.tls_verify: false if that is a choice"
        )
    return f"TLS with {url}: check campaign_api.url (https:// on the application server's TLS port) and tls_verify"


class EnvironmentApi:
    """The Campaign API of one environment (`campaign_api` in the inventory)."""

    def __init__(
        self,
        env: Environment,
        config: CampaignApi,
        knowledge: CampaignApiKnowledge,
        environ: Mapping[str, str] | None = None,
        max_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        self.env = env
        self.config = config
        self.knowledge = knowledge
        self.environ = environ if environ is not None else os.environ
        self.max_bytes = max_bytes
        self._secrets: list[str] = []

    # -- secrets ---------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for s in self._secrets:
            if s:
                text = text.replace(s, "[REDACTED]")
        return redact(text)

    def _secret(self, var: str) -> Secret | None:
        value = self.environ.get(var, "")
        if not value:
            return None
        self._secrets.append(value)
        return Secret(value)

    # -- the run ---------------------------------------------------------------------------------

    def fetch(self, wanted: frozenset[str], deadline: float) -> ApiFacts:
        """The facts `wanted`, within `deadline` and 3 x `timeout_s`. Never raises: an unexpected error
        becomes an `error` access, logged by type only (its message could carry a token)."""
        try:
            return self._fetch(wanted, deadline)
        except Exception as e:
            log.error("Campaign API of %s: unexpected %s", self.env.name, type(e).__name__)
            return ApiFacts(
                url=self.config.url,
                knowledge=self.knowledge,
                access=Access("error", f"internal error while reading the API ({type(e).__name__})"),
                now=datetime.now(timezone.utc),
            )

    def _fetch(self, wanted: frozenset[str], deadline: float) -> ApiFacts:
        start = time.monotonic()
        deadline = min(deadline, start + DEADLINE_FACTOR * self.config.timeout_s)
        calls: list[str] = []
        client = CampaignClient(
            self.config.url,
            timeout_s=self.config.timeout_s,
            deadline=deadline,
            tls_verify=self.config.tls_verify,
            max_bytes=self.max_bytes,
            on_call=calls.append,
            on_secret=self._secrets.append,  # tokens received at Logon: scrubbed like the password
        )
        mode: Literal["password", "token"] = "token" if self.config.session_token_env else "password"
        access = self._open(client)
        now = datetime.now(timezone.utc)
        result: dict[str, object] = {}
        try:
            if access.ok:
                order = (PING, WORKFLOWS, RUNS, OTHER_WORKFLOWS, DELIVERIES, MONITOR)
                needed = {
                    *wanted,
                    *((WORKFLOWS,) if RUNS in wanted else ()),
                    *((OTHER_WORKFLOWS,) if WORKFLOWS in wanted else ()),
                }
                for name in (n for n in order if n in needed):
                    if name == RUNS:
                        result[RUNS] = self._runs(client, result[WORKFLOWS])  # type: ignore[arg-type]
                        continue
                    outcome = self._read(client, name)
                    stop = self._token_stop(outcome, first=not result)
                    if stop is not None:  # every other read would meet the same refusal
                        access, result = stop, {}
                        break
                    result[name] = outcome
                    if name == PING:
                        now = self._ping_time(outcome) or q.parse_date(client.server_date) or now
        finally:
            self._close(client)
        return ApiFacts(
            url=self.config.url,
            knowledge=self.knowledge,
            access=Access(access.kind, access.message, access.needs, access.code, mode),
            now=now,
            workflows=result.get(WORKFLOWS),  # type: ignore[arg-type]
            other_workflows=result.get(OTHER_WORKFLOWS),  # type: ignore[arg-type]
            runs=result.get(RUNS, {}),  # type: ignore[arg-type]
            deliveries=result.get(DELIVERIES),  # type: ignore[arg-type]
            ping=result.get(PING),  # type: ignore[arg-type]
            monitor=result.get(MONITOR),  # type: ignore[arg-type]
            calls=tuple(calls),
            duration_ms=int((time.monotonic() - start) * 1000),
        )

    def _open(self, client: CampaignClient) -> Access:
        """Log on (or take the configured token). Expected failures become an `Access` that says why."""
        cfg = self.config
        if cfg.session_token_env:
            token = self._secret(cfg.session_token_env)
            if token is None:
                return Access(
                    "no_secret",
                    f"the environment variable {cfg.session_token_env} (campaign_api.session_token_env) is not set",
                    needs=f"the session token in the environment variable {cfg.session_token_env}",
                    mode="token",
                )
            try:
                client.use_session_token(token)
            except CampaignApiError as e:
                return Access(
                    "error",
                    f"the session token in {cfg.session_token_env} cannot be used: {e}",
                    needs=f"a valid session token in the environment variable {cfg.session_token_env}",
                    mode="token",
                )
            return Access("ok", mode="token")
        assert cfg.password_env is not None and cfg.login is not None  # guaranteed by the inventory model
        password = self._secret(cfg.password_env)
        if password is None:
            return Access(
                "no_secret",
                f"the environment variable {cfg.password_env} (campaign_api.password_env) is not set",
                needs=f"the password of operator {cfg.login} in the environment variable {cfg.password_env}",
            )
        try:
            client.logon(cfg.login, password)
        except CampaignApiError as e:
            return self._logon_failed(e)
        return Access("ok")

    def _logon_failed(self, e: CampaignApiError) -> Access:
        """Why a Logon failed, as an Access: a refusal (SOAP fault, HTTP 401/403, an XSV code) says what to
        check; only no answer at all is the server being down (`Access.server_down`)."""
        cfg = self.config
        kind, code, status = _kind(e)
        message = self._scrub(str(e))
        zone = (
            "; XSV-350013: the bot's address is not in a security zone that allows it (serverConf.xml)"
            if code == "XSV-350013"
            else ""
        )
        refused_needs = (
            f"a logon the server accepts: check operator {cfg.login} (its rights to log on through the API), "
            f"its password in {cfg.password_env} and the security zone the bot connects from{zone}"
        )
        if kind == "fault":
            return Access("refused", f"logon refused for operator {cfg.login}: {message}", refused_needs, code)
        if kind == "http" and (status in (401, 403) or (code is not None and _XSV_RE.match(code))):
            return Access("refused", f"logon refused for operator {cfg.login}: {message}", refused_needs, code)
        if kind == "http":
            needs = (
                f"campaign_api.url to be the application server ({message})"
                if status == 404
                else f"the application server to answer soaprouter.jsp ({message}: check the web module and the front)"
            )
            return Access("http", message, needs, code)
        if kind in ("tls", "redirect"):
            return self._transport_access(kind, message, isinstance(e, ApiTlsError) and e.verify)
        if kind == "no_time":
            return Access("no_time", message, "time left in the run for Campaign's API (the deadline passed first)")
        if kind in ("timeout", "unreachable", "bad_reply"):
            return Access(kind, message, code=code)
        return Access("error", message, code=code)

    def _read(self, client: CampaignClient, name: str) -> Outcome[Any]:
        """One fact (all but RUNS), retried once after an expired session; pages come back scrubbed."""
        if name == PING:
            return self._page_outcome(self._retry(client, lambda: client.page("/nl/jsp/ping.jsp")))
        if name == MONITOR:
            return self._page_outcome(self._retry(client, lambda: client.page("/nl/jsp/monitor.jsp")))
        if name == WORKFLOWS:
            k = self.knowledge
            return self._retry(client, lambda: q.workflow_rows(client.query(q.technical_workflows_query(k))))
        if name == OTHER_WORKFLOWS:
            k = self.knowledge
            return self._retry(client, lambda: q.other_workflows(client.query(q.other_workflows_query(k)), k))
        if name == DELIVERIES:
            return self._retry(client, lambda: q.delivery_rows(client.query(q.deliveries_query(self.knowledge))))
        raise ValueError(name)

    def _transport_access(self, kind: Literal["tls", "redirect"], message: str, verify: bool) -> Access:
        """A TLS failure or a redirect of soaprouter.jsp: the same for every call, whatever it asks."""
        mode: Literal["password", "token"] = "token" if self.config.session_token_env else "password"
        if kind == "tls":
            return Access("tls", message, tls_needs(self.config.url, verify), mode=mode)
        return Access(
            "redirect",
            message,
            f"campaign_api.url pointing at the application server itself ({message}: "
            "the front's or the security zone's configuration)",
            mode=mode,
        )

    def _token_stop(self, o: Outcome[Any], first: bool) -> Access | None:
        """With a configured session token there is no Logon: the first read is where the server refuses
        the token (XSV-350008 even after the variable was read again, another XSV-35xxxx code, HTTP 401 or
        403), or where a TLS failure or a redirect shows, which every other read would meet the same way."""
        var = self.config.session_token_env
        if not var or o.ok:
            return None
        xsv = o.code is not None and _XSV_RE.match(o.code) is not None
        if (o.kind == "fault" and xsv) or (first and o.kind == "http" and (xsv or o.status in (401, 403))):
            return Access(
                "refused",
                f"logon refused: the session token in {var} was refused ({o.problem})",
                needs=f"a session token the server accepts in the environment variable {var} (it has expired, "
                "or the trusted-IP / sessionTokenOnly security zone does not cover the bot's address)",
                code=o.code,
                mode="token",
            )
        if first and o.kind in ("tls", "redirect"):
            problem = o.problem or ""
            return self._transport_access(o.kind, problem, "not trusted" in problem)
        return None

    def _relogon(self, client: CampaignClient) -> bool:
        """After XSV-350008: log on again (password), or re-read the token variable (it may have been renewed)."""
        cfg = self.config
        try:
            if cfg.session_token_env:
                token = self._secret(cfg.session_token_env)
                if token is None:
                    return False
                client.use_session_token(token)
                return True
            assert cfg.login is not None and cfg.password_env is not None
            password = self._secret(cfg.password_env)
            if password is None:
                return False
            client.logon(cfg.login, password)
            return True
        except CampaignApiError:
            return False

    def _retry(self, client: CampaignClient, read: Callable[[], T]) -> Outcome[T]:
        """Run one read; on an expired session log on again and retry it once."""
        for attempt in (1, 2):
            try:
                return Outcome(value=read())
            except soap.SessionExpired as e:
                if attempt == 1 and self._relogon(client):
                    continue
                return Outcome(kind="fault", problem=self._scrub(str(e)), code=e.code)
            except CampaignApiError as e:
                kind, code, status = _kind(e)
                return Outcome(kind=kind, problem=self._scrub(str(e)), code=code, status=status)
        raise AssertionError("unreachable")  # pragma: no cover

    def _page_outcome(self, o: Outcome[PageReply]) -> Outcome[PageReply]:
        if o.value is None:
            return o
        page = o.value
        return Outcome(
            value=PageReply(page.path, page.status, self._scrub(page.text[:200_000]), self._scrub(page.location))
        )

    @staticmethod
    def _ping_time(o: Outcome[PageReply]) -> datetime | None:
        """ping.jsp's second line is the database's clock (SDK:src/client.js `ping`)."""
        if o.value is None or o.value.status != 200:
            return None
        lines = o.value.text.splitlines()
        return q.parse_date(lines[1]) if len(lines) > 1 else None

    def _runs(
        self, client: CampaignClient, wf: Outcome[tuple[q.WorkflowRow, ...]]
    ) -> dict[str, Outcome[datetime | None]]:
        """The newest journal line of each technical workflow that has a period to check."""
        out: dict[str, Outcome[datetime | None]] = {}
        for t in self.knowledge.technical_workflows:
            if t.late_after_s is None:
                continue
            if wf.value is None:
                out[t.name] = Outcome(kind=wf.kind, problem=wf.problem, code=wf.code)
                continue
            row = next((r for r in wf.value if r.internal_name == t.name), None)
            if row is None or row.id is None:
                out[t.name] = Outcome(kind="bad_reply", problem=f"workflow {t.name!r} is not in the database")
                continue
            out[t.name] = self._retry(client, self._journal_reader(client, row.id))
        return out

    def _journal_reader(self, client: CampaignClient, workflow_id: int) -> Callable[[], datetime | None]:
        def read() -> datetime | None:
            answer = client.query(q.journal_query(self.knowledge, workflow_id))
            return q.journal_date(answer, self.knowledge.journal.date_attribute)

        return read

    def _close(self, client: CampaignClient) -> None:
        if not client.logged_on:
            return
        if time.monotonic() >= client.deadline - 0.1:
            client.forget()  # no time left: the server ends the session by itself (sessionTimeOut)
            return
        try:
            client.logoff()
        except CampaignApiError as e:
            log.info("Campaign API logoff on %s failed: %s", self.env.name, self._scrub(str(e)))


def campaign_api_factory(
    knowledge: CampaignApiKnowledge, environ: Mapping[str, str] | None = None
) -> Callable[[Environment], EnvironmentApi | None]:
    """`api_for` for the Runner: an EnvironmentApi where the inventory configures `campaign_api`."""

    def api_for(env: Environment) -> EnvironmentApi | None:
        if env.campaign_api is None:
            return None
        return EnvironmentApi(env, env.campaign_api, knowledge, environ)

    return api_for
