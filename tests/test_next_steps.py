"""Next steps: host-specific paths and values, no contradictory duplicates, generic restarts only when
nothing specific explains the errors (fake hosts, then the simulated fleet with its real checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.diagnosis import Diagnoser, next_steps
from bot.inventory import Environment, parse_inventory
from bot.kb import KnowledgeBase
from bot.kb.placeholders import fill
from bot.matcher import Matcher
from bot.models import Finding, NextStep
from bot.runner import Runner
from bot.simulator import build_simulated_inventory
from bot.transports.base import Transport
from bot.transports.local import LocalTransport
from tests.fakes import fake_host
from tests.test_checks import NOW, PS, check_on, healthy

OPT = "/opt/adobe/nl6"  # an install outside /usr/local/neolane
CROSS = (
    "Unable to rename file '/dev/shm/tmp0000.tmp' to /opt/adobe/nl6/bin/..//var/prod/mta/86510470.xml "
    ";(errno=18, Invalid cross-device link) (iRc=-52)"
)
PGS = "PGS-220000 PostgreSQL error: FATAL: remaining connection slots are reserved (iRc=-2006)"


def env_of(*hosts: dict[str, object], instances: tuple[str, ...] = ("prod",)) -> Environment:
    data = {"instances": list(instances), "hosts": list(hosts)}
    return parse_inventory({"environments": {"prod": data}}, "test").environment("prod")


def mta_log(*messages: str) -> str:
    lines = "".join(f"2023-11-14T22:1{i}:00.000Z\t1\t1\t1\terror\tlog\t{m}\n" for i, m in enumerate(messages))
    return f"@@STAT 200 {NOW}@@\n{lines}"


def opt_host(**over: object) -> dict[str, object]:
    """A healthy host installed under /opt/adobe/nl6, TMPDIR on another device than var."""
    base = healthy(
        **{
            "env": f"user neolane\nvar_dir {OPT}/var\nxtk_var_dir \ntmpdir /dev/shm\ntrace_addr \n",
            "devices": f"27 /dev/shm\n2049 {OPT}/var\n",
        }
    )
    base.update(over)
    return base


def opt_healthy(**over: object) -> dict[str, object]:
    return opt_host(**{"devices": f"2049 /tmp\n2049 {OPT}/var\n", "env": f"user neolane\nvar_dir {OPT}/var\n", **over})


TWO = env_of({"name": "app1", "address": "10.0.0.1", "nl_home": OPT}, {"name": "app2", "address": "10.0.0.2"})


def on(steps: tuple[NextStep, ...] | list[NextStep], host: str) -> list[NextStep]:
    return [s for s in steps if s.host == host]


def test_cross_device_gets_one_fix_with_the_hosts_paths_and_no_generic_restart(
    kb: KnowledgeBase, matcher: Matcher
) -> None:
    sick = opt_host(**{"log:var/prod/log/mta.log": mta_log(CROSS)})
    d = check_on(kb, matcher, TWO, {"app1": fake_host(sick), "app2": fake_host(healthy())}, ["mta"])
    steps = on(d.next_steps, "app1")
    tmp = [s for s in steps if "TMPDIR" in s.text]
    assert len(tmp) == 1  # the tmp_device host fact and the log's evidence give one fix, not two
    assert f"export TMPDIR={OPT}/var/tmp` to {OPT}/customer.sh" in tmp[0].text
    assert tmp[0].risk.value == "changes-state"
    assert not [s for s in d.next_steps if "/usr/local/neolane" in s.text + (s.command or "")]
    ids = {s.step_id for s in steps}
    # The error is explained (temporary files): no catch-all restart, no verbose restart, no affinity hunt;
    # mta runs, so statServerAddress cannot be why it does not start.
    assert not ids & {"restart-mta", "verbose-mta", "affinities", "stat-address", "cross-device"}
    assert "read-log" in ids


def test_cross_device_in_the_log_without_the_host_fact_names_the_hosts_var(kb: KnowledgeBase, matcher: Matcher) -> None:
    # TMPDIR was fixed since (same device now), but the log still shows the error of an hour ago.
    sick = opt_host(**{"log:var/prod/log/mta.log": mta_log(CROSS), "devices": f"2049 /tmp\n2049 {OPT}/var\n"})
    d = check_on(kb, matcher, TWO, {"app1": fake_host(sick), "app2": fake_host(healthy())}, ["mta"])
    steps = on(d.next_steps, "app1")
    cross = [s for s in steps if s.step_id == "cross-device"]
    assert len(cross) == 1 and len([s for s in steps if "TMPDIR" in s.text]) == 1
    assert f"create {OPT}/var/tmp, add `export TMPDIR={OPT}/var/tmp` to {OPT}/customer.sh" in cross[0].text
    assert not {s.step_id for s in steps} & {"restart-mta", "verbose-mta"}


def test_cross_device_follows_xtk_var_dir(kb: KnowledgeBase, matcher: Matcher) -> None:
    sick = opt_host(
        **{
            "env": "user neolane\nvar_dir /data/nl6var\nxtk_var_dir /data/nl6var\ntmpdir /dev/shm\ntrace_addr \n",
            "devices": "27 /dev/shm\n2050 /data/nl6var\n",
        }
    )
    d = check_on(kb, matcher, TWO, {"app1": fake_host(sick), "app2": fake_host(healthy())}, ["mta"])
    tmp = [s for s in d.next_steps if "TMPDIR" in s.text]
    assert len(tmp) == 1 and "export TMPDIR=/data/nl6var/tmp` to /opt/adobe/nl6/customer.sh" in tmp[0].text


def test_errors_nothing_explains_keep_the_generic_steps(kb: KnowledgeBase, matcher: Matcher) -> None:
    sick = opt_host(**{"log:var/prod/log/mta.log": mta_log(CROSS, PGS)})
    d = check_on(kb, matcher, TWO, {"app1": fake_host(sick), "app2": fake_host(healthy())}, ["mta"])
    ids = [s.step_id for s in on(d.next_steps, "app1")]
    assert {"restart-mta", "verbose-mta", "affinities"} <= set(ids)
    assert "stat-address" not in ids  # mta runs
    assert len([s for s in d.next_steps if "TMPDIR" in s.text]) == 1


def test_an_old_process_is_still_restarted_when_its_errors_are_explained(kb: KnowledgeBase, matcher: Matcher) -> None:
    old = PS.replace("3 Sl neolane 3600 23000 nlserver mta", "3 Sl neolane 100000 23000 nlserver mta")
    sick = opt_host(**{"log:var/prod/log/mta.log": mta_log(CROSS), "ps": old})
    d = check_on(kb, matcher, TWO, {"app1": fake_host(sick), "app2": fake_host(healthy())}, ["mta"])
    ids = [s.step_id for s in on(d.next_steps, "app1")]
    assert "restart-mta" in ids  # too_old selects it on its own
    assert "verbose-mta" not in ids  # selected by log_errors only, which the temporary files explain


def test_stat_address_only_when_mta_is_down(kb: KnowledgeBase, matcher: Matcher) -> None:
    down = healthy(
        **{
            "nlserver-pdump": healthy()["nlserver-pdump"].replace("\nmta@prod (3) - 23.0 MB", ""),  # type: ignore[union-attr]
            "nlserver-monitor-missing": f"{healthy()['nlserver-monitor-missing']}\nmta@prod",
            "log:var/prod/log/mta.log": mta_log(PGS),
        }
    )
    up = healthy(**{"log:var/prod/log/mta.log": mta_log(PGS)})
    d = check_on(kb, matcher, TWO, {"app1": fake_host(up), "app2": fake_host(down)}, ["mta"])
    stat = [s for s in d.next_steps if s.step_id == "stat-address"]
    assert [s.host for s in stat] == ["app2"]
    assert "config-prod.xml" in stat[0].text and "<instance>" not in stat[0].text
    assert stat[0].command == "grep -n statServerAddress /usr/local/neolane/nl6/conf/config-prod.xml"


def test_general_steps_are_filled_per_host_when_paths_differ(kb: KnowledgeBase, matcher: Matcher) -> None:
    d = check_on(kb, matcher, TWO, {"app1": fake_host(opt_healthy()), "app2": fake_host(healthy())}, ["web"])
    assert d.status not in ("warn", "fail")
    logs = [s for s in d.next_steps if s.step_id == "read-log"]
    assert {(s.host, s.command) for s in logs} == {
        ("app1", f"tail -n 200 {OPT}/var/default/log/web.log"),
        ("app2", "tail -n 200 /usr/local/neolane/nl6/var/default/log/web.log"),
    }
    assert not [s for s in d.next_steps if "<nl_home>" in (s.command or "") + s.text]
    # A step without a path stays one general step.
    who = [s for s in d.next_steps if s.step_id == "sessions"]
    assert len(who) == 1 and who[0].host is None and who[0].command == "nlserver pdump -who"


def test_general_steps_stay_one_when_the_hosts_share_their_paths(kb: KnowledgeBase, matcher: Matcher) -> None:
    same = env_of({"name": "app1", "address": "10.0.0.1"}, {"name": "app2", "address": "10.0.0.2"})
    d = check_on(kb, matcher, same, {"app1": fake_host(healthy()), "app2": fake_host(healthy())}, ["web"])
    logs = [s for s in d.next_steps if s.step_id == "read-log"]
    assert len(logs) == 1 and logs[0].host is None
    assert logs[0].command == "tail -n 200 /usr/local/neolane/nl6/var/default/log/web.log"
    assert logs[0].text.startswith("web: ")


def test_general_steps_skip_hosts_the_module_is_not_configured_on(kb: KnowledgeBase, matcher: Matcher) -> None:
    three = env_of(
        {"name": "app1", "address": "10.0.0.1", "nl_home": OPT},
        {"name": "app2", "address": "10.0.0.2", "nl_home": OPT},
        {"name": "mta1", "address": "10.0.0.3"},
    )
    no_web = healthy(
        config='### config-prod.xml\n<mta autoStart="true"/> <stat autoStart="true"/>',
        **{"nlserver-pdump": healthy()["nlserver-pdump"].replace("\nweb@default (5) - 50 MB", "")},  # type: ignore[union-attr]
    )
    hosts = {"app1": fake_host(opt_healthy()), "app2": fake_host(opt_healthy()), "mta1": fake_host(no_web)}
    d = check_on(kb, matcher, three, hosts, ["web"])
    logs = [s for s in d.next_steps if s.step_id == "read-log"]
    assert len(logs) == 1 and logs[0].host is None
    assert logs[0].text.startswith("on app1, app2: web: ")
    assert logs[0].command == f"tail -n 200 {OPT}/var/default/log/web.log"


def test_core_file_backtrace_names_the_binary_and_the_core(kb: KnowledgeBase, matcher: Matcher) -> None:
    cores = (
        f"1700000000 2097152 {OPT}/core.3120\n1600000000 2097152 {OPT}/core.1000\ncount 2\n"
        "file ELF 64-bit LSB core file, x86-64, version 1 (SYSV), SVR4-style, from 'nlserver mta -tracefile:mta@prod'\n"
    )
    d = check_on(kb, matcher, TWO, {"app1": fake_host(opt_host(cores=cores)), "app2": fake_host(healthy())}, ["mta"])
    gdb = [s for s in d.next_steps if s.command and s.command.startswith("gdb ")]
    assert len(gdb) == 1 and gdb[0].host == "app1" and gdb[0].risk.value == "read-only"
    assert gdb[0].command == f"gdb {OPT}/bin/nlserver {OPT}/core.3120"  # the newest
    assert "<" not in gdb[0].text


def _finding(check: str, module: str | None, instance: str | None, conditions: tuple[str, ...], summary: str):  # type: ignore[no-untyped-def]
    return Finding(
        host="(campaign API)",
        module=module,
        instance=instance,
        check=check,
        status="fail",
        summary=summary,
        conditions=conditions,  # type: ignore[arg-type]
    )


def test_instance_in_step_texts_when_known_placeholder_when_not(kb: KnowledgeBase) -> None:
    stuck = _finding("api_deliveries", "mta", None, ("delivery_stuck",), "'Sale' (DM1): Start pending")
    late = _finding("api_workflows", "wfserver", None, ("workflow_late",), "'cleanup' (Database cleanup) is late")
    for env, inst in (
        (TWO, "prod"),
        (env_of({"name": "app1", "address": "10.0.0.1"}, instances=("prod", "mkt")), None),
    ):
        steps = {s.step_id: s for s in next_steps(kb, env, [kb.get("mta"), kb.get("wfserver")], [stuck, late])}
        pending, cleanup = steps["pending-delivery"], steps["cleanup-late"]
        if inst:
            assert "check that mta@prod runs" in pending.text and "check wfserver@prod," in cleanup.text
        else:  # two instances: which one is not known
            assert "mta@<instance>" in pending.text and "wfserver@<instance>" in cleanup.text


def test_fill_text() -> None:
    text = "create var/tmp, add `export TMPDIR=var/tmp` to <nl_home>/customer.sh; check config-<instance>.xml"
    assert fill(text, module="mta", paths="known") == text
    assert fill(text, module="mta", instance="prod", nl_home="/x/nl6/", var_dir="/d/var", paths="known") == (
        "create /d/var/tmp, add `export TMPDIR=/d/var/tmp` to /x/nl6/customer.sh; check config-prod.xml"
    )
    assert fill(text, module="mta", nl_home="/x/nl6", paths="never") == text.replace("<nl_home>", "/x/nl6")


# ---------------------------------------------------------------- the simulated fleet, its real checks


def _local(host: object) -> Transport:
    return LocalTransport(getattr(host, "env_path", None))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Environment:
    root: Path = tmp_path_factory.mktemp("fleet")
    return build_simulated_inventory(root).environments["prod"]


def _no_host_paths_left(steps: tuple[NextStep, ...]) -> None:
    for s in steps:
        assert "<nl_home>" not in (s.command or "") + s.text, s
        assert "/usr/local/neolane" not in (s.command or "") + s.text, s
        assert "<core file>" not in (s.command or ""), s


def test_simulated_app1_mta_cross_device(kb: KnowledgeBase, matcher: Matcher, fleet: Environment) -> None:
    d = Diagnoser(kb, matcher, Runner(_local)).check([kb.get("mta")], fleet, hosts=[fleet.host("app1")])
    home = fleet.host("app1").nl_home
    assert any("Invalid cross-device link" in e for f in d.findings for e in f.evidence)
    tmp = [s for s in d.next_steps if "TMPDIR" in s.text]
    assert len(tmp) == 1 and f"export TMPDIR={home}/var/tmp` to {home}/customer.sh" in tmp[0].text
    ids = {s.step_id for s in d.next_steps}
    assert not ids & {"restart-mta", "verbose-mta", "stat-address", "affinities", "cross-device"}
    assert not [s for s in d.next_steps if (s.command or "").startswith("nlserver restart")]
    _no_host_paths_left(d.next_steps)


def test_simulated_app2_core_and_is_web_running(kb: KnowledgeBase, matcher: Matcher, fleet: Environment) -> None:
    diag = Diagnoser(kb, matcher, Runner(_local))
    d = diag.check([kb.get(n) for n in kb.names], fleet, hosts=[fleet.host("app2")])
    home = fleet.host("app2").nl_home
    gdb = [s for s in d.next_steps if (s.command or "").startswith("gdb ")]
    assert gdb and gdb[0].command == f"gdb {home}/bin/nlserver {home}/core.3120"
    assert any(s.step_id == "stat-address" and s.host == "app2" for s in d.next_steps)  # mta is down on app2
    _no_host_paths_left(d.next_steps)
    web = diag.diagnose("is web running?", fleet)
    logs = [s for s in web.next_steps if s.step_id == "read-log" and s.module == "web"]
    assert logs and all(s.command and s.command.endswith("/var/default/log/web.log") for s in logs)
    _no_host_paths_left(web.next_steps)


def test_what_a_host_level_or_api_check_needs_names_the_check_not_a_subject_host(kb: KnowledgeBase) -> None:
    env = env_of({"name": "app1", "address": "10.0.0.1"})
    needs = "campaign_api in the inventory (a read-only monitoring operator for Campaign's API)"
    api = Finding(
        host="(campaign API)",
        module=None,
        instance=None,
        check="campaign_api",
        status="unknown",
        summary="cannot tell",
        needs=needs,
    )
    texts = [s.text for s in next_steps(kb, env, [kb.get("mta")], [api])]
    assert f"for the campaign_api check, the bot needs {needs}" in texts, texts
    assert not any("to tell host" in t for t in texts)


def _error(host: str) -> Finding:
    return Finding(
        host=host,
        module=None,
        instance=None,
        check="connect",
        status="error",
        summary=f"unreachable: connection to {host}:22 refused",
    )


def test_hosts_not_checked_lead_the_verdict_over_a_warning_about_something_else(kb: KnowledgeBase) -> None:
    from bot.diagnosis import verdict

    env = env_of(*({"name": n, "address": f"10.0.0.{i}"} for i, n in enumerate(["acc1", "acc2", "acc3", "acc4"])))
    tmp = Finding(
        host="acc1",
        module=None,
        instance=None,
        check="tmp_device",
        status="warn",
        summary="temporary files are on another device than var",
    )
    _, text = verdict([tmp, _error("acc2"), _error("acc3"), _error("acc4")], [kb.get("mta")], env)
    assert text.startswith("Could not check 3 host(s): acc2: "), text
    assert "(+1 more)" in text and "Warning on acc1" in text
    # A failure of a module asked about still comes first.
    down = Finding(
        host="acc1",
        module="mta",
        instance="acc",
        check="process",
        status="fail",
        summary="mta@acc should run but does not",
    )
    _, text = verdict([down, _error("acc2")], [kb.get("mta")], env)
    assert text.startswith("Problem on acc1: mta@acc should run"), text


def test_the_clock_step_marked_read_only_asks_only_to_look(kb: KnowledgeBase) -> None:
    env = env_of({"name": "app1", "address": "10.0.0.1"})
    skew = Finding(
        host="app1",
        module=None,
        instance=None,
        check="clock",
        status="warn",
        summary="the clock of app1 is +4.2 s off",
        conditions=["clock_skew"],
    )
    (step,) = [s for s in next_steps(kb, env, [kb.get("mta")], [skew]) if s.command == "timedatectl status"]
    assert step.risk.value == "read-only" and "synchronise this host" not in step.text, step
