"""Parsers on the output shapes Adobe documents (tests/fixtures/ hold the recorded samples)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bot.probes import parsers as p

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def read(name: str) -> str:
    return (FIX / name).read_text()


def test_pdump_who_processes_and_stops_before_connections() -> None:
    pd = p.parse_pdump(read("pdump_who.txt"))
    assert pd.recognised and not pd.no_tasks
    assert [x.name for x in pd.processes] == [
        "web@default",
        "watchdog",
        "syslogd@default",
        "trackinglogd@default",
        "mta@test",
        "wfserver@test",
    ]
    assert pd.find("watchdog").instance is None  # type: ignore[union-attr]
    assert pd.find("MTA@test").pid == 9986  # type: ignore[union-attr]
    assert pd.find("web@default").memory_mb == 50.1  # type: ignore[union-attr]


def test_pdump_standalone_and_units() -> None:
    pd = p.parse_pdump(read("pdump_standalone.txt"))
    assert len(pd.processes) == 7
    assert pd.find("inMail@demo").memory_mb == 11.9  # type: ignore[union-attr]
    assert pd.banner is not None and pd.banner.build == "XXX@SHA1"


def test_pdump_console_banner_version_and_mb_variants() -> None:
    pd = p.parse_pdump(read("pdump_console_banner.txt"))
    assert pd.banner is not None
    assert pd.banner.version == "7.0 19.1" and pd.banner.build == "9031@550c410"
    assert [x.name for x in pd.processes] == ["mta@clean", "wfserver@clean", "webmdl@default"]


def test_pdump_no_tasks_variants() -> None:
    for text in (read("pdump_empty.txt"), "No task\n", "12:00:00 >   no tasks\n"):
        pd = p.parse_pdump(text)
        assert pd.no_tasks and pd.recognised and not pd.processes


def test_pdump_unrecognised() -> None:
    pd = p.parse_pdump("sh: 1: /usr/local/neolane/nl6/bin/nlserver: not found\n")
    assert not pd.recognised


def test_older_banner() -> None:
    b = p.parse_banner("Application server for Adobe Campaign Version 6.1 (build 8795) of 01/01/2016")
    assert b is not None and b.build == "8795"


def test_monitor_missing() -> None:
    assert p.parse_missing(read("monitor_missing.txt")) == ("inMail@test", "mta@test", "wfserver@test")


def test_autostart_files_and_disabled_trick() -> None:
    conf = p.parse_autostart(read("config_autostart.txt"))
    assert conf["config-default.xml"] == {"web": True, "trackinglogd": True, "syslogd": False}
    assert conf["config-prod.xml"]["mta"] is True
    # _autoStart: Adobe's way to keep a module from starting renames the attribute, so the file does
    # not set autoStart at all (serverConf.xml's value, default false, then applies).
    assert "inMail" not in conf["config-prod.xml"]
    assert conf["config-prod.xml"]["stat"] is True
    assert p.instances_from_config(conf) == ("prod",)


def test_config_fragment_parsed_with_nesting_and_unreadable_files() -> None:
    text = (
        "### serverConf.xml\n"
        '<mta autoStart="false" maxMemoryMb="900"><child maxWorkingSetMb="100"><IPAffinity name="bulk">'
        '<IP address="192.0.2.10" publicId="1"/></IPAffinity></child></mta><trackinglogd autoStart="true"/>\n'
        "### config-prod.xml\n"
        '<mta autoStart="true"/><inMail _autoStart="true"/>\n'
        "### config-other.xml UNREADABLE\n"
    )
    conf = p.parse_config(text)
    assert conf.files == ("serverConf.xml", "config-prod.xml") and conf.unreadable == ("config-other.xml",)
    child = conf.in_file("serverConf.xml", "child")[0]
    assert child.parent == "mta" and child.get("maxWorkingSetMb") == "100"
    assert conf.autostart("config-prod.xml", "mta") is True and conf.autostart("serverConf.xml", "mta") is False
    assert conf.autostart("config-prod.xml", "inMail") is None and conf.renamed_autostart("config-prod.xml", "inMail")
    # the instance file wins; serverConf.xml holds the defaults
    assert conf.setting(("config-prod.xml", "serverConf.xml"), "mta", "autoStart") == ("true", "config-prod.xml")
    assert conf.setting(("config-prod.xml", "serverConf.xml"), "child", "maxWorkingSetMb") == ("100", "serverConf.xml")
    assert p.instances_from_config(p.parse_autostart(text)) == ("other", "prod")


def test_config_fragment_that_is_not_well_formed_falls_back_to_tag_by_tag() -> None:
    # an attribute value holding '>' can cut a tag short on the host: the fragment is then unbalanced
    text = '### serverConf.xml\n<mta autoStart="true"><child maxWorkingSetMb="128"/><web autoStart="true"/>\n'
    conf = p.parse_config(text)
    assert conf.autostart("serverConf.xml", "mta") is True and conf.autostart("serverConf.xml", "web") is True
    assert conf.in_file("serverConf.xml", "child")[0].get("maxWorkingSetMb") == "128"


def test_config_fragment_entities_are_refused() -> None:
    hostile = '### serverConf.xml\n<!DOCTYPE x [<!ENTITY a "aaaa">]><mta autoStart="&a;"/>\n'
    conf = p.parse_config(hostile)  # defusedxml refuses the DTD; the tag-by-tag pass finds no usable tag
    assert conf.autostart("serverConf.xml", "mta") is None


def test_listening_ss_and_netstat() -> None:
    ss = p.parse_listening(read("ss.txt"))
    assert ss is not None and {("udp", 6666), ("udp", 7777), ("tcp", 8080), ("tcp", 80)} <= ss
    ns = p.parse_listening(read("netstat.txt"))
    assert ns == {("tcp", 8080), ("udp", 6666)}
    assert p.parse_listening("bash: ss: command not found\nbash: netstat: command not found") is None


def test_df() -> None:
    du = p.parse_df(read("df.txt"))
    assert du is not None and du.used_pct == 90 and du.mount == "/var/nl6"


def test_log_scan_window_codes_and_formats() -> None:
    now = datetime(2021, 5, 31, 8, 45, tzinfo=timezone.utc)
    scan = p.scan_log(read("mta.log"), now, window_min=60)
    assert len(scan.errors) == 2  # the 07:00 error and the 2011 line are outside the window
    assert "JWT Token is empty" in scan.errors[0]
    assert scan.codes == ("PGS-220000",)
    assert len(scan.warnings) == 1
    assert scan.newest == datetime(2021, 5, 31, 8, 42, 30, tzinfo=timezone.utc)
    old_format = [line for line in read("mta.log").splitlines() if line.startswith("2011")]
    old = p.scan_log("\n".join(old_format), datetime(2011, 10, 4, 12, 0, tzinfo=timezone.utc), window_min=10)
    assert len(old.errors) == 1 and "connection refused" in old.errors[0]


def test_sections_with_markers_and_missing_end() -> None:
    out = (
        b"@@CB:abc:BEGIN:now@@\n1700000000\n@@CB:abc:END:now:0@@\n"
        b"@@CB:abc:BEGIN:nlserver-pdump@@\nNo tasks\n@@CB:abc:END:nlserver-pdump:0@@\n"
        b"@@CB:abc:BEGIN:log:x@@\npartial without end"
    )
    sec = p.split_sections(out, "abc")
    assert sec["now"].complete and p.epoch(sec["now"].text) == 1700000000
    assert sec["nlserver-pdump"].exit_code == 0
    assert not sec["log:x"].complete and sec["log:x"].exit_code is None


def test_sections_ignore_forged_markers() -> None:
    out = b"@@CB:abc:BEGIN:now@@\n@@CB:evil:END:now:0@@\n1\n@@CB:abc:END:now:0@@\n"
    sec = p.split_sections(out, "abc")
    assert sec["now"].text.strip().endswith("1")


def test_sections_binary_output() -> None:
    out = b"@@CB:t:BEGIN:nlserver-pdump@@\n\xff\xfe\x00garbage\x9c@@CB:t:END:nlserver-pdump:0@@\n"
    sec = p.split_sections(out, "t")
    assert sec["nlserver-pdump"].complete and sec["nlserver-pdump"].binary


def test_redir_listing() -> None:
    r = p.parse_redir("1700000000 120 0x00000000000A0000.log\n1700000600 80 0x00000000000A0001.log\ncount 2\n")
    assert r.exists and r.count == 2 and r.newest_mtime == 1700000600 and r.newest_name == "0x00000000000A0001.log"
    assert not p.parse_redir("NO-REDIR-DIR\n").exists


def test_health_answers() -> None:
    ok = "<redir status='OK' date='2021-08-27 08:02:07.963-07' build='9236' sha1='cc45440' host='x' localHost='y'/>"
    good, attrs = p.redir_test_ok(ok)
    assert good and attrs["build"] == "9236" and attrs["localHost"] == "y"
    assert p.redir_test_ok("<redir status='ERROR'/>")[0] is False
    assert p.ping_ok("Ok\n2017-02-09 12:28:56.591Z") and p.ping_ok("OK\n2021-08-27 15:43:48.862Z\n")
    assert not p.ping_ok("Error\nThe queue is full (7/400)")
    a = p.parse_http("OK\n2021\n@@HTTP 200 0 http://localhost:8080/nl/jsp/ping.jsp@@\n")
    assert a.status == 200 and a.body.startswith("OK")
    refused = p.parse_http(
        "curl: (7) Failed to connect to localhost port 80: Connection refused\n\n@@HTTP 000 0 x@@\n", 7
    )
    assert refused.status is None and "Connection refused" in (refused.error or "")


def test_ps_rows() -> None:
    rows = p.parse_processes("  2320 S neolane 14400 23552 nlserver mta\n 1 S root 999999 100\nbad line\n").rows
    assert rows[2320].elapsed_s == 14400 and rows[2320].command == "nlserver" and 1 not in rows


# ---------------------------------------------------------------- issue 7: documented output shapes


def test_pdump_one_line_empty_and_version_banner() -> None:
    """`... of dd/mm/yyyy No tasks` on the banner's own line (build-upgrade.md), and the older
    `Application server for Adobe Campaign Version X.Y (build N)` banner."""
    pd = p.parse_pdump(read("pdump_one_line_empty.txt"))
    assert pd.no_tasks and pd.recognised and not pd.processes
    assert pd.banner is not None and pd.banner.build == "9031@550c410" and not pd.banner.text.endswith("No tasks")
    old = p.parse_pdump(read("pdump_version_banner.txt"))
    assert old.banner is not None and old.banner.version == "6.1" and old.banner.build == "8795"
    assert [x.name for x in old.processes] == ["mta@prod", "wfserver@prod"] and not old.no_tasks
    win = p.parse_banner("Application Server for Adobe Campaign version 6.1 (build 8795) dated 01/01/2016")
    assert win is not None and win.version == "6.1" and win.build == "8795"


def test_monitor_missing_accepts_only_module_at_instance_lines() -> None:
    assert p.parse_missing(read("monitor_missing_noise.txt")) == ("mta@test", "inMail@test")


def test_log_rotation_and_continuation_lines() -> None:
    """The window read across `mta_2.log` and `mta.log`; a `DETAIL:` line stays with its database error."""
    prev = p.parse_log_read(f"@@STAT 10485000 1622448751@@\n{read('mta_2.log')}", cap=4096)
    assert prev.size == 10485000 and prev.text.startswith("2021-05-31T08:10:00")  # the cut first line is dropped
    cur = p.parse_log_read(f"@@STAT 400 1622450462@@\n{read('mta_current.log')}", cap=65536)
    assert cur.mtime == 1622450462 and cur.text.startswith("2021-05-31T08:40:00")
    now = datetime(2021, 5, 31, 8, 45, tzinfo=timezone.utc)
    scan = p.scan_log(prev.text + cur.text, now, window_min=60)
    assert len(scan.errors) == 2 and scan.codes == ("PGS-220000", "BAS-010007")
    assert scan.errors[0].endswith("(iRc=-2006) | DETAIL: Key (ibroadlogid)=(6604001) already exists.")
    assert scan.lines_in_window == 5 and scan.newest == datetime(2021, 5, 31, 8, 41, 2, tzinfo=timezone.utc)
    assert "DETAIL:  Key (ibroadlogid)=(6604001) already exists." in scan.tail


def test_log_code_in_a_continuation_line_counts() -> None:
    text = "2021-05-31T08:42:00.000Z\t1\t1\t1\tlog\tQuery failed\n   PGS-220000 PostgreSQL error: ERROR: deadlock\n"
    scan = p.scan_log(text, datetime(2021, 5, 31, 8, 45, tzinfo=timezone.utc), window_min=10)
    assert scan.codes == ("PGS-220000",) and "deadlock" in scan.errors[0]


def test_log_read_without_header_and_silence() -> None:
    r = p.parse_log_read("tail: cannot open 'x'", cap=10)
    assert r.size is None and r.mtime is None
    scan = p.scan_log(
        "2021-05-31T06:00:00.000Z\t1\t1\t1\tinfo\tlog\told\n", datetime(2021, 5, 31, 8, 45, tzinfo=timezone.utc), 60
    )
    assert scan.lines_in_window == 0 and scan.newest == datetime(2021, 5, 31, 6, 0, tzinfo=timezone.utc)


def test_processes_rows_owner_binary_and_zombies() -> None:
    text = (
        "  2273 Ss   neolane   14400  6600 /usr/local/neolane/nl6/bin/nlserver watchdog -svc -noconsole\t"
        "/usr/local/neolane/nl6/bin/nlserver\t/usr/local/neolane/nl6\n"
        "  2320 Sl   neolane   14400 23552 nlserver mta -tracefile:mta@prod -instance:prod -detach -tracefilter:nlmta\t-\t-\n"
        "  2330 S    neolane     600 99000 nlserver mtachild -tracefile:mtachild@prod -instance:prod -detach\t-\t-\n"
        "  2331 S    neolane     600 140000 nlservermtachild -tracefile:mtachild@prod -instance:prod -detach\t-\t-\n"
        "  2332 S    neolane     600 50000 nlserver mtachild -tracefile:mtachild@other -instance:other -detach\t-\t-\n"
        "zombies 3\n"
    )
    t = p.parse_processes(text)
    assert t.available and t.zombies == 3 and len(t.rows) == 5
    wd = t.rows[2273]
    assert (
        wd.user == "neolane" and wd.exe == "/usr/local/neolane/nl6/bin/nlserver" and wd.cwd == "/usr/local/neolane/nl6"
    )
    assert t.rows[2320].exe is None and t.rows[2320].elapsed_s == 14400 and t.rows[2320].rss_kb == 23552
    assert [r.pid for r in t.mtachildren("prod")] == [2330, 2331]
    assert not p.parse_processes("NO-PS\n").available


def test_core_files_and_file_output() -> None:
    text = (
        "1715600000 1048576 /usr/local/neolane/nl6/core.2001\n"
        "1715650000 2097152 /usr/local/neolane/nl6/core.3120\n"
        "count 2\n"
        "file ELF 64-bit LSB core file, x86-64, version 1 (SYSV), SVR4-style, from 'nlserver mta "
        "-tracefile:mta@prod -instance:prod -detach', real uid: 1001\n"
    )
    c = p.parse_cores(text)
    assert c.count == 2 and c.newest == (1715650000, 2097152, "/usr/local/neolane/nl6/core.3120")
    assert p.core_command(c.file_says) == "nlserver mta -tracefile:mta@prod -instance:prod -detach"
    assert p.parse_cores("count 0\n").newest is None


def test_system_indicators_and_devices() -> None:
    text = (
        "SwapTotal:        2097148 kB\nSwapFree:          104857 kB\nloadavg 3.10 2.90 2.70\ncpus 2\n"
        "file-nr 1466\t0\t2466174\nshm-listed\nshm neolane\nshm neolane\nshm postgres\n"
    )
    info = p.parse_system(text)
    assert info.swap_total_kb == 2097148 and info.swap_free_kb == 104857 and info.load == (3.1, 2.9, 2.7)
    assert info.cpus == 2 and (info.files_open, info.files_max) == (1466, 2466174)
    assert info.shm_by_owner == {"neolane": 2, "postgres": 1} and info.shm_listed
    d = p.parse_devices("65024 /tmp\n27 /data/nl6/var\n")
    assert d.tmp == (65024, "/tmp") and d.var == (27, "/data/nl6/var")
    assert p.parse_devices("stat: cannot statx '/x': No such file or directory\n").var is None


def test_env_section() -> None:
    e = p.parse_env("user neolane\nvar_dir /data/var\nxtk_var_dir /data/var\ntmpdir \ntrace_addr localhost:6667\n")
    assert e.user == "neolane" and e.var_dir == "/data/var" and e.tmpdir is None and e.trace_addr == "localhost:6667"


def test_curl_outcomes_are_told_apart() -> None:
    """curl writes the `-w` trailer on errors too (code 000); its exit code says what went wrong."""
    ok = p.parse_http("<redir status='OK'/>\n@@HTTP 200 1 https://t.example.invalid/r/test@@\n", 0)
    assert (
        ok.status == 200 and ok.redirects == 1 and ok.url == "https://t.example.invalid/r/test" and ok.failure is None
    )
    cases = {
        "tls": ("curl: (60) SSL certificate problem: certificate has expired\n\n@@HTTP 000 1 https://t/r/test@@\n", 60),
        "redirects": ("curl: (47) Maximum (5) redirects followed\n\n@@HTTP 302 5 http://t/loop@@\n", 47),
        "refused": (
            "curl: (7) Failed to connect to localhost port 80 after 0 ms: Couldn't connect to server\n\n@@HTTP 000 0 http://localhost/r/test@@\n",
            7,
        ),
        "timeout": (
            "curl: (28) Operation timed out after 5001 milliseconds with 0 bytes received\n\n@@HTTP 000 0 http://t/r/test@@\n",
            28,
        ),
        "dns": ("curl: (6) Could not resolve host: t.invalid\n\n@@HTTP 000 0 http://t.invalid/r/test@@\n", 6),
        "no_curl": ("sh: 1: curl: not found\n", 127),
    }
    for kind, (text, code) in cases.items():
        ans = p.parse_http(text, code)
        assert ans.failure == kind, (kind, ans)
    loop = p.parse_http(cases["redirects"][0], 47)
    assert loop.status == 302 and loop.redirects == 5 and "Maximum (5)" in (loop.error or "")
    assert p.parse_http(cases["tls"][0]).failure == "tls"  # the code is read from curl's message when not given


def test_xsv_bodies() -> None:
    body = "XSV-350008 Session has expired or is invalid. Please reconnect."
    assert p.xsv_code(body) == "XSV-350008" and p.xsv_code("XSV-350013 The '10.0.0.1' IP address") == "XSV-350013"
    assert p.xsv_code("OK\n2021-08-27 15:43:48.862Z") is None


def test_epoch_with_nanoseconds() -> None:
    assert p.epoch_float("1700000000.123456789\n") == 1700000000.123456789
    assert p.epoch_float("1700000000.N\n") == 1700000000.0 and p.epoch("1700000000.5") == 1700000000


def test_redir_folder_the_bot_may_not_read_is_not_a_missing_one() -> None:
    r = p.parse_redir("REDIR-UNREADABLE /usr/local/neolane/nl6/var/prod/redir/log\n")
    assert r.exists and r.unreadable == "/usr/local/neolane/nl6/var/prod/redir/log" and r.newest_mtime is None
    assert p.parse_redir("count 0\n").unreadable is None
