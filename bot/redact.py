"""Redaction of secrets in anything the bot shows, posts, uploads, logs or audits, and terminal-safe text.

Contract (every sink relies on it):

- `redact(text)` works on the **whole** text, before anything is cut: multi-line forms (PEM and PuTTY
  private keys, YAML block values, XML elements spanning lines, SMTP AUTH exchanges) are found across
  lines, and a secret whose text was already cut by someone else (a quoted value without its closing
  quote, a key block without its END line, a tail that starts inside a key) is still redacted to its end.
  Callers that must shorten a text use `redact_and_clip`, never "cut, then redact".
- A redacted value becomes `[REDACTED]`; the key, header name or PEM marker around it stays, so the
  evidence still says *what* was there. Redaction never adds or removes a line break, and it is
  idempotent (`redact(redact(t)) == redact(t)`).
- Terminal control sequences and invisible format characters are removed first (`strip_control`): they
  could otherwise hide a key from the detectors ("pass<ESC>[0mword=...") and they are unsafe in a terminal.
- A value found once is redacted wherever else it occurs in the same text.

What finds secrets: the token catalogue of **detect-secrets** (Yelp's maintained detector: AWS key ids,
GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, npm, PyPI, JWT, Azure storage keys, Discord, Mailchimp,
OpenAI, Square, Telegram, Artifactory, URL credentials), its keyword list and its entropy measure and
false-positive heuristics; plus targeted forms it does not cover, each marked below with why: key/value
assignments in JSON/YAML/XML/INI/URL/header syntax with *bounded* values (its keyword regexes take the rest
of the line, which would destroy evidence such as a Campaign error code after the value), Slack `xoxe`/`xapp`,
`github_pat_`, Stripe test keys, Google `AIza`/`GOCSPX-`/`ya29.`, bare npm tokens, cut JWTs, Oracle
`user/pass@host` and Campaign's `-setdblogin:...:db/password@server`, `Bearer`/`Basic` credentials, SMTP
AUTH, and private key blocks as blocks (it only flags their BEGIN line).

`install_log_redaction()` makes every log record of every logger (slack_sdk's DEBUG request/response
logging included) pass through `redact`, message, arguments, exception and stack text alike.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "install_log_redaction",
    "is_secret_key",
    "redact",
    "redact_and_clip",
    "redact_data",
    "redact_lines",
    "strip_control",
]

REDACTED = "[REDACTED]"

Span = tuple[int, int]

# ---------------------------------------------------------------------------- terminal control

# ECMA-48 sequences (7-bit and 8-bit forms), then any other C0/C1 control except \t and \n (CR included: it
# can overwrite what the operator already sees), and the invisible format characters used for spoofing
# (bidi overrides, zero-width characters, BOM).
_CONTROL_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI (colours, cursor moves, screen clears)
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC (window title, hyperlinks, clipboard), ended by BEL or ST
    r"|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]"  # every other escape sequence (nF, Fp, Fe, Fs)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x9c\n]*[\x07\x9c]?"  # 8-bit DCS, SOS, OSC, PM, APC
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # the remaining C0 controls, DEL, C1 controls
    r"|[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def strip_control(text: str) -> str:
    """`text` without terminal control sequences or other control characters (`\\n` and `\\t` are kept).

    For host text shown in a terminal: an escape sequence from a host could recolour, move the cursor,
    clear the screen, set the window title or write to the clipboard of the operator's terminal.
    """
    return _CONTROL_RE.sub("", text)


# ---------------------------------------------------------------------------- secret keys

# Key words that make a key secret wherever they appear in it (`db_password`, `internalPassword`,
# `X-Security-Token`, `AccountKey`). The first block is detect-secrets' keyword list (keyword.DENYLIST),
# without separators; the rest are the forms it lacks (tokens, session ids, cookies, headers, Dutch/German).
_KEY_WORDS = (
    *("apikey", "authkey", "servicekey", "accountkey", "dbkey", "databasekey", "privkey", "privatekey"),
    *("clientkey", "dbpass", "databasepass", "keypass", "password", "passwd", "pwd", "secret", "contraseña"),
    *("contrasena", "passphrase", "passwort", "wachtwoord", "kennwort", "motdepasse", "token", "credential"),
    *("accesskey", "sharedaccesskey", "sharedaccesssignature", "masterkey", "encryptionkey", "signingkey"),
    *("subscriptionkey", "licensekey", "sessionid", "sessionkey", "sessid", "signature", "authorization"),
    *("cookie", "bearer"),
)
# Short words that count only as a whole part of the key (`db_pass`, `mysqlPwd`, `sig`), not inside
# other words (`bypass`, `design`).
_KEY_PARTS = frozenset({"pass", "pwd", "pw", "psw", "sig", "auth", "sas"})
# A last part that makes the key about the secret, not the secret (`password_file`, `tokenType`).
_NOT_SECRET_LAST = frozenset(
    {
        *("file", "path", "dir", "type", "len", "length", "size", "count", "expires", "expiry", "expiration"),
        *("ttl", "policy", "age", "time", "date", "at", "name", "url", "uri", "endpoint", "format", "required"),
        *("enabled", "mode", "changed", "updated", "reset", "hint"),
    }
)
_NOT_SECRET_KEYS = frozenset({"tokenizer", "tokenize", "tokenized", "secretary"})
_HEADER_KEYS = frozenset({"authorization", "proxyauthorization", "cookie", "setcookie"})
_KEY_PART_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^\W\d_]+")
# Cheap pre-check, used inside the regexes below so that ordinary `word:` / `a=b` never reach Python code.
_KEY_HINT = r"(?=[\w.\-$@]*?(?i:pass|pwd|pw|psw|secret|token|cred|key|sig|auth|sess|cookie|bearer|contrase|kennwort|wachtwoord|mot.?de.?passe))"


def _key_parts(key: str) -> list[str]:
    return [p.lower() for p in _KEY_PART_RE.findall(key)]


def is_secret_key(key: str) -> bool:
    """Whether a field, attribute, header or parameter named `key` holds a secret (case and separators ignored)."""
    parts = _key_parts(key)
    if not parts or parts[-1] in _NOT_SECRET_LAST:
        return False
    joined = "".join(parts)
    if joined in _NOT_SECRET_KEYS:
        return False
    return any(w in joined for w in _KEY_WORDS) or any(p in _KEY_PARTS for p in parts)


def _is_header_key(key: str) -> bool:
    return "".join(_key_parts(key)) in _HEADER_KEYS


# ---------------------------------------------------------------------------- multi-line blocks

_SEP = r"(?:\r?\n|\\r\\n|\\n)"  # a line break, real or escaped inside a JSON string or a Python repr
_PEM_LABEL = r"[A-Z0-9]+(?: [A-Z0-9]+)*"
# Every PEM block's body is redacted: private keys (PKCS#1/#8, EC, DSA, OpenSSH, encrypted, PGP) are secret;
# certificates, CSRs and public keys are not, but their base64 carries no evidence for a reader and a
# body line cannot be told from a key line once a block is cut, so they are treated alike.
_PEM_FULL = re.compile(r"(-----BEGIN " + _PEM_LABEL + r"-----)(.*?)(-----END " + _PEM_LABEL + r"-----)", re.S)
# A block cut after its BEGIN line: its body is base64 lines and `Header: value` lines (Proc-Type, DEK-Info).
_PEM_OPEN = re.compile(
    r"(-----BEGIN " + _PEM_LABEL + r"-----)"
    r"((?:" + _SEP + r"[ \t]*(?:[A-Za-z0-9+/=]+|[A-Za-z][\w-]*:[^\r\n\\]*)?[ \t]*)*)"
)
# A block cut before its BEGIN line (a log tail that starts inside a key): base64 lines up to the END line.
_PEM_CLOSE = re.compile(
    r"(?:^|(?<=\\n)|(?<=[\"']))((?:[ \t]*[A-Za-z0-9+/=]+[ \t]*" + _SEP + r")+)(?=[ \t]*-----END " + _PEM_LABEL + ")",
    re.M,
)
# PuTTY key files: the private part is the `Private-Lines: N` base64 lines, and the MAC.
_PUTTY = re.compile(
    r"(Private-Lines:[ \t]*\d+[ \t]*" + _SEP + r")((?:[ \t]*[A-Za-z0-9+/=]+[ \t]*(?:" + _SEP + r"|$))+)"
)
_PUTTY_MAC = re.compile(r"(?<=Private-MAC:)[ \t]*([0-9A-Fa-f]{16,})")
# SMTP AUTH LOGIN / CRAM-MD5: after a `334 <challenge>` reply, the next line is the client's base64 answer.
_SMTP_334 = re.compile(
    r"^.*?(?<![\w-])334[ -][A-Za-z0-9+/]*={0,2}[ \t]*\r?\n.*?([A-Za-z0-9+/]{4,}={0,2})[ \t]*\r?$", re.M
)


def _blank_lines(body: str) -> str:
    """Each non-blank line of `body` becomes [REDACTED] (its indentation kept); line breaks stay."""

    def one(m: re.Match[str]) -> str:
        line = m.group(0)
        if not line.strip():
            return line
        return line[: len(line) - len(line.lstrip())] + REDACTED

    return re.sub(r"[^\r\n]+", one, body)


def _redact_blocks(text: str) -> str:
    if "-----BEGIN " in text:
        text = _PEM_FULL.sub(lambda m: m.group(1) + _blank_lines(m.group(2)) + m.group(3), text)
        text = _PEM_OPEN.sub(lambda m: m.group(1) + _blank_lines(m.group(2)), text)
    if "-----END " in text:
        text = _PEM_CLOSE.sub(lambda m: _blank_lines(m.group(1)), text)
    if "Private-Lines:" in text:
        text = _PUTTY.sub(lambda m: m.group(1) + _blank_lines(m.group(2)), text)
    if "Private-MAC:" in text:
        text = _PUTTY_MAC.sub(" " + REDACTED, text)
    return text


# ---------------------------------------------------------------------------- detectors (spans)

# `key <op> value`: JSON/Python ("password": "x"), YAML (password: x), XML attributes (password="x"),
# INI/env (DB_PASSWORD=x), URL query (&api_key=x), headers (X-API-Key: x), flags (--password=x,
# -trackingpassword:x). Only the key and the operator are consumed, so a secret key inside another
# key's value is still seen. Quotes may be escaped (JSON inside a JSON string).
_ASSIGN = re.compile(
    r"(?<![\w.\-$@\\])(?P<kq>\\{0,2}[\"']?)" + _KEY_HINT + r"(?P<key>-{0,2}[A-Za-z_$@][\w.\-$@]*)(?P=kq)"
    r"[ \t]*(?P<op>:=|=>|==|=|:)(?!//)[ \t]*"
)
# `name: DB_PASSWORD` + `value: x` (Kubernetes env, XML <property name=".." value=".."/>, JSON pairs).
_NAME_VALUE = re.compile(
    r"(?<![\w.\-])\\{0,2}[\"']?(?i:name|key|property|param|parameter|variable)\\{0,2}[\"']?[ \t]*[:=][ \t]*"
    r"\\{0,2}[\"']?(?P<k>[\w.\-]+)\\{0,2}[\"']?[ \t]*[,;]?[ \t]*(?:\r?\n[ \t]*-?[ \t]*)?"
    r"\\{0,2}[\"']?(?P<vk>(?i:value))\\{0,2}[\"']?[ \t]*[:=][ \t]*"
)
# <password>x</password>, <urn:strPassword>x</urn:strPassword>, <entry key="password">x</entry>, CDATA too.
_XML_ELEMENT = re.compile(
    r"<(?P<tag>[A-Za-z_][\w:.\-]*)(?P<attrs>[ \t\r\n][^<>]*)?>(?P<body>(?:<!\[CDATA\[.*?\]\]>|[^<])+)</(?P=tag)[ \t]*>",
    re.S,
)
_XML_NAME_ATTR = re.compile(r"\b(?:name|key|id)[ \t]*=[ \t]*[\"']([^\"']*)[\"']", re.I)
# An unquoted value in the middle of a line ends at white space, at `&` (URL query), at a quote or an angle
# bracket, and at `;` or `,` only when another `key=` follows (connection strings, YAML flow maps).
_BARE_VALUE = re.compile(r"(?:[^\s\"'&<>;,]|[;,](?![ \t]*[\"']?[\w.\-]+[\"']?[ \t]*[:=]))+")
_LINE_PREFIX = re.compile(r"[ \t]*(?:[-*>+<][ \t]*|export[ \t]+|set[ \t]+)?")
_YAML_BLOCK = re.compile(r"[|>][+-]?[0-9]?[ \t]*(?:#.*)?")
# A whole-line value ends at the line's end, or at a closing quote when the "line" sits inside a quoted
# string (a header or an env line inside JSON or a Python repr).
_LINE_END = re.compile(r"[\"'](?=\s|[,}\]);]|$)|\r?\n|\\r|\\n|$")

# Forms detect-secrets lacks, each a whole token unless a group says which part is secret.
_TARGETED: tuple[tuple[re.Pattern[str], int], ...] = (
    # Slack: detect-secrets knows xox[abposr] with digit groups only; refresh (xoxe, xoxe.xoxp) and app tokens.
    (re.compile(r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]{6,}"), 0),
    (re.compile(r"\bxapp-\d+-[A-Za-z0-9-]{6,}"), 0),
    # GitHub fine-grained tokens (detect-secrets: ghp_/gho_/ghu_/ghs_/ghr_ only).
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), 0),
    # Stripe: detect-secrets knows live secret keys of exactly 24 characters; test keys, webhook secrets.
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}"), 0),
    (re.compile(r"\bwhsec_[0-9A-Za-z+/=]{20,}"), 0),
    # npm tokens outside an .npmrc line.
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0),
    # Google: API keys, OAuth client secrets, OAuth access tokens (none in detect-secrets).
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"), 0),
    (re.compile(r"\bGOCSPX-[0-9A-Za-z_\-]{20,}"), 0),
    (re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}"), 0),
    # Azure AD client secrets (`xxx8Q~...`).
    (re.compile(r"(?<![\w~.-])[A-Za-z0-9_.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}"), 0),
    # JWTs, also cut ones (detect-secrets requires all three parts to decode).
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-+/=]*)?"), 0),
    # URL credentials, an empty user name included (redis://:pw@host); the password may contain '@'.
    (re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s/?#@:\"']*:([^\s/?#\"']+)@"), 1),
    # Campaign: nlserver config -setdblogin:[dbms:]account[:database]/password@server (MSSQL quotes it).
    (re.compile(r"(?i)-setdblogin:[^\s/@]*/(\"[^\"\r\n]*\"?|[^\s@\"]+)(?=@|\s|$)"), 1),
    # Oracle: jdbc:oracle:thin:user/pass@host, sqlplus user/pass@tns, CONNECT user/pass.
    (
        re.compile(
            r"(?i)(?:jdbc:oracle:[a-z0-9]+:@?|\b(?:sqlplus|sqlldr|expdp|impdp|exp|imp|rman|dgmgrl)(?:[ \t]+-\S+)*[ \t]+"
            r"|\bconn(?:ect)?[ \t]+)[^\s/@\"']+/(\"[^\"\r\n]*\"?|[^\s@\"'/]+)"
        ),
        1,
    ),
    # Any other user/pass@host at the start of a word (not a path component).
    (re.compile(r"(?<![\w/.:\-@\\])[A-Za-z][\w$#.\-]*/([^\s/@\"':]{1,128})@(?=[A-Za-z0-9\[][\w.\-]*)"), 1),
    # Bearer credentials anywhere (headers are handled whole by the key/value detector).
    (re.compile(r"\b(?i:bearer)[ \t]+([A-Za-z0-9\-._~+/]{8,}=*)"), 1),
    # SMTP AUTH with the initial response on the command line (AUTH PLAIN <base64>).
    (
        re.compile(
            r"(?i)\bAUTH[ \t]+(?:PLAIN|LOGIN|XOAUTH2?|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI)[ \t]+"
            r"(?!(?:PLAIN|LOGIN|XOAUTH2?|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI|ANONYMOUS|EXTERNAL)\b)"
            r"([A-Za-z0-9+/]{4,}={0,2})"
        ),
        1,
    ),
)
_BASIC = re.compile(r"\b(?i:basic)[ \t]+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])")
# Candidates for the entropy test: base64/url-safe runs of 20+ characters; '=' only as trailing padding,
# so in KEY=VALUE the key is not part of the value.
_ENTROPY_RUN = re.compile(r"(?<![A-Za-z0-9+/_\-\\])[A-Za-z0-9+/_\-]{20,}(?:={1,2}(?![A-Za-z0-9+/_\-]))?")
# The `key=` in front of a whole-token match (AccountKey=...): the key stays readable.
_MATCH_KEY = re.compile(r"[A-Za-z_][\w.\-]*[ \t]*[=:][ \t]*")
_HEX = re.compile(r"(?:0x)?[0-9a-fA-F]+")
_DIGEST_LABEL = re.compile(r"(?i)(?:sha\d*|md5|commit|digest|checksum|fingerprint|hash|etag|build)[\W_]{0,3}$")
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-]")

# detect-secrets detectors not used: the keyword and entropy plugins (used above through their keyword
# list and entropy measure, with bounded values), the private key plugin (blocks are handled as blocks),
# public IPs (evidence, not secrets), URL credentials (the targeted form below also takes an empty user
# name and a password holding '@'), and the vendor assignment forms (Cloudant, IBM, SoftLayer) whose
# matches have no group for the value, so they would hide the key name; the key/value detector covers them.
_DS_SKIPPED = frozenset(
    {
        "KeywordDetector",
        "Base64HighEntropyString",
        "HexHighEntropyString",
        "PrivateKeyDetector",
        "IPPublicDetector",
        "BasicAuthDetector",
        "CloudantDetector",
        "IbmCloudIamDetector",
        "IbmCosHmacDetector",
        "SoftlayerDetector",
    }
)


@dataclass(frozen=True)
class _Engine:
    """detect-secrets' patterns and measures, loaded once (importing it costs about 0.2 s)."""

    ds_patterns: tuple[re.Pattern[str], ...]
    b64_entropy: Callable[[str], float]
    hex_entropy: Callable[[str], float]
    b64_limit: float
    hex_limit: float
    is_sequential: Callable[[str], bool]
    is_uuid: Callable[[str], bool]


