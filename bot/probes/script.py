"""Build one batched, read-only script per host from fixed templates.

Every variable part (install root, instance names, log paths, ports) is validated against the
knowledge base and inventory first and shell-quoted; sections are framed by markers carrying a
random token, so a log line cannot forge a section boundary.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass, field

from bot.inventory import INSTANCE_RE, PATH_RE, Host
from bot.transports.base import Script

# The only nlserver verbs probes may send. Anything that changes state (start, stop, restart,
# shutdown, config, watchdog, ...) is refused here, whoever asks.
READ_ONLY_VERBS = frozenset({"pdump", "monitor"})

LOG_TAIL_BYTES = 65536
_REL_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class UnsafeProbeError(ValueError):
    """A probe was asked to run something outside the read-only templates."""


@dataclass(frozen=True)
class Section:
    id: str
    command: str
    verb: str | None = None  # the nlserver verb, if the section calls nlserver


def nlserver(verb: str, *args: str) -> Section:
    if verb not in READ_ONLY_VERBS:
        raise UnsafeProbeError(f"nlserver {verb} is not a read-only verb")
    for a in args:
        if not re.fullmatch(r"-[a-z]+", a):
            raise UnsafeProbeError(f"argument {a!r} is not allowed")
    return Section(f"nlserver-{verb}{''.join(args)}", " ".join(['"$NLSERVER"', verb, *args]), verb)


def now() -> Section:
    return Section("now", "date -u +%s")


def config_autostart() -> Section:
    # Only the tags that carry autoStart leave the host: config files also hold database passwords.
    return Section(
        "config",
        'for f in "$NL_HOME"/conf/config-*.xml; do [ -e "$f" ] || continue; echo "### ${f##*/}"; '
        "tr '\\n' ' ' < \"$f\" | grep -o '<[A-Za-z][A-Za-z0-9_]*[^<>]*[Aa]uto[Ss]tart[^<>]*>'; done",
    )


def processes() -> Section:
    return Section("ps", "ps -eo pid=,etimes=,rss=,comm=")


def disk() -> Section:
    return Section("df", 'df -P "$NL_HOME/var"')


def listening() -> Section:
    return Section("ports", "ss -lntuH 2>/dev/null || netstat -lntu")


def log_tail(rel_path: str) -> Section:
    if not _REL_PATH_RE.match(rel_path) or ".." in rel_path.split("/"):
        raise UnsafeProbeError(f"log path {rel_path!r} is not a plain relative path")
    return Section(f"log:{rel_path}", f'tail -c {LOG_TAIL_BYTES} -- "$NL_HOME"/{shlex.quote(rel_path)}')


def redir_logs(instance: str) -> Section:
    if not INSTANCE_RE.match(instance):
        raise UnsafeProbeError(f"instance {instance!r} is not valid")
    d = f'"$NL_HOME"/var/{shlex.quote(instance)}/redir/log'
    return Section(
        f"redir:{instance}",
        f'if cd {d} 2>/dev/null; then n=0; for f in *.log; do [ -e "$f" ] || continue; n=$((n+1)); '
        f"stat -c '%Y %s %n' -- \"$f\"; done | sort -n | tail -n 3; "
        f"echo \"count $(ls -1 | grep -c '\\.log$')\"; else echo NO-REDIR-DIR; fi",
    )


def http_get(section_id: str, port: int, path: str) -> Section:
    if not 0 < port < 65536:
        raise UnsafeProbeError("invalid health URL")
    return http_url_get(section_id, f"http://localhost:{port}", path)


def http_url_get(section_id: str, base_url: str, path: str) -> Section:
    """GET `base_url + path` on the host with curl (the base URL is validated by the inventory)."""
    if not re.fullmatch(r"/[A-Za-z0-9_./-]*", path) or not re.fullmatch(r"https?://[A-Za-z0-9._~:/\[\]@%-]+", base_url):
        raise UnsafeProbeError("invalid health URL")
    url = shlex.quote(base_url.rstrip("/") + path)
    return Section(section_id, f"curl -sS -m 5 -o - -w '\\n@@HTTP %{{http_code}}@@\\n' {url}")


def prelude(nl_home: str) -> list[str]:
    """The lines every script starts with: the install root, its env.sh, and nlserver's path."""
    if not PATH_RE.match(nl_home) or ".." in nl_home.split("/"):
        raise UnsafeProbeError("install root is not a plain absolute path")
    return [
        f"NL_HOME={shlex.quote(nl_home)}",
        "export NL_HOME",
        '[ -r "$NL_HOME/env.sh" ] && . "$NL_HOME/env.sh" >/dev/null 2>&1',
        'NLSERVER="$NL_HOME/bin/nlserver"',
        "exec </dev/null",
    ]


@dataclass
class Plan:
    """A host's probe plan: the sections to run, in one round trip."""

    host: Host
    sections: list[Section] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(6))

    def add(self, section: Section) -> None:
        if all(s.id != section.id for s in self.sections):
            self.sections.append(section)

    def script(self) -> Script:
        lines = prelude(self.host.nl_home)
        for s in self.sections:
            lines.append(f"echo '@@CB:{self.token}:BEGIN:{s.id}@@'")
            lines.append(f"{{ {s.command} ; }} 2>&1")
            lines.append(f'echo "@@CB:{self.token}:END:{s.id}:$?@@"')
        verbs = tuple(s.verb for s in self.sections if s.verb)
        description = "; ".join(_describe(s) for s in self.sections)
        return Script(text="\n".join(lines) + "\n", description=description, verbs=verbs)


def _describe(s: Section) -> str:
    return (
        s.command.replace('"$NLSERVER"', "nlserver").replace('"$NL_HOME"', "<nl_home>").replace("$NL_HOME", "<nl_home>")
    )


def nlserver_present() -> Section:
    return Section("nlserver-present", 'if [ -x "$NLSERVER" ]; then echo present; else echo "missing $NLSERVER"; fi')
