"""Run the checks of some modules on an environment's hosts, all hosts in parallel.

Each host gets one connection and (usually) one round trip; a dead or slow host costs at most its
own deadline and never holds back the others. The run as a whole has a deadline too (by default
twice the longest host deadline): a host still unanswered then is reported, and the run ends.
Findings are handed, host by host, to a callback so a chat can show progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from bot.campaign_api.facts import ApiFacts
from bot.campaign_api.session import ApiFactory
from bot.checks.base import API_HOST, NO_API_NEEDS, ApiCheck, HostOutcome
from bot.checks.facts import HostContext
from bot.checks.plan import evaluate_host, plan_host
from bot.checks.registry import Registry, default_registry
from bot.errors import CommandDeadline, TransportError
from bot.inventory import Environment, Host
from bot.kb.models import Module
from bot.models import ErrorKind, Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.redact import redact, redact_and_clip
from bot.transports.base import CommandResult, Script, Transport

log = logging.getLogger(__name__)

TransportFactory = Callable[[Host], Transport]
FindingCallback = Callable[[Finding], None]
ScriptCallback = Callable[[Host, Script], None]

DEFAULT_CONCURRENCY = 64
RUN_DEADLINE_FACTOR = 2.0

_HINTS = {
    ErrorKind.HOST_KEY_UNKNOWN: "host key unknown",
    ErrorKind.HOST_KEY_CHANGED: "host key CHANGED",
    ErrorKind.HOST_KEY_REVOKED: "host key REVOKED",
    ErrorKind.AUTH: "authentication refused",
    ErrorKind.UNREACHABLE: "unreachable",
    ErrorKind.TIMEOUT: "no SSH answer",
    ErrorKind.SILENT: "no SSH answer",
    ErrorKind.CONFIG: "bot configuration",
    ErrorKind.CONNECTION_LOST: "connection lost",
}


@dataclass
class RunResult:
    environment: str
    hosts: list[str]
    findings: list[Finding] = field(default_factory=list)
    host_ms: dict[str, int] = field(default_factory=dict)
    total_ms: int = 0
    commands: list[str] = field(default_factory=list)  # what was sent, host by host (audit log)


class Runner:
    """Runs the registry's checks on hosts through transports it is handed.

    Args:
        transport_for: builds the transport of a host (SSH, local, fake).
        registry: the checks (default: every check shipped in `bot/checks/`).
        max_workers: hosts checked at once (the rest wait for a free slot).
        run_deadline_factor: the run ends after this many times the longest host deadline.
        api_for: the Campaign API session of an environment (None where it has no `campaign_api`);
            its facts are fetched once per run, beside the hosts, for the registry's API checks.
    """

    def __init__(
        self,
        transport_for: TransportFactory,
        registry: Registry | None = None,
        max_workers: int = DEFAULT_CONCURRENCY,
        run_deadline_factor: float = RUN_DEADLINE_FACTOR,
        api_for: ApiFactory | None = None,
    ) -> None:
        self.api_for = api_for
        self.transport_for = transport_for
        self.registry = registry or default_registry()
        self.max_workers = max_workers
        self.run_deadline_factor = run_deadline_factor

    def run(
        self,
        env: Environment,
        modules: Sequence[Module],
        hosts: Sequence[Host] | None = None,
        on_finding: FindingCallback | None = None,
        on_script: ScriptCallback | None = None,
        *,
        read_instance: str | None = None,
    ) -> RunResult:
        """Run `modules`' checks on `hosts` (default: all of `env`'s).

        `read_instance`: an instance the question names where the inventory lists none (they are read
        from the hosts): each host's configuration is read first and the instance taken in that host's
        spelling (`PROD2` is `prod2`); a host with no such instance says so (see `HostContext.host_instances`).
        """
        targets = list(hosts or env.hosts)
        result = RunResult(env.name, [h.name for h in targets])
        lock = threading.Lock()
        start = time.monotonic()
        run_deadline = start + self.run_deadline_factor * max((h.deadline_s for h in targets), default=1.0)
        outcomes: dict[str, HostOutcome] = {}

        def deliver(fs: list[Finding]) -> None:
            with lock:
                result.findings.extend(fs)
            if on_finding:
                for f in fs:
                    try:
                        on_finding(f)
                    except Exception:  # a broken progress callback must not lose the findings
                        log.exception("finding callback failed")

        def sent(host: Host, script: Script) -> None:
            with lock:
                result.commands.append(f"{host.name}: {script.description}")
            if on_script:
                on_script(host, script)

        api = self._start_api(env, modules, run_deadline, complete=len(targets) == len(env.hosts))  # issue 10
        workers = max(1, min(self.max_workers, len(targets)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check")
        try:
            futures: dict[Future[tuple[list[Finding], int, HostOutcome]], Host] = {
                pool.submit(self._host, env, h, tuple(modules), sent, run_deadline, read_instance): h for h in targets
            }
            pending = set(futures)
            while pending:
                done, pending = wait(
                    pending, timeout=max(0.0, run_deadline - time.monotonic()), return_when=FIRST_COMPLETED
                )
                if not done:
                    break  # the run's deadline passed
                for fut in done:
                    host = futures[fut]
                    try:
                        findings, ms, outcome = fut.result()
                    except Exception as e:  # never crash the whole run for one host
                        log.exception("checks on %s failed", host.name)
                        findings, ms = (
                            [_error(host, ErrorKind.INTERNAL, f"internal error while checking: {type(e).__name__}")],
                            0,
                        )
                        outcome = HostOutcome(HostContext(host, env, tuple(modules), env.instances), None)
                    result.host_ms[host.name] = ms
                    outcomes[host.name] = outcome
                    deliver(findings)
            for fut in pending:
                host = futures[fut]
                fut.cancel()
                waited = time.monotonic() - start
                deliver(
                    [
                        _error(
                            host,
                            ErrorKind.TIMEOUT,
                            f"no answer within the run's deadline ({waited:.0f} s); not checked",
                        )
                    ]
                )
                outcomes[host.name] = HostOutcome(HostContext(host, env, tuple(modules), env.instances), None)
        finally:
            # Hosts still running end by their own deadline; nobody waits for them.
            pool.shutdown(wait=False, cancel_futures=True)
        deliver(self._finish_api(env, modules, api, run_deadline, result))  # Campaign API (issue 10)
        complete = len(targets) == len(env.hosts)
        ordered = [outcomes[h.name] for h in targets if h.name in outcomes]
        for check in self.registry.run_checks:
            try:
                deliver(list(check.evaluate_run(ordered, list(result.findings), complete)))
            except Exception:
                log.exception("run check %s failed", check.name)
        result.total_ms = int((time.monotonic() - start) * 1000)
        order = {h.name: i for i, h in enumerate(targets)}
        result.findings.sort(key=lambda f: (order.get(f.host, len(order)), f.module or "", f.instance or "", f.check))
        return result

    def _host(
        self,
        env: Environment,
        host: Host,
        modules: tuple[Module, ...],
        sent: ScriptCallback,
        run_deadline: float,
        read_instance: str | None = None,
    ) -> tuple[list[Finding], int, HostOutcome]:
        start = time.monotonic()
        deadline = min(start + host.deadline_s, run_deadline)
        instances = env.instances
        ctx = HostContext(host, env, modules, instances)
        if time.monotonic() >= run_deadline:
            return (
                [_error(host, ErrorKind.TIMEOUT, "the run's deadline passed before this host's turn")],
                0,
                HostOutcome(ctx, None),
            )
        try:
            transport = self.transport_for(host)
        except TransportError as e:
            return [_error(host, e.kind, str(e))], _ms(start), HostOutcome(ctx, None)
        blind_instances = False  # no instance found, and the host's configuration could not be read
        try:
            if (not instances or read_instance is not None) and any(m.scope == "instance" for m in modules):
                # The inventory names no instance: ask the host first (one extra round trip): its config
                # files, and what pdump and `monitor -missing` name (a bot user that may not read conf/
                # still sees the instances that run or should).
                plan0 = s.Plan(host)
                plan0.add(s.config_autostart())
                plan0.add(s.nlserver("pdump"))
                plan0.add(s.nlserver("monitor", "-missing"))
                res0 = self._send(transport, plan0, deadline, sent)
                found, seen = _instances_seen(p.split_sections(res0.stdout, plan0.token))
                if not found and not seen:
                    blind_instances = True
                if read_instance is None:
                    instances = found or ()
                    ctx = HostContext(host, env, modules, instances)
                else:
                    # The asked instance in this host's spelling: its config-<instance>.xml and var/<instance>
                    # are named so on disk (a case-sensitive file system).
                    same = [i for i in found or () if i.lower() == read_instance.lower()]
                    instances = (same[0] if same else read_instance,)
                    ctx = HostContext(host, env, modules, instances, found if seen else None)
            plan = plan_host(ctx, self.registry)
            res = self._send(transport, plan, deadline, sent)
        except TransportError as e:
            return [_error(host, e.kind, str(e))], _ms(start), HostOutcome(ctx, None)
        finally:
            transport.close()
        facts, findings = evaluate_host(ctx, res, plan.token, self.registry)
        if blind_instances and read_instance is None:
            findings.insert(0, _no_instances(host, modules))
        pdump = facts.sections.get("nlserver-pdump")
        if res.timed_out or res.truncated or pdump is None or not pdump.complete:
            findings.insert(0, _incomplete(host, plan, facts.sections, res))
        ms = _ms(start)
        return [f.model_copy(update={"duration_ms": ms}) for f in findings], ms, HostOutcome(ctx, facts)

    # --- Campaign API (issue 10): environment-level checks, fetched once per environment --------------

    def _start_api(self, env: Environment, modules: Sequence[Module], run_deadline: float, complete: bool) -> _ApiRun:
        """Start fetching the API facts the run's API checks want (in their own thread). A run limited
        to some hosts (`--host`) is about those hosts: the environment-level API checks stay out."""
        checks = [c for c in self.registry.api_checks if c.targets(modules)] if complete else []
        if not checks:
            return _ApiRun((), None, None)
        try:
            session = self.api_for(env) if self.api_for is not None else None
        except Exception:  # a broken factory must not stop the hosts' checks
            log.exception("Campaign API session for %s could not be built", env.name)
            session = None
        if session is None:
            return _ApiRun(tuple(checks), None, None)  # no campaign_api: the checks say "cannot tell"
        wanted = frozenset().union(*(c.wants for c in checks))
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="campaign-api")
        return _ApiRun(tuple(checks), pool, pool.submit(session.fetch, wanted, run_deadline))

    @staticmethod
    def _finish_api(
        env: Environment, modules: Sequence[Module], api: _ApiRun, run_deadline: float, result: RunResult
    ) -> list[Finding]:
        """The API checks' findings; an API that did not answer within the run's deadline is one error."""
        if not api.checks:
            return []
        if api.pool is None:
            # No API session: one "cannot tell" for the whole run, not one per API check and module.
            return [_no_api(env, api.checks, modules)]
        facts: ApiFacts | None = None
        if api.pool is not None and api.future is not None:
            try:
                # The session keeps the run's deadline itself; the grace lets it report its own timeout.
                facts = api.future.result(timeout=max(0.0, run_deadline - time.monotonic()) + 1.0)
            except Exception as e:
                timed_out = isinstance(e, TimeoutError)
                if not timed_out:
                    log.exception("Campaign API of %s failed", env.name)
                return [
                    Finding(
                        host=API_HOST,
                        module=None,
                        instance=None,
                        check="campaign_api",
                        status="error",
                        summary="Campaign API: no answer within the run's deadline"
                        if timed_out
                        else f"Campaign API: internal error while reading it: {type(e).__name__}",
                        error_kind=ErrorKind.TIMEOUT if timed_out else ErrorKind.INTERNAL,
                    )
                ]
            finally:
                api.pool.shutdown(wait=False, cancel_futures=True)
            result.commands.extend(f"{API_HOST}: {c}" for c in facts.calls)
            result.host_ms[API_HOST] = facts.duration_ms
        out: list[Finding] = []
        for check in api.checks:
            try:
                found = check.evaluate_api(env, check.targets(modules), facts)
                out.extend(f.model_copy(update={"duration_ms": facts.duration_ms}) if facts else f for f in found)
            except Exception:
                log.exception("API check %s failed", check.name)
        return out

    @staticmethod
    def _send(transport: Transport, plan: s.Plan, deadline: float, sent: ScriptCallback) -> CommandResult:
        script = plan.script()
        sent(plan.host, script)
        remaining = deadline - time.monotonic()
        if remaining <= 0.2:
            raise CommandDeadline(f"no time left within the host's {plan.host.deadline_s:g} s deadline")
        return transport.run(script, timeout_s=remaining)


@dataclass(frozen=True)
class _ApiRun:
    """The Campaign API part of one run (issue 10): its checks and, when there is a session, the fetch."""

    checks: tuple[ApiCheck, ...]
    pool: ThreadPoolExecutor | None
    future: Future[ApiFacts] | None


def _no_api(env: Environment, checks: Sequence[ApiCheck], modules: Sequence[Module]) -> Finding:
    what = sorted({m.name for c in checks for m in c.targets(modules)})
    configured = env.campaign_api is not None
    why = (
        "this bot runs without a Campaign API client" if configured else f"no campaign_api is configured for {env.name}"
    )
    return Finding(
        host=API_HOST,
        module=None,
        instance=None,
        check="campaign_api",
        status="unknown",
        summary=(
            f"cannot tell what Campaign's own API would show for {', '.join(what)} (workflows, deliveries, "
            f"ping.jsp, monitor.jsp): {why}"
        ),
        conditions=("cannot_tell",),
        needs="the bot's Campaign API client (Runner(api_for=...))" if configured else NO_API_NEEDS,
    )


def _instances_seen(sections: dict[str, p.SectionOutput]) -> tuple[tuple[str, ...], bool]:
    """(instances, configuration read): the host's config-<instance>.xml files first, then the instances
    pdump and `monitor -missing` name (`mta@prod2`; `@default` is the server-wide modules'), each once
    in any case. `configuration read` is False when no configuration file could even be listed."""

    def text(sid: str) -> str:
        sec = sections.get(sid)
        return sec.text if sec is not None and sec.complete else ""

    conf_text = text("config")
    seen = p.parse_config(conf_text).seen
    names = list(p.instances_from_config(p.parse_autostart(conf_text))) if seen else []
    named = [proc.instance for proc in p.parse_pdump(text("nlserver-pdump")).processes if proc.instance]
    named += [m.partition("@")[2] for m in p.parse_missing(text("nlserver-monitor-missing"))]
    for inst in named:
        if inst.lower() != "default" and all(inst.lower() != n.lower() for n in names):
            names.append(inst)
    return tuple(names), seen


def _no_instances(host: Host, modules: Sequence[Module]) -> Finding:
    per_instance = ", ".join(m.name for m in modules if m.scope == "instance")
    return Finding(
        host=host.name,
        module=None,
        instance=None,
        check="instances",
        status="unknown",
        summary=f"cannot tell which Campaign instances this host has, so {per_instance} could not be checked here: "
        "the bot cannot read conf/ (serverConf.xml, config-<instance>.xml), and nlserver pdump and monitor -missing "
        "name none",
        conditions=("cannot_tell",),
        needs=f"read access to {host.nl_home}/conf for the bot's user, or `instances:` for this environment in the "
        "inventory",
    )


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _error(host: Host, kind: ErrorKind, message: str) -> Finding:
    hint = _HINTS.get(kind, "")
    return Finding(
        host=host.name,
        module=None,
        instance=None,
        check="internal" if kind is ErrorKind.INTERNAL else "connect",
        status="error",
        summary=redact_and_clip(
            f"{hint}: {message}" if hint and not message.lower().startswith(hint.lower()) else message, 600
        ),
        evidence=(),
        conditions=("host_error",),
        error_kind=kind,
    )


def _incomplete(host: Host, plan: s.Plan, sections: dict[str, p.SectionOutput], res: CommandResult) -> Finding:
    pending = [sec.id for sec in plan.sections if sec.id not in sections or not sections[sec.id].complete]
    where = (
        f" (stuck at `{pending[0].replace('nlserver-', 'nlserver ').replace('-missing', ' -missing')}`)"
        if pending
        else ""
    )
    if res.truncated:
        summary = f"the host sent more than {len(res.stdout) // 1024} KiB of output; the bot stopped reading{where}"
    elif res.timed_out:
        summary = f"the checks did not finish within {host.command_timeout_s:g} s and were stopped on the host{where}"
    else:
        summary = f"the check script ended early (exit {res.exit_code}){where}"
    # Host text: redacted as a whole before anything is cut (a secret cut first may not look like one).
    tail = redact((res.stderr or b"").decode("utf-8", "replace")).strip().splitlines()[-1:] if res.stderr else []
    return Finding(
        host=host.name,
        module=None,
        instance=None,
        check="run",
        status="error",
        summary=summary,
        evidence=tuple(t[:200] for t in tail),
        duration_ms=res.duration_ms,
        conditions=("host_error",),
        error_kind=ErrorKind.RUN,
    )
