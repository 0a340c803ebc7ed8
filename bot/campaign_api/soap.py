"""SOAP envelopes for Campaign's `/nl/jsp/soaprouter.jsp`: built with ElementTree, read with defusedxml.

Shapes, and where they come from (`SDK:` = Adobe's official JS SDK, github.com/adobe/acc-js-sdk,
commit 70885ff):

Documented (SDK):
- request envelope `SOAP-ENV:Envelope` with `xmlns:xsd`, `xmlns:xsi`, `xmlns:SOAP-ENV`,
  `xmlns:ns="http://xml.apache.org/xml-soap"`, a `SOAP-ENV:Header` and a `SOAP-ENV:Body` holding
  `<m:{Method} xmlns:m="urn:{schema}" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">`
  (SDK:src/soap.js `_initMessage`);
- the first parameter is always `<sessiontoken xsi:type="xsd:string">` holding the session token
  (empty for Logon); the header carries `<Cookie>__sessiontoken=…</Cookie>` when there is a session
  token and `<X-Security-Token>…</X-Security-Token>` always (SDK:src/soap.js `finalize`);
- string parameters `<name xsi:type="xsd:string">`; XML parameters `xsi:type="ns:Element"` with
  `SOAP-ENV:encodingStyle="http://xml.apache.org/xml-soap/literalxml"` (SDK:src/soap.js
  `writeString`, `writeElement`); the object of a non-static method (the queryDef of
  `ExecuteQuery`) is written as an XML document parameter named `document` whose root carries
  `xtkschema="xtk:queryDef"` (SDK:src/client.js `_writeSoapCallParameters`, SDK:test/client.test.js);
- Logon parameters `login`, `password`, `parameters` (SDK:src/client.js `logon`); its reply
  `<LogonResponse xmlns="urn:xtk:session">` with `pstrSessionToken`, `pSessionInfo`
  (`sessionInfo/serverInfo/@serverDate`…) and `pstrSecurityToken` (SDK:test/mock.js LOGON_RESPONSE);
- `<ExecuteQueryResponse xmlns="urn:xtk:queryDef">` with `<pdomOutput xsi:type="ns:Element">`
  holding `<{schema}-collection>` (SDK:test/mock.js GET_QUERY_EXECUTE_RESPONSE); `LogoffResponse`
  is empty (SDK:test/mock.js LOGOFF_RESPONSE);
- faults `SOAP-ENV:Fault` with `faultcode`, `faultstring` (starting with a code such as
  `XSV-350008`, `SOP-330011`) and an optional `detail` (SDK:test/mock.js, SDK:src/campaign.js);
  an expired session may also come back as a bare `XSV-350008 …` body (SDK:test/client.test.js).

Assumed: the HTTP status of a fault (the SDK accepts any); that the server ignores the `xsi:type=""`
the SDK writes on the `document` parameter (we write the same).
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
    """One SOAP parameter: a string, or an XML element (`element`) written as ns:Element."""

    name: str
    text: str | None = None
    element: ET.Element | None = None
    document: bool = False  # the object of a non-static method (written as `document`, like the SDK)


def check_allowed(urn: str, method: str) -> None:
    if (urn, method) not in ALLOWED_METHODS:
        raise MethodRefused(f"{urn}#{method} is not one of the read-only methods the bot may call")


def envelope(urn: str, method: str, params: list[Param], session_token: str, security_token: str) -> bytes:
    """The request document, built element by element: no text is pasted into XML."""
    check_allowed(urn, method)
    ET.register_namespace("SOAP-ENV", NS_ENV)
    ET.register_namespace("xsi", NS_XSI)
    ET.register_namespace("xsd", NS_XSD)
    ET.register_namespace("ns", NS_NS)
    root = ET.Element(f"{{{NS_ENV}}}Envelope")
    header = ET.SubElement(root, f"{{{NS_ENV}}}Header")
    if session_token:
        ET.SubElement(header, "Cookie").text = f"__sessiontoken={session_token}"
    ET.SubElement(header, "X-Security-Token").text = security_token
    body = ET.SubElement(root, f"{{{NS_ENV}}}Body")
    call = ET.SubElement(body, f"{{urn:{urn}}}{method}", {f"{{{NS_ENV}}}encodingStyle": ENC_NATIVE})
    ET.SubElement(call, "sessiontoken", {f"{{{NS_XSI}}}type": "xsd:string"}).text = session_token
    for p in params:
        if p.element is not None:
            xsi_type = "" if p.document else "ns:Element"
            node = ET.SubElement(call, p.name, {f"{{{NS_XSI}}}type": xsi_type, f"{{{NS_ENV}}}encodingStyle": ENC_XML})
            node.append(p.element)
        else:
            ET.SubElement(call, p.name, {f"{{{NS_XSI}}}type": "xsd:string"}).text = p.text or ""
    # ElementTree names the method's namespace ns0/ns1; the SDK's `m:` prefix is only a name.
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
    outright (no billion laughs, no external entity fetch).
    """
    try:
        root: ET.Element = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise BadReply(f"{method}: reply refused: it declares a DTD or entities ({type(e).__name__})") from e
    except ET.ParseError as e:
        # An expired session can come back as a bare "XSV-350008 Session has expired…" text
        # (SDK:test/client.test.js) or inside an HTML error page.
        if SESSION_EXPIRED_CODE.encode() in body[:4096]:
            raise SessionExpired(method, SESSION_EXPIRED_CODE, "session has expired or is invalid") from e
        raise BadReply(f"{method}: reply is not well-formed XML ({e})") from e
    if _local(root.tag) != "Envelope":
        raise BadReply(f"{method}: reply is not a SOAP envelope (root <{_local(root.tag)[:40]}>)")
    soap_body = next((c for c in root if _local(c.tag) == "Body"), None)
    if soap_body is None or len(soap_body) == 0:
        raise BadReply(f"{method}: SOAP reply without a body")
    first = soap_body[0]
    if _local(first.tag) == "Fault":
        string = (first.findtext("faultstring") or "").strip()
        detail = (first.findtext("detail") or "").strip()
        text = string + (f" ({detail})" if detail and detail not in string else "")
        code = fault_code(string) or fault_code(detail)
        cls = SessionExpired if code == SESSION_EXPIRED_CODE else SoapFault
        raise cls(method, code, text[:300] or "SOAP fault without a message")
    for child in soap_body:
        if _local(child.tag) == f"{method}Response":
            return child
    raise BadReply(f"{method}: the reply has no <{method}Response>")


def out_param(response: ET.Element, name: str) -> ET.Element | None:
    """The output parameter `name` of a response (namespace-blind: Campaign sets a default namespace)."""
    return next((c for c in response if _local(c.tag) == name), None)


def local_name(el: ET.Element) -> str:
    return _local(el.tag)
