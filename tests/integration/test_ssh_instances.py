"""Issue 7 on fleets laid out unlike the default one, behind real sshd hosts on loopback: a host with two
instances (prod running its mta, prod2's mta down), a tracking-only host, and a pure MTA host whose
install root is not `nl6` and whose var is moved by XTK_VAR_DIR. The inventory lists both instances, or
none (then they are read from the hosts). Questions go through the CLI (`campaign-bot check`), as an
operator types them: instance names in another case are the instance, an instance no host has is said so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.simulator.fleet import XSV_NO_SESSION, HostScenario, build_host
from tests.harness.sshd import SshdLab, chown_tree, require_sshd, write_inventory


@dataclass
class InstancesLab:
    lab: SshdLab
    listed: Path  # the inventory lists prod and prod2
    unlisted: Path  # the inventory lists no instance

    def without(self, *hosts: str) -> Path:
        """The unlisted inventory without `hosts`."""
        data = yaml.safe_load(self.unlisted.read_text())
        env = data["environments"]["x"]
        env["hosts"] = [h for h in env["hosts"] if h["name"] not in hosts]
        path = self.lab.root / f"without-{'-'.join(hosts)}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def with_modules(self, host: str, modules: list[str]) -> Path:
        """The listed inventory, with `modules` for `host` (the override of its autoStart)."""
        data = yaml.safe_load(self.listed.read_text())
        for h in data["environments"]["x"]["hosts"]:
            if h["name"] == host:
                h["modules"] = modules
        path = self.lab.root / f"modules-{'-'.join(modules).replace('@', '_')}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


def _redir(host: str, instance: str) -> str:
    return f"<redir status='OK' date='{{date}}' build='9379' instance='{instance}' host='{host}' localHost='{host}'/>"


def _scenarios() -> list[tuple[str, str, HostScenario, tuple[str, ...], str | None]]:
    multi = HostScenario(
        name="multi",
        # one stat for both instances, as Adobe advises for instances sharing a machine
        configured=["web", "syslogd", "mta@prod", "mta@prod2", "wfserver@prod", "wfserver@prod2", "stat@prod"],
        running={
            "watchdog": (100, 6.6, 3600),
            "syslogd@default": (101, 7.0, 3600),
            "web@default": (102, 300.0, 3600),
            "mta@prod": (103, 23.0, 3600),
            "wfserver@prod": (104, 11.0, 3600),
            "wfserver@prod2": (105, 11.0, 3600),
            "stat@prod": (106, 1.5, 3600),
        },
        logs={
            "var/prod/log/mta.log": [(5, "info", "Starting main MTA")],
            "var/prod2/log/mta.log": [(20, "info", "Stopping main MTA")],
            "var/default/log/web.log": [(3, "info", "Server started")],
        },
        ports=[("udp", 6666), ("tcp", 8080), ("tcp", 80), ("udp", 7777)],
        http={
            "http://localhost/r/test": (200, _redir("multi", "prod")),
            "http://localhost:8080/nl/jsp/ping.jsp": XSV_NO_SESSION,
        },
    )
    mid = HostScenario(
        name="mid",
        configured=["web", "syslogd", "trackinglogd"],
        running={
            "watchdog": (200, 6.6, 3600),
            "syslogd@default": (201, 7.0, 3600),
            "web@default": (202, 300.0, 3600),
            "trackinglogd@default": (203, 40.0, 3600),
        },
        ports=[("udp", 6666), ("tcp", 8080), ("tcp", 80)],
        redir_age_min=5,
    )
    pure = HostScenario(
        name="puremta",
        configured=["syslogd", "mta@prod2"],
        running={"watchdog": (300, 6.6, 3600), "syslogd@default": (301, 7.0, 3600), "mta@prod2": (302, 20.0, 3600)},
        logs={
            "var/prod2/log/mta.log": [(3, "info", "Message delivery batch processed")],
            "var/prod2/log/mtachild.log": [(3, "info", "Message delivery batch processed")],
        },
        ports=[("udp", 6666)],
        xtk_var_dir=True,
    )
    # Two hosts whose conf/ the bot's user may not read (it is not the Campaign user): one runs mta@prod
    # with mta@prod2 down, one runs nothing and is meant to run nothing that pdump or monitor -missing name.
    locked = HostScenario(
        name="lockedconf",
        configured=["syslogd", "mta@prod", "mta@prod2"],
        running={"watchdog": (400, 6.6, 3600), "syslogd@default": (401, 7.0, 3600), "mta@prod": (403, 23.0, 3600)},
        logs={
            "var/prod/log/mta.log": [(5, "info", "Starting main MTA")],
            "var/prod2/log/mta.log": [(20, "error", "PGS-220000 PostgreSQL error: no connection (iRc=-2006)")],
        },
        ports=[("udp", 6666)],
    )
    blind = HostScenario(name="blindconf", configured=[], ports=[])
    return [
        ("lockedconf", "127.0.0.73", locked, ("prod", "prod2"), None),
        ("blindconf", "127.0.0.74", blind, ("prod",), None),
        ("multi", "127.0.0.70", multi, ("prod", "prod2"), None),
        ("mid", "127.0.0.71", mid, ("prod", "prod2"), None),
        ("puremta", "127.0.0.72", pure, ("prod2",), "campaign"),  # nl_home <root>/puremta/campaign
    ]


@pytest.fixture(scope="module")
def instances_lab() -> Iterator[InstancesLab]:
    require_sshd()
    lab = SshdLab()
    hosts: list[dict[str, object]] = []
    try:
        for name, addr, sc, insts, rename in _scenarios():
            home = build_host(lab.root / "hosts", sc, insts)
            if rename:
                home = home.rename(home.parent / rename)
                (home / "sim" / "proc_home").write_text(f"{home}\n")
            h = lab.start_host(name, addr, home)
            hosts.append({"name": name, "address": addr, "port": h.port, "nl_home": str(home)})
        chown_tree(lab.root / "hosts", lab.user)
        if os.geteuid() == 0:  # the bot logs in as an unprivileged user: conf/ only its owner may read
            for name in ("lockedconf", "blindconf"):
                conf = lab.root / "hosts" / name / "nl6" / "conf"
                conf.chmod(0o700)
                os.chown(conf, 0, 0)
        listed = write_inventory(lab.root / "listed.yaml", lab, hosts, env="x", instances=("prod", "prod2"))
        unlisted = write_inventory(lab.root / "unlisted.yaml", lab, hosts, env="x")
        data = yaml.safe_load(unlisted.read_text())
        del data["environments"]["x"]["instances"]
        unlisted.write_text(yaml.safe_dump(data, sort_keys=False))
        yield InstancesLab(lab, listed, unlisted)
    finally:
        lab.close()


def _cli(inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "bot", *args, "--env", "x", "--inventory", str(inventory), "--json"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _check(inventory: Path, module: str, verb: str = "check", *extra: str) -> dict[str, Any]:
    p = _cli(inventory, verb, module, *extra)
    assert p.returncode in (0, 1), p.stderr + p.stdout
    out: dict[str, Any] = json.loads(p.stdout)
    return out


def _process(d: dict[str, Any], host: str, instance: str | None = None) -> dict[str, Any]:
    found = [
        f
        for f in d["findings"]
        if f["host"] == host and f["check"] == "process" and f["module"] == "mta" and instance in (None, f["instance"])
    ]
    assert len(found) == 1, (host, found)
    return found[0]


@pytest.mark.parametrize("inventory", ["listed", "unlisted"])
def test_instance_in_another_case_is_that_instance(instances_lab: InstancesLab, inventory: str) -> None:
    """`check MTA@PROD2` is mta@prod2: not refused as unknown (instances listed), and its files are
    prod2's (var/prod2/log, config-prod2.xml), never var/PROD2 read as missing (instances read from hosts)."""
    d = _check(getattr(instances_lab, inventory), "MTA@PROD2")
    multi = _process(d, "multi")
    assert multi["status"] == "fail" and multi["instance"] == "prod2", multi
    assert "config-prod2.xml" in multi["summary"], multi["summary"]
    pure = _process(d, "puremta")
    assert pure["status"] == "ok" and pure["instance"] == "prod2" and "runs" in pure["summary"], pure
    logs = [f for f in d["findings"] if f["check"] == "log" and f["host"] == "puremta"]
    assert logs and all("PROD2" not in f["summary"] and f["status"] == "ok" for f in logs), logs
    starts = [s for s in d["next_steps"] if (s.get("command") or "").startswith("nlserver start")]
    # lockedconf's mta@prod2 is down too (monitor -missing says so, its conf/ unreadable or not)
    assert {(s["host"], s["command"]) for s in starts} == {
        ("multi", "nlserver start mta@prod2"),
        ("lockedconf", "nlserver start mta@prod2"),
    }, starts


