from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.harness.fake_slack import FakeSlack
from tests.harness.sshd import free_port
from tests.integration.fleet import Fleet

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-signing-secret"


def sign(body: str, ts: str | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


@dataclass
class Bot:
    url: str
    fake: FakeSlack
    audit: Path
    proc: subprocess.Popen[str]
    fleet: Fleet

    def post(self, body: str, headers: dict[str, str], content_type: str) -> tuple[int, str, float]:
        req = urllib.request.Request(
            self.url + "/slack/events",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": content_type, **headers},
        )
        start = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode(), time.monotonic() - start
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), time.monotonic() - start

    def event(self, event: dict[str, object], event_id: str, retry: int | None = None) -> tuple[int, str, float]:
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0001",
                "api_app_id": "A0001",
                "event_id": event_id,
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
                "event": event,
            }
        )
        headers = sign(body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(body, headers, "application/json")

    def command(self, text: str, user: str = "UALICE", channel: str = "CPROD") -> tuple[int, str, float]:
        body = urllib.parse.urlencode(
            {
                "command": "/campaign-module",
                "text": text,
                "user_id": user,
                "channel_id": channel,
                "team_id": "T0001",
                "response_url": self.fake.url + "response",
                "trigger_id": "1.2",
            }
        )
        return self.post(body, sign(body), "application/x-www-form-urlencoded")

    def action(
        self, action_id: str, value: str, user: str, channel: str = "CPROD", thread_ts: str | None = None
    ) -> tuple[int, str, float]:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0001"},
            "user": {"id": user},
            "api_app_id": "A0001",
            "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
            "message": {"ts": "1700000000.000900", "thread_ts": thread_ts}
            if thread_ts
            else {"ts": "1700000000.000900"},
            "trigger_id": "1.2",
            "response_url": self.fake.url + "response",
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1"}],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, sign(body), "application/x-www-form-urlencoded")

    def audit_records(self) -> list[dict[str, object]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]


def slack_inventory(path: Path, fleet: Fleet) -> Path:
    data = yaml.safe_load(fleet.inventory.read_text())
    good = [fleet.hosts["good1"], fleet.hosts["good2"]]
    data["environments"] = {
        "prod": {
            "aliases": ["production", "productie", "prd"],
            "instances": ["prod"],
            "channels": ["CPROD"],
            "hosts": good,
            "actions": "enabled",
            "operators": ["UOPS"],
        },
        "locked": {
            "instances": ["prod"],
            "protected": True,
            "access": {"users": ["UBOSS"], "groups": ["SOPS"]},
            "hosts": [fleet.hosts["good1"]],
        },
    }
    path.write_text(yaml.safe_dump(data))
    return path


def start_bot(
    tmp: Path, fake: FakeSlack, inventory: Path, extra: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[str], str]:
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-test-token-123",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.url,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "CAMPAIGN_BOT_INVENTORY": str(inventory),
            "CAMPAIGN_BOT_ENV": "prod",
            "CAMPAIGN_BOT_AUDIT_LOG": str(tmp / "audit.jsonl"),
            "CAMPAIGN_BOT_STATE_DB": str(tmp / "state.sqlite3"),
            "LOG_LEVEL": "DEBUG",
        }
    )
    env.update(extra or {})
    log = open(tmp / "bot.log", "w")  # noqa: SIM115 - kept open while the bot runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", *args], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    return proc, f"http://127.0.0.1:{port}"


def stop_bot(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_healthy(url: str, proc: subprocess.Popen[str], log: Path) -> None:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"bot exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("bot did not start")


@pytest.fixture(scope="module")
def bot(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    tmp = tmp_path_factory.mktemp("slackbot")
    fake = FakeSlack(usergroups={"SOPS": ["UGROUPIE"]}).start()
    inv = slack_inventory(tmp / "inventory.yaml", fleet)
    proc, url = start_bot(tmp, fake, inv)
    try:
        wait_healthy(url, proc, tmp / "bot.log")
        yield Bot(url, fake, tmp / "audit.jsonl", proc, fleet)
    finally:
        stop_bot(proc)
        fake.stop()
        log_text = (tmp / "bot.log").read_text()
        assert "xoxb-test-token-123" not in log_text, "the bot token leaked into the log"
        fake.assert_all_valid()
