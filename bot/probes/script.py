"""Build one batched, read-only script per host from fixed templates.

Every variable part (install root, instance names, log paths, URLs, ports) is validated against the
knowledge base and inventory first and shell-quoted; sections are framed by markers carrying a
random token, so a log line cannot forge a section boundary.

The script starts by reading the host's clock (before anything else can delay it: the clock-skew
check compares it with the time the bot sent the script), then sources the Campaign environment
(`env.sh`, `customer.sh`) so that `XTK_VAR_DIR`, `TMPDIR` and `TRACE_ADDR` are the ones Campaign
uses, and sets `VAR_DIR` (the data folder, `XTK_VAR_DIR` or `<nl_home>/var`) for the sections.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass, field

from bot.inventory import INSTANCE_RE, PATH_RE, Host, http_url
from bot.transports.base import Script

# The only nlserver verbs probes may send. Anything that changes state (start, stop, restart,
# shutdown, config, watchdog, ...) is refused here, whoever asks.
READ_ONLY_VERBS = frozenset({"pdump", "monitor"})

LOG_TAIL_BYTES = 65536
HTTP_MAX_BYTES = 262144
MAX_REDIRECTS = 5
_REL_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_URL_PATH_RE = re.compile(r"^/[A-Za-z0-9_./-]*$")

# What may leave the host from the configuration files (they also hold database passwords and the
# internal account's): these elements (serverConf.xml's module nodes, mta's <child> and its IP
# affinities), and on them only these attributes (autoStart, memory limits, affinities, and the
# listen ports of web (httpPort) and stat (port)). Everything else is dropped on the host.
CONFIG_ELEMENTS = (
    "web",
    "syslogd",
    "trackinglogd",
    "watchdog",
    "mta",
    "child",
    "IPAffinity",
    "IP",
    "stat",
    "wfserver",
    "inMail",
    "sms",
    "interactiond",
    "pipelined",
    "tracking",
    "archiving",
    "nmac",
)
CONFIG_ATTRIBUTES = (
    "autoStart",
    "_autoStart",
    "maxMemoryMb",
    "maxWorkingSetMb",
    "maxProcessMemoryWarningMb",
    "maxProcessMemoryAlertMb",
    "statServerAddress",
    "name",
    "address",
    "heloHost",
    "publicId",
    "httpPort",
    "port",
)
_XML_NAME_RE = re.compile(r"^_?[A-Za-z][A-Za-z0-9]*$")


class UnsafeProbeError(ValueError):
    """A probe was asked to run something outside the read-only templates."""


@dataclass(frozen=True)
class Section:
    id: str
    command: str
    verb: str | None = None  # the nlserver verb, if the section calls nlserver
    label: str | None = None  # how the audit log describes it, when the command is too long to read


def nlserver(verb: str, *args: str) -> Section:
    if verb not in READ_ONLY_VERBS:
        raise UnsafeProbeError(f"nlserver {verb} is not a read-only verb")
    for a in args:
        if not re.fullmatch(r"-[a-z]+", a):
            raise UnsafeProbeError(f"argument {a!r} is not allowed")
    return Section(f"nlserver-{verb}{''.join(args)}", " ".join(['"$NLSERVER"', verb, *args]), verb)


def now() -> Section:
    """The host's clock, as read by the prelude's first line (`date -u +%s.%N`)."""
    return Section("now", 'echo "${CB_NOW:-}"')


def environment() -> Section:
    """The bot's user on the host, what the Campaign environment sets (no other variable leaves), and
    nl_home with its symbolic links resolved (the modules' binary and working folder are read resolved)."""
    return Section(
        "env",
        label="id -un; echo VAR_DIR XTK_VAR_DIR TMPDIR TRACE_ADDR; nl_home resolved; shell; env.sh/customer.sh errors",
        command='echo "user $(id -un 2>/dev/null)"; echo "var_dir $VAR_DIR"; echo "xtk_var_dir ${XTK_VAR_DIR:-}"; '
        'echo "tmpdir ${TMPDIR:-}"; echo "trace_addr ${TRACE_ADDR:-}"; '
        'echo "nl_home_real $(cd "$NL_HOME" 2>/dev/null && pwd -P)"; echo "shell ${CB_SHELL:-sh}"; '
        "printf '%s' \"${CB_SOURCE_ERRORS:-}\"",
    )


_CONFIG_AWK = r"""
function strip(s, o, c,   out, i, j) {
  out = ""
  while ((i = index(s, o)) > 0) {
    out = out substr(s, 1, i - 1); s = substr(s, i + length(o)); j = index(s, c)
    if (j == 0) { s = ""; break }
    s = substr(s, j + length(c))
  }
  return out s
}
BEGIN { ne = split(els, E, " "); for (i = 1; i <= ne; i++) keep[tolower(E[i])] = 1; na = split(ats, A, " ") }
{ s = s $0 " " }
END {
  s = strip(strip(s, "<!--", "-->"), "<![CDATA[", "]]>")
  n = split(s, P, "<")
  for (k = 2; k <= n; k++) {
    p = P[k]
    if (!match(p, /^\/?[A-Za-z_][A-Za-z0-9_.:-]*/)) continue
    name = substr(p, 1, RLENGTH); closing = 0
    if (substr(name, 1, 1) == "/") { closing = 1; name = substr(name, 2) }
    if (!(tolower(name) in keep)) continue
    if (closing) { printf "</%s>", name; continue }
    e = index(p, ">"); if (e == 0) continue
    t = substr(p, 1, e - 1)
    self = (substr(t, length(t), 1) == "/")
    line = "<" name
    for (i = 1; i <= na; i++)
      if (match(t, "[ ]" A[i] "[ ]*=[ ]*(\"[^\"]*\"|'[^']*')")) line = line " " substr(t, RSTART + 1, RLENGTH - 1)
    printf "%s%s>", line, (self ? "/" : "")
  }
  print ""
}
"""


def config(elements: tuple[str, ...] = CONFIG_ELEMENTS, attributes: tuple[str, ...] = CONFIG_ATTRIBUTES) -> Section:
    """serverConf.xml and every config-<x>.xml: allow-listed elements and attributes only.

    The host strips comments and CDATA sections (a commented-out `<mta autoStart="true"/>`, or one in
    a command's text, enables nothing) and
    prints, per file, `### <file>` then the kept tags on one line; the bot parses that fragment with
    a real XML parser. A file the bot's user cannot read is `### <file> UNREADABLE`.
    """
    for n in (*elements, *attributes):
        if not _XML_NAME_RE.match(n):
            raise UnsafeProbeError(f"{n!r} is not a plain XML name")
    awk = shlex.quote(_CONFIG_AWK.strip())
    return Section(
        "config",
        label="read autoStart, memory limits and IP affinities (allow-listed) from <nl_home>/conf/*.xml",
        command='for f in "$NL_HOME"/conf/serverConf.xml "$NL_HOME"/conf/config-*.xml; do [ -e "$f" ] || continue; '
        'n=${f##*/}; case "$n" in *[!A-Za-z0-9_.-]*) continue ;; esac; '
        'if [ ! -r "$f" ]; then echo "### $n UNREADABLE"; continue; fi; echo "### $n"; '
        f"tr '\\r\\n\\t' '   ' < \"$f\" | awk -v els={shlex.quote(' '.join(elements))} "
        f"-v ats={shlex.quote(' '.join(attributes))} {awk}; done",
    )


def config_autostart() -> Section:
    """The configuration section (kept under this name for the runner's instance discovery)."""
    return config()


# The binary and working folder are read for the first PS_LINKED nlserver rows only: they tell the
# install root the modules run from (one is enough; every readlink is a process on the host).
PS_LINKED = 3
# ps's exit status travels down the pipe as a last `@@ps-exit N` line (a pipeline's status is its last
# command's): a ps that refuses the options (BusyBox ps has no -e; an old procps no `etimes`) prints
# nothing, and nothing is not "no nlserver process and 0 zombies" but NO-PS.
_PS = (
    "if command -v ps >/dev/null 2>&1; then { ps -eo pid=,stat=,user:32=,etimes=,rss=,args= 2>/dev/null; "
    'echo "@@ps-exit $?"; } | '
    "{ z=0; n=0; cb_x=; set -f; while IFS= read -r cb_l; do "
    'case "$cb_l" in "@@ps-exit "*) cb_x=${cb_l#@@ps-exit }; continue ;; esac; set -- $cb_l; '
    'case "$2" in Z*) z=$((z+1)) ;; esac; '
    'case "${6##*/}" in nlserver*) n=$((n+1)); cb_e=; cb_c=; '
    f'if [ "$n" -le {PS_LINKED} ]; then '
    'cb_e=$(readlink "/proc/$1/exe" 2>/dev/null); cb_c=$(readlink "/proc/$1/cwd" 2>/dev/null); fi; '
    'printf \'%s\\t%s\\t%s\\n\' "$cb_l" "${cb_e:--}" "${cb_c:--}" ;; esac; '
    'done; set +f; if [ "$cb_x" = 0 ]; then echo "zombies $z"; else echo "NO-PS ps failed (exit ${cb_x:-?})"; fi; }; '
    "else echo NO-PS ps not found; fi"
)


def processes() -> Section:
    """nlserver processes (pid, state, user, age, memory, command line, and the binary and working
    folder when the bot may read them), and the host's count of zombie processes; `NO-PS <why>` when
    ps is missing or fails. Other processes' command lines never leave the host (they may carry secrets)."""
    return Section("ps", _PS, label="ps -eo pid,stat,user,etimes,rss,args (nlserver rows only; zombie count)")


def disk() -> Section:
    return Section("df", 'df -P "$VAR_DIR"')


def listening() -> Section:
    """Listening sockets: `ss -lntuH`; `ss -lntu` where ss has no -H (iproute2 before 4.13, as on RHEL 7);
    `netstat -lntu` where there is no ss (BusyBox, net-tools only)."""
    return Section("ports", "ss -lntuH 2>/dev/null || ss -lntu 2>/dev/null || netstat -lntu")


def _var_path(rel_path: str) -> str:
    """A knowledge path (`var/prod/log/mta.log`) as a shell word under `$VAR_DIR` or `$NL_HOME`."""
    if not _REL_PATH_RE.match(rel_path) or ".." in rel_path.split("/"):
        raise UnsafeProbeError(f"log path {rel_path!r} is not a plain relative path")
    if rel_path.startswith("var/"):
        return f'"$VAR_DIR"/{shlex.quote(rel_path[4:])}'
    return f'"$NL_HOME"/{shlex.quote(rel_path)}'


def _shown(rel_path: str) -> str:
    return "<var>/" + rel_path[4:] if rel_path.startswith("var/") else "<nl_home>/" + rel_path


def rotated_path(rel_path: str) -> str:
    """`var/prod/log/mta.log` -> `var/prod/log/mta_2.log` (where syslogd moves a full log)."""
    if not rel_path.endswith(".log"):
        raise UnsafeProbeError(f"log path {rel_path!r} does not end in .log")
    return rel_path[:-4] + "_2.log"


def log_tail(rel_path: str) -> Section:
    """`@@STAT <size> <mtime>@@`, then the last LOG_TAIL_BYTES of the log (under XTK_VAR_DIR if set)."""
    f = _var_path(rel_path)
    return Section(
        f"log:{rel_path}",
        f"stat -c '@@STAT %s %Y@@' -- {f} && tail -c {LOG_TAIL_BYTES} -- {f}",
        label=f"tail -c {LOG_TAIL_BYTES} {_shown(rel_path)}",
    )


def log_rotated_tail(rel_path: str) -> Section:
    """The end of `<module>_2.log`, only as much as the current file leaves of the byte budget: when
    the current file is shorter than LOG_TAIL_BYTES, the window may reach back into the rotated one."""
    cur, prev = _var_path(rel_path), _var_path(rotated_path(rel_path))
    return Section(
        f"log:{rotated_path(rel_path)}",
        label=f"tail {_shown(rotated_path(rel_path))} (only what {_shown(rel_path)} leaves of the budget)",
        command=f"cb_s=$(stat -c %s -- {cur} 2>/dev/null || echo 0); "
        f'if [ "$cb_s" -lt {LOG_TAIL_BYTES} ] && [ -r {prev} ]; then '
        f"stat -c '@@STAT %s %Y@@' -- {prev} && tail -c $(({LOG_TAIL_BYTES} - cb_s)) -- {prev}; fi",
    )


# The newest three `mtime size name` lines (whole seconds), then `count N`, of sorted listing lines.
_LAST3_AWK = (
    '{ split($1, t, "."); $1 = t[1]; n++; l[n % 3] = $0 } '
    'END { for (i = n - 2; i <= n; i++) if (i > 0) print l[i % 3]; print "count " n + 0 }'
)


def redir_logs(instance: str) -> Section:
    """The tracking log folder of `instance` (`var/<instance>/redir/log`): the newest three files
    (`mtime size name`) and the count, `NO-REDIR-DIR` when there is no such folder, `REDIR-UNREADABLE
    <dir>` when the bot's user may not read it (or a folder above it).

    A redirection server may hold tens of thousands of files there, so this is one `find -printf`
    (GNU), or `ls -t` and three `stat` where find cannot print: never a process per file, and the
    output is four lines whatever the count. In a subshell: its `cd` leaves the script's folder alone."""
    if not INSTANCE_RE.match(instance):
        raise UnsafeProbeError(f"instance {instance!r} is not valid")
    # A folder the bot's user may not enter is not a missing one: each level is tested from var down
    # (`-d` is only reliable below a folder the user may search), `REDIR-UNREADABLE <dir>` when one
    # stops it, `NO-REDIR-DIR` only when a level does not exist.
    find_dir = (
        f'cb_d=$VAR_DIR; cb_u=; for cb_p in {shlex.quote(instance)} redir log; do [ -d "$cb_d" ] || break; '
        '[ -x "$cb_d" ] || { cb_u=1; break; }; cb_d=$cb_d/$cb_p; done; '
        'if [ -n "$cb_u" ]; then echo "REDIR-UNREADABLE $cb_d"; elif [ ! -d "$cb_d" ]; then echo NO-REDIR-DIR; '
        'elif ! cd "$cb_d" 2>/dev/null || [ ! -r . ]; then echo "REDIR-UNREADABLE $cb_d"; else '
    )
    return Section(
        f"redir:{instance}",
        label=f"newest 3 and count of <var>/{instance}/redir/log/*.log (find -printf, else ls -t)",
        command=f"( {find_dir}"
        'if [ -n "${CB_FIND_PRINTF:-}" ]; then '
        "find . -maxdepth 1 -type f -name '*.log' -printf '%T@ %s %f\\n' 2>/dev/null | LC_ALL=C sort -n | "
        f"awk {shlex.quote(_LAST3_AWK)}; "
        "else echo \"count $(ls -1 | grep -c '\\.log$')\"; "
        "ls -1t | grep '\\.log$' | head -n 3 | while IFS= read -r f; do stat -c '%Y %s %n' -- \"$f\"; done; fi; "
        "fi )",
    )


def http_fetch(section_id: str, base_url: str, path: str, *, follow: bool = False, timeout_s: float = 5.0) -> Section:
    """GET `base_url + path` on the host with curl; with `follow`, redirects are followed (at most
    MAX_REDIRECTS, http and https only). The output is the body, then a trailer
    `@@HTTP <status> <redirects> <final url>@@` (curl writes it on errors too); curl's exit code is the
    section's. TLS certificates are verified (an error is a finding, never skipped)."""
    try:
        url = http_url(base_url.rstrip("/"), "base URL")
    except ValueError as e:
        raise UnsafeProbeError(str(e)) from e
    if not _URL_PATH_RE.match(path) or ".." in path.split("/"):
        raise UnsafeProbeError("invalid health URL path")
    if not 0.5 <= timeout_s <= 60:
        raise UnsafeProbeError("invalid health URL timeout")
    opts = [
        "-sS",
        "--proto",
        "=http,https",
        "--connect-timeout",
        f"{min(3.0, timeout_s):g}",
        "-m",
        f"{timeout_s:g}",
        "--max-filesize",
        str(HTTP_MAX_BYTES),
        "-o",
        "-",
        "-w",
        shlex.quote("\n@@HTTP %{http_code} %{num_redirects} %{url_effective}@@\n"),
    ]
    if follow:
        opts += ["-L", "--max-redirs", str(MAX_REDIRECTS), "--proto-redir", "=http,https"]
    return Section(section_id, f"curl {' '.join(opts)} {shlex.quote(url + path)}")


# A `%T@ %s %p` line of GNU find with the mtime's fraction dropped, the rest (the path) kept as it is.
# (Each path once: var under nl_home is reached from both start points.)
_WHOLE_SECONDS_AWK = (
    '{ i = index($0, "."); s = index($0, " "); if (i > 0 && i < s) $0 = substr($0, 1, i - 1) substr($0, s) } '
    "!seen[$0]++"
)


def cores() -> Section:
    """Core files (`core`, `core.<pid>`) in the install folder, where the modules run, and in var:
    the newest few (`mtime size path`), the count, and what `file` says of the newest; `unreadable
    <dir>` for a start folder the bot's user may not read.

    `find -H` follows the start points when they are symbolic links (the default Linux layout has
    `nl6/var -> /var/nl6`), never the links below them; GNU find prints the facts itself, else one
    `stat` per core file."""
    return Section(
        "cores",
        label="find -H <nl_home> <var> -maxdepth 2 -name core -o -name core.N; stat; file (newest)",
        # A folder the bot's user may not read hides its cores from find (whose errors are dropped):
        # said as `unreadable <dir>`, so that no core found there is not "no core file".
        command='for cb_d in "$NL_HOME" "$VAR_DIR"; do [ -d "$cb_d" ] || continue; '
        '{ [ -r "$cb_d" ] && [ -x "$cb_d" ]; } || echo "unreadable $cb_d"; done; '
        'cb_f() { find -H "$NL_HOME" "$VAR_DIR" -maxdepth 2 -type f \\( -name core -o -name "core.[0-9]*" \\) '
        '"$@" 2>/dev/null; }; '
        'if [ -n "${CB_FIND_PRINTF:-}" ]; then '
        f"cb_s=$(cb_f -printf '%T@ %s %p\\n' | awk {shlex.quote(_WHOLE_SECONDS_AWK)} | LC_ALL=C sort -n); "
        "else cb_s=$(cb_f | sort -u | while IFS= read -r f; do stat -c '%Y %s %n' -- \"$f\"; done | LC_ALL=C sort -n); fi; "
        'if [ -n "$cb_s" ]; then '
        'echo "$cb_s" | tail -n 5; echo "count $(echo "$cb_s" | wc -l)"; '
        'cb_n=$(echo "$cb_s" | tail -n 1 | cut -d " " -f 3-); '
        'if command -v file >/dev/null 2>&1; then echo "file $(file -b -- "$cb_n" 2>&1 | head -c 400)"; '
        'else echo "file -"; fi; else echo "count 0"; fi',
    )


def devices() -> Section:
    """The device of the temporary folder (TMPDIR, else /tmp) and of var (symbolic links followed)."""
    return Section("devices", 'stat -L -c "%d %n" -- "${TMPDIR:-/tmp}" "$VAR_DIR"')


def system() -> Section:
    """What Adobe's Linux system indicators read: swap (`free`), load (`uptime`) and CPUs (`nproc`),
    file handles (`sysctl fs.file-nr`), and the shared-memory segments by owner (`ipcs -m`); /proc
    when a command is missing. Output: `SwapTotal:`/`SwapFree:` lines, `loadavg`, `cpus`, `file-nr`,
    `shm-listed` and one `shm <owner>` per segment."""
    return Section(
        "system",
        label="free -k; uptime; nproc; sysctl -n fs.file-nr; ipcs -m (or /proc)",
        command=(
            "if command -v free >/dev/null 2>&1; then LC_ALL=C free -k 2>/dev/null | "
            'awk \'$1 == "Swap:" { print "SwapTotal:", $2, "kB"; print "SwapFree:", $4, "kB" }\'; '
            "else grep -E '^Swap(Total|Free):' /proc/meminfo 2>/dev/null; fi; "
            "cb_l=$(LC_ALL=C uptime 2>/dev/null | sed -n 's/.*load averages*: *//p' | tr -d ','); "
            '[ -n "$cb_l" ] || cb_l=$(cut -d " " -f 1-3 /proc/loadavg 2>/dev/null); echo "loadavg $cb_l"; '
            'echo "cpus $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"; '
            'echo "file-nr $(sysctl -n fs.file-nr 2>/dev/null || cat /proc/sys/fs/file-nr 2>/dev/null)"; '
            # shm-listed only when ipcs -m answered: a failed ipcs is not "no segment".
            "if command -v ipcs >/dev/null 2>&1 && cb_i=$(ipcs -m 2>/dev/null); then echo shm-listed; "
            "printf '%s\\n' \"$cb_i\" | awk '$2 ~ /^[0-9]+$/ && NF >= 5 { print \"shm\", $3 }'; fi"
        ),
    )


# Sources a Campaign environment file (env.sh, customer.sh) so that a broken one cannot end the
# probe: it is tried first in a subshell (a fatal error there, such as dash's "Bad substitution" on a
# bash-ism, or an `exit` in the file, ends only the subshell), and sourced for real only if that one
# got to its end. What failed is kept as `source_error <file>: <first error line>` for the env section.
_SOURCE_FUNCTION = (
    'cb_source() { [ -r "$1" ] || return 0; '
    'cb_o=$( { . "$1" >/dev/null; echo "@@CB-SOURCED:$?@@"; } 2>&1 ); '
    'case "$cb_o" in *@@CB-SOURCED:0@@*) . "$1" >/dev/null 2>&1; return 0 ;; '
    '*@@CB-SOURCED:*) . "$1" >/dev/null 2>&1 ;; esac; '
    "cb_m=$(printf '%s\\n' \"$cb_o\" | sed -n '/@@CB-SOURCED/d; /[^[:space:]]/{p;q;}' | cut -c 1-200); "
    '[ -n "$cb_m" ] || case "$cb_o" in *@@CB-SOURCED:*) return 0 ;; *) cb_m="it ended the shell" ;; esac; '
    'CB_SOURCE_ERRORS="${CB_SOURCE_ERRORS:-}source_error ${1##*/}: $cb_m\n"; }'
)


def prelude(nl_home: str) -> list[str]:
    """The lines every script starts with: the host's clock, the install root, the Campaign
    environment (env.sh and customer.sh, see `_SOURCE_FUNCTION`), the data folder and nlserver's path."""
    if not PATH_RE.match(nl_home) or ".." in nl_home.split("/"):
        raise UnsafeProbeError("install root is not a plain absolute path")
    return [
        "CB_NOW=$(date -u +%s.%N 2>/dev/null)",
        f"NL_HOME={shlex.quote(nl_home)}",
        "export NL_HOME",
        _SOURCE_FUNCTION,
        'cb_source "$NL_HOME/env.sh"',
        'cb_source "$NL_HOME/customer.sh"',
        "set +eu",
        # GNU find prints file facts itself (-printf): one process for a folder of any size.
        "find / -maxdepth 0 -printf '' >/dev/null 2>&1 && CB_FIND_PRINTF=1",
        'case "${XTK_VAR_DIR:-}" in /?*) VAR_DIR=${XTK_VAR_DIR%/} ;; *) VAR_DIR="$NL_HOME/var" ;; esac',
        'NLSERVER="$NL_HOME/bin/nlserver"',
        "exec </dev/null",
    ]


def in_bash(lines: list[str]) -> str:
    """The script text: the first line (the clock) in the login shell, the rest under bash when the host
    has it, as Campaign's own scripts (env.sh, customer.sh) are bash; under /bin/sh otherwise.

    The rest is one single-quoted word (`CB_BODY`), exec'd by bash or eval'd by sh, so it is sent once.
    bash gets no rc file (BASH_ENV and ENV unset). `CB_SHELL` tells the env section which shell ran."""
    first, body = lines[0], "\n".join(lines[1:]) + "\n"
    return (
        f"{first}\n"
        f"CB_BODY={shlex.quote(body)}\n"
        'if [ -z "${CB_SHELL:-}" ] && command -v bash >/dev/null 2>&1; then '
        'CB_SHELL=bash; export CB_NOW CB_SHELL; unset BASH_ENV ENV; exec bash -c "$CB_BODY" cb-probe; fi\n'
        'CB_SHELL=sh\neval "$CB_BODY"\n'
    )


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
        description = "; ".join(describe(s) for s in self.sections)
        return Script(text=in_bash(lines), description=description, verbs=verbs)


def describe(s: Section) -> str:
    """How the audit log (and a "did not finish" finding) names a section."""
    if s.label:
        return s.label
    return (
        s.command.replace('"$NLSERVER"', "nlserver")
        .replace('"$NL_HOME"', "<nl_home>")
        .replace("$NL_HOME", "<nl_home>")
        .replace('"$VAR_DIR"', "<var>")
        .replace("$VAR_DIR", "<var>")
    )


def nlserver_present() -> Section:
    return Section("nlserver-present", 'if [ -x "$NLSERVER" ]; then echo present; else echo "missing $NLSERVER"; fi')
