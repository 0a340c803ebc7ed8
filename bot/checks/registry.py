"""The check registry: every module of `bot/checks/` that exposes `CHECK` is a check.

Importing a check module registers nothing by side effect; the registry reads the `CHECK`
attribute of each module it finds, in a stable order. `validate_knowledge` makes sure every check
the knowledge names exists, so a typo in `checks:` fails at start-up, not at 3 a.m.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import bot.checks as package
from bot.checks.base import ApiCheck, Check, HostCheck, ModuleCheck, RunCheck
from bot.errors import KnowledgeError
from bot.kb.models import KnowledgeBase

_NOT_CHECKS = frozenset({"base", "facts", "registry", "plan"})


@dataclass(frozen=True)
class Registry:
    checks: tuple[Check, ...]

    @property
    def module_checks(self) -> tuple[ModuleCheck, ...]:
        return tuple(c for c in self.checks if isinstance(c, ModuleCheck))

    @property
    def host_checks(self) -> tuple[HostCheck, ...]:
        return tuple(c for c in self.checks if isinstance(c, HostCheck))

    @property
    def run_checks(self) -> tuple[RunCheck, ...]:
        return tuple(c for c in self.checks if isinstance(c, RunCheck))

    @property
    def api_checks(self) -> tuple[ApiCheck, ...]:
        """Checks read from Campaign's own API, once per environment (issue 10)."""
        return tuple(c for c in self.checks if isinstance(c, ApiCheck))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.checks)

    def get(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)


def collect(modules: Iterable[object]) -> Registry:
    """A registry from modules (or any objects) carrying `CHECK`; duplicate names are refused."""
    checks: list[Check] = []
    for mod in modules:
        check = getattr(mod, "CHECK", None)
        if isinstance(check, Check):
            checks.append(check)
    names = [c.name for c in checks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise KnowledgeError(f"bot/checks: two checks share the name {dupes[0]!r}")
    return Registry(tuple(sorted(checks, key=lambda c: (c.order, c.name))))


@cache
def default_registry() -> Registry:
    """All checks shipped in `bot/checks/`."""
    mods = [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name not in _NOT_CHECKS and not info.name.startswith("_")
    ]
    return collect(mods)


def validate_knowledge(kb: KnowledgeBase, registry: Registry) -> None:
    """Every `checks:` entry of every module must name a registered module check or API check."""
    known = {c.name for c in registry.module_checks} | {c.name for c in registry.api_checks}
    for m in kb.modules:
        for name in m.checks:
            if name not in known:
                raise KnowledgeError(
                    f"modules/{m.name}.yaml: checks: unknown check {name!r} (known: {', '.join(sorted(known))})"
                )
