"""Diagnosis: question -> modules -> checks on the environment's hosts -> verdict and next steps.

`Diagnoser` wires the pure parts (matcher, knowledge, step selection) to a `Runner` it is handed.
Nothing here changes state: next steps that would are only *shown*, marked `changes-state`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence

from bot.checks.base import API_HOST
from bot.inventory import Environment, Host, Inventory
from bot.kb.models import KnowledgeBase, Module, Risk, Step
from bot.kb.placeholders import fill
from bot.matcher import Matcher
from bot.models import STATUS_ORDER, Diagnosis, ErrorKind, Finding, Match, NextStep, worst
from bot.runner import FindingCallback, Runner, RunResult, ScriptCallback
from bot.text import words

CLOSE_TO_BEST = 0.12  # modules within this score of the best are checked too
MAX_MATCHED = 3
MAX_STEPS = 15
_RUN_BY_BOT = {"nlserver pdump", "nlserver monitor -missing"}

# Steps for facts about a host rather than a module (host checks, and conditions any module's
# finding may carry): text, command (relative var/ and conf/ paths are anchored on the host, var
# following XTK_VAR_DIR; `<nl_home>` and, for core files, `<core file>` are the host's), risk, source.
HOST_STEPS: dict[str, tuple[str, str | None, Risk, str]] = {
    "disk_full": (
        "find what fills var (logs are 2 x 10 MB per module; tracking logs, exports and core files can grow)",
        "du -sh var/*",
        Risk.READ_ONLY,
        "CC:production/using/monitoring-processes.md",
    ),
    "core_file": (
        "a module crashed: get a backtrace for Adobe support (open the core file with gdb, then type bt at its "
        "prompt), then move the core file out of the way so that the next crash shows",
        "gdb <nl_home>/bin/nlserver <core file>",
        Risk.READ_ONLY,
        "CC:production/using/stack-trace-in-linux.md",
    ),
    "clock_skew": (
        # The step is read-only (it shows NTP's state); setting the clock is the host owner's change.
        "see whether this host's clock is synchronised (NTP active, synchronised: yes): all Campaign servers and "
        "the database must agree; resynchronising it changes the host, so it is not offered as a step",
        "timedatectl status",
        Risk.READ_ONLY,
        "CC:installation/using/email-deliverability.md#clock-synchronization",
    ),
    "tmp_cross_device": (
        "put temporary files on var's device: create var/tmp, add `export TMPDIR=var/tmp` to <nl_home>/customer.sh, "
        "then restart Campaign",
        None,
        Risk.CHANGES_STATE,
        "CC:production/using/temporary-files.md",
    ),
    "swap_high": (
        "swap is filling up: see which processes use the most memory; Adobe's remedy is more RAM or a larger swap",
        "ps -eo pid,rss,args --sort=-rss | head -n 15",
        Risk.READ_ONLY,
        "CC:production/using/monitoring-processes.md#system-indicators",
    ),
    "files_high": (
        "open file handles are near the system maximum (fs.file-max): find which processes hold them",
        "cat /proc/sys/fs/file-nr",
        Risk.READ_ONLY,
        "CC:production/using/monitoring-processes.md#system-indicators",
    ),
    "load_high": (
        "the load is high for the number of CPUs: see what runs",
        "top -b -n 1 | head -n 20",
        Risk.READ_ONLY,
        "CC:production/using/monitoring-processes.md#system-indicators",
    ),
    "zombies": (
        "zombie processes: find their parents (a zombie goes when its parent reaps it or exits)",
        "ps -eo pid,ppid,stat,args | awk '$3 ~ /^Z/'",
        Risk.READ_ONLY,
        "CC:production/using/monitoring-processes.md#system-indicators",
    ),
    "shm_segments": (
        "list the shared-memory segments and their owners",
        "ipcs -m",
        Risk.READ_ONLY,
        "CC:production/using/monitoring-processes.md#system-indicators",
    ),
    "wrong_user": (
        "`nlserver pdump` sees nothing because the bot does not run as the Campaign user with its environment: "
        "log in as the user that owns the nlserver processes (named in the finding), run `nlserver pdump` there, "
        "and give the bot that user (`user:` for this host) or its environment; do not start anything",
        None,
        Risk.READ_ONLY,
        "CC:installation/using/installing-packages-with-linux.md#installation-checks",
    ),
    "log_silent": (
        "a module log is silent: check that syslogd@default runs and listens on 6666/udp (or the port of "
        "TRACE_ADDR in customer.sh); every module logs through it",
        "ss -lun",
        Risk.READ_ONLY,
        "CC:production/using/log-files.md",
    ),
}
_PREPOSITIONS = {"on", "in", "op", "bij", "for", "voor", "from", "van", "at"}


def mentioned_environment(text: str, inventory: Inventory) -> str | None:
    """An environment the question names ("on prod", "staging?"), else None."""
    toks = words(text)
    names = {n.lower(): n for n in inventory.environments}
    for i, t in enumerate(toks):
        if t in names and ((i > 0 and toks[i - 1] in _PREPOSITIONS) or len(t) >= 4 or len(toks) == 1):
            return names[t]
    return None


_LOG_REQUEST = re.compile(
    r"\b(show|see|tail|give|print|send|post|paste|laat|toon|bekijk|geef|stuur|zien)\b.{0,40}"
    r"\b(log|logs|logfile|logfiles|logboek|logboeken|logbestand|logbestanden)\b",
    re.I,
)


def asks_for_logs(text: str) -> bool:
    """ "show the mta log", "laat de wfserver log zien": the answer should carry the logs' last lines."""
    return bool(_LOG_REQUEST.search(text))


