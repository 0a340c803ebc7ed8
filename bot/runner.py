"""Run the checks of some modules on an environment's hosts, all hosts in parallel.

Each host gets one connection and (usually) one round trip; a dead or slow host costs at most its
own timeouts and never holds back the others. Findings are also handed, host by host, to a callback
so a chat can show progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from bot.checks import HostContext, evaluate_host, instance_list, plan_host
from bot.errors import TransportError
from bot.findings import Finding
from bot.inventory import Environment, Host
from bot.kb.models import Module
from bot.probes import parsers as p
from bot.probes import script as s
from bot.transports.base import CommandResult, Script, Transport

log = logging.getLogger(__name__)

TransportFactory = Callable[[Host], Transport]
FindingCallback = Callable[[Finding], None]
ScriptCallback = Callable[[Host, Script], None]

_HINTS = {
    "host_key_unknown": "host key unknown",
    "host_key_changed": "host key CHANGED",
    "auth": "authentication refused",
    "unreachable": "unreachable",
    "timeout": "no SSH answer",
    "config": "bot configuration",
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
    def __init__(self, transport_for: TransportFactory, max_workers: int = 16) -> None:
        self.transport_for = transport_for
        self.max_workers = max_workers

    def run(
        self,
        env: Environment,
        modules: Sequence[Module],
        hosts: Sequence[Host] | None = None,
        on_finding: FindingCallback | None = None,
        on_script: ScriptCallback | None = None,
    ) -> RunResult:
        targets = list(hosts or env.hosts)
        result = RunResult(env.name, [h.name for h in targets])
        lock = threading.Lock()
        start = time.monotonic()

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

        workers = max(1, min(self.max_workers, len(targets)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:
            futures = {pool.submit(self._host, env, h, tuple(modules), sent): h for h in targets}
            for fut in as_completed(futures):
                host = futures[fut]
                try:
                    findings, ms = fut.result()
                except Exception as e:  # never crash the whole run for one host
                    log.exception("checks on %s failed", host.name)
                    findings, ms = (
                        [_error(host, "internal", f"internal error while checking: {type(e).__name__}: {e}")],
                        0,
                    )
                result.host_ms[host.name] = ms
                deliver(findings)
        result.findings.extend(_environment_findings(env, modules, targets, result.findings))
        result.total_ms = int((time.monotonic() - start) * 1000)
        order = {h.name: i for i, h in enumerate(targets)}
        result.findings.sort(key=lambda f: (order.get(f.host, len(order)), f.module or "", f.instance or "", f.check))
        return result

    def _host(
        self, env: Environment, host: Host, modules: tuple[Module, ...], sent: ScriptCallback
    ) -> tuple[list[Finding], int]:
        start = time.monotonic()
        deadline = start + host.deadline_s
        instances = env.instances
        try:
            transport = self.transport_for(host)
        except TransportError as e:
            return [_error(host, e.kind, str(e))], int((time.monotonic() - start) * 1000)
        try:
            needs_instances = any(m.scope == "instance" for m in modules)
            if not instances and needs_instances:
                # The inventory names no instance: ask the host's config first (one extra round trip).
                plan0 = s.Plan(host)
                plan0.add(s.config_autostart())
                res0 = self._send(transport, plan0, deadline, sent)
                sec0 = p.split_sections(res0.stdout, plan0.token)
                instances = p.instances_from_config(p.parse_autostart(sec0["config"].text)) if "config" in sec0 else ()
            ctx = HostContext(host, env, modules, instances)
            plan = plan_host(ctx)
            res = self._send(transport, plan, deadline, sent)
        except TransportError as e:
            return [_error(host, e.kind, str(e))], int((time.monotonic() - start) * 1000)
        finally:
            transport.close()
        sections = p.split_sections(res.stdout, plan.token)
        findings = evaluate_host(ctx, sections)
        if (
            res.timed_out
            or res.truncated
            or not sections.get("nlserver-pdump", p.SectionOutput("", None, False)).complete
        ):
            findings.insert(0, _incomplete(host, plan, sections, res))
        ms = int((time.monotonic() - start) * 1000)
        return [f.model_copy(update={"duration_ms": ms}) for f in findings], ms

    @staticmethod
    def _send(transport: Transport, plan: s.Plan, deadline: float, sent: ScriptCallback) -> CommandResult:
        script = plan.script()
        sent(plan.host, script)
        remaining = deadline - time.monotonic()
        if remaining <= 0.2:
            raise TransportError(f"no time left within the host's {plan.host.deadline_s:g} s deadline", kind="timeout")
        return transport.run(script, timeout_s=remaining)


def _error(host: Host, kind: str, message: str) -> Finding:
    hint = _HINTS.get(kind, kind)
    return Finding(
        host=host.name,
        module=None,
        instance=None,
        check="connect" if kind != "internal" else "internal",
        status="error",
        summary=f"{hint}: {message}" if hint and not message.lower().startswith(hint.lower()) else message,
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
        code = res.exit_code
        summary = f"the check script ended early (exit {code}){where}"
    tail = (res.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] if res.stderr else []
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
        error_kind="run",
    )


def _environment_findings(
    env: Environment, modules: Sequence[Module], hosts: Sequence[Host], findings: list[Finding]
) -> list[Finding]:
    """A daemon that no host of the environment is set up to run is a finding of its own."""
    if any(f.status == "error" for f in findings) or len(hosts) != len(env.hosts):
        return []  # with a host unchecked, we cannot say "nowhere"
    out = []
    for m in modules:
        if m.kind != "daemon" or m.name == "watchdog":
            continue
        for inst in instance_list(m, env.instances) if env.instances or m.scope == "server" else ():
            mine = [f for f in findings if f.module == m.name and f.check == "process" and f.instance == inst]
            if mine and all("not_configured" in f.conditions for f in mine):
                pname = m.process_name(inst)
                out.append(
                    Finding(
                        host="(all hosts)",
                        module=m.name,
                        instance=inst,
                        check="process",
                        status="warn",
                        summary=f"{pname} is enabled (autoStart) on none of the {len(hosts)} hosts of {env.name}",
                        conditions=("not_configured",),
                    )
                )
    return out