_engine_lock = threading.Lock()
_engine_cache: list[_Engine] = []


def _engine() -> _Engine:
    if _engine_cache:
        return _engine_cache[0]
    with _engine_lock:
        if not _engine_cache:
            from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
            from detect_secrets.filters.heuristic import is_potential_uuid, is_sequential_string
            from detect_secrets.plugins.base import RegexBasedDetector
            from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString

            patterns: list[re.Pattern[str]] = []
            classes: list[Any] = sorted(get_mapping_from_secret_type_to_class().values(), key=lambda c: c.__name__)
            for cls in classes:
                if issubclass(cls, RegexBasedDetector) and cls.__name__ not in _DS_SKIPPED:
                    patterns.extend(cls().denylist)
            b64, hexa = Base64HighEntropyString(), HexHighEntropyString()
            _engine_cache.append(
                _Engine(
                    ds_patterns=tuple(patterns),
                    b64_entropy=b64.calculate_shannon_entropy,
                    hex_entropy=hexa.calculate_shannon_entropy,
                    b64_limit=b64.entropy_limit,
                    hex_limit=hexa.entropy_limit,
                    is_sequential=is_sequential_string,
                    is_uuid=is_potential_uuid,
                )
            )
    return _engine_cache[0]


def _token_span(text: str, start: int, end: int) -> Span:
    """Widen a token match to the whole token, so a longer token than the pattern expects is not half-shown."""
    while start > 0 and _TOKEN_CHAR.match(text, start - 1):
        start -= 1
    while end < len(text) and _TOKEN_CHAR.match(text, end):
        end += 1
    return start, end