def select_modules(matches: Sequence[Match], kb: KnowledgeBase) -> list[Module]:
    """The top matches close to the best (at most three) plus the modules the knowledge ties to them."""
    if not matches:
        return []
    best = matches[0].score
    chosen = [m.module for m in matches if m.score >= best - CLOSE_TO_BEST][:MAX_MATCHED]
    for name in list(chosen):
        for rel in kb.get(name).related:
            if rel not in chosen:
                chosen.append(rel)
    return [kb.get(n) for n in chosen]


_ERROR_STEPS: dict[ErrorKind, tuple[str, str | None]] = {
    ErrorKind.HOST_KEY_UNKNOWN: (
        "verify {host}'s host key out of band (compare `ssh-keyscan -p {port} {address}` with the server's own "
        "fingerprint), then add it to {known_hosts}; the bot never adds keys itself",
        "ssh-keyscan -p {port} {address}",
    ),
    ErrorKind.HOST_KEY_CHANGED: (
        "the host key of {host} CHANGED: find out why (reinstall? another machine on that address?) before "
        "replacing the line in {known_hosts}",
        None,
    ),
    ErrorKind.HOST_KEY_REVOKED: (
        "the host key of {host} is marked @revoked in {known_hosts}: the bot refuses it; find out which key the "
        "server should present and replace the revoked line only after verifying it out of band",
        None,
    ),
    ErrorKind.AUTH: ("check that the bot's public key is in ~{user}/.ssh/authorized_keys on {host}", None),
    ErrorKind.UNREACHABLE: ("check that {host} is up and that port {port} is open from the bot", None),
    ErrorKind.TIMEOUT: (
        "a command hung on {host}: run `nlserver pdump` there by hand and look for stuck processes",
        None,
    ),
    ErrorKind.SILENT: (
        "{address}:{port} accepts connections but no SSH server answers there: check that sshd runs on {host} and "
        "listens on port {port} (not another service, nor a firewall or proxy that holds the connection)",
        None,
    ),
    ErrorKind.CONNECTION_LOST: (
        "the connection to {host} closed while the checks ran (sshd restarted, network cut, or the session was "
        "killed); run the question again, and check sshd's log on {host} if it repeats",
        None,
    ),
    ErrorKind.RUN: ("a command hung or flooded its output on {host}: run `nlserver pdump` there by hand", None),
    ErrorKind.CONFIG: (
        "fix the bot's SSH key or known_hosts file named in the finding for {host} (a key readable only by the "
        "bot's user, chmod 600, without a passphrase; {known_hosts} readable), then test the access again",
        None,
    ),
}


