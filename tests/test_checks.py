"""Checks evaluated through the Runner with in-memory fake hosts."""

from __future__ import annotations

import threading

from bot.diagnosis import Diagnoser, mentioned_environment, next_steps, select_modules
from bot.errors import HostUnreachable
from bot.inventory import parse_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.runner import Runner
from bot.transports.fake import FakeTransport
from tests.fakes import fake_host

NOW = 1_700_000_000
BANNER = "12:00:00 >   Application server for Adobe Campaign Classic (7.0 24.1 build 9379@abc) of 01/01/2025"
INV = parse_inventory(
    {
        "environments": {
            "prod": {
                "instances": ["prod"],
                "hosts": [{"name": "app1", "address": "10.0.0.1"}, {"name": "app2", "address": "10.0.0.2"}],
            }
        }
    },
    "test",
)
ENV = INV.environment("prod")


def healthy(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "now": str(NOW),
        "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nsyslogd@default (2) - 7.0 MB\nmta@prod (3) - 23.0 MB\nstat@prod (4) - 1.5 MB\nweb@default (5) - 50 MB",
        "nlserver-monitor-missing": BANNER,
        "config": '### config-default.xml\n<web autoStart="true"/> <syslogd autoStart="true"/>\n### config-prod.xml\n<mta autoStart="true"/> <stat autoStart="true"/>',
        "ps": "1 3600 6000 nlserver\n2 3600 7000 nlserver\n3 3600 23000 nlserver\n4 3600 1500 nlserver\n5 3600 50000 nlserver",
        "df": "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 50 50 50% /",
        "ports": "udp UNCONN 0 0 127.0.0.1:6666 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:7777 0.0.0.0:*\ntcp LISTEN 0 1 0.0.0.0:8080 0.0.0.0:*",
        "log:var/prod/log/mta.log": "",
        "log:var/prod/log/mtachild.log": "",
        "log:var/default/log/web.log": "",
        "http:redir": "<redir status='OK' build='9379'/>\n@@HTTP 200@@\n",
        "http:ping": "OK\n2025\n@@HTTP 200@@\n",
    }
    base.update(over)
    return base


def run(kb: KnowledgeBase, responders: dict[str, object], modules: list[str]):  # type: ignore[no-untyped-def]
    transports = {name: FakeTransport(r) for name, r in responders.items()}  # type: ignore[arg-type]
    return Runner(lambda h: transports[h.name]).run(ENV, [kb.get(m) for m in modules]), transports


def by(findings, host, module, check):  # type: ignore[no-untyped-def]
    return [f for f in findings if f.host == host and f.module == module and f.check == check]


def test_healthy_and_missing(kb: KnowledgeBase) -> None:
    sick = healthy(
        **{
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nstat@prod (4) - 1.5 MB",
            "nlserver-monitor-missing": f"{BANNER}\nmta@prod",
        }
    )
    res, _ = run(kb, {"app1": fake_host(healthy()), "app2": fake_host(sick)}, ["mta", "stat"])
    assert by(res.findings, "app1", "mta", "process")[0].status == "ok"
    f = by(res.findings, "app2", "mta", "process")[0]
    assert f.status == "fail" and "monitor -missing" in f.summary and "not_running" in f.conditions
    assert not by(res.findings, "app2", "mta", "memory")  # nothing to measure on a process that is not there


def test_not_configured_is_not_down(kb: KnowledgeBase) -> None:
    no_mta = healthy(
        **{
            "config": '### config-prod.xml\n<stat autoStart="true"/>',
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6 MB\nstat@prod (4) - 1.5 MB",
        }
    )
    res, _ = run(kb, {"app1": fake_host(healthy()), "app2": fake_host(no_mta)}, ["mta"])
    f = by(res.findings, "app2", "mta", "process")[0]
    assert f.status == "ok" and "not configured" in f.summary
    assert not by(res.findings, "app2", "mta", "log")


def test_nowhere_configured_is_an_environment_finding(kb: KnowledgeBase) -> None:
    res, _ = run(kb, {"app1": fake_host(healthy()), "app2": fake_host(healthy())}, ["inMail"])
    env_level = [f for f in res.findings if f.host == "(all hosts)"]
    assert env_level and "inMail@prod is enabled (autoStart) on none of the 2 hosts" in env_level[0].summary


