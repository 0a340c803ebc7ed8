"""A simulated Campaign application server: a real HTTP server on loopback answering the calls the
bot's Campaign API client makes, in the shapes Adobe's SDK documents (see bot/campaign_api/soap.py).

It serves `/nl/jsp/soaprouter.jsp` (xtk:session#Logon / #Logoff, xtk:queryDef#ExecuteQuery on
xtk:workflow, xtk:workflowLog and nms:delivery), `/nl/jsp/ping.jsp` and `/nl/jsp/monitor.jsp`,
with a failed technical workflow (cleanup), a paused campaign workflow and a delivery stuck in
"Start pending", so `make run` shows the API checks at work. Anything else gets the SOAP fault a
real server gives for an unknown method (SOP-330006), and every call is recorded in `calls` so
tests prove the bot only sent read-only methods.

Simulated, not real: where Adobe does not publish a value (workflow states other than paused 13
and stopped 20, the wording of a refused logon, the HTML of monitor.jsp, the HTTP status of an
expired-session reply), the values here are the simulator's own choice and are marked so.

The server binds 127.0.0.1 only, runs in a daemon thread and is shut down at exit: it never
outlives the process that started it. Test knobs: `expire_sessions()`, `replies` (a raw reply for
the next calls of a method or page: status, body and optional headers such as a redirect's
Location), `delay_s`, `tls` (serve HTTPS with that server context). Like a real server's XML
parser, it refuses a request whose `xsi:type` values use a prefix the request does not declare.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import io
import os
import secrets
import ssl
import threading
import time
import xml.etree.ElementTree as ET  # building only: requests are parsed with defusedxml
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import defusedxml.ElementTree as DET

# The NAME of the variable holding the random password (set in this process's environment only).
SIM_PASSWORD_ENV = "CAMPAIGN_BOT_SIM_API_PASSWORD"  # noqa: S105 - a variable name, not a secret
SIM_LOGIN = "monitoring"

_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
_HEAD = (
    "<?xml version='1.0'?>\n<SOAP-ENV:Envelope xmlns:xsd='http://www.w3.org/2001/XMLSchema' "
    "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xmlns:ns='urn:{urn}' "
    "xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>\n<SOAP-ENV:Body>\n"
)
_TAIL = "</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n"
_EXPIRED = "XSV-350008 Session has expired or is invalid. Please reconnect."


def _date(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _esc(v: str) -> str:
    return html.escape(v, quote=True)


@dataclass
class SimWorkflow:
    id: int
    internal_name: str
    label: str
    state: int  # 13 paused and 20 stopped are Adobe's; 11 ("running") is the simulator's choice
    failed: bool = False
    journal_ago_s: float | None = None  # newest journal line, seconds ago (None: empty journal)


@dataclass
class SimDelivery:
    id: int
    internal_name: str
    label: str
    state: int  # nms:delivery values as in bot/knowledge/campaign-api.yaml
    modified_ago_s: float
    contact_in_s: float = 0.0  # scheduled contact date relative to now (positive: in the future)
    proof: bool = False


def default_workflows() -> list[SimWorkflow]:
    return [
        SimWorkflow(1101, "cleanup", "Database cleanup", 13, failed=True, journal_ago_s=20 * 3600),
        SimWorkflow(1102, "tracking", "Tracking", 11, journal_ago_s=12 * 60),
        SimWorkflow(1103, "deliverabilityUpdate", "Refresh for deliverability", 11, journal_ago_s=9 * 3600),
        SimWorkflow(1104, "operationMgt", "Campaign jobs", 11, journal_ago_s=5 * 60),
        SimWorkflow(1105, "deliveryMgt", "Jobs on deliveries in campaigns", 11, journal_ago_s=5 * 60),
        SimWorkflow(1106, "cleanupPausedWorkflows", "Paused workflow cleanup", 11, journal_ago_s=3 * 86400),
        SimWorkflow(1107, "billing", "Billing", 11, journal_ago_s=10 * 86400),
        SimWorkflow(2042, "WKF2042", "Weekly newsletter import", 13, journal_ago_s=2 * 86400),
        SimWorkflow(2043, "WKF2043", "Birthday email", 11, journal_ago_s=3600),
    ]


def default_deliveries() -> list[SimDelivery]:
    return [
        SimDelivery(7207, "DM7207", "Spring sale newsletter", 51, modified_ago_s=3 * 3600, contact_in_s=-3 * 3600),
        SimDelivery(7210, "DM7210", "Weekly digest", 51, modified_ago_s=2 * 3600, contact_in_s=5 * 3600),
        SimDelivery(7211, "DM7211", "Welcome series", 22, modified_ago_s=10 * 60, contact_in_s=-10 * 60),
        SimDelivery(7212, "DM7212", "Proof of spring sale", 51, modified_ago_s=6 * 3600, proof=True),
        SimDelivery(7190, "DM7190", "Easter campaign", 95, modified_ago_s=30 * 86400),
    ]


@dataclass
class SimState:
    login: str
    password: str
    instance: str = "prod"
    session_tokens: set[str] = field(default_factory=set)  # tokens accepted without a security token
    sessions: dict[str, str] = field(default_factory=dict)  # session token -> security token
    workflows: list[SimWorkflow] = field(default_factory=default_workflows)
    deliveries: list[SimDelivery] = field(default_factory=default_deliveries)


class SimulatedAppServer:
    """The simulated application server; `url` is `http://127.0.0.1:<port>`."""

    def __init__(
        self,
        login: str,
        password: str,
        instance: str = "prod",
        session_token: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.state = SimState(login, password, instance)
        if session_token:
            self.state.session_tokens.add(session_token)
        # The latest calls ("POST xtk:session#Logon", "GET /nl/jsp/ping.jsp") and raw requests, for tests;
        # bounded, so a long `make run` does not grow.
        self.calls: deque[str] = deque(maxlen=1000)
        self.requests: deque[tuple[str, str, dict[str, str], bytes]] = deque(maxlen=200)
        # method or path -> raw replies for the next calls: (status, body) or (status, body, headers)
        self.replies: dict[str, list[tuple[int, bytes] | tuple[int, bytes, dict[str, str]]]] = {}
        self.delay_s = 0.0
        # The session and security tokens of the next Logon (tests may make them look like anything).
        self.new_tokens: Callable[[], tuple[str, str]] = lambda: (
            "___" + secrets.token_hex(16),
            "@" + secrets.token_urlsafe(32),
        )
        self._expire = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.tls = tls
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        # A short poll interval: stop() (also run at exit) returns within it, so no CLI exit waits.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sim-appserver", daemon=True
        )
        self._thread.start()
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def expire_sessions(self, times: int = 1) -> None:
        """The next `times` authenticated calls find their session expired (XSV-350008)."""
        with self._lock:
            self._expire += times

    def _take_expiry(self) -> bool:
        with self._lock:
            if self._expire > 0:
                self._expire -= 1
                self.state.sessions.clear()
                return True
            return False

    # -- request handling (called from the HTTP threads) -----------------------------------------

    def _authenticated(self, headers: dict[str, str], body_token: str | None) -> bool:
        cookie = headers.get("cookie", "")
        cookie_token = next(
            (p.split("=", 1)[1] for p in cookie.split(";") if p.strip().startswith("__sessiontoken=")), ""
        ).strip()
        token = body_token or cookie_token or headers.get("x-session-token", "")
        if not token:
            return False
        if token in self.state.session_tokens:
            return True
        security = self.state.sessions.get(token)
        return security is not None and headers.get("x-security-token", "") == security

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes] | tuple[int, str, bytes, dict[str, str]]:
        if self.delay_s:
            time.sleep(self.delay_s)
        parts = urlsplit(path)
        self.requests.append((method, path, dict(headers), body))
        if parts.path in ("/nl/jsp/ping.jsp", "/nl/jsp/monitor.jsp") and method == "GET":
            self.calls.append(f"GET {parts.path}")
            canned = self._canned(parts.path)
            if canned:
                return canned[0], "text/plain", canned[1], canned[2]
            if self._take_expiry() or not self._authenticated(headers, None):
                return 500, "text/plain", _EXPIRED.encode()  # status is the simulator's choice
            if parts.path.endswith("ping.jsp"):
                return 200, "text/plain", f"OK\n{_date(datetime.now(timezone.utc))}\n".encode()
            return 200, "text/html", self._monitor_html().encode()
        if parts.path != "/nl/jsp/soaprouter.jsp" or method != "POST":
            self.calls.append(f"{method} {parts.path}")
            return 404, "text/plain", b"not found"
        action = headers.get("soapaction", "") or parse_qs(parts.query).get("soapAction", [""])[0]
        self.calls.append(f"POST {action}")
        canned = self._canned(action.split("#")[-1])
        if canned:
            return canned[0], "text/xml", canned[1], canned[2]
        return self._soap(action, headers, body)

    def _canned(self, key: str) -> tuple[int, bytes, dict[str, str]] | None:
        with self._lock:
            queue = self.replies.get(key)
            if queue:
                one = queue.pop(0)
                return one[0], one[1], (one[2] if len(one) > 2 else {})
        return None

    def _soap(self, action: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        urn, _, name = action.partition("#")
        try:
            root = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except Exception:
            return _fault(urn, name, "SOP-330011", "the request is not a SOAP envelope")
        undeclared = _undeclared_type_prefixes(body)
        if undeclared:
            # A real server resolves xsi:type values as QNames: an undeclared prefix is a parse error.
            return _fault(urn, name, "SOP-330011", f"undeclared namespace prefix in xsi:type: {', '.join(undeclared)}")
        call = next((c for b in root if b.tag == f"{{{_ENV_NS}}}Body" for c in b), None)
        if call is None or call.tag != f"{{urn:{urn}}}{name}":
            return _fault(urn, name, "SOP-330011", "the SOAP body does not match the action")
        params = {c.tag: c for c in call}
        body_token = (params["sessiontoken"].text or "").strip() if "sessiontoken" in params else ""
        if (urn, name) == ("xtk:session", "Logon"):
            login = (params["login"].text or "") if "login" in params else ""
            password = (params["password"].text or "") if "password" in params else ""
            if login != self.state.login or password != self.state.password:
                # Adobe does not publish the wording of a refused logon: the simulator's own.
                return _fault(urn, name, "SOP-330011", "Logon refused: incorrect login or password (simulated)")
            session, security = self.new_tokens()
            self.state.sessions[session] = security
            return 200, "text/xml", _logon_response(session, security, self.state.instance)
        if not self._authenticated(headers, body_token) or self._take_expiry():
            return _fault(urn, name, "XSV-350008", "Session has expired or is invalid. Please reconnect.")
        if (urn, name) == ("xtk:session", "Logoff"):
            self.state.sessions.pop(body_token, None)
            return 200, "text/xml", (_HEAD.format(urn=urn) + f"<{name}Response xmlns='urn:{urn}'/>" + _TAIL).encode()
        if (urn, name) == ("xtk:queryDef", "ExecuteQuery"):
            doc = params.get("document")
            query = doc[0] if doc is not None and len(doc) else None
            if query is None or query.get("operation") not in ("select", "get", "getIfExists", "count"):
                return _fault(urn, name, "SOP-330011", "queryDef missing or not a read")
            return self._query(query)
        return _fault(urn, name, "SOP-330006", f"The method '{name}' is not defined in SOAP service '{urn}'.")

    def _query(self, q: ET.Element) -> tuple[int, str, bytes]:
        schema = q.get("schema", "")
        exprs = [c.get("expr", "") for c in q.iter("condition") if c.get("expr")]
        now = datetime.now(timezone.utc)
        limit = int(q.get("lineCount", "1000"))
        if schema == "xtk:workflow":
            where = q.find("where")
            try:
                matching = [w for w in self.state.workflows if where is None or _conditions(w, list(where))]
            except ValueError as e:
                return _fault("xtk:queryDef", "ExecuteQuery", "SOP-330011", str(e))
            rows = sorted(matching, key=lambda w: not w.failed)[:limit]  # orderBy @failed desc
            inner = "".join(
                f"<workflow id='{w.id}' internalName='{_esc(w.internal_name)}' label='{_esc(w.label)}' "
                f"state='{w.state}' failed='{int(w.failed)}'/>"
                for w in rows
            )
            out = f"<workflow-collection>{inner}</workflow-collection>"
        elif schema == "xtk:workflowLog":
            wid = next((int(e.split("=")[1]) for e in exprs if e.startswith("[@workflow-id]")), None)
            wf = next((w for w in self.state.workflows if w.id == wid), None)
            line = (
                f"<workflowLog logDate='{_date(now - timedelta(seconds=wf.journal_ago_s))}'/>"
                if wf is not None and wf.journal_ago_s is not None
                else ""
            )
            out = f"<workflowLog-collection>{line}</workflowLog-collection>"
        elif schema == "nms:delivery":
            states = {int(e.split("=")[1]) for e in exprs if e.startswith("@state =")}
            found = sorted(
                (d for d in self.state.deliveries if d.state in states and not d.proof), key=lambda d: -d.modified_ago_s
            )
            inner = "".join(
                f"<delivery id='{d.id}' label='{_esc(d.label)}' internalName='{d.internal_name}' state='{d.state}' "
                f"lastModified='{_date(now - timedelta(seconds=d.modified_ago_s))}'>"
                f"<scheduling contactDate='{_date(now + timedelta(seconds=d.contact_in_s))}'/></delivery>"
                for d in found[:limit]
            )
            out = f"<delivery-collection>{inner}</delivery-collection>"
        else:
            return _fault("xtk:queryDef", "ExecuteQuery", "SOP-330011", f"schema '{schema}' is not simulated")
        return 200, "text/xml", _query_response(out)

    def _monitor_html(self) -> str:
        failed = [w for w in self.state.workflows if w.failed]
        items = "".join(
            f"<li><font color='red'>Workflow failed: {_esc(w.label)} ({_esc(w.internal_name)}) ({self.state.instance})</font></li>"
            for w in failed
        )
        return (
            "<html><head><title>Server monitoring</title></head><body>"
            f"<h1>Server monitoring for the instance {self.state.instance}</h1>"
            "<p>Server: 127.0.0.1 (simulated) Build: 9379</p>"
            f"<h2>Summary</h2><ul>{items}</ul>"
            "<p><a href='#'>Processes list</a> <a href='#'>List of active workflows</a> "
            "<a href='#'>System indicators</a></p></body></html>"
        )

    def inventory_entry(self, password_env: str) -> dict[str, Any]:
        """The `campaign_api` block of an inventory pointing at this server (password read from `password_env`)."""
        return {"url": self.url, "login": self.state.login, "password_env": password_env, "timeout_s": 5}


def _undeclared_type_prefixes(body: bytes) -> list[str]:
    """Prefixes used in xsi:type values that no element of the request declares."""
    declared: set[str] = set()
    used: set[str] = set()
    try:
        for event, item in DET.iterparse(io.BytesIO(body), events=("start-ns", "start"), forbid_dtd=True):
            if event == "start-ns":
                declared.add(item[0])
            else:
                value = item.get("{http://www.w3.org/2001/XMLSchema-instance}type", "")
                if ":" in value:
                    used.add(value.split(":", 1)[0])
    except Exception:
        return []
    return sorted(used - declared)


def _conditions(w: SimWorkflow, conditions: list[ET.Element]) -> bool:
    """A queryDef `<where>` (or a condition group) for one workflow: conditions left to right, each
    one's `boolOperator` (AND by default) joining it to the next; a condition without `expr` is a group."""
    result: bool | None = None
    op = "AND"
    for c in conditions:
        if c.tag != "condition":
            continue
        expr = c.get("expr")
        value = _wf_matches(w, expr) if expr else _conditions(w, list(c))
        result = value if result is None else ((result or value) if op == "OR" else (result and value))
        op = (c.get("boolOperator") or "AND").upper()
    return True if result is None else result


