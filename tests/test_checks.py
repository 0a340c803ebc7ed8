"""Checks evaluated through the Runner with in-memory fake hosts."""

from __future__ import annotations

import dataclasses
import threading

from bot.diagnosis import Diagnoser, mentioned_environment, next_steps, select_modules
from bot.errors import HostUnreachable
from bot.inventory import parse_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Finding
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


LOG_LINE = "2023-11-14T22:10:00.000Z\t1\t1\t1\tinfo\tlog\tPOP3 session: 3 messages read\n"
PS = (
    "1 Ss neolane 3600 6000 nlserver watchdog -svc -noconsole\t/usr/local/neolane/nl6/bin/nlserver\t/usr/local/neolane/nl6\n"
    "2 Sl neolane 3600 7000 nlserver syslogd -tracefile:syslogd@default -instance:default -detach\t-\t-\n"
    "3 Sl neolane 3600 23000 nlserver mta -tracefile:mta@prod -instance:prod -detach -tracefilter:nlmta\t-\t-\n"
    "4 Sl neolane 3600 1500 nlserver stat -tracefile:stat@prod -instance:prod -detach\t-\t-\n"
    "5 Sl neolane 3600 50000 nlserver web -tracefile:web@default -instance:default -detach -tomcat -autorepair\t-\t-\n"
    "6 S neolane 600 40000 nlserver mtachild -tracefile:mtachild@prod -instance:prod -detach\t-\t-\n"
    "zombies 0\n"
)


def healthy(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "now": str(NOW),
        "env": "user neolane\nvar_dir /usr/local/neolane/nl6/var\nxtk_var_dir \ntmpdir \ntrace_addr \n",
        "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nsyslogd@default (2) - 7.0 MB\nmta@prod (3) - 23.0 MB\nstat@prod (4) - 1.5 MB\nweb@default (5) - 50 MB",
        "nlserver-monitor-missing": BANNER,
        "config": '### config-default.xml\n<web autoStart="true"/> <syslogd autoStart="true"/>\n### config-prod.xml\n<mta autoStart="true"/> <stat autoStart="true"/>',
        "ps": PS,
        "df": "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 50 50 50% /",
        "ports": "udp UNCONN 0 0 127.0.0.1:6666 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:7777 0.0.0.0:*\ntcp LISTEN 0 1 0.0.0.0:8080 0.0.0.0:*",
        "log:var/prod/log/mta.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "log:var/prod/log/mtachild.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "log:var/default/log/web.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "log:var/default/log/watchdog.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "log:var/prod/log/wfserver.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "log:var/prod/log/runwf.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "log:var/prod/log/inMail.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "log:var/default/log/trackinglogd.log": f"@@STAT 200 {NOW - 200}@@\n{LOG_LINE}",
        "http:redir": "<redir status='OK' build='9379'/>\n@@HTTP 200 0 http://localhost/r/test@@\n",
        "http:ping": "OK\n2025\n@@HTTP 200 0 http://localhost:8080/nl/jsp/ping.jsp@@\n",
        "cores": "count 0\n",
        "devices": "2049 /tmp\n2049 /usr/local/neolane/nl6/var\n",
        "system": "SwapTotal: 1000 kB\nSwapFree: 900 kB\nloadavg 0.10 0.20 0.30\ncpus 4\nfile-nr 1000\t0\t100000\nshm-listed\n",
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
    env_level = [f for f in res.findings if f.host == "(all hosts)" and f.check == "process"]
    assert env_level and "inMail@prod is enabled (autoStart) on none of the 2 hosts" in env_level[0].summary


def test_no_tasks(kb: KnowledgeBase) -> None:
    res, _ = run(
        kb,
        {
            "app1": fake_host(healthy(**{"nlserver-pdump": f"{BANNER}\nNo tasks", "ps": "zombies 0\n"})),
            "app2": fake_host(healthy()),
        },
        ["watchdog"],
    )
    f = by(res.findings, "app1", "watchdog", "process")[0]
    assert f.status == "fail" and "No tasks" in f.summary and "no_tasks" in f.conditions
    assert "ps shows no nlserver process either" in f.summary


def test_memory_age_disk_ports_logs_health(kb: KnowledgeBase) -> None:
    h = healthy(
        **{
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6 MB\nsyslogd@default (2) - 7 MB\nmta@prod (3) - 1700 MB\nstat@prod (4) - 1850 MB\nweb@default (5) - 50 MB",
            "ps": "1 S neolane 3600 1 nlserver watchdog\n2 S neolane 3600 1 nlserver syslogd\n"
            "3 S neolane 90000 1 nlserver mta\n5 S neolane 10 1 nlserver web\nzombies 0\n",
            "df": "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 91 9 91% /",
            "ports": "tcp LISTEN 0 1 0.0.0.0:8080 0.0.0.0:*",
            "log:var/prod/log/mta.log": "2023-11-14T22:00:00.000Z\t1\t1\t1\terror\tlog\tPGS-220000 PostgreSQL error: password=hunter2 rejected\n",
            "http:redir": "<html>404 Not Found</html>\n@@HTTP 404 0 http://localhost/r/test@@\n",
            "http:ping": "<html>401</html>\n@@HTTP 401 0 http://localhost:8080/nl/jsp/ping.jsp@@\n",
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
    assert log.status == "warn" and "PGS-220000" in log.summary and "1 error entry" in log.summary
    assert "hunter2" not in " ".join(log.evidence)  # redacted before anything is shown
    assert by(fs, "app1", "web", "redir_test")[0].status == "fail"
    ping = by(fs, "app1", "web", "ping_jsp")[0]
    assert ping.status == "unknown" and ping.needs and "session token" in ping.needs


def test_log_missing_file_is_unknown_not_warning(kb: KnowledgeBase) -> None:
    h = healthy(**{"log:var/prod/log/mta.log": ("stat: cannot statx 'x': No such file or directory", 1)})
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
    f = next(f for f in res.findings if f.host == "app1" and f.check == "pdump")
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
    lines = "@@STAT 2000 1700000000@@\n" + "".join(
        f"2023-11-14T22:{i:02d}:00.000Z\t1\t1\t1\tinfo\tlog\tline {i} password=s3cret\n" for i in range(30)
    )
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{"log:var/prod/log/mta.log": lines})), "app2": fake_host(healthy())}, ["mta"]
    )
    f = next(f for f in by(res.findings, "app1", "mta", "log") if "mta.log" in f.summary)
    assert len(f.tail) == 20 and f.tail[-1].endswith("line 29 password=[REDACTED]") and "\t" not in f.tail[0]


# ------------------------------------------------------------------ issue 7: answers a real server would confirm


def run_on(kb: KnowledgeBase, env, hosts: dict[str, object], modules: list[str]):  # type: ignore[no-untyped-def]
    transports = {name: FakeTransport(r) for name, r in hosts.items()}  # type: ignore[arg-type]
    return Runner(lambda h: transports[h.name]).run(env, [kb.get(m) for m in modules]), transports


def diagnose_on(kb: KnowledgeBase, matcher: Matcher, env, hosts: dict[str, object], question: str):  # type: ignore[no-untyped-def]
    transports = {name: FakeTransport(r) for name, r in hosts.items()}  # type: ignore[arg-type]
    return Diagnoser(kb, matcher, Runner(lambda h: transports[h.name])).diagnose(question, env)


def check_on(kb: KnowledgeBase, matcher: Matcher, env, hosts: dict[str, object], modules: list[str]):  # type: ignore[no-untyped-def]
    transports = {name: FakeTransport(r) for name, r in hosts.items()}  # type: ignore[arg-type]
    return Diagnoser(kb, matcher, Runner(lambda h: transports[h.name])).check([kb.get(m) for m in modules], env)


def env_with(**host_over: object):  # type: ignore[no-untyped-def]
    extra = host_over.pop("campaign_api", None)
    data: dict[str, object] = {
        "instances": ["prod"],
        "hosts": [{"name": "app1", "address": "10.0.0.1", **host_over}, {"name": "app2", "address": "10.0.0.2"}],
    }
    if extra:
        data["campaign_api"] = extra
    return parse_inventory({"environments": {"prod": data}}, "test").environment("prod")


XSV_BODY = "XSV-350008 Session has expired or is invalid. Please reconnect."


def test_item1_ping_without_session_is_cannot_tell_never_a_restart(kb: KnowledgeBase, matcher: Matcher) -> None:
    """Campaign answers an HTTP error carrying XSV-350008 without a session (SDK:test/mock.js)."""
    sick = healthy(**{"http:ping": f"{XSV_BODY}\n@@HTTP 500 0 http://localhost:8080/nl/jsp/ping.jsp@@\n"})
    d = check_on(kb, matcher, ENV, {"app1": fake_host(sick), "app2": fake_host(healthy())}, ["web"])
    ping = by(d.findings, "app1", "web", "ping_jsp")[0]
    assert ping.status == "unknown" and "XSV-350008" in ping.summary and "cannot tell" in ping.summary
    assert ping.needs == "a monitoring session token (campaign_api in the inventory)"
    assert ping.conditions == ("cannot_tell",)
    assert not [s for s in d.next_steps if s.command and "restart web" in s.command]
    assert any("session token" in s.text and s.risk.value == "read-only" for s in d.next_steps)
    assert "Cannot tell" in d.verdict and d.status != "fail"
    # a refused zone (XSV-350013) and a plain HTTP error without a session: cannot tell too, never fail
    for body, code in (("XSV-350013 The '10.0.0.9' IP address is not in a security zone", 500), ("Error", 500)):
        h = healthy(**{"http:ping": f"{body}\n@@HTTP {code} 0 x@@\n"})
        res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["web"])
        assert by(res.findings, "app1", "web", "ping_jsp")[0].status == "unknown"
    ok = by(d.findings, "app2", "web", "ping_jsp")[0]
    assert ok.status == "ok"


