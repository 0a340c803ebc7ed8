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
    assert conf["config-prod.xml"]["inMail"] is False  # _autoStart: Adobe's way to keep it from starting
    assert conf["config-prod.xml"]["stat"] is True
    assert p.instances_from_config(conf) == ("prod",)


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
    a = p.parse_http("OK\n2021\n@@HTTP 200@@\n")
    assert a.status == 200 and a.body.startswith("OK")
    refused = p.parse_http("curl: (7) Failed to connect to localhost port 80: Connection refused\n\n@@HTTP 000@@\n")
    assert refused.status is None and "Connection refused" in (refused.error or "")


def test_ps_rows() -> None:
    rows = p.parse_ps("  2320  14400 23552 nlserver\n 1 999999 100 systemd\nbad line\n")
    assert rows[2320].elapsed_s == 14400 and rows[1].command == "systemd"