def test_no_tasks(kb: KnowledgeBase) -> None:
    res, _ = run(
        kb,
        {"app1": fake_host(healthy(**{"nlserver-pdump": f"{BANNER}\nNo tasks"})), "app2": fake_host(healthy())},
        ["watchdog"],
    )
    f = by(res.findings, "app1", "watchdog", "process")[0]
    assert f.status == "fail" and "No tasks" in f.summary and "no_tasks" in f.conditions


def test_memory_age_disk_ports_logs_health(kb: KnowledgeBase) -> None:
    h = healthy(
        **{
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6 MB\nsyslogd@default (2) - 7 MB\nmta@prod (3) - 1700 MB\nstat@prod (4) - 1850 MB\nweb@default (5) - 50 MB",
            "ps": "1 3600 1 nlserver\n2 3600 1 nlserver\n3 90000 1 nlserver\n5 10 1 nlserver",
            "df": "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 91 9 91% /",
            "ports": "tcp LISTEN 0 1 0.0.0.0:8080 0.0.0.0:*",
            "log:var/prod/log/mta.log": "2023-11-14T22:00:00.000Z\t1\t1\t1\terror\tlog\tPGS-220000 PostgreSQL error: password=hunter2 rejected\n",
            "http:redir": "curl: (7) Failed to connect to localhost port 80: Connection refused\n\n@@HTTP 000@@\n",
            "http:ping": "<html>401</html>\n@@HTTP 401@@\n",
        }
    )
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta", "stat", "syslogd", "web"])
    fs = res.findings
    assert by(fs, "app1", "mta", "memory")[0].status == "warn"
    assert by(fs, "app1", "stat", "memory")[0].status == "fail"
    assert by(fs, "app1", "mta", "age")[0].status == "warn"
    stat_age = by(fs, "app1", "stat", "age")[0]
    assert stat_age.status == "unknown" and stat_age.summary.startswith("cannot tell") and stat_age.needs
    disk = next(f for f in fs if f.host == "app1" and f.check == "disk")
    assert disk.status == "fail" and "91%" in disk.summary
    assert by(fs, "app1", "syslogd", "ports")[0].status == "fail"
    assert by(fs, "app1", "stat", "ports")[0].status == "fail"
    log = next(f for f in by(fs, "app1", "mta", "log") if "mta.log" in f.summary)
    assert log.status == "warn" and "PGS-220000" in log.summary
    assert "hunter2" not in " ".join(log.evidence)  # redacted before anything is shown
    assert by(fs, "app1", "web", "redir_test")[0].status == "fail"
    ping = by(fs, "app1", "web", "ping_jsp")[0]
    assert ping.status == "unknown" and ping.needs and "session" in ping.needs


def test_log_missing_file_is_unknown_not_warning(kb: KnowledgeBase) -> None:
    h = healthy(**{"log:var/prod/log/mta.log": ("tail: cannot open 'x' for reading: No such file or directory", 1)})
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    f = next(f for f in by(res.findings, "app1", "mta", "log") if "mta.log" in f.summary)
    assert f.status == "unknown" and f.needs


def test_transport_errors_and_timeouts_are_findings(kb: KnowledgeBase) -> None:
    res, _ = run(
        kb,
        {
            "app1": HostUnreachable("connection to 10.0.0.1:22 refused"),
            "app2": fake_host(healthy(), stop_after="nlserver-pdump"),
        },
        ["mta"],
    )
    a1 = [f for f in res.findings if f.host == "app1"]
    assert len(a1) == 1 and a1[0].status == "error" and "refused" in a1[0].summary
    a2 = [f for f in res.findings if f.host == "app2"]
    assert len(a2) == 1 and a2[0].status == "error" and "did not finish" in a2[0].summary


def test_nlserver_not_found(kb: KnowledgeBase) -> None:
    h = healthy(**{"nlserver-pdump": ("sh: 1: /usr/local/neolane/nl6/bin/nlserver: not found", 127)})
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    f = next(f for f in res.findings if f.host == "app1")
    assert f.status == "error" and "not found" in f.summary


