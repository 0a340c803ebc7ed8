"""Redaction: the secret corpus through every sink reachable without the Slack/conversation layer.

redact(), redact_lines(), redact_and_clip(), redact_data(), the audit log, the logging filter and the
record factory (slack_sdk's DEBUG request logging against a real loopback HTTP server, in a subprocess so
the global logging set-up of this test process is left alone), the log check's real cut-then-redact path,
and the text and Slack renderers. Terminal control stripping too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.audit import MAX_QUESTION, AuditLog
from bot.checks.base import finding
from bot.checks.facts import HostContext
from bot.inventory import parse_inventory
from bot.kb import KnowledgeBase
from bot.models import Diagnosis, Finding, NextStep
from bot.probes.parsers import scan_log
from bot.redact import (
    REDACTED,
    RedactingFilter,
    is_secret_key,
    redact,
    redact_and_clip,
    redact_data,
    redact_lines,
    strip_control,
)
from bot.render import slack as slack_render
from bot.render import text as text_render
from tests.secrets import (
    CORPUS,
    SECRETS,
    SURVIVORS,
    Case,
    as_log_lines,
    assert_no_secret,
    batches,
    find_case,
    leaks,
    plant,
)

ROOT = Path(__file__).resolve().parents[1]
IDS = [c.id for c in CORPUS]


# ---------------------------------------------------------------------------- the corpus itself


def test_corpus_is_big_and_varied_enough() -> None:
    assert len(SECRETS) >= 60 and len(CORPUS) >= 60
    kinds = {c.kind for c in CORPUS}
    assert {"log", "config", "http", "health", "stack", "json", "yaml", "xml", "pem", "smtp", "cli"} <= kinds
    for c in CORPUS:  # every secret really is in its text, so a missing leak means something
        for s in c.secrets:
            assert s in c.text, (c.id, s)
        for k in c.keep:
            assert k in c.text, (c.id, k)


def test_the_leak_finder_sees_whole_partial_and_escaped_secrets() -> None:
    case = find_case("aws-credentials-file")
    secret = case.secrets[1]
    assert leaks(f"x {secret} y", [case])
    assert leaks(f"x {secret[5:25]} y", [case])  # half a secret is a leak
    assert leaks(json.dumps({"k": f"a\n{secret}"}), [case])
    assert not leaks(redact(case.text), [case])


# ---------------------------------------------------------------------------- redact()


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_no_corpus_secret_survives(case: Case) -> None:
    out = redact(case.text)
    assert_no_secret(out, [case], where=case.id)
    for k in case.keep:  # the evidence around the secret is still there
        assert k in out, (k, out)
    assert out.count("\n") == case.text.count("\n")  # never a line more or less
    assert redact(out) == out  # idempotent


@pytest.mark.parametrize("text", SURVIVORS)
def test_evidence_survives_unchanged(text: str) -> None:
    assert redact(text) == text


def test_the_whole_corpus_at_once() -> None:
    """One text holding every case (a report, a log tail, a JSON document): nothing leaks, nothing merges."""
    everything = "\n".join(c.text for c in CORPUS)
    out = redact(everything)
    assert_no_secret(out)
    assert out.count("\n") == everything.count("\n")
    as_json = json.dumps({c.id: c.text for c in CORPUS})
    assert_no_secret(redact(as_json), where="one JSON document")
    json.loads(redact(as_json))  # still a JSON document


# Cutting *inside* an unlabelled random string leaves a short piece that cannot be told from an ordinary
# word (a bare hex key, a base64 line with neither BEGIN nor END in the text). Everything with a key, a
# marker or a known prefix is still redacted to its end.
CUT_INSIDE_UNLABELLED = {"mailchimp-key", "unlabelled-high-entropy", "pem-cut-before-begin"}


@pytest.mark.parametrize("case", [c for c in CORPUS if c.id not in CUT_INSIDE_UNLABELLED], ids=lambda c: c.id)
def test_text_cut_by_someone_else_first_still_hides_the_rest(case: Case) -> None:
    for n in range(10, len(case.text), 7):
        assert_no_secret(redact(case.text[:n]), [case], where=f"{case.id} cut at {n}")


def test_a_300_character_cut_before_redaction_leaves_nothing() -> None:
    """The failure of the issue: a quoted password cut at 300 characters lost its closing quote."""
    secret = "Zq9" * 140
    line = f'<dbcnx login="neolane" password="{secret}" provider="PostgreSQL"/>'
    assert secret[:40] not in redact(line[:300])
    clipped = redact_and_clip(line, 300)
    assert len(clipped) <= 300 and secret[:12] not in clipped and clipped.endswith('provider="PostgreSQL"/>')
    long = "x" * 60 + " password=" + secret + " rest"
    assert redact_and_clip(long, 50) == redact(long)[:47] + "..." and secret[:12] not in redact_and_clip(long, 80)


def test_redact_lines_sees_a_key_block_across_lines_and_keeps_the_count() -> None:
    case = find_case("pem-rsa-full")
    lines = case.text.split("\n")
    out = redact_lines(lines)
    assert len(out) == len(lines)
    assert_no_secret("\n".join(out), [case])
    assert out[1] == "-----BEGIN RSA PRIVATE KEY-----" and out[2] == REDACTED
    # a log tail that starts inside the key (its BEGIN line is gone) and a YAML block value
    tail = find_case("pem-cut-before-begin").text.split("\n")
    assert_no_secret("\n".join(redact_lines(tail)))
    yaml_lines = find_case("yaml-block-password").text.split("\n")
    assert_no_secret("\n".join(redact_lines(yaml_lines)))
    assert redact_lines([]) == ()


def test_a_value_found_once_is_hidden_everywhere_in_the_text() -> None:
    text = "login neolane password=Rep3ated-Secret\nFATAL: user neolane with Rep3ated-Secret denied"
    assert "Rep3ated-Secret" not in redact(text)
    assert "user neolane" in redact(text)


def test_key_names_that_are_and_are_not_secrets() -> None:
    for key in (
        "password", "internalPassword", "X-Security-Token", "__sessiontoken", "db_pass", "MYSQL_PWD",
        "AccountKey", "SharedAccessKey", "client_secret", "api-key", "Authorization", "Set-Cookie",
        "JSESSIONID", "aws_secret_access_key", "sig", "wachtwoord", "smtp.password", "privateKey",
    ):  # fmt: skip
        assert is_secret_key(key), key
    for key in (
        "user", "login", "bypass", "password_file", "tokenType", "secretName", "SharedAccessKeyName",
        "design", "session", "host", "WWW-Authenticate", "passed", "provider",
    ):  # fmt: skip
        assert not is_secret_key(key), key


def test_placeholders_and_empty_values_stay_as_they_are() -> None:
    assert redact('<xtk internalPassword=""/>') == '<xtk internalPassword=""/>'  # blank: evidence, not a secret
    assert redact("password=") == "password="
    assert redact('{"password": "[REDACTED]"}') == '{"password": "[REDACTED]"}'


# ---------------------------------------------------------------------------- strip_control


def test_strip_control_removes_terminal_sequences_and_keeps_text() -> None:
    raw = (
        "\x1b[31mred\x1b[0m plain\t tab\n"
        "\x1b]0;pwned title\x07title-gone \x1b]8;;https://evil.invalid\x1b\\link\x1b]8;;\x1b\\\n"
        "\x1bP+q544e\x1b\\dcs \x1b(B\x1b7\x1b8\x1bc reset \x9b2J c1-csi \x9d2;x\x9c osc8\n"
        "bell\x07 back\x08space cr\roverwrite del\x7f nul\x00 \u202eevil\u202c zero\u200bwidth \x1b"
    )
    out = strip_control(raw)
    assert out == (
        "red plain\t tab\ntitle-gone link\ndcs  reset  c1-csi  osc8\nbell backspace croverwrite del nul evil zerowidth "
    )
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out)
    assert strip_control("mta@prod (2320) - 23.0 MB\n") == "mta@prod (2320) - 23.0 MB\n"


def test_control_sequences_cannot_hide_a_key_from_redaction() -> None:
    out = redact("pass\x1b[0mword=Hidd3n-Pa55 and \u200bto\u200bken: xoxb-1111111111-2222222222-abcdefabcdef")
    assert "Hidd3n-Pa55" not in out and "xoxb-1111111111" not in out and "\x1b" not in out


# ---------------------------------------------------------------------------- redact_data and the audit log


class _Model(BaseModel):
    summary: str


def test_redact_data_is_json_ready_and_redacts_by_key() -> None:
    data = {
        "question": find_case("dsn-postgres-url").text,
        "nested": {"password": "short", "headers": {"Authorization": "Bearer abc.def.ghi"}, "n": 3, "ok": True},
        "list": [find_case("slack-xapp-env").text, None, 1.5],
        "model": _Model(summary=find_case("aws-credentials-file").text),
        "when": datetime(2024, 5, 31, tzinfo=timezone.utc),
        "path": Path("/etc/campaign/db.pass"),
    }
    out = redact_data(data)
    text = json.dumps(out)  # no default=: everything is JSON already
    assert_no_secret(text)
    assert out["nested"]["password"] == REDACTED and out["nested"]["n"] == 3 and out["nested"]["ok"] is True
    assert "abc.def.ghi" not in text and out["path"] == "/etc/campaign/db.pass"


def test_audit_records_are_redacted_whole_before_the_question_is_cut(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit" / "audit.jsonl")
    written = []
    for case in CORPUS:
        written.append(
            audit.record(
                user="U1",
                channel="C1",
                question=case.text,
                commands=[case.text, "nlserver pdump"],
                outcome="answered",
                detail={"why": case.text, "token": "tok-123"},
            )
        )
    # a question longer than the cut whose secret straddles it
    secret = "Ab1" * 200
    written.append(audit.record(user="U2", question="x" * 270 + " password=" + secret + " and more" * 10))
    text = audit.path.read_text(encoding="utf-8")
    assert_no_secret(text, where="the audit log")
    assert secret[:12] not in text and secret[-12:] not in text
    records = [json.loads(line) for line in text.splitlines()]  # every line is valid JSON
    assert len(records) == len(CORPUS) + 1
    assert records == written  # record() returns what it wrote
    assert all(len(r["question"]) <= MAX_QUESTION for r in records)
    assert records[-1]["question"].endswith("...") and "password=[REDACTED] and" in records[-1]["question"]
    assert records[0]["detail"]["token"] == REDACTED and records[0]["commands"][1] == "nlserver pdump"


# ---------------------------------------------------------------------------- logging


def test_logging_filter_redacts_message_args_exception_and_stack() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    loggers = [logging.getLogger(n) for n in ("bot.test_redact", "slack_sdk.web.base_client", "paramiko.transport")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    try:
        for lg in loggers:
            lg.addHandler(handler)
            lg.setLevel(logging.DEBUG)
            lg.propagate = False
        for i, case in enumerate(CORPUS):
            lg = loggers[i % len(loggers)]
            level = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)[i % 5]
            lg.log(level, "host said: %s (%d)", case.text, i)
        loggers[1].debug(
            "Sending a request - url: %s, body_params: %s",
            "https://slack.com/api/files.upload",
            {"content": everything()},
        )
        try:
            raise RuntimeError("connect failed: " + find_case("dsn-postgres-url").text)
        except RuntimeError:
            loggers[0].exception("check crashed")
        loggers[0].warning("stack: %s", "here", stack_info=True)
        loggers[0].error("bad format %s %s", find_case("aws-session-token-env").text)  # wrong arg count
    finally:
        for lg, (level, propagate) in zip(loggers, saved):
            lg.removeHandler(handler)
            lg.propagate = propagate
            lg.setLevel(level)
    out = stream.getvalue()
    assert_no_secret(out, where="the bot's log")
    assert "Traceback" in out and "RuntimeError: connect failed: " in out and "PGS-220000" in out
    assert "slack_sdk.web.base_client DEBUG Sending a request" in out
    assert out.count("host said:") == len(CORPUS)


def everything() -> str:
    return "\n".join(c.text for c in CORPUS)


_LOG_SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from slack_sdk import WebClient
    from bot.redact import RedactingFilter, install_log_redaction
    from tests.harness.fake_slack import FakeSlack
    from tests.secrets import CORPUS, find_case

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    install_log_redaction()
    install_log_redaction()  # idempotent
    root_filters = [f for h in logging.getLogger().handlers for f in h.filters if isinstance(f, RedactingFilter)]
    print("root filters:", len(root_filters), file=sys.stderr)
    fake = FakeSlack().start()
    try:
        client = WebClient(token=find_case("slack-xoxb-traceback").secrets[0], base_url=fake.url)
        report = "\\n".join(c.text for c in CORPUS)
        client.chat_postMessage(channel="C1", text=report, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": report[:2900]}}])
        client.api_call("files.completeUploadExternal", json={"files": [{"id": "F1", "title": report[:200]}]})
        logging.getLogger("paramiko.transport").info("banner: %s", find_case("pem-openssh").text)
        try:
            raise ValueError(find_case("jdbc-sqlserver").text)
        except ValueError:
            logging.getLogger("bot.worker").exception("job failed")
        # a record made without the factory (as from another process) still meets the root handler's filter
        rec = logging.makeLogRecord({"name": "bot.remote", "levelno": 40, "levelname": "ERROR", "msg": "%s", "args": (report,)})
        logging.getLogger().handle(rec)
    finally:
        fake.stop()
    print("done", file=sys.stderr)
    """
)


