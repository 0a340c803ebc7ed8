"""The CLI as a subprocess: JSON shapes, exit codes, hostile input, the terminal chat on the simulated fleet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=e,
        cwd=cwd or ROOT,
    )


def test_match_json() -> None:
    p = run("match", "mail not sending", "--json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert data["query"] == "mail not sending"
    assert [m["module"] for m in data["matches"]][:2] == ["mta", "stat"]
    assert all(set(m) == {"module", "score", "reasons"} for m in data["matches"])


SECRET = "Pasted-Pw-8841zq"


@pytest.mark.parametrize(
    "args",
    [
        ("match", f"mail not sending, we use password={SECRET}", "--json"),
        ("match", f"mail not sending, we use password={SECRET}"),
        ("diagnose", f"mail not sending, we use password={SECRET}", "--json"),
        ("diagnose", f"hello, password={SECRET}", "--json"),
        ("diagnose", f"something with password={SECRET}"),
    ],
)
def test_a_secret_pasted_in_the_question_is_never_echoed(args: tuple[str, ...]) -> None:
    p = run(*args)
    assert p.returncode in (0, 1), p.stderr
    assert SECRET not in p.stdout + p.stderr
    assert "[REDACTED]" in p.stdout or "--json" not in args, p.stdout[:400]


def test_match_jsonl_in_order_with_abstention() -> None:
    lines = [{"text": "mail not sending"}, {"text": "good morning team"}, {"text": "workflow blijft hangen"}]
    p = run("match", "--jsonl", stdin="\n".join(json.dumps(x) for x in lines) + "\n")
    assert p.returncode == 0
    out = [json.loads(line) for line in p.stdout.splitlines()]
    assert [o["query"] for o in out] == [x["text"] for x in lines]
    assert out[1]["matches"] == []
    assert out[2]["matches"][0]["module"] == "wfserver"


def test_match_jsonl_bad_line_does_not_stop_but_the_exit_code_says_so() -> None:
    p = run("match", "--jsonl", stdin='not json\n{"text": "no process starts"}\n')
    assert p.returncode == 2 and "1 line(s)" in p.stderr and "line 1" in p.stderr
    out = [json.loads(line) for line in p.stdout.splitlines()]
    assert out[0]["matches"] == [] and "error" in out[0]
    assert out[1]["matches"][0]["module"] == "watchdog"


def test_modules_json_lists_every_module() -> None:
    p = run("modules", "--json")
    assert p.returncode == 0
    rows = json.loads(p.stdout)
    assert {"mta", "wfserver", "watchdog"} <= {r["name"] for r in rows}
    assert "waakhond" in next(r for r in rows if r["name"] == "watchdog")["aliases"]


def test_module_json_keeps_instance() -> None:
    p = run("module", "mta@staging", "--json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert data["module"] == "mta" and data["instance"] == "staging" and data["process"] == "mta@staging"


@pytest.mark.parametrize(
    ("arg", "canonical"), [("waakhond", "watchdog"), ("wf server", "wfserver"), ("IN-MAIL", "inMail")]
)
def test_module_aliases(arg: str, canonical: str) -> None:
    p = run("module", arg, "--json")
    assert json.loads(p.stdout)["module"] == canonical


@pytest.mark.parametrize("arg", ["mta; rm -rf /", "$(id)", "nosuchmodule"])
def test_module_unknown_exit_2(arg: str) -> None:
    p = run("module", arg)
    assert p.returncode == 2
    assert "unknown module" in p.stderr and "Traceback" not in p.stderr
    assert p.stdout == ""


def test_module_card_text() -> None:
    p = run("module", "waakhond")
    assert p.returncode == 0
    assert p.stdout.startswith("watchdog:") and "nlserver watchdog -svc -noconsole" in p.stdout


def test_modules_list() -> None:
    p = run("modules")
    assert len(p.stdout.splitlines()) == 11 and "inMail" in p.stdout


def test_knowledge_check() -> None:
    p = run("knowledge", "check")
    assert p.returncode == 0 and "11 modules" in p.stdout


def test_knowledge_check_broken(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "bot" / "knowledge", tmp_path / "k")
    f = tmp_path / "k" / "modules" / "web.yaml"
    f.write_text(f.read_text().replace("kind: daemon", "kind: demon"))
    p = run("--knowledge", str(tmp_path / "k"), "knowledge", "check")
    assert p.returncode == 2
    assert "web.yaml: kind:" in p.stderr and "Traceback" not in p.stderr


def test_run_terminal_chat_on_simulated_fleet(tmp_path: Path) -> None:
    p = run("run", stdin="mail not sending\ngood morning team\n/campaign-module waakhond\n", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "SIMULATED" in p.stderr
    answers = p.stdout.split("\n\n[SIMULATED")
    assert p.stdout.count("[SIMULATED FLEET") == 3  # every answer says the hosts are simulated
    assert "mta@prod should run" in p.stdout and "nlserver start mta@prod" in p.stdout and "app2" in p.stdout
    assert "I answer questions about Adobe Campaign" in p.stdout
    assert "watchdog: Watchdog" in answers[-1]


def test_diagnose_json_on_simulated_fleet(tmp_path: Path) -> None:
    p = run("diagnose", "mail not sending", "--json", cwd=tmp_path)
    assert p.returncode == 1
    data = json.loads(p.stdout)
    assert data["simulated"] is True
    assert {m["module"] for m in data["modules"]} >= {"mta", "stat"}
    assert any(f["host"] == "app2" and f["module"] == "mta" and f["status"] == "fail" for f in data["findings"])
    step = next(s for s in data["next_steps"] if s["command"] == "nlserver start mta@prod")
    assert step["host"] == "app2" and step["risk"] == "changes-state"
    assert set(step) >= {"host", "module", "text", "command", "risk"}
    assert "app2" in data["verdict"]


@pytest.mark.parametrize(
    "args",
    [
        ["check", "mta; reboot"],
        ["check", "mta", "--env", "prod;ls"],
        ["check", "mta", "--host", "app9"],
        ["check", "mta@x;y"],
        ["check", "mta@staging"],  # not an instance of the simulated environment
        ["doctor", "--env", "nope"],
        ["diagnose", "mail", "--env", "$(id)"],
    ],
)
def test_hostile_or_unknown_arguments_exit_2_before_connecting(args: list[str], tmp_path: Path) -> None:
    p = run(*args, cwd=tmp_path)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and p.stderr.startswith("campaign-bot")


def test_broken_inventory_names_file_and_field(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "environments:\n  prod:\n    hosts:\n      - name: app1\n        address: 10.0.0.1\n        port: seventy\n"
    )
    p = run("check", "mta", "--inventory", str(inv))
    assert p.returncode == 2
    assert f"{inv}: environments.prod.hosts.0.port" in p.stderr


def test_env_var_inventory_and_missing_file(tmp_path: Path) -> None:
    p = run("doctor", env={"CAMPAIGN_BOT_INVENTORY": str(tmp_path / "missing.yaml")})
    assert p.returncode == 2 and "inventory file not found" in p.stderr


def test_doctor_simulated(tmp_path: Path) -> None:
    p = run("doctor", "--json", cwd=tmp_path)
    assert p.returncode == 0
    rows = json.loads(p.stdout)["hosts"]
    assert {r["host"] for r in rows} == {"app1", "app2", "track1", "track2"}
    assert all(r["nlserver"] and r["build"] == "9379@3f1a2b7" for r in rows)


def test_chat_shows_the_log_when_asked(tmp_path: Path) -> None:
    p = run("run", stdin="show the mta log\n", cwd=tmp_path)
    assert p.returncode == 0
    # app2's mta log, read across the rotated mta_2.log, with the DETAIL line of its database error
    assert "last 6 lines:" in p.stdout and "PGS-220000 PostgreSQL error" in p.stdout
    assert "DETAIL:  Key (ibroadlogid)=(6604001) already exists." in p.stdout


def test_knowledge_check_refuses_an_alias_two_modules_claim(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "bot" / "knowledge", tmp_path / "k")
    f = tmp_path / "k" / "modules" / "web.yaml"
    f.write_text(f.read_text().replace("aliases: [web,", "aliases: [web, statserver,", 1))
    p = run("--knowledge", str(tmp_path / "k"), "knowledge", "check")
    assert p.returncode == 2, p.stdout
    assert "web.yaml: aliases.1: 'statserver' already names module 'stat'" in p.stderr


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("hosts: [{name: a1, transport: local, modules: [web, mtaa]}]", "environments.acc.hosts.0.modules.1"),
        (
            "hosts: [{name: a1, transport: local}]\n    watch: {every: 1m, modules: [stats]}",
            "environments.acc.watch.modules.0",
        ),
    ],
)
def test_unknown_module_names_in_the_inventory_are_refused_with_the_field(
    tmp_path: Path, where: str, field: str
) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(f"environments:\n  acc:\n    {where}\n")
    for args in (("watch", "--once"), ("doctor",), ("diagnose", "mail not sending")):
        p = run(*args, "--inventory", str(inv), cwd=tmp_path)
        assert p.returncode == 2, (args, p.stdout)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{field}: unknown module" in lines[0] and "did you mean" in lines[0]


def test_no_environment_given_says_so_plainly(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "environments:\n  a:\n    hosts: [{name: h1, transport: local}]\n  b:\n    hosts: [{name: h2, transport: local}]\n"
    )
    p = run("doctor", "--inventory", str(inv), cwd=tmp_path)
    assert p.returncode == 2 and "which environment? none was given" in p.stderr and "known: a, b" in p.stderr


def test_an_invalid_log_level_stops_start_up() -> None:
    p = run("modules", env={"LOG_LEVEL": "LOUD"})
    assert p.returncode == 2 and "LOG_LEVEL" in p.stderr.upper()


def test_a_typo_in_a_module_name_is_named_not_silently_corrected(tmp_path: Path) -> None:
    p = run("check", "mtaa", cwd=tmp_path)
    assert "read 'mtaa' as mta" in p.stdout


def test_control_characters_in_a_name_are_shown_not_hidden(tmp_path: Path) -> None:
    p = run("run", stdin="/campaign-module mta\x1b[2J\n", cwd=tmp_path)
    assert "unknown module 'mta?[2J'" in p.stdout and "\x1b" not in p.stdout


def test_run_refuses_an_unknown_environment(tmp_path: Path) -> None:
    p = run("run", "--env", "staging", stdin="mail not sending\n", cwd=tmp_path)
    assert p.returncode == 2 and "unknown environment 'staging'; known: prod" in p.stderr and not p.stdout


@pytest.mark.parametrize("args", [("check", "mta", "--env", "prod"), ("watch", "--env", "prod", "--once"), ("doctor",)])
def test_an_inventory_that_is_not_text_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_bytes(b"\xff\xfe garbage")
    p = run(*args, "--inventory", str(inv))
    assert p.returncode == 2, p.stderr
    assert p.stderr.splitlines() == [
        f"campaign-bot: {inv}: not UTF-8 text (byte 0xff at offset 0): save it as UTF-8 YAML"
    ]
