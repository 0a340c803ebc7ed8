from __future__ import annotations

import pytest

from bot.errors import UnknownModuleError
from bot.kb import KnowledgeBase
from bot.resolver import ModuleResolver


@pytest.fixture(scope="module")
def resolver(kb: KnowledgeBase) -> ModuleResolver:
    return ModuleResolver(kb)


@pytest.mark.parametrize(
    ("arg", "module", "instance"),
    [
        ("mta", "mta", None),
        ("MTA", "mta", None),
        ("inmail", "inMail", None),
        ("InMail", "inMail", None),
        ("in-mail", "inMail", None),
        ("wf server", "wfserver", None),
        ("wf-server", "wfserver", None),
        ("waakhond", "watchdog", None),
        ("bijhouden", "tracking", None),
        ("tomcat", "web", None),
        ("stats", "stat", None),
        ("syslog", "syslogd", None),
        ("mta@staging", "mta", "staging"),
        ("Mta@prod", "mta", "prod"),
        ("web@default", "web", "default"),
        ("wfsrever", "wfserver", None),
        ("watchdgo", "watchdog", None),
        ("trackinglgod", "trackinglogd", None),
        ("runwf", "wfserver", None),
        ("mtachild@prod", "mta", "prod"),
        ("  mta  ", "mta", None),
    ],
)
def test_resolves(resolver: ModuleResolver, arg: str, module: str, instance: str | None) -> None:
    r = resolver.resolve(arg)
    assert (r.module.name, r.instance) == (module, instance)


@pytest.mark.parametrize(
    "arg",
    [
        "mta; rm -rf /",
        "$(reboot)",
        "`id`",
        "mta@prod;ls",
        "mta@../etc",
        "mta@@x",
        "foo",
        "",
        "x" * 300,
        "mta | cat",
        "web\nrm",
        "mta@" + "a" * 80,
    ],
)
def test_refuses_hostile_or_unknown(resolver: ModuleResolver, arg: str) -> None:
    with pytest.raises(UnknownModuleError) as e:
        resolver.resolve(arg)
    assert len(str(e.value)) < 300


def test_suggestions(resolver: ModuleResolver) -> None:
    with pytest.raises(UnknownModuleError) as e:
        resolver.resolve("mta; rm -rf /")
    assert e.value.suggestions[0] == "mta"
    with pytest.raises(UnknownModuleError) as e2:
        resolver.resolve("wfservr99")
    assert "wfserver" in e2.value.suggestions
