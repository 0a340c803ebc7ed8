"""Checks against real OpenSSH sshd hosts on loopback, healthy and faulty, through the Runner and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psutil

from bot.inventory import load_inventory
from bot.kb import KnowledgeBase
from bot.runner import Runner
from bot.transports.base import Transport
from bot.transports.ssh import ConnectionPool, SSHTransport
from tests.integration.fleet import Fleet


def cli(fleet: Fleet, *args: str) -> subprocess.CompletedProcess[str]:
    """`campaign-bot ARGS --env it --inventory <the fleet's inventory>` as a subprocess."""
    cmd = [sys.executable, "-m", "bot", *args, "--env", "it", "--inventory", str(fleet.inventory)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


FAULTS = {
    "hang": "did not finish within",
    "badkey": "CHANGED",
    "noauth": "authentication refused",
    "huge": "more than",
    "binary": "not text",
    "unknownkey": "not in",
    "silent": "did not speak SSH",
    "closed": "refused",
}


def _runner(pool: ConnectionPool) -> Runner:
    def for_host(h):  # type: ignore[no-untyped-def]
        t: Transport = SSHTransport(h, pool)
        return t

    return Runner(for_host)


def test_healthy_hosts_report_and_each_fault_is_one_clear_error(fleet: Fleet, kb: KnowledgeBase) -> None:
    inv = load_inventory(fleet.inventory)
    env = inv.environment("it")
    pool = ConnectionPool()
    start = time.monotonic()
    res = _runner(pool).run(env, [kb.get("mta"), kb.get("stat")])
    elapsed = time.monotonic() - start
    pool.close()
    # Every fault costs at most its own timeouts (connect 2 s, command 3 s) and they run in parallel.
    assert elapsed < 15, elapsed  # a hang guard, not a speed claim (that is in bench/)
    by_host: dict[str, list] = {}
    for f in res.findings:
        by_host.setdefault(f.host, []).append(f)
    for host, needle in FAULTS.items():
        errors = [f for f in by_host[host] if f.status == "error"]
        assert len(errors) == 1, (host, [f.summary for f in by_host[host]])
        assert needle in errors[0].summary, (host, errors[0].summary)
        assert errors[0].duration_ms < 7000
    good1 = {(f.module, f.check): f for f in by_host["good1"]}
    assert good1[("mta", "process")].status == "ok"
    assert "runs (pid 2320" in good1[("mta", "process")].summary
    assert all(f.status != "error" for f in by_host["good1"])
    good2 = {(f.module, f.check): f for f in by_host["good2"]}
    assert good2[("mta", "process")].status == "fail"
    assert "monitor -missing" in good2[("mta", "process")].summary
    mta_log = [f for f in by_host["good2"] if f.check == "log" and "mta.log" in f.summary]
    assert mta_log[0].status == "warn" and "PGS-220000" in mta_log[0].summary


def test_hung_command_is_killed_on_the_server(fleet: Fleet, kb: KnowledgeBase) -> None:
    """`timeout -k` ends the remote command: the `sleep 1000` this host started is not left behind."""
    inv = load_inventory(fleet.inventory)
    env = inv.environment("it")
    pidfile = fleet.homes["hang"] / "sim" / "hang.pid"
    pidfile.unlink(missing_ok=True)
    pool = ConnectionPool()
    _runner(pool).run(env, [kb.get("mta")], hosts=[env.host("hang")])
    pool.close()
    pid = int(pidfile.read_text())  # the hung command of this very host (no other process is looked at)
    deadline = time.monotonic() + 5  # timeout -k 2: the kill grace period
    while time.monotonic() < deadline and psutil.pid_exists(pid):
        time.sleep(0.1)
    alive = psutil.pid_exists(pid) and psutil.Process(pid).cmdline()[:2] == ["sleep", "1000"]
    assert not alive


def test_no_state_changing_verb_reaches_nlserver(fleet: Fleet) -> None:
    before = {n: len((fleet.homes[n] / "sim" / "invocations.log").read_text()) for n in ("good1", "good2")}
    for args in (["check", "mta"], ["diagnose", "mail not sending"], ["doctor"], ["check", "wfserver"]):
        cli(fleet, *args)
    for name in ("good1", "good2"):
        calls = (fleet.homes[name] / "sim" / "invocations.log").read_text()[before[name] :].split("\n")
        verbs = {c.split()[0] for c in calls if c.strip()}
        assert verbs <= {"pdump", "monitor"}, verbs
        assert "pdump" in verbs


def test_cli_check_json_against_sshd(fleet: Fleet) -> None:
    p = cli(fleet, "check", "mta", "--json")
    assert p.returncode == 1, p.stderr  # good2's mta is down, several hosts are faulty
    data = json.loads(p.stdout)
    assert data["environment"] == "it"
    assert set(data["hosts"]) >= {"good1", "good2", "hang", "closed"}
    keys = {"host", "module", "instance", "check", "status", "summary", "evidence", "duration_ms"}
    assert all(keys <= set(f) for f in data["findings"])
    steps = [s for s in data["next_steps"] if s["host"] == "good2" and s["command"] == "nlserver start mta@prod"]
    assert steps and steps[0]["risk"] == "changes-state"
    assert "Traceback" not in p.stderr


def test_cli_check_one_healthy_host_exits_zero(fleet: Fleet) -> None:
    p = cli(fleet, "check", "mta@prod", "--host", "good1", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    data = json.loads(p.stdout)
    assert data["hosts"] == ["good1"]
    assert {f["status"] for f in data["findings"]} <= {"ok", "warn"}


def test_doctor_reports_each_host(fleet: Fleet) -> None:
    p = cli(fleet, "doctor", "--json")
    assert p.returncode == 1
    rows = {r["host"]: r for r in json.loads(p.stdout)["hosts"]}
    assert rows["good1"]["ok"] and rows["good1"]["build"] == "9379@3f1a2b7" and rows["good1"]["auth"] is True
    assert rows["closed"]["connect"] is False
    assert rows["badkey"]["host_key"] is False and "CHANGED" in rows["badkey"]["detail"]
    assert rows["unknownkey"]["host_key"] is False
    assert rows["noauth"]["auth"] is False


def test_pool_reuses_the_connection_between_questions(fleet: Fleet, kb: KnowledgeBase) -> None:
    inv = load_inventory(fleet.inventory)
    env = inv.environment("it")
    pool = ConnectionPool()
    runner = _runner(pool)
    good = [env.host("good1"), env.host("good2")]
    runner.run(env, [kb.get("mta")], hosts=good)
    runner.run(env, [kb.get("wfserver")], hosts=good)
    assert pool.connects == 2
    pool.close()


def test_secrets_in_config_never_leave_the_host(fleet: Fleet) -> None:
    p = cli(fleet, "check", "mta", "--host", "good1", "--json", "--all")
    assert "sim-db-password" not in p.stdout + p.stderr


def test_each_fault_gets_its_own_next_step(fleet: Fleet) -> None:
    data = json.loads(cli(fleet, "check", "mta", "--json").stdout)
    by_host = {s["host"]: s for s in data["next_steps"] if s["host"] and s["module"] is None}
    assert by_host["unknownkey"]["command"].startswith("ssh-keyscan -p ")
    assert "CHANGED" in by_host["badkey"]["text"]
    assert "authorized_keys" in by_host["noauth"]["text"]
    assert "port" in by_host["closed"]["text"]
    # A host that accepts TCP but never speaks SSH ran nothing: no "command hung" there.
    assert "sshd runs on silent" in by_host["silent"]["text"] and "hung" not in by_host["silent"]["text"]
    assert "a command hung" in by_host["hang"]["text"]
    doctor = [s for s in data["next_steps"] if s["command"] == "campaign-bot doctor --env it"]
    assert len(doctor) == 1  # one step for all unchecked hosts
