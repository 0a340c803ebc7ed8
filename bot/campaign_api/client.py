"""A small, read-only client for Campaign's SOAP API and its monitoring pages.

What it can do, and nothing else (an allow-list checked before any I/O):

- `xtk:session#Logon` (login + password) or a configured session token;
- `xtk:queryDef#ExecuteQuery` with a queryDef whose operation only reads;
- `xtk:session#Logoff`;
- GET `/nl/jsp/ping.jsp` and `/nl/jsp/monitor.jsp` with the operator's session.

Secrets (password, session token, security token) live in `Secret` objects whose repr hides them;
they are only written where Campaign requires them, as Adobe's SDK sends them
(SDK:src/soap.js `_createHTTPRequest` and `finalize`, SDK:src/client.js `_getAuthHeaders`):
the `X-Security-Token` and `X-Session-Token` headers, the `__sessiontoken` cookie, and the
SOAP header and `sessiontoken` parameter. Never in a URL, an exception message or a log line.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET  # building only: replies are parsed with defusedxml
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from bot.campaign_api import soap
from bot.campaign_api.http import MAX_REPLY_BYTES, HttpReply, exchange
from bot.errors import CampaignApiError

log = logging.getLogger(__name__)

SOAP_PATH = "/nl/jsp/soaprouter.jsp"
PAGES = frozenset({"/nl/jsp/ping.jsp", "/nl/jsp/monitor.jsp"})
USER_AGENT = "campaign-ops-bot (read-only monitoring)"


class Secret:
    """A secret string: its repr and str never show it; `reveal()` is the only way out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


_TOKEN_OK = frozenset(chr(c) for c in range(0x21, 0x7F))  # visible ASCII: safe in a header and a cookie
MAX_TOKEN = 4096


def valid_token(value: str) -> bool:
    """A token that can travel in a header and a cookie (no space, control character or ';')."""
    return 0 < len(value) <= MAX_TOKEN and ";" not in value and all(ch in _TOKEN_OK for ch in value)


class HttpStatusError(CampaignApiError):
    """An HTTP error status from the application server (without a SOAP fault to explain it)."""

    def __init__(self, where: str, status: int, code: str | None) -> None:
        self.status = status
        self.code = code
        super().__init__(f"{where} answered HTTP {status}" + (f" ({code})" if code else ""))


def redirect_target(location: str) -> str:
    """Where a redirect points, as `scheme://host/path`: no credentials, no query (it may carry anything)."""
    parts = urlsplit(location.strip())
    netloc = parts.netloc.rsplit("@", 1)[-1]
    shown = (f"{parts.scheme}://{netloc}" if netloc else "") + parts.path
    shown = "".join(ch for ch in shown if ch.isprintable() and not ch.isspace())
    return shown[:200] or "(no Location header)"


class ApiRedirect(CampaignApiError):
    """soaprouter.jsp answered a redirect (never followed: it would carry the tokens elsewhere)."""

    def __init__(self, where: str, status: int, location: str) -> None:
        self.status = status
        self.location = location
        super().__init__(f"{where} answered HTTP {status}: it redirects to {redirect_target(location)}")


@dataclass(frozen=True)
class PageReply:
    """A monitoring page as fetched (status and body text, capped; `location` of a redirect)."""

    path: str
    status: int
    text: str
    location: str = ""


CallObserver = Callable[[str], None]