def next_steps(
    kb: KnowledgeBase, env: Environment, modules: Sequence[Module], findings: Sequence[Finding]
) -> list[NextStep]:
    """Per host, the knowledge base's steps whose conditions the findings meet; then general steps.

    Paths and placeholders are filled per host wherever the bot knows them (install root, var folder,
    instance, core file); a general step whose paths differ between hosts becomes one step per group of
    hosts that share them. What stays unknown stays a visible `<placeholder>`.
    """
    hosts = {h.name: h for h in env.hosts}
    out: list[NextStep] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    added: set[tuple[str, str | None, str]] = set()  # (host, module, step id) given as a host step
    # Hosts where pdump cannot see the running modules: no state-changing step is offered for them.
    blind = {f.host for f in findings if "wrong_user" in f.conditions}

    def add(
        host: Host | None,
        module: str | None,
        step_text: str,
        command: str | None,
        risk: Risk,
        src: str,
        step_id: str | None = None,
    ) -> None:
        key = (host.name if host else None, command, step_text)
        if key in seen:
            return
        if risk == Risk.CHANGES_STATE and host is not None and host.name in blind:
            return  # the bot cannot see what runs there (wrong user or environment): change nothing
        seen.add(key)
        if host is not None and step_id is not None:
            added.add((host.name, module, step_id))
        where = f"on {host.name}: " if host else ""
        out.append(
            NextStep(
                host=host.name if host else None,
                module=module,
                text=where + step_text,
                command=command,
                risk=risk,
                source=src,
                step_id=step_id,
            )
        )

    # Where var is on each host, when XTK_VAR_DIR moves it (the var_dir check's finding, evidence[0]).
    var_dirs = {f.host: f.evidence[0] for f in findings if f.check == "var_dir" and f.evidence}
    problem = [f for f in findings if f.status in ("unknown", "warn", "fail")]
    # A host's own conditions (host checks): `unless` of any module's step on that host sees them.
    host_conds: dict[str, set[str]] = {}
    for f in problem:
        if f.module is None:
            host_conds.setdefault(f.host, set()).update(f.conditions)

    def host_step(h: Host, cond: str) -> None:
        text, cmd, risk, src = HOST_STEPS[cond]
        vd = var_dirs.get(h.name)
        core = None
        if cond == "core_file":
            core = _core_file(f for f in findings if f.host == h.name and "core_file" in f.conditions)
        add(
            h,
            None,
            fill(text, module="", nl_home=h.nl_home, var_dir=vd, core_file=core),
            fill(cmd, module="", nl_home=h.nl_home, var_dir=vd, core_file=core) if cmd else None,
            risk,
            src,
        )

    # Hosts we could not check come first (the worst status): why, and how to test the access again.
    for f in findings:
        if f.status != "error":
            continue
        h = hosts.get(f.host)
        if h is not None and f.error_kind in _ERROR_STEPS:
            text, cmd = _ERROR_STEPS[f.error_kind]
            fmt = {
                "host": h.name,
                "port": h.port,
                "address": h.address or "",
                "known_hosts": h.known_hosts,
                "user": h.user,
            }
            add(h, None, text.format(**fmt), cmd.format(**fmt) if cmd else None, Risk.READ_ONLY, "")

    unchecked = sorted({f.host for f in findings if f.status == "error" and f.host in hosts})
    if unchecked:
        add(
            None,
            None,
            f"test the bot's access to {', '.join(unchecked)} (connect, host key, auth, nlserver)",
            f"campaign-bot doctor --env {env.name}",
            Risk.READ_ONLY,
            "",
        )

    by_key: dict[tuple[str, str | None, str | None], set[str]] = {}
    evidence: dict[tuple[str, str | None, str | None], list[str]] = {}
    errors_shown: dict[tuple[str, str | None, str | None], list[str]] = {}  # the log error entries shown
    for f in problem:
        k = (f.host, f.module, f.instance)
        by_key.setdefault(k, set()).update(f.conditions)
        evidence.setdefault(k, []).extend([f.summary, *f.evidence])
        if "log_errors" in f.conditions:
            errors_shown.setdefault(k, []).extend(f.evidence)
    ranked = sorted(
        by_key.items(),
        key=lambda kv: (
            -max((STATUS_ORDER[f.status] for f in findings if (f.host, f.module, f.instance) == kv[0]), default=0)
        ),
    )
    for key, conds in ranked:
        host_name, module_name, inst = key
        h = hosts.get(host_name)
        for cond in sorted(conds & HOST_STEPS.keys()):
            if h is not None:
                host_step(h, cond)
        if module_name is None:
            continue
        module = kb.get(module_name)
        inst = _instance(module, inst, env)
        text = "\n".join(evidence.get(key, []))
        on_host = conds | host_conds.get(host_name, set())
        explained = _explained(module, errors_shown.get(key, []))
        for step in module.steps:
            when = set(step.when) - ({"log_errors"} if step.generic and explained else set())
            if not when & conds or set(step.unless) & on_host:
                continue
            if step.evidence and not re.search(step.evidence, text):
                continue
            _add_step(add, h, module, step, inst, var_dirs.get(h.name) if h else None)

    # Facts the bot could not see: what it needs to see them (a token, a front URL, a permission).
    for f in findings:
        if f.status in ("unknown", "error") and f.needs:
            add(
                hosts.get(f.host),
                f.module,
                # "to tell mta@prod process, ..."; a host-level or API fact has no subject to name
                f"to tell {f.subject} {f.check}, the bot needs {f.needs}"
                if f.module
                else f"for the {f.check} check, the bot needs {f.needs}",
                None,
                Risk.READ_ONLY,
                "",
            )

    # General steps of the checked modules when nothing (or not everything) explains the symptom, filled
    # per host where the module is meant to run (one step per group of hosts with the same paths).
    problems = any(f.status in ("warn", "fail") for f in findings)
    ran = not any(f.status == "error" for f in findings)
    checked = [h for h in env.hosts if any(f.host == h.name and f.status != "error" for f in findings)]
    mod_conds: dict[tuple[str, str], set[str]] = {}
    for (host_name, module_name, _), conds in by_key.items():
        if module_name is not None:
            mod_conds.setdefault((host_name, module_name), set()).update(conds)
    everywhere = {h.name for h in env.hosts}
    for module in modules:
        inst = _instance(module, None, env)
        meant = _meant_to_run(module, checked, findings) or checked
        for step in module.steps:
            if step.command in _RUN_BY_BOT and ran:
                continue  # the bot just ran it on every host; its answer is in the findings
            if "always" not in step.when or step.evidence or (problems and step.risk != Risk.READ_ONLY):
                continue
            general = (
                fill(step.text, module=module.name, instance=inst, paths="known"),
                fill(step.command, instance=inst, module=module.name) if step.command else None,
            )
            groups: dict[tuple[str, str | None], list[Host]] = {}
            for h in meant:
                if (h.name, module.name, step.id) in added:
                    continue  # already given for this host, with its findings
                if set(step.unless) & (mod_conds.get((h.name, module.name), set()) | host_conds.get(h.name, set())):
                    continue
                vd = var_dirs.get(h.name)
                rendered = (  # prose keeps var/... relative here: only a command or <nl_home> makes it per host
                    fill(step.text, module=module.name, instance=inst, nl_home=h.nl_home, paths="never"),
                    fill(step.command, instance=inst, nl_home=h.nl_home, module=module.name, host=h.name, var_dir=vd)
                    if step.command
                    else None,
                )
                groups.setdefault(rendered, []).append(h)
            if meant and not groups:
                continue  # every host already has it, or a condition that rules it out
            if set(groups) == {general} and any((h.name, module.name, step.id) in added for h in meant):
                continue  # the same words are already given for a host, with its findings
            if not groups or set(groups) == {general}:
                add(None, module.name, f"{module.name}: {general[0]}", general[1], step.risk, step.source, step.id)
                continue
            for (step_text, cmd), group in groups.items():
                names = [h.name for h in group]
                if len(group) == 1:
                    add(group[0], module.name, f"{module.name}: {step_text}", cmd, step.risk, step.source, step.id)
                    continue
                where = "" if set(names) == everywhere else f"on {', '.join(names)}: "
                add(None, module.name, f"{where}{module.name}: {step_text}", cmd, step.risk, step.source, step.id)
    return out[:MAX_STEPS]


