"""The second secret corpus (tests/data/secrets-corpus-fresh.yaml, Campaign and Linux host forms written
without reading the redaction rules) planted in a host's mta.log, then "show the mta log": 0 leaks in
Slack calls, uploaded reports, the audit log, the bot's own DEBUG log and the CLI's text and JSON; and the
corpus' survivors reach the report unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.harness.service import Lab
from tests.secrets import FRESH_CORPUS, FRESH_SURVIVORS, assert_no_secret, batches, plant
from tests.service.secrets_lab import diagnose_show_log, mta_log, one_host_lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    yield from one_host_lab(tmp_path)


def test_no_fresh_secret_reaches_any_slack_sink(lab: Lab) -> None:
    log = mta_log(lab.homes["app1"])
    svc = lab.start("serve", LOG_LEVEL="DEBUG")
    svc.wait_worker()
    for n, group in enumerate(batches(FRESH_CORPUS, max_lines=20)):  # a log check shows the last 20 lines
        log.write_text("")
        plant(log, group)
        ts = svc.mention(f"show the mta log ({n})")
        lab.wait_thread(ts, ":books:", timeout=90)
        assert lab.fake.wait_for(lambda: len(lab.fake.uploads) > n, timeout=30), "the report was not attached"
    slack = json.dumps([{"m": c.method, "p": c.params} for c in lab.fake.calls])
    assert_no_secret(slack, FRESH_CORPUS, where="Slack calls")
    for name, content in lab.fake.uploads.items():
        assert_no_secret(content.decode("utf-8", "replace"), FRESH_CORPUS, where=f"uploaded file {name}")
    assert_no_secret((lab.tmp / "audit.jsonl").read_text(), FRESH_CORPUS, where="audit log")
    svc.stop()
    own_log = "\n".join(p.read_text() for p in lab.tmp.glob("serve-*.log"))
    assert "slack_sdk" in own_log  # the DEBUG body logging really ran
    assert_no_secret(own_log, FRESH_CORPUS, where="the bot's own log")


def test_no_fresh_secret_in_cli_text_or_json(lab: Lab) -> None:
    log = mta_log(lab.homes["app1"])
    for group in batches(FRESH_CORPUS, max_lines=20):
        log.write_text("")
        plant(log, group)
        for extra in ([], ["--json"]):
            p = diagnose_show_log(lab, *extra)
            assert "Traceback" not in p.stderr
            assert_no_secret(p.stdout + p.stderr, FRESH_CORPUS, where=f"campaign-bot diagnose {' '.join(extra)}")
            assert "REDACTED" in p.stdout


def test_fresh_survivors_reach_the_report_unchanged(lab: Lab) -> None:
    log = mta_log(lab.homes["app1"])
    svc = lab.start("serve")
    svc.wait_worker()
    stamp = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    evidence = [s for s in FRESH_SURVIVORS if "\n" not in s and "\t" not in s]
    for n in range(0, len(evidence), 20):
        shown = evidence[n : n + 20]
        log.write_text("".join(f"{stamp}\t2320\t2320\t1\terror\tmta\t{s}\n" for s in shown))
        ts = svc.mention(f"show the mta log ({n})")
        lab.wait_thread(ts, ":books:", timeout=90)
        assert lab.fake.wait_for(lambda: len(lab.fake.uploads) > n // 20, timeout=30), "the report was not attached"
        report = list(lab.fake.uploads.values())[-1].decode()
        lost = [s for s in shown if s not in report]
        assert not lost, f"evidence lost in the report: {lost}"