def test_item1_with_campaign_api_the_ssh_side_leaves_ping_to_the_api(kb: KnowledgeBase) -> None:
    env = env_with(campaign_api={"url": "https://campaign.example.invalid", "login": "monitoring", "password_env": "X"})
    res, transports = run_on(kb, env, {"app1": fake_host(healthy()), "app2": fake_host(healthy())}, ["web"])
    assert not [f for f in res.findings if f.check == "ping_jsp"]
    assert "ping.jsp" not in transports["app1"].scripts[0].text


def test_item2_front_url_redirects_tls_loops_refused_told_apart(kb: KnowledgeBase, matcher: Matcher) -> None:
    env = env_with(front_url="http://track.example.invalid")
    ok_body = "<redir status='OK' date='2025-05-14 10:00:00.112Z' build='9379' host='track' localHost='app1'/>"
    cases = {
        "ok": (f"{ok_body}\n@@HTTP 200 1 https://track.example.invalid/r/test@@\n", 0, "ok", ()),
        "tls": (
            "curl: (60) SSL certificate problem: certificate has expired\n\n@@HTTP 000 1 https://track.example.invalid/r/test@@\n",
            60,
            "warn",
            ("tls_error",),
        ),
        "loop": (
            "curl: (47) Maximum (5) redirects followed\n\n@@HTTP 301 5 https://track.example.invalid/r/test@@\n",
            47,
            "warn",
            ("redirect_loop",),
        ),
        "refused": (
            "curl: (7) Failed to connect to track.example.invalid port 80 after 0 ms: Couldn't connect to server\n\n"
            "@@HTTP 000 0 http://track.example.invalid/r/test@@\n",
            7,
            "warn",
            ("front_unreachable",),
        ),
        "elsewhere": (
            "<html>login</html>\n@@HTTP 200 1 https://sso.example.invalid/login@@\n",
            0,
            "warn",
            ("front_redirect",),
        ),
        "not-served": (
            "<html><h1>Not Found</h1></html>\n@@HTTP 404 1 https://track.example.invalid/r/test@@\n",
            0,
            "fail",
            ("redir_failed",),
        ),
    }
    summaries = set()
    for name, (text, code, status, conds) in cases.items():
        h = healthy(**{"http:redir": (text, code)})
        res, transports = run_on(kb, env, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["web"])
        f = by(res.findings, "app1", "web", "redir_test")
        assert len(f) == 1 and f[0].status == status and f[0].conditions == conds, (name, f)
        summaries.add(f[0].summary)
        assert "'http://track.example.invalid/r/test'" in transports["app1"].scripts[0].text or (
            " http://track.example.invalid/r/test" in transports["app1"].scripts[0].text
        )
    assert len(summaries) == len(cases)  # each is its own finding
    # only the front answering without <redir status='OK'> is a failure, and it never restarts web
    h = healthy(**{"http:redir": cases["not-served"][:2]})
    d = check_on(kb, matcher, env, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["web"])
    cmds = [s.command for s in d.next_steps if s.host == "app1"]
    assert "nlserver restart web" not in cmds
    assert any(s.step_id == "apache-after-upgrade" for s in d.next_steps)


def test_item2_nothing_at_the_default_front_is_cannot_tell(kb: KnowledgeBase) -> None:
    refused = "curl: (7) Failed to connect to localhost port 80 after 0 ms: Couldn't connect to server\n\n@@HTTP 000 0 http://localhost/r/test@@\n"
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{"http:redir": (refused, 7)})), "app2": fake_host(healthy())}, ["web"]
    )
    f = by(res.findings, "app1", "web", "redir_test")[0]
    assert f.status == "unknown" and f.needs and "front_url" in f.needs


def test_item2_reported_under_web_when_tracking_asks(kb: KnowledgeBase) -> None:
    h = healthy(
        **{
            "http:redir": "<html>404</html>\n@@HTTP 404 0 http://localhost/r/test@@\n",
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6 MB\nsyslogd@default (2) - 7 MB\ntrackinglogd@default (7) - 45 MB",
            "config": '### config-default.xml\n<trackinglogd autoStart="true"/><syslogd autoStart="true"/>',
        }
    )
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["trackinglogd"])
    f = [x for x in res.findings if x.host == "app1" and x.check == "redir_test"]
    assert len(f) == 1 and f[0].module == "web" and f[0].status == "fail"


OTHER_USER_PS = (
    "2273 Ss neolane 14400 6600 nlserver watchdog -svc -noconsole\t-\t-\n"
    "2320 Sl neolane 14400 23552 nlserver mta -tracefile:mta@prod -instance:prod -detach\t-\t-\n"
    "zombies 0\n"
)


def test_item3_no_tasks_while_ps_shows_nlserver_of_another_user(kb: KnowledgeBase, matcher: Matcher) -> None:
    h = healthy(
        **{
            "nlserver-pdump": f"{BANNER}\nNo tasks",
            "env": "user cbot\nvar_dir /usr/local/neolane/nl6/var\n",
            "ps": OTHER_USER_PS,
        }
    )
    d = check_on(kb, matcher, ENV, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["watchdog", "mta"])
    for module in ("watchdog", "mta"):
        f = by(d.findings, "app1", module, "process")[0]
        assert f.status == "unknown" and "wrong_user" in f.conditions and "no_tasks" not in f.conditions
        assert "user neolane" in f.summary and "cbot" in f.summary and "wrong user" in f.summary
        assert f.needs and "neolane" in f.needs
    assert not [s for s in d.next_steps if s.command and "watchdog -svc" in s.command]
    assert not [s for s in d.next_steps if s.host == "app1" and s.risk.value == "changes-state"]
    assert any("does not run as the Campaign user" in s.text for s in d.next_steps if s.host == "app1")


def test_item3_same_user_other_install_root(kb: KnowledgeBase) -> None:
    ps = (
        "2273 Ss neolane 14400 6600 nlserver watchdog -svc\t/opt/campaign/nl6/bin/nlserver\t/opt/campaign/nl6\n"
        "zombies 0\n"
    )
    h = healthy(**{"nlserver-pdump": f"{BANNER}\nNo tasks", "ps": ps})
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["watchdog"])
    f = by(res.findings, "app1", "watchdog", "process")[0]
    assert f.status == "unknown" and "/opt/campaign/nl6" in f.summary and "NL_HOME" in f.summary
    assert f.needs and "/opt/campaign/nl6" in f.needs


def test_item4_silent_log_and_syslogd(kb: KnowledgeBase, matcher: Matcher) -> None:
    old = f"@@STAT 300 {NOW - 7200}@@\n2023-11-14T20:10:00.000Z\t1\t1\t1\tinfo\tlog\tStarting main MTA\n"
    h = healthy(
        **{
            "log:var/prod/log/mta.log": old,
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nmta@prod (3) - 23.0 MB\nstat@prod (4) - 1.5 MB",
            "nlserver-monitor-missing": f"{BANNER}\nsyslogd@default",
        }
    )
    d = check_on(kb, matcher, ENV, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    log = next(f for f in by(d.findings, "app1", "mta", "log") if "mta.log" in f.summary)
    assert log.status == "unknown" and "log silent since 2023-11-14 20:10 UTC" in log.summary
    assert "no errors" not in log.summary and "log_silent" in log.conditions
    writer = by(d.findings, "app1", "syslogd", "log_writer")[0]
    assert writer.status == "fail" and "not_running" in writer.conditions and "lost" in writer.summary
    assert any(s.command == "nlserver start syslogd" and s.host == "app1" for s in d.next_steps)
    good = by(d.findings, "app2", "syslogd", "log_writer")[0]
    assert good.status == "ok" and "6666/udp" in good.summary
    # with syslogd running and listening, a silent log means the module logged nothing: said, not "no errors"
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{"log:var/prod/log/mta.log": old})), "app2": fake_host(healthy())}, ["mta"]
    )
    idle = next(f for f in by(res.findings, "app1", "mta", "log") if "mta.log" in f.summary)
    assert idle.status == "ok" and "log silent since 2023-11-14 20:10 UTC" in idle.summary
    assert "logged nothing" in idle.summary and "no errors" not in idle.summary
    # syslogd on the port TRACE_ADDR sets in customer.sh
    h2 = healthy(**{"env": "user neolane\ntrace_addr localhost:6667\n"})
    res, _ = run(kb, {"app1": fake_host(h2), "app2": fake_host(healthy())}, ["mta"])
    moved = by(res.findings, "app1", "syslogd", "log_writer")[0]
    assert moved.status == "fail" and "6667/udp" in moved.summary and "TRACE_ADDR" in moved.summary


