"""Redaction of secrets in anything the bot posts or logs (command output, log lines, audit records)."""

from __future__ import annotations

import re

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        "[REDACTED PRIVATE KEY]",
    ),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{6,}"), "xox?-[REDACTED]"),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"), "xapp-[REDACTED]"),
    (re.compile(r"(?i)\b(authorization|proxy-authorization)\s*[:=]\s*\S+(\s+\S+)?"), r"\1: [REDACTED]"),
    (re.compile(r"(?i)(__sessiontoken|sessiontoken|securitytoken|x-security-token)=([^&\s\"']+)"), r"\1=[REDACTED]"),
    (
        re.compile(
            r"(?i)\b([A-Za-z_]*(?:password|passwd|pwd|secret|token|apikey|api_key|privatekey))(\s*=\s*)([\"'])(.*?)\3"
        ),
        r"\1\2\3[REDACTED]\3",
    ),
    (
        re.compile(
            r"(?i)\b([A-Za-z_]*(?:password|passwd|pwd|secret|token|apikey|api_key))(\s*[:=]\s*)(?![\"'\[])([^\s,;&<>]+)"
        ),
        r"\1\2[REDACTED]",
    ),
    # -setdblogin:PostgreSQL:account:db/password@server
    (re.compile(r"(?i)(-setdblogin:[^/\s]*/)([^@\s]+)(@)"), r"\1[REDACTED]\3"),
    # URLs with credentials: scheme://user:pass@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)"), r"\1[REDACTED]\3"),
]


def redact(text: str) -> str:
    """Replace passwords, tokens, keys and credentials in `text` with [REDACTED]."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_lines(lines: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(redact(line) for line in lines)
