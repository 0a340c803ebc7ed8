"""The watch and the alert intake in the real service processes (fake Slack, simulated hosts)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.harness.fake_slack import FakeSlack
from tests.harness.redis import redis_server
from tests.harness.service import Lab, Service, build_hosts, sign, write_inventory

TOKEN = "alert-token-0123456789abcdef"
CHANNEL = "CALERTS"


def lab_for(tmp: Path, fake: FakeSlack, redis_url: str | None = None, every: str | None = None) -> Lab:
    """Simulated hosts; a watch every `every` posting in CHANNEL (None: no watch, alerts go to CHANNEL)."""
    homes = build_hosts(tmp / "hosts")
    extra = {"watch": {"channel": CHANNEL, "modules": ["mta", "stat"], "every": every}} if every else {}
    return Lab(tmp, fake, write_inventory(tmp / "inventory.yaml", homes, **extra), homes, redis_url=redis_url)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    f = FakeSlack().start()
    yield f
    f.stop()
    f.assert_all_valid()


def test_two_workers_on_one_redis_run_each_scheduled_check_once(tmp_path: Path, fake: FakeSlack) -> None:
    with redis_server() as url:
        lab = lab_for(tmp_path, fake, url, every="1s")
        try:
            workers = [lab.start("worker", name=f"w{i}", wait=False) for i in range(2)]
            for w in workers:
                assert fake.wait_for(lambda w=w: "threads, state in Redis" in w.log.read_text(), timeout=60)
            assert fake.wait_for(
                lambda: sum(1 for r in lab.audit() if r.get("question") == "(scheduled check)") >= 4, timeout=60
            )
        finally:
            lab.close()
        rounds = [r for r in lab.audit() if r.get("question") == "(scheduled check)"]
        slots = [r["slot"] for r in rounds]
        assert len(slots) == len(set(slots)), "a scheduled check ran twice"
        # one thread for the down mta of app2, however many rounds and workers
        roots = [
            c
            for c in fake.of("chat.postMessage")
            if c.params.get("channel") == CHANNEL
            and not c.params.get("thread_ts")
            and "mta@prod process on app2" in json.dumps(c.params)
        ]
        assert len(roots) == 1


def post_alert(
    svc: Service, path: str, payload: dict[str, object], token: str | None = TOKEN
) -> tuple[int, dict[str, object]]:
    assert svc.url is not None
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(svc.url + path, data=json.dumps(payload).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def alertmanager(status: str, instance: str, name: str = "CampaignMtaDown", **labels: str) -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": "{}:{alertname=" + json.dumps(name) + "}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "campaign-bot",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "instance": instance, "job": "mta", **labels},
                "annotations": {"summary": "mta is not running"},
                "startsAt": "2026-11-27T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": "a1b2c3d4",
            }
        ],
    }


def test_alertmanager_alert_opens_a_thread_with_a_diagnosis_then_resolves(tmp_path: Path, fake: FakeSlack) -> None:
    lab = lab_for(tmp_path, fake)
    try:
        svc = lab.start("serve", CAMPAIGN_BOT_ALERT_TOKEN=TOKEN, CAMPAIGN_BOT_ALERT_CHANNEL=CHANNEL)
        svc.wait_worker()
        status, body = post_alert(svc, "/alerts/alertmanager", alertmanager("firing", "app2:9100"))
        assert status == 202 and body["mapped_to_hosts"] == 1
        assert fake.wait_for(
            lambda: any(
                c.params.get("channel") == CHANNEL and not c.params.get("thread_ts")
                for c in fake.of("chat.postMessage")
            ),
            timeout=60,
        )
        root = next(
            c
            for c in fake.of("chat.postMessage")
            if c.params.get("channel") == CHANNEL and not c.params.get("thread_ts")
        )
        ts = str(root.result["ts"])
        assert "app2" in json.dumps(root.params)
        assert fake.wait_for(
            lambda: any(
                ":books:" in json.dumps(c.params)
                for c in fake.of("chat.postMessage")
                if c.params.get("thread_ts") == ts
            ),
            timeout=60,
        ), "no diagnosis in the thread"
        status, _ = post_alert(svc, "/alerts/alertmanager", alertmanager("resolved", "app2:9100"))
        assert status == 202
        assert fake.wait_for(
            lambda: any(
                "Recovered" in json.dumps(c.params)
                for c in fake.of("chat.postMessage")
                if c.params.get("thread_ts") == ts
            ),
            timeout=60,
        )
    finally:
        lab.close()
    outcomes = [r["outcome"] for r in lab.audit() if str(r.get("outcome", "")).startswith("alert")]
    assert "alert-opened" in outcomes and "alert-resolved" in outcomes


def test_wrong_token_gets_401_and_nothing_runs(tmp_path: Path, fake: FakeSlack) -> None:
    lab = lab_for(tmp_path, fake)
    try:
        svc = lab.start("serve", CAMPAIGN_BOT_ALERT_TOKEN=TOKEN, CAMPAIGN_BOT_ALERT_CHANNEL=CHANNEL)
        svc.wait_worker()
        posts = len(fake.of("chat.postMessage"))
        for token in ("wrong-token-0123456789abcdef", None):
            status, _ = post_alert(svc, "/alerts/alertmanager", alertmanager("firing", "app2"), token=token)
            assert status == 401
        time.sleep(2)
        assert len(fake.of("chat.postMessage")) == posts
        assert (lab.homes["app2"] / "sim" / "invocations.log").read_text() == ""
    finally:
        lab.close()


def test_unknown_host_gets_a_clear_message(tmp_path: Path, fake: FakeSlack) -> None:
    lab = lab_for(tmp_path, fake)
    try:
        svc = lab.start("serve", CAMPAIGN_BOT_ALERT_TOKEN=TOKEN, CAMPAIGN_BOT_ALERT_CHANNEL=CHANNEL)
        svc.wait_worker()
        grafana = {
            "receiver": "campaign-bot",
            "status": "firing",
            "orgId": 1,
            "title": "[FIRING:1] DiskFull",
            "state": "alerting",
            "message": "disk full",
            "version": "1",
            "groupKey": "x",
            "truncatedAlerts": 0,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://grafana.example/",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "DiskFull", "instance": "db9.example:9100", "environment": "prod"},
                    "annotations": {"summary": "disk 95 %"},
                    "startsAt": "2026-11-27T10:00:00Z",
                    "fingerprint": "ffee",
                    "values": {"A": 95},
                    "valueString": "[ var='A' value=95 ]",
                }
            ],
        }
        status, body = post_alert(svc, "/alerts/grafana", grafana)
        assert status == 202 and body["unknown_hosts"] == 1
        assert fake.wait_for(
            lambda: any(
                "does not know" in json.dumps(c.params) and "db9.example" in json.dumps(c.params)
                for c in fake.of("chat.postMessage")
            ),
            timeout=60,
        )
    finally:
        lab.close()


def test_no_channel_anywhere_is_422_naming_the_setting(tmp_path: Path, fake: FakeSlack) -> None:
    homes = build_hosts(tmp_path / "hosts")
    lab = Lab(tmp_path, fake, write_inventory(tmp_path / "inventory.yaml", homes), homes)
    try:
        svc = lab.start("serve", CAMPAIGN_BOT_ALERT_TOKEN=TOKEN)
        status, body = post_alert(svc, "/alerts/alertmanager", alertmanager("firing", "app2"))
        assert status == 422 and "watch.channel" in str(body) and "CAMPAIGN_BOT_ALERT_CHANNEL" in str(body)
    finally:
        lab.close()


def test_app_home_shows_environments_alerts_and_rights(tmp_path: Path, fake: FakeSlack) -> None:
    lab = lab_for(tmp_path, fake, every="1h")
    data = yaml.safe_load(lab.inventory.read_text())
    data["environments"]["prod"].update({"actions": "enabled", "operators": ["UOPS"]})
    lab.inventory.write_text(yaml.safe_dump(data))
    try:
        svc = lab.start("serve")
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0001",
                "api_app_id": "A0001",
                "event_id": "EvHome1",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
                "event": {
                    "type": "app_home_opened",
                    "user": "UOPS",
                    "channel": "D0001",
                    "tab": "home",
                    "event_ts": "1.1",
                },
            }
        )
        assert svc.post(body, sign(body))[0] == 200
        assert fake.wait_for(lambda: bool(fake.of("views.publish")), timeout=30)
        view = json.dumps(fake.of("views.publish")[-1].params)
        assert "prod" in view and "you may run confirmed state-changing steps" in view
    finally:
        lab.close()


def test_an_alert_joins_the_watch_thread_and_grafanas_test_goes_to_the_watch_channel(
    tmp_path: Path, fake: FakeSlack
) -> None:
    lab = lab_for(tmp_path, fake, every="1h")  # the watch posts in CHANNEL; no CAMPAIGN_BOT_ALERT_CHANNEL

    def roots() -> list[object]:
        return [
            c
            for c in fake.of("chat.postMessage")
            if c.params.get("channel") == CHANNEL and not c.params.get("thread_ts")
        ]

    try:
        svc = lab.start("serve", CAMPAIGN_BOT_ALERT_TOKEN=TOKEN)
        svc.wait_worker()
        assert fake.wait_for(lambda: any("mta@prod process on app2" in json.dumps(c.params) for c in roots()), 90)
        root = next(c for c in roots() if "mta@prod process on app2" in json.dumps(c.params))
        ts = str(root.result["ts"])

        def about_mta() -> list[object]:
            # Roots about this host's mta (the round may still be posting its other problems' threads).
            return [
                c
                for c in roots()
                if any(
                    w in json.dumps(c.params)
                    for w in ("mta@prod process on app2", "CampaignMtaDown", "mta is not running")
                )
            ]

        status, body = post_alert(svc, "/alerts/alertmanager", alertmanager("firing", "app2:9100"))
        assert status == 202 and body["mapped_to_hosts"] == 1

        def in_thread() -> list[str]:
            return [json.dumps(c.params) for c in fake.of("chat.postMessage") if c.params.get("thread_ts") == ts]

        assert fake.wait_for(lambda: any(":books:" in t for t in in_thread()), 60), "no diagnosis in the watch thread"
        assert any("CampaignMtaDown" in t and "firing for this host and module too" in t for t in in_thread())
        assert len(about_mta()) == 1, "the alert opened a second thread for the same problem"
        # Grafana's contact point "Test" (instance=Grafana) and an unknown host beside a known one
        grafana = {"receiver": "campaign-bot", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "TestAlert", "instance": "Grafana"}, "annotations": {}},
            {"status": "firing", "labels": {"alertname": "Disk", "instance": "app1:9100"}, "annotations": {}},
        ]}  # fmt: skip
        status, body = post_alert(svc, "/alerts/grafana", grafana)
        assert status == 202 and body == {"accepted": 2, "mapped_to_hosts": 1, "unknown_hosts": 1}
        assert fake.wait_for(
            lambda: any(
                "does not know" in json.dumps(c.params) and "instance=Grafana" in json.dumps(c.params)
                for c in fake.of("chat.postMessage")
                if c.params.get("channel") == CHANNEL
            ),
            60,
        )
    finally:
        lab.close()