_CORE_LISTED = re.compile(r"^(/\S.*) \(\d+ KiB, [^)]*\)$")  # the cores check's evidence: `path (N KiB, date)`


def _core_file(core_findings: Iterable[Finding]) -> str | None:
    """The newest core file a `cores` finding names (its evidence lists them newest first)."""
    for f in core_findings:
        for line in f.evidence:
            m = _CORE_LISTED.match(line)
            if m:
                return m.group(1)
    return None


def _instance(module: Module, instance: str | None, env: Environment) -> str | None:
    """The instance a step's `{instance}` / `<instance>` stands for: the finding's for a per-instance
    module, else the environment's only instance (server-wide modules name an instance only for its
    folders and configuration file, `var/<instance>/...`, `config-<instance>.xml`)."""
    only = env.instances[0] if len(env.instances) == 1 else None
    if module.scope == "instance":
        return instance or only
    return only


def _meant_to_run(module: Module, checked: Sequence[Host], findings: Sequence[Finding]) -> list[Host]:
    """The checked hosts where the module may run: all but those whose process check says it is not
    configured there (for every instance it checked)."""
    off: dict[str, list[bool]] = {}
    for f in findings:
        if f.module == module.name and f.check == "process":
            off.setdefault(f.host, []).append("not_configured" in f.conditions)
    return [h for h in checked if not (off.get(h.name) and all(off[h.name]))]