def test_every_log_record_is_redacted_including_slack_sdk_debug_bodies(tmp_path: Path) -> None:
    """The real composition: basicConfig at DEBUG, install_log_redaction(), slack_sdk's WebClient talking to a
    loopback Slack API and logging its request and response bodies at DEBUG."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", _LOG_SCRIPT], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stderr
    assert "done" in log and "root filters: 1" in log
    # the sinks really logged what they carry: the request body and the response, at DEBUG
    assert "slack_sdk.web.base_client DEBUG Sending a request" in log and "Received the following response" in log
    assert "PGS-220000" in log and "Traceback" in log and "bot.remote ERROR" in log
    assert_no_secret(log, where="the bot's own log (slack_sdk DEBUG included)")


# ---------------------------------------------------------------------------- findings and renderers

_INV = parse_inventory(
    {"environments": {"prod": {"instances": ["prod"], "hosts": [{"name": "app1", "address": "10.0.0.1"}]}}}, "test"
)


def _findings_from_logs(kb: KnowledgeBase) -> list[Finding]:
    """Findings made the way the log check makes them: the real parser (which cuts lines at 300 characters
    and keeps the last 20) over a planted log, then `finding()` (which redacts)."""
    env = _INV.environment("prod")
    ctx = HostContext(host=env.hosts[0], env=env, modules=(kb.get("mta"),), instances=("prod",))
    now = datetime.now(timezone.utc)
    out = []
    for group in batches(CORPUS, max_lines=20):
        text = "\n".join(as_log_lines(c, now - timedelta(minutes=5)) for c in group) + "\n"
        scan = scan_log(text, now, 60)
        out.append(
            finding(
                ctx,
                kb.get("mta"),
                "prod",
                "log",
                "warn",
                f"{len(scan.errors)} error line(s)",
                scan.errors,
                tail=scan.tail,
            )
        )
    return out


def _diagnosis(findings: list[Finding]) -> Diagnosis:
    return Diagnosis(
        question="show the mta log",
        environment="prod",
        simulated=False,
        modules=("mta",),
        findings=tuple(findings),
        next_steps=(
            NextStep(host="app1", module="mta", text="Read the log", command="nlserver pdump", risk="read-only"),
        ),
        verdict="mta@prod: errors in the log",
        status="warn",
        hosts=("app1",),
    )


def test_log_findings_carry_no_secret_even_though_the_parser_cuts_first(kb: KnowledgeBase) -> None:
    findings = _findings_from_logs(kb)
    shown = "\n".join("\n".join((f.summary, *f.evidence, *f.tail)) for f in findings)
    assert sum(len(f.tail) for f in findings) > 100  # the corpus really went through the tails
    assert_no_secret(shown, where="findings")


def test_renderers_show_no_secret(kb: KnowledgeBase) -> None:
    d = _diagnosis(_findings_from_logs(kb))
    terminal = text_render.diagnosis(d, kb, show_ok=True, show_logs=True)
    assert "PGS-220000" in terminal  # the evidence is there
    assert_no_secret(terminal, where="the terminal answer")
    blocks, fallback = slack_render.result_blocks(d, kb)
    assert_no_secret(json.dumps(blocks) + fallback, where="Slack blocks")
    report = slack_render.raw_report(d, kb)
    assert_no_secret(report, where="the uploaded report")
    assert_no_secret(json.dumps(d.public()), where="--json output")


def test_plant_writes_log_lines_a_log_check_reads_as_recent(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    path = tmp_path / "nl6" / "var" / "prod" / "log" / "mta.log"
    group = batches(CORPUS, max_lines=20)[0]
    planted = plant(path, group, now=now, minutes_ago=5)
    assert planted == group
    text = path.read_text(encoding="utf-8")
    assert all(c.text.split("\n")[-1] in text or c.id.startswith("campaign-log") for c in group)
    scan = scan_log(text, now, 60)
    lines = [line for line in text.splitlines() if line.strip()]
    assert scan.lines_in_window >= len(group) and len(scan.tail) == min(20, len(lines))
    raw = tmp_path / "conf.xml"
    plant(raw, [find_case("campaign-dbcnx")], raw=True)
    assert raw.read_text() == find_case("campaign-dbcnx").text + "\n"


def test_preload_loads_the_detectors_in_the_background() -> None:
    code = (
        "import time, bot.redact as r; r.preload(); t = time.time()\n"
        "while not r._engine_cache and time.time() - t < 30: time.sleep(0.01)\n"
        "print(bool(r._engine_cache), r.redact('password=x'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.split() == ["True", "password=[REDACTED]"], out.stderr


def test_checks_through_the_runner_show_no_secret(kb: KnowledgeBase) -> None:
    """The real checks and runner (in-memory fake hosts from tests/test_checks.py): corpus texts in a
    module log and in the ping.jsp body come out of the findings and both renderers redacted."""
    from tests.fakes import fake_host
    from tests.test_checks import NOW, healthy, run

    when = datetime.fromtimestamp(NOW - 300, timezone.utc)
    health = find_case("health-page-json").text
    ping = f"{health}\n@@HTTP 500 0 http://localhost:8080/nl/jsp/ping.jsp@@\n"
    shown = 0
    for group in batches(CORPUS, max_lines=20):
        log = "\n".join(as_log_lines(c, when) for c in group) + "\n"
        host = healthy(**{"log:var/prod/log/mta.log": f"@@STAT {len(log)} {NOW - 200}@@\n{log}", "http:ping": ping})
        res, _ = run(kb, {"app1": fake_host(host), "app2": fake_host(healthy())}, ["mta", "web"])
        d = _diagnosis(list(res.findings))
        tails = [f for f in res.findings if f.check == "log" and f.tail]
        assert tails, "the planted log reached no finding"
        ping_evidence = " ".join(e for f in res.findings if f.check == "ping_jsp" for e in f.evidence)
        assert '"status":"degraded"' in ping_evidence and REDACTED in ping_evidence  # the page is shown, redacted
        shown += sum(len(f.tail) for f in tails)
        assert_no_secret(json.dumps([f.public() for f in res.findings]), where="findings")
        assert_no_secret(text_render.diagnosis(d, kb, show_ok=True, show_logs=True), where="the terminal answer")
        blocks, fallback = slack_render.result_blocks(d, kb)
        assert_no_secret(json.dumps(blocks) + fallback + slack_render.raw_report(d, kb), where="Slack")
    assert shown >= 150  # every batch's lines went through the tails


def test_a_parsers_position_after_token_is_kept() -> None:
    # expat's and PyYAML's messages ("unclosed token: line 1, column 0") name where a reply is broken.
    for text in ("unclosed token: line 1, column 0", "not well-formed (invalid token): line 1, column 5"):
        assert redact(text) == text
    assert "s3cr3tValue9" not in redact("token: s3cr3tValue9")
