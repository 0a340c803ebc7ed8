"""Pure parsers of probe output, tested on the real output shapes Adobe documents.

Nothing here does I/O; every function takes text and returns plain data. Configuration fragments
are parsed with a real XML parser (defusedxml), never with regular expressions alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.redact import redact_and_clip, redact_lines

# ---------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class SectionOutput:
    text: str
    exit_code: int | None  # None: the section never finished (deadline or output cap)
    complete: bool
    binary: bool = False  # the bytes were not valid UTF-8 text


def split_sections(stdout: bytes, token: str) -> dict[str, SectionOutput]:
    """Cut the batched script's output into sections by its `@@CB:<token>:...@@` markers."""
    try:
        text = stdout.decode("utf-8")
        binary_all = False
    except UnicodeDecodeError:
        text = stdout.decode("utf-8", errors="replace")
        binary_all = True
    begin = re.compile(rf"^@@CB:{re.escape(token)}:BEGIN:(.+?)@@\r?$", re.M)
    # The end marker may follow output that lacks a final newline, so it is not anchored to a line start.
    end_re = re.compile(rf"@@CB:{re.escape(token)}:END:(.+?):(\d+)@@\r?$", re.M)
    out: dict[str, SectionOutput] = {}
    for m in begin.finditer(text):
        sid = m.group(1)
        start = m.end() + 1
        e = end_re.search(text, start - 1)
        nxt = begin.search(text, start - 1)
        if e and e.group(1) == sid and (nxt is None or e.start() < nxt.start()):
            body = text[start : e.start()]
            out[sid] = SectionOutput(body, int(e.group(2)), True, binary_all and "\ufffd" in body)
        else:
            body = text[start : nxt.start() if nxt else len(text)]
            out[sid] = SectionOutput(body, None, False, binary_all and "\ufffd" in body)
    return out


def looks_binary(text: str) -> bool:
    """True when text is mostly replacement or control characters (not what Campaign prints)."""
    if not text:
        return False
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\n\r\t"))
    return bad / len(text) > 0.05


# ---------------------------------------------------------------------------- nlserver pdump