class CampaignClient:
    """One environment's connection settings and, once logged on, its session.

    Args:
        url: the application server (`campaign_api.url`, no trailing slash).
        timeout_s: every call's socket timeout.
        deadline: time.monotonic() by which every call of this client must be done.
        on_call: told a short description of each request sent (for the audit log; no secret).
        on_secret: told every token a Logon reply carries, as soon as it is read (before it is checked),
            so the caller scrubs it from everything it shows for as long as it runs.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        deadline: float,
        tls_verify: bool = True,
        max_bytes: int = MAX_REPLY_BYTES,
        on_call: CallObserver | None = None,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.deadline = deadline
        self.tls_verify = tls_verify
        self.max_bytes = max_bytes
        self.on_call = on_call
        self.on_secret = on_secret
        self._session = Secret("")
        self._security = Secret("")
        self.server_date: str | None = None  # serverInfo/@serverDate of the Logon reply

    # -- session -------------------------------------------------------------------------------

    @property
    def logged_on(self) -> bool:
        return bool(self._session) or bool(self._security)

    def use_session_token(self, token: Secret) -> None:
        """A configured session token (trusted-IP / sessionTokenOnly zone): no Logon call, no security token."""
        if not valid_token(token.reveal()):
            raise soap.BadReply("it is not a valid token (spaces, control characters or ';'): it was not sent")
        self._session = token
        self._security = Secret("")

    def logon(self, login: str, password: Secret) -> None:
        """`xtk:session#Logon`; raises SoapFault when Campaign refuses it."""
        self._session = Secret("")
        self._security = Secret("")
        params = [
            soap.Param("login", text=login),
            soap.Param("password", text=password.reveal()),
            soap.Param("parameters", xml=True),  # empty, as the SDK writes it without "remember me"
        ]
        resp = self._soap("xtk:session", "Logon", params, detail=f"login {login}")
        session = soap.out_param(resp, "pstrSessionToken")
        security = soap.out_param(resp, "pstrSecurityToken")
        for received in (session, security):
            value = (received.text or "") if received is not None else ""
            if value.strip() and self.on_secret is not None:
                self.on_secret(value.strip())
                if value != value.strip():
                    self.on_secret(value)
        if session is None or not (session.text or "").strip():
            raise soap.BadReply("Logon: the reply carries no session token")
        if security is None or not (security.text or "").strip():
            raise soap.BadReply("Logon: the reply carries no security token")
        if not valid_token((session.text or "").strip()) or not valid_token((security.text or "").strip()):
            raise soap.BadReply("Logon: the reply's tokens cannot travel in a header (the bot refuses them)")
        info = soap.out_param(resp, "pSessionInfo")
        # Campaign gives the response a default namespace, inherited by the session info: match local names.
        server = (
            next((e for e in info.iter() if soap.local_name(e) == "serverInfo"), None) if info is not None else None
        )
        self.server_date = server.get("serverDate") if server is not None else None
        self._session = Secret((session.text or "").strip())
        self._security = Secret((security.text or "").strip())

    def forget(self) -> None:
        """Drop the tokens without telling the server."""
        self._session = Secret("")
        self._security = Secret("")

    def logoff(self) -> None:
        """`xtk:session#Logoff` (only after a Logon); the tokens are forgotten whatever happens."""
        try:
            if self._security:
                self._soap("xtk:session", "Logoff", [])
        finally:
            self._session = Secret("")
            self._security = Secret("")

    # -- reading -------------------------------------------------------------------------------

    def query(self, query_def: ET.Element) -> ET.Element:
        """`xtk:queryDef#ExecuteQuery`: the root element of `pdomOutput` (e.g. `<workflow-collection>`)."""
        operation = query_def.get("operation", "")
        if query_def.tag != "queryDef" or operation not in soap.READ_OPERATIONS:
            raise soap.MethodRefused(f"queryDef operation {operation!r} is not a read-only operation")
        doc = ET.Element("queryDef", dict(query_def.attrib))
        doc.extend(list(query_def))
        doc.set("xtkschema", "xtk:queryDef")
        resp = self._soap(
            "xtk:queryDef",
            "ExecuteQuery",
            [soap.Param("document", element=doc, document=True)],
            detail=query_def.get("schema", ""),
        )
        out = soap.out_param(resp, "pdomOutput")
        if out is None or len(out) == 0:
            raise soap.BadReply("ExecuteQuery: the reply has no pdomOutput document")
        # A select answers `<{name}-collection>` (SDK:test/mock.js GET_QUERY_EXECUTE_RESPONSE): any other
        # root (an error document, another schema's answer) read as a collection would be "zero rows",
        # i.e. a blind "nothing in error".
        expected = query_def.get("schema", "").split(":")[-1] + "-collection"
        if operation == "select" and soap.local_name(out[0]) != expected:
            raise soap.BadReply(
                f"ExecuteQuery: the reply holds <{soap.local_name(out[0])[:40]}>, not the <{expected}> asked for"
            )
        return out[0]

    def page(self, path: str) -> PageReply:
        """GET a monitoring page with the session (headers and cookie as the SDK sends them)."""
        if path not in PAGES:
            raise soap.MethodRefused(f"{path} is not one of the monitoring pages the bot may read")
        self._observe(f"GET {path}")
        reply = self._send("GET", path, self._auth_headers(cookie=True), None)
        text = reply.body.decode("utf-8", "replace")
        if soap.SESSION_EXPIRED_CODE in text[:4096] and reply.status != 200:
            raise soap.SessionExpired(path, soap.SESSION_EXPIRED_CODE, "session has expired or is invalid")
        return PageReply(path, reply.status, text, redirect_target(reply.location) if reply.location else "")

    # -- plumbing ------------------------------------------------------------------------------

    def _auth_headers(self, cookie: bool) -> dict[str, str]:
        headers = {
            "User-Agent": USER_AGENT,
            "X-Security-Token": self._security.reveal(),
            "X-Session-Token": self._session.reveal(),
        }
        if cookie and self._session:
            headers["Cookie"] = "__sessiontoken=" + self._session.reveal()
        return headers

    def _observe(self, what: str) -> None:
        if self.on_call is not None:
            self.on_call(what)

    def _send(self, method: str, path_and_query: str, headers: dict[str, str], body: bytes | None) -> HttpReply:
        start = time.monotonic()
        try:
            return exchange(
                method,
                self.url,
                path_and_query,
                headers,
                body,
                timeout_s=self.timeout_s,
                deadline=self.deadline,
                tls_verify=self.tls_verify,
                max_bytes=self.max_bytes,
            )
        finally:
            log.debug(
                "%s %s%s in %d ms", method, self.url, path_and_query.split("?")[0], (time.monotonic() - start) * 1000
            )

    def _soap(self, urn: str, method: str, params: list[soap.Param], detail: str = "") -> ET.Element:
        soap.check_allowed(urn, method)  # before anything is built or sent
        data = soap.envelope(urn, method, params, self._session.reveal(), self._security.reveal())
        headers = self._auth_headers(cookie=True)
        headers["Content-Type"] = "application/soap+xml"
        headers["SoapAction"] = f"{urn}#{method}"
        self._observe(f"POST {SOAP_PATH} {urn}#{method}" + (f" ({detail})" if detail else ""))
        # The SDK also names the method in the query string (soapAction=…); it carries no secret.
        reply = self._send("POST", f"{SOAP_PATH}?soapAction={quote(urn + '#' + method)}", headers, data)
        if 300 <= reply.status < 400:
            raise ApiRedirect(f"{self.url}{SOAP_PATH}", reply.status, reply.location)
        try:
            return soap.parse(reply.body, method)
        except soap.BadReply:
            if reply.status >= 400:
                text = reply.body[:4096].decode("utf-8", "replace")
                raise HttpStatusError(f"{self.url}{SOAP_PATH}", reply.status, soap.fault_code(text)) from None
            raise