def _ds_spans(text: str, eng: _Engine) -> Iterator[Span]:
    for pattern in eng.ds_patterns:
        for m in pattern.finditer(text):
            groups = [i for i in range(1, (m.re.groups or 0) + 1) if m.group(i) and len(m.group(i)) >= 6]
            if groups:  # the pattern names the secret part (AWS secret, URL password, npm token)
                yield m.span(groups[-1])
                continue
            s, e = m.span()
            while s < e and text[s] in " \t=:\"'":
                s += 1
            key = _MATCH_KEY.match(text, s, e)
            if key and e - key.end() >= 8:
                s = key.end()
            while e > s and text[e - 1] in " \t\"'":
                e -= 1
            if e > s:
                yield _token_span(text, s, e)


def _targeted_spans(text: str) -> Iterator[Span]:
    for pattern, group in _TARGETED:
        for m in pattern.finditer(text):
            if group:
                s, e = m.span(group)
                if e > s:
                    yield s, e
            else:
                yield _token_span(text, *m.span())
    for m in _BASIC.finditer(text):
        raw = m.group(1)
        try:
            decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if ":" in decoded and decoded.isprintable():  # user:password, not the word "Basic information"
            yield m.span(1)
    if "334" in text:
        for m in _SMTP_334.finditer(text):
            yield m.span(1)


