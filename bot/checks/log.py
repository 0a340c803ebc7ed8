"""Module logs: error and warning entries (with Campaign error codes) in the recent window.

Facts it respects (domain reference, section 9):
- logs rotate: `<module>.log` moves to `<module>_2.log` at about 10 MB, so the window is read
  across both (the rotated file only as far as the byte budget reaches);
- an entry may span lines (a database error and its `DETAIL:` line): undated lines stay with their
  entry, in the evidence too;
- every module logs through syslogd, so a log with no line in the window is not "no errors": it
  is silent, and the `log_writer` host check says whether syslogd runs;
- `XTK_VAR_DIR` (customer.sh) moves var: the probe reads the logs there.

Each finding is about one log file (`<module>.log` with its rotated `_2`): its `target` is that
file's path as the knowledge base names it (relative to the install, so it does not change when
`XTK_VAR_DIR` moves var), and errors in two logs of one module are two alerts in the watch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timezone

from bot.checks.base import ModuleCheck, finding, unfinished, unfinished_finding
from bot.checks.facts import HostContext, HostFacts
from bot.checks.log_writer import syslogd_writing
from bot.kb.models import Module
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section
from bot.redact import redact_and_clip

# What `tail` (or `stat`) says when it cannot read a log, and what that means: the fact is
# unknown, not a warning.
_MISSING = ("No such file", "cannot open", "cannot stat")
_UNREADABLE_LOG = (
    (
        _MISSING,
        "does not exist on this host",
        "the log's path (nl_home, XTK_VAR_DIR)",
    ),
    (("ermission denied",), "is not readable by the bot's user", "read permission on the log for the bot's user"),
)


# A file written this long after its newest dated line has lines the bot could not date (syslogd writes
# an entry and its continuation lines at once, so a real entry moves the mtime by less than this).
UNDATED_SLACK_S = 60


def _utc(ts: int | None) -> str:
    return f"{datetime.fromtimestamp(ts, timezone.utc):%Y-%m-%d %H:%M} UTC" if ts is not None else "?"


class LogCheck(ModuleCheck):
    name = "log"
    order = 50
    partial = True  # a log the host did not finish reading is "cannot tell"; the other logs still count

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        if module.log_paths(instance):
            yield s.listening()  # is syslogd listening? (a silent log means something else then)
        for path in module.log_paths(instance):
            yield s.log_rotated_tail(path)
            yield s.log_tail(path)

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        for path in module.log_paths(instance):
            pending = unfinished(facts, (s.log_rotated_tail(path), s.log_tail(path)))
            if pending:
                yield unfinished_finding(ctx, facts, module, instance, self.name, pending, target=path)
                continue
            yield self._one(ctx, facts, module, instance, path, facts.sections[f"log:{path}"])

    def _one(
        self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None, path: str, sec: p.SectionOutput
    ) -> Finding:
        shown = facts.shown(path)
        prev_sec = facts.sections.get(f"log:{s.rotated_path(path)}")
        prev = p.parse_log_read(prev_sec.text, s.LOG_TAIL_BYTES) if prev_sec is not None else None
        if prev is not None and prev.size is None:
            prev = None  # the rotated file is not there (the probe printed nothing of it)
        if prev is not None and prev.size is not None and prev.size > prev.read_bytes and "\n" not in prev.text:
            prev = None  # only a fragment of one line was read: nothing whole to add
        rotated_name = s.rotated_path(path).rsplit("/", 1)[-1]
        cur_missing = False
        if sec.exit_code not in (0, None):
            for needles, why, needs in _UNREADABLE_LOG:
                if any(n in sec.text for n in needles):
                    if needles is _MISSING and prev is not None:
                        # Just rotated: <module>.log moved to <module>_2.log and is not written yet.
                        cur_missing = True
                        break
                    return finding(
                        ctx,
                        module,
                        instance,
                        self.name,
                        "unknown",
                        f"cannot read {shown}: it {why}",
                        [redact_and_clip(sec.text.strip(), 200)],
                        ("cannot_tell",),
                        needs=needs,
                        target=path,
                    )
        cur = p.LogRead("", None, None, 0) if cur_missing else p.parse_log_read(sec.text, s.LOG_TAIL_BYTES)
        if cur_missing and prev is not None:
            cur = dataclasses.replace(cur, size=prev.size, mtime=prev.mtime)  # the file that holds the window
        text = (prev.text.rstrip("\n") + "\n" if prev is not None and prev.text.strip() else "") + cur.text
        if cur_missing:
            shown = facts.shown(s.rotated_path(path))
            rotated = f" ({path.rsplit('/', 1)[-1]} does not exist: just rotated)"
        else:
            rotated = f" and {rotated_name}" if prev is not None and prev.text.strip() else ""
        window = ctx.host.log_window_min
        scan = p.scan_log(text, facts.now, window)
        where = f"{shown}{rotated}"
        if scan.errors:
            codes = f" ({', '.join(scan.codes[:4])})" if scan.codes else ""
            return finding(
                ctx,
                module,
                instance,
                self.name,
                "warn",
                f"{len(scan.errors)} error entr{'y' if len(scan.errors) == 1 else 'ies'}{codes} in {where} in the "
                f"last {window} min",
                list(scan.errors[-5:]),
                ("log_errors",),
                tail=scan.tail,
                target=path,
            )
        if scan.lines_in_window == 0:
            undated = self._undated(ctx, facts, module, instance, path, shown, scan, cur, text, window)
            if undated is not None:
                return undated
            return self._silent(ctx, facts, module, instance, path, shown, scan, cur, window)
        if scan.warnings:
            return finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"no errors, {len(scan.warnings)} warning(s) in {where} in the last {window} min",
                list(scan.warnings[-3:]),
                tail=scan.tail,
                target=path,
            )
        return finding(
            ctx,
            module,
            instance,
            self.name,
            "ok",
            f"no errors in {where} in the last {window} min ({scan.lines_in_window} "
            f"entr{'y' if scan.lines_in_window == 1 else 'ies'}; last one "
            f"{scan.newest:%Y-%m-%d %H:%M} UTC)"
            if scan.newest
            else f"no errors in {where} in the last {window} min",
            tail=scan.tail,
            target=path,
        )

    def _undated(
        self,
        ctx: HostContext,
        facts: HostFacts,
        module: Module,
        instance: str | None,
        path: str,
        shown: str,
        scan: p.LogScan,
        cur: p.LogRead,
        text: str,
        window: int,
    ) -> Finding | None:
        """ "Cannot tell" when the log has lines the bot cannot date: none has a timestamp in the shape
        Adobe documents, or the file was written in the window while its newest dated line is older
        (lines in another format, or local time read as UTC). Calling that log silent would hide its
        errors. None when the log's lines are read."""
        horizon = facts.now.timestamp() - window * 60
        written = cur.mtime is not None and cur.mtime >= horizon and bool(cur.text.strip())
        if scan.newest is None and text.strip():
            why = "none of its lines has a timestamp in the shape the bot reads (`YYYY-MM-DD HH:MM:SS`, ISO 8601)"
        elif written and scan.newest is not None and (cur.mtime or 0) - scan.newest.timestamp() > UNDATED_SLACK_S:
            why = (
                f"the file was written at {_utc(cur.mtime)}, but its newest dated line is of "
                f"{scan.newest:%Y-%m-%d %H:%M} UTC: its latest lines have a timestamp the bot cannot read (another "
                "format, or local time without a zone)"
            )
        else:
            return None
        return finding(
            ctx,
            module,
            instance,
            self.name,
            "unknown",
            f"cannot tell whether {shown} has errors in the last {window} min: {why}",
            [
                f"{shown}: {cur.size if cur.size is not None else '?'} bytes, modified {_utc(cur.mtime)}",
                *scan.tail[-3:],
            ],
            ("cannot_tell",),
            needs="log lines dated as Adobe documents them (`2021-05-31T08:42:18.124Z`, UTC or with a zone)",
            tail=scan.tail,
            target=path,
        )

    def _silent(
        self,
        ctx: HostContext,
        facts: HostFacts,
        module: Module,
        instance: str | None,
        path: str,
        shown: str,
        scan: p.LogScan,
        cur: p.LogRead,
        window: int,
    ) -> Finding:
        """No entry in the window. Never "no errors": when syslogd runs and listens, the module logged
        nothing (idle, or stuck: the finding says silent, and since when); otherwise the bot cannot
        tell whether errors happened, as log lines are lost while syslogd is down."""
        if scan.newest is not None:
            since = f"{scan.newest:%Y-%m-%d %H:%M} UTC"
        elif cur.mtime is not None:
            since = f"{_utc(cur.mtime)} (file modified; no dated line in what was read)"
        else:
            since = "? (no dated line)"
        pname = module.process_name(instance)
        # A pdump line the bot could not read (its memory column) still says the module runs.
        running = (
            facts.running(module, instance) is not None
            or facts.pdump.unread_line(pname) is not None
            or module.kind != "daemon"
        )
        blind = facts.blind
        if not running and blind is not None:
            # pdump cannot see what runs here (the process check's "wrong user or environment"): that the
            # module does not run is not known, so neither is what its silence means.
            return finding(
                ctx,
                module,
                instance,
                self.name,
                "unknown",
                f"{shown}: log silent since {since}, and the bot cannot tell whether {module.process_name(instance)} "
                f"runs: `nlserver pdump` says No tasks, but {blind.why}",
                [f"{shown}: {cur.size if cur.size is not None else '?'} bytes, modified {_utc(cur.mtime)}"],
                ("cannot_tell",),
                needs=blind.needs,
                tail=scan.tail,
                target=path,
            )
        if not running:
            return finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"{shown}: log silent since {since}; {module.process_name(instance)} does not run",
                tail=scan.tail,
                target=path,
            )
        if syslogd_writing(facts):
            return finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"{shown}: log silent since {since}: no line in the last {window} min; syslogd runs and listens, "
                f"so {module.process_name(instance)} logged nothing (idle, or stuck)",
                [f"{shown}: {cur.size if cur.size is not None else '?'} bytes, modified {_utc(cur.mtime)}"],
                ("log_silent",),
                tail=scan.tail,
                target=path,
            )
        return finding(
            ctx,
            module,
            instance,
            self.name,
            "unknown",
            f"{shown}: log silent since {since}: no line in the last {window} min, so the bot cannot tell "
            "whether errors happened (every module logs through syslogd: see the log writer finding)",
            [f"{shown}: {cur.size if cur.size is not None else '?'} bytes, modified {_utc(cur.mtime)}"],
            ("cannot_tell", "log_silent"),
            needs=f"log lines in the window: syslogd writing {shown}, or a longer log_window_min for this host",
            tail=scan.tail,
            target=path,
        )


CHECK = LogCheck()
