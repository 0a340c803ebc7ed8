"""Redaction of a rendered report is harmless: the uploaded report (and the terminal answer) shows a log's
last lines as `> line` and evidence as `| line`, and the Slack layer redacts that whole text once more.

What must hold: `redact(render(x)) == render(x)` for findings whose text was already redacted, whatever the
corpus put in them; a YAML block value (`password: |`) inside the quoted lines hides the block only, never
the quoted lines after it; a key block or a block value quoted raw is hidden as it is unquoted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.kb import KnowledgeBase
from bot.models import Diagnosis, Finding
from bot.redact import REDACTED, redact, redact_lines
from bot.render import slack as slack_render
from bot.render import text as text_render
from tests.secrets import CORPUS, SURVIVORS, Case, as_log_lines, assert_no_secret

WHEN = datetime(2026, 12, 8, 0, 0, 16, tzinfo=timezone.utc)
STAMP = "2026-12-08T00:00:16.000Z"


def _diagnosis(tails: list[list[str]], evidence: tuple[str, ...] = ()) -> Diagnosis:
    findings = [
        Finding(
            host="app1",
            module="mta",
            instance="prod",
            check="log",
            status="warn",
            summary=f"{len(tail)} error entries in var/prod/log/mta.log",
            evidence=evidence,
            tail=tuple(tail),
            target=f"mta.log#{i}",
        )
        for i, tail in enumerate(tails)
    ]
    return Diagnosis(
        question="show the mta log",
        environment="prod",
        simulated=False,
        modules=("mta",),
        findings=tuple(findings),
        next_steps=(),
        verdict="mta@prod: errors in the log",
        status="warn",
        hosts=("app1",),
    )


def _reports(d: Diagnosis, kb: KnowledgeBase) -> list[str]:
    return [slack_render.raw_report(d, kb), text_render.diagnosis(d, kb, show_ok=True, show_logs=True)]


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_redacting_a_rendered_report_again_changes_nothing(case: Case, kb: KnowledgeBase) -> None:
    """The report of findings that hold a corpus case (as a log tail and as evidence) is its own redaction."""
    lines = as_log_lines(case, WHEN).split("\n")
    d = _diagnosis([lines, case.text.split("\n")], evidence=tuple(case.text.split("\n")[:3]))
    for report in _reports(d, kb):
        assert_no_secret(report, [case], where=case.id)
        assert redact(report) == report


def test_redacting_quoted_lines_again_changes_nothing_for_any_quote() -> None:
    """`> `, `> > ` (e-mail, Markdown), the report's indented `> ` and `| `: a redacted text quoted is redacted."""
    for case in CORPUS:
        done = redact(case.text)
        for prefix in ("> ", "> > ", "           > ", "           | ", ">"):
            quoted = "\n".join(prefix + line for line in done.split("\n"))
            assert redact(quoted) == quoted, (case.id, prefix)


def test_survivors_quoted_survive() -> None:
    for text in SURVIVORS:
        quoted = "\n".join("           > " + line for line in text.split("\n"))
        assert redact(quoted) == quoted


def test_quoted_text_is_redacted_as_it_is_unquoted() -> None:
    """Host text quoted before it was redacted (a pasted report, an e-mail): the same values are hidden."""
    for case in CORPUS:
        for prefix in ("> ", "           > "):
            quoted = "\n".join(prefix + line for line in case.text.split("\n"))
            expected = "\n".join(prefix + line for line in redact(case.text).split("\n"))
            assert redact(quoted) == expected, (case.id, prefix)


YAML_ENTRY = [
    f"{STAMP}\t2320\t2320\t1\terror\tmta\tconfig dump:",
    "  host: pg1.example.invalid",
    "  password: |",
    "    Blk-Val-S3cret-xx",
    "    second-line-Zq9",
    "  port: 5432",
]
AFTER = [
    f"{STAMP}\t2320\t2320\t1\terror\tmta\tProcess 'mtachild@prod' (pid 4455) using 301 MB exceeds maxWorkingSetMb",
    f"{STAMP}\t2320\t2320\t1\terror\tmta\tBAS-010007 Failed to connect to 10.12.4.18:25",
    f"{STAMP}\t2320\t2320\t1\terror\tmta\tPGS-220000 PostgreSQL error: relation does not exist",
    f"{STAMP}\t2320\t2320\t1\twarning\tmta\tOpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15",
]