def _wf_matches(w: SimWorkflow, expr: str) -> bool:
    e = expr.replace(" ", "")
    if e.startswith("@failed="):
        return int(w.failed) == int(e.split("=", 1)[1])
    if e.startswith("@state="):
        return str(w.state) == e.split("=", 1)[1]
    if e.startswith("@internalName!="):
        return w.internal_name != e.split("!=", 1)[1].strip("'")
    if e.startswith("@internalName="):
        return w.internal_name == e.split("=", 1)[1].strip("'")
    raise ValueError(f"expression not simulated: {expr[:80]}")


def _fault(urn: str, method: str, code: str, message: str) -> tuple[int, str, bytes]:
    body = (
        _HEAD.format(urn=urn)
        + "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>"
        + f"<faultstring xsi:type='xsd:string'>{_esc(code)} {_esc(message)}</faultstring>"
        + f"<detail xsi:type='xsd:string'>Error while executing the method '{_esc(method)}' of service '{_esc(urn)}'.</detail>"
        + "</SOAP-ENV:Fault>\n"
        + _TAIL
    )
    return 500, "text/xml", body.encode()  # the fault's HTTP status is the simulator's choice


def _logon_response(session: str, security: str, instance: str) -> bytes:
    now = _date(datetime.now(timezone.utc))
    return (
        _HEAD.format(urn="xtk:session")
        + "<LogonResponse xmlns='urn:xtk:session' SOAP-ENV:encodingStyle='http://schemas.xmlsoap.org/soap/encoding/'>"
        + f"<pstrSessionToken xsi:type='xsd:string'>{session}</pstrSessionToken>"
        + "<pSessionInfo xsi:type='ns:Element' SOAP-ENV:encodingStyle='http://xml.apache.org/xml-soap/literalxml'>"
        + f"<sessionInfo><serverInfo buildNumber='9379' instanceName='{_esc(instance)}' serverDate='{now}' "
        + "sessionTimeOut='86400'/><userInfo login='monitoring'/></sessionInfo></pSessionInfo>"
        + f"<pstrSecurityToken xsi:type='xsd:string'>{security}</pstrSecurityToken>"
        + "</LogonResponse>\n"
        + _TAIL
    ).encode()


