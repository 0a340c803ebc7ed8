"""Alert labels mapped to the inventory (instance as name, address, FQDN, [v6]:port, URL; unknown or
ambiguous environments said, never guessed), severity, and the webhook app: each alert of a group on its
own, unknown hosts told where the labels point, 422 only when nothing can go anywhere, large groups
accepted, 400s naming the field."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from bot.inventory import Inventory, parse_inventory
from bot.kb import KnowledgeBase
from bot.resolver import ModuleResolver
from bot.watch.intake import ExternalAlert, Mapped, level_of, map_alert
from bot.webhooks.alerts import alert_app

INV = parse_inventory(
    {
        "default_environment": "prod",
        "environments": {
            "prod": {
                "aliases": ["production"],
                "watch": {"every": "5m", "channel": "CPRODALERT"},
                "hosts": [
                    {"name": "app1", "address": "10.1.0.11"},
                    {"name": "app2", "address": "app2.prod.example.com"},
                    {"name": "v6", "address": "fd00::15"},
                    {"name": "shared", "address": "10.9.9.9"},
                ],
            },
            "acc": {
                "watch": {"every": "5m", "channel": "CACCALERT"},
                "hosts": [{"name": "acc-app1", "address": "10.2.0.11"}, {"name": "accshared", "address": "10.9.9.9"}],
            },
        },
    },
    "inventory.yaml",
)


def mapped(kb: KnowledgeBase, inv: Inventory = INV, default: str | None = None, **labels: str) -> Mapped:
    a = ExternalAlert(status="firing", labels={"alertname": "X", **labels})
    return map_alert(a, inv, ModuleResolver(kb), default)


@pytest.mark.parametrize(
    ("instance", "host"),
    [
        ("app1", "app1"),
        ("APP1:9100", "app1"),
        ("10.1.0.11:9100", "app1"),
        ("app1.prod.example.com:9100", "app1"),  # an FQDN whose first label is a host of the inventory
        ("app2", "app2"),  # a short name for a host whose address is its FQDN
        ("app2.prod.example.com", "app2"),
        ("[fd00::15]:9100", "v6"),
        ("fd00::15", "v6"),
        ("https://10.1.0.11/nl/jsp/ping.jsp", "app1"),  # blackbox exporter probes
        ("http://app1:8080/r/test", "app1"),
        ("app1:8080/nl/jsp/ping.jsp", "app1"),
    ],
)
def test_instance_labels_name_a_host_however_written(kb: KnowledgeBase, instance: str, host: str) -> None:
    m = mapped(kb, instance=instance)
    assert (m.environment, m.host, m.channel) == ("prod", host, "CPRODALERT"), m.why


def test_an_unknown_environment_is_said_not_taken_for_the_default(kb: KnowledgeBase) -> None:
    m = mapped(kb, instance="app1", environment="staging")
    assert m.host is None and m.environment is None
    assert m.why is not None and "'staging' is not in the inventory" in m.why and "acc, prod" in m.why
    assert m.channel == "CPRODALERT", "the message goes to the default environment's channel"


def test_an_address_of_two_environments_asks_for_the_environment_label(kb: KnowledgeBase) -> None:
    m = mapped(kb, instance="10.9.9.9:9100")
    assert m.host is None and m.why is not None
    assert "ambiguous" in m.why and "shared in prod" in m.why and "accshared in acc" in m.why
    assert "environment=" in m.why
    m = mapped(kb, instance="10.9.9.9:9100", environment="acc")
    assert (m.environment, m.host, m.channel) == ("acc", "accshared", "CACCALERT")


def test_a_host_of_another_environment_than_labelled_is_said(kb: KnowledgeBase) -> None:
    m = mapped(kb, instance="app1", environment="acc")
    assert m.host is None and m.why == "app1 is not a host of acc (it is a host of prod)"
    assert m.channel == "CACCALERT"


def test_alias_environment_label_and_host_label(kb: KnowledgeBase) -> None:
    m = mapped(kb, instance="10.1.0.11:9100", environment="production", job="mta")
    assert (m.environment, m.host, m.module) == ("prod", "app1", "mta")
    m = mapped(kb, host="app2", instance="grafana-agent:12345", module="wfserver")
    assert (m.host, m.module) == ("app2", "wfserver")


@pytest.mark.parametrize(
    ("labels", "module"),
    [
        ({"job": "campaign-mta"}, "mta"),
        ({"job": "nlserver_web"}, "web"),
        ({"module": "wfserver@prod"}, "wfserver"),
        ({"module": "inmail"}, "inMail"),
        ({"module": "waakhond"}, "watchdog"),  # the Dutch name of Adobe's table
        ({"alertname": "CampaignWfserverDown"}, "wfserver"),
        ({"alertname": "CampaignMTADown"}, "mta"),
        ({"job": "node", "alertname": "TrackingLogsStale"}, "tracking"),
        ({"job": "node", "alertname": "InstanceDown"}, None),  # the host's health, all its modules
        ({"job": "blackbox-http"}, None),
        ({"job": "webz", "alertname": "HostDown"}, "web"),  # a job label is a name, typos taken; an alert name is not
    ],
)
def test_module_labels_name_a_module_however_monitoring_spells_it(
    kb: KnowledgeBase, labels: dict[str, str], module: str | None
) -> None:
    a = ExternalAlert(status="firing", labels={"alertname": "X", "instance": "app1", **labels})
    assert map_alert(a, INV, ModuleResolver(kb), None).module == module


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("critical", "fail"),
        ("error", "fail"),
        ("page", "fail"),
        ("warning", "warn"),
        ("Warning", "warn"),
        ("info", None),
        ("none", None),
        (None, "fail"),
        ("whatever", "fail"),
    ],
)
def test_severity_labels(severity: str | None, level: str | None) -> None:
    assert level_of({"severity": severity} if severity else {}) == level


# ---------------------------------------------------------------------- the webhook app


def call(app: Any, body: Any) -> tuple[str, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    got: dict[str, str] = {}
    out = b"".join(
        app({"CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}, lambda s, h: got.setdefault("s", s))
    )
    return got["s"], json.loads(out)


def app_for(kb: KnowledgeBase, inv: Inventory = INV, default: str | None = None) -> tuple[Any, list[dict[str, Any]]]:
    jobs: list[dict[str, Any]] = []
    app = alert_app(
        "alertmanager",
        inventory=lambda: inv,
        resolver=ModuleResolver(kb),
        submit=lambda kind, payload, job_id: jobs.append(payload),
        default_channel=default,
    )
    return app, jobs


def alert(instance: str, name: str = "X", **labels: str) -> dict[str, Any]:
    return {"status": "firing", "labels": {"alertname": name, "instance": instance, **labels}}


def test_a_group_with_an_unknown_host_still_runs_its_known_ones(kb: KnowledgeBase) -> None:
    app, jobs = app_for(kb)
    status, body = call(app, {"alerts": [alert("app1:9100"), alert("db9:9100")]})
    assert status.startswith("202") and body["mapped_to_hosts"] == 1 and body["unknown_hosts"] == 1
    sent = jobs[0]["alerts"]
    assert [a["host"] for a in sent] == ["app1", None]
    assert sent[1]["channel"] == "CPRODALERT" and "no host db9:9100" in sent[1]["why"]


def test_grafanas_test_notification_goes_to_the_default_environments_channel(kb: KnowledgeBase) -> None:
    app, jobs = app_for(kb)  # no CAMPAIGN_BOT_ALERT_CHANNEL: the default environment has a watch.channel
    status, _ = call(app, {"alerts": [alert("Grafana", "TestAlert")]})
    assert status.startswith("202") and jobs[0]["alerts"][0]["channel"] == "CPRODALERT"
    only = parse_inventory(
        {
            "environments": {
                "acc": {
                    "watch": {"every": "5m", "channel": "CACCALERT"},
                    "hosts": [{"name": "a", "address": "10.0.0.1"}],
                }
            }
        },
        "inventory.yaml",
    )
    app, jobs = app_for(kb, only)  # the only environment
    status, _ = call(app, {"alerts": [alert("Grafana", "TestAlert")]})
    assert status.startswith("202") and jobs[0]["alerts"][0]["channel"] == "CACCALERT"


def test_422_only_when_no_alert_of_the_group_has_anywhere_to_go(kb: KnowledgeBase) -> None:
    bare = parse_inventory(
        {
            "environments": {
                "prod": {"hosts": [{"name": "app1", "address": "10.1.0.11"}]},
                "acc": {
                    "watch": {"every": "5m", "channel": "CACCALERT"},
                    "hosts": [{"name": "b", "address": "10.2.0.1"}],
                },
            }
        },
        "inventory.yaml",
    )
    app, jobs = app_for(kb, bare)
    status, body = call(app, {"alerts": [alert("app1"), alert("db9")]})
    assert status.startswith("422") and not jobs
    assert "watch.channel for environment(s) prod" in body["error"] and "CAMPAIGN_BOT_ALERT_CHANNEL" in body["error"]
    status, body = call(app, {"alerts": [alert("app1"), alert("b")]})
    assert status.startswith("202") and body["accepted"] == 1 and body["no_channel"] == 1
    assert "prod" in body["warning"] and [a["host"] for a in jobs[0]["alerts"]] == ["b"]
    app, jobs = app_for(kb, bare, default="CALL")
    status, _ = call(app, {"alerts": [alert("app1"), alert("db9")]})
    assert status.startswith("202") and {a["channel"] for a in jobs[0]["alerts"]} == {"CALL"}


def test_a_large_group_is_accepted_and_what_is_left_out_is_named(kb: KnowledgeBase) -> None:
    app, jobs = app_for(kb)
    status, body = call(app, {"alerts": [alert("app1", f"A{i}") for i in range(150)], "truncatedAlerts": 3})
    assert status.startswith("202") and body["accepted"] == 100 and body["left_out"] == 50
    assert len(jobs[0]["alerts"]) == 100 and jobs[0]["left_out"][0] == "A100" and jobs[0]["truncated"] == 3


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"alerts": [', "the body is not JSON"),
        (b"", "the body is empty"),
        (b'{"alerts": "\xff\xfe"}', "the body is not JSON"),
        ({"version": "4"}, "alerts: Field required"),
        ({"alerts": []}, "alerts: List should have at least 1 item"),
        ({"alerts": [{"status": "pending"}]}, "alerts.0.status: Input should be 'firing' or 'resolved'"),
        ({"alerts": [{"status": "firing", "labels": {"a": 1}}]}, "alerts.0.labels.a: Input should be a valid string"),
        ({"alerts": [{"status": "firing", "labels": []}]}, "alerts.0.labels: Input should be a valid dictionary"),
        ([], "(top level): expected a JSON object with alerts"),
    ],
)
def test_400s_name_the_field(kb: KnowledgeBase, body: Any, error: str) -> None:
    app, jobs = app_for(kb)
    status, answer = call(app, body)
    assert status.startswith("400") and error in answer["error"] and not jobs