_PREFIX = r"(?:\d\d:\d\d:\d\d\s*>\s*)?"
_BANNER_RE = re.compile(rf"^{_PREFIX}(Application [Ss]erver for Adobe Campaign.*)$", re.M)
_BUILD_RE = re.compile(r"\((?:(?P<version>[^()]*?)\s+)?build\s+(?P<build>[^)\s]+)\)", re.I)
_VERSION_RE = re.compile(r"\b[Vv]ersion\s+(?P<version>[\w.]+)")
# The empty pdump printed on the banner's own line: "... of 22/07/2019 No tasks" (build-upgrade.md).
_TRAILING_NO_TASKS_RE = re.compile(r"\s+no tasks?\s*$", re.I)
_PROC_RE = re.compile(
    rf"^{_PREFIX}(?P<module>[A-Za-z][A-Za-z0-9_]*)(?:@(?P<instance>[A-Za-z0-9_-]+))?\s+\((?P<pid>\d+)\)\s*-\s*"
    r"(?P<mem>[\d.,]+)\s*(?P<unit>[MKGT]?[oBb]|M)\b"
)
# A process line's head (`mta@prod (9986)`): a line that has it but not the documented memory column
# (`23.0 MiB`, `23552 kB`, no dash) is still a process pdump lists, never an absent one.
_PROC_HEAD_RE = re.compile(
    rf"^{_PREFIX}(?P<module>[A-Za-z][A-Za-z0-9_]*)(?:@(?P<instance>[A-Za-z0-9_-]+))?\s*\((?P<pid>\d+)\)"
)
_NO_TASKS_RE = re.compile(rf"^{_PREFIX}no tasks?\s*$", re.I | re.M)
_UNIT_MB = {"k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024}


@dataclass(frozen=True)
class Proc:
    module: str
    instance: str | None
    pid: int
    memory_mb: float

    @property
    def name(self) -> str:
        return self.module if self.instance is None else f"{self.module}@{self.instance}"


@dataclass(frozen=True)
class Banner:
    text: str
    version: str | None
    build: str | None


@dataclass(frozen=True)
class Pdump:
    banner: Banner | None
    processes: tuple[Proc, ...]
    no_tasks: bool
    recognised: bool  # banner, "No tasks" or at least one process line was found
    unread: tuple[str, ...] = ()  # process lines whose memory could not be read (kept, never an exception)

    def unread_line(self, name: str) -> str | None:
        """The unreadable line of process `name` (`mta@prod`), if there is one."""
        for line in self.unread:
            m = _PROC_RE.match(line) or _PROC_HEAD_RE.match(line)
            if m and _proc_name(m).lower() == name.lower():
                return line
        return None

    def find(self, name: str) -> Proc | None:
        for p in self.processes:
            if p.name.lower() == name.lower():
                return p
        return None


def parse_banner(text: str) -> Banner | None:
    """The version banner in its documented shapes:

    `Application server for Adobe Campaign Classic (7.0 19.1 build 9031@550c410) of 07/22/2019`,
    `Application server for Adobe Campaign Version 6.1 (build 8795) of 01/01/2016` (older pages),
    each possibly followed by `No tasks` on the same line.
    """
    m = _BANNER_RE.search(text)
    if not m:
        return None
    line = _TRAILING_NO_TASKS_RE.sub("", m.group(1).strip())
    b = _BUILD_RE.search(line)
    version = b.group("version").strip() if b and b.group("version") else None
    if version:
        version = re.sub(r"^(?:Classic|version|Version)\s+", "", version).strip() or None
    if version is None:
        v = _VERSION_RE.search(line)
        version = v.group("version") if v else None
    return Banner(line, version, b.group("build") if b else None)


def parse_pdump(text: str) -> Pdump:
    """`nlserver pdump` (and `-who`): banner, `module@instance (pid) - memory`, or "No tasks"
    (on its own line, or at the end of the banner's line)."""
    body = re.split(r"^Connections -+", text, maxsplit=1, flags=re.M)[0]
    procs = []
    unread = []
    for line in body.splitlines():
        m = _PROC_RE.match(line.strip())
        if not m:
            if _PROC_HEAD_RE.match(line.strip()):
                unread.append(line.strip()[:200])
            continue
        unit = m.group("unit")
        mem = _number(m.group("mem"), french=unit[-1:] == "o")
        if mem is None:
            unread.append(line.strip()[:200])
            continue
        procs.append(
            Proc(
                m.group("module"),
                m.group("instance"),
                int(m.group("pid")),
                round(mem * _UNIT_MB.get(unit[0].lower(), 1.0), 1),
            )
        )
    banner = parse_banner(body)
    banner_line = _BANNER_RE.search(body)
    one_line_empty = bool(banner_line and _TRAILING_NO_TASKS_RE.search(banner_line.group(1)))
    no_tasks = (bool(_NO_TASKS_RE.search(body)) or one_line_empty) and not procs and not unread
    return Pdump(banner, tuple(procs), no_tasks, bool(banner or procs or no_tasks or unread), tuple(unread))


def _proc_name(m: re.Match[str]) -> str:
    return m.group("module") + (f"@{m.group('instance')}" if m.group("instance") else "")


def _number(text: str, *, french: bool) -> float | None:
    """A memory figure as pdump prints it: `50.1`, `50,1` (French, "Mo"), `1,024.5` or `1.024,5` (the
    last separator is the decimal one), `1,024` (thousands, with English units). None if unreadable."""
    s = text.strip()
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in s:
        thousands = not french and re.fullmatch(r"\d{1,3}(,\d{3})+", s) is not None
        s = s.replace(",", "") if thousands else s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None


_MISSING_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*@[A-Za-z0-9_-]+")


def parse_missing(text: str) -> tuple[str, ...]:
    """`nlserver monitor -missing`: the banner, then one `module@instance` per line and nothing else.

    Any other line (`Killed`, an error message, a bare word) is not a missing module.
    """
    out = []
    for line in text.splitlines():
        s = re.sub(rf"^{_PREFIX}", "", line.strip())
        if _MISSING_RE.fullmatch(s):
            out.append(s)
    return tuple(out)


# ---------------------------------------------------------------------------- configuration

_FILE_HEADER_RE = re.compile(r"^### (?P<file>[A-Za-z0-9_.-]+\.xml)(?P<unreadable> UNREADABLE)?\s*$")
_FRAGMENT_TAG_RE = re.compile(
    r"<(/?)([A-Za-z_][A-Za-z0-9_.:-]*)((?:\s+[A-Za-z_][A-Za-z0-9_.:-]*=(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>"
)


@dataclass(frozen=True)
class ConfElement:
    """One allow-listed element of a configuration file: its tag, attributes and parent's tag."""

    file: str
    tag: str
    attrs: tuple[tuple[str, str], ...]
    parent: str | None = None

    def get(self, name: str) -> str | None:
        for k, v in self.attrs:
            if k == name:
                return v
        return None


@dataclass(frozen=True)
class ServerConfig:
    """The allow-listed part of `conf/serverConf.xml` and `conf/config-*.xml` (see `script.config`).

    Campaign reads `serverConf.xml` (defaults for every instance), then `config-<instance>.xml`,
    whose values win (`CC:production/using/configuration-principle.md`).
    """

    files: tuple[str, ...] = ()  # files that were read
    unreadable: tuple[str, ...] = ()  # files that exist but the bot's user cannot read
    elements: tuple[ConfElement, ...] = ()

    @property
    def seen(self) -> bool:
        return bool(self.files or self.unreadable)

    def in_file(self, file: str, tag: str) -> list[ConfElement]:
        return [e for e in self.elements if e.file == file and e.tag.lower() == tag.lower()]

    def autostart(self, file: str, tag: str) -> bool | None:
        """`autoStart` of `tag` in `file`: True/False when the attribute is there, None when not set.

        `_autoStart="true"` (Adobe's documented way to keep a module from starting) is a renamed
        attribute, so Campaign sees no `autoStart` at all: None here, and the default applies.
        """
        for e in self.in_file(file, tag):
            v = e.get("autoStart")
            if v is not None:
                return v.strip().lower() == "true"
        return None

    def renamed_autostart(self, file: str, tag: str) -> bool:
        return any(e.get("_autoStart") is not None for e in self.in_file(file, tag))

    def setting(self, files: tuple[str, ...], tag: str, name: str) -> tuple[str, str] | None:
        """(value, file) of attribute `name` on `tag`, from the first of `files` that sets it."""
        for f in files:
            for e in self.in_file(f, tag):
                v = e.get(name)
                if v is not None:
                    return v, f
        return None


def _elements_from_fragment(file: str, fragment: str) -> list[ConfElement]:
    """Parse one file's allow-listed fragment with a real XML parser (defusedxml).

    The fragment keeps start and end tags of the same elements, so a well-formed file gives a
    well-formed fragment and nesting (`<mta><child .../></mta>`) is kept. When it is not (an
    attribute value holding `>` cut a tag short), each tag is parsed on its own, without nesting.
    """
    out: list[ConfElement] = []
    try:
        root = fromstring(f"<cb>{fragment}</cb>")
    except (ParseError, DefusedXmlException):
        root = None
    if root is not None:

        def walk(el: Element, parent: str | None) -> None:
            for child in el:
                out.append(ConfElement(file, child.tag, tuple(child.attrib.items()), parent))
                walk(child, child.tag)

        walk(root, None)
        return out
    for m in _FRAGMENT_TAG_RE.finditer(fragment):
        if m.group(1):
            continue  # an end tag
        try:
            el = fromstring(f"<{m.group(2)}{m.group(3)}/>")
        except (ParseError, DefusedXmlException):
            continue
        out.append(ConfElement(file, el.tag, tuple(el.attrib.items()), None))
    return out


def parse_config(text: str) -> ServerConfig:
    """The `config` section: `### <file>` headers (or `### <file> UNREADABLE`), each followed by
    that file's allow-listed elements on one line (comments already stripped on the host)."""
    files: list[str] = []
    unreadable: list[str] = []
    elements: list[ConfElement] = []
    current: str | None = None
    chunks: dict[str, list[str]] = {}
    for line in text.splitlines():
        h = _FILE_HEADER_RE.match(line)
        if h:
            current = None
            if h.group("unreadable"):
                unreadable.append(h.group("file"))
            else:
                current = h.group("file")
                files.append(current)
                chunks[current] = []
            continue
        if current is not None:
            chunks[current].append(line)
    for f in files:
        elements.extend(_elements_from_fragment(f, " ".join(chunks[f])))
    return ServerConfig(tuple(files), tuple(unreadable), tuple(elements))


def parse_autostart(text: str) -> dict[str, dict[str, bool]]:
    """{file: {module tag: enabled}} for the tags whose `autoStart` is set in that file.

    Files that exist but cannot be read are listed with no tags (their instance still exists).
    """
    conf = parse_config(text)
    result: dict[str, dict[str, bool]] = {f: {} for f in (*conf.files, *conf.unreadable)}
    for e in conf.elements:
        v = e.get("autoStart")
        if v is not None:
            cur = result[e.file]
            cur[e.tag] = cur.get(e.tag, False) or v.strip().lower() == "true"
    return result


def instances_from_config(files: dict[str, dict[str, bool]]) -> tuple[str, ...]:
    names = []
    for f in files:
        m = re.fullmatch(r"config-([A-Za-z0-9_-]+)\.xml", f)
        if m and m.group(1) != "default":
            names.append(m.group(1))
    return tuple(sorted(names))


# ---------------------------------------------------------------------------- environment


@dataclass(frozen=True)
class HostEnv:
    """What the host's Campaign environment says (after `env.sh` and `customer.sh`)."""

    user: str | None  # the user the bot runs as on the host
    var_dir: str | None  # the data folder the probes used: XTK_VAR_DIR, else <nl_home>/var
    xtk_var_dir: str | None
    tmpdir: str | None
    trace_addr: str | None
    nl_home_real: str | None = None  # nl_home with its symbolic links resolved (`pwd -P`)
    shell: str | None = None  # the shell the probe ran under: bash when the host has it, else sh
    source_errors: tuple[str, ...] = ()  # `env.sh: <first error line>` for each file that could not be sourced


def parse_env(text: str) -> HostEnv:
    """`key value` lines; the first of each key counts, except `source_error` (one per file)."""
    vals: dict[str, str] = {}
    errors: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "source_error":
            errors.append(value.strip())
        elif key and key not in vals:
            vals[key] = value.strip()
    return HostEnv(
        vals.get("user") or None,
        vals.get("var_dir") or None,
        vals.get("xtk_var_dir") or None,
        vals.get("tmpdir") or None,
        vals.get("trace_addr") or None,
        vals.get("nl_home_real") or None,
        vals.get("shell") or None,
        tuple(errors),
    )


# ---------------------------------------------------------------------------- ps, df, ports


# The processes of Campaign's modules (the watchdog starts each as `nlserver <module> -tracefile:<module>@<i>
# -instance:<i> -detach`; mtachild shows as `nlservermtachild`), and the commands that only pass by.
MODULE_VERBS = frozenset(
    {"watchdog", "web", "syslogd", "trackinglogd", "mta", "mtachild", "stat", "inMail", "wfserver", "runwf", "sms"}
    | {"interactiond", "pipelined", "webmdl"}
)
PASSING_VERBS = frozenset(
    {"pdump", "monitor", "start", "stop", "restart", "shutdown", "config", "kill", "package", "javascript", "sql"}
)


@dataclass(frozen=True)
class PsRow:
    """An nlserver process seen by `ps` (other processes never leave the host)."""

    pid: int
    state: str
    user: str
    elapsed_s: int
    rss_kb: int
    args: str
    exe: str | None = None  # /proc/<pid>/exe, when the bot's user may read it
    cwd: str | None = None  # /proc/<pid>/cwd, idem

    @property
    def command(self) -> str:
        return self.args.split(" ", 1)[0] if self.args else ""

    def tracefile(self) -> str | None:
        """`mtachild@prod` from `-tracefile:mtachild@prod` in the command line."""
        m = re.search(r"-tracefile:([A-Za-z][A-Za-z0-9_]*(?:@[A-Za-z0-9_-]+)?)", self.args)
        return m.group(1) if m else None

    @property
    def verb(self) -> str:
        """`mta` of `nlserver mta -tracefile:...`, `mtachild` of `nlservermtachild ...`, `pdump` of `nlserver pdump`."""
        parts = self.args.split()
        name = parts[0].rsplit("/", 1)[-1] if parts else ""
        if name.startswith("nlserver") and len(name) > len("nlserver"):
            return name[len("nlserver") :]
        return parts[1] if len(parts) > 1 and name == "nlserver" else ""

    @property
    def is_module(self) -> bool:
        """A Campaign module process (the watchdog, a module it started, an mtachild), not a passing
        `nlserver` command (pdump, monitor, start, stop, config ..., the bot's own included)."""
        verb = self.verb
        if verb in PASSING_VERBS:
            return False
        return verb in MODULE_VERBS or self.tracefile() is not None


@dataclass(frozen=True)
class ProcessTable:
    rows: dict[int, PsRow]
    zombies: int | None  # processes in state Z on the whole host; None when unknown
    available: bool  # False: ps is missing or gave nothing usable

    def get(self, pid: int) -> PsRow | None:
        return self.rows.get(pid)

    def modules(self) -> list[PsRow]:
        """The rows of Campaign module processes (see `PsRow.is_module`), by pid."""
        return [r for _, r in sorted(self.rows.items()) if r.is_module]

    def mtachildren(self, instance: str) -> list[PsRow]:
        """mtachild processes of `instance` (`nlserver mtachild -tracefile:mtachild@<i> -instance:<i>`)."""
        out = []
        for r in self.rows.values():
            is_child = re.search(r"(?:^|/|\s)nlserver\s*mtachild\b", r.args) or (r.tracefile() or "").startswith(
                "mtachild@"
            )
            if is_child and re.search(rf"-instance:{re.escape(instance)}(?:\s|$)", r.args):
                out.append(r)
        return out


def parse_processes(text: str) -> ProcessTable:
    """The `ps` section: `pid stat user etimes rss args<TAB>exe<TAB>cwd` rows of nlserver processes,
    then `zombies N`; `NO-PS <why>` when ps is missing or failed (then nothing it printed counts)."""
    if any(line.startswith("NO-PS") for line in text.splitlines()):
        return ProcessTable({}, None, False)
    rows: dict[int, PsRow] = {}
    zombies: int | None = None
    for line in text.splitlines():
        if line.startswith("zombies "):
            z = line.split()[1:2]
            zombies = int(z[0]) if z and z[0].isdigit() else None
            continue
        main, exe, cwd = line, "-", "-"
        if line.count("\t") >= 2:
            main, exe, cwd = line.rsplit("\t", 2)
        parts = main.split(None, 5)
        if len(parts) < 6 or not (parts[0].isdigit() and parts[3].isdigit() and parts[4].isdigit()):
            continue
        rows[int(parts[0])] = PsRow(
            int(parts[0]),
            parts[1],
            parts[2],
            int(parts[3]),
            int(parts[4]),
            parts[5].strip(),
            exe if exe not in ("-", "") else None,
            cwd if cwd not in ("-", "") else None,
        )
    return ProcessTable(rows, zombies, zombies is not None or bool(rows))


@dataclass(frozen=True)
class DiskUse:
    filesystem: str
    used_pct: int
    available_kb: int
    mount: str


def parse_df(text: str) -> DiskUse | None:
    """`df -P PATH`: the data line's capacity column."""
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 6 and parts[4].endswith("%") and parts[4][:-1].isdigit():
            return DiskUse(parts[0], int(parts[4][:-1]), int(parts[3]) if parts[3].isdigit() else -1, parts[5])
    return None


def parse_listening(text: str) -> set[tuple[str, int]] | None:
    """Listening sockets from `ss -lntuH` or `netstat -lntu`: {(proto, port)}; None if unparseable."""
    found: set[tuple[str, int]] = set()
    seen_any = False
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        proto = parts[0].lower()
        if not proto.startswith(("tcp", "udp")):
            continue
        seen_any = True
        for col in parts[1:]:
            m = re.search(r":(\d+)$", col)
            if m:
                found.add((proto[:3], int(m.group(1))))
                break
    return found if seen_any or not text.strip() else None


@dataclass(frozen=True)
class Devices:
    tmp: tuple[int, str] | None  # (device number, path) of TMPDIR or /tmp
    var: tuple[int, str] | None


def parse_devices(text: str) -> Devices:
    """`stat -L -c '%d %n' TMP VAR`: two lines, the temporary folder's first."""
    rows: list[tuple[int, str] | None] = []
    for line in text.splitlines():
        dev, _, path = line.partition(" ")
        rows.append((int(dev), path) if dev.isdigit() and path else None)
    rows += [None, None]
    return Devices(rows[0], rows[1])


# ---------------------------------------------------------------------------- core files


@dataclass(frozen=True)
class CoreFiles:
    count: int
    newest: tuple[int, int, str] | None  # (mtime, size, path)
    listed: tuple[tuple[int, int, str], ...]  # the newest few, oldest first
    file_says: str | None  # `file -b` on the newest
    unreadable: tuple[str, ...] = ()  # folders searched that the bot's user may not read


def parse_cores(text: str) -> CoreFiles:
    """The `cores` section: `unreadable <dir>` lines, `mtime size path` lines (newest last), `count N`,
    `file <description>`."""
    listed: list[tuple[int, int, str]] = []
    count = 0
    file_says: str | None = None
    unreadable: list[str] = []
    for line in text.splitlines():
        if line.startswith("unreadable "):
            unreadable.append(line.removeprefix("unreadable ").strip())
        elif line.startswith("count "):
            c = line.split()[1:2]
            count = int(c[0]) if c and c[0].isdigit() else count
        elif line.startswith("file "):
            said = line[5:].strip()
            file_says = said if said and said != "-" else None
        else:
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
                listed.append((int(parts[0]), int(parts[1]), parts[2]))
    listed.sort()
    return CoreFiles(
        max(count, len(listed)), listed[-1] if listed else None, tuple(listed), file_says, tuple(unreadable)
    )


_UNREADABLE_RE = re.compile(r"no read permission|permission denied|cannot open", re.I)


def file_unreadable(file_says: str | None) -> str | None:
    """What `file` says when it cannot read the file (`regular file, no read permission`, `cannot open
    ... (Permission denied)`), None when it could read it."""
    if not file_says:
        return None
    m = _UNREADABLE_RE.search(file_says)
    return m.group(0).lower() if m else None


def core_command(file_says: str | None) -> str | None:
    """The crashed command line `file` reads from a core: `..., from 'nlserver mta -tracefile:...'`."""
    if not file_says:
        return None
    m = re.search(r"from '([^']*)'", file_says)
    return m.group(1).strip() or None if m else None


# ---------------------------------------------------------------------------- system indicators


@dataclass(frozen=True)
class SystemInfo:
    swap_total_kb: int | None
    swap_free_kb: int | None
    load: tuple[float, float, float] | None
    cpus: int | None
    files_open: int | None  # allocated file handles (fs.file-nr, first field)
    files_max: int | None  # fs.file-nr, third field (fs.file-max)
    shm_by_owner: dict[str, int] = field(default_factory=dict)  # `ipcs -m`: segments per owner
    shm_listed: bool = False


def parse_system(text: str) -> SystemInfo:
    """The `system` section: `SwapTotal:`/`SwapFree:` from /proc/meminfo, `loadavg`, `cpus`,
    `file-nr` and `shm <owner>` lines (one per segment listed by `ipcs -m`)."""
    swap_total = swap_free = cpus = files_open = files_max = None
    load: tuple[float, float, float] | None = None
    shm: dict[str, int] = {}
    listed = False
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if key in ("SwapTotal:", "SwapFree:") and len(parts) >= 2 and parts[1].isdigit():
            if key == "SwapTotal:":
                swap_total = int(parts[1])
            else:
                swap_free = int(parts[1])
        elif key == "loadavg" and len(parts) >= 4:
            try:
                load = (float(parts[1]), float(parts[2]), float(parts[3]))
            except ValueError:
                load = None
        elif key == "cpus" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) > 0:
            cpus = int(parts[1])
        elif key == "file-nr" and len(parts) >= 4 and parts[1].isdigit() and parts[3].isdigit():
            files_open, files_max = int(parts[1]), int(parts[3])
        elif key == "shm-listed":
            listed = True
        elif key == "shm" and len(parts) >= 2:
            shm[parts[1]] = shm.get(parts[1], 0) + 1
    return SystemInfo(swap_total, swap_free, load, cpus, files_open, files_max, shm, listed)