def _explained(module: Module, errors: Sequence[str]) -> bool:
    """Whether every log error entry shown matches the `evidence` pattern of one of the module's
    log_errors steps: then a `generic` step (a restart) is not offered for those errors."""
    specific = [s.evidence for s in module.steps if s.evidence and "log_errors" in s.when]
    return bool(errors) and bool(specific) and all(any(re.search(e, line) for e in specific) for line in errors)


_AddStep = Callable[[Host | None, str | None, str, str | None, Risk, str, str | None], None]


def _add_step(
    add: _AddStep, h: Host | None, module: Module, step: Step, inst: str | None, var_dir: str | None = None
) -> None:
    nl_home = h.nl_home if h else None
    cmd = (
        fill(
            step.command,
            instance=inst,
            nl_home=nl_home,
            module=module.name,
            host=h.name if h else None,
            var_dir=var_dir,
        )
        if step.command
        else None
    )
    text = fill(step.text, module=module.name, instance=inst, nl_home=nl_home, var_dir=var_dir, paths="known")
    add(h, module.name, text, cmd, step.risk, step.source, step.id)


def _where(host: str) -> str:
    """ "on app2", or for environment-wide findings "in the Campaign API" / "across the hosts"."""
    if host == API_HOST:
        return "in the Campaign API"
    if host.startswith("("):
        return "across the hosts"
    return f"on {host}"


