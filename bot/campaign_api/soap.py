"""SOAP envelopes for Campaign's `/nl/jsp/soaprouter.jsp`: built with ElementTree, read with defusedxml.

Shapes, and where they come from (`SDK:` = Adobe's official JS SDK, github.com/adobe/acc-js-sdk,
commit 70885ff; file:line at that commit):

Documented (SDK):
- the request envelope `<SOAP-ENV:Envelope xmlns:xsd=… xmlns:xsi=… xmlns:SOAP-ENV=…
  xmlns:ns="http://xml.apache.org/xml-soap">` with a `SOAP-ENV:Header` and a `SOAP-ENV:Body` holding
  `<m:{Method} xmlns:m="urn:{schema}" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">`
  (SDK:src/soap.js:146-165 `_initMessage`). The four namespace declarations are written on the
  Envelope whether or not an element uses them: the `xsd:` and `ns:` prefixes appear only inside
  attribute values (`xsi:type="xsd:string"`, `"ns:Element"`), which no XML library counts as a use;
- the first parameter is always `<sessiontoken xsi:type="xsd:string">` holding the session token
  (empty for Logon); the header carries `<Cookie>__sessiontoken=…</Cookie>` when there is a session
  token and `<X-Security-Token>…</X-Security-Token>` always (SDK:src/soap.js:585-624 `finalize`);
- string parameters `<name xsi:type="xsd:string">` without an encodingStyle of their own
  (SDK:src/soap.js:177-186 `_addNode`, :263 `writeString`); XML parameters `xsi:type="ns:Element"`
  with `SOAP-ENV:encodingStyle="http://xml.apache.org/xml-soap/literalxml"`, empty when there is no
  element (SDK:src/soap.js:293-300 `writeElement`); the object of a non-static method (the queryDef
  of `ExecuteQuery`) is a document parameter named `document`, `xsi:type=""`, whose root carries
  `xtkschema="xtk:queryDef"` (SDK:src/soap.js:307 `writeDocument`, SDK:src/client.js
  `_writeSoapCallParameters`, SDK:test/client.test.js);
- Logon parameters `login`, `password` (strings) and `parameters`, an empty ns:Element unless
  "remember me" is asked for (SDK:src/client.js:1676-1685 `logon`); its reply
  `<LogonResponse xmlns="urn:xtk:session">` with `pstrSessionToken`, `pSessionInfo`
  (`sessionInfo/serverInfo/@serverDate`…) and `pstrSecurityToken` (SDK:test/mock.js:106 LOGON_RESPONSE);
- `<ExecuteQueryResponse xmlns="urn:xtk:queryDef">` with `<pdomOutput xsi:type="ns:Element">`
  holding `<{schema}-collection>` (SDK:test/mock.js:823 GET_QUERY_EXECUTE_RESPONSE); `LogoffResponse`
  is empty (SDK:test/mock.js:205 LOGOFF_RESPONSE);
- faults `SOAP-ENV:Fault` with `faultcode`, `faultstring` (starting with a code such as
  `XSV-350008`, `SOP-330011`) and an optional `detail` (SDK:src/soap.js:679-685, SDK:test/mock.js);
  a failed call whose reply carries `XSV-350008` *anywhere* (faultstring, detail, a bare text or
  HTML body) is an expired session (SDK:src/soap.js:695-698 `execute`; SDK:test/client.test.js:2340
  the bare `XSV-350008 Session has expired…` body).

Assumed (not in the SDK nor Adobe's pages): the HTTP status of a fault (the SDK accepts any); that
the server ignores the `xsi:type=""` the SDK writes on the `document` parameter (we write the same);
the method element's prefix (`m:`, as the SDK) is only a name, any prefix bound to `urn:{schema}`
would do.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # building only: replies are parsed with defusedxml
from dataclasses import dataclass

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from bot.errors import CampaignApiError

NS_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_XSD = "http://www.w3.org/2001/XMLSchema"
NS_NS = "http://xml.apache.org/xml-soap"
ENC_NATIVE = "http://schemas.xmlsoap.org/soap/encoding/"
ENC_XML = "http://xml.apache.org/xml-soap/literalxml"

# The only SOAP methods the bot may call: logging on and off, and reading with a queryDef.
# Enforced by the client before anything is built or sent.
ALLOWED_METHODS: frozenset[tuple[str, str]] = frozenset(
    {("xtk:session", "Logon"), ("xtk:session", "Logoff"), ("xtk:queryDef", "ExecuteQuery")}
)
# queryDef operations that only read (xtk:queryDef documents get, getIfExists, select, count).
READ_OPERATIONS = frozenset({"select", "get", "getIfExists", "count"})

_CODE_RE = re.compile(r"\b([A-Z]{3}-\d{6})\b")
SESSION_EXPIRED_CODE = "XSV-350008"


class SoapFault(CampaignApiError):
    """Campaign answered with a SOAP fault. `code` is the Campaign code (XSV-350008) when there is one."""

    def __init__(self, method: str, code: str | None, message: str) -> None:
        self.method = method
        self.code = code
        self.fault = message
        super().__init__(f"{method}: {message}")


class SessionExpired(SoapFault):
    """XSV-350008: the session has expired or is invalid (log on again, retry once)."""


class BadReply(CampaignApiError):
    """The reply is not the SOAP document the bot expects (malformed, hostile, or another shape)."""


class MethodRefused(CampaignApiError):
    """The bot's own allow-list refused a call before anything was sent."""


