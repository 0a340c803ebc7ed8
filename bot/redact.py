"""Redaction of secrets in anything the bot shows, posts, uploads, logs or audits, and terminal-safe text.

Contract (every sink relies on it):

- `redact(text)` works on the **whole** text, before anything is cut: multi-line forms (PEM and PuTTY
  private keys, YAML block values, XML elements spanning lines, SMTP AUTH exchanges) are found across
  lines, and a secret whose text was already cut by someone else (a quoted value without its closing
  quote, a key block without its END line, a tail that starts inside a key) is still redacted to its end.
  Callers that must shorten a text use `redact_and_clip`, never "cut, then redact".
- A redacted value becomes `[REDACTED]`; the key, header name or PEM marker around it stays, so the
  evidence still says *what* was there. Redaction never adds or removes a line break, and it is
  idempotent (`redact(redact(t)) == redact(t)`), also once the text is quoted line by line: the report
  shows a log's last lines as `> line` and evidence as `| line`, and redacting that report again changes
  nothing (a block value, an element or a key block is read inside the quote and ends with it).
- Terminal control sequences and invisible format characters are removed first (`strip_control`): they
  could otherwise hide a key from the detectors ("pass<ESC>[0mword=...") and they are unsafe in a terminal.
- A value found once is redacted wherever else it occurs in the same text.

What finds secrets: the token catalogue of **detect-secrets** (Yelp's maintained detector: AWS key ids
and secrets, GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, npm, PyPI, Azure storage keys, Discord,
Mailchimp, OpenAI, Square, Telegram, Artifactory), its keyword list, its entropy measure and its
false-positive heuristics; plus targeted forms it does not cover, each marked below with why: key/value
assignments in JSON/YAML/XML/INI/URL/header syntax with *bounded* values (its keyword regexes take the rest
of the line, which would destroy evidence such as a Campaign error code after the value), Slack `xoxe`/`xapp`,
`github_pat_`, Stripe test keys, Google `AIza`/`GOCSPX-`/`ya29.`, bare npm tokens, cut JWTs, Oracle
`user/pass@host` and Campaign's `-setdblogin:...:db/password@server`, `Bearer`/`Basic` credentials, SMTP
AUTH (the multi-line exchange, and every base64 argument of a one-line `AUTH LOGIN <user> <password>`),
passwords in command lines (`mysql -pX`, `sshpass -p X`, `curl -u user:X`, `redis-cli -a X`, `sqlcmd -P X`,
`ldapsearch -w X`, and any command's option named for a secret: `--password X`, `-storepass X`; see
"command lines" below for what `-p VALUE` takes; `PGPASSWORD=X psql ...` hides X only), in prose (`with
password 'X'`, `the password is X`, `the password for prod is: X`) and in SQL (`IDENTIFIED BY X`,
`PASSWORD 'X'`), Campaign's option records (`<option name="NmsTracking_Password" stringValue="X"/>`) and
JavaScript logon (`xtk.session.Logon("admin", "X", ...)`), Spring's `<property name="..password"><value>X`,
and private key blocks as blocks (it only flags their BEGIN line); `.pgpass` and `.netrc` entries, crypt(3)
password hashes (`$6$...`, `$apr1$...`, `$2y$...`: the scheme stays), a login field holding `user/password`
(`<dbcnx login="neolane/x"/>`), and a value wrapped onto the next line (after a `key=` ending its line,
or a token running on as one lone token line). Evidence that looks like a secret is left alone: OpenSSH
fingerprints (`SHA256:...`) and public keys, labelled digests, request ids and git revisions, checksum
tools' output (`<hex>  <file>`, `SHA256 (<file>) = <hex>`), DKIM/ARC signature headers, the port and
database after URL credentials, MySQL's `(using password: YES)`; and values that stand for no secret:
placeholders (`none`, `null`, `(not set)`, `<password>`, `****`, booleans), references to where it is kept
(`${DB_PASSWORD}`, `$PGPASS`, `{{ vault_pw }}`, `%(pw)s`), and an empty value before the next assignment
(`password= user=x`).

`install_log_redaction()` makes every log record of every logger (slack_sdk's DEBUG request/response
logging included) pass through `redact`, message, arguments, exception and stack text alike.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import math
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
    "preload",
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


# The same sequences written as escapes inside a JSON string or a Python repr ("\\u001b[0m", "\\x1b[0m"):
# harmless as text, but they could still split a key from the detectors.
_ESCAPED_CSI = re.compile(r"\\(?:u001[bB]|x1[bB]|033|e)\[[0-?]*[ -/]*[@-~]")


_ANY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def strip_control(text: str) -> str:
    """`text` without terminal control sequences or other control characters (`\\n` and `\\t` are kept).

    For host text shown in a terminal: an escape sequence from a host could recolour, move the cursor,
    clear the screen, set the window title or write to the clipboard of the operator's terminal.
    """
    if not _ANY_CONTROL.search(text):  # the common case, and a much faster scan
        return text
    return _CONTROL_RE.sub("", text)


# ---------------------------------------------------------------------------- secret keys

# Key words that make a key secret wherever they appear in it (`db_password`, `internalPassword`,
# `X-Security-Token`, `AccountKey`): detect-secrets' keyword list (keyword.DENYLIST: password, passwd, pwd,
# secret, api_key, private_key, db_pass, ...; read when the detectors load), plus the forms it lacks:
# tokens, session ids, cookies, signatures, headers, more languages.
_OWN_KEY_WORDS = (
    *("passphrase", "passwort", "wachtwoord", "kennwort", "motdepasse", "token", "credential", "accesskey"),
    *("sharedaccesskey", "sharedaccesssignature", "masterkey", "encryptionkey", "signingkey", "secretkey"),
    *("subscriptionkey", "licensekey", "sessionid", "sessionkey", "sessid", "signature", "authorization"),
    *("cookie", "bearer", "storepass"),  # keytool/jarsigner -storepass, -srcstorepass, -deststorepass
)
# Short words that count only as a whole part of the key (`db_pass`, `mysqlPwd`, `sig`), not inside
# other words (`bypass`, `design`).
_KEY_PARTS = frozenset({"pass", "pwd", "pw", "psw", "sig", "sid", "auth", "sas"})
# A last part that makes the key about the secret, not the secret (`password_file`, `tokenType`).
_NOT_SECRET_LAST = frozenset(
    {
        *("file", "path", "dir", "type", "len", "length", "size", "count", "expires", "expiry", "expiration"),
        *("ttl", "policy", "age", "time", "date", "at", "name", "url", "uri", "endpoint", "format", "required"),
        *("enabled", "mode", "changed", "updated", "reset", "hint", "timeout", "interval", "retries", "retry"),
        *("limit", "level", "version", "method", "methods", "scheme", "provider", "header", "user", "username"),
        *("login", "host", "port", "server", "stdin", "prompt"),
    }
)
_NOT_SECRET_KEYS = frozenset(
    {"tokenizer", "tokenize", "tokenized", "tokens", "secretary", "authorizations"}
    # Signatures every sent e-mail carries in its headers (public; their d=, s= tags are DKIM evidence).
    | {"dkimsignature", "arcmessagesignature", "domainkeysignature"}
)
_HEADER_KEYS = frozenset({"authorization", "proxyauthorization", "cookie", "setcookie"})
_KEY_PART_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^\W\d_]+")


# Where a key word may sit inside a key (every key word contains one); found with str.find on the
# lower-cased text.
_HINTS = (
    "pass", "pw", "psw", "secret", "token", "cred", "key", "sig", "sid", "auth", "sess", "cookie", "bearer",
    "contrase", "kennwort", "wachtwoord",
)  # fmt: skip
_HINT_RE = re.compile("(?i:" + "|".join(_HINTS) + ")")  # the same, for text whose lower case changes length


def _key_parts(key: str) -> list[str]:
    return [p.lower() for p in _KEY_PART_RE.findall(key)]


def is_secret_key(key: str) -> bool:
    """Whether a field, attribute, header or parameter named `key` holds a secret (case and separators ignored)."""
    if not _HINT_RE.search(key):
        return False
    return _secret_key(key) if len(key) <= 128 else _secret_key.__wrapped__(key)


@functools.lru_cache(maxsize=4096)  # the same few keys come back in every text
def _secret_key(key: str) -> bool:
    parts = _key_parts(key)
    if not parts or parts[-1] in _NOT_SECRET_LAST:
        return False
    joined = "".join(parts)
    if joined in _NOT_SECRET_KEYS:
        return False
    return any(w in joined for w in _engine().key_words) or any(p in _KEY_PARTS for p in parts)


def _is_header_key(key: str) -> bool:
    return "".join(_key_parts(key)) in _HEADER_KEYS


# ---------------------------------------------------------------------------- multi-line blocks

# A line break: real, escaped inside a JSON string or a Python repr, or " | " (how the bot's checks and
# parsers flatten a multi-line host text into one evidence line).
_SEP = r"(?:\r?\n|\\r\\n|\\n| ?\| )"
_PEM_LABEL = r"[A-Z0-9]+(?: [A-Z0-9]+)*"
# Every PEM block's body is redacted: private keys (PKCS#1/#8, EC, DSA, OpenSSH, encrypted, PGP) are secret;
# certificates, CSRs and public keys are not, but their base64 carries no evidence for a reader and a
# body line cannot be told from a key line once a block is cut, so they are treated alike.
_PEM_BEGIN = re.compile(r"-----BEGIN " + _PEM_LABEL + r"-----")
_PEM_END = re.compile(r"-----END " + _PEM_LABEL + r"-----")
# The body of a block cut after its BEGIN line: base64 lines and `Header: value` lines (Proc-Type, DEK-Info),
# maybe quoted (`> `); a dated log line after it is not one.
_PEM_BODY = re.compile(
    r"(?:" + _SEP + r"[ \t]*(?:>[ \t]*)*(?:[A-Za-z][\w-]*:[^\r\n\\|]*|[A-Za-z0-9+/=]++(?![-:]\d\d))?[ \t]*)*"
)
# PuTTY key files: the private part is the `Private-Lines: N` base64 lines, and the MAC.
_PUTTY = re.compile(
    r"(Private-Lines:[ \t]*\d+[ \t]*" + _SEP + r")((?:[ \t]*[A-Za-z0-9+/=]+[ \t]*(?:" + _SEP + r"|$))+)"
)
_PUTTY_MAC = re.compile(r"(?<=Private-MAC:)[ \t]*([0-9A-Fa-f]+)")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


_LINE_LEAD = re.compile(r"[ \t>|]*")


def _blank_lines(body: str) -> str:
    """Each non-blank line of `body` becomes [REDACTED] (its indentation and a quote prefix such as the
    report's `> ` or `| ` kept, so a quoted text stays quoted); line breaks stay."""

    def one(m: re.Match[str]) -> str:
        line = m.group(0)
        lead = _LINE_LEAD.match(line)
        n = lead.end() if lead else 0
        return line if n == len(line) else line[:n] + REDACTED

    return re.sub(r"[^\r\n]+", one, body)


def _sep_before(text: str, j: int) -> int:
    """The length of a line break (see `_SEP`) that ends at `j`, or 0."""
    if j >= 1 and text[j - 1] == "\n":
        return 2 if j >= 2 and text[j - 2] == "\r" else 1
    if j >= 2 and text[j - 2 : j] == "\\n":
        return 4 if text[max(0, j - 4) : j] == "\\r\\n" else 2
    if j >= 1 and text[j - 1] == "|":
        return 2 if j >= 2 and text[j - 2] == " " else 1
    return 0


def _pem_tail_start(text: str, end_marker: int) -> int:
    """Where the base64 lines just before an END line begin, when their BEGIN line was cut off (a log tail
    that starts inside a key). Returns `end_marker` when there are none."""
    start = i = end_marker
    while True:
        while i > 0 and text[i - 1] in " \t>":  # `>`: a quoted text (the report's `> ` lines)
            i -= 1
        sep = _sep_before(text, i)
        if not sep:
            return start
        j = i - sep
        while j > 0 and text[j - 1] in " \t>":
            j -= 1
        b = j
        while b > 0 and text[b - 1] in _B64_CHARS:
            b -= 1
        if b > 0 and text[b - 1] == "\\" and text[b] in "nr":
            b += 1  # the n of an escaped line break is not part of the line
        if b == j:
            return start
        start = i = b


def _pem_spans(text: str) -> list[Span]:
    """The bodies of PEM blocks: between a BEGIN line and the next END line; after a BEGIN line whose END
    was cut off (`_PEM_BODY`); before an END line whose BEGIN was cut off (`_pem_tail_start`). Linear in
    the text, however many markers it holds."""
    begins = [m.span() for m in _PEM_BEGIN.finditer(text)] if "-----BEGIN " in text else []
    ends = [m.start() for m in _PEM_END.finditer(text)] if "-----END " in text else []
    spans: list[Span] = []
    paired: set[int] = set()
    j = 0
    for i, (_, body) in enumerate(begins):
        next_begin = begins[i + 1][0] if i + 1 < len(begins) else len(text)
        while j < len(ends) and ends[j] < body:
            j += 1
        if j < len(ends) and ends[j] < next_begin:
            spans.append((body, ends[j]))
            paired.add(j)
            j += 1
        else:
            cut = _PEM_BODY.match(text, body, next_begin)
            if cut and cut.end() > body:
                spans.append((body, cut.end()))
    for k, end in enumerate(ends):
        if k not in paired:
            start = _pem_tail_start(text, end)
            if start < end:
                spans.append((start, end))
    return spans


def _redact_blocks(text: str) -> str:
    if "-----BEGIN " in text or "-----END " in text:
        spans = _merge(_pem_spans(text))
        if spans:
            parts, last = [], 0
            for s, e in spans:
                parts += [text[last:s], _blank_lines(text[s:e])]
                last = e
            text = "".join([*parts, text[last:]])
    if "Private-Lines:" in text:
        text = _PUTTY.sub(lambda m: m.group(1) + _blank_lines(m.group(2)), text)
    if "Private-MAC:" in text:
        text = _PUTTY_MAC.sub(" " + REDACTED, text)
    return text


# ---------------------------------------------------------------------------- detectors (spans)
#
# Each detector yields (start, end) spans of secret values in the detection view of the text; the spans
# are merged and replaced at the end. Speed matters (every log record passes here), so the patterns start
# with a literal where they can (the regex engine then skips ahead fast), rare forms are gated by a plain
# substring test, and key/value assignments are found from their key words, not by trying every position.

_KEY_CHARS = frozenset("_.-$@")
# After a key: its closing quote (the same as the opening one), then the operator.
_OPERATOR = re.compile(r"[ \t]*(:=|=>|==|=|:)(?!//)[ \t]*")
# `name: DB_PASSWORD` + `value: x` (Kubernetes env, XML <property name=".." value=".."/>, JSON pairs).
# Campaign's option records name the value by its type (`<option name="NmsTracking_Password"
# stringValue=".."/>`, `memoValue`), and an XML element may carry other attributes between the two.
_NAME_VALUE = re.compile(
    r"(?<![\w.\-])\\*[\"']?(?i:internal_?name|name|key|property|param|parameter|variable)\\*[\"']?[ \t]*[:=][ \t]*"
    r"\\*[\"']?(?P<k>[\w.\-]+)\\*[\"']?"
    r"(?:[ \t]+[\w:.\-]{1,64}[ \t]*=[ \t]*\\*[\"'][^\"'<>\r\n]{0,64}\\*[\"']){0,4}"
    r"[ \t]*[,;]?[ \t]*(?:\r?\n[ \t]*(?:>[ \t]*)*-?[ \t]*)?"
    r"\\*[\"']?(?P<vk>(?i:(?:string|memo|long|double|text|str)?value))\\*[\"']?[ \t]*[:=][ \t]*"
)
# The same with the value attribute first (`<option stringValue=".." name="NmsTracking_Password"/>`).
_VALUE_NAME = re.compile(
    r"(?<![\w.\-])(?i:(?:string|memo|long|double|text|str)?value)[ \t]*=[ \t]*\\*[\"'](?P<v>[^\"'<>\r\n\\]{0,512})\\*[\"']"
    r"(?:[ \t]+[\w:.\-]{1,64}[ \t]*=[ \t]*\\*[\"'][^\"'<>\r\n]{0,64}\\*[\"']){0,4}"
    r"[ \t]+(?i:internal_?name|name|key)[ \t]*=[ \t]*\\*[\"'](?P<k>[\w.\-]+)\\*[\"']"
)
# <password>x</password>, <urn:strPassword>x</urn:strPassword>, <entry key="password">x</entry>, CDATA too:
# the content after the opening tag up to the next tag, or to the end of the text when it was cut.
_XML_TAG = re.compile(r"<(?P<tag>[A-Za-z_][\w:.\-]*)(?P<attrs>[ \t\r\n][^<>]*)?(?<!/)>")
_XML_NAME_ATTR = re.compile(r"\b(?i:internal_?name|name|key|id)[ \t]*=[ \t]*\\*[\"'](?P<k>[^\"'<>\\]*)\\*[\"']")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.S)
# An unquoted value in the middle of a line ends at white space, at `&` (URL query), at a quote or an angle
# bracket, and at `;` or `,` only when another `key=` follows (connection strings, YAML flow maps). A value
# that opens an object or a list is not one: the keys inside it are looked at on their own.
_BARE_VALUE = re.compile(
    r"(?![\[{])(?:[^\s\"'&<>;,]|[;,](?![ \t]*[\"']?[\w.\-]+[\"']?[ \t]*[:=])|&(?![&\s]|(?:amp;)?[\w.\-\[\]%]+=))+"
)
# A whole-line value (`password = two words`) still ends where another assignment starts on the line
# (`pass=x user=admin`, `password=x;host=db`).
_NEXT_ASSIGNMENT = re.compile(r"(?:[ \t]+|[ \t]*[;,&][ \t]*)[\"']?[A-Za-z_][\w.\-]*[\"']?[ \t]*=(?!=)")
# `PGPASSWORD=x psql -h db`: a shell line setting a variable for the command after it; the value is one word.
_SHELL_COMMAND_AFTER = re.compile(
    r"[ \t]+(?:[A-Za-z_]\w*=\S*[ \t]+)*(?:\S*/)?(?:"
    r"(?:psql|pg_\w+|mysql\w*|mariadb\w*|nlserver|sqlplus|sqlcmd|curl|wget|java|python[\d.]*|node|sh|bash|env|sudo"
    r"|exec|docker|kubectl|redis-cli|mongo\w*|ldap\w+|make|npm|ansible\S*|terraform)(?:[ \t]|$)"
    r"|[\w.\-]+[ \t]+-{1,2}[A-Za-z])"
)
# MySQL's `Access denied for user 'u'@'h' (using password: YES)` says whether one was given.
_NOT_VALUES = frozenset({"YES", "NO"})
_OPEN_QUOTE = re.compile(r"\\*[\"']")
_LINE_PREFIX = re.compile(r"[ \t]*(?:>[ \t]*)*(?:[-*+<][ \t]*|export[ \t]+|set[ \t]+)?")
_YAML_KEY_LINE = re.compile(r"[ \t]*(?:-[ \t]+)?[\w.\-\"']+[ \t]*:(?:[ \t]|$)")
_YAML_BLOCK = re.compile(r"[|>][+-]?[0-9]?[ \t]*(?:#.*)?")
# A whole-line value ends at the line's end, or at a closing quote when the "line" sits inside a quoted
# string (a header or an env line inside JSON or a Python repr).
_LINE_END = re.compile(r"[\"'](?=\s|[,}\]);]|$)|\r?\n|\\r|\\n|$")


