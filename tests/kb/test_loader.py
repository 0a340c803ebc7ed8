"""The knowledge base loads, is complete, keeps UNCONFIRMED marks, and refuses broken files by file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.errors import KnowledgeError
from bot.kb import KnowledgeBase, Risk, load_knowledge
from bot.kb.loader import DEFAULT_KNOWLEDGE_DIR

TABLE_MODULES = {
    "export",
    "import",
    "inMail",
    "mta",
    "stat",
    "syslogd",
    "tracking",
    "trackinglogd",
    "watchdog",
    "web",
    "wfserver",
}


def test_every_module_of_adobes_table(kb: KnowledgeBase) -> None:
    assert set(kb.names) >= TABLE_MODULES


def test_cards_are_complete(kb: KnowledgeBase) -> None:
    for m in kb.modules:
        assert m.title and m.executes and m.description and m.docs
        assert m.symptoms.en and m.symptoms.nl, m.name
        assert m.steps, m.name
        assert all(d.url.startswith("https://") for d in m.docs)
        for s in m.steps:
            if s.command and s.command.startswith("nlserver "):
                verb = s.command.split()[1]
                changes = (
                    verb in {"start", "stop", "restart", "shutdown", "watchdog", "config"} or "-reload" in s.command
                )
                assert (s.risk == Risk.CHANGES_STATE) == changes, (m.name, s.id, s.command)


def test_scope_and_process_names(kb: KnowledgeBase) -> None:
    assert kb.get("watchdog").process_name(None) == "watchdog"
    assert kb.get("web").process_name(None) == "web@default"
    assert kb.get("mta").process_name("prod") == "mta@prod"
    assert kb.get("mta").log_paths("prod") == ["var/prod/log/mta.log", "var/prod/log/mtachild.log"]
    assert kb.get("web").log_paths("prod") == ["var/default/log/web.log"]


def test_mtachild_and_runwf_belong_to_their_parents(kb: KnowledgeBase) -> None:
    assert "mtachild" in kb.get("mta").aliases
    assert "runwf" in kb.get("wfserver").aliases
    assert any("runwf.log" in lf.path for lf in kb.get("wfserver").logs)


def test_dutch_seed_names(kb: KnowledgeBase) -> None:
    assert "waakhond" in kb.get("watchdog").aliases
    assert "bijhouden" in kb.get("tracking").aliases


def test_unconfirmed_facts_stay_marked(kb: KnowledgeBase) -> None:
    assert any("UNCONFIRMED" in n and "6666" in n for n in kb.get("syslogd").notes)
    assert kb.get("stat").logs[0].unconfirmed
    assert any("UNCONFIRMED" in n for n in kb.get("tracking").notes)


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, dst)
    return dst


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("risk: read-only", "risk: maybe", 1), "mta.yaml: steps.0.risk"),
        (lambda t: t.replace("scope: instance", "scope: galaxy", 1), "mta.yaml: scope"),
        (lambda t: t.replace("title: ", "titel: ", 1), "mta.yaml: title: Field required"),
        (lambda t: t + "  - [unclosed\n", "mta.yaml: invalid YAML (line"),
        (
            lambda t: t.replace('"@MAIL + @SEND + @NEG"', '"@MAILS + @SEND"', 1),
            "mta.yaml: signals.@MAILS + @SEND: unknown concept",
        ),
        (lambda t: t.replace("name: mta", "name: mta2", 1), "does not match the file name"),
        (lambda t: t.replace("related: [stat]", "related: [nosuch]", 1), "related module 'nosuch'"),
        (
            lambda t: t.replace("command: nlserver start mta@{instance}", "command: nlserver start {x}", 1),
            "unknown placeholder",
        ),
        (
            lambda t: t.replace('evidence: "(?i)cross-device"', 'evidence: "(?i)cross-device"\n    generic: true', 1),
            "generic: only for a step selected by log_errors without an evidence pattern",
        ),
    ],
)
def test_broken_file_names_file_and_field(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    d = _copy(tmp_path)
    f = d / "modules" / "mta.yaml"
    f.write_text(edit(f.read_text()))
    with pytest.raises(KnowledgeError) as e:
        load_knowledge(d)
    assert expected in str(e.value)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="knowledge folder not found"):
        load_knowledge(tmp_path / "nope")


def test_models_are_frozen(kb: KnowledgeBase) -> None:
    with pytest.raises(Exception):
        kb.get("mta").name = "x"  # type: ignore[misc]
