"""Build simulated Campaign hosts on disk (see `bot/simulator/*.sh` for the fake commands).

A simulated host is an install tree (`<root>/<name>/nl6`) with `bin/nlserver` (the simulated one,
read-only verbs only, every call logged in `sim/invocations.log`), `conf/serverConf.xml` and
`conf/config-*.xml` (with database passwords, which must never leave the host), logs in the
documented line format, tracking logs, core files, and `sim/bin/` commands that stand in for the
host's own (`ps`, `ss`, `curl`, `date`, `readlink`, `file`) and answer from `sim/`.

Outputs keep to the shapes Adobe documents (domain reference section 2.7: pdump, monitor -missing,
banners, log lines, /r/test, XSV codes). Log messages are illustrative: their format is documented,
their wording is mostly not.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.inventory import Environment, Host, Inventory

_HERE = Path(__file__).resolve().parent
BANNER = "Application server for Adobe Campaign Classic (7.0 24.1 build 9379@3f1a2b7) of 05/14/2025"
_SHIMS = ("ps", "ss", "curl", "date", "readlink", "file", "free", "uptime", "nproc", "sysctl", "ipcs")

_SERVER_MODULES = {"web", "syslogd", "trackinglogd", "watchdog"}

# How the watchdog starts each module (CC:installation/using/installing-packages-with-linux.md for web,
# the console's process list for mta, CC:delivery/using/troubleshooting-sms.md for mtachild; the
# others follow the same pattern).
_ARGS = {
    "watchdog": "nlserver watchdog -svc -noconsole",
    "web": "nlserver web -tracefile:web@default -instance:default -detach -tomcat -autorepair",
    "mta": "nlserver mta -noconsole -tracefile:mta@{i} -instance:{i} -detach -tracefilter:nlmta",
    "mtachild": "nlserver mtachild -tracefile:mtachild@{i} -instance:{i} -detach",
}

LogEntry = tuple[int, str, str]  # (minutes ago, level, message; "\n" starts continuation lines)


@dataclass
class HostScenario:
    """What one simulated host runs and how it behaves."""

    name: str
    configured: list[str]  # modules with autoStart="true" in config-*.xml (watchdog is implicit)
    running: dict[str, tuple[int, float, int]] = field(default_factory=dict)  # process -> (pid, MB, age s)
    logs: dict[str, list[LogEntry]] = field(default_factory=dict)  # rel path -> entries
    ports: list[tuple[str, int]] = field(default_factory=list)
    # "http://localhost/r/test" (or the older "80/r/test") -> (status, body); a 3xx body is the
    # Location; ("tls", message) or ("timeout", "") for failures; a URL not listed is refused.
    http: dict[str, tuple[int | str, str]] = field(default_factory=dict)
    redir_age_min: int | None = None  # newest tracking log file age; None: not a redirection server
    mode: str = "normal"  # normal | hang | huge | binary | slow
    delay_s: float = 0.0
    server_conf_only: list[str] = field(default_factory=list)  # enabled only in serverConf.xml
    rotated_logs: dict[str, list[LogEntry]] = field(default_factory=dict)  # rel path of <module>.log -> _2 entries
    children: dict[str, list[tuple[int, float, int]]] = field(default_factory=dict)  # instance -> mtachild rows
    cores: list[tuple[str, int, str]] = field(default_factory=list)  # (file under nl6, minutes ago, crashed command)
    clock_offset_s: float = 0.0
    xtk_var_dir: bool = False  # customer.sh moves var to <root>/<name>/data/var
    tmpdir: str | None = None  # customer.sh sets TMPDIR
    affinities: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)  # name -> (ip, heloHost, publicId)
    front_url: str | None = None  # the host's front_url in the inventory
    ps_user: str = "neolane"  # owner ps shows for the Campaign processes
    pdump_blind: bool = False  # pdump says No tasks although the processes run (another user / environment)
    proc_home: str | None = None  # install root the processes run from (default: this host's)
    zombies: int = 0  # zombie processes on the host (ps state Z)
    # System indicators (free, uptime, nproc, sysctl fs.file-nr, ipcs -m): swap total/free kB, the
    # 1/5/15 min load, CPUs, file handles allocated/max, shared-memory segments' owners.
    swap_kb: tuple[int, int] = (2097148, 1992291)
    load: tuple[float, float, float] = (0.42, 0.38, 0.35)
    cpus: int = 4
    files: tuple[int, int] = (2304, 1623744)
    shm_owners: tuple[str, ...] = ()
    real_tools: tuple[str, ...] = ()  # host commands left real (e.g. curl, to fetch a real HTTP front)


def _ok_redir(host: str, local: str, instance: str) -> str:
    return (
        f"<redir status='OK' date='{{date}}' build='9379' sha1='3f1a2b7' instance='{instance}' "
        f"host='{host}' localHost='{local}'/>"
    )


# Without a session Campaign answers ping.jsp with an error carrying XSV-350008 (domain reference
# section 9, fact 1; the text is the one in Adobe's JS SDK, SDK:test/mock.js).
XSV_NO_SESSION = (500, "XSV-350008 Session has expired or is invalid. Please reconnect.")


def default_scenarios(instance: str = "prod") -> list[HostScenario]:
    """Four hosts with a realistic mix, so that every module shows a fault somewhere:

    - app1, the main application server: bounces fail (POP3 authentication), temporary files on
      another device than var (the mta log has the errno=18 it predicts), three mtachild workers;
    - app2, whose MTA crashed: a core file, a rotated mta log with a multi-line database error, a
      watchdog that did not relaunch it, processes past their daily restart, var moved by XTK_VAR_DIR;
    - track1, a tracking server behind a front that redirects to HTTPS, its clock 4 s ahead;
    - track2, a tracking server where only serverConf.xml enables trackinglogd, which is down: stale
      tracking logs, and an Apache front that answers /r/test without the redirection module.
    """
    i = instance
    tmp_other_device = _other_device_tmp()
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
            children={i: [(2330, 35.2, 1800), (2331, 61.7, 1500), (2332, 97.4, 900)]},
            logs={
                f"var/{i}/log/mta.log": [
                    (50, "info", "Starting main MTA (pid=2320, tid=2320)..."),
                    (49, "info", "19 domain management rules have been loaded."),
                    (49, "info", "28 mail formatting rules were loaded."),
                ]
                + (
                    [
                        (
                            12,
                            "error",
                            f"Unable to rename file '{tmp_other_device}/tmp0000.tmp' to "  # noqa: S108 - a log text
                            f"/usr/local/neolane/nl6/bin/..//var/{i}/mta/86510470.xml ;(errno=18, Invalid cross-device "
                            "link) (iRc=-52)",
                        )
                    ]
                    if tmp_other_device
                    else []
                ),
                f"var/{i}/log/mtachild.log": [(20, "info", "Message delivery batch processed")],
                f"var/{i}/log/wfserver.log": [(10, "info", "Workflow 'cleanup' is being run")],
                f"var/{i}/log/runwf.log": [(10, "info", "Workflow 'tracking' is being run")],
                f"var/{i}/log/inMail.log": [
                    (40, "info", "POP3 session: 12 messages read"),
                    (9, "error", "Authentication failure: unknown user name or bad password"),
                    (4, "error", "Authentication failure: unknown user name or bad password"),
                ],
                "var/default/log/web.log": [(3, "info", "Server started")],
                "var/default/log/watchdog.log": [(240, "info", f"Running task 'mta@{i}'")],
            },
            ports=[("udp", 6666), ("tcp", 8080), ("udp", 7777), ("tcp", 80)],
            http={
                "http://localhost/r/test": (200, _ok_redir("app1.example.invalid", "app1", i)),
                "http://localhost:8080/nl/jsp/ping.jsp": XSV_NO_SESSION,
            },
            tmpdir=tmp_other_device,
            affinities={"bulk": [("192.0.2.10", "mta1.example.invalid", 1), ("192.0.2.11", "mta2.example.invalid", 2)]},
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
            rotated_logs={
                f"var/{i}/log/mta.log": [
                    (48, "info", "Delivery 5421: 18500 messages to send"),
                    (
                        41,
                        "error",
                        'PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique constraint "nmsbroadlog_id" '
                        "(iRc=-2006)\nDETAIL:  Key (ibroadlogid)=(6604001) already exists.",
                    ),
                    (40, "warning", "Delivery 5421: retrying 212 messages later"),
                ]
            },
            logs={
                f"var/{i}/log/mta.log": [
                    (
                        35,
                        "error",
                        "PGS-220000 PostgreSQL error: FATAL: remaining connection slots are reserved (iRc=-2006)",
                    ),
                    (34, "info", "Stopping main MTA (pid=3120, tid=3120)..."),
                ],
                f"var/{i}/log/mtachild.log": [(36, "warning", "Child process ended: maxWorkingSetMb (128) reached")],
                f"var/{i}/log/wfserver.log": [(12, "info", "Workflow 'operationMgt' is being run")],
                f"var/{i}/log/runwf.log": [(12, "info", "Workflow 'operationMgt' is being run")],
                "var/default/log/watchdog.log": [
                    (34, "warning", f"Task 'mta@{i}' ended unexpectedly (pid=3120)"),
                    (33, "error", f"Unable to relaunch task 'mta@{i}': too many restarts"),
                ],
            },
            ports=[("udp", 6666), ("udp", 7777)],
            cores=[("core.3120", 34, _ARGS["mta"].format(i=i))],
            xtk_var_dir=True,
            affinities={"bulk": [("192.0.2.10", "mta1.example.invalid", 1), ("192.0.2.11", "mta2.example.invalid", 2)]},
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
            ports=[("udp", 6666), ("tcp", 8080), ("tcp", 80), ("tcp", 443)],
            front_url="http://t1.example.invalid",
            http={
                "http://t1.example.invalid/r/test": (301, "https://t1.example.invalid/r/test"),
                "https://t1.example.invalid/r/test": (200, _ok_redir("t1.example.invalid", "track1", i)),
                "http://localhost:8080/nl/jsp/ping.jsp": XSV_NO_SESSION,
            },
            redir_age_min=4,
            clock_offset_s=4.2,
        ),
        HostScenario(
            name="track2",
            configured=["web", "syslogd"],
            server_conf_only=["trackinglogd"],
            running={
                "watchdog": (5100, 6.0, 3 * 3600),
                "syslogd@default": (5101, 7.0, 3 * 3600),
                "web@default": (5110, 350.2, 3 * 3600),
            },
            logs={
                "var/default/log/web.log": [(6, "info", "Server started")],
                "var/default/log/watchdog.log": [(180, "info", "Running task 'web@default'")],
                "var/default/log/trackinglogd.log": [(200, "info", "Tracking logs written: 96 entries")],
            },
            ports=[("udp", 6666), ("tcp", 8080), ("tcp", 80)],
            http={
                "http://localhost/r/test": (
                    404,
                    "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
                    "<p>The requested URL was not found on this server.</p></body></html>",
                ),
                "http://localhost:8080/nl/jsp/ping.jsp": XSV_NO_SESSION,
            },
            redir_age_min=300,
        ),
    ]


def _other_device_tmp() -> str | None:
    """A temporary folder on another device than the simulated var (/dev/shm, a tmpfs), if there is one."""
    # Only compared, never written to here (S108 is about creating files in shared folders).
    shm, tmp = Path("/dev/shm"), Path(os.environ.get("TMPDIR", "/tmp"))  # noqa: S108
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp.stat().st_dev:
            return str(shm)
    except OSError:
        return None
    return None


def _install(src: str, dst: Path) -> None:
    shutil.copyfile(_HERE / src, dst)
    dst.chmod(0o755)


def _log_text(entries: list[LogEntry], now: datetime, pid0: int = 1000) -> str:
    """Lines in the documented tab-separated format; continuation lines follow their entry undated."""
    out = []
    for n, (ago, lvl, msg) in enumerate(sorted(entries, key=lambda x: -x[0])):
        first, *more = msg.split("\n")
        ts = (now - timedelta(minutes=ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append(f"{ts}\t{pid0 + n}\t{pid0 + n}\t1\t{lvl}\tlog\t{first}\n")
        out.extend(f"{m}\n" for m in more)
    return "".join(out)


def _written_at(path: Path, entries: list[LogEntry], now: datetime) -> None:
    """A log's mtime is its newest line's time, as on a real server (syslogd writes each line as it comes)."""
    if entries:
        t = (now - timedelta(minutes=min(ago for ago, _, _ in entries))).timestamp()
        os.utime(path, (t, t))


def _core_bytes() -> bytes:
    """An ELF header of type ET_CORE (what `file` recognises as a core file); the body is empty."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    return ident + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 0, 64, 0, 0)


