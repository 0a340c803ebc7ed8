"""The conversation core in-process (fixture `world`): a two-environment inventory, fake hosts, a memory store."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from bot.audit import AuditLog
from bot.conversation.core import Conversation
from bot.conversation.understand import Understanding
from bot.diagnosis import Diagnoser
from bot.inventory import Host, Inventory, parse_inventory
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.resolver import ModuleResolver
from bot.runner import Runner
from bot.stores import MemoryStore
from bot.transports.base import CommandResult, Script
from bot.transports.fake import FakeTransport

BANNER = "12:00:00 >   Application server for Adobe Campaign Classic (7.0 24.1 build 9379@abc) of 01/01/2025"

PDUMP = {
    "app1": [
        "watchdog (1) - 6.6 MB",
        "syslogd@default (2) - 7.0 MB",
        "web@default (5) - 50 MB",
        "mta@prod (3) - 23.0 MB",
        "stat@prod (4) - 1.5 MB",
        "wfserver@prod (6) - 11 MB",
    ],
    "app2": [
        "watchdog (11) - 6.6 MB",
        "syslogd@default (12) - 7.0 MB",
        "stat@prod (14) - 1.5 MB",
        "wfserver@prod (16) - 11 MB",
    ],
    "acc1": [
        "watchdog (21) - 6.6 MB",
        "syslogd@default (22) - 7.0 MB",
        "mta@acc (23) - 20 MB",
        "stat@acc (24) - 1.5 MB",
    ],
}
CONFIG = {
    "app1": '### config-default.xml\n<web autoStart="true"/> <syslogd autoStart="true"/>\n'
    '### config-prod.xml\n<mta autoStart="true"/> <stat autoStart="true"/> <wfserver autoStart="true"/>',
    "app2": '### config-default.xml\n<syslogd autoStart="true"/>\n'
    '### config-prod.xml\n<mta autoStart="true"/> <stat autoStart="true"/> <wfserver autoStart="true"/>',
    "acc1": '### config-default.xml\n<syslogd autoStart="true"/>\n'
    '### config-acc.xml\n<mta autoStart="true"/> <stat autoStart="true"/>',
}


def respond(host: str):  # type: ignore[no-untyped-def]
    """A fake host: the base sections answer like a Campaign server; every other section is empty."""

    def run(script: Script) -> CommandResult:
        token = re.search(r"@@CB:([0-9a-f]+):BEGIN", script.text)
        assert token, "not a probe script"
        t = token.group(1)
        out = []
        for sid in re.findall(rf"@@CB:{t}:BEGIN:(.+?)@@", script.text):
            if sid == "nlserver-pdump":
                text = "\n".join([BANNER, *PDUMP[host]])
            elif sid == "nlserver-monitor-missing":
                text = BANNER + ("\nmta@prod" if host == "app2" else "")
            elif sid == "config":
                text = CONFIG[host]
            elif sid == "now":
                text = "1700000000"
            elif sid == "ports":
                text = "udp UNCONN 0 0 127.0.0.1:6666 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:7777 0.0.0.0:*\ntcp LISTEN 0 1 0.0.0.0:8080 0.0.0.0:*"
            else:
                text = ""
            out.append(f"@@CB:{t}:BEGIN:{sid}@@\n{text}\n@@CB:{t}:END:{sid}:0@@")
        return CommandResult(0, ("\n".join(out) + "\n").encode(), b"", 3)

    return run


INVENTORY = {
    "environments": {
        "prod": {
            "aliases": ["production", "productie", "prd"],
            "instances": ["prod"],
            "channels": ["CPROD"],
            "hosts": [{"name": "app1", "address": "10.0.0.1"}, {"name": "app2", "address": "10.0.0.2"}],
            "actions": "enabled",
            "operators": ["UOPS"],
        },
        "acc": {
            "aliases": ["acceptance", "acceptatie"],
            "instances": ["acc"],
            "hosts": [{"name": "acc1", "address": "10.0.1.1"}],
            "protected": True,
            "access": {"users": ["UBOSS"]},
        },
    },
    "default_environment": "prod",
}


@dataclass
class World:
    core: Conversation
    inventory: Inventory
    transports: dict[str, FakeTransport]
    store: MemoryStore
    audit_path: object
    sent: list[str] = field(default_factory=list)

    def scripts_to(self, host: str) -> int:
        return len(self.transports[host].scripts)


@pytest.fixture
def world(kb: KnowledgeBase, matcher: Matcher, tmp_path) -> World:  # type: ignore[no-untyped-def]
    inv = parse_inventory(INVENTORY, "test")
    transports = {h: FakeTransport(respond(h)) for h in PDUMP}

    def transport_for(host: Host) -> FakeTransport:
        return transports[host.name]

    store = MemoryStore()
    audit = AuditLog(tmp_path / "audit.jsonl")
    core = Conversation(
        kb=kb,
        understanding=Understanding(kb, matcher, ModuleResolver(kb)),
        inventory=lambda: inv,
        diagnoser=Diagnoser(kb, matcher, Runner(transport_for)),
        store=store,
        audit=audit,
        transport_for=transport_for,
    )
    return World(core, inv, transports, store, tmp_path / "audit.jsonl")
