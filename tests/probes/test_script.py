"""The probe templates run for real (dash, awk, stat, find, ps on this machine) on fixture install trees.

These prove what leaves a host: only allow-listed configuration, only nlserver processes, and that
the Campaign environment (customer.sh: XTK_VAR_DIR, TMPDIR) is the one the probes use.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import pytest

from bot.inventory import Host
from bot.probes import parsers as p
from bot.probes import script as s
from bot.transports.local import LocalTransport

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def run(home: Path, *sections: s.Section) -> dict[str, p.SectionOutput]:
    plan = s.Plan(Host(name="t", transport="local", nl_home=str(home)))
    for sec in sections:
        plan.add(sec)
    res = LocalTransport().run(plan.script(), timeout_s=20)
    assert res.exit_code == 0, res.stderr
    return p.split_sections(res.stdout, plan.token)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "nl6"
    shutil.copytree(FIX / "conf", h / "conf")
    (h / "var" / "prod" / "log").mkdir(parents=True)
    return h


def test_config_leaves_only_allow_listed_tags_and_attributes(home: Path) -> None:
    out = run(home, s.config())["config"].text
    assert "s3cret" not in out and "password" not in out.lower() and "dbcnx" not in out and "xtk" not in out
    assert "msgDump" not in out and "controlPort" not in out  # not allow-listed
    conf = p.parse_config(out)
    assert conf.files == ("serverConf.xml", "config-default.xml", "config-prod.xml")
    assert conf.autostart("serverConf.xml", "inMail") is False  # the commented-out node enabled nothing
    assert conf.autostart("serverConf.xml", "trackinglogd") is True
    assert conf.autostart("config-prod.xml", "inMail") is None and conf.renamed_autostart("config-prod.xml", "inMail")
    files = ("config-prod.xml", "serverConf.xml")
    assert conf.setting(files, "mta", "maxMemoryMb") == ("900", "serverConf.xml")
    assert conf.setting(files, "child", "maxWorkingSetMb") == ("256", "config-prod.xml")
    ips = [e.get("address") for e in conf.elements if e.tag == "IP"]
    assert ips == ["192.0.2.10", "192.0.2.11", "192.0.2.20"]
    # the listen ports the ports check follows: web's httpPort, stat's port
    assert conf.setting(("config-default.xml", "serverConf.xml"), "web", "httpPort") == ("8080", "serverConf.xml")
    assert conf.setting(files, "stat", "port") == ("7777", "serverConf.xml")


def test_logs_follow_xtk_var_dir_and_read_the_rotated_file_only_when_needed(home: Path, tmp_path: Path) -> None:
    var = tmp_path / "data" / "var"
    (var / "prod" / "log").mkdir(parents=True)
    (home / "customer.sh").write_text(f"export XTK_VAR_DIR={var}\nexport TMPDIR=/dev/shm\n")
    (var / "prod" / "log" / "mta_2.log").write_text((FIX / "mta_2.log").read_text())
    (var / "prod" / "log" / "mta.log").write_text((FIX / "mta_current.log").read_text())
    rel = "var/prod/log/mta.log"
    sec = run(home, s.environment(), s.log_rotated_tail(rel), s.log_tail(rel), s.disk(), s.devices())
    env = p.parse_env(sec["env"].text)
    assert env.var_dir == str(var) and env.xtk_var_dir == str(var) and env.tmpdir == "/dev/shm"
    cur = p.parse_log_read(sec[f"log:{rel}"].text, s.LOG_TAIL_BYTES)
    assert cur.size == (FIX / "mta_current.log").stat().st_size and "Starting main MTA" in cur.text
    prev = p.parse_log_read(sec["log:var/prod/log/mta_2.log"].text, s.LOG_TAIL_BYTES)
    assert "DETAIL:" in prev.text
    dev = p.parse_devices(sec["devices"].text)
    assert dev.tmp is not None and dev.tmp[1] == "/dev/shm" and dev.var is not None and dev.var[1] == str(var)
    # the tracking logs (redirection servers) are read under XTK_VAR_DIR too
    (var / "prod" / "redir" / "log").mkdir(parents=True)
    (var / "prod" / "redir" / "log" / "0x00000000000A0000.log").write_text("0x1\t0x2\t0x3\n")
    redir = p.parse_redir(run(home, s.redir_logs("prod"))["redir:prod"].text)
    assert redir.exists and redir.count == 1 and redir.newest_name == "0x00000000000A0000.log"
    # a current file larger than the budget leaves nothing to read of the rotated one
    (var / "prod" / "log" / "mta.log").write_text("x" * (s.LOG_TAIL_BYTES + 10))
    sec = run(home, s.log_rotated_tail(rel))
    assert sec["log:var/prod/log/mta_2.log"].text == ""


def test_missing_log_says_so(home: Path) -> None:
    sec = run(home, s.log_tail("var/prod/log/inMail.log"))["log:var/prod/log/inMail.log"]
    assert sec.exit_code != 0 and "No such file" in sec.text


def test_cores_are_found_in_the_install_folder_and_var(home: Path) -> None:
    (home / "core.3120").write_bytes(b"\x7fELF" + b"\0" * 60)
    (home / "var" / "prod" / "core").write_bytes(b"not a core")
    (home / "var" / "prod" / "log" / "core.1").write_bytes(b"too deep: var/<instance>/log is not searched")
    cores = p.parse_cores(run(home, s.cores())["cores"].text)
    assert cores.count == 2
    assert {x[2] for x in cores.listed} == {str(home / "core.3120"), str(home / "var" / "prod" / "core")}
    if shutil.which("file"):
        assert cores.file_says is not None


def test_ps_rows_are_nlserver_processes_only(home: Path) -> None:
    sec = run(home, s.processes())["ps"]
    t = p.parse_processes(sec.text)
    assert t.available and t.zombies is not None
    # the probe script itself mentions nlserver; only processes whose command is nlserver count
    assert all(r.command.rsplit("/", 1)[-1].startswith("nlserver") for r in t.rows.values())
    assert "CB_NOW" not in sec.text


def test_clock_is_read_before_the_environment(home: Path) -> None:
    (home / "env.sh").write_text("sleep 1\n")
    plan = s.Plan(Host(name="t", transport="local", nl_home=str(home)))
    plan.add(s.now())
    res = LocalTransport().run(plan.script(), timeout_s=20)
    now = p.epoch_float(p.split_sections(res.stdout, plan.token)["now"].text)
    assert now is not None and abs(now - res.started_at) < 0.9  # read before env.sh's second
    assert plan.script().text.splitlines()[0].startswith("CB_NOW=$(date")


@pytest.mark.parametrize(
    "base,path",
    [
        ("http://localhost'; id; '", "/r/test"),
        ("http://x y", "/r/test"),
        ("ftp://x", "/r/test"),
        ("http://user:pw@x", "/r/test"),
        ("http://x", "/r/../../etc/passwd"),
        ("http://x", "/r/test?x=`id`"),
    ],
)
def test_http_fetch_refuses_anything_but_a_plain_url(base: str, path: str) -> None:
    with pytest.raises(s.UnsafeProbeError):
        s.http_fetch("http:x", base, path)


def test_http_fetch_quotes_the_url_and_follows_redirects_only_when_asked() -> None:
    sec = s.http_fetch("http:redir", "https://track1.example.invalid", "/r/test", follow=True, timeout_s=3)
    assert shlex.split(sec.command)[-1] == "https://track1.example.invalid/r/test" and "--max-redirs 5" in sec.command
    odd = s.http_fetch("http:redir", "http://x/$(id)", "/r/test")  # legal in a URL, so quoted, never run
    assert shlex.split(odd.command)[-1] == "http://x/$(id)/r/test" and "'http://x/$(id)/r/test'" in odd.command
    assert "--proto-redir =http,https" in sec.command and "-k" not in sec.command.split()
    assert "-L" not in s.http_fetch("http:ping", "http://localhost:8080", "/nl/jsp/ping.jsp").command.split()


def test_log_paths_and_config_names_are_validated() -> None:
    for bad in ("/etc/passwd", "var/../../etc/passwd", "var/prod/log/x;id.log"):
        with pytest.raises(s.UnsafeProbeError):
            s.log_tail(bad)
    with pytest.raises(s.UnsafeProbeError):
        s.config(elements=("mta'; id; '",))
    with pytest.raises(s.UnsafeProbeError):
        s.rotated_path("var/prod/log/mta.txt")


def _redir_folder(home: Path, n: int) -> Path:
    d = home / "var" / "prod" / "redir" / "log"
    d.mkdir(parents=True)
    for i in range(n):
        f = d / f"0x{i:016X}.log"
        f.write_text("0x1\t0x2\t0x3\n")
        os.utime(f, (1_700_000_000 + i, 1_700_000_000 + i))
    (d / "README").write_text("not a tracking log")
    return d


def test_redir_logs_is_one_listing_whatever_the_folder_holds(home: Path) -> None:
    """Thousands of tracking logs: the newest three and the count, four lines, never a process per file."""
    _redir_folder(home, 3000)
    sec = s.redir_logs("prod")
    assert "stat" not in sec.command.split("else")[0]  # the GNU path runs no stat per file
    out = run(home, sec)["redir:prod"]
    assert out.exit_code == 0 and len(out.text.splitlines()) == 4
    r = p.parse_redir(out.text)
    assert r.exists and r.count == 3000 and r.newest_mtime == 1_700_000_000 + 2999
    assert r.newest_name == f"0x{2999:016X}.log"
    # the section's `cd` stays in its subshell: what follows runs where the script started
    both = run(home, sec, s.Section("pwd", "pwd"))
    assert both["pwd"].text.strip() != str(home / "var" / "prod" / "redir" / "log")


def test_redir_logs_without_gnu_find_uses_ls_and_three_stats(home: Path, tmp_path: Path) -> None:
    _redir_folder(home, 50)
    shim = tmp_path / "bin"
    shim.mkdir()
    real = shutil.which("find")
    (shim / "find").write_text(
        f'#!/bin/sh\nfor a in "$@"; do [ "$a" = -printf ] && {{ echo "find: unknown predicate" >&2; exit 1; }}; done\n'
        f'exec {real} "$@"\n'
    )
    (shim / "find").chmod(0o755)
    plan = s.Plan(Host(name="t", transport="local", nl_home=str(home)))
    plan.add(s.redir_logs("prod"))
    res = LocalTransport(path_prefix=str(shim)).run(plan.script(), timeout_s=20)
    r = p.parse_redir(p.split_sections(res.stdout, plan.token)["redir:prod"].text)
    assert r.count == 50 and r.newest_mtime == 1_700_000_049 and r.newest_name == f"0x{49:016X}.log"
    empty = home / "var" / "other" / "redir" / "log"
    empty.mkdir(parents=True)
    assert p.parse_redir(run(home, s.redir_logs("other"))["redir:other"].text) == p.RedirLogs(True, 0, None, None)
    assert not p.parse_redir(run(home, s.redir_logs("none"))["redir:none"].text).exists


BASHISM = "export LD_LIBRARY_PATH=${LD_LIBRARY_PATH//:\\/old\\/lib/}\nexport TRACE_ADDR=localhost:16666\n"


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash on this machine")
def test_customer_sh_with_a_bashism_is_sourced_by_bash(home: Path) -> None:
    """Campaign's scripts are bash; the probe runs under bash when the host has it, whatever /bin/sh is."""
    (home / "customer.sh").write_text(BASHISM)
    sec = run(home, s.environment(), s.Section("after", "echo still here"))
    env = p.parse_env(sec["env"].text)
    assert env.shell == "bash" and env.trace_addr == "localhost:16666" and env.source_errors == ()
    assert sec["after"].text == "still here\n"