def test_scripts_are_read_only_and_batched(kb: KnowledgeBase) -> None:
    _, transports = run(kb, {"app1": fake_host(healthy()), "app2": fake_host(healthy())}, list(kb.names))
    for t in transports.values():
        assert len(t.scripts) == 1  # one round trip per host
        s = t.scripts[0]
        assert set(s.verbs) <= {"pdump", "monitor"}
        for verb in ("start", "stop", "restart", "shutdown", "-reload", "watchdog"):
            assert f"nlserver {verb}" not in s.text.replace('"$NLSERVER"', "nlserver")


def test_parallel_hosts_do_not_wait_for_each_other(kb: KnowledgeBase) -> None:
    """Both hosts are being checked at the same time (their runs overlap), not one after the other."""
    inside = threading.Barrier(2, timeout=5)

    def meet(script):  # type: ignore[no-untyped-def]
        inside.wait()  # raises BrokenBarrierError unless the other host is being checked concurrently
        return fake_host(healthy())(script)

    res, _ = run(kb, {"app1": meet, "app2": meet}, ["mta"])
    assert not [f for f in res.findings if f.status == "error"]


def test_progress_callback_gets_every_finding(kb: KnowledgeBase) -> None:
    got = []
    transports = {n: FakeTransport(fake_host(healthy())) for n in ("app1", "app2")}
    res = Runner(lambda h: transports[h.name]).run(ENV, [kb.get("mta")], on_finding=got.append)
    assert len(got) == len(res.findings)


def test_diagnosis_next_steps_per_host(kb: KnowledgeBase, matcher: Matcher) -> None:
    sick = healthy(
        **{
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nstat@prod (4) - 1.5 MB",
            "nlserver-monitor-missing": f"{BANNER}\nmta@prod",
        }
    )
    transports = {"app1": FakeTransport(fake_host(healthy())), "app2": FakeTransport(fake_host(sick))}
    d = Diagnoser(kb, matcher, Runner(lambda h: transports[h.name])).diagnose("mail not sending", ENV)
    assert d.modules[:2] == ("mta", "stat")
    start = [s for s in d.next_steps if s.command == "nlserver start mta@prod"]
    assert start and start[0].host == "app2" and start[0].risk.value == "changes-state"
    wd = [s for s in d.next_steps if s.command and "watchdog.log" in s.command]
    assert wd and wd[0].host == "app2" and wd[0].risk.value == "read-only"
    assert d.status == "fail" and "app2" in d.verdict


def test_select_modules_adds_related(kb: KnowledgeBase, matcher: Matcher) -> None:
    names = [m.name for m in select_modules(matcher.match("tracking workflow in error"), kb)]
    assert names[0] == "tracking" and "trackinglogd" in names


def test_mentioned_environment() -> None:
    assert mentioned_environment("mta down on prod?", INV) == "prod"
    assert mentioned_environment("mta down", INV) is None


def test_error_steps(kb: KnowledgeBase) -> None:
    from bot.models import Finding

    f = Finding(
        host="app1",
        module=None,
        instance=None,
        check="connect",
        status="error",
        summary="host key unknown: host key of 10.0.0.1:22 is not in ~/.ssh/known_hosts",
        error_kind="host_key_unknown",
    )
    steps = next_steps(kb, ENV, [kb.get("mta")], [f])
    assert any(s.command == "ssh-keyscan -p 22 10.0.0.1" for s in steps)
    assert any(s.command == "campaign-bot doctor --env prod" for s in steps)


def test_asks_for_logs() -> None:
    from bot.diagnosis import asks_for_logs

    assert asks_for_logs("show the mta log") and asks_for_logs("laat de wfserver logboeken zien")
    assert not asks_for_logs("log entries are missing") and not asks_for_logs("mail not sending")


def test_log_findings_carry_the_last_lines(kb: KnowledgeBase) -> None:
    lines = "".join(f"2023-11-14T22:{i:02d}:00.000Z\t1\t1\t1\tinfo\tlog\tline {i} password=s3cret\n" for i in range(30))
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{"log:var/prod/log/mta.log": lines})), "app2": fake_host(healthy())}, ["mta"]
    )
    f = next(f for f in by(res.findings, "app1", "mta", "log") if "mta.log" in f.summary)
    assert len(f.tail) == 20 and f.tail[-1].endswith("line 29 password=[REDACTED]") and "\t" not in f.tail[0]
