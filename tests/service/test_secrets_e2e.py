"""The secret corpus planted on a host, then "show the mta log": 0 leaks in every sink.

Sinks: every Slack call the bot makes (blocks and text), the uploaded report files, the audit log,
the bot's own log at DEBUG (slack_sdk logs request bodies there), and the CLI's text and JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.harness.service import Lab
from tests.secrets import CORPUS, SURVIVORS, assert_no_secret, batches, plant
from tests.service.secrets_lab import diagnose_show_log, mta_log, one_host_lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    yield from one_host_lab(tmp_path)


def test_no_secret_reaches_any_sink(lab: Lab) -> None:
    log = mta_log(lab.homes["app1"])
    svc = lab.start("serve", LOG_LEVEL="DEBUG")
    svc.wait_worker()
    groups = batches(CORPUS, max_lines=20)  # a log check shows a log's last 20 lines
    for n, group in enumerate(groups):
        log.write_text("")
        plant(log, group)
        ts = svc.mention(f"show the mta log ({n})")
        lab.wait_thread(ts, ":books:", timeout=90)
        assert lab.fake.wait_for(lambda: len(lab.fake.uploads) > n, timeout=30), "the report was not attached"
    slack = json.dumps([{"m": c.method, "p": c.params} for c in lab.fake.calls])
    assert_no_secret(slack, where="Slack calls")
    for name, content in lab.fake.uploads.items():
        assert_no_secret(content.decode("utf-8", "replace"), where=f"uploaded file {name}")
    assert_no_secret((lab.tmp / "audit.jsonl").read_text(), where="audit log")
    svc.stop()
    own_log = "\n".join(p.read_text() for p in lab.tmp.glob("serve-*.log"))
    assert "slack_sdk" in own_log  # the DEBUG body logging really ran
    assert_no_secret(own_log, where="the bot's own log")
    # The evidence itself survived: the report shows the log, with the secrets blanked out.
    assert any("[REDACTED" in c.decode() or "REDACTED" in c.decode() for c in lab.fake.uploads.values())


def test_cli_output_text_and_json_have_no_secrets(lab: Lab) -> None:
    log = mta_log(lab.homes["app1"])
    for group in batches(CORPUS, max_lines=20)[:4]:
        log.write_text("")
        plant(log, group)
        for extra in ([], ["--json"]):
            p = diagnose_show_log(lab, *extra)
            assert "Traceback" not in p.stderr
            assert_no_secret(p.stdout + p.stderr, where=f"campaign-bot diagnose {' '.join(extra)}")
            assert "REDACTED" in p.stdout


def test_evidence_reaches_the_report_unchanged_and_a_yaml_block_hides_only_itself(lab: Lab) -> None:
    """False positives end to end: Campaign evidence in mta.log reaches the uploaded report as it is, and
    the log lines after a YAML `password: |` block are not eaten (the report quotes them as `> line`, and
    the Slack layer redacts that report once more)."""
    log = mta_log(lab.homes["app1"])
    svc = lab.start("serve")
    svc.wait_worker()
    stamp = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    evidence = [s for s in SURVIVORS if "\n" not in s][:16]
    block = [
        f"{stamp}\t2320\t2320\t1\terror\tmta\tconfig dump:",
        "  password: |",
        "    Blk-Val-S3cret-xx",
        "  port: 5432",
    ]
    lines = [*block, *(f"{stamp}\t2320\t2320\t1\terror\tmta\t{s}" for s in evidence)]
    log.write_text("\n".join(lines[-20:]) + "\n")  # the log check shows the last 20 lines
    shown = [s for s in evidence if any(s in line for line in lines[-20:])]
    ts = svc.mention("show the mta log")
    lab.wait_thread(ts, ":books:", timeout=90)
    assert lab.fake.wait_for(lambda: len(lab.fake.uploads) > 0, timeout=30), "the report was not attached"
    report = list(lab.fake.uploads.values())[-1].decode()
    assert "Blk-Val-S3cret-xx" not in report
    assert "Blk-Val-S3cret-xx" not in json.dumps([c.params for c in lab.fake.calls], default=str)
    assert ">   port: 5432" in report
    for s in shown:
        assert s.replace("\t", "  ") in report or s in report, f"evidence lost in the report: {s!r}"