def test_item5_rotation_and_continuation_in_evidence(kb: KnowledgeBase) -> None:
    prev = (
        "@@STAT 10485000 1700000000@@\ncut fragment\n"
        "2023-11-14T21:59:00.000Z\t1\t1\t1\terror\tlog\tPGS-220000 PostgreSQL error: ERROR:  duplicate key value "
        'violates unique constraint "nmsbroadlog_id" (iRc=-2006)\nDETAIL:  Key (ibroadlogid)=(6604001) already exists.\n'
    )
    cur = "@@STAT 90 1700000000@@\n2023-11-14T22:00:00.000Z\t1\t1\t1\tinfo\tlog\tStarting main MTA\n"
    h = healthy(**{"log:var/prod/log/mta_2.log": prev, "log:var/prod/log/mta.log": cur})
    res, transports = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    log = next(f for f in by(res.findings, "app1", "mta", "log") if "mta.log" in f.summary)
    assert log.status == "warn" and "mta_2.log" in log.summary and "PGS-220000" in log.summary
    assert log.evidence[0].endswith("| DETAIL: Key (ibroadlogid)=(6604001) already exists.")
    assert "cut fragment" not in " ".join(log.tail)
    assert "mta_2.log" in transports["app1"].scripts[0].text


def test_item6_xtk_var_dir_in_logs_disk_and_next_steps(kb: KnowledgeBase, matcher: Matcher) -> None:
    h = healthy(
        **{
            "env": "user neolane\nvar_dir /data/nl6var\nxtk_var_dir /data/nl6var\n",
            "log:var/prod/log/mta.log": (
                f"@@STAT 200 {NOW}@@\n2023-11-14T22:10:00.000Z\t1\t1\t1\terror\tlog\tPGS-220000 PostgreSQL error\n"
            ),
            "df": "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sdb1 100 95 5 95% /data",
        }
    )
    d = check_on(kb, matcher, ENV, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    log = next(f for f in by(d.findings, "app1", "mta", "log") if "mta.log" in f.summary)
    assert "/data/nl6var/prod/log/mta.log" in log.summary
    disk = next(f for f in d.findings if f.host == "app1" and f.check == "disk")
    assert disk.status == "fail" and "/data/nl6var (XTK_VAR_DIR)" in disk.summary
    var = next(f for f in d.findings if f.host == "app1" and f.check == "var_dir")
    assert var.evidence == ("/data/nl6var",)
    cmds = [s.command for s in d.next_steps if s.host == "app1" and s.command]
    assert "du -sh /data/nl6var/*" in cmds
    assert "tail -n 200 /data/nl6var/prod/log/mta.log /data/nl6var/prod/log/mtachild.log" in cmds
    assert not [f for f in d.findings if f.host == "app2" and f.check == "var_dir"]  # var not moved there


def test_item7_autostart_in_serverconf_only_and_instance_file_wins(kb: KnowledgeBase) -> None:
    only_server = healthy(
        **{
            "config": '### serverConf.xml\n<mta autoStart="true"/><stat autoStart="true"/>\n'
            '### config-default.xml\n<web autoStart="true"/><syslogd autoStart="true"/>\n### config-prod.xml\n\n',
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nsyslogd@default (2) - 7 MB\nstat@prod (4) - 1.5 MB",
        }
    )
    overridden = healthy(
        **{
            "config": '### serverConf.xml\n<mta autoStart="true"/>\n### config-prod.xml\n<mta autoStart="false"/>\n',
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nsyslogd@default (2) - 7 MB",
        }
    )
    res, _ = run(kb, {"app1": fake_host(only_server), "app2": fake_host(overridden)}, ["mta"])
    a1 = by(res.findings, "app1", "mta", "process")[0]
    assert a1.status == "fail" and "autoStart in serverConf.xml" in a1.summary
    a2 = by(res.findings, "app2", "mta", "process")[0]
    assert a2.status == "ok" and "not configured" in a2.summary


def test_item8_one_line_empty_pdump_and_missing_noise(kb: KnowledgeBase) -> None:
    one_line = f"{BANNER} No tasks"
    res, _ = run(
        kb,
        {
            "app1": fake_host(healthy(**{"nlserver-pdump": one_line, "ps": "zombies 0\n"})),
            "app2": fake_host(
                healthy(**{"nlserver-monitor-missing": f"{BANNER}\nKilled\nwfserver\n12:00:00 >   error: x"})
            ),
        },
        ["watchdog", "mta"],
    )
    f = by(res.findings, "app1", "watchdog", "process")[0]
    assert f.status == "fail" and "no_tasks" in f.conditions
    assert all(x.status != "fail" for x in res.findings if x.host == "app2" and x.check == "process")


def test_item9_memory_limits_from_the_configuration(kb: KnowledgeBase) -> None:
    conf = (
        '### serverConf.xml\n<mta maxMemoryMb="900"><child maxWorkingSetMb="100"/></mta>\n'
        '### config-prod.xml\n<mta autoStart="true"/><stat autoStart="true"/>\n'
    )
    ps = PS.replace("6 S neolane 600 40000 nlserver mtachild", "6 S neolane 600 120000 nlserver mtachild")
    h = healthy(
        **{
            "config": conf,
            "ps": ps,
            "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6 MB\nsyslogd@default (2) - 7 MB\nmta@prod (3) - 950 MB\nstat@prod (4) - 1.5 MB",
        }
    )
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta", "stat"])
    mem = by(res.findings, "app1", "mta", "memory")[0]
    assert mem.status == "warn" and "maxMemoryMb (900 MB, serverConf.xml)" in mem.summary
    child = by(res.findings, "app1", "mta", "mtachild")[0]
    assert (
        child.status == "warn" and "maxWorkingSetMb (100 MB" in child.summary and "mtachild_memory" in child.conditions
    )
    ok = by(res.findings, "app2", "mta", "mtachild")[0]
    assert ok.status == "ok" and "1 mtachild@prod" in ok.summary
    assert any("UNCONFIRMED" in e for e in ok.evidence)  # the 128/256 discrepancy is said
    assert by(res.findings, "app2", "mta", "memory")[0].summary.endswith("(maxMemoryMb 1024 MB)")
    # other modules keep Adobe's per-process warning and alert levels
    stat = by(res.findings, "app2", "stat", "memory")[0]
    assert stat.status == "ok" and stat.summary.endswith("(maxProcessMemoryWarningMb 1600 MB)")


def test_host_checks_cores_clock_tmp_system(kb: KnowledgeBase, matcher: Matcher) -> None:
    cores = (
        "1700000000 2097152 /usr/local/neolane/nl6/core.3120\ncount 1\n"
        "file ELF 64-bit LSB core file, x86-64, version 1 (SYSV), SVR4-style, from 'nlserver mta -tracefile:mta@prod'\n"
    )
    sick = healthy(
        **{
            "cores": cores,
            "devices": "2049 /tmp\n2050 /usr/local/neolane/nl6/var\n",
            "system": "SwapTotal: 1000 kB\nSwapFree: 50 kB\nloadavg 4.0 4.0 4.0\ncpus 4\nfile-nr 1000\t0\t100000\n"
            "shm-listed\nshm neolane\nshm neolane\n",
            "ps": PS.replace("zombies 0", "zombies 3"),
        }
    )
    base = fake_host(sick)

    def skewed(script):  # type: ignore[no-untyped-def]
        res = base(script)
        return dataclasses.replace(res, started_at=NOW - 5.0)  # the host's clock is 5 s ahead of the bot's

    ok = fake_host(healthy())

    def in_sync(script):  # type: ignore[no-untyped-def]
        return dataclasses.replace(ok(script), started_at=float(NOW))

    d = check_on(kb, matcher, ENV, {"app1": skewed, "app2": in_sync}, ["mta"])
    fs = [f for f in d.findings if f.host == "app1"]
    core = next(f for f in fs if f.check == "cores")
    assert core.status == "fail" and "nlserver mta -tracefile:mta@prod" in core.summary and "core.3120" in core.summary
    clock = next(f for f in fs if f.check == "clock")
    assert clock.status == "warn" and "app1" in clock.summary and "+5.0 s" in clock.summary
    tmp = next(f for f in fs if f.check == "tmp_device")
    assert tmp.status == "warn" and "errno=18" in tmp.summary
    system = {f.conditions[0]: f for f in fs if f.check == "system"}
    assert system["swap_high"].status == "fail"  # 95 % used: Adobe's alert
    # Adobe's alert level reached, said, and kept a warning (these do not stop Campaign by themselves)
    assert system["load_high"].status == "warn" and "100%" in system["load_high"].summary
    assert "Adobe's alert level" in system["load_high"].summary
    assert system["zombies"].status == "warn" and "Adobe's alert level" in system["zombies"].summary  # 3 (alert 2)
    assert system["shm_segments"].status == "warn" and "Adobe's alert level" in system["shm_segments"].summary
    assert [f.target for f in system.values()] == ["swap", "load", "zombie processes", "shared memory"]
    assert "files_high" not in system
    steps = [s for s in d.next_steps if s.host == "app1"]
    assert any("timedatectl" in (s.command or "") for s in steps)
    assert any("TMPDIR=/usr/local/neolane/nl6/var/tmp" in s.text for s in steps)
    assert any("gdb" in s.text for s in steps)
    assert [f.status for f in d.findings if f.host == "app2" and f.check in ("cores", "tmp_device", "system")] == [
        "ok",
        "ok",
        "ok",
    ]


def timed(outputs: dict[str, object], *, sent: float, round_trip_s: float):  # type: ignore[no-untyped-def]
    """A fake host whose script the bot sent at `sent` (its clock) and whose answer took `round_trip_s`."""
    base = fake_host(outputs)  # type: ignore[arg-type]

    def respond(script):  # type: ignore[no-untyped-def]
        return dataclasses.replace(base(script), started_at=sent, duration_ms=int(round_trip_s * 1000))

    return respond


def one_host_clock(kb: KnowledgeBase, responder: object) -> list[Finding]:
    transports = {"app1": FakeTransport(responder)}  # type: ignore[arg-type]
    one = Runner(lambda h: transports[h.name]).run(ENV, [kb.get("mta")], hosts=[ENV.host("app1")])
    return [f for f in one.findings if f.check == "clock"]


def test_clock_agreement_between_hosts(kb: KnowledgeBase) -> None:
    res, _ = run(kb, {"app1": fake_host(healthy()), "app2": fake_host(healthy())}, ["mta"])
    agree = [f for f in res.findings if f.check == "clock"]
    assert len(agree) == 1 and agree[0].host == "(all hosts)" and agree[0].status == "ok"


def test_one_host_clock_is_compared_with_the_bots_within_the_round_trip(kb: KnowledgeBase) -> None:
    # The host's clock (NOW) was read somewhere between the send and the whole answer (bot's clock).
    [ok] = one_host_clock(kb, timed(healthy(), sent=NOW - 0.05, round_trip_s=0.2))
    assert ok.status == "ok" and ok.host == "app1" and "bot's clock within 2 s" in ok.summary
    assert any("between -0.150 and +0.050 s" in e for e in ok.evidence)
    [ahead] = one_host_clock(kb, timed(healthy(), sent=NOW - 5.0, round_trip_s=0.3))
    assert ahead.status == "warn" and "clock_skew" in ahead.conditions
    assert "app1 is +5.0 s off the bot's clock (at least +4.7 s given the 0.3 s round trip" in ahead.summary
    assert any("between +4.700 and +5.000 s" in e for e in ahead.evidence)
    # behind: whatever the round trip, the host's time is before the send
    [behind] = one_host_clock(kb, timed(healthy(), sent=NOW + 4.0, round_trip_s=30.0))
    assert behind.status == "warn" and "-4.0 s off the bot's clock" in behind.summary


def test_one_host_clock_is_cannot_tell_when_the_round_trip_hides_the_skew(kb: KnowledgeBase) -> None:
    # in sync, but a 3 s answer: the offset is only known to lie within [-2.8, +0.2] s
    [slow] = one_host_clock(kb, timed(healthy(), sent=NOW - 0.2, round_trip_s=3.0))
    assert slow.status == "unknown" and "cannot_tell" in slow.conditions
    assert "between -2.8 and +0.2 s" in slow.summary and slow.needs and "another host" in slow.needs
    # 3 s ahead with a 2 s answer: somewhere in [+1, +3] s, across the threshold: never ok, never a guess
    [ahead] = one_host_clock(kb, timed(healthy(), sent=NOW - 3.0, round_trip_s=2.0))
    assert ahead.status == "unknown"
    # no readable clock, or no send time: cannot tell, with what is needed
    [blind] = one_host_clock(kb, timed(healthy(now="date: invalid"), sent=NOW, round_trip_s=0.1))
    assert blind.status == "unknown" and blind.needs and "`date`" in blind.needs
    [untimed] = one_host_clock(kb, fake_host(healthy()))
    assert untimed.status == "warn"  # FakeTransport stamps the send time now: a 2023 clock is far behind
    # a transport that gives no send time (FakeTransport stamps a zero itself, hence -1)
    [unstamped] = one_host_clock(kb, timed(healthy(), sent=-1.0, round_trip_s=0.1))
    assert unstamped.status == "unknown" and unstamped.needs and "started_at" in unstamped.needs


def test_a_host_whose_clock_cannot_be_read_is_said_beside_the_others(kb: KnowledgeBase) -> None:
    res, _ = run(
        kb,
        {
            "app1": timed(healthy(), sent=NOW - 0.05, round_trip_s=0.1),
            "app2": timed(healthy(now=""), sent=NOW, round_trip_s=0.1),
        },
        ["mta"],
    )
    clock = {f.host: f for f in res.findings if f.check == "clock"}
    assert clock["app2"].status == "unknown" and "gave no usable time" in clock["app2"].summary
    assert clock["app1"].status == "ok" and "bot's clock" in clock["app1"].summary  # the only one left to compare


def test_ip_affinities_shown_for_mail_not_sending(kb: KnowledgeBase, matcher: Matcher) -> None:
    conf = (
        '### serverConf.xml\n<mta><child><IPAffinity name="bulk"><IP address="192.0.2.10" heloHost="mta1.example.invalid" '
        'publicId="1"/><IP address="192.0.2.11" publicId="2"/></IPAffinity></child></mta>\n'
        '### config-prod.xml\n<mta autoStart="true"/><stat autoStart="true"/>\n'
    )
    other = conf.replace("192.0.2.11", "192.0.2.99")
    d = diagnose_on(
        kb,
        matcher,
        ENV,
        {"app1": fake_host(healthy(config=conf)), "app2": fake_host(healthy(config=other))},
        "mail not sending",
    )
    aff = by(d.findings, "app1", "mta", "ip_affinity")[0]
    assert aff.status == "ok" and "bulk (2 IPs, serverConf.xml)" in aff.summary
    assert "bulk [serverConf.xml]: 192.0.2.10 (heloHost mta1.example.invalid, publicId 1)" in aff.evidence
    mismatch = [f for f in d.findings if f.check == "affinity_consistency"]
    assert mismatch and mismatch[0].status == "warn" and "app1, app2" in mismatch[0].summary
    assert any(s.step_id == "affinities" for s in d.next_steps)


def test_scripts_stay_one_round_trip_with_the_new_checks(kb: KnowledgeBase) -> None:
    _, transports = run(kb, {"app1": fake_host(healthy()), "app2": fake_host(healthy())}, list(kb.names))
    for t in transports.values():
        assert len(t.scripts) == 1
        text = t.scripts[0].text
        for sid in ("env", "config", "ps", "cores", "devices", "system", "http:redir"):
            assert f":BEGIN:{sid}@@" in text
        assert text.splitlines()[0].startswith("CB_NOW=$(date")


# ------------------------------------------------------------------ issue 7, after its audit: the host's own settings


def _port(findings, module):  # type: ignore[no-untyped-def]
    return [f for f in findings if f.host == "app1" and f.module == module and f.check == "ports"]


def test_ports_are_the_ones_the_host_configures_not_only_the_defaults(kb: KnowledgeBase, matcher: Matcher) -> None:
    """tomcat_port (inventory) / <web httpPort>, TRACE_ADDR (customer.sh) and <stat port> move the ports
    (domain reference section 3.1: each is configurable); a healthy server on other ports is no failure."""
    moved = "udp UNCONN 0 0 127.0.0.1:16666 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:17777 0.0.0.0:*\ntcp LISTEN 0 1 0.0.0.0:9080 *:*"
    conf = (
        '### config-default.xml\n<web autoStart="true" httpPort="9080"/> <syslogd autoStart="true"/>\n'
        '### config-prod.xml\n<mta autoStart="true"/> <stat autoStart="true" port="17777"/>'
    )
    env = "user neolane\nvar_dir /usr/local/neolane/nl6/var\nxtk_var_dir \ntmpdir \ntrace_addr localhost:16666\n"
    h = healthy(ports=moved, config=conf, env=env)
    d = check_on(kb, matcher, ENV, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["web", "syslogd", "stat"])
    web, syslogd, stat = _port(d.findings, "web"), _port(d.findings, "syslogd"), _port(d.findings, "stat")
    assert [f.status for f in (*web, *syslogd, *stat)] == ["ok", "ok", "ok"], [f.summary for f in d.findings]
    assert "9080/tcp" in web[0].summary and 'httpPort="9080"' in web[0].summary
    assert "16666/udp" in syslogd[0].summary and "TRACE_ADDR=localhost:16666" in syslogd[0].summary
    assert "17777/udp" in stat[0].summary and "config-prod.xml" in stat[0].summary
    assert web[0].target == "port 8080/tcp"  # the alert keeps its identity when the port moves
    assert not [s for s in d.next_steps if s.command and "restart" in s.command and s.host == "app1"]
    # the inventory's tomcat_port counts too (the configuration may not say it)
    env2 = env_with(tomcat_port=9080)
    h2 = healthy(ports=moved.replace("16666", "6666").replace("17777", "7777"))
    res, _ = run_on(kb, env2, {"app1": fake_host(h2), "app2": fake_host(healthy())}, ["web"])
    assert _port(res.findings, "web")[0].status == "ok" and "tomcat_port 9080" in _port(res.findings, "web")[0].summary


def test_a_port_moved_elsewhere_is_checked_where_it_moved(kb: KnowledgeBase, matcher: Matcher) -> None:
    """syslogd on 6666 while TRACE_ADDR says 16666 is not listening where the modules send; the default
    port open does not make it ok."""
    env = "user neolane\nvar_dir /usr/local/neolane/nl6/var\nxtk_var_dir \ntmpdir \ntrace_addr localhost:16666\n"
    conf = healthy()["config"].replace('<stat autoStart="true"/>', '<stat autoStart="true" port="17777"/>')  # type: ignore[union-attr]
    res, _ = run(
        kb, {"app1": fake_host(healthy(env=env, config=conf)), "app2": fake_host(healthy())}, ["syslogd", "stat"]
    )
    sys_f, stat_f = _port(res.findings, "syslogd")[0], _port(res.findings, "stat")[0]
    assert sys_f.status == "fail" and "16666/udp" in sys_f.summary and "TRACE_ADDR" in sys_f.summary
    assert stat_f.status == "fail" and "17777/udp" in stat_f.summary and "config-prod.xml" in stat_f.summary
    assert "port_closed" in sys_f.conditions
    # an inventory tomcat_port and an httpPort that disagree: either one listening is web listening; the
    # inventory's port closed while the host's own is open is the inventory's mistake (a warning, no restart)
    env2 = env_with(tomcat_port=9090)
    conf2 = healthy()["config"].replace('<web autoStart="true"/>', '<web autoStart="true" httpPort="9080"/>')  # type: ignore[union-attr]
    h = healthy(config=conf2, ports="tcp LISTEN 0 1 0.0.0.0:9080 *:*\nudp UNCONN 0 0 127.0.0.1:6666 *:*")
    d = check_on(kb, matcher, env2, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["web"])
    w = _port(d.findings, "web")[0]
    assert w.status == "warn" and "web listens on 9080/tcp" in w.summary and "tomcat_port 9090" in w.summary
    assert not w.conditions and not [s for s in d.next_steps if s.command == "nlserver restart web"]
    assert any("9090/tcp: tomcat_port 9090 in the inventory" in e for e in w.evidence)
    h4 = healthy(config=conf2, ports="tcp LISTEN 0 1 0.0.0.0:9090 *:*")
    w4 = _port(run_on(kb, env2, {"app1": fake_host(h4), "app2": fake_host(healthy())}, ["web"])[0].findings, "web")[0]
    assert w4.status == "ok" and "tomcat_port 9090 in the inventory" in w4.summary
    h3 = healthy(config=conf2, ports="tcp LISTEN 0 1 0.0.0.0:8080 *:*")
    w3 = _port(run_on(kb, env2, {"app1": fake_host(h3), "app2": fake_host(healthy())}, ["web"])[0].findings, "web")[0]
    assert w3.status == "fail" and "9090/tcp or 9080/tcp" in w3.summary


TRACKING = {
    "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6 MB\nsyslogd@default (2) - 7 MB\ntrackinglogd@default (7) - 45 MB\n"
    "web@default (5) - 50 MB",
    "config": '### config-default.xml\n<trackinglogd autoStart="true"/><syslogd autoStart="true"/><web autoStart="true"/>',
}


def test_a_section_the_host_did_not_finish_is_cannot_tell_never_read_as_complete(kb: KnowledgeBase) -> None:
    """A listing cut by the deadline (a redir/log folder of 20,000 files) says nothing about the folder:
    "cannot tell", with what is needed; the sections before it still count."""
    h = healthy(**TRACKING, **{"redir:prod": "1700000000 1 0x0000000000000001.log\n"})
    res, _ = run(kb, {"app1": fake_host(h, stop_after="redir:prod"), "app2": fake_host(healthy())}, ["trackinglogd"])
    mine = [f for f in res.findings if f.host == "app1"]
    run_error = [f for f in mine if f.check == "run"]
    assert run_error and run_error[0].status == "error" and "redir" in run_error[0].summary
    tl = [f for f in mine if f.check == "tracking_logs"]
    assert len(tl) == 1 and tl[0].status == "unknown" and "did not finish" in tl[0].summary
    assert "no tracking log files" not in tl[0].summary and tl[0].needs and "command_timeout_s" in tl[0].needs
    assert next(f for f in mine if f.check == "process").status == "ok"  # read before the deadline: still told
    later = [f for f in mine if f.check in ("cores", "system", "disk", "redir_test")]
    assert later and all(f.status == "unknown" and "did not finish" in f.summary for f in later)
    assert all(f.module == "web" for f in mine if f.check == "redir_test")
    # a log the host did not finish: that log only
    h2 = healthy(**{"log:var/prod/log/mta.log": "2023-11-14T22:10:00.000Z\t1\t1\t1\terror\tlog\tPGS-2"})
    res2, _ = run(
        kb, {"app1": fake_host(h2, stop_after="log:var/prod/log/mta.log"), "app2": fake_host(healthy())}, ["mta"]
    )
    log = [f for f in res2.findings if f.host == "app1" and f.check == "log"]
    assert log and log[0].status == "unknown" and log[0].target == "var/prod/log/mta.log"
    assert "error entr" not in log[0].summary


def test_tracking_logs_only_on_hosts_set_up_to_write_them(kb: KnowledgeBase) -> None:
    """An empty (or old) redir/log folder on a host where trackinglogd neither runs nor is enabled is not a
    tracking-server problem; on a tracking server it is a warning, labelled a heuristic."""
    empty = {"redir:prod": "count 0\n"}
    res, _ = run(kb, {"app1": fake_host(healthy(**empty)), "app2": fake_host(healthy())}, ["tracking"])
    assert not [f for f in res.findings if f.check == "tracking_logs" and f.status != "ok"]
    res, _ = run(kb, {"app1": fake_host(healthy(**TRACKING, **empty)), "app2": fake_host(healthy())}, ["tracking"])
    f = next(x for x in res.findings if x.host == "app1" and x.check == "tracking_logs")
    assert f.status == "warn" and "no tracking log files" in f.summary and "heuristic" in f.summary
    old = {"redir:prod": f"{NOW - 600 * 60} 1 0x0000000000000001.log\ncount 1\n"}
    res, _ = run(kb, {"app1": fake_host(healthy(**TRACKING, **old)), "app2": fake_host(healthy())}, ["trackinglogd"])
    f = next(x for x in res.findings if x.host == "app1" and x.check == "tracking_logs")
    assert f.status == "warn" and "600 min old" in f.summary and "heuristic" in f.summary
    # files counted, but no host tool could date them: cannot tell, never "no files"
    undated = {"redir:prod": "count 20000\n"}
    res, _ = run(kb, {"app1": fake_host(healthy(**TRACKING, **undated)), "app2": fake_host(healthy())}, ["tracking"])
    f = next(x for x in res.findings if x.host == "app1" and x.check == "tracking_logs")
    assert f.status == "unknown" and "20000 file(s)" in f.summary and f.needs
    # trackinglogd's configuration unreadable and not running: an empty folder is "cannot tell"
    unreadable = healthy(**empty, config="### config-default.xml UNREADABLE\n### serverConf.xml UNREADABLE")
    res, _ = run(kb, {"app1": fake_host(unreadable), "app2": fake_host(healthy())}, ["tracking"])
    f = next(x for x in res.findings if x.host == "app1" and x.check == "tracking_logs")
    assert f.status == "unknown" and f.needs and "serverConf.xml" in f.needs


def test_no_tasks_fails_only_the_modules_meant_to_run_here(kb: KnowledgeBase, matcher: Matcher) -> None:
    """Nothing runs ("No tasks", ps empty): watchdog and the modules with autoStart are down; a module not
    enabled on the host is "not configured", and gets no `nlserver start`."""
    h = healthy(**{"nlserver-pdump": f"{BANNER}\nNo tasks", "ps": "zombies 0\n"})
    d = check_on(kb, matcher, ENV, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["watchdog", "mta", "inMail"])
    wd, mta, inmail = (by(d.findings, "app1", m, "process")[0] for m in ("watchdog", "mta", "inMail"))
    assert wd.status == "fail" and "no_tasks" in wd.conditions
    assert mta.status == "fail" and "No tasks" in mta.summary and "config-prod.xml" in mta.summary
    assert inmail.status == "ok" and "not configured" in inmail.summary and inmail.conditions == ("not_configured",)
    cmds = [s.command or "" for s in d.next_steps if s.host == "app1"]
    assert not [c for c in cmds if "inMail" in c and "start" in c]
    assert any("watchdog -svc" in c for c in cmds)
    # the inventory's modules decide instead of autoStart
    env = env_with(modules=["watchdog", "inMail"])
    res, _ = run_on(kb, env, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta", "inMail"])
    assert by(res.findings, "app1", "mta", "process")[0].status == "ok"  # not in this host's modules
    im = by(res.findings, "app1", "inMail", "process")[0]
    assert im.status == "fail" and "inventory" in im.summary


def test_log_silence_is_cannot_tell_when_pdump_cannot_see(kb: KnowledgeBase) -> None:
    """The process check says "cannot tell (wrong user)": the log check does not say the module does not run."""
    old = f"@@STAT 300 {NOW - 7200}@@\n2023-11-14T20:10:00.000Z\t1\t1\t1\tinfo\tlog\tMessage sent\n"
    h = healthy(
        **{
            "nlserver-pdump": f"{BANNER}\nNo tasks",
            "env": "user cbot\nvar_dir /usr/local/neolane/nl6/var\n",
            "ps": OTHER_USER_PS,
            "log:var/prod/log/mta.log": old,
        }
    )
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    log = next(f for f in res.findings if f.host == "app1" and f.check == "log" and f.target == "var/prod/log/mta.log")
    assert (
        log.status == "unknown" and "does not run" not in log.summary and "cannot tell whether mta@prod" in log.summary
    )
    assert log.needs and "neolane" in log.needs
    # nothing runs at all (ps agrees): the silence of a module that does not run is no news
    h2 = healthy(**{"nlserver-pdump": f"{BANNER}\nNo tasks", "ps": "zombies 0\n", "log:var/prod/log/mta.log": old})
    res2, _ = run(kb, {"app1": fake_host(h2), "app2": fake_host(healthy())}, ["mta"])
    log2 = next(f for f in res2.findings if f.host == "app1" and f.check == "log" and "mta.log" in f.summary)
    assert log2.status == "ok" and "does not run" in log2.summary


def test_wrong_user_counts_module_processes_only_and_names_each_owner(kb: KnowledgeBase) -> None:
    home = "/usr/local/neolane/nl6"
    passing = (
        f"900 S neolane 2 3000 nlserver pdump -who\t{home}/bin/nlserver\t{home}\n"
        "901 S neolane 1 3000 nlserver monitor -missing\t-\t-\n"
        "902 S ops 1 3000 /usr/local/neolane/nl6/bin/nlserver stop mta@prod\t-\t-\n"
        "zombies 0\n"
    )
    h = healthy(**{"nlserver-pdump": f"{BANNER}\nNo tasks", "ps": passing})
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["watchdog"])
    wd = by(res.findings, "app1", "watchdog", "process")[0]
    assert wd.status == "fail" and "wrong_user" not in wd.conditions  # passing commands are no running Campaign
    assert "only passing commands" in wd.summary and "pdump" in wd.summary
    mixed = (
        "1 Ss neolane 3600 6000 nlserver watchdog -svc -noconsole\t-\t-\n"
        "2 Sl neolane 3600 7000 nlserver syslogd -tracefile:syslogd@default -instance:default -detach\t-\t-\n"
        "3 Sl neolane 3600 7000 nlserver mta -tracefile:mta@prod -instance:prod -detach\t-\t-\n"
        "6 S neolane 600 40000 nlservermtachild -tracefile:mtachild@prod -instance:prod -detach\t-\t-\n"
        f"7 S cbot 600 40000 nlserver web -tracefile:web@default -instance:default -detach\t{home}/bin/nlserver\t{home}\n"
        f"8 S cbot 1 3000 nlserver pdump\t{home}/bin/nlserver\t{home}\n"
        "zombies 0\n"
    )
    env = "user cbot\nvar_dir /usr/local/neolane/nl6/var\n"
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{**h, "ps": mixed, "env": env})), "app2": fake_host(healthy())}, ["watchdog"]
    )
    wd = by(res.findings, "app1", "watchdog", "process")[0]
    assert wd.status == "unknown" and "wrong_user" in wd.conditions
    assert "5 nlserver module process(es) of users neolane (4), cbot (1, the bot)" in wd.summary
    assert wd.needs and "(neolane)" in wd.needs
    # the bot's own user, from nl_home itself (binary and working folder): never "from X, not from nl_home X"
    own = f"1 Ss cbot 3600 6000 nlserver watchdog -svc\t{home}/bin/nlserver\t{home}\nzombies 0\n"
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{**h, "ps": own, "env": env})), "app2": fake_host(healthy())}, ["watchdog"]
    )
    wd = by(res.findings, "app1", "watchdog", "process")[0]
    assert wd.status == "unknown" and "not from nl_home" not in wd.summary and "Campaign environment" in wd.summary
    # nl_home is a symbolic link: the processes' resolved paths are nl_home's
    real = "/opt/neolane/nl6"
    linked = f"1 Ss cbot 3600 6000 nlserver watchdog -svc\t{real}/bin/nlserver\t{real}\nzombies 0\n"
    env_l = env + f"nl_home_real {real}\n"
    res, _ = run(
        kb,
        {"app1": fake_host(healthy(**{**h, "ps": linked, "env": env_l})), "app2": fake_host(healthy())},
        ["watchdog"],
    )
    wd = by(res.findings, "app1", "watchdog", "process")[0]
    assert "NL_HOME" not in wd.summary and real not in (wd.needs or "")
    # ... and one of another root is named as such
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{**h, "ps": linked, "env": env})), "app2": fake_host(healthy())}, ["watchdog"]
    )
    wd = by(res.findings, "app1", "watchdog", "process")[0]
    assert f"running from {real}, not from nl_home {home}" in wd.summary and wd.needs and real in wd.needs