def _at_line_start(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return _LINE_PREFIX.fullmatch(text, line_start, pos) is not None


def _line_end(text: str, pos: int) -> int:
    m = _LINE_END.search(text, pos)
    return m.start() if m else len(text)


def _indented_block(text: str, key_pos: int, after: int) -> Span | None:
    """The lines after a YAML `key: |` (or `key:` alone) that are indented deeper than the key."""
    line_start = text.rfind("\n", 0, key_pos) + 1
    indent = key_pos - line_start
    nl = text.find("\n", after)
    if nl < 0:
        return None
    pos = end = nl + 1
    while pos < len(text):
        nxt = text.find("\n", pos)
        line = text[pos : nxt if nxt >= 0 else len(text)]
        if line.strip():
            if len(line) - len(line.lstrip()) <= indent:
                break
            end = pos + len(line.rstrip())
        if nxt < 0:
            break
        pos = nxt + 1
    return (nl + 1, end) if end > nl + 1 else None


def _value_span(text: str, raw: str, pos: int, key_pos: int, op: str, header: bool) -> Span | None:
    """Where the value after a secret key's operator (at `pos`) is, or None when there is none.

    `text` is the detection view, `raw` the text itself (same offsets): a quoted value is read in `raw`,
    where an escaped line break inside the quotes is still part of the value."""
    n = len(text)
    if pos >= n:
        return None
    quote = re.match(r"\\{0,2}[\"']", raw[pos : pos + 3])
    if quote:  # quoted: up to the same (possibly escaped) quote, or the end of the line if it was cut
        delim = quote.group(0)
        start = pos + len(delim)
        end = start
        while end < n and raw[end] not in "\r\n":
            if raw.startswith(delim, end) and (len(delim) > 1 or raw[end - 1] != "\\"):
                break
            end += 1
        return (start, end) if end > start else None
    if header or _at_line_start(text, key_pos):
        end = _line_end(text, pos)
        value = text[pos:end].rstrip()
        if not value or (op == ":" and _YAML_BLOCK.fullmatch(value)):
            return _indented_block(text, key_pos, pos) if op == ":" else None
        return pos, pos + len(value)
    m = _BARE_VALUE.match(text, pos)
    return m.span() if m else None


def _assignment_spans(text: str, raw: str) -> Iterator[Span]:
    for m in _ASSIGN.finditer(text):
        key = m.group("key")
        if not is_secret_key(key):
            continue
        op = m.group("op")
        header = _is_header_key(key) or (op == ":" and "-" in key.lstrip("-") and _at_line_start(text, m.start()))
        span = _value_span(text, raw, m.end(), m.start(), op, header)
        if span:
            yield span
    if "alue" in text:
        for m in _NAME_VALUE.finditer(text):
            if is_secret_key(m.group("k")):
                span = _value_span(text, raw, m.end(), m.start("vk"), "=", False)
                if span:
                    yield span
    if "</" in text:
        for m in _XML_ELEMENT.finditer(text):
            tag = m.group("tag").rsplit(":", 1)[-1]
            attrs = m.group("attrs") or ""
            named = _XML_NAME_ATTR.search(attrs)
            if is_secret_key(tag) or (named is not None and is_secret_key(named.group(1))):
                s, e = m.span("body")
                body = m.group("body")
                cdata = body.find("<![CDATA[")
                if cdata >= 0:
                    s, e = s + cdata + 9, s + body.rfind("]]>")
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                if e > s:
                    yield s, e


def _entropy_spans(text: str, eng: _Engine) -> Iterator[Span]:
    for m in _ENTROPY_RUN.finditer(text):
        run = m.group(0).rstrip("-_")
        if run.startswith(("/", "-")) or "//" in run or eng.is_sequential(run) or eng.is_uuid(run):
            continue
        if _HEX.fullmatch(run):
            if len(run) < 32 or eng.hex_entropy(run) <= eng.hex_limit:
                continue
            if _DIGEST_LABEL.search(text, max(0, m.start() - 12), m.start()):
                continue  # a labelled checksum or commit: evidence, not a credential
        elif not any(c.isdigit() for c in run) or eng.b64_entropy(run) <= eng.b64_limit:
            continue
        yield m.start(), m.start() + len(run)


_ESCAPED_BREAK = re.compile(r"\\[nrt]")
_BREAKS = {"n": "\n", "r": "\r", "t": "\t"}


def _unescape_break(m: re.Match[str]) -> str:
    return " " + _BREAKS[m.group(0)[1]]


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _apply(text: str, spans: list[Span]) -> str:
    parts: list[str] = []
    last = 0
    for s, e in spans:
        parts.append(text[last:s])
        chunk = text[s:e]
        parts.append(_blank_lines(chunk) if "\n" in chunk or "\r" in chunk else REDACTED)
        last = e
    parts.append(text[last:])
    return "".join(parts)


def redact(text: str) -> str:
    """`text` with every secret replaced by [REDACTED] (see the module docstring for the contract).

    Pass the whole text (a whole log tail, a whole report, a whole record), never a piece cut from it.
    """
    if not text:
        return text
    text = _redact_blocks(strip_control(text))
    eng = _engine()
    # Detectors look at a view where escaped line breaks (JSON strings, Python reprs: slack_sdk's debug
    # log) are real ones, so a key after "\\n" starts a line; offsets are the same as in `text`.
    view = _ESCAPED_BREAK.sub(_unescape_break, text) if "\\" in text else text
    spans = [
        *_ds_spans(view, eng),
        *_targeted_spans(view),
        *_assignment_spans(view, text),
        *_entropy_spans(view, eng),
    ]
    spans = [(s, e) for s, e in spans if text[s:e] != REDACTED]
    if not spans:
        return text
    # A value found once is hidden wherever else it appears (a password echoed in a later error line).
    values = {text[s:e] for s, e in spans if e - s >= 8 and "\n" not in text[s:e]}
    if values:
        again = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
        spans.extend(m.span() for m in again.finditer(text))
    return _apply(text, _merge(spans))


def redact_lines(lines: Iterable[str]) -> tuple[str, ...]:
    """Redact lines as one text (a key block or a YAML value spans lines); one line out per line in.

    Lines must not contain line breaks themselves (splitlines() output).
    """
    lines = tuple(lines)
    if not lines:
        return ()
    out = redact("\n".join(lines)).split("\n")
    if len(out) != len(lines):  # a line held a break after all: keep the count, never the secret
        return tuple(redact(line) for line in lines)
    return tuple(out)


def redact_and_clip(text: str, limit: int, marker: str = "...") -> str:
    """Redact the whole `text`, then cut it to at most `limit` characters (ending with `marker` when cut).

    The order matters: a secret cut first may no longer look like one (a quoted value without its closing
    quote, a key block without its END line), and half of it would be shown.
    """
    text = redact(text)
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker[:limit]


def redact_data(value: Any) -> Any:
    """A JSON-ready copy of `value` with every string redacted whole, and every value under a secret key
    (`{"password": "x"}`) replaced, whatever it looks like. Unknown objects become redacted strings."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            if is_secret_key(key) and v not in (None, "", [], {}) and not isinstance(v, (Mapping, list, tuple)):
                out[key] = REDACTED
            else:
                out[key] = redact_data(v)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_data(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return redact_data(dump(mode="json"))
    return redact(str(value))


# ---------------------------------------------------------------------------- logging

_MARK = "_campaign_bot_redacted"
_local = threading.local()


def _redact_record(record: logging.LogRecord) -> None:
    """Redact a log record in place: the formatted message, the exception and stack text."""
    if getattr(record, _MARK, False) or getattr(_local, "busy", False):
        return
    _local.busy = True  # redaction must never log through itself
    try:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must neither crash logging nor bypass redaction
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        # The formatter prints exc_text when set; the live exception (and its locals) goes no further.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, _MARK, True)
    finally:
        _local.busy = False


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record passing through it (and never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_factory_lock = threading.Lock()
_factory_installed: list[bool] = []


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Redact every log record of every logger, at every level (idempotent; call once logging is set up).

    Records are redacted where they are created (the log record factory), so records of libraries that
    log on their own loggers or handlers (slack_sdk's DEBUG request and response bodies, paramiko,
    waitress) are covered too; a `RedactingFilter` is also put on `logger`'s handlers (default: the root
    logger) for records made without the factory (`logging.makeLogRecord`, e.g. from another process).
    """
    _engine()  # load the detectors now, not inside the first log call
    with _factory_lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                _redact_record(record)
                return record

            logging.setLogRecordFactory(factory)
            _factory_installed.append(True)
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