def verdict(findings: Sequence[Finding], modules: Sequence[Module], env: Environment) -> tuple[str, str]:
    """(status, one sentence): what is wrong, where; or that nothing was found."""
    status = worst(list(findings))
    names = ", ".join(m.name for m in modules)
    # The modules asked about come first, and among them what is down: a module of the question that
    # does not run explains more than a host-level fact (a core file) or another module's problem.
    asked = {m.name for m in modules}

    def rank(f: Finding) -> tuple[int, int]:
        down = 0 if {"not_running", "no_tasks"} & set(f.conditions) else 1
        return (0 if f.module in asked else 1, down)

    problems = sorted(
        (f for f in findings if f.status in ("fail", "warn")), key=lambda f: (*rank(f), -STATUS_ORDER[f.status])
    )
    fails = [f for f in findings if f.status == "fail"]
    errors = [f for f in findings if f.status == "error"]
    unknown = [f for f in findings if f.status == "unknown"]
    hosts_n = len({f.host for f in findings if not f.host.startswith("(")})  # not "(all hosts)", "(campaign API)"
    parts = []
    mine = [f for f in problems if f.module in asked]
    lead = mine[0] if mine else (fails[0] if fails else (problems[0] if problems else None))
    if lead is not None:
        word = "Problem" if lead.status == "fail" else "Warning"
        rest = [f for f in problems if f is not lead]
        more = f" (+{len(rest)} more)" if rest else ""
        parts.append(f"{word} {_where(lead.host)}: {lead.summary}{more}.")
        elsewhere = [f for f in fails if f.module not in asked and f is not lead]
        if lead.module in asked and elsewhere:
            parts.append(f"Also failing {_where(elsewhere[0].host)}: {elsewhere[0].summary}.")
    host_errors = [f for f in errors if f.host != API_HOST]  # the Campaign API is not a host
    if host_errors:
        unchecked = len({f.host for f in host_errors})
        more_e = f" (+{len(host_errors) - 2} more)" if len(host_errors) > 2 else ""
        sentence = (
            f"Could not check {unchecked} host(s): "
            + "; ".join(f"{f.host}: {f.summary}" for f in host_errors[:2])
            + f"{more_e}."
        )
        # Hosts the bot could not see come before a warning that is not about the modules asked
        # (a TMPDIR on app1 must not hide that three hosts of four were not checked for mta).
        first = lead is None or (lead.status != "fail" and lead.module not in asked)
        if first:
            parts.insert(0, sentence)
        else:
            parts.append(sentence)
    api_error = next((f for f in errors if f.host == API_HOST), None)
    if api_error is not None:
        parts.append(f"Could not read the Campaign API: {api_error.summary.removeprefix('Campaign API: ')}.")
    if not parts:
        parts.append(f"No problem found for {names} on {hosts_n} host(s) of {env.name}.")
    if unknown:
        first_u = unknown[0]
        more_u = f" (+{len(unknown) - 1} more)" if len(unknown) > 1 else ""
        needs = f"; needs {first_u.needs}" if first_u.needs else ""
        parts.append(f"Cannot tell {_where(first_u.host)}: {first_u.summary}{needs}{more_u}.")
    return status, " ".join(parts)


class Diagnoser:
    """Answers a question about an environment; all collaborators are handed in."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, runner: Runner) -> None:
        self.kb = kb
        self.matcher = matcher
        self.runner = runner

    def diagnose(
        self,
        text: str,
        env: Environment,
        on_finding: FindingCallback | None = None,
        on_script: ScriptCallback | None = None,
        matches: list[Match] | None = None,
    ) -> Diagnosis:
        matches = self.matcher.match(text) if matches is None else matches
        modules = select_modules(matches, self.kb)
        return self._run(text, env, matches, modules, None, on_finding, on_script)

    def check(
        self,
        modules: Sequence[Module],
        env: Environment,
        hosts: Sequence[Host] | None = None,
        on_finding: FindingCallback | None = None,
        on_script: ScriptCallback | None = None,
        label: str = "",
        matches: Sequence[Match] = (),
        read_instance: str | None = None,
    ) -> Diagnosis:
        """`read_instance`: see `Runner.run` (an instance named where the inventory lists none)."""
        return self._run(
            label or ", ".join(m.name for m in modules),
            env,
            list(matches),
            list(modules),
            hosts,
            on_finding,
            on_script,
            read_instance,
        )

    def _run(
        self,
        text: str,
        env: Environment,
        matches: list[Match],
        modules: list[Module],
        hosts: Sequence[Host] | None,
        on_finding: FindingCallback | None,
        on_script: ScriptCallback | None,
        read_instance: str | None = None,
    ) -> Diagnosis:
        base = {
            "question": text,
            "environment": env.name,
            "simulated": env.simulated,
            "matches": tuple(matches),
            "modules": tuple(m.name for m in modules),
        }
        if not modules:
            return Diagnosis(**base, verdict="Not a question about Campaign modules: nothing was checked.")
        start = time.monotonic()
        run: RunResult = self.runner.run(env, modules, hosts, on_finding, on_script, read_instance=read_instance)
        status, text_verdict = verdict(run.findings, modules, env)
        return Diagnosis(
            **base,
            findings=tuple(run.findings),
            hosts=tuple(run.hosts),
            commands=tuple(run.commands),
            next_steps=tuple(next_steps(self.kb, env, modules, run.findings)),
            status=status,
            verdict=text_verdict,
            duration_ms=int((time.monotonic() - start) * 1000),
        )