@dataclass(frozen=True)
class Param:
    """One SOAP parameter: a string (`text`), or an XML one (`xml`, or given an `element`) written as
    ns:Element, empty without an element; `document`: the object of a non-static method."""

    name: str
    text: str | None = None
    element: ET.Element | None = None
    document: bool = False  # the object of a non-static method (written as `document`, like the SDK)
    xml: bool = False  # an ns:Element parameter even without an element (Logon's empty `parameters`)


def check_allowed(urn: str, method: str) -> None:
    if (urn, method) not in ALLOWED_METHODS:
        raise MethodRefused(f"{urn}#{method} is not one of the read-only methods the bot may call")


def envelope(urn: str, method: str, params: list[Param], session_token: str, security_token: str) -> bytes:
    """The request document, built element by element: no text is pasted into XML.

    Prefixes are written as the SDK writes them (`SOAP-ENV:`, `xsi:`, `m:`) and every namespace is
    declared explicitly on the Envelope (or, for `m:`, on the method element): nothing depends on
    ElementTree's global prefix registry, and `xsd:` / `ns:`, used only in attribute values, are
    declared too."""
    check_allowed(urn, method)
    root = ET.Element(
        "SOAP-ENV:Envelope",
        {"xmlns:xsd": NS_XSD, "xmlns:xsi": NS_XSI, "xmlns:SOAP-ENV": NS_ENV, "xmlns:ns": NS_NS},
    )
    header = ET.SubElement(root, "SOAP-ENV:Header")
    if session_token:
        ET.SubElement(header, "Cookie").text = f"__sessiontoken={session_token}"
    ET.SubElement(header, "X-Security-Token").text = security_token
    body = ET.SubElement(root, "SOAP-ENV:Body")
    call = ET.SubElement(body, f"m:{method}", {"xmlns:m": f"urn:{urn}", "SOAP-ENV:encodingStyle": ENC_NATIVE})
    ET.SubElement(call, "sessiontoken", {"xsi:type": "xsd:string"}).text = session_token
    for p in params:
        if p.document or p.xml or p.element is not None:
            xsi_type = "" if p.document else "ns:Element"
            node = ET.SubElement(call, p.name, {"xsi:type": xsi_type, "SOAP-ENV:encodingStyle": ENC_XML})
            if p.element is not None:
                node.append(p.element)
        else:
            ET.SubElement(call, p.name, {"xsi:type": "xsd:string"}).text = p.text or ""
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def fault_code(text: str) -> str | None:
    m = _CODE_RE.search(text)
    return m.group(1) if m else None


def parse(body: bytes, method: str) -> ET.Element:
    """The `<{method}Response>` element of a reply; raises SoapFault, SessionExpired or BadReply.

    Parsed with defusedxml: a DTD, entity declarations or external references are refused
    outright (no billion laughs, no external entity fetch). As in the SDK, a reply that is not a
    response and carries `XSV-350008` anywhere (a fault's faultstring or detail, a text or HTML
    error body) is an expired session, whatever code the fault leads with (SOP-330011…).
    """
    try:
        return _parse(body, method)
    except (SessionExpired, _Hostile):
        raise
    except (SoapFault, BadReply) as e:
        if SESSION_EXPIRED_CODE.encode() in body:
            text = e.fault if isinstance(e, SoapFault) else "session has expired or is invalid"
            raise SessionExpired(method, SESSION_EXPIRED_CODE, text) from e
        raise


class _Hostile(BadReply):
    """A reply declaring a DTD or entities: refused whatever it says."""


def _parse(body: bytes, method: str) -> ET.Element:
    try:
        root: ET.Element = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise _Hostile(f"{method}: reply refused: it declares a DTD or entities ({type(e).__name__})") from e
    except ET.ParseError as e:
        raise BadReply(f"{method}: reply is not well-formed XML ({e})") from e
    if _local(root.tag) != "Envelope":
        raise BadReply(f"{method}: reply is not a SOAP envelope (root <{_local(root.tag)[:40]}>)")
    soap_body = next((c for c in root if _local(c.tag) == "Body"), None)
    if soap_body is None or len(soap_body) == 0:
        raise BadReply(f"{method}: SOAP reply without a body")
    first = soap_body[0]
    if _local(first.tag) == "Fault":
        # faultstring / detail are unqualified in SOAP 1.1, but some servers and proxies qualify them
        # (`SOAP-ENV:faultstring`): match local names, so the message and its code are not lost.
        string = _child_text(first, "faultstring")
        detail = _child_text(first, "detail")
        text = string + (f" ({detail})" if detail and detail not in string else "")
        code = fault_code(string) or fault_code(detail)
        raise SoapFault(method, code, text[:300] or "SOAP fault without a message")
    for child in soap_body:
        if _local(child.tag) == f"{method}Response":
            return child
    raise BadReply(f"{method}: the reply has no <{method}Response>")


def _child_text(el: ET.Element, name: str) -> str:
    """All the text of the first child of `el` named `name` (any namespace), stripped."""
    child = next((c for c in el if _local(c.tag) == name), None)
    return "".join(child.itertext()).strip() if child is not None else ""


def out_param(response: ET.Element, name: str) -> ET.Element | None:
    """The output parameter `name` of a response (namespace-blind: Campaign sets a default namespace)."""
    return next((c for c in response if _local(c.tag) == name), None)


def local_name(el: ET.Element) -> str:
    return _local(el.tag)
