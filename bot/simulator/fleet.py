"""Build simulated Campaign hosts on disk (see `bot/simulator/*.sh` for the fake commands)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.inventory import Environment, Host, Inventory

_HERE = Path(__file__).resolve().parent
BANNER = "Application server for Adobe Campaign Classic (7.0 24.1 build 9379@3f1a2b7) of 05/14/2025"

_SERVER_MODULES = {"web", "syslogd", "trackinglogd", "watchdog"}


@dataclass
class HostScenario:
    """What one simulated host runs and how it behaves."""

    name: str
    configured: list[str]  # modules with autoStart="true" (watchdog is implicit)
    running: dict[str, tuple[int, float, int]] = field(default_factory=dict)  # process -> (pid, MB, age s)
    logs: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)  # rel path -> (min ago, level, msg)
    ports: list[tuple[str, int]] = field(default_factory=list)
    http: dict[str, tuple[int, str]] = field(default_factory=dict)  # "80/r/test" -> (code, body)
    redir_age_min: int | None = None  # newest tracking log file age; None: not a redirection server
    mode: str = "normal"  # normal | hang | huge | binary | slow
    delay_s: float = 0.0


def default_scenarios(instance: str = "prod") -> list[HostScenario]:
    """Three hosts: a healthy app server, one whose MTA crashed, and a tracking server."""
    i = instance
    ok_redir = (
        "<redir status='OK' date='{date}' build='9379' sha1='3f1a2b7' instance='" + i + "' "
        "host='track1.example.invalid' localHost='track1'/>"
    )
    return [
        HostScenario(
            name="app1",
            configured=["web", "syslogd", f"mta@{i}", f"stat@{i}", f"wfserver@{i}", f"inMail@{i}"],
            running={
                "watchdog": (2273, 6.6, 4 * 3600),
                "syslogd@default": (2301, 7.0, 4 * 3600),
                "web@default": (2310, 512.3, 4 * 3600),
                f"mta@{i}": (2320, 23.0, 4 * 3600),
                f"stat@{i}": (2321, 1.5, 4 * 3600),
                f"wfserver@{i}": (2322, 11.3, 4 * 3600),
                f"inMail@{i}": (2323, 11.9, 4 * 3600),
            },
            logs={
                f"var/{i}/log/mta.log": [
                    (50, "info", "Starting main MTA (pid=2320, tid=2320)..."),
                    (49, "info", "19 domain management rules have been loaded."),
                ],
                f"var/{i}/log/mtachild.log": [(20, "info", "Message delivery batch processed")],
                f"var/{i}/log/wfserver.log": [(10, "info", "Workflow 'cleanup' is being run")],
                f"var/{i}/log/runwf.log": [(10, "info", "Workflow 'tracking' is being run")],
                f"var/{i}/log/inMail.log": [(5, "info", "POP3 session: 12 messages read")],
                "var/default/log/web.log": [(3, "info", "Server started")],
                "var/default/log/watchdog.log": [(240, "info", "Running task 'mta@" + i + "'")],
            },
            ports=[("udp", 6666), ("tcp", 8080), ("udp", 7777), ("tcp", 80)],
            http={
                "80/r/test": (200, ok_redir.replace("track1", "app1")),
                "8080/nl/jsp/ping.jsp": (200, "OK\n{date}"),
            },
        ),
        HostScenario(
            name="app2",
            configured=["syslogd", f"mta@{i}", f"stat@{i}", f"wfserver@{i}"],
            running={
                "watchdog": (3100, 6.1, 30 * 3600),
                "syslogd@default": (3101, 7.2, 30 * 3600),
                f"stat@{i}": (3121, 1.6, 30 * 3600),
                f"wfserver@{i}": (3122, 12.0, 30 * 3600),
            },
            logs={
                f"var/{i}/log/mta.log": [
                    (
                        35,
                        "error",
                        "PGS-220000 PostgreSQL error: FATAL: remaining connection slots are reserved (iRc=-2006)",
                    ),
                    (34, "error", "Stopping main MTA (pid=3120, tid=3120)... connection lost"),
                ],
                f"var/{i}/log/mtachild.log": [(36, "warning", "Child process ended: maxWorkingSetMb (128) reached")],
                f"var/{i}/log/wfserver.log": [(12, "info", "Workflow 'operationMgt' is being run")],
                f"var/{i}/log/runwf.log": [],
                "var/default/log/watchdog.log": [
                    (34, "warning", "Task 'mta@" + i + "' ended unexpectedly; restart failed")
                ],
            },
            ports=[("udp", 6666), ("udp", 7777)],
        ),
        HostScenario(
            name="track1",
            configured=["web", "syslogd", "trackinglogd"],
            running={
                "watchdog": (4100, 6.0, 5 * 3600),
                "syslogd@default": (4101, 7.1, 5 * 3600),
                "web@default": (4110, 380.0, 5 * 3600),
                "trackinglogd@default": (4111, 45.6, 5 * 3600),
            },
            logs={
                "var/default/log/trackinglogd.log": [(2, "info", "Tracking logs written: 512 entries")],
                "var/default/log/web.log": [(2, "info", "Server started")],
                "var/default/log/watchdog.log": [(300, "info", "Running task 'trackinglogd@default'")],
            },
            ports=[("udp", 6666), ("tcp", 8080), ("tcp", 80)],
            http={"80/r/test": (200, ok_redir), "8080/nl/jsp/ping.jsp": (200, "OK\n{date}")},
            redir_age_min=4,
        ),
    ]


def _install(src: str, dst: Path) -> None:
    shutil.copyfile(_HERE / src, dst)
    dst.chmod(0o755)


def build_host(
    root: Path, sc: HostScenario, instances: tuple[str, ...] = ("prod",), now: datetime | None = None
) -> Path:
    """Write one simulated install root under `root/<name>/nl6` and return its path."""
    now = now or datetime.now(timezone.utc)
    home = root / sc.name / "nl6"
    if home.exists():
        shutil.rmtree(home)
    for sub in ("bin", "conf", "sim/bin", "sim/http", "var/default/log"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    _install("nlserver.sh", home / "bin" / "nlserver")
    for tool in ("ps", "ss", "curl"):
        _install(f"{tool}.sh", home / "sim" / "bin" / tool)
    sim = home / "sim"
    (sim / "banner").write_text(BANNER + "\n")
    (sim / "mode").write_text(sc.mode + "\n")
    (sim / "delay").write_text(f"{sc.delay_s}\n")
    (sim / "invocations.log").write_text("")
    (sim / "state").write_text("".join(f"{n} {pid} {mb} {age}\n" for n, (pid, mb, age) in sc.running.items()))
    expected = ["watchdog"] + [m if "@" in m else f"{m}@default" for m in sc.configured]
    (sim / "expected").write_text("".join(f"{e}\n" for e in expected))
    (sim / "ports").write_text("".join(f"{proto} {port}\n" for proto, port in sc.ports))
    for key, (code, body) in sc.http.items():
        port, _, url_path = key.partition("/")
        name = (port + "/" + url_path).replace("/", "_").replace(".", "_")
        (sim / "http" / name).write_text(f"{code}\n{body.format(date=now.strftime('%Y-%m-%d %H:%M:%S.000Z'))}\n")
    # Configuration: autoStart tags, as Adobe documents them; the dbcnx password proves it never leaves.
    server = [m for m in sc.configured if "@" not in m]
    conf_default = "".join(f'  <{m} autoStart="true"/>\n' for m in server if m in _SERVER_MODULES)
    (home / "conf" / "config-default.xml").write_text(f"<serverconf>\n{conf_default}</serverconf>\n")
    for inst in instances:
        tags = [m.split("@")[0] for m in sc.configured if m.endswith(f"@{inst}")]
        body = "".join(f'  <{t} autoStart="true"/>\n' for t in tags)
        (home / "conf" / f"config-{inst}.xml").write_text(
            '<serverconf>\n  <shared><dataStore><dataSource name="default">\n'
            '    <dbcnx login="neolane" password="sim-db-password" provider="PostgreSQL" server="db"/>\n'
            f"  </dataSource></dataStore></shared>\n{body}</serverconf>\n"
        )
        (home / "var" / inst / "log").mkdir(parents=True, exist_ok=True)
    for rel, lines in sc.logs.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(
            f"{(now - timedelta(minutes=ago)).strftime('%Y-%m-%dT%H:%M:%S.000Z')}\t{1000 + n}\t{1000 + n}\t1\t{lvl}\tlog\t{msg}\n"
            for n, (ago, lvl, msg) in enumerate(sorted(lines, key=lambda x: -x[0]))
        )
        path.write_text(text)
    if sc.redir_age_min is not None:
        for inst in instances:
            d = home / "var" / inst / "redir" / "log"
            d.mkdir(parents=True, exist_ok=True)
            for k in range(3):
                f = d / f"0x00000000000A000{k}.log"
                f.write_text("0x1\t0x2\t0x3\n")
                t = (now - timedelta(minutes=sc.redir_age_min + 30 * (2 - k))).timestamp()
                os.utime(f, (t, t))
    return home


def build_simulated_inventory(
    root: Path, scenarios: list[HostScenario] | None = None, instance: str = "prod"
) -> Inventory:
    """Build the default simulated fleet under `root` and the inventory that points at it."""
    root.mkdir(parents=True, exist_ok=True)
    hosts = []
    for sc in scenarios or default_scenarios(instance):
        home = build_host(root, sc, (instance,))
        hosts.append(
            Host(
                name=sc.name,
                transport="local",
                nl_home=str(home),
                simulated=True,
                env_path=str(home / "sim" / "bin"),
                connect_timeout_s=2,
                command_timeout_s=10,
            )
        )
    # --- Campaign API (issue 10): the simulated application server, bot/simulator/appserver.py ---
    # One per process, on loopback, stopped at exit; its password is random and lives only in this
    # process's environment (SIM_PASSWORD_ENV), never in a file.
    from bot.inventory import CampaignApi
    from bot.simulator.appserver import SIM_PASSWORD_ENV, shared_appserver

    api = CampaignApi.model_validate(shared_appserver(instance).inventory_entry(SIM_PASSWORD_ENV))
    # --- end Campaign API ---
    env = Environment(
        name="simulated", instances=(instance,), hosts=tuple(hosts), simulated=True, campaign_api=api
    )
    return Inventory(
        environments={"simulated": env},
        default_environment="simulated",
        source="built-in simulated fleet",
        simulated=True,
    )