def test_an_environment_file_that_cannot_be_sourced_is_said_and_what_it_sets_is_unknown(
    kb: KnowledgeBase, matcher: Matcher
) -> None:
    err = "source_error customer.sh: /bin/sh: 3: /usr/local/neolane/nl6/customer.sh: Bad substitution\n"
    base_env = "user neolane\nvar_dir /usr/local/neolane/nl6/var\nxtk_var_dir \ntmpdir \ntrace_addr \n"
    closed = "tcp LISTEN 0 1 0.0.0.0:8080 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:7777 0.0.0.0:*"
    h = healthy(env=base_env + "shell sh\n" + err, ports=closed)
    d = check_on(kb, matcher, ENV, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["syslogd", "mta"])
    env_f = [f for f in d.findings if f.host == "app1" and f.check == "campaign_env"]
    assert len(env_f) == 1 and env_f[0].status == "unknown"
    assert env_f[0].summary.startswith("customer.sh could not be sourced: /bin/sh: 3:") and "Bad substitution" in (
        env_f[0].summary
    )
    assert env_f[0].needs and "bash" in env_f[0].needs
    # syslogd's port may be moved by TRACE_ADDR in that file: 6666 closed is "cannot tell", not a failure
    sp = by(d.findings, "app1", "syslogd", "ports")[0]
    assert sp.status == "unknown" and "customer.sh could not be sourced" in sp.summary
    # the rest of the host is still checked
    assert by(d.findings, "app1", "mta", "process")[0].status == "ok"
    assert [f for f in d.findings if f.host == "app1" and f.check in ("disk", "cores", "system")]
    # under bash (as Campaign's scripts) the error is the file's own: a warning
    h2 = healthy(env=base_env + "shell bash\n" + err.replace("/bin/sh: 3:", "line 3:"))
    res, _ = run(kb, {"app1": fake_host(h2), "app2": fake_host(healthy())}, ["mta"])
    f2 = next(f for f in res.findings if f.host == "app1" and f.check == "campaign_env")
    assert f2.status == "warn" and "under bash" in f2.summary
    assert not [f for f in res.findings if f.host == "app2" and f.check == "campaign_env"]


