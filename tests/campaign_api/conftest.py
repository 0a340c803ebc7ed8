"""Fixtures for the Campaign API tests: a real simulated application server on loopback per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from bot.inventory import CampaignApi, Environment, Host
from bot.simulator.appserver import SimulatedAppServer

LOGIN = "monitoring"


@pytest.fixture
def password() -> str:
    return "PLANTED-pw-" + secrets.token_hex(8)


@pytest.fixture
def appserver(password: str) -> Iterator[SimulatedAppServer]:
    srv = SimulatedAppServer(LOGIN, password, "prod")
    try:
        yield srv
    finally:
        srv.stop()


def environment(
    url: str, *, token: bool = False, timeout_s: float = 5, name: str = "prod", tls_verify: bool = True
) -> Environment:
    api = (
        CampaignApi(url=url, session_token_env="CAMPAIGN_TEST_TOKEN", timeout_s=timeout_s, tls_verify=tls_verify)
        if token
        else CampaignApi(
            url=url, login=LOGIN, password_env="CAMPAIGN_TEST_PASSWORD", timeout_s=timeout_s, tls_verify=tls_verify
        )
    )
    return Environment(name=name, instances=("prod",), hosts=(Host(name="app1", transport="local"),), campaign_api=api)


def seen_tokens(srv: SimulatedAppServer) -> set[str]:
    """Every session and security token that travelled in a request (to plant in secret checks)."""
    out: set[str] = set()
    for _method, _path, headers, _body in srv.requests:
        for key in ("x-security-token", "x-session-token"):
            if headers.get(key):
                out.add(headers[key])
    return out
