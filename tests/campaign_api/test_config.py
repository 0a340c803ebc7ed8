"""`campaign_api` settings: refused at start-up with one line naming the field, and the delivery limit
(`max_preparation_s`) the inventory sets instead of the packaged maxPreparationJobsSec."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.campaign_api.facts import ALL_FACTS
from bot.campaign_api.session import EnvironmentApi
from bot.checks.api_deliveries import CHECK as DELIVERIES
from bot.inventory import CampaignApi
from bot.kb import KnowledgeBase
from bot.simulator.appserver import SimulatedAppServer
from tests.campaign_api.conftest import environment

INVENTORY = """\
environments:
  prod:
    campaign_api:
      url: {url}
      login: monitoring
      password_env: CAMPAIGN_TEST_PASSWORD
    hosts:
      - name: app1
        transport: local
"""


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://campaign.example.com:99999", "port"),
        ("https://campaign.example.com:abc", "port"),
        ("http://campaign.example.com:0", "port"),
        ("https://campaign.example.com/nl/jsp/soaprouter.jsp", "without /nl/jsp/soaprouter.jsp"),
        ("https://campaign.example.com/nl/jsp/ping.jsp", "without /nl/jsp/soaprouter.jsp"),
    ],
)
def test_a_bad_url_is_refused_naming_the_field(url: str, said: str) -> None:
    with pytest.raises(ValidationError) as e:
        CampaignApi(url=url, login="monitoring", password_env="X")
    assert said in str(e.value)


def test_good_urls_pass() -> None:
    for url in ("https://campaign.example.com", "http://10.0.0.5:8080", "https://[::1]:8443/", "https://h/campaign"):
        assert CampaignApi(url=url, session_token_env="X").url == url.rstrip("/")


def test_the_cli_refuses_a_bad_port_in_one_line(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(INVENTORY.format(url="https://campaign.example.com:99999"))
    out = subprocess.run(
        [sys.executable, "-m", "bot", "check", "web", "--env", "prod", "--inventory", str(inv)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    lines = [ln for ln in (out.stderr + out.stdout).splitlines() if ln.strip()]
    assert len(lines) == 1 and "environments.prod.campaign_api.url" in lines[0] and "port" in lines[0]
    assert "Traceback" not in out.stderr


def test_max_preparation_s_takes_intervals() -> None:
    assert CampaignApi(url="http://h", session_token_env="X", max_preparation_s="2h").max_preparation_s == 7200
    assert CampaignApi(url="http://h", session_token_env="X", max_preparation_s=900).max_preparation_s == 900
    with pytest.raises(ValidationError) as e:
        CampaignApi(url="http://h", session_token_env="X", max_preparation_s="soon")
    assert "max_preparation_s" in str(e.value)


def test_the_inventorys_limit_is_the_one_used(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    # DM7207 has been "Start pending" for 3 h: stuck past the packaged 3600 s, not past a 4 h limit.
    base = environment(appserver.url)
    assert base.campaign_api is not None and kb.campaign_api is not None
    for limit, stuck in ((None, True), (4 * 3600.0, False), (1800.0, True)):
        api = base.campaign_api.model_copy(update={"max_preparation_s": limit})
        env = base.model_copy(update={"campaign_api": api})
        facts = EnvironmentApi(env, api, kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(
            ALL_FACTS, time.monotonic() + 30
        )
        fs = list(DELIVERIES.evaluate_api(env, [kb.get("mta")], facts))
        assert any(f.status == "fail" and "DM7207" in f.summary for f in fs) is stuck, (limit, fs)
        if limit:
            assert any("campaign_api.max_preparation_s" in e for f in fs for e in f.evidence)