# ---------------------------------------------------------------------------- logs

_LOG_RE = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?:[.,]\d+)?(?P<tz>Z|[+-]\d\d(?::?\d\d)?)?\s+"
    r"(?P<rest>.*)$"
)
_SEVERITY_RE = re.compile(r"(?:^|\s)(?P<sev>error|warning|info|debug)(?:\s|$)", re.I)
_STAT_HEADER_RE = re.compile(r"^@@STAT (?P<size>\d+) (?P<mtime>\d+)@@$")
ERROR_CODE_RE = re.compile(r"\b[A-Z]{3}-\d{6}\b")
TAIL_LINES = 20
CONTINUATION_JOIN = " | "


@dataclass(frozen=True)
class LogScan:
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    lines_in_window: int  # entries (a dated line and its continuation lines) in the window
    newest: datetime | None
    codes: tuple[str, ...] = field(default=())
    tail: tuple[str, ...] = field(default=())  # the last lines of the file, as they are


@dataclass(frozen=True)
class LogRead:
    """What the host sent of one log file: its size and mtime (`@@STAT` header) and its tail."""

    text: str
    size: int | None
    mtime: int | None
    read_bytes: int


def parse_log_read(text: str, cap: int) -> LogRead:
    """A log section: an optional `@@STAT <size> <mtime>@@` first line written by the probe, then
    at most `cap` bytes of the file's end. When the file is larger than what was read, the first
    line is a fragment cut by `tail -c`, and is dropped."""
    first, sep, rest = text.partition("\n")
    m = _STAT_HEADER_RE.match(first.strip())
    if not m:
        return LogRead(text, None, None, len(text.encode()))
    size, mtime = int(m.group("size")), int(m.group("mtime"))
    body = rest if sep else ""
    if size > cap and "\n" in body:
        body = body.split("\n", 1)[1]
    return LogRead(body, size, mtime, min(size, cap))


