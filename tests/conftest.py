from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb import KnowledgeBase, load_knowledge
from bot.matcher import Matcher

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk honours HTTP(S)_PROXY and ignores NO_PROXY; tests talk to loopback only.
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


# The real-sshd fleet (session scope) is shared by the SSH integration and the Slack end-to-end tests.
from tests.harness.world import world  # noqa: E402, F401
from tests.integration.fleet import fleet  # noqa: E402, F401