LOADER = (
    "/usr/local/neolane/nl6/bin/nlserver: error while loading shared libraries: libnlxtk.so: cannot open shared "
    "object file: No such file or directory"
)


def test_nlserver_without_its_libraries_is_the_environment_and_the_host_is_still_checked(kb: KnowledgeBase) -> None:
    """Exit 127 from the loader: nlserver exists, LD_LIBRARY_PATH (env.sh, customer.sh) is missing. The
    modules cannot be told; ps, cores, disk, system and the clock still are."""
    cores = "1700000000 2097152 /usr/local/neolane/nl6/core.3120\ncount 1\nfile ELF 64-bit LSB core file, from 'nlserver mta'\n"
    h = healthy(**{"nlserver-pdump": (LOADER, 127), "nlserver-monitor-missing": (LOADER, 127), "cores": cores})
    base = fake_host(h)

    def skewed(script):  # type: ignore[no-untyped-def]
        return dataclasses.replace(base(script), started_at=NOW - 5.0)  # 5 s ahead of the bot and of app2

    ok = fake_host(healthy())

    def in_sync(script):  # type: ignore[no-untyped-def]
        return dataclasses.replace(ok(script), started_at=float(NOW))

    res, _ = run(kb, {"app1": skewed, "app2": in_sync}, ["mta", "syslogd"])
    mine = [f for f in res.findings if f.host == "app1"]
    pd = next(f for f in mine if f.check == "pdump")
    assert pd.status == "error" and "not found: is nl_home right" not in pd.summary
    assert "libnlxtk.so" in pd.summary and "LD_LIBRARY_PATH" in pd.summary and pd.needs and "env.sh" in pd.needs
    checks = {f.check: f for f in mine}
    assert {"cores", "disk", "system", "clock"} <= set(checks), sorted(checks)
    assert checks["cores"].status == "fail" and checks["clock"].status == "warn"
    assert not [f for f in mine if f.module is not None and f.check != "mtachild"]  # ps tells mtachild; pdump the rest
    # a real "not found" stays one
    h2 = healthy(**{"nlserver-pdump": ("sh: 1: /usr/local/neolane/nl6/bin/nlserver: not found", 127)})
    res2, _ = run(kb, {"app1": fake_host(h2), "app2": fake_host(healthy())}, ["mta"])
    assert "is nl_home right?" in next(f for f in res2.findings if f.host == "app1" and f.check == "pdump").summary


