"""`campaign-bot doctor`: per host, can we connect, is the host key known, does auth work, is nlserver
there, which Campaign build. The first thing to run after writing an inventory.

It also says what the bot refuses on its own side, with the reason: a key file others can read, an
encrypted key, a host key marked `@revoked`, a host known only through a `@cert-authority` line that
presented no certificate, and every known_hosts line that was skipped because it cannot be read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

from bot.errors import ErrorKind, TransportError
from bot.inventory import Environment, Host
from bot.probes import parsers as p
from bot.probes import script as s
from bot.runner import DEFAULT_CONCURRENCY, TransportFactory
from bot.transports.known_hosts import problems_of


@dataclass(frozen=True)
class DoctorRow:
    host: str
    address: str
    transport: str
    connect: bool | None  # None: not tried (an earlier step failed) or not applicable
    host_key: bool | None
    auth: bool | None
    nlserver: bool | None
    build: str | None
    version: str | None
    ok: bool
    detail: str
    duration_ms: int
    # Lines of this host's known_hosts file that were skipped (unreadable), each with its reason.
    notes: tuple[str, ...] = ()

    def public(self) -> dict[str, object]:
        return asdict(self)


def doctor_host(host: Host, transport_for: TransportFactory) -> DoctorRow:
    start = time.monotonic()
    addr = f"{host.address}:{host.port}" if host.transport == "ssh" else "local"

    def row(**kw: object) -> DoctorRow:
        base: dict[str, object] = dict(
            host=host.name,
            address=addr,
            transport=host.transport,
            connect=None,
            host_key=None,
            auth=None,
            nlserver=None,
            build=None,
            version=None,
            ok=False,
            detail="",
            duration_ms=int((time.monotonic() - start) * 1000),
        )
        base.update(kw)
        return DoctorRow(**base)  # type: ignore[arg-type]

    plan = s.Plan(host)
    plan.add(s.nlserver_present())
    plan.add(s.nlserver("pdump"))
    try:
        with transport_for(host) as t:
            res = t.run(plan.script(), timeout_s=host.deadline_s)
    except TransportError as e:
        kind = e.kind
        if kind is ErrorKind.UNREACHABLE:
            return row(connect=False, detail=str(e))
        if kind in (ErrorKind.HOST_KEY_UNKNOWN, ErrorKind.HOST_KEY_CHANGED, ErrorKind.HOST_KEY_REVOKED):
            return row(connect=True, host_key=False, detail=str(e))
        if kind is ErrorKind.AUTH:
            return row(connect=True, host_key=True, auth=False, detail=str(e))
        if kind in (ErrorKind.TIMEOUT, ErrorKind.SILENT):
            return row(connect=True, detail=str(e))
        if kind is ErrorKind.CONNECTION_LOST:
            return row(connect=True, detail=str(e))
        if kind is ErrorKind.CONFIG:  # the bot's own key or known_hosts: nothing was sent
            return row(detail=f"bot configuration: {e}")
        return row(detail=str(e))
    ssh = host.transport == "ssh"
    sec = p.split_sections(res.stdout, plan.token)
    present = sec.get("nlserver-present")
    if res.timed_out or present is None:
        return row(
            connect=True,
            host_key=True if ssh else None,
            auth=True if ssh else None,
            detail="the test command did not finish in time",
        )
    if present.text.strip() != "present":
        return row(
            connect=True,
            host_key=True if ssh else None,
            auth=True if ssh else None,
            nlserver=False,
            detail=f"no executable {host.nl_home}/bin/nlserver: check nl_home",
        )
    pd = p.parse_pdump(sec["nlserver-pdump"].text) if "nlserver-pdump" in sec else None
    banner = pd.banner if pd else None
    running = len(pd.processes) if pd else 0
    detail = f"{running} Campaign process(es) running" if pd and not pd.no_tasks else "nlserver pdump says No tasks"
    return row(
        connect=True,
        host_key=True if ssh else None,
        auth=True if ssh else None,
        nlserver=True,
        build=banner.build if banner else None,
        version=banner.version if banner else None,
        ok=True,
        detail=detail,
    )


def run_doctor(
    env: Environment,
    transport_for: TransportFactory,
    hosts: Sequence[Host] | None = None,
    max_workers: int = DEFAULT_CONCURRENCY,
) -> list[DoctorRow]:
    """One row per host, all hosts at once (up to `max_workers`); each row bounded by its host's deadline."""
    targets = list(hosts or env.hosts)
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(targets)))) as pool:
        rows = list(pool.map(lambda h: doctor_host(h, transport_for), targets))
    out = []
    for host, r in zip(targets, rows, strict=True):
        if host.transport == "ssh":
            r = replace(r, notes=tuple(str(x) for x in problems_of([host.expand(host.known_hosts)])))
        out.append(r)
    return out


def render_rows(rows: Sequence[DoctorRow], simulated: bool) -> str:
    def mark(v: bool | None) -> str:
        return {True: "yes", False: "NO", None: "-"}[v]

    lines = ["[SIMULATED FLEET]"] if simulated else []
    lines.append(
        f"{'host':<12} {'address':<22} {'connect':<8} {'hostkey':<8} {'auth':<5} {'nlserver':<9} {'build':<16} detail"
    )
    for r in rows:
        lines.append(
            f"{r.host:<12} {r.address:<22} {mark(r.connect):<8} {mark(r.host_key):<8} {mark(r.auth):<5} "
            f"{mark(r.nlserver):<9} {(r.build or '-'):<16} {r.detail}"
        )
    notes = list(dict.fromkeys(n for r in rows for n in r.notes))
    if notes:
        lines.append("")
        lines.append("known_hosts lines the bot skipped (other lines still count):")
        lines.extend(f"  {n}" for n in notes)
    return "\n".join(lines)
