from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.simulator.fleet import HostScenario, build_host, default_scenarios
from tests.harness.sshd import SshdLab, chown_tree, free_port, require_sshd, write_inventory


@dataclass
class Fleet:
    lab: SshdLab
    inventory: Path
    homes: dict[str, Path]
    hosts: dict[str, dict[str, object]]


def _scenario(base: HostScenario, name: str, **kw: object) -> HostScenario:
    sc = HostScenario(**{**base.__dict__, "name": name})
    for k, v in kw.items():
        setattr(sc, k, v)
    return sc


@pytest.fixture(scope="session")
def fleet() -> Iterator[Fleet]:
    """Healthy and faulty simulated Campaign hosts, each behind its own real sshd on 127.0.0.N."""
    require_sshd()
    lab = SshdLab()
    app1, app2, *_ = default_scenarios()
    plan = [
        ("good1", "127.0.0.2", _scenario(app1, "good1"), {}),
        ("good2", "127.0.0.3", _scenario(app2, "good2"), {}),
        ("hang", "127.0.0.4", _scenario(app1, "hang", mode="hang"), {}),
        ("badkey", "127.0.0.5", _scenario(app1, "badkey"), {"wrong_key": True}),
        ("noauth", "127.0.0.6", _scenario(app1, "noauth"), {"authorize": False}),
        ("huge", "127.0.0.7", _scenario(app1, "huge", mode="huge"), {}),
        ("binary", "127.0.0.8", _scenario(app1, "binary", mode="binary"), {}),
        ("unknownkey", "127.0.0.9", _scenario(app1, "unknownkey"), {"record_key": False}),
    ]
    homes: dict[str, Path] = {}
    hosts: list[dict[str, object]] = []
    try:
        for name, addr, sc, opts in plan:
            home = build_host(lab.root / "hosts", sc, ("prod",))
            homes[name] = home
            h = lab.start_host(name, addr, home, **opts)  # type: ignore[arg-type]
            hosts.append({"name": name, "address": addr, "port": h.port, "nl_home": str(home)})
        chown_tree(lab.root / "hosts", lab.user)
        silent = lab.silent_server("127.0.0.10")
        hosts.append(
            {"name": "silent", "address": "127.0.0.10", "port": silent.port, "nl_home": "/usr/local/neolane/nl6"}
        )
        hosts.append(
            {
                "name": "closed",
                "address": "127.0.0.11",
                "port": free_port("127.0.0.11"),
                "nl_home": "/usr/local/neolane/nl6",
            }
        )
        inv = write_inventory(lab.root / "inventory.yaml", lab, hosts)
        yield Fleet(lab, inv, homes, {str(h["name"]): h for h in hosts})
    finally:
        lab.close()
