"""What every check is handed: the host's context and its parsed base facts.

The base facts come from the sections every script carries (`BASE_SECTIONS`): the host's clock,
the Campaign environment (user, `XTK_VAR_DIR`, `TMPDIR`, `TRACE_ADDR`), `nlserver pdump`,
`nlserver monitor -missing`, the allow-listed configuration and the nlserver processes. They are
parsed once, lazily, and shared by all checks of the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

from bot.inventory import Environment, Host
from bot.kb.models import Module
from bot.probes import parsers as p
from bot.probes import script as s
from bot.transports.base import CommandResult

BASE_SECTIONS: tuple[s.Section, ...] = (
    s.now(),
    s.environment(),
    s.nlserver("pdump"),
    s.nlserver("monitor", "-missing"),
    s.config(),
    s.processes(),
)

SERVER_CONF = "serverConf.xml"


@dataclass(frozen=True)
class HostContext:
    """Where a check runs: the host, its environment, the modules asked about and the instances."""

    host: Host
    env: Environment
    modules: tuple[Module, ...]
    instances: tuple[str, ...]
    # The instances the host's own configuration names (its config-<instance>.xml files), when the bot
    # read them to find an instance the question named (the inventory lists none); None otherwise.
    host_instances: tuple[str, ...] | None = None

    def instances_of(self, module: Module) -> tuple[str | None, ...]:
        """`(None,)` for a server-wide module, else the instances of the run."""
        if module.scope == "server":
            return (None,)
        return self.instances

    def targets(self, check: str) -> list[tuple[Module, str | None]]:
        """(module, instance) pairs whose knowledge lists `check`."""
        return [(m, i) for m in self.modules if check in m.checks for i in self.instances_of(m)]

    def asks_about(self, *names: str) -> bool:
        return any(m.name in names for m in self.modules)

    @property
    def front_url_configured(self) -> bool:
        """Whether the inventory names this host's front URL (else it is the default http://localhost)."""
        return "front_url" in self.host.model_fields_set


def config_files(scope: str, instance: str | None) -> tuple[str, str]:
    """Where a module's settings are read, the winning file first: `config-<instance>.xml`
    (`config-default.xml` for server-wide modules), then `serverConf.xml`."""
    own = "config-default.xml" if scope == "server" else f"config-{instance or 'default'}.xml"
    return own, SERVER_CONF