@dataclass(frozen=True)
class _Rule:
    """A targeted form: `pattern`, the `group` that is secret (0: the whole token), run only when one of
    `gate` occurs in the lower-cased text, and (`word`) only where it does not start inside a word. With
    `at_gate`, the pattern starts with one of the `gate` words (any case) and is tried only where one occurs
    (found with str.find): a pattern that ignores case has no literal for the regex engine to skip ahead with."""

    pattern: re.Pattern[str]
    group: int = 0
    gate: tuple[str, ...] = ()
    word: bool = True
    at_gate: bool = False


@functools.lru_cache(maxsize=64)
def _words_re(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("(?i:" + "|".join(re.escape(w) for w in words) + ")")


# Forms detect-secrets lacks, each with why.
_RULES: tuple[_Rule, ...] = (
    # Slack: detect-secrets knows xox[abposr] with digit groups only; refresh (xoxe, xoxe.xoxp) and app tokens.
    _Rule(re.compile(r"xox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]{6,}")),
    _Rule(re.compile(r"xapp-\d+-[A-Za-z0-9-]{6,}")),
    # GitHub fine-grained tokens (detect-secrets: ghp_/gho_/ghu_/ghs_/ghr_ only).
    _Rule(re.compile(r"github_pat_[A-Za-z0-9_]{20,}")),
    # Stripe: detect-secrets knows live secret keys of exactly 24 characters; test keys, webhook secrets.
    _Rule(re.compile(r"[sr]k_(?:live|test)_[0-9A-Za-z]{10,}"), gate=("k_live_", "k_test_")),
    _Rule(re.compile(r"whsec_[0-9A-Za-z+/=]{20,}")),
    # npm tokens outside an .npmrc line.
    _Rule(re.compile(r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    # Google: API keys, OAuth client secrets, OAuth access tokens (none in detect-secrets).
    _Rule(re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    _Rule(re.compile(r"GOCSPX-[0-9A-Za-z_\-]{20,}")),
    _Rule(re.compile(r"ya29\.[0-9A-Za-z_\-]{20,}")),
    # Azure AD client secrets (`xxx8Q~...`).
    _Rule(re.compile(r"(?<![\w~.-])[A-Za-z0-9_.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}"), gate=("q~",), word=False),
    # JWTs, also cut ones (detect-secrets requires all three parts to decode). Only from the start of a
    # token, so a long run of "eyJ" is scanned once, not once per occurrence.
    _Rule(
        re.compile(r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}+\.eyJ[A-Za-z0-9_\-]*+(?:\.[A-Za-z0-9_\-+/=]*+)?"),
        gate=("eyJ",),
        word=False,
    ),
    # URL credentials, an empty user name included (redis://:pw@host); the password may contain '@'.
    _Rule(re.compile(r"://[^\s/?#@:\"']{0,256}+:([^\s/?#\"']{1,512})@"), 1, word=False),
    # Campaign: nlserver config -setdblogin:[dbms:]account[:database]/password@server (MSSQL quotes it).
    _Rule(
        re.compile(r"(?i)-setdblogin:[^\s/@]{0,256}+/(\\*\"[^\"\r\n]*\"?|[^\s@\"\\]+)(?=@|\s|$|\\)"),
        1,
        gate=("setdblogin",),
        word=False,
    ),
    # Oracle: jdbc:oracle:thin:user/pass@host, sqlplus user/pass@tns, CONNECT user/pass.
    _Rule(
        re.compile(r"(?i)jdbc:oracle:[a-z0-9]+:@?[^\s/@\"']{1,256}+/(\"[^\"\r\n]*\"?|[^\s@\"'/]+)"),
        1,
        gate=("jdbc:oracle",),
        word=False,
    ),
    _Rule(
        re.compile(
            r"(?i)(?:sqlplus|sqlldr|expdp|impdp|exp|imp|rman|dgmgrl)(?:[ \t]++-\S{1,64}+){0,8}[ \t]++"
            r"(?:\\*[\"'])?[^\s/@\"'\\-][^\s/@\"'\\]{0,256}+/"  # the connect string may be quoted as a whole
            r"(\\*\"[^\"\r\n\\]*(?:\\*\")?|\"[^\"\r\n]*\"?|[^\s@\"'/\\]+)"
        ),
        1,
        gate=("sqlplus", "sqlldr", "expdp", "impdp", "exp ", "imp ", "rman", "dgmgrl"),
    ),
    _Rule(
        re.compile(r"(?:CONNECT|connect|Connect|CONN|conn)[ \t]++[^\s/@\"']{1,256}+/(\"[^\"\r\n]*\"?|[^\s@\"'/]+)"),
        1,
        gate=("conn",),
    ),
    # Campaign session tokens (Adobe's SDK: test/mock.js LOGON_RESPONSE, `___C8B4A541-48DC-…`): `___` and a
    # GUID anywhere; any other `___…` value right after a "session" or "token" word (`___3f0c…$sess`).
    _Rule(
        re.compile(r"___[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Za-z])"), gate=("___",), word=False
    ),
    _Rule(
        re.compile(r"(?i:session|token)[\w\- ]{0,24}?[ \t:=\"'(>]{1,6}(___[A-Za-z0-9$@._\-+/=]{4,})"),
        1,
        gate=("___",),
        word=False,  # also inside a name: pstrSessionToken, X-Session-Token, __sessiontoken
    ),
    # A login that carries its password (Oracle's `user/password` convention) in a login or user field:
    # `<dbcnx login="neolane/x" .../>`, `user=app/x`; the user name stays. A path (`user=/home/x`) is none.
    _Rule(
        re.compile(
            r"(?i)(?<![\w.\-])(?:login|user(?:name)?|uid|account)\\*[\"']?[ \t]*[=:][ \t]*\\*[\"']?"
            r"[A-Za-z][\w$#.\-]{0,128}+/([^\s/\"'@:<>&;,\\]{1,256}+)(?=\\*[\"']|[\s@;,&]|$)"
        ),
        1,
        gate=("login", "user", "uid", "account"),
        word=False,
        at_gate=True,
    ),
    # .netrc / _netrc (curl, git, ftp, pip): `machine host login user password x`, on one line or several
    # (a login or account comes first, so "the default password is" is prose, not an entry).
    _Rule(
        re.compile(
            r"(?i)\b(?:machine[ \t\r\n]++\S++[ \t\r\n]++|default[ \t\r\n]++)"
            r"(?:(?:login|account|port|protocol)[ \t\r\n]++\S++[ \t\r\n]++){1,4}"
            r"password[ \t\r\n]++([^\s\"'\\]++)"  # a quote or backslash ends it: the string it sits in
        ),
        1,
        gate=("machine", "default"),
        at_gate=True,
    ),
    # Password hashes in crypt(3)'s modular format (/etc/shadow, htpasswd, bcrypt and argon2 in app
    # tables): the salt and the hash go, the scheme (`$6$`, `$apr1$`, `$2b$`) stays. They are cracked offline.
    _Rule(
        re.compile(r"\$(?:1|2[abxy]?|5|6|7|y|gy|apr1|md5|sha1|argon2(?:id|i|d))\$([./A-Za-z0-9$=,+\-]{8,}+)"),
        1,
        gate=("$",),  # one scan; the pattern starts with a literal, so finding its candidates is fast
        word=False,
    ),
    # French prose and forms: "mot de passe : x".
    _Rule(re.compile(r"(?i)mot[ \t]+de[ \t]+passe[ \t]*[:=][ \t]*([^\s\"'<>]+)"), 1, gate=("mot de passe",)),
    # Bearer credentials anywhere (headers are handled whole by the key/value detector).
    _Rule(re.compile(r"(?i:bearer)[ \t]+([A-Za-z0-9\-._~+/]{8,}=*)"), 1, gate=("bearer",)),
    # SMTP AUTH with the initial response on the command line (AUTH PLAIN <base64>).
    _Rule(
        re.compile(
            r"(?i)AUTH[ \t]+(?:PLAIN|LOGIN|XOAUTH2?|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI)[ \t]+"
            r"(?!(?:PLAIN|LOGIN|XOAUTH2?|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI|ANONYMOUS|EXTERNAL)\b)"
            r"([A-Za-z0-9+/]{4,}={0,2})"
        ),
        1,
        gate=("auth",),
    ),
)
# PostgreSQL's password file (`~/.pgpass`, `PGPASSFILE`): `host:port:database:user:password`, one entry a line
# (at a line's start, or after a log record's tab), `\:` escaping a colon. Found from its `:port:` (a number
# or `*`); the host holds a letter, a dot or is `*`, so a MAC address or a time of day is none.
# (The `:port:db:user:` part is found first: in C, so a log's times of day cost next to nothing.)
_PGPASS_PORT = re.compile(r":(?:\d{1,5}|\*):(?:[^\s:\\]|\\.)++:(?:[^\s:\\]|\\.)++:\S")
_PGPASS_LINE = re.compile(
    r"[ \t>|]*(?![0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}:)(?:\*|(?=[\w.\-]*[A-Za-z.])[\w.\-]++)"
    r":(?:\d{1,5}|\*):(?:[^\s:\\]|\\.)++:(?:[^\s:\\]|\\.)++:(\S(?:[^\r\n]*\S)?)[ \t]*(?=\r?$)",
    re.M,
)
# Any other user/pass@host (Oracle style) at the start of a word, not a path component: checked at each '@'.
_USER_PASS_AT = re.compile(r"[A-Za-z][\w$#.\-]*/([^\s/@\"':]{1,128})")
_USER_PASS_BEFORE = frozenset("/.:-@\\")
_HOST_AFTER = re.compile(r"[A-Za-z0-9\[][\w.\-]*")
# A token of a known provider cut short (at the end of a line or before an ellipsis): too short for the
# patterns above, but its prefix says what it is.
_CUT_PREFIXES = (
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-",
    "glimt-", "glptt-", "glagent-", "gloas-", "xox", "xapp-", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "npm_",
    "AIza", "AKIA", "ASIA", "ABIA", "ACCA", "A3T", "SG.", "pypi-AgE", "eyJ", "GOCSPX-", "ya29.", "whsec_",
)  # fmt: skip
_CUT_REST = re.compile(r"[A-Za-z0-9_\-.+/=]{4,}(?=\.\.\.|…|[ \t]*(?:\r?\n|$))")
_BASIC = re.compile(r"(?i:basic)[ \t]+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])")
# SMTP AUTH LOGIN / CRAM-MD5: after a `334 <challenge>` reply, the next line is the client's base64 answer.
_SMTP_334 = re.compile(r"334[ -][A-Za-z0-9+/]*={0,2}[ \t]*\r?$", re.M)
_SMTP_ANSWER = re.compile(r"([A-Za-z0-9+/]{4,}={0,2})[ \t]*\r?$", re.M)
# Candidates for the entropy test: base64/url-safe runs of 20+ characters; '=' only as trailing padding,
# so in KEY=VALUE the key is not part of the value.
_ENTROPY_RUN = re.compile(r"(?<![A-Za-z0-9+/_\-\\])[A-Za-z0-9+/_\-]{20,}(?:={1,2}(?![A-Za-z0-9+/_\-]))?")
# The `key=` in front of a whole-token match (AccountKey=...): the key stays readable.
_MATCH_KEY = re.compile(r"[A-Za-z_][\w.\-]*[ \t]*[=:][ \t]*")
_HEX = re.compile(r"(?:0x)?[0-9a-fA-F]+")
# A hex string right after one of these words is a checksum or the bot's own identifier (a job id is a
# uuid4 hex), evidence rather than a credential.
_DIGEST_LABEL = re.compile(
    r"(?i)(?:sha\d*|md5|commit|digest|checksum|fingerprint|hash|etag|build|job|request|trace|span|correlation"
    r"|revision|rev|git|head|tree|parent|changeset|object|blob)"
    r"(?:[\W_]{0,2}(?i:id|uuid))?[\W_]{0,4}$"  # `X-Request-Id: <hex>`, `trace_id=<hex>`
)
# Checksum tools' output: coreutils (`<hex>  <file>`, `<hex> *<file>`: sha256sum, md5sum) and BSD
# (`SHA256 (<file>) = <hex>`); a hex string of a digest's length there is evidence.
_DIGEST_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
_CHECKSUM_FILE_AFTER = re.compile(r"(?: [ *])[^\s*]")
_BSD_CHECKSUM_BEFORE = re.compile(r"(?i)\b(?:sha[\d-]*|md5|blake2\w*)[ \t]*\([^()\r\n]{1,256}\)[ \t]*=[ \t]*$")
# An OpenSSH public key (`ssh-ed25519 AAAA... comment`: authorized_keys, known_hosts, ssh-keyscan): public.
_PUBLIC_KEY_BEFORE = re.compile(
    r"(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r"(?:-cert-v01@openssh\.com)?[ \t]+$"
)
# An OpenSSH key fingerprint (`SHA256:uNiV...`, `MD5:..`): what doctor and a host-key error show, evidence.
_FINGERPRINT_LABEL = re.compile(r"(?i:SHA(?:1|256|384|512)|MD5):$")
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_\-]*")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

# detect-secrets detectors not used: the keyword and entropy plugins (used here through their keyword
# list and entropy measure, with bounded values), the private key plugin (blocks are handled as blocks),
# public IPs (evidence, not secrets), URL credentials (the targeted form above also takes an empty user
# name and a password holding '@'), JWTs (the targeted form also takes cut ones, and is linear on a run
# of "eyJ" where this one is quadratic), and the vendor assignment forms (Cloudant, IBM, SoftLayer) whose
# matches have no group for the value, so they would hide the key name; the key/value detector covers them.
_DS_SKIPPED = frozenset(
    {
        "KeywordDetector",
        "Base64HighEntropyString",
        "HexHighEntropyString",
        "PrivateKeyDetector",
        "IPPublicDetector",
        "BasicAuthDetector",
        "JwtTokenDetector",
        "CloudantDetector",
        "IbmCloudIamDetector",
        "IbmCosHmacDetector",
        "SoftlayerDetector",
    }
)
# Speed only: detect-secrets patterns that cannot start with a literal (or ignore case) run only when a
# string they need occurs in the text (see `_Text.has`). Keyed by a piece of the pattern; a pattern that
# matches no key here always runs.
_DS_GATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("-us[0-9]", ("-us",)),
    ("AKC[a-zA-Z0-9]", ("AKC",)),
    ("AP[\\dABCDEF]", ("AP",)),
    ("xox(?:a|b|p|o|s|r)", ("xox",)),
    ("k_live_", ("k_live_",)),
    ("aws.{0,20}", ("aws",)),
    ("hooks\\.slack", ("hooks.slack",)),
    ("_authToken=", ("_authtoken",)),  # `//.+/:_authToken=`: quadratic on a long run of slashes otherwise
)


def _ds_gate(pattern: str) -> tuple[str, ...]:
    return next((gate for piece, gate in _DS_GATES if piece in pattern), ())


@dataclass(frozen=True)
class _Engine:
    """detect-secrets' patterns and measures, loaded once (importing it costs about 0.2 s)."""

    ds_patterns: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]
    key_words: tuple[str, ...]
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
            from detect_secrets.plugins.keyword import DENYLIST

            patterns: list[tuple[re.Pattern[str], tuple[str, ...]]] = []
            classes: list[Any] = sorted(get_mapping_from_secret_type_to_class().values(), key=lambda c: c.__name__)
            for cls in classes:
                if issubclass(cls, RegexBasedDetector) and cls.__name__ not in _DS_SKIPPED:
                    patterns.extend((p, _ds_gate(p.pattern)) for p in cls().denylist)
            b64, hexa = Base64HighEntropyString(), HexHighEntropyString()
            _engine_cache.append(
                _Engine(
                    ds_patterns=tuple(patterns),
                    key_words=tuple(dict.fromkeys([*(w.replace("_?", "") for w in DENYLIST), *_OWN_KEY_WORDS])),
                    b64_entropy=b64.calculate_shannon_entropy,
                    hex_entropy=hexa.calculate_shannon_entropy,
                    b64_limit=b64.entropy_limit,
                    hex_limit=hexa.entropy_limit,
                    is_sequential=is_sequential_string,
                    is_uuid=is_potential_uuid,
                )
            )
    return _engine_cache[0]


def preload() -> None:
    """Load detect-secrets in a background thread (its import takes a few hundred ms), so that the first
    redaction of a short-lived process (the CLI) does not wait for it while hosts are being checked."""
    if not _engine_cache:
        threading.Thread(target=_engine, name="redact-preload", daemon=True).start()


@dataclass(frozen=True)
class _Text:
    """The text being redacted: `raw` (after blocks), `view` (see `_view`, same offsets), and `lower`
    (lower-cased view, for gates; `ascii` says whether its offsets are the view's too). A gate string with a
    capital letter is looked for as it is, others in the lower-cased text."""

    raw: str
    view: str
    lower: str
    ascii: bool

    @functools.cached_property
    def hints(self) -> list[int]:
        """Where a key word may start (see `_HINTS`)."""
        if self.ascii:
            return sorted({p for h in _HINTS if h in self.lower for p in _find_all(self.lower, h)})
        return [m.start() for m in _HINT_RE.finditer(self.view)]

    def has(self, gate: tuple[str, ...]) -> bool:
        return not gate or any(g in (self.lower if g.islower() else self.view) for g in gate)


def _token_span(text: str, start: int, end: int) -> Span:
    """Widen a token match to the whole token, so a longer token than the pattern expects is not half-shown."""
    while start > 0 and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    tail = _TOKEN_TAIL.match(text, end)
    return start, tail.end() if tail else end


def _starts_word(text: str, pos: int) -> bool:
    return pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_")


def _ds_spans(t: _Text, eng: _Engine) -> Iterator[Span]:
    text = t.view
    for pattern, gate in eng.ds_patterns:
        if not t.has(gate):
            continue
        covered = -1
        for m in pattern.finditer(text):
            if m.start() < covered:
                continue  # inside a token already widened (a long run of token characters)
            groups = [i for i in range(1, (m.re.groups or 0) + 1) if m.group(i) and len(m.group(i)) >= 6]
            if groups:  # the pattern names the secret part (AWS secret, npm token)
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
                span = _token_span(text, s, e)
                covered = span[1]
                yield span


def _find_all(haystack: str, needle: str) -> Iterator[int]:
    pos = haystack.find(needle)
    while pos >= 0:
        yield pos
        pos = haystack.find(needle, pos + 1)


def _targeted_spans(t: _Text) -> Iterator[Span]:
    text = t.view
    for rule in _RULES:
        if not rule.at_gate and not t.has(rule.gate):  # an `at_gate` rule looks for its words itself
            continue
        covered = -1
        if rule.at_gate:
            tried = (rule.pattern.match(text, p) for p in _positions(t, rule.gate, _words_re(rule.gate)))
            matches: Iterable[re.Match[str]] = (m for m in tried if m)
        else:
            matches = rule.pattern.finditer(text)
        for m in matches:
            if m.start() < covered or (rule.word and not _starts_word(text, m.start())):
                continue
            if rule.group:
                s, e = m.span(rule.group)
                if e > s:
                    yield s, e
            else:
                span = _token_span(text, *m.span())
                covered = span[1]
                yield span
    if "/" in text:
        for at in _find_all(text, "@"):
            start = at
            floor = max(0, at - 256)  # a user/password pair is short; never rescan a long run for each '@'
            while start > floor and not text[start - 1].isspace() and text[start - 1] not in "\"'(<[{=,;@":
                start -= 1
            if start == floor and floor > 0:
                continue
            up = _USER_PASS_AT.match(text, start, at)
            if (
                up
                and up.end() == at
                and (start == 0 or text[start - 1] not in _USER_PASS_BEFORE)
                and _HOST_AFTER.match(text, at + 1)
            ):
                yield up.span(1)
    if ":" in text:
        yield from _pgpass_spans(text)
    for prefix in _CUT_PREFIXES:
        if prefix in text:
            covered = -1
            for pos in _find_all(text, prefix):
                if pos < covered:
                    continue
                rest = _CUT_REST.match(text, pos + len(prefix))
                if rest and _starts_word(text, pos):
                    covered = rest.end()
                    yield pos, rest.end()
    if "basic" in t.lower:
        for m in _BASIC.finditer(text):
            if not _starts_word(text, m.start()):
                continue
            raw = m.group(1)
            try:
                decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                continue
            if ":" in decoded and decoded.isprintable():  # user:password, not the word "Basic information"
                yield m.span(1)
    if "334" in text:
        for pos in _find_all(text, "334"):
            if not (pos == 0 or not text[pos - 1].isalnum()) or not _SMTP_334.match(text, pos):
                continue
            nl = text.find("\n", pos)
            if nl < 0:
                continue
            line_end = text.find("\n", nl + 1)
            line_end = len(text) if line_end < 0 else line_end
            answer = _SMTP_ANSWER.search(text, nl + 1, line_end)
            if answer:
                yield answer.span(1)


def _pgpass_spans(text: str) -> Iterator[Span]:
    covered = tried = -1
    for m in _PGPASS_PORT.finditer(text):
        if m.start() < covered:
            continue
        floor = max(0, m.start() - 256)  # a host name is short; never rescan a long line for each `:port:`
        start = max(text.rfind("\n", floor, m.start()), text.rfind("\t", floor, m.start())) + 1
        if (start == 0 and floor > 0) or start == tried:
            continue
        tried = start
        entry = _PGPASS_LINE.match(text, start)
        if entry:
            covered = entry.end()
            yield entry.span(1)


def _positions(t: _Text, words: tuple[str, ...], pattern: re.Pattern[str]) -> list[int]:
    """Where any of `words` (lower case) starts in the view: found with str.find on the lower-cased text, or
    with `pattern` (the same words, ignoring case) when lower-casing moved the offsets."""
    if t.ascii:
        return sorted({p for w in words if w in t.lower for p in _find_all(t.lower, w)})
    return [m.start() for m in pattern.finditer(t.view)]


def _quoted_end(raw: str, start: int, q: str, level: int) -> int:
    """`_closing_quote`, where a doubled quote (SQL `'it''s'`) is part of the value."""
    end = _closing_quote(raw, start, q, level)
    while not level and raw.startswith(q + q, end):
        end = _closing_quote(raw, end + 2, q, level)
    return end


_UNQUOTED = re.compile(r"[^\"'`]*")


def _word_value(text: str, raw: str, s: int, e: int) -> Span | None:
    """The value in the word text[s:e] (an option's argument): inside its quotes when it opens with one (a
    quoted value may hold spaces, so it can end after the word), else up to the first quote (the closing
    quote of a string the command line sits in: `"cmd": "mysql -pX"`), without a `;`, `|` or `&` that ends
    it (a shell line: `-pX; next`; `ps` output shows no quotes, so one inside a value is kept)."""
    quote = _OPEN_QUOTE.match(raw, s, e)
    if quote:
        start = quote.end()
        end = _quoted_end(raw, start, quote.group(0)[-1], len(quote.group(0)) - 1)
        return (start, end) if end > start else None
    unquoted = _UNQUOTED.match(text, s, e)
    end = unquoted.end() if unquoted else s
    while end > s and text[end - 1] in ";|&":  # `-pX;` or `-pX&&` in a shell line: the command ends there
        end -= 1
    return (s, end) if end > s else None


# ---------------------------------------------------------------------------- command lines
#
# Command lines whose options carry a password, as a log, a shell history, `ps` output, a cron mail or a
# `set -x` trace shows them. Read word by word from the command word to the end of that command (`|`,
# `;`, `&&`, `&` or the line's end), so an option of another command on the same line (`ssh -p 22`,
# `mkdir -p /x`) is never read as one of these:
#
# - mysql and its tools (mysqldump, mysqladmin, mariadb, ...): `-pVALUE` is the password, whatever it is.
#   `-p VALUE` (a space between; `--password VALUE` too) is, for mysql itself, "prompt, then use database
#   VALUE", but it is also what people type with a password; VALUE is hidden unless it is a number, a path
#   (`/`, `~`, `.`), an option (`-h`) or a redirection (`<`), and, since it may be a database name, only
#   where it stands (it is not looked for elsewhere in the text). `--password=VALUE` is a key/value
#   assignment (below). psql is not one of these: its `-p` is a port.
# - sshpass: `-p VALUE` / `-pVALUE` is always the password (sshpass has no port option), a number
#   included; its options end at the wrapped command, whose own `-p` (`ssh -p 22`) is left alone.
# - curl: the password part of `-u user:pw`, `--user user:pw`, `-U`/`--proxy-user` (`-u user` alone
#   makes curl prompt: nothing to hide).
# - redis-cli: `-a VALUE`, `--pass VALUE`.
# - tools whose password option is one letter: sqlcmd, bcp, osql, isql `-P VALUE`; the OpenLDAP clients
#   (ldapsearch, ldapmodify, ...) `-w VALUE`; the MongoDB shells and tools `-p VALUE`; rdesktop `-p VALUE`
#   (attached `-PVALUE`, `-wVALUE` too); smbclient and rpcclient `-U user%password`; zip and unzip `-P VALUE`;
#   7-Zip `-pVALUE` (attached only: `-p` alone makes it prompt, the next word is the archive).
# - htpasswd in batch mode (`-b`, `-nb`, `-cb`, ...): the password is the command's last word (`htpasswd -b
#   file user pw`, `htpasswd -nbB user pw`).
# Any command's long option named for a secret (`--password X`, `-storepass X`, `--passwd X`) is read by
# `_flag_spans`, whatever the command.
_CMD_WORDS = (
    *("mysql", "mariadb", "sshpass", "curl", "redis-cli", "sqlcmd", "bcp", "osql", "isql", "ldap", "mongo"),
    *("rdesktop", "smbclient", "rpcclient", "zip", "7z", "htpasswd"),
)
_CMD_WORDS_RE = re.compile("(?i:" + "|".join(_CMD_WORDS) + ")")
# A command word: maybe with its path, in a quoted string or a `$(...)`.
_CMD_NAME = re.compile(
    r"[\"'`($]*+(?:[^\s/]*+/)*+"
    r"(mysql(?:dump|admin|import|check|show|pump|slap|binlog|sh)?|mariadb(?:-?(?:dump|admin|import|check|show|slap|binlog))?"
    r"|sshpass|curl|redis-cli|sqlcmd|bcp|osql|isql"
    r"|ldap(?:search|modify|add|delete|whoami|passwd|compare|modrdn|exop|url)"
    r"|mongo(?:sh|dump|restore|export|import|stat|top|files)?|rdesktop|smbclient|rpcclient|(?:un)?zip|7z[ar]?|htpasswd)"
    r"(?:\.exe)?[\"'`;)]*+"
)
# The one-letter password option of these commands.
_SHORT_PASSWORD_OPTION = {"sqlcmd": "-P", "ldap": "-w", "mongo": "-p", "rdesktop": "-p", "zip": "-P", "7z": "-p"}
_ATTACHED_ONLY = frozenset({"7z"})
_HTPASSWD_BATCH = re.compile(r"-[A-Za-z]*b[A-Za-z]*")
_CMD_WORD = re.compile(r"\S+")
_CMD_WORD_END = re.compile(r"\S*")
_NOT_MYSQL_PASSWORD = re.compile(r"[-/~.<>|&;(]|\d+$")
_SSHPASS_ARG_OPTIONS = ("-f", "-d", "-P")
_CURL_USER = re.compile(r"--(?:proxy-)?user(?:=|$)|-[uU]")
_SMB_USER = re.compile(r"--user(?:=|$)|-U")


def _command_name(text: str, s: int, e: int) -> str:
    """Which of the commands above the word text[s:e] runs (`mysql`, `sshpass`, `curl`, `redis`), or ""."""
    m = _CMD_NAME.fullmatch(text, s, e)
    if not m:
        return ""
    name = m.group(1)
    if name in ("bcp", "osql", "isql"):
        return "sqlcmd"
    if name.startswith(("ldap", "mongo")):
        return name[:5] if name.startswith("mongo") else "ldap"
    if name == "rpcclient":
        return "smbclient"
    if name.endswith("zip") or name.startswith("7z"):
        return name[:2] if name.startswith("7z") else "zip"
    return "redis" if name == "redis-cli" else "mysql" if name.startswith(("mysql", "mariadb")) else name


def _ends_command(word: str) -> bool:
    return word[-1] in ";|&" or word[0] in ";|&"


def _command_spans(t: _Text) -> Iterator[tuple[int, int, bool]]:
    """Password spans in command lines (see above), each with whether it may be looked for elsewhere in
    the text too (False for mysql's `-p VALUE`, which may be a database name)."""
    text = t.view
    positions = _positions(t, _CMD_WORDS, _CMD_WORDS_RE)
    k = 0
    line_end = 0
    while k < len(positions):
        pos = positions[k]
        start = text.rfind("\n", line_end, pos) + 1
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        first = k
        while k < len(positions) and positions[k] < line_end:
            k += 1  # a line is read once, however many command words it holds
        # From the word holding the first command word: what comes before it is no option of it.
        start = max(start, text.rfind(" ", start, pos) + 1, text.rfind("\t", start, pos) + 1)
        if _runs_a_command(text, start, line_end, positions[first:k]):
            yield from _command_line(t, start, line_end, positions[first:k])


def _runs_a_command(text: str, start: int, end: int, names: list[int]) -> bool:
    """Whether a word of the line text[start:end] holding one of the command words at `names` is that command
    (most lines that name one do not run it: `curl: (7) Failed to connect`, `MySQL error`). Linear in the
    line: a word's start is looked for back to the previous command word only, its end a few characters on."""
    word_start = start
    previous = start
    for pos in names:
        word_start = max(word_start, text.rfind(" ", previous, pos) + 1, text.rfind("\t", previous, pos) + 1)
        previous = pos
        word_end = _CMD_WORD_END.match(text, pos, min(end, pos + 64))
        if word_end and _command_name(text, word_start, word_end.end()):
            return True
    return False


def _option_value(t: _Text, words: list[Span], i: int, at: int, e: int) -> tuple[Span | None, int]:
    """The argument of an option word ending at `e`: attached from `at` when the word goes on after the option
    (`-pX`, `--user=a:b`), else the next word, words[i]. Also returns the index of the word after it."""
    if at < e:
        return _word_value(t.view, t.raw, at, e), i
    if i < len(words):
        return _word_value(t.view, t.raw, *words[i]), i + 1
    return None, i


def _command_line(t: _Text, start: int, end: int, names: list[int]) -> Iterator[tuple[int, int, bool]]:
    """The spans in the line text[start:end], whose command words start at `names`."""
    text = t.view
    words = [m.span() for m in _CMD_WORD.finditer(text, start, end)]
    cmd = ""  # the command whose options are being read
    taken = 0  # the end of a value already taken (a quoted one may span words)
    batch: Span | None = None  # htpasswd -b: its last word so far (the password once the command ends)
    n = 0  # the next command word in `names`
    i = 0
    while i < len(words):
        s, e = words[i]
        i += 1
        while n < len(names) and names[n] < s:
            n += 1
        if s < taken:
            continue  # inside a quoted value already taken
        if n < len(names) and names[n] < e:  # a word holding a command word: the command itself?
            name = _command_name(text, s, e)
            if name:
                cmd = "" if _ends_command(text[s:e]) else name  # `curl;`: the command ends with its word
                batch = None
                continue
        if not cmd:
            if n == len(names):
                return  # no command of these further on the line
            continue
        word = text[s:e]
        value: Span | None = None
        shared = True
        if cmd == "mysql":
            if word.startswith("-p") and len(word) > 2:
                value = _word_value(text, t.raw, s + 2, e)
            elif (
                word in ("-p", "--password", "--pass")
                and i < len(words)
                and not _NOT_MYSQL_PASSWORD.match(text, *words[i])
            ):
                value, i, shared = _word_value(text, t.raw, *words[i]), i + 1, False
        elif cmd == "sshpass":
            if word.startswith("-p"):
                value, i = _option_value(t, words, i, s + 2, e)
            elif word in _SSHPASS_ARG_OPTIONS:
                i += 1
            elif not word.startswith("-"):
                cmd = ""  # the wrapped command: its options are its own
        elif cmd == "curl":
            option = _CURL_USER.match(word)
            if option:
                userinfo, i = _option_value(t, words, i, s + option.end(), e)
                colon = text.find(":", *userinfo) if userinfo else -1
                if userinfo and 0 <= colon < userinfo[1] - 1:
                    value = (colon + 1, userinfo[1])
        elif cmd == "redis" and (word in ("-a", "--pass") or word.startswith("--pass=")):
            value, i = _option_value(t, words, i, s + 7 if len(word) > 6 else e, e)
        elif cmd in _SHORT_PASSWORD_OPTION and word.startswith(_SHORT_PASSWORD_OPTION[cmd]):
            if len(word) > 2 or (
                cmd not in _ATTACHED_ONLY and i < len(words) and not text.startswith("-", words[i][0])
            ):
                value, i = _option_value(t, words, i, s + 2, e)
        elif cmd == "htpasswd":
            if _HTPASSWD_BATCH.fullmatch(word):
                batch = batch or (e, e)
            elif batch and not word.startswith("-"):
                batch = _word_value(text, t.raw, s, e) or batch
        elif cmd == "smbclient":
            option = _SMB_USER.match(word)
            if option:
                userinfo, i = _option_value(t, words, i, s + option.end(), e)
                sep = text.find("%", *userinfo) if userinfo else -1
                if userinfo and 0 <= sep < userinfo[1] - 1:
                    value = (sep + 1, userinfo[1])
        if value:
            taken = value[1]
            yield value[0], value[1], shared
        if _ends_command(text[words[i - 1][0] : words[i - 1][1]]):
            if cmd == "htpasswd" and batch and batch[1] > batch[0]:
                yield batch[0], batch[1], True
            cmd, batch = "", None
    if cmd == "htpasswd" and batch and batch[1] > batch[0]:
        yield batch[0], batch[1], True


# Any command's option named for a secret, its value after a space: `--password X`, `-storepass X`,
# `-srcstorepass X`, `--passwd X`, `-pass X`, `--api-token X`, plink's `-pw X`. Not a value: another option,
# a shell operator or redirection, a variable (`$PW`), a placeholder (`<password>`), or a word of a sentence
# about the option ("use --password to set it"); options that take no value (`--no-password`,
# `--ask-pass`, `--password-stdin`) are no such option. The value is looked for elsewhere in the text only
# when it reads as a password (a digit or a symbol in it), not when it may be a name (`pg_dump --password
# db`: pg_dump's --password takes no value, so `db` is its database).
# An option (at the start of a word) and the white space before its value.
_FLAG = re.compile(r"-(?<![^\s\"'`(=]-)(-?)([A-Za-z][\w.\-]*)[ \t]+(?=\S)")  # a literal first: fast to find
# An option's name: lower case words (`--api-token`, `-storepass`) or PowerShell's (`-Password`); not an
# option with its value attached (`-pAttachedPw1`).
_FLAG_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*|(?:[A-Z][a-z]+)+")
_NOT_FLAG_VALUE = re.compile(r"[-|&;<>(\\*]|\$\{?[A-Za-z_]\w*\}?(?:\W|$)|\[REDACTED\]")
_FLAG_NOT_FIRST = frozenset(
    {"no", "ask", "prompt", "read", "use", "with", "without", "require", "force", "show", "skip", "generate"}
    | {"random", "change", "reset", "expire", "enable", "disable", "allow", "set", "new", "check", "verify"}
)
_FLAG_PROSE = frozenset(
    {"option", "options", "flag", "flags", "parameter", "argument", "switch", "is", "was", "are", "to", "or"}
    | {"and", "the", "a", "an", "with", "without", "for", "of", "in", "on", "at", "not", "must", "should"}
    | {"can", "if", "when", "then", "instead", "only", "also", "as", "by", "from", "here", "this", "that"}
    | {"it", "you", "value", "given", "required", "needed", "missing", "none", "null", "true", "false"}
)
_LOOKS_LIKE_A_PASSWORD = re.compile(r"(?=.*\d)(?=.*[^\w.])|(?=.*\d)(?=.*[a-z])(?=.*[A-Z])")


def _flag_spans(t: _Text) -> Iterator[tuple[int, int, bool]]:
    if "-" not in t.view or not t.hints:
        return
    text, raw = t.view, t.raw
    for m in _FLAG.finditer(text):
        name = m.group(2)
        if not _FLAG_NAME.fullmatch(name) or not is_secret_key(name):
            continue
        parts = _key_parts(name)
        if parts[0] in _FLAG_NOT_FIRST and len(parts) > 1:
            continue
        v = m.end()
        if _NOT_FLAG_VALUE.match(text, v):
            continue
        word = _CMD_WORD.match(text, v)
        span = _word_value(text, raw, v, word.end()) if word else None
        if not span:
            continue
        value = text[span[0] : span[1]]
        if value.lower() in _FLAG_PROSE:
            continue
        yield span[0], span[1], bool(_LOOKS_LIKE_A_PASSWORD.match(value))


# ---------------------------------------------------------------------------- prose and SQL
#
# A password written in a sentence or a statement, with no `key=` before it:
# - a quoted value right after the word: `Logon failed for 'admin' with password 'x'`, SQL
#   `CREATE ROLE app LOGIN PASSWORD 'x'`, `password is 'x'`, MySQL `SET PASSWORD FOR 'u'@'h' = 'x'` and
#   `PASSWORD('x')`;
# - an unquoted value after "password is/was" (Dutch "wachtwoord is", German "Passwort ist"), unless it
#   reads as a word (a status: "expired", "incorrect", "too short", "case-sensitive") or a small number
#   (a count: "90 days", "8 characters"): a password is hidden when it holds a digit or a symbol;
# - SQL `IDENTIFIED BY x` (Oracle, MySQL; `IDENTIFIED WITH plugin BY 'x'`, `BY PASSWORD`, `BY VALUES`):
#   a quoted value always; an unquoted one when the line reads as SQL (USER, ROLE, GRANT, CONNECT TO
#   before it), so that "process identified by pid 12" stays.
_PHRASE_WORDS = ("password", "passwd", "pwd", "passphrase", "passwort", "wachtwoord", "kennwort")
_PHRASE_WORDS_RE = re.compile("(?i:" + "|".join(_PHRASE_WORDS) + ")")
_PHRASE = re.compile(
    r"(?i:password|passwd|pwd|passphrase|passwort|wachtwoord|kennwort)(?:"
    r"[ \t]+(?i:for)[ \t]+[^\s=]{1,256}+[ \t]*=[ \t]*"  # MySQL SET PASSWORD FOR 'u'@'h' = 'x'
    r"|[ \t]*\([ \t]*"  # MySQL PASSWORD('x')
    r"|[ \t]+(?:(?:(?i:for|of|on)[ \t]+(?:[^\s=:'\"`]{1,64}+[ \t]+){1,3}?)?"  # the password for prod is: x
    r"(?P<verb>(?i:is|was|ist|war|(?:changed|set|reset)[ \t]+to))"
    r"(?:[ \t]+(?i:now|still|set[ \t]+to|changed[ \t]+to))?[ \t]*:?[ \t]+)?)"
)
_PHRASE_VALUE = re.compile(r"[^\s\"'`]+")
_ANOTHER_ONE = re.compile(r"(?i)\b(?:one|other)[ \t]+(?:is|was)[ \t]*:?[ \t]+")
_CLOSERS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_OPENERS = {v: k for k, v in _CLOSERS.items()}
_NOT_A_PASSWORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d{1,4}|\*+|(?i:n/a)")
_IDENTIFIED = re.compile(
    r"(?i)identified[ \t]+(?:by|with[ \t]+\S+[ \t]+(?:by|as))[ \t]+(?:password[ \t]+|values[ \t]+)?"
    r"(?!random[ \t]+password\b)"
)
_IDENTIFIED_VALUE = re.compile(r"[^\s;'\"`]+")
_SQL_CONTEXT = re.compile(r"(?i)\b(?:user|role|grant|connect[ \t]+to)\b")


def _quoted_span(raw: str, pos: int) -> Span | None:
    """The inside of a quoted value that opens at `pos` (possibly with escaped quotes), or None."""
    if pos >= len(raw) or raw[pos] not in "\\\"'":
        return None
    quote = _OPEN_QUOTE.match(raw, pos)
    if not quote:
        return None
    start = quote.end()
    end = _quoted_end(raw, start, quote.group(0)[-1], len(quote.group(0)) - 1)
    return (start, end) if end > start else None


def _strip_sentence(text: str, s: int, e: int) -> Span:
    """A word of a sentence without the punctuation around it: a full stop or comma after it, brackets
    around it, a closing bracket after it that it does not open. `!` and `?` stay (passwords end with
    them more often than these sentences do)."""
    while e > s and text[e - 1] in ".,;:":
        e -= 1
    if e - s >= 2 and _CLOSERS.get(text[s]) == text[e - 1]:
        s, e = s + 1, e - 1
    elif e > s and text[e - 1] in ")]}>" and _OPENERS[text[e - 1]] not in text[s:e]:
        e -= 1
    while e > s and text[e - 1] in ".,;:":
        e -= 1
    return s, e


def _phrase_spans(t: _Text) -> Iterator[Span]:
    text, raw = t.view, t.raw
    for pos in _positions(t, _PHRASE_WORDS, _PHRASE_WORDS_RE):
        m = _PHRASE.match(text, pos)
        if not m or not _starts_word(text, pos):
            continue
        quoted = _quoted_span(raw, m.end())
        if quoted:
            yield quoted
        elif m.group("verb"):
            bare = _PHRASE_VALUE.match(text, m.end())
            if bare:
                s, e = _strip_sentence(text, *bare.span())
                if e > s and not _NOT_A_PASSWORD.fullmatch(text, s, e):
                    yield s, e
                    # "... and the backup one is Y": a second password in the same sentence
                    stop = min(len(text), e + 200)
                    more = _ANOTHER_ONE.search(text, e, stop)
                    if more and "\n" not in text[e : more.start()]:
                        bare = _PHRASE_VALUE.match(text, more.end())
                        if bare:
                            s, e = _strip_sentence(text, *bare.span())
                            if e > s and not _NOT_A_PASSWORD.fullmatch(text, s, e):
                                yield s, e
    if "identified" in t.lower:
        for m in _IDENTIFIED.finditer(text):
            if not _starts_word(text, m.start()):
                continue
            quoted = _quoted_span(raw, m.end())
            if quoted:
                yield quoted
                continue
            bare = _IDENTIFIED_VALUE.match(text, m.end())
            line_start = text.rfind("\n", max(0, m.start() - 256), m.start()) + 1
            if bare and _SQL_CONTEXT.search(text, max(line_start, m.start() - 256), m.start()):
                yield bare.span()


# Campaign's JavaScript logon and Adobe's JS SDK connection parameters with literal arguments:
# `xtk.session.Logon("admin", "x", <params/>)`, `NLWS.xtkSession.logon("admin", "x")`,
# `sdk.ConnectionParameters.ofUserAndPassword(url, "admin", "x")`, `.ofBearerToken(url, "x")`: the secret
# arguments' positions in each call (a variable there is not a secret; a quoted literal is).
_SECRET_ARGS = {
    "logon": (1,),
    "ofuserandpassword": (2,),
    "ofbearertoken": (1,),
    "ofimsbearertoken": (1,),
    "ofsessiontoken": (1,),
    "ofsecuritytoken": (1,),
    "ofsessionandsecuritytoken": (1, 2),
}
_CALL = re.compile(r"(?i)(?<![\w$])(" + "|".join(_SECRET_ARGS) + r")[ \t]*\([ \t]*")
_CALL_RE = re.compile("(?i:" + "|".join(_SECRET_ARGS) + ")")
_CALL_ARG = re.compile(r"[^,()\"'\r\n]*")
_CALL_NEXT = re.compile(r"\\*[\"']?[ \t]*,[ \t]*")


def _call_spans(t: _Text) -> Iterator[Span]:
    if not any(g in t.lower for g in ("logon", "ofuserandpassword", "token(", "token (")):
        return
    text, raw = t.view, t.raw
    for start in _positions(t, tuple(_SECRET_ARGS), _CALL_RE):
        m = _CALL.match(text, start)
        if not m:
            continue
        wanted = _SECRET_ARGS[m.group(1).lower()]
        pos = m.end()
        for index in range(max(wanted) + 1):
            quoted = _quoted_span(raw, pos)
            if quoted:
                if index in wanted:
                    yield quoted
                pos = quoted[1]
            else:
                arg = _CALL_ARG.match(text, pos)
                pos = arg.end() if arg else pos
            sep = _CALL_NEXT.match(text, pos)
            if not sep:
                break
            pos = sep.end()


# SMTP AUTH with the whole exchange on one line (a client's debug log: `AUTH LOGIN <user> <password>`):
# the base64 arguments after the first one (which `_RULES` takes), up to a word that is not one (a plain
# word, a number, a mechanism name: `250-AUTH PLAIN LOGIN CRAM-MD5` is a capability list).
_SMTP_MECHANISMS = r"PLAIN|LOGIN|XOAUTH2?|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI"
_SMTP_AUTH = re.compile(r"(?i)AUTH[ \t]+(?:" + _SMTP_MECHANISMS + r")(?![\w-])")
_SMTP_NEXT = re.compile(r"[ \t]+(\S+)")
_SMTP_ARG = re.compile(r"[A-Za-z0-9+/]{4,}={0,2}")
_SMTP_NOT_ARG = re.compile(r"[A-Z]?[a-z]+|[A-Z]+|\d+")
_SMTP_MECHANISM = re.compile(r"(?i:" + _SMTP_MECHANISMS + r"|ANONYMOUS|EXTERNAL)")
_AUTH_RE = re.compile("(?i:auth)")


def _smtp_auth_spans(t: _Text) -> Iterator[Span]:
    if "auth" not in t.lower:
        return
    text = t.view
    for pos in _positions(t, ("auth",), _AUTH_RE):
        m = _SMTP_AUTH.match(text, pos)
        if not m or not _starts_word(text, pos):
            continue
        end = m.end()
        for n in range(16):
            arg = _SMTP_NEXT.match(text, end)
            if not arg:
                break
            end = arg.end()
            word = arg.group(1)
            if word == REDACTED:
                continue
            if n == 0:  # the first argument is the rule's (`_RULES`); a mechanism there makes a capability list
                if _SMTP_MECHANISM.fullmatch(word) or not _SMTP_ARG.match(word):
                    break
                continue
            if not _SMTP_ARG.fullmatch(word) or _SMTP_NOT_ARG.fullmatch(word):
                break
            yield arg.span(1)


def _at_line_start(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return _LINE_PREFIX.fullmatch(text, line_start, pos) is not None


def _line_end(text: str, pos: int) -> int:
    m = _LINE_END.search(text, pos)
    return m.start() if m else len(text)


# A quoted text: the report's `> ` before each log line, e-mail and Markdown quotes (`> > `).
_QUOTE_MARK = re.compile(r"(?:[ \t]*>)+[ \t]?")
# A line that starts a new log record (a date or a time first): never part of a flattened block value.
_RECORD_START = re.compile(r"[ \t]*\[?(?:\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d)")


def _block_lines(text: str, start: int, prefix: str) -> Iterator[tuple[int, str, str]]:
    """The lines from `start` on as (offset, line, content), `content` being the line without the quote
    prefix of the key's line; they end at the first line that does not carry that prefix (the quote ended)."""
    pos = start
    bare = prefix.rstrip()
    while pos < len(text):
        nxt = text.find("\n", pos)
        line = text[pos : nxt if nxt >= 0 else len(text)]
        if not prefix:
            content = line
        elif line.startswith(prefix):
            content = line[len(prefix) :]
        elif line.rstrip() == bare:
            content = ""
        else:
            return
        yield pos, line, content
        if nxt < 0:
            return
        pos = nxt + 1


def _indented_block(text: str, raw: str, key_pos: int, after: int) -> Span | None:
    """The lines after a YAML `key: |` (or `key:` alone) that are indented deeper than the key.

    In a quoted text (the report shows a log's last lines as `> line`), indentation is read after the
    quote prefix, and the block ends with the quote. A key in a piece of a flattened line (`a | key: |`,
    the report's `| evidence` lines) has its block in that line, never in the lines after it."""
    line_start = text.rfind("\n", 0, key_pos) + 1
    quote = _QUOTE_MARK.match(text, line_start, key_pos)
    prefix = quote.group(0) if quote else ""
    indent = key_pos - line_start - len(prefix)
    nl = text.find("\n", after)
    if nl < 0:
        return None
    if line_start and raw[line_start - 1] == "|":
        raw_end = raw.find("\n", after)
        text = text[: len(text) if raw_end < 0 else raw_end]
    # The span starts at the first line's value (after its quote prefix and indentation), so that a
    # one-line block already [REDACTED] is left as it is.
    first = end = -1
    for pos, line, content in _block_lines(text, nl + 1, prefix):
        if content.strip():
            if len(content) - len(content.lstrip()) <= indent:
                break
            first = first if first >= 0 else pos + len(line) - len(content.lstrip())
            end = pos + len(line.rstrip())
    if first >= 0:
        return first, end
    # No deeper line: the text was flattened (indentation lost). Take the lines up to the next `key:`, a
    # blank line or the next log record.
    for pos, line, content in _block_lines(text, nl + 1, prefix):
        if not content.strip() or _YAML_KEY_LINE.match(content) or _RECORD_START.match(content):
            break
        first = first if first >= 0 else pos + len(line) - len(content.lstrip())
        end = pos + len(line.rstrip())
    return (first, end) if first >= 0 else None


def _closing_quote(raw: str, start: int, q: str, level: int) -> int:
    """Where a value opened by `level` backslashes and the quote `q` ends: at the same quote with as many
    backslashes, at any quote with fewer (the end of the string the value sits in), or at the line's end
    (the text was cut). Returns the index just past the value."""
    end = start
    n = len(raw)
    while end < n and raw[end] not in "\r\n":
        c = raw[end]
        if c in "\"'":
            b = 0
            while b < end - start and raw[end - 1 - b] == "\\":
                b += 1
            if (c == q and b == level) or (level and b < level):
                return end - b
        end += 1
    return end


# A value that stands for no secret: a placeholder (`none`, `null`, `(not set)`, `<password>`, a mask), a
# boolean, or a reference to where the secret is kept (`${DB_PASSWORD}`, `$PGPASS`, `{{ vault_pw }}`,
# `%(db_pass)s`, `%DB_PASS%`). Shown as it is: it says whether and where a secret is configured. A `$name`
# reference must be upper case (`$Ecret9` may be a password). A parser's position (`unclosed token: line 1,
# column 0`, expat's and PyYAML's wording) is where an error is, not a value.
_PLACEHOLDER = re.compile(
    r"(?i:none|null|nil|undefined|unset|empty|true|false|yes|no|n/a|not[ _-]set|line \d+(?:, column \d+)?"
    r"|[(<](?:not[ _-]set|none|null|empty|unset|hidden|masked|redacted)[)>]|<[a-z][\w .\-]{0,40}>)"
    r"|\*{3,}|\$\{[A-Za-z_][\w.]{0,64}(?::?[-=?+][^{}\r\n]{0,64})?\}|\$[A-Z_][A-Z0-9_]{0,64}"
    r"|\{\{[^{}\r\n]{1,128}\}\}|%\([\w.]{1,64}\)[sd]|%[A-Z_][A-Z0-9_]{0,64}%"
)
_PLACEHOLDER_AT = re.compile("(?:" + _PLACEHOLDER.pattern + r")(?=[\s\"'<>,;&)\]}]|$)")


# A value wrapped to the next line, after a `key=` that ends its line (a terminal or a log wrapped it): that
# line is one lone word, not an assignment, a section, a comment, a YAML key or a new log record.
_WRAPPED_VALUE = re.compile(r"[ \t]*\r?\n[ \t>]*((?![#;\[])[^\s\"'<>=]{6,}+)(?<!:)[ \t]*(?=\r?\n|$)")
# The next assignment right where a value should be (`password= login=x`: the password is empty).
_ASSIGNMENT_HERE = re.compile(r"[\"']?[A-Za-z_][\w.\-]*[\"']?[ \t]*=(?!=)")


def _wrapped_value(text: str, pos: int) -> Span | None:
    m = _WRAPPED_VALUE.match(text, pos)
    if not m or _RECORD_START.match(m.group(1)):
        return None
    return m.span(1)


def _value_span(text: str, raw: str, pos: int, key_pos: int, op: str, header: bool) -> Span | None:
    """Where the value after a secret key's operator (at `pos`) is, or None when there is none.

    `text` is the detection view, `raw` the text itself (same offsets): a quoted value is read in `raw`,
    where an escaped line break inside the quotes is still part of the value."""
    n = len(text)
    if pos >= n:
        return None
    if op == "=" and text[pos - 1] in " \t" and _ASSIGNMENT_HERE.match(text, pos):
        return None
    quote = _OPEN_QUOTE.match(raw, pos)
    if quote:  # quoted: up to the same (possibly escaped) quote, or the end of the line if it was cut
        delim = quote.group(0)
        start = pos + len(delim)
        end = _closing_quote(raw, start, delim[-1], len(delim) - 1)
        return (start, end) if end > start else None
    if header or _at_line_start(text, key_pos):
        end = _line_end(text, pos)
        value = text[pos:end].rstrip()
        if not value or (op == ":" and _YAML_BLOCK.fullmatch(value)):
            if op == ":":
                return _indented_block(text, raw, key_pos, pos)
            return _wrapped_value(text, pos) if op == "=" else None
        if value[0] in "[{":  # an object or a list: the keys inside it are looked at on their own
            return None
        if not header:
            word = _BARE_VALUE.match(text, pos, pos + len(value))
            if op == "=" and text[pos - 1] == "=" and word and _SHELL_COMMAND_AFTER.match(text, word.end(), end):
                return word.span()
            more = _NEXT_ASSIGNMENT.search(text, pos, pos + len(value))
            if more and more.start() > pos:
                value = text[pos : more.start()]
        return pos, pos + len(value)
    if _PLACEHOLDER_AT.match(text, pos):
        return None  # `token: none;`, `password: (not set), ...`: a placeholder, not the start of a value
    m = _BARE_VALUE.match(text, pos)
    if not m:
        return _wrapped_value(text, pos) if op == "=" else None
    s, e = m.span()
    while e > s and text[e - 1] in ")]}" and text.count(_OPENERS[text[e - 1]], s, e) < text.count(text[e - 1], s, e):
        e -= 1  # `(user=a, password=x)`: the bracket closes what was open before the key
    return None if e <= s or text[s:e] in _NOT_VALUES else (s, e)


_RAW_QUOTE_MARK = re.compile(r"(?:[ \t]*[>|])+[ \t]?")


def _quoted_run_end(raw: str, pos: int, end: int) -> int:
    """Where the quoted lines that the line holding `pos` starts end (at most `end`): a text quoted line by
    line (`> line`, the report's `| evidence`) holds an element only as far as its quote goes."""
    line_start = raw.rfind("\n", 0, pos) + 1
    quote = _RAW_QUOTE_MARK.match(raw, line_start, pos)
    if not quote:
        return end
    prefix = quote.group(0).rstrip()
    nl = raw.find("\n", pos, end)
    while nl >= 0:
        if not raw.startswith(prefix, nl + 1):
            return nl
        nl = raw.find("\n", nl + 1, end)
    return end


def _element_content(text: str, pos: int, raw: str | None = None) -> Span | None:
    """The text content of an element opened just before `pos` (CDATA included), trimmed."""
    cdata = _CDATA.match(text, pos)
    if cdata:
        s, e = cdata.span(1)
    else:
        s = pos
        e = text.find("<", pos)
        e = len(text) if e < 0 else e
    if raw is not None and "\n" in raw[s:e]:
        e = _quoted_run_end(raw, pos, e)
    s = _skip_space(text, s, e)
    while e > s and text[e - 1].isspace():
        e -= 1
    while e > s and text[e - 1] == ">":  # the quote prefix (`\n  > `) of the line holding `</x>`
        quoted = _QUOTED_LINE_END.search(text, s, e)
        if not quoted:
            break
        e = quoted.start()
    return (s, e) if e > s else None


_QUOTED_LINE_END = re.compile(r"\s*\n[ \t>]*$")


def _skip_space(text: str, pos: int, end: int | None = None) -> int:
    """`pos` past white space, and past the quote prefix (`> `) of each line break it passes."""
    end = len(text) if end is None else end
    newline = False
    while pos < end and (text[pos].isspace() or (newline and text[pos] == ">")):
        newline = newline or text[pos] == "\n"
        pos += 1
    return pos


def _is_key_char(c: str) -> bool:
    return c.isalnum() or c in _KEY_CHARS


def _assignment_spans(t: _Text) -> Iterator[Span]:
    text, raw = t.view, t.raw
    n = len(text)
    done = -1
    for hint in t.hints:
        if hint < done:
            continue  # a second key word in a key, or a key inside a value, already looked at
        s = hint
        while s > 0 and _is_key_char(text[s - 1]):
            s -= 1
        e = hint
        while e < n and _is_key_char(text[e]):
            e += 1
        done = e
        key = text[s:e]
        if not key.lstrip("-") or "@" in key[1:] or text.endswith("://", 0, s) or not is_secret_key(key):
            # `pw@host` is a URL's password and host, `://token:x@` its user name: the URL form's to take
            continue
        # The key's quote (possibly escaped), which must close after it too.
        q = s
        if q > 0 and text[q - 1] in "\"'":
            q -= 1
            while q > 0 and text[q - 1] == "\\":
                q -= 1
        quote = text[q:s]
        if q == s and q > 0 and text[q - 1] == "\\":
            continue
        if quote and not text.startswith(quote, e):
            quote = ""  # an opening quote without its closing one: not a quoted key ("Authorization: ..." in "...")
            if text[s - 1] == "\\":
                continue
        op = _OPERATOR.match(text, e + len(quote))
        if not op:
            continue
        header = _is_header_key(key) or (op.group(1) == ":" and "-" in key.lstrip("-") and _at_line_start(text, q))
        span = _value_span(text, raw, op.end(), q if quote else s, op.group(1), header)
        if span:
            done = max(done, span[1])  # whatever key is inside this value is hidden with it
            yield span
    if "alue" in text:
        for pos in _find_all(t.lower, "value") if t.ascii else (m.start() for m in re.finditer("(?i)value", text)):
            before = t.lower[max(0, pos - 300) : pos]
            if any(w in before for w in ("name", "key", "param", "propert", "variable")):
                m = next(
                    (x for x in _NAME_VALUE.finditer(text, max(0, pos - 300), pos + 40) if x.end("vk") == pos + 5),
                    None,
                )
                if m and is_secret_key(m.group("k")):
                    span = _value_span(text, raw, m.end(), m.start("vk"), "=", False)
                    if span:
                        yield span
            word = pos
            while word > 0 and pos - word < 8 and text[word - 1].isalpha():
                word -= 1
            after = _VALUE_NAME.match(text, word)
            if after and after.end("v") > after.start("v") and is_secret_key(after.group("k")):
                yield after.span("v")
    if "<" in text:
        done = -1
        for m in _XML_TAG.finditer(text):
            if m.start() < done:
                continue
            named = _XML_NAME_ATTR.search(m.group("attrs") or "")
            if is_secret_key(m.group("tag").rsplit(":", 1)[-1]) or (named is not None and is_secret_key(named["k"])):
                span = _element_content(text, m.end(), raw)
                if span is None:
                    # Spring's <property name="smtp.password"><value>x</value></property>: the value is the
                    # content of the element's first child.
                    child = _XML_TAG.match(text, _skip_space(text, m.end()))
                    span = _element_content(text, child.end(), raw) if child else None
                if span:
                    done = span[1]
                    yield span


def _entropy_spans(t: _Text, eng: _Engine) -> Iterator[Span]:
    text = t.view
    for m in _ENTROPY_RUN.finditer(text):
        run = m.group(0).rstrip("-_")
        if run.startswith(("/", "-")) or "//" in run:
            continue
        if _HEX.fullmatch(run):
            if len(run) < 32 or eng.hex_entropy(run) <= eng.hex_limit:
                continue
            if _DIGEST_LABEL.search(text, max(0, m.start() - 20), m.start()):
                continue  # a labelled checksum, commit or job id: evidence, not a credential
            if len(run) in _DIGEST_LENGTHS and (
                _CHECKSUM_FILE_AFTER.match(text, m.start() + len(run))
                or _BSD_CHECKSUM_BEFORE.search(text, max(0, m.start() - 300), m.start())
            ):
                continue  # a checksum tool's output line
        elif (
            _FINGERPRINT_LABEL.search(text, max(0, m.start() - 7), m.start())  # SHA256:<base64>: evidence
            or (run.startswith("AAAA") and _PUBLIC_KEY_BEFORE.search(text, max(0, m.start() - 64), m.start()))
            or not any(c.isdigit() for c in run)
            or math.log2(len(set(run))) <= eng.b64_limit  # cheap bound: entropy <= log2(distinct characters)
            or eng.b64_entropy(run) <= eng.b64_limit
        ):
            continue
        if eng.is_sequential(run) or eng.is_uuid(run):
            continue
        yield m.start(), m.start() + len(run)


_VIEW_BREAK = re.compile(r"\\[nrt]| \| ")
_BREAKS = {"\\n": " \n", "\\r": " \r", "\\t": " \t", " | ": " \n "}


def _view(text: str) -> str:
    """The detection view of `text`: escaped line breaks and " | " flattening become real line breaks
    (same length, so offsets do not move)."""
    if "\\" not in text and " | " not in text:
        return text
    return _VIEW_BREAK.sub(lambda m: _BREAKS[m.group(0)], text)


def _trim(text: str, s: int, e: int) -> Span:
    """A span never ends inside an escape (`abc\\` before `"`) nor starts just after one, so an escaped
    text (JSON, a repr) stays well-formed once the span is replaced."""
    while e > s and text[e - 1] == "\\":
        e -= 1
    b = 0
    while s - 1 - b >= 0 and text[s - 1 - b] == "\\":
        b += 1
    if b % 2:
        s += 1
    return s, e


# A token that a terminal or a log wrapped at its line's end (a long bearer token, a key): when a secret
# ends a line with 16 token characters, a next line that is one lone token of at least 16 such characters
# is the rest of it (and so on, line after line); a path (`/usr/local/...`, a flattened evidence piece) is not.
_TOKEN_END = re.compile(r"[A-Za-z0-9+/_\-.~=]{16}")
_WRAPPED_TAIL = re.compile(r"[ \t]*\r?\n[ \t>]*((?!/[^\s/]*/)[A-Za-z0-9+/_\-.~]{16,}+={0,2})[ \t]*(?=\r?\n|$)")


def _wrapped_tails(text: str, spans: Iterable[Span]) -> Iterator[Span]:
    for s, e in spans:
        while e - s >= 16 and _TOKEN_END.fullmatch(text, e - 16, e):
            m = _WRAPPED_TAIL.match(text, e)
            if not m:
                break
            s, e = m.span(1)
            yield s, e


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
    text = strip_control(text)
    if "\\" in text:
        text = _ESCAPED_CSI.sub("", text)
    text = _redact_blocks(text)
    eng = _engine()
    # Detectors look at a view where escaped line breaks (JSON strings, Python reprs: slack_sdk's debug
    # log) and " | " are real ones, so a key after them starts a line; offsets are the same as in `text`.
    view = _view(text)
    lower = view.lower()
    t = _Text(raw=text, view=view, lower=lower, ascii=len(lower) == len(view) and view.isascii())
    spans = [
        *_ds_spans(t, eng),
        *_targeted_spans(t),
        *_phrase_spans(t),
        *_call_spans(t),
        *_smtp_auth_spans(t),
        *_assignment_spans(t),
        *_entropy_spans(t, eng),
    ]
    # Command-line values that may be something else (mysql's `-p VALUE` may be a database name) are
    # hidden where they stand only.
    here_only: list[Span] = []
    for s, e, shared in (*_command_spans(t), *_flag_spans(t)):
        (spans if shared else here_only).append((s, e))
    spans, here_only = (
        [
            x
            for x in (_trim(text, s, e) for s, e in found)
            if x[1] > x[0] and text[x[0] : x[1]] != REDACTED and not _PLACEHOLDER.fullmatch(text, *x)
        ]
        for found in (spans, here_only)
    )
    if not spans and not here_only:
        return text
    spans.extend(list(_wrapped_tails(view, spans)))
    # A value found once is hidden wherever else it appears (a password echoed in a later error line);
    # the longest few hundred are enough, and keep the pattern small on hostile input.
    values = sorted({text[s:e] for s, e in spans if 8 <= e - s <= 512 and "\n" not in text[s:e]}, key=len)[-256:]
    if values:
        again = re.compile("|".join(re.escape(v) for v in reversed(values)))
        spans.extend(m.span() for m in again.finditer(text))
    return _apply(text, _merge([*spans, *here_only]))


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
    if getattr(_local, "busy", False):
        return
    # Already done, and not changed since (makeLogRecord() fills a factory-made record afterwards).
    if getattr(record, _MARK, None) is record.msg and not record.args and record.exc_info is None:
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
        setattr(record, _MARK, record.msg)
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