def _args(name: str) -> str:
    module, _, inst = name.partition("@")
    if module in _ARGS:
        return _ARGS[module].format(i=inst or "default")
    return f"nlserver {module} -tracefile:{name} -instance:{inst or 'default'} -detach"


def _serverconf(sc: HostScenario) -> str:
    """serverConf.xml in the shape of Adobe's reference: every module node, autoStart false unless the
    scenario enables it only here; database and internal passwords that must never leave the host."""
    nodes = []
    for m in ("web", "syslogd", "trackinglogd", "mta", "stat", "wfserver", "inMail", "sms", "interactiond"):
        on = "true" if m in sc.server_conf_only else "false"
        if m == "mta":
            nodes.append(
                f'  <mta autoStart="{on}" maxMemoryMb="1024" statServerAddress="localhost">\n'
                '    <master dataBasePoolPeriodSec="30" dataBaseRetryDelaySec="60"/>\n'
                '    <child maxWorkingSetMb="128" maxWaitingMessages="2000"><smtp enableTLS="false"/></child>\n'
                "  </mta>\n"
            )
        elif m == "inMail":
            nodes.append(
                f'  <inMail autoStart="{on}" checkInstanceName="true" popMailPeriodSec="300">\n'
                '    <msgDump dump="false" msgPath="/tmp/inMail"/>\n  </inMail>\n'
            )
        else:
            nodes.append(f'  <{m} autoStart="{on}"/>\n')
    return (
        "<?xml version='1.0'?>\n<serverconf>\n  <shared>\n"
        '    <dataStore hosts="*"><dataSource name="default">\n'
        '      <dbcnx login="neolane" password="sim-db-password" provider="PostgreSQL" server="db"/>\n'
        '    </dataSource></dataStore>\n    <xtk internalPassword="sim-internal-password"/>\n  </shared>\n'
        "  <!-- Module nodes: defaults for every instance; config-<instance>.xml values win. -->\n"
        + "".join(nodes)
        + "</serverconf>\n"
    )