def test_instance_no_host_has(instances_lab: InstancesLab) -> None:
    """With no instances in the inventory, `check mta@prod3` cannot be refused up front: each host says
    it has no such instance (and which it has), never a bare "not configured (no autoStart)"."""
    d = _check(instances_lab.unlisted, "mta@prod3")
    for host, has in (("multi", "prod, prod2"), ("mid", "prod, prod2"), ("puremta", "prod2")):
        f = _process(d, host)
        assert f["status"] == "ok" and "no instance prod3" in f["summary"] and has in f["summary"], f
    assert not [s for s in d["next_steps"] if s.get("risk") == "changes-state"], d["next_steps"]


@pytest.mark.parametrize("modules", [["syslogd", "mta"], ["syslogd", "mta@prod2"], ["syslogd", "MTA@PROD2"]])
def test_modules_override_on_a_pure_mta_of_one_instance(instances_lab: InstancesLab, modules: list[str]) -> None:
    """`modules: [mta]` on the pure MTA of prod2 (it has no config-prod.xml) does not make mta@prod
    "enabled but not in pdump" there; `mta@prod2` says the instance outright."""
    d = _check(instances_lab.with_modules("puremta", modules), "is mta running?", "diagnose")
    prod = _process(d, "puremta", "prod")
    assert prod["status"] == "ok" and "not configured" in prod["summary"], prod
    prod2 = _process(d, "puremta", "prod2")
    assert prod2["status"] == "ok" and "runs" in prod2["summary"], prod2
    assert not [s for s in d["next_steps"] if s["host"] == "puremta" and s.get("risk") == "changes-state"]
    multi = _process(d, "multi", "prod2")  # the other host's own autoStart is untouched
    assert multi["status"] == "fail", multi