def test_quoted_lines_after_a_yaml_block_value_survive_in_the_report(kb: KnowledgeBase) -> None:
    """The audit's case: after `password: |` every following `> ` line became [REDACTED] up to a blank line."""
    d = _diagnosis([[*YAML_ENTRY, *AFTER]])
    for report in _reports(d, kb):
        again = redact(report)
        assert again == report
        assert "Blk-Val-S3cret-xx" not in again and "second-line-Zq9" not in again
        for line in [*AFTER, "  port: 5432", "  host: pg1.example.invalid", "  password: |"]:
            assert f"> {line}" in again, line
        assert again.count(REDACTED) == 2
        assert "OK" in again or "WARN" in again  # the lines after the quoted tail are there too
        assert again.splitlines()[-1] == report.splitlines()[-1]


def test_a_flattened_block_value_in_quoted_lines_ends_at_the_next_record() -> None:
    """A block value whose indentation was lost (a check flattened it) ends at the next key, a blank line
    or the next log record; quoted, it also ends where the quote ends."""
    flat = [f"{STAMP} 2320 mta config dump:", "password: |", "Blk-Flat-S3cret", *AFTER]
    out = redact("\n".join(flat))
    assert out.split("\n")[2] == REDACTED and "\n".join(AFTER) in out
    quoted = (
        "\n".join("    > " + line for line in flat) + "\n    | mta@prod (2320) - 23 MB\n    OK   mta@prod process: runs"
    )
    out = redact(quoted)
    assert out.split("\n")[2] == f"    > {REDACTED}"
    assert out.split("\n")[3:] == quoted.split("\n")[3:]
    assert redact(out) == out


def test_quoted_yaml_block_hides_only_the_block() -> None:
    text = "\n".join(f"> > {line}" for line in YAML_ENTRY + AFTER)
    out = redact(text)
    assert out.split("\n")[3:5] == [f"> >     {REDACTED}", f"> >     {REDACTED}"]
    assert out.split("\n")[5:] == text.split("\n")[5:]
    assert redact(out) == out


def test_quoted_key_blocks_keep_their_quote() -> None:
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuQ3pQk9l2JhV7mYvS1r2\nq8vTnXa0bc1d2e3f4g5h6i7j8k9\n"
        "-----END RSA PRIVATE KEY-----\nkey loaded by pid 3187"
    )
    for prefix in ("> ", "           > ", "           | "):
        quoted = "\n".join(prefix + line for line in pem.split("\n"))
        out = redact(quoted)
        assert out.split("\n") == [
            f"{prefix}-----BEGIN RSA PRIVATE KEY-----",
            f"{prefix}{REDACTED}",
            f"{prefix}{REDACTED}",
            f"{prefix}-----END RSA PRIVATE KEY-----",
            f"{prefix}key loaded by pid 3187",
        ]
        cut = "\n".join(quoted.split("\n")[:3]) + "\n" + prefix + "2026-12-08T00:00:17.000Z next record"
        out = redact(cut)
        assert "MIIEow" not in out and out.endswith("2026-12-08T00:00:17.000Z next record")


def test_the_tail_of_a_real_log_check_rendered_and_redacted_again(kb: KnowledgeBase) -> None:
    """Through the real parser and finding(): a planted log with a YAML block and Campaign lines."""
    from bot.checks.base import finding
    from bot.checks.facts import HostContext
    from bot.inventory import parse_inventory
    from bot.probes.parsers import scan_log

    inv = parse_inventory(
        {"environments": {"prod": {"hosts": [{"name": "app1", "address": "10.0.0.1", "nl_home": "/nl6"}]}}},
        "test",
    )
    env = inv.environment("prod")
    ctx = HostContext(host=env.hosts[0], env=env, modules=(kb.get("mta"),), instances=("prod",))
    now = datetime.now(timezone.utc)
    stamp = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    log = "\n".join(line.replace(STAMP, stamp) for line in [*YAML_ENTRY, *AFTER]) + "\n"
    scan = scan_log(log, now, 60)
    f = finding(ctx, kb.get("mta"), "prod", "log", "warn", "errors", scan.errors, tail=scan.tail)
    assert f.tail == redact_lines(f.tail)
    d = _diagnosis([])
    d = d.model_copy(update={"findings": (f,)})
    report = slack_render.raw_report(d, kb)
    assert redact(report) == report and "Blk-Val-S3cret-xx" not in report
    for line in AFTER:
        assert line.split("\t")[-1] in report