@dataclass
class HostFacts:
    """Parsed output of one host's run. Sections are keyed by their id (`nlserver-pdump`, `log:...`)."""

    ctx: HostContext
    sections: dict[str, p.SectionOutput]
    result: CommandResult

    def text(self, section_id: str) -> str | None:
        """A section's output, None when it is not there or did not finish: half an answer (a listing
        cut by the deadline) is never read as the whole one."""
        sec = self.sections.get(section_id)
        return sec.text if sec is not None and sec.complete else None

    def finished(self, section_id: str) -> bool:
        """Whether the host ran the section to its end marker (it may have failed: see its exit code)."""
        sec = self.sections.get(section_id)
        return sec is not None and sec.complete

    @property
    def why_unfinished(self) -> str:
        """Why a planned section has no complete output: the deadline, the output cap, or an early exit."""
        res = self.result
        if res.truncated:
            return "the host sent more output than the bot reads, so it stopped reading"
        if res.timed_out:
            return f"the checks did not finish within {self.ctx.host.command_timeout_s:g} s (command_timeout_s)"
        return f"the check script ended early (exit {res.exit_code})"

    @cached_property
    def pdump(self) -> p.Pdump:
        return p.parse_pdump(self.text("nlserver-pdump") or "")

    @cached_property
    def config(self) -> p.ServerConfig:
        text = self.text("config")
        return p.parse_config(text) if text is not None else p.ServerConfig()

    @cached_property
    def autostart(self) -> dict[str, dict[str, bool]]:
        text = self.text("config")
        return p.parse_autostart(text) if text is not None else {}

    @cached_property
    def missing(self) -> tuple[str, ...]:
        text = self.text("nlserver-monitor-missing")
        return p.parse_missing(text) if text is not None else ()

    @cached_property
    def procs(self) -> p.ProcessTable:
        text = self.text("ps")
        return p.parse_processes(text) if text is not None else p.ProcessTable({}, None, False)

    @property
    def ps(self) -> dict[int, p.PsRow]:
        return self.procs.rows

    @cached_property
    def env(self) -> p.HostEnv:
        text = self.text("env")
        return p.parse_env(text) if text is not None else p.HostEnv(None, None, None, None, None)

    @cached_property
    def now_f(self) -> float | None:
        """The host's clock (epoch seconds, sub-second when `date` gives %N), read first in the script."""
        text = self.text("now")
        return p.epoch_float(text) if text is not None else None

    @cached_property
    def now_s(self) -> int | None:
        return int(self.now_f) if self.now_f is not None else None

    @cached_property
    def now(self) -> datetime:
        """The host's clock (UTC); the bot's own when the host's could not be read."""
        return datetime.fromtimestamp(self.now_s, timezone.utc) if self.now_s else datetime.now(timezone.utc)

    @property
    def clock_offset_s(self) -> float | None:
        """Host clock minus the bot's clock when it sent the script (None when either is unknown).

        The host read its clock first thing, so this is the offset plus the time the script took to
        start (connection, channel): a few milliseconds to a few hundred, the same for every host.
        """
        if self.now_f is None or self.result.started_at <= 0:
            return None
        return self.now_f - self.result.started_at

    @cached_property
    def var_dir(self) -> str:
        """The data folder the probes read: `XTK_VAR_DIR` when the environment sets it, else <nl_home>/var."""
        return self.env.var_dir or f"{self.ctx.host.nl_home}/var"

    @property
    def var_moved(self) -> bool:
        """`XTK_VAR_DIR` moves var away from <nl_home>/var."""
        return self.var_dir.rstrip("/") != f"{self.ctx.host.nl_home}/var"

    def shown(self, rel_path: str) -> str:
        """A knowledge path (`var/prod/log/mta.log`) as the user should look for it on this host."""
        if self.var_moved and rel_path.startswith("var/"):
            return f"{self.var_dir.rstrip('/')}/{rel_path[4:]}"
        return rel_path

    @cached_property
    def banner(self) -> str:
        return self.pdump.banner.text if self.pdump.banner else "no banner"

    def enabled_in(self, name: str, scope: str, instance: str | None) -> tuple[bool | None, str | None]:
        """(enabled, file that says so) from `autoStart`, the instance file winning over serverConf.xml.

        (None, None) when no configuration file could be read, or when the file that would decide
        is unreadable; (False, None) when readable files leave it unset (Adobe's default: false).
        """
        conf = self.config
        if not conf.files:
            return None, None
        for file in config_files(scope, instance):
            if file in conf.unreadable:
                return None, None
            v = conf.autostart(file, name)
            if v is not None:
                return v, file
        return False, None

    def configured(self, module: Module, instance: str | None) -> bool | None:
        """Is the module meant to run here? Inventory `modules` wins; else autoStart; None if unknown.

        A `modules` entry without an instance (`mta`) covers the instances this host has: not one whose
        `config-<instance>.xml` is absent from a configuration folder the bot could read (an instance
        of another host of the environment: a pure MTA of prod2 does not run mta@prod)."""
        host = self.ctx.host
        if host.modules is not None:
            inst = instance if module.scope == "instance" else None
            if not host.lists_module(module.name, inst):
                return False
            if inst is None or any(
                m.partition("@")[2] for m in host.modules if m.partition("@")[0].lower() == module.name.lower()
            ):
                return True
            conf = self.config
            return not conf.files or f"config-{inst}.xml" in (*conf.files, *conf.unreadable)
        if module.name == "watchdog":
            return True
        return self.enabled_in(module.name, module.scope, instance)[0]

    def setting(self, tag: str, attribute: str, scope: str, instance: str | None) -> tuple[str, str] | None:
        """(value, file) of a module setting, the instance file winning over serverConf.xml."""
        return self.config.setting(config_files(scope, instance), tag, attribute)

    def running(self, module: Module, instance: str | None) -> p.Proc | None:
        return self.pdump.find(module.process_name(instance))

    def concerns(self, module: Module, instance: str | None) -> bool:
        """The module runs here, or is meant to (the inventory, autoStart, or Campaign's own `monitor
        -missing`, which a bot user that may not read conf/ still gets), or (utilities) may run at any time."""
        if module.kind != "daemon":
            return True
        if self.running(module, instance) is not None or self.configured(module, instance):
            return True
        pname = module.process_name(instance).lower()
        return self.ctx.host.modules is None and any(x.lower() == pname for x in self.missing)

    def runs(self, name: str) -> bool:
        """A server-wide module (`web`, `trackinglogd`) runs here or is meant to."""
        if self.pdump.find(f"{name}@default") is not None:
            return True
        if self.ctx.host.modules is not None:
            return self.ctx.host.lists_module(name)
        return bool(self.enabled_in(name, "server", None)[0])

    def runs_web(self) -> bool:
        """Health URLs are fetched only where the web module runs or is meant to run."""
        return self.runs("web")

    def campaign_users(self) -> list[str]:
        """Owners of the Campaign module processes ps shows, most processes first."""
        return list(_owners(self.procs.modules()))

    @cached_property
    def blind(self) -> Blind | None:
        """pdump says No tasks while ps shows Campaign module processes: the bot cannot see what runs
        there (CC:installation/using/installing-packages-with-linux.md#installation-checks: nlserver runs
        as the Campaign user with its environment). None when pdump sees, or ps shows no module.

        Only module processes count (the watchdog, what it started, mtachild): a passing `nlserver
        pdump` or `nlserver stop` (the bot's own, or someone's) is no sign of a running Campaign."""
        rows = self.procs.modules()
        if not self.pdump.no_tasks or not rows:
            return None
        owners = _owners(rows)
        me = self.env.user or "unknown"
        others = [u for u in owners if u != me]
        if not others:
            of = f"of the bot's own user {me}"
        elif len(owners) == 1:
            of = f"of user {others[0]}"
        else:  # mixed owners: how many each, the bot's own user said as such
            of = "of users " + ", ".join(f"{u} ({n}{', the bot' if u == me else ''})" for u, n in owners.items())
        seen = f"ps shows {len(rows)} nlserver module process(es) {of}"
        homes = {h for h in (self.ctx.host.nl_home.rstrip("/"), (self.env.nl_home_real or "").rstrip("/")) if h}
        roots = sorted({r for r in (_install_root(row) for row in rows) if r and not _under(r, homes)})
        if others:
            why = f"{seen}; the bot runs as {me}: it probably runs as the wrong user"
            needs = f"to run as the Campaign user ({others[0]}) with its environment (env.sh): set `user` for this host"
        elif roots:
            why = (
                f"{seen}, but running from {', '.join(roots)}, not from nl_home {self.ctx.host.nl_home}: the bot "
                "probably runs without the Campaign environment of those processes (another NL_HOME)"
            )
            needs = f"the install root these processes use ({roots[0]}) as nl_home for this host"
        else:
            why = f"{seen}, from nl_home: the bot probably runs without the Campaign environment (env.sh, customer.sh)"
            needs = "the Campaign environment (env.sh in nl_home) for the bot's user"
        return Blind(why, needs, tuple(rows), roots[0] if roots else None)


@dataclass(frozen=True)
class Blind:
    """Why pdump cannot see the modules ps shows, and what the bot needs to see them."""

    why: str
    needs: str
    rows: tuple[p.PsRow, ...]
    other_root: str | None  # the install root the processes run from, when it is not nl_home


def _owners(rows: list[p.PsRow]) -> dict[str, int]:
    """{user: processes}, most processes first."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.user] = counts.get(r.user, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _install_root(row: p.PsRow) -> str | None:
    """The install root a module runs from: its binary's (`<root>/bin/nlserver`), else its working
    folder (the modules run with the install folder as working directory); None when unreadable."""
    if row.exe:
        exe = row.exe.removesuffix(" (deleted)")
        return exe.rsplit("/bin/", 1)[0] if "/bin/" in exe else exe.rsplit("/", 1)[0]
    return row.cwd.rstrip("/") if row.cwd else None


def _under(path: str, homes: set[str]) -> bool:
    return any(path == h or path.startswith(h + "/") for h in homes)