def test_modules_override_still_says_a_listed_module_is_down(instances_lab: InstancesLab) -> None:
    """The inventory says multi runs mta (it has both instances' files): mta@prod2 down is a failure,
    said as the inventory's, not as autoStart's."""
    d = _check(instances_lab.with_modules("multi", ["web", "syslogd", "mta", "wfserver"]), "mta@prod2")
    f = _process(d, "multi")
    assert f["status"] == "fail" and f["instance"] == "prod2", f


def test_modules_entry_of_an_unknown_instance_is_refused(instances_lab: InstancesLab) -> None:
    p = _cli(instances_lab.with_modules("puremta", ["mta@prod3"]), "check", "mta")
    assert p.returncode == 2 and "unknown instance 'prod3'" in p.stderr and "prod, prod2" in p.stderr, p.stderr


def test_one_stat_shared_by_two_instances(instances_lab: InstancesLab) -> None:
    """ "mail not sending" on the fleet: stat@prod2 enabled nowhere while stat@prod runs is Adobe's advice
    for instances sharing a machine (keep one stat), not a warning; the mta answers stay per instance."""
    # (without the hosts whose conf/ is unreadable: where stat@prod2 may be enabled nobody can say "nowhere")
    d = _check(instances_lab.without("lockedconf", "blindconf"), "mail not sending", "diagnose")
    nowhere = [f for f in d["findings"] if f["host"] == "(all hosts)" and f["module"] == "stat"]
    assert [f["status"] for f in nowhere] == ["ok"] and "stat@prod runs on multi" in nowhere[0]["summary"], nowhere
    assert _process(d, "multi", "prod2")["status"] == "fail" and _process(d, "multi", "prod")["status"] == "ok"
    assert _process(d, "puremta", "prod2")["status"] == "ok"
    starts = [(s["host"], s["command"]) for s in d["next_steps"] if s.get("risk") == "changes-state"]
    assert starts == [("multi", "nlserver start mta@prod2")], starts


def _hosts(d: dict[str, Any], host: str) -> list[dict[str, Any]]:
    return [f for f in d["findings"] if f["host"] == host]


def test_instances_of_a_host_whose_conf_the_bot_may_not_read(instances_lab: InstancesLab) -> None:
    """No instances in the inventory and conf/ unreadable: the instances come from pdump and
    `monitor -missing`, so mta@prod2 down is a failure (with its log read), not a silent host."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a folder the login user may not enter")
    d = _check(instances_lab.unlisted, "mta", "check", "--host", "lockedconf")
    assert _process(d, "lockedconf", "prod")["status"] == "ok"
    down = _process(d, "lockedconf", "prod2")
    assert down["status"] == "fail" and "monitor -missing" in down["summary"], down
    logs = [f for f in _hosts(d, "lockedconf") if f["check"] == "log" and f["instance"] == "prod2"]
    assert any(f["status"] == "warn" and "PGS-220000" in f["summary"] for f in logs), logs


def test_no_instance_seen_and_conf_unreadable_is_cannot_tell(instances_lab: InstancesLab) -> None:
    """Nothing names an instance and conf/ is unreadable: "cannot tell" which instances, never a host
    with no mta finding at all (read as "no problem found for mta")."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a folder the login user may not enter")
    d = _check(instances_lab.unlisted, "mta", "check", "--host", "blindconf")
    found = [f for f in _hosts(d, "blindconf") if f["check"] == "instances"]
    assert len(found) == 1 and found[0]["status"] == "unknown" and "conf" in (found[0]["needs"] or ""), found
    assert "<nl_home>" not in found[0]["needs"], found  # the host's own install folder, named
    assert d["status"] != "ok", d["verdict"]