def parse_log_time(date: str, time: str, tz: str | None) -> datetime | None:
    try:
        dt = datetime.strptime(f"{date} {time}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        hh, mm = int(tz[1:3]), int(tz[3:].lstrip(":") or 0)  # ISO 8601: +hh:mm, +hhmm or +hh
        dt = dt - sign * timedelta(hours=hh, minutes=mm)
    return dt.replace(tzinfo=timezone.utc)


@dataclass
class _Entry:
    ts: datetime
    date: str
    time: str
    rest: str
    more: list[str] = field(default_factory=list)


def _entries(text: str) -> list[_Entry]:
    """Dated lines, each with the undated lines that follow it (a `DETAIL:` line of a database
    error belongs to the error). Undated lines before the first dated one belong to nothing."""
    out: list[_Entry] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _LOG_RE.match(line)
        ts = parse_log_time(m.group("date"), m.group("time"), m.group("tz")) if m else None
        if m and ts is not None:
            out.append(_Entry(ts, m.group("date"), m.group("time"), m.group("rest")))
        elif out:
            out[-1].more.append(" ".join(line.split()))
    return out


def scan_log(text: str, now: datetime, window_min: int, keep: int = 5) -> LogScan:
    """Error and warning entries of a Campaign module log newer than `now - window_min`.

    Lines look like `2021-05-31T08:42:18.124Z<TAB>pid<TAB>tid<TAB>1<TAB>error<TAB>log<TAB>message`
    (or the older space-separated form). A message may span lines: undated lines are kept with the
    entry before them, in the evidence too. An entry with an error code (PGS-220000) counts as an
    error. Timestamps without a zone are read as UTC. `text` may be the end of the rotated file
    (`<module>_2.log`) followed by the current one.
    """
    errors: list[str] = []
    warnings: list[str] = []
    codes: list[str] = []
    in_window = 0
    newest: datetime | None = None
    horizon = now.timestamp() - window_min * 60
    for e in _entries(text):
        newest = e.ts if newest is None or e.ts > newest else newest
        if e.ts.timestamp() < horizon:
            continue
        in_window += 1
        rest = e.rest
        sev = _SEVERITY_RE.search(rest)
        level = sev.group("sev").lower() if sev else ""
        whole = " ".join([rest, *e.more])
        found = ERROR_CODE_RE.findall(whole)
        message = rest[sev.end() :].strip() if sev else rest.strip()
        message = re.sub(r"^log\s+", "", message)  # the category column
        message = " ".join(message.split())
        line = CONTINUATION_JOIN.join([f"{e.date} {e.time} {level or 'log'}: {message}", *e.more])
        if level == "error" or (found and level not in ("info", "debug", "warning")):
            errors.append(line)
            codes.extend(found)
        elif level == "warning":
            warnings.append(line)
    errors, warnings = errors[-keep:], warnings[-keep:]
    recent = [line.rstrip().replace("\t", "  ") for line in text.splitlines() if line.strip()][-TAIL_LINES:]
    # What is shown is redacted as one text before anything is cut: a key block spans lines, and a
    # password seen once (`password=x`) is hidden where it recurs bare.
    shown = redact_lines([*errors, *warnings, *recent])
    errors = [x[:400] for x in shown[: len(errors)]]
    warnings = [x[:400] for x in shown[len(errors) : len(errors) + len(warnings)]]
    last = tuple(x[:300] for x in shown[len(errors) + len(warnings) :])
    return LogScan(tuple(errors), tuple(warnings), in_window, newest, tuple(dict.fromkeys(codes)), last)


# ---------------------------------------------------------------------------- tracking logs


@dataclass(frozen=True)
class RedirLogs:
    exists: bool
    count: int
    newest_mtime: int | None
    newest_name: str | None
    unreadable: str | None = None  # the folder the bot's user may not read (the listing is then unknown)


def parse_redir(text: str) -> RedirLogs:
    """The `redir:<instance>` section: `mtime size name` lines and `count N`; `NO-REDIR-DIR`, or
    `REDIR-UNREADABLE <dir>` when the folder (or one above it) cannot be read: it exists, unlisted."""
    for line in text.splitlines():
        if line.startswith("REDIR-UNREADABLE"):
            return RedirLogs(True, 0, None, None, line.removeprefix("REDIR-UNREADABLE").strip() or "?")
    if "NO-REDIR-DIR" in text:
        return RedirLogs(False, 0, None, None)
    newest: tuple[int, str] | None = None
    count = 0
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 2 and parts[0] == "count" and parts[1].isdigit():
            count = int(parts[1])
        elif len(parts) == 3 and parts[0].isdigit():
            t = int(parts[0])
            if newest is None or t >= newest[0]:
                newest = (t, parts[2])
    return RedirLogs(True, count, newest[0] if newest else None, newest[1] if newest else None)


# ---------------------------------------------------------------------------- health URLs

_TRAILER_RE = re.compile(r"@@HTTP (?P<code>\d{3})(?: (?P<redirects>\d+) (?P<url>[^\n]*?))?@@\s*$")
_CURL_ERR_RE = re.compile(r"curl: \((?P<code>\d+)\) (?P<msg>[^\n]*)")

# curl's exit codes (`man curl`, EXIT CODES), grouped by what they mean for a health URL.
CURL_TLS_CODES = frozenset({35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})
CURL_FAILURES: dict[int, str] = {
    6: "dns",
    7: "refused",
    28: "timeout",
    47: "redirects",
    52: "empty",
    55: "network",
    56: "network",
    63: "too_big",
    127: "no_curl",
}


@dataclass(frozen=True)
class HttpAnswer:
    status: int | None  # the final HTTP status; None: no HTTP answer at all
    body: str
    error: str | None  # curl's own message (`curl: (7) ...`), when it gave one
    exit_code: int | None = None  # curl's exit code (the section's)
    redirects: int = 0
    url: str = ""  # the URL the answer came from, after redirects

    @property
    def failure(self) -> str | None:
        """Why curl failed: tls, dns, refused, timeout, redirects, empty, network, too_big, no_curl,
        other; None when it did not."""
        code = self.exit_code
        if code in (0, None):
            return (
                None
                if self.status is not None
                else ("no_curl" if self.error and "not found" in self.error else "other")
            )
        if code in CURL_TLS_CODES:
            return "tls"
        return CURL_FAILURES.get(code, "other")


def parse_http(text: str, exit_code: int | None = None) -> HttpAnswer:
    """curl output with the `@@HTTP <code> <redirects> <url>@@` trailer written by `-w` (curl writes it
    on errors too, with code 000). The exit code is the section's (curl's own)."""
    err = _CURL_ERR_RE.search(text)
    error = redact_and_clip(f"curl: ({err.group('code')}) {err.group('msg').strip()}", 200) if err else None
    if exit_code is None and err:
        exit_code = int(err.group("code"))
    m = _TRAILER_RE.search(text.rstrip() + "\n")
    if not m:
        if error is None:
            lines = [x for x in text.strip().splitlines() if x.strip()]
            error = redact_and_clip(lines[-1] if lines else "no answer", 200)
        return HttpAnswer(None, "", error, exit_code)
    code = int(m.group("code"))
    redirects = int(m.group("redirects") or 0)
    url = (m.group("url") or "").strip()
    body = text[: m.start()]
    if err:
        body = body.replace(err.group(0), "")
    body = body.rstrip("\n")
    if code == 0:
        return HttpAnswer(None, "", error or "no answer", exit_code, redirects, url)
    return HttpAnswer(code, body, error, exit_code, redirects, url)


_REDIR_RE = re.compile(r"<redir\b[^>]*\bstatus\s*=\s*['\"](?P<status>[^'\"]*)['\"][^>]*/?>", re.I)
_XSV_RE = re.compile(r"\bXSV-3500\d\d\b")


def redir_test_ok(body: str) -> tuple[bool, dict[str, str]]:
    """/r/test healthy = `<redir status='OK' .../>`; returns (ok, attributes)."""
    m = _REDIR_RE.search(body)
    if not m:
        return False, {}
    attrs = dict(re.findall(r"(\w+)\s*=\s*['\"]([^'\"]*)['\"]", m.group(0)))
    return m.group("status").upper() == "OK", attrs


def xsv_code(body: str) -> str | None:
    """An `XSV-3500xx` code in a reply: Campaign refused the session or the security zone
    (XSV-350008 session expired or invalid, XSV-350013 refused zone; codes seen in Adobe's JS SDK)."""
    m = _XSV_RE.search(body)
    return m.group(0) if m else None


def ping_ok(body: str) -> bool:
    """ping.jsp healthy = first line "OK" (Adobe shows both "Ok" and "OK")."""
    first = body.strip().splitlines()[0].strip() if body.strip() else ""
    return first.upper() == "OK"


def epoch(text: str) -> int | None:
    s = text.strip().splitlines()[0].strip() if text.strip() else ""
    m = re.match(r"^(\d+)(?:\.\d*)?", s)
    return int(m.group(1)) if m else None


def epoch_float(text: str) -> float | None:
    """`date -u +%s.%N` (GNU); `1700000000.%N` or `1700000000.N` where %N is not supported."""
    s = text.strip().splitlines()[0].strip() if text.strip() else ""
    m = re.match(r"^(\d+)(\.\d+)?", s)
    if not m:
        return None
    return float(m.group(1) + (m.group(2) or ""))
