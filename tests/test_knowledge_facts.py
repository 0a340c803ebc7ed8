"""The knowledge base respects the facts of the domain reference, section 9 (issue 7, item 10)."""

from __future__ import annotations

import re

from bot.kb import KnowledgeBase
from bot.kb.models import Module

# Codes that appear in Adobe's Campaign Classic pages or in Adobe's JS SDK (domain reference 2.8, 9 #18).
DOCUMENTED_FAMILIES = {"BAS", "INT", "PGS", "ODB", "TIM", "JST", "XTK", "IOB", "SOP", "XSV"}


def texts(m: Module) -> list[str]:
    out = [m.description, m.executes, *m.notes, *m.symptoms.en, *m.symptoms.nl, *m.signals]
    for s in m.steps:
        out += [s.text, s.command or "", s.evidence or "", s.source]
    return out


def test_no_invented_error_code_families(kb: KnowledgeBase) -> None:
    for m in kb.modules:
        for t in texts(m):
            assert not re.search(r"\b(WKF|MTA|NLS)-\d", t), (m.name, t)
            for fam in re.findall(r"\b([A-Z]{3})-\d{6}\b", t):
                assert fam in DOCUMENTED_FAMILIES, (m.name, fam, t)


def test_xsv_codes_are_cited_to_the_sdk(kb: KnowledgeBase) -> None:
    cited = 0
    for m in kb.modules:
        for s in m.steps:
            if "XSV-" in s.text:
                assert "SDK:" in s.source, (m.name, s.id)
                cited += 1
    assert cited >= 1


def test_tracking_staleness_is_labelled_a_heuristic(kb: KnowledgeBase) -> None:
    for name in ("tracking", "trackinglogd"):
        assert any("HEURISTIC" in n for n in kb.get(name).notes), name


def test_msgdump_step_says_to_switch_it_off_again(kb: KnowledgeBase) -> None:
    steps = [s for m in kb.modules for s in m.steps if "msgDump" in s.text]
    assert steps and all("switch it off again" in s.text for s in steps)


def test_check_instance_name_and_stat_log_are_documented_as_they_are(kb: KnowledgeBase) -> None:
    inmail = [n for n in kb.get("inMail").notes if "checkInstanceName" in n]
    assert inmail and all("INFERRED" not in n and "default true" in n for n in inmail)
    assert any("the-server-configuration-file.md#inmail" in n for n in inmail)
    stat = kb.get("stat")
    assert any("stat.log" in n and "INFERRED" in n and "not documented" in n for n in stat.notes)
    assert "log" not in stat.checks  # an inferred path is not read as if it were documented


def test_r_test_is_never_fetched_at_a_hard_coded_localhost(kb: KnowledgeBase) -> None:
    for m in kb.modules:
        for s in m.steps:
            assert "localhost/r/test" not in (s.command or ""), (m.name, s.id)


def test_cannot_tell_and_wrong_user_never_select_a_state_change(kb: KnowledgeBase) -> None:
    for m in kb.modules:
        for s in m.steps:
            if s.risk.value == "changes-state":
                assert not set(s.when) & {"cannot_tell", "wrong_user", "log_silent"}, (m.name, s.id)
    start_all = next(s for s in kb.get("watchdog").steps if s.command == "nlserver watchdog -svc -noconsole")
    assert "wrong_user" in start_all.unless
    restart_web = next(s for s in kb.get("web").steps if s.command == "nlserver restart web")
    assert not set(restart_web.when) & {"redir_failed", "front_unreachable", "tls_error", "redirect_loop"}


def test_no_step_hard_codes_an_install_root(kb: KnowledgeBase) -> None:
    """Paths in steps are relative to the install root (var/, conf/) or say <nl_home>: the diagnosis fills
    them per host (an install outside /usr/local/neolane, var moved by XTK_VAR_DIR)."""
    for m in kb.modules:
        for s in m.steps:
            for t in (s.text, s.command or ""):
                assert "/usr/local/neolane" not in t and "nl6/" not in t, (m.name, s.id, t)


def test_restarts_for_log_errors_alone_are_generic(kb: KnowledgeBase) -> None:
    """A state change selected by log errors without an evidence pattern is a catch-all: marked generic, so
    that a step naming the error (temporary files, OAuth) replaces it."""
    for m in kb.modules:
        for s in m.steps:
            if s.risk.value == "changes-state" and "log_errors" in s.when and not s.evidence:
                assert s.generic, (m.name, s.id)


def test_stat_address_only_when_mta_does_not_run(kb: KnowledgeBase) -> None:
    """mta "will not start if statServerAddress is empty" (CC:installation/using/email-deliverability.md): it
    can explain an mta that is down, not errors of one that runs."""
    step = next(s for s in kb.get("mta").steps if s.id == "stat-address")
    assert step.when == ("not_running",)


def test_the_cross_device_step_gives_way_to_the_host_fact(kb: KnowledgeBase) -> None:
    step = next(s for s in kb.get("mta").steps if s.id == "cross-device")
    assert "tmp_cross_device" in step.unless and "TMPDIR=var/tmp" in step.text
