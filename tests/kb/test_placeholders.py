"""One function fills placeholders (bot.kb.placeholders.fill): commands, texts and host steps, as before."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.kb.placeholders import fill

ROOT = Path(__file__).resolve().parents[2]


def test_commands_fill_braces_and_anchor_relative_paths() -> None:
    cmd = "tail -n 200 var/{instance}/log/mta.log; grep x conf/config-{instance}.xml"
    assert fill(cmd, module="mta") == (
        "tail -n 200 <nl_home>/var/<instance>/log/mta.log; grep x <nl_home>/conf/config-<instance>.xml"
    )
    assert fill(cmd, module="mta", instance="prod", nl_home="/opt/nl6/", var_dir="/data/var") == (
        "tail -n 200 /data/var/prod/log/mta.log; grep x /opt/nl6/conf/config-prod.xml"
    )
    assert (
        fill("nlserver start {module}@{instance} on {host}", module="mta") == "nlserver start mta@<instance> on <host>"
    )


def test_texts_keep_relative_paths_unless_the_host_is_known() -> None:
    text = "look in var/<instance>/log and <nl_home>/customer.sh"
    assert fill(text, module="mta", paths="known") == text
    assert fill(text, module="mta", instance="prod", paths="known") == "look in var/prod/log and <nl_home>/customer.sh"
    assert fill(text, module="mta", nl_home="/n", paths="known") == "look in /n/var/<instance>/log and /n/customer.sh"
    assert fill(text, module="mta", nl_home="/n", paths="never") == "look in var/<instance>/log and /n/customer.sh"


def test_host_steps_fill_the_core_file_and_the_install_root() -> None:
    cmd = "gdb <nl_home>/bin/nlserver <core file>"
    assert (
        fill(cmd, module="", nl_home="/usr/local/neolane/nl6") == "gdb /usr/local/neolane/nl6/bin/nlserver <core file>"
    )
    assert fill(cmd, module="", nl_home="/n", core_file="/n/core.42") == "gdb /n/bin/nlserver /n/core.42"
    assert fill("<nl_home>/var/x and =var/tmp", module="", nl_home="/n", var_dir="/v") == "/n/var/x and =/v/tmp"


def test_no_other_module_replaces_placeholders_itself() -> None:
    """The issue asks for one function: nothing else in bot/ replaces `<nl_home>`, `<instance>` or `{instance}`."""
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "placeholders.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "replace"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in ("<nl_home>", "<instance>", "{instance}", "<core file>", "{module}", "{host}")
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