def test_an_unreadable_core_is_a_core_whose_binary_cannot_be_told(kb: KnowledgeBase, matcher: Matcher) -> None:
    """`file` says "regular file, no read permission" for a core the bot's user cannot read (a core of
    another user's process, mode 600): it is a core file all the same, only what crashed is unknown."""
    cores = "1700000000 2097152 /var/nl6/prod/core.4242\ncount 1\nfile regular file, no read permission\n"
    d = check_on(kb, matcher, ENV, {"app1": fake_host(healthy(cores=cores)), "app2": fake_host(healthy())}, ["mta"])
    core = next(f for f in d.findings if f.host == "app1" and f.check == "cores")
    assert core.status == "fail" and "core_file" in core.conditions and "not a core dump" not in core.summary
    assert "cannot tell" in core.summary and "read permission" in core.summary
    assert any("gdb" in (s.command or "") and "/var/nl6/prod/core.4242" in (s.command or "") for s in d.next_steps)
    not_core = "1700000000 20 /usr/local/neolane/nl6/core\ncount 1\nfile ASCII text\n"
    res, _ = run(kb, {"app1": fake_host(healthy(cores=not_core)), "app2": fake_host(healthy())}, ["mta"])
    assert next(f for f in res.findings if f.host == "app1" and f.check == "cores").status == "ok"


