"""Pure parsers of probe output, tested on the real output shapes Adobe documents.

Nothing here does I/O; every function takes text and returns plain data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

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
_PROC_RE = re.compile(
    rf"^{_PREFIX}(?P<module>[A-Za-z][A-Za-z0-9_]*)(?:@(?P<instance>[A-Za-z0-9_-]+))?\s+\((?P<pid>\d+)\)\s*-\s*"
    r"(?P<mem>[\d.,]+)\s*(?P<unit>[MKGT]?[oBb]|M)\b"
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

    def find(self, name: str) -> Proc | None:
        for p in self.processes:
            if p.name.lower() == name.lower():
                return p
        return None


def parse_banner(text: str) -> Banner | None:
    m = _BANNER_RE.search(text)
    if not m:
        return None
    line = m.group(1).strip()
    b = _BUILD_RE.search(line)
    version = b.group("version").strip() if b and b.group("version") else None
    if version:
        version = re.sub(r"^(?:Classic|version|Version)\s+", "", version).strip() or None
    return Banner(line, version, b.group("build") if b else None)


def parse_pdump(text: str) -> Pdump:
    """`nlserver pdump` (and `-who`): banner, `module@instance (pid) - memory`, or "No tasks"."""
    body = re.split(r"^Connections -+", text, maxsplit=1, flags=re.M)[0]
    procs = []
    for line in body.splitlines():
        m = _PROC_RE.match(line.strip())
        if not m:
            continue
        mem = float(m.group("mem").replace(",", "."))
        unit = m.group("unit")[0].lower()
        procs.append(
            Proc(m.group("module"), m.group("instance"), int(m.group("pid")), round(mem * _UNIT_MB.get(unit, 1.0), 1))
        )
    banner = parse_banner(body)
    no_tasks = bool(_NO_TASKS_RE.search(body)) and not procs
    return Pdump(banner, tuple(procs), no_tasks, bool(banner or procs or no_tasks))


def parse_missing(text: str) -> tuple[str, ...]:
    """`nlserver monitor -missing`: the `module@instance` lines after the banner."""
    out = []
    for line in text.splitlines():
        s = re.sub(rf"^{_PREFIX}", "", line.strip())
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(@[A-Za-z0-9_-]+)?", s):
            out.append(s)
    return tuple(out)


# ---------------------------------------------------------------------------- config autoStart

_TAG_RE = re.compile(r"<(?P<tag>[A-Za-z][A-Za-z0-9_]*)\b(?P<attrs>[^<>]*)>")
_AUTOSTART_RE = re.compile(r"(?<![A-Za-z0-9_])(?P<off>_?)autoStart\s*=\s*[\"'](?P<value>[^\"']*)[\"']", re.I)


def parse_autostart(text: str) -> dict[str, dict[str, bool]]:
    """`### config-<x>.xml` headers followed by tags: {file: {module: enabled}}.

    `_autoStart="true"` is Adobe's documented way to keep a module from starting: it counts as off.
    """
    result: dict[str, dict[str, bool]] = {}
    current: dict[str, bool] | None = None
    for line in text.splitlines():
        if line.startswith("### "):
            current = result.setdefault(line[4:].strip(), {})
            continue
        if current is None:
            continue
        for tag in _TAG_RE.finditer(line):
            a = _AUTOSTART_RE.search(tag.group("attrs"))
            if a:
                enabled = not a.group("off") and a.group("value").strip().lower() == "true"
                current[tag.group("tag")] = current.get(tag.group("tag"), False) or enabled
    return result


def instances_from_config(files: dict[str, dict[str, bool]]) -> tuple[str, ...]:
    names = []
    for f in files:
        m = re.fullmatch(r"config-([A-Za-z0-9_-]+)\.xml", f)
        if m and m.group(1) != "default":
            names.append(m.group(1))
    return tuple(sorted(names))


# ---------------------------------------------------------------------------- ps, df, ports


@dataclass(frozen=True)
class PsRow:
    pid: int
    elapsed_s: int
    rss_kb: int
    command: str


def parse_ps(text: str) -> dict[int, PsRow]:
    """`ps -eo pid=,etimes=,rss=,comm=` rows by pid."""
    rows = {}
    for line in text.splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit() and parts[2].isdigit():
            rows[int(parts[0])] = PsRow(int(parts[0]), int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else "")
    return rows


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


# ---------------------------------------------------------------------------- logs

_LOG_RE = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?:\.\d+)?(?P<tz>Z|[+-]\d\d:?\d\d)?\s+"
    r"(?P<rest>.*)$"
)
_SEVERITY_RE = re.compile(r"(?:^|\s)(?P<sev>error|warning|info|debug)(?:\s|$)", re.I)
ERROR_CODE_RE = re.compile(r"\b[A-Z]{3}-\d{6}\b")
TAIL_LINES = 20


@dataclass(frozen=True)
class LogScan:
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    lines_in_window: int
    newest: datetime | None
    codes: tuple[str, ...] = field(default=())
    tail: tuple[str, ...] = field(default=())  # the last lines of the file, as they are


def parse_log_time(date: str, time: str, tz: str | None) -> datetime | None:
    try:
        dt = datetime.strptime(f"{date} {time}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        hh, mm = int(tz[1:3]), int(tz[-2:])
        from datetime import timedelta

        dt = dt - sign * timedelta(hours=hh, minutes=mm)
    return dt.replace(tzinfo=timezone.utc)


def scan_log(text: str, now: datetime, window_min: int, keep: int = 5) -> LogScan:
    """Error and warning lines of a Campaign module log newer than `now - window_min`.

    Lines look like `2021-05-31T08:42:18.124Z<TAB>pid<TAB>tid<TAB>1<TAB>error<TAB>log<TAB>message`
    (or the older space-separated form). A line with an error code (PGS-220000) counts as an error.
    Timestamps without a zone are read as UTC.
    """
    errors: list[str] = []
    warnings: list[str] = []
    codes: list[str] = []
    in_window = 0
    newest: datetime | None = None
    horizon = now.timestamp() - window_min * 60
    for raw in text.splitlines():
        m = _LOG_RE.match(raw.strip())
        if not m:
            continue
        ts = parse_log_time(m.group("date"), m.group("time"), m.group("tz"))
        if ts is None:
            continue
        newest = ts if newest is None or ts > newest else newest
        if ts.timestamp() < horizon:
            continue
        in_window += 1
        rest = m.group("rest")
        sev = _SEVERITY_RE.search(rest)
        level = sev.group("sev").lower() if sev else ""
        code = ERROR_CODE_RE.search(rest)
        message = rest[sev.end() :].strip() if sev else rest.strip()
        message = re.sub(r"^log\s+", "", message)  # the category column
        message = " ".join(message.split())
        line = f"{m.group('date')} {m.group('time')} {level or 'log'}: {message}"[:300]
        if level == "error" or (code and level not in ("info", "debug", "warning")):
            errors.append(line)
            if code:
                codes.append(code.group(0))
        elif level == "warning":
            warnings.append(line)
    last = tuple(line.rstrip().replace("\t", "  ")[:300] for line in text.splitlines() if line.strip())[-TAIL_LINES:]
    return LogScan(tuple(errors[-keep:]), tuple(warnings[-keep:]), in_window, newest, tuple(dict.fromkeys(codes)), last)


# ---------------------------------------------------------------------------- tracking logs


@dataclass(frozen=True)
class RedirLogs:
    exists: bool
    count: int
    newest_mtime: int | None
    newest_name: str | None


def parse_redir(text: str) -> RedirLogs:
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


@dataclass(frozen=True)
class HttpAnswer:
    status: int | None  # None: no HTTP answer at all
    body: str
    error: str | None


def parse_http(text: str) -> HttpAnswer:
    """curl output with the `@@HTTP <code>@@` trailer written by `-w`."""
    m = re.search(r"@@HTTP (\d{3})@@\s*$", text)
    if not m:
        return HttpAnswer(None, "", text.strip()[:200] or "no answer")
    code = int(m.group(1))
    body = text[: m.start()].rstrip("\n")
    if code == 0:
        err = body.strip().splitlines()[-1] if body.strip() else "no answer"
        return HttpAnswer(None, "", err[:200])
    return HttpAnswer(code, body, None)


_REDIR_RE = re.compile(r"<redir\b[^>]*\bstatus\s*=\s*['\"](?P<status>[^'\"]*)['\"][^>]*/?>", re.I)


def redir_test_ok(body: str) -> tuple[bool, dict[str, str]]:
    """/r/test healthy = `<redir status='OK' .../>`; returns (ok, attributes)."""
    m = _REDIR_RE.search(body)
    if not m:
        return False, {}
    attrs = dict(re.findall(r"(\w+)\s*=\s*['\"]([^'\"]*)['\"]", m.group(0)))
    return m.group("status").upper() == "OK", attrs


def ping_ok(body: str) -> bool:
    """ping.jsp healthy = first line "OK" (Adobe shows both "Ok" and "OK")."""
    first = body.strip().splitlines()[0].strip() if body.strip() else ""
    return first.upper() == "OK"


def epoch(text: str) -> int | None:
    s = text.strip()
    return int(s) if s.isdigit() else None