def test_a_customer_sh_that_cannot_be_sourced_is_a_finding_not_the_end(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under /bin/sh (dash on Debian) a bash-ism is fatal to `.`; an `exit` in the file ends any shell. Both
    are kept as `source_error` lines and every section still runs."""
    monkeypatch.setenv("CB_SHELL", "sh")  # as on a host without bash
    (home / "customer.sh").write_text(BASHISM)
    sec = run(home, s.environment(), s.Section("after", "echo still here"))
    env = p.parse_env(sec["env"].text)
    assert env.shell == "sh" and sec["after"].text == "still here\n"
    if Path("/bin/sh").resolve().name == "dash":
        assert len(env.source_errors) == 1 and env.source_errors[0].startswith("customer.sh: ")
        assert "Bad substitution" in env.source_errors[0]
    monkeypatch.delenv("CB_SHELL")
    (home / "customer.sh").write_text("export XTK_VAR_DIR=/nowhere\nexit 1\n")
    (home / "env.sh").write_text("export NL_ENV=1\n[ -d /nonexistent ] && export X=1\n")  # status 1, no error
    sec = run(home, s.environment(), s.Section("after", "echo still here"))
    env = p.parse_env(sec["env"].text)
    assert env.source_errors == ("customer.sh: it ended the shell",) and sec["after"].text == "still here\n"
    assert env.xtk_var_dir is None and env.var_dir == f"{home}/var"  # nothing of the failed file is used


def test_cores_are_found_through_a_symlinked_var(home: Path, tmp_path: Path) -> None:
    """The default Linux layout is nl6/var -> /var/nl6: the core files under the linked var count."""
    shutil.rmtree(home / "var")
    real = tmp_path / "var-nl6"
    (real / "prod").mkdir(parents=True)
    (home / "var").symlink_to(real)
    (real / "prod" / "core.5150").write_bytes(b"\x7fELF" + b"\0" * 60)
    (home / "core.3120").write_bytes(b"\x7fELF" + b"\0" * 60)
    (real / "prod" / "deeper").mkdir()
    (real / "prod" / "deeper" / "core.1").write_bytes(b"too deep")
    cores = p.parse_cores(run(home, s.cores())["cores"].text)
    assert cores.count == 2, cores
    assert {x[2] for x in cores.listed} == {str(home / "core.3120"), str(home / "var" / "prod" / "core.5150")}
    # the same without GNU find's -printf: one stat per core file
    shim = tmp_path / "bin"
    shim.mkdir()
    real_find = shutil.which("find")
    (shim / "find").write_text(
        f'#!/bin/sh\nfor a in "$@"; do [ "$a" = -printf ] && exit 1; done\nexec {real_find} "$@"\n'
    )
    (shim / "find").chmod(0o755)
    plan = s.Plan(Host(name="t", transport="local", nl_home=str(home)))
    plan.add(s.cores())
    res = LocalTransport(path_prefix=str(shim)).run(plan.script(), timeout_s=20)
    again = p.parse_cores(p.split_sections(res.stdout, plan.token)["cores"].text)
    assert again.count == 2 and again.listed == cores.listed


def test_only_the_rotated_log_is_read_whole_when_the_current_one_is_missing(home: Path) -> None:
    (home / "var" / "prod" / "log" / "mta_2.log").write_text((FIX / "mta_2.log").read_text())
    rel = "var/prod/log/mta.log"
    sec = run(home, s.log_rotated_tail(rel), s.log_tail(rel))
    assert sec[f"log:{rel}"].exit_code != 0 and "No such file" in sec[f"log:{rel}"].text
    prev = p.parse_log_read(sec["log:var/prod/log/mta_2.log"].text, s.LOG_TAIL_BYTES)
    assert prev.size == (FIX / "mta_2.log").stat().st_size and "DETAIL:" in prev.text


def _failing_tool(home: Path, name: str, message: str) -> None:
    """`name` on the PATH the Campaign environment (env.sh) sets: prints `message` and fails."""
    bin_dir = home / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\necho {shlex.quote(message)} >&2\nexit 1\n")
    tool.chmod(0o755)
    (home / "env.sh").write_text(f"PATH={shlex.quote(str(bin_dir))}:$PATH\nexport PATH\n")


def test_a_ps_that_refuses_the_options_is_no_ps_not_zero_zombies(home: Path) -> None:
    """BusyBox ps has no -e (an old procps no `etimes`): it prints nothing and fails. That is not "no
    nlserver process and 0 zombies", which would be a blind ok for the zombie and mtachild checks."""
    _failing_tool(home, "ps", "ps: invalid option -- 'e'")
    sec = run(home, s.processes())["ps"]
    t = p.parse_processes(sec.text)
    assert not t.available and t.zombies is None and not t.rows
    assert "NO-PS ps failed (exit 1)" in sec.text


def test_a_failing_ipcs_lists_no_segments(home: Path) -> None:
    _failing_tool(home, "ipcs", "ipcs: permission denied")
    info = p.parse_system(run(home, s.system())["system"].text)
    assert not info.shm_listed and info.shm_by_owner == {}


def test_config_text_in_cdata_and_multi_line_tags(home: Path) -> None:
    """A module tag in a CDATA section (a command's text) enables nothing; a tag spread over lines, with
    spaces around `=` and single quotes, is read."""
    (home / "conf" / "serverConf.xml").write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<serverconf xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
        "  <shared><preprocessCommand><![CDATA[ echo \"<web autoStart='true'/>\" ]]></preprocessCommand></shared>\n"
        '  <mta\n      statServerAddress = "localhost"\n      autoStart = \'false\'\n      maxMemoryMb="2048">\n'
        '    <child maxWorkingSetMb="256"/>\n  </mta>\n  <trackinglogd\n\tautoStart="true"/>\n</serverconf>\n'
    )
    conf = p.parse_config(run(home, s.config())["config"].text)
    assert conf.autostart("serverConf.xml", "web") is None
    assert conf.autostart("serverConf.xml", "mta") is False and conf.autostart("serverConf.xml", "trackinglogd")
    assert conf.setting(("serverConf.xml",), "mta", "maxMemoryMb") == ("2048", "serverConf.xml")
    assert conf.in_file("serverConf.xml", "child")[0].parent == "mta"


def test_listening_sockets_from_an_ss_without_h(home: Path) -> None:
    """iproute2 before 4.13 (RHEL 7) has no `-H`: its `ss -lntu` (with a header) is read, not "cannot tell"."""
    bin_dir = home / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "ss").write_text(
        '#!/bin/sh\ncase "$1" in *H*) echo "ss: invalid option -- \'H\'" >&2; exit 255 ;; esac\n'
        'echo "Netid  State      Recv-Q Send-Q Local Address:Port   Peer Address:Port"\n'
        'echo "udp    UNCONN     0      0      127.0.0.1:6666       *:*"\n'
        'echo "tcp    LISTEN     0      100    :::8080              :::*"\n'
    )
    (bin_dir / "ss").chmod(0o755)
    (home / "env.sh").write_text(f"PATH={shlex.quote(str(bin_dir))}:$PATH\nexport PATH\n")
    assert p.parse_listening(run(home, s.listening())["ports"].text) == {("udp", 6666), ("tcp", 8080)}