def _system(kb: KnowledgeBase, system: str, zombies: int = 0, **over: object) -> dict[str, Finding]:
    h = healthy(system=system, ps=PS.replace("zombies 0", f"zombies {zombies}"), **over)
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    return {f.target or "all": f for f in res.findings if f.host == "app1" and f.check == "system"}


SYS_OK = "SwapTotal: 1000 kB\nSwapFree: 900 kB\nloadavg 0.10 0.20 0.30\ncpus 4\nfile-nr 1000\t0\t100000\nshm-listed\n"


def test_system_indicators_follow_adobes_warning_and_alert(kb: KnowledgeBase) -> None:
    """Swap and file handles: Adobe's warning is warn, its alert fail (as the disk check); load, zombies and
    shared memory say which of Adobe's levels they reached and stay warn; each finding names the indicator and
    its thresholds (CC:production/using/monitoring-processes.md#system-indicators)."""
    assert set(_system(kb, SYS_OK)) == {"all"} and _system(kb, SYS_OK)["all"].status == "ok"
    cases = [
        ("swap", SYS_OK.replace("SwapFree: 900", "SwapFree: 150"), 0, "warn", "80%"),  # 85 % used
        ("swap", SYS_OK.replace("SwapFree: 900", "SwapFree: 50"), 0, "fail", "90%"),
        ("file handles", SYS_OK.replace("file-nr 1000", "file-nr 85000"), 0, "warn", "80%"),
        ("file handles", SYS_OK.replace("file-nr 1000", "file-nr 95000"), 0, "fail", "90%"),
        # each of the 1, 5 and 15 minute averages counts, against the CPU count
        ("load", SYS_OK.replace("loadavg 0.10 0.20 0.30", "loadavg 3.40 0.20 0.30"), 0, "warn", "warning level"),
        ("load", SYS_OK.replace("loadavg 0.10 0.20 0.30", "loadavg 0.10 3.70 0.30"), 0, "warn", "alert level"),
        ("load", SYS_OK.replace("loadavg 0.10 0.20 0.30", "loadavg 0.10 0.20 3.60"), 0, "warn", "90%"),
        ("zombie processes", SYS_OK, 1, "warn", "warning level"),
        ("zombie processes", SYS_OK, 2, "warn", "alert level"),
        ("shared memory", SYS_OK + "shm neolane\n", 0, "warn", "warning level"),
        ("shared memory", SYS_OK + "shm neolane\nshm neolane\nshm other\n", 0, "warn", "alert level"),
    ]
    for target, text, zombies, status, said in cases:
        got = _system(kb, text, zombies)
        assert set(got) == {target}, (target, status, got)
        f = got[target]
        assert f.status == status and said in f.summary and "Adobe's" in f.summary, (target, status, f.summary)
    # shared memory is trackinglogd's way of working: said on a tracking server
    tracking = {
        "nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6 MB\ntrackinglogd@default (7) - 45 MB\nmta@prod (3) - 23 MB",
    }
    f = _system(kb, SYS_OK + "shm neolane\nshm neolane\n", **tracking)["shared memory"]
    assert f.status == "warn" and "trackinglogd" in f.summary


def test_a_log_just_rotated_is_read_from_its_rotated_file(kb: KnowledgeBase) -> None:
    """syslogd moved mta.log to mta_2.log and has not written a new mta.log yet: the window is in mta_2.log."""
    rotated = (
        f"@@STAT 400 {NOW - 300}@@\n"
        "2023-11-14T22:05:00.000Z\t1\t1\t1\terror\tlog\tPGS-220000 PostgreSQL error: duplicate key (iRc=-2006)\n"
        "DETAIL:  Key (ibroadlogid)=(6604001) already exists.\n"
    )
    missing = ("stat: cannot statx '/usr/local/neolane/nl6/var/prod/log/mta.log': No such file or directory", 1)
    h = healthy(**{"log:var/prod/log/mta.log": missing, "log:var/prod/log/mta_2.log": rotated})
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    log = next(f for f in res.findings if f.host == "app1" and f.check == "log" and f.target == "var/prod/log/mta.log")
    assert log.status == "warn" and "PGS-220000" in log.summary and "mta_2.log" in log.summary
    assert "mta.log does not exist" in log.summary
    assert any(e.endswith("| DETAIL: Key (ibroadlogid)=(6604001) already exists.") for e in log.evidence)
    # neither file: cannot read, as before
    h2 = healthy(**{"log:var/prod/log/mta.log": missing, "log:var/prod/log/mta_2.log": ""})
    res2, _ = run(kb, {"app1": fake_host(h2), "app2": fake_host(healthy())}, ["mta"])
    log2 = next(
        f for f in res2.findings if f.host == "app1" and f.check == "log" and f.target == "var/prod/log/mta.log"
    )
    assert log2.status == "unknown" and "does not exist" in log2.summary
    # only an old line in mta_2.log: silent since then, told from mta_2.log
    old = f"@@STAT 100 {NOW - 7200}@@\n2023-11-14T20:10:00.000Z\t1\t1\t1\tinfo\tlog\tMessage sent\n"
    h3 = healthy(**{"log:var/prod/log/mta.log": missing, "log:var/prod/log/mta_2.log": old})
    res3, _ = run(kb, {"app1": fake_host(h3), "app2": fake_host(healthy())}, ["mta"])
    log3 = next(
        f for f in res3.findings if f.host == "app1" and f.check == "log" and f.target == "var/prod/log/mta.log"
    )
    assert "log silent since 2023-11-14 20:10" in log3.summary and "mta_2.log" in log3.summary


def test_r_test_redirected_to_another_host_is_not_the_fronts_failure(kb: KnowledgeBase, matcher: Matcher) -> None:
    env = env_with(front_url="http://track.example.invalid")
    ok_body = "<redir status='OK' date='2025-05-14 10:00:00.112Z' build='9379' host='track' localHost='app1'/>"
    cases = {
        # another host answers 404: where it went, a warning, no Apache restart
        "elsewhere-404": ("<html>404</html>\n@@HTTP 404 1 http://lb.example.invalid/r/test@@\n", "warn"),
        # the redirection module answers at the end of the redirects: ok, wherever that is
        "slash": (f"{ok_body}\n@@HTTP 200 1 http://track.example.invalid/r/test/@@\n", "ok"),
        "prefix": (f"{ok_body}\n@@HTTP 200 1 https://track.example.invalid/tracking/r/test@@\n", "ok"),
        "other-host-ok": (f"{ok_body}\n@@HTTP 200 2 https://t2.example.invalid/r/test@@\n", "ok"),
        # the front itself (same host, over HTTPS) without it: the failure
        "front-404": ("<html>404</html>\n@@HTTP 404 1 https://track.example.invalid/r/test/@@\n", "fail"),
    }
    for name, (text, status) in cases.items():
        h = healthy(**{"http:redir": text})
        d = check_on(kb, matcher, env, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["web"])
        f = by(d.findings, "app1", "web", "redir_test")
        assert len(f) == 1 and f[0].status == status, (name, f)
        steps = [s for s in d.next_steps if s.host == "app1"]
        if status == "warn":
            assert "http://lb.example.invalid/r/test" in f[0].summary and "another host" in f[0].summary
            assert f[0].conditions == ("front_redirect",)
            assert not [s for s in steps if s.risk.value == "changes-state" and "pache" in s.text]
            assert not [s for s in steps if s.command == "nlserver restart web"]