def _query_response(inner: str) -> bytes:
    return (
        _HEAD.format(urn="xtk:queryDef")
        + "<ExecuteQueryResponse xmlns='urn:xtk:queryDef' SOAP-ENV:encodingStyle='http://schemas.xmlsoap.org/soap/encoding/'>"
        + "<pdomOutput xsi:type='ns:Element' SOAP-ENV:encodingStyle='http://xml.apache.org/xml-soap/literalxml'>"
        + inner
        + "</pdomOutput></ExecuteQueryResponse>\n"
        + _TAIL
    ).encode()


def _handler(server: SimulatedAppServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 20)) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, ctype, out, *more = server.handle(method, self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for key, value in (more[0] if more else {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(out)))
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the bot stopped reading (deadline)
                self.wfile.write(out)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # requests carry secrets: never logged
            return

    return Handler


_shared: SimulatedAppServer | None = None
_shared_lock = threading.Lock()


def shared_appserver(instance: str = "prod") -> SimulatedAppServer:
    """The process's simulated application server, started on first use.

    Its password is random, kept only in this process's environment (`CAMPAIGN_BOT_SIM_API_PASSWORD`,
    inherited by child processes, which then accept the same one) and never written anywhere.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            password = os.environ.get(SIM_PASSWORD_ENV) or secrets.token_urlsafe(24)
            os.environ[SIM_PASSWORD_ENV] = password
            _shared = SimulatedAppServer(SIM_LOGIN, password, instance)
        return _shared
