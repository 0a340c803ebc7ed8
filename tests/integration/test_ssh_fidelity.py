"""Issue 7, items 1-7, against real OpenSSH sshd hosts on loopback (127.0.0.3x) with simulated Campaign
installs behind them, and a real web server front on loopback fetched with the host's real curl.

This module starts its own sshd hosts (not the shared `fleet`): a front host (real curl), hosts whose
pdump cannot see the running processes (another user; another install root), a host whose syslogd
is down and logs are silent, the MTA-crash host (rotated log, XTK_VAR_DIR), a tracking server enabled
only in serverConf.xml, and a host whose instance configuration the bot's user cannot read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.diagnosis import Diagnoser
from bot.inventory import Environment, load_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Diagnosis, Finding
from bot.runner import Runner
from bot.simulator.fleet import HostScenario, build_host, default_scenarios
from bot.transports.base import Transport
from bot.transports.ssh import ConnectionPool, SSHTransport
from tests.harness.http_front import Front
from tests.harness.sshd import SshdLab, chown_tree, require_sshd, write_inventory


@dataclass
class FidelityLab:
    lab: SshdLab
    inventory: Path
    homes: dict[str, Path]
    front: Front


def _like(base: HostScenario, name: str, **kw: object) -> HostScenario:
    sc = HostScenario(**{**base.__dict__, "name": name})
    for k, v in kw.items():
        setattr(sc, k, v)
    return sc


@pytest.fixture(scope="module")
def fid() -> Iterator[FidelityLab]:
    require_sshd()
    lab = SshdLab()
    front = Front("127.0.0.1")
    app1, app2, track1, track2 = default_scenarios()
    quiet_logs = {path: [(240, "info", "Server started")] for path in app1.logs}
    plan: list[tuple[str, str, HostScenario]] = [
        ("front", "127.0.0.30", _like(app1, "front", real_tools=("curl",))),
        ("blind", "127.0.0.31", _like(app1, "blind", pdump_blind=True, ps_user="neolane")),
        ("otherhome", "127.0.0.32", _like(app1, "otherhome", pdump_blind=True, proc_home="/opt/other/nl6")),
        (
            "quiet",
            "127.0.0.33",
            _like(
                app1,
                "quiet",
                logs=quiet_logs,
                running={k: v for k, v in app1.running.items() if k != "syslogd@default"},
                ports=[p for p in app1.ports if p != ("udp", 6666)],
            ),
        ),
        ("crashed", "127.0.0.34", _like(app2, "crashed")),
        ("tracker", "127.0.0.35", _like(track2, "tracker")),
        (
            "noconf",
            "127.0.0.36",
            _like(
                app1,
                "noconf",
                configured=[m for m in app1.configured if not m.startswith("inMail@")],
                running={k: v for k, v in app1.running.items() if not k.startswith("inMail@")},
            ),
        ),
        ("skewed", "127.0.0.37", _like(track1, "skewed")),
    ]
    homes: dict[str, Path] = {}
    hosts: list[dict[str, object]] = []
    try:
        for name, addr, sc in plan:
            if sc.ps_user == "neolane" and name != "blind":
                sc.ps_user = lab.user  # the bot's own user (a different install root is the fault)
            home = build_host(lab.root / "hosts", sc, ("prod",))
            homes[name] = home
            h = lab.start_host(name, addr, home)
            entry: dict[str, object] = {"name": name, "address": addr, "port": h.port, "nl_home": str(home)}
            if sc.front_url:
                entry["front_url"] = sc.front_url
            if name == "front":
                entry["tomcat_port"] = front.port
            hosts.append(entry)
            if name == "front":
                # the same front host, once per front behaviour: one inventory host each (same sshd)
                for kind in ("ok", "https", "loop", "away", "apache"):
                    hosts.append({**entry, "name": f"front-{kind}", "front_url": front.url(kind)})
                refused = {**entry, "name": "front-refused", "front_url": f"http://127.0.0.1:{_closed_port()}"}
                hosts.append(refused)
        chown_tree(lab.root / "hosts", lab.user)
        (homes["noconf"] / "conf" / "config-prod.xml").chmod(0)
        inv = write_inventory(lab.root / "inventory.yaml", lab, hosts, env="fid", command_timeout_s=8)
        yield FidelityLab(lab, inv, homes, front)
    finally:
        front.close()
        lab.close()


def _closed_port() -> int:
    from tests.harness.sshd import free_port

    return free_port("127.0.0.1")  # bound then closed: nothing listens there


def _env(fid: FidelityLab) -> Environment:
    return load_inventory(fid.inventory).environment("fid")


def _check(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher, modules: list[str], hosts: list[str]) -> Diagnosis:
    env = _env(fid)
    pool = ConnectionPool()

    def for_host(h):  # type: ignore[no-untyped-def]
        t: Transport = SSHTransport(h, pool)
        return t

    try:
        return Diagnoser(kb, matcher, Runner(for_host)).check(
            [kb.get(m) for m in modules], env, hosts=[env.host(h) for h in hosts]
        )
    finally:
        pool.close()


def _one(d: Diagnosis, host: str, check: str, module: str | None = None) -> Finding:
    found = [f for f in d.findings if f.host == host and f.check == check and (module is None or f.module == module)]
    assert len(found) == 1, (host, check, [f.summary for f in d.findings if f.host == host])
    return found[0]


def test_item1_ping_jsp_without_a_session_over_ssh(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(fid, kb, matcher, ["web"], ["front"])
    ping = _one(d, "front", "ping_jsp")
    assert ping.status == "unknown" and "XSV-350008" in ping.summary
    assert ping.needs == "a monitoring session token (campaign_api in the inventory)"
    assert not [s for s in d.next_steps if s.command == "nlserver restart web"]
    assert "/nl/jsp/ping.jsp" in fid.front.requests  # fetched for real, by the host's own curl


def test_item2_front_url_outcomes_over_ssh(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    names = ["front-ok", "front-https", "front-loop", "front-away", "front-apache", "front-refused", "skewed"]
    d = _check(fid, kb, matcher, ["web"], names)
    got = {h: _one(d, h, "redir_test") for h in names}
    assert all(f.module == "web" for f in got.values())
    assert got["front-ok"].status == "ok" and "build 9379" in got["front-ok"].summary
    assert got["front-https"].status == "warn" and got["front-https"].conditions == ("tls_error",)
    assert "after 1 redirect" in got["front-https"].summary and "curl: (60)" in got["front-https"].evidence[0]
    assert got["front-loop"].status == "warn" and got["front-loop"].conditions == ("redirect_loop",)
    assert got["front-away"].status == "warn" and "/login" in got["front-away"].summary
    assert got["front-apache"].status == "fail" and got["front-apache"].conditions == ("redir_failed",)
    assert got["front-refused"].status == "warn" and "connection refused" in got["front-refused"].summary
    # the simulated tracking front: http -> https, then OK
    assert got["skewed"].status == "ok" and "https://t1.example.invalid/r/test" in got["skewed"].summary
    assert len({f.summary for f in got.values()}) == len(names)
    assert not [s for s in d.next_steps if s.command == "nlserver restart web"]


def test_item3_pdump_blind_while_nlserver_runs(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(fid, kb, matcher, ["watchdog", "mta"], ["blind", "otherhome"])
    other = _one(d, "blind", "process", "watchdog")
    assert other.status == "unknown" and "wrong_user" in other.conditions
    assert "of user neolane" in other.summary and f"the bot runs as {fid.lab.user}" in other.summary
    home = _one(d, "otherhome", "process", "watchdog")
    assert home.status == "unknown" and "/opt/other/nl6" in home.summary and "NL_HOME" in home.summary
    assert not [s for s in d.next_steps if s.command and "watchdog -svc" in s.command]
    assert not [s for s in d.next_steps if s.host in ("blind", "otherhome") and s.risk.value == "changes-state"]


def test_item4_silent_logs_and_syslogd(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(fid, kb, matcher, ["mta", "inMail"], ["quiet"])
    log = next(f for f in d.findings if f.host == "quiet" and f.module == "inMail" and f.check == "log")
    assert log.status == "unknown" and "log silent since" in log.summary and "no errors" not in log.summary
    writer = _one(d, "quiet", "log_writer", "syslogd")
    assert writer.status == "fail" and "does not run" in writer.summary
    assert any(s.command == "nlserver start syslogd" and s.host == "quiet" for s in d.next_steps)


def test_items5_6_rotation_continuation_and_xtk_var_dir(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(fid, kb, matcher, ["mta"], ["crashed"])
    var = str(fid.homes["crashed"].parent / "data" / "var")
    log = next(f for f in d.findings if f.host == "crashed" and f.check == "log" and "mta.log" in f.summary)
    assert log.status == "warn" and f"{var}/prod/log/mta.log and mta_2.log" in log.summary
    assert any(e.endswith("| DETAIL: Key (ibroadlogid)=(6604001) already exists.") for e in log.evidence)
    assert "DETAIL:  Key (ibroadlogid)=(6604001) already exists." in log.tail
    assert _one(d, "crashed", "var_dir").evidence == (var,)
    assert var in _one(d, "crashed", "disk").summary
    cmds = [s.command for s in d.next_steps if s.host == "crashed" and s.command]
    assert f"tail -n 200 {var}/prod/log/mta.log {var}/prod/log/mtachild.log" in cmds
    core = _one(d, "crashed", "cores")
    assert core.status == "fail" and "core.3120" in core.summary and "nlserver mta" in core.summary


def test_item7_autostart_in_serverconf_and_unreadable_config(
    fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher
) -> None:
    d = _check(fid, kb, matcher, ["trackinglogd", "mta"], ["tracker", "noconf"])
    tl = _one(d, "tracker", "process", "trackinglogd")
    assert tl.status == "fail" and "autoStart in serverConf.xml" in tl.summary
    stale = next(f for f in d.findings if f.host == "tracker" and f.check == "tracking_logs")
    assert stale.status == "warn" and "heuristic" in stale.summary
    # config-prod.xml is unreadable for the bot's user: what depends on it is "cannot tell", with what is needed
    d2 = _check(fid, kb, matcher, ["inMail", "mta"], ["noconf"])
    inmail = _one(d2, "noconf", "process", "inMail")
    assert inmail.status == "unknown" and "cannot read config-prod.xml" in inmail.summary
    assert inmail.needs and "conf/serverConf.xml and conf/config-*.xml" in inmail.needs
    assert _one(d2, "noconf", "process", "mta").status == "ok"  # it runs: that needs no configuration
    aff = _one(d2, "noconf", "ip_affinity")
    assert aff.status == "unknown" and aff.needs and "conf/config-prod.xml" in aff.needs
    mem = _one(d2, "noconf", "memory", "mta")
    assert any("config-prod.xml unreadable" in e for e in mem.evidence)
    assert any("to tell inMail@prod process, the bot needs read access" in s.text for s in d2.next_steps)


def test_clock_skew_between_hosts(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    d = _check(fid, kb, matcher, ["web"], ["front", "crashed", "skewed"])
    skew = _one(d, "skewed", "clock")
    assert skew.status == "warn" and "+4." in skew.summary
    assert not [f for f in d.findings if f.check == "clock" and f.host in ("front", "crashed")]


def test_clock_of_one_host_against_the_bots_over_ssh(fid: FidelityLab, kb: KnowledgeBase, matcher: Matcher) -> None:
    # One host, nothing to compare with but the bot's own clock, bounded by the SSH round trip.
    skew = _one(_check(fid, kb, matcher, ["web"], ["skewed"]), "skewed", "clock")
    assert skew.status == "warn" and "+4." in skew.summary and "off the bot's clock" in skew.summary
    assert any("offset from the bot's clock: between +" in e for e in skew.evidence)
    fine = _one(_check(fid, kb, matcher, ["web"], ["front"]), "front", "clock")
    assert fine.status in ("ok", "unknown"), fine.summary  # unknown only if the round trip took seconds
    assert fine.status == "unknown" or "agrees with the bot's clock" in fine.summary


def test_nothing_sent_changes_state_and_no_secret_leaves(fid: FidelityLab) -> None:
    before = {n: (h / "sim" / "invocations.log").read_text() for n, h in fid.homes.items()}
    for args in (["check", "watchdog"], ["check", "web"], ["diagnose", "mail not sending"], ["check", "mta", "--all"]):
        cmd = [sys.executable, "-m", "bot", *args, "--env", "fid", "--inventory", str(fid.inventory), "--json"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert "sim-db-password" not in p.stdout + p.stderr and "sim-internal-password" not in p.stdout + p.stderr
        assert "Traceback" not in p.stderr
        json.loads(p.stdout)
    for name, home in fid.homes.items():
        calls = (home / "sim" / "invocations.log").read_text()[len(before[name]) :].split("\n")
        verbs = {c.split()[0] for c in calls if c.strip()}
        assert verbs <= {"pdump", "monitor"}, (name, verbs)
        assert "pdump" in verbs
    data = yaml.safe_load(fid.inventory.read_text())
    assert len(data["environments"]["fid"]["hosts"]) == 14