def test_ping_jsp_refused_says_nothing_listens_not_that_a_token_is_needed(kb: KnowledgeBase, matcher: Matcher) -> None:
    refused = (
        "curl: (7) Failed to connect to localhost port 8080 after 0 ms: Couldn't connect to server\n\n"
        "@@HTTP 000 0 http://localhost:8080/nl/jsp/ping.jsp@@\n",
        7,
    )
    conf = healthy()["config"].replace('<web autoStart="true"/>', '<web autoStart="true" httpPort="9080"/>')  # type: ignore[union-attr]
    ports = "udp UNCONN 0 0 127.0.0.1:6666 0.0.0.0:*\ntcp LISTEN 0 1 0.0.0.0:9080 0.0.0.0:*"  # Tomcat is on 9080
    h = healthy(**{"http:ping": refused, "config": conf, "ports": ports})
    d = check_on(kb, matcher, ENV, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["web"])
    ping = by(d.findings, "app1", "web", "ping_jsp")[0]
    assert ping.status == "unknown" and "nothing listens on localhost:8080" in ping.summary
    assert "tomcat_port" in ping.summary and "httpPort 9080" in ping.summary
    assert ping.needs and "tomcat_port" in ping.needs and "session token" not in ping.needs
    assert not [s for s in d.next_steps if s.command == "nlserver restart web"]


def test_pdump_memory_figures_in_every_notation_and_unreadable_lines() -> None:
    """`1,024.5 MB` (thousands), `50,1 Mo` (French decimal comma), `1.024,5 Mo`: read; a figure that is no
    number is kept aside, never an exception."""
    from bot.probes import parsers as pp

    d = pp.parse_pdump(
        f"{BANNER}\nmta@prod (1) - 1,024.5 MB\nweb@default (2) - 50,1 Mo\nstat@prod (3) - 1.024,5 Mo\n"
        "wfserver@prod (4) - 1,024 MB\ninMail@prod (5) - 1.2.3 MB\n"
    )
    assert [(x.name, x.memory_mb) for x in d.processes] == [
        ("mta@prod", 1024.5),
        ("web@default", 50.1),
        ("stat@prod", 1024.5),
        ("wfserver@prod", 1024.0),
    ]
    assert d.unread == ("inMail@prod (5) - 1.2.3 MB",) and d.unread_line("inmail@prod") is not None
    assert not d.no_tasks and d.recognised


def test_a_pdump_line_that_cannot_be_read_is_cannot_tell(kb: KnowledgeBase) -> None:
    h = healthy(
        **{"nlserver-pdump": f"{BANNER}\nwatchdog (1) - 6.6 MB\nmta@prod (3) - 1.2.3 MB\nstat@prod (4) - 1.5 MB"}
    )
    res, _ = run(kb, {"app1": fake_host(h), "app2": fake_host(healthy())}, ["mta"])
    f = by(res.findings, "app1", "mta", "process")[0]
    assert f.status == "unknown" and "could not be read" in f.summary and "mta@prod (3) - 1.2.3 MB" in f.evidence


def test_a_pdump_line_in_another_memory_shape_is_never_a_process_down(kb: KnowledgeBase) -> None:
    """`23.0 MiB`, `23552 kB` or no dash: the line still lists the process. Neither the process check nor
    the log writer may say it does not run (both were `fail`, with a restart step, on a healthy host)."""
    from bot.probes import parsers as pp

    shapes = (
        f"{BANNER}\nwatchdog (1) - 6.6 MiB\nsyslogd@default (2) 7.0 MB\nmta@prod (3) - 23552 kB\nstat@prod (4) - 1.5 MB"
    )
    d = pp.parse_pdump(shapes)
    assert [x.name for x in d.processes] == ["stat@prod"] and len(d.unread) == 3 and not d.no_tasks
    res, _ = run(kb, {"app1": fake_host(healthy(**{"nlserver-pdump": shapes})), "app2": fake_host(healthy())}, ["mta"])
    app1 = [f for f in res.findings if f.host == "app1"]
    assert not [f for f in app1 if f.status == "fail"], [f.summary for f in app1 if f.status == "fail"]
    assert by(res.findings, "app1", "mta", "process")[0].status == "unknown"
    writer = by(res.findings, "app1", "syslogd", "log_writer")[0]
    assert writer.status == "unknown" and "could not be read" in writer.summary and writer.needs


def test_a_ps_that_failed_is_no_evidence(kb: KnowledgeBase) -> None:
    """`NO-PS` (BusyBox ps, or one that refused the options): the No tasks finding does not claim ps saw
    nothing, the mtachild check cannot tell, and the system indicators do not say zombies were read."""
    no_ps = "NO-PS ps failed (exit 1)\n"
    res, _ = run(
        kb,
        {
            "app1": fake_host(healthy(**{"nlserver-pdump": f"{BANNER}\nNo tasks", "ps": no_ps})),
            "app2": fake_host(healthy()),
        },
        ["mta"],
    )
    proc = by(res.findings, "app1", "mta", "process")[0]
    assert proc.status == "fail" and "ps could not confirm it" in proc.summary
    child = by(res.findings, "app1", "mta", "mtachild")[0]
    assert child.status == "unknown" and child.needs and "ps" in child.needs
    system = next(f for f in res.findings if f.host == "app1" and f.check == "system")
    assert system.status == "ok" and "not read on this host: zombie processes" in system.summary
    res, _ = run(kb, {"app1": fake_host(healthy(ps=no_ps)), "app2": fake_host(healthy())}, ["mta"])
    age = by(res.findings, "app1", "mta", "age")[0]
    assert age.status == "unknown" and "ps gave no usable answer" in age.summary


def test_a_log_whose_lines_the_bot_cannot_date_is_not_silent(kb: KnowledgeBase) -> None:
    """Lines in a timestamp shape the bot does not read, or written in the window while the newest dated
    line is older (local time without a zone read as UTC): "cannot tell", never "silent, logged nothing"."""
    undated = f"@@STAT 200 {NOW - 100}@@\n14/11/2023 22:11:00 error PGS-220000 PostgreSQL error\n"
    # written 100 s ago, in local time five hours behind UTC, without a zone
    local = f"@@STAT 200 {NOW - 100}@@\n2023-11-14 17:11:40.000\t1\t1\t1\terror\tlog\tPGS-220000 PostgreSQL error\n"
    for text, said in ((undated, "none of its lines has a timestamp"), (local, "newest dated line is of")):
        res, _ = run(
            kb,
            {"app1": fake_host(healthy(**{"log:var/prod/log/mta.log": text})), "app2": fake_host(healthy())},
            ["mta"],
        )
        f = next(f for f in by(res.findings, "app1", "mta", "log") if f.target == "var/prod/log/mta.log")
        assert f.status == "unknown" and said in f.summary and "cannot_tell" in f.conditions, f.summary
    # an hour-only zone (ISO 8601 `-07`) and a comma before the fraction are read
    iso = f"@@STAT 200 {NOW - 100}@@\n2023-11-14 15:11:40,000-07\t1\t1\t1\terror\tlog\tPGS-220000 PostgreSQL error\n"
    res, _ = run(
        kb, {"app1": fake_host(healthy(**{"log:var/prod/log/mta.log": iso})), "app2": fake_host(healthy())}, ["mta"]
    )
    f = next(f for f in by(res.findings, "app1", "mta", "log") if f.target == "var/prod/log/mta.log")
    assert f.status == "warn" and "PGS-220000" in f.summary


def test_no_core_found_in_a_folder_the_bot_may_not_read_is_cannot_tell(kb: KnowledgeBase) -> None:
    hidden = "unreadable /data/nl6/var\ncount 0\n"
    res, _ = run(kb, {"app1": fake_host(healthy(cores=hidden)), "app2": fake_host(healthy())}, ["mta"])
    f = next(f for f in res.findings if f.host == "app1" and f.check == "cores")
    assert f.status == "unknown" and "/data/nl6/var" in f.summary and f.needs and "/data/nl6/var" in f.needs
    found = "unreadable /data/nl6/var\n1715650000 2097152 /usr/local/neolane/nl6/core.3120\ncount 1\nfile -\n"
    res, _ = run(kb, {"app1": fake_host(healthy(cores=found)), "app2": fake_host(healthy())}, ["mta"])
    f = next(f for f in res.findings if f.host == "app1" and f.check == "cores")
    assert f.status == "fail" and any("not searched" in e for e in f.evidence)