def build_host(
    root: Path, sc: HostScenario, instances: tuple[str, ...] = ("prod",), now: datetime | None = None
) -> Path:
    """Write one simulated install root under `root/<name>/nl6` and return its path."""
    now = now or datetime.now(timezone.utc)
    home = root / sc.name / "nl6"
    if home.parent.exists():
        shutil.rmtree(home.parent)
    var = (root / sc.name / "data" / "var") if sc.xtk_var_dir else home / "var"
    for sub in ("bin", "conf", "sim/bin", "sim/http", "sim/cores"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (var / "default" / "log").mkdir(parents=True, exist_ok=True)
    _install("nlserver.sh", home / "bin" / "nlserver")
    for tool in _SHIMS:
        if tool not in sc.real_tools:
            _install(f"{tool}.sh", home / "sim" / "bin" / tool)
    sim = home / "sim"
    (sim / "banner").write_text(BANNER + "\n")
    (sim / "mode").write_text(sc.mode + "\n")
    (sim / "delay").write_text(f"{sc.delay_s}\n")
    (sim / "clock_offset").write_text(f"{sc.clock_offset_s}\n")
    (sim / "invocations.log").write_text("")
    (sim / "proc_home").write_text(f"{sc.proc_home or home}\n")
    if sc.pdump_blind:
        (sim / "pdump_blind").write_text("")
    (sim / "state").write_text("".join(f"{n} {pid} {mb} {age}\n" for n, (pid, mb, age) in sc.running.items()))
    rows = [
        f"{pid:>7} {'Ss' if n == 'watchdog' else 'Sl'} {sc.ps_user} {age} {int(mb * 1024)} {_args(n)}\n"
        for n, (pid, mb, age) in sc.running.items()
    ]
    for inst, kids in sc.children.items():
        rows += [
            f"{pid:>7} S {sc.ps_user} {age} {int(mb * 1024)} {_args(f'mtachild@{inst}')}\n" for pid, mb, age in kids
        ]
    rows += [f"{9000 + z:>7} Z {sc.ps_user} 60 0 [nlserver] <defunct>\n" for z in range(sc.zombies)]
    (sim / "processes").write_text("".join(rows))
    (sim / "system").write_text(
        f"swap {sc.swap_kb[0]} {sc.swap_kb[1]}\nload {sc.load[0]:.2f} {sc.load[1]:.2f} {sc.load[2]:.2f}\n"
        f"cpus {sc.cpus}\nfiles {sc.files[0]} 0 {sc.files[1]}\n" + "".join(f"shm {o}\n" for o in sc.shm_owners)
    )
    enabled = [*sc.configured, *sc.server_conf_only]
    expected = [m if "@" in m else f"{m}@default" for m in enabled]
    (sim / "expected").write_text("".join(f"{e}\n" for e in expected))
    (sim / "ports").write_text("".join(f"{proto} {port}\n" for proto, port in sc.ports))
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.000Z")
    for key, (code, body) in sc.http.items():
        url = key if "://" in key else f"http://localhost:{key}"
        target = sim / "http" / _url_key(url)
        if isinstance(code, int):
            target.write_text(f"{code}\n{body.replace('{date}', stamp)}\n")
        elif code == "tls":
            target.write_text(f"tls {body}\n")
        else:
            target.write_text(f"{code}\n")  # timeout
    # The Campaign environment: customer.sh moves var (XTK_VAR_DIR) or sets TMPDIR.
    customer = []
    if sc.xtk_var_dir:
        customer.append(f"export XTK_VAR_DIR={var}")
    if sc.tmpdir:
        customer.append(f"export TMPDIR={sc.tmpdir}")
    if customer:
        (home / "customer.sh").write_text("# customer.sh (simulated)\n" + "\n".join(customer) + "\n")
    # Configuration: serverConf.xml (defaults), config-default.xml, config-<instance>.xml (winning).
    (home / "conf" / "serverConf.xml").write_text(_serverconf(sc))
    server = [m for m in sc.configured if "@" not in m and m in _SERVER_MODULES]
    conf_default = "".join(f'  <{m} autoStart="true"/>\n' for m in server)
    (home / "conf" / "config-default.xml").write_text(f"<serverconf>\n{conf_default}</serverconf>\n")
    for inst in instances:
        tags = [m.split("@")[0] for m in sc.configured if m.endswith(f"@{inst}")]
        body = ""
        for t in tags:
            if t == "mta":
                aff = "".join(
                    f'<IPAffinity name="{name}">'
                    + "".join(f'<IP address="{ip}" heloHost="{helo}" publicId="{pub}"/>' for ip, helo, pub in ips)
                    + "</IPAffinity>"
                    for name, ips in sc.affinities.items()
                )
                smtp = f"\n    <child><smtp>{aff}</smtp></child>\n  " if aff else ""
                body += f'  <mta autoStart="true" statServerAddress="localhost">{smtp}</mta>\n'
            else:
                body += f'  <{t} autoStart="true"/>\n'
        (home / "conf" / f"config-{inst}.xml").write_text(
            '<serverconf>\n  <shared><dataStore><dataSource name="default">\n'
            '    <dbcnx login="neolane" password="sim-db-password" provider="PostgreSQL" server="db"/>\n'
            f"  </dataSource></dataStore></shared>\n{body}</serverconf>\n"
        )
        (var / inst / "log").mkdir(parents=True, exist_ok=True)
    for rel, entries in sc.logs.items():
        path = var / rel.removeprefix("var/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_log_text(entries, now))
        _written_at(path, entries, now)
    for rel, entries in sc.rotated_logs.items():
        path = var / (rel.removeprefix("var/")[: -len(".log")] + "_2.log")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_log_text(entries, now, 900))
        _written_at(path, entries, now)
    for name, ago, command in sc.cores:
        core = home / name
        core.write_bytes(_core_bytes())
        crashed_at = (now - timedelta(minutes=ago)).timestamp()
        os.utime(core, (crashed_at, crashed_at))
        (sim / "cores" / f"{core.name}.desc").write_text(
            f"ELF 64-bit LSB core file, x86-64, version 1 (SYSV), SVR4-style, from '{command}', real uid: 1001, "
            "effective uid: 1001, real gid: 1001, effective gid: 1001, execfn: "
            f"'/usr/local/neolane/nl6/bin/nlserver', platform: 'x86_64'\n"
        )
    if sc.redir_age_min is not None:
        for inst in instances:
            d = var / inst / "redir" / "log"
            d.mkdir(parents=True, exist_ok=True)
            for k in range(3):
                f = d / f"0x00000000000A000{k}.log"
                f.write_text("0x1\t0x2\t0x3\n")
                mtime = (now - timedelta(minutes=sc.redir_age_min + 30 * (2 - k))).timestamp()
                os.utime(f, (mtime, mtime))
    return home


def _url_key(url: str) -> str:
    """The sim/http file name of a URL, as `curl.sh` computes it (scheme_host_port_path, non-alphanumerics as _)."""
    scheme, _, rest = url.partition("://")
    hostport, slash, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    port = port or ("443" if scheme == "https" else "80")
    raw = f"{scheme}_{host}_{port}/{path}" if slash else f"{scheme}_{host}_{port}/"
    return "".join(c if c.isalnum() else "_" for c in raw)


SIMULATED_ENV = "prod"
SIMULATED_ALIASES = ("simulated", "production", "productie", "prd")


def build_simulated_inventory(
    root: Path, scenarios: list[HostScenario] | None = None, instance: str = "prod"
) -> Inventory:
    """Build the default simulated fleet under `root` and the inventory that points at it."""
    root.mkdir(parents=True, exist_ok=True)
    hosts = []
    for sc in scenarios or default_scenarios(instance):
        home = build_host(root, sc, (instance,))
        extra = {"front_url": sc.front_url} if sc.front_url else {}
        hosts.append(
            Host(
                name=sc.name,
                transport="local",
                nl_home=str(home),
                simulated=True,
                env_path=str(home / "sim" / "bin"),
                connect_timeout_s=2,
                command_timeout_s=10,
                **extra,
            )
        )
    # --- Campaign API (issue 10): the simulated application server, bot/simulator/appserver.py ---
    # One per process, on loopback, stopped at exit; its password is random and lives only in this
    # process's environment (SIM_PASSWORD_ENV), never in a file.
    from bot.inventory import CampaignApi
    from bot.simulator.appserver import SIM_PASSWORD_ENV, shared_appserver

    api = CampaignApi.model_validate(shared_appserver(instance).inventory_entry(SIM_PASSWORD_ENV))
    # --- end Campaign API ---
    # Named like the production environment the README's examples use; every answer says it is simulated.
    env = Environment(
        name=SIMULATED_ENV,
        aliases=SIMULATED_ALIASES,
        instances=(instance,),
        hosts=tuple(hosts),
        simulated=True,
        campaign_api=api,
    )
    return Inventory(
        environments={SIMULATED_ENV: env},
        default_environment=SIMULATED_ENV,
        source="built-in simulated fleet",
        simulated=True,
    )
