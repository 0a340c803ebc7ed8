"""Checks: one module per check behind a registry (see `base.py` for the kinds, `registry.py` for
how they are found, `plan.py` for how one host's run is planned and evaluated)."""

from bot.checks.base import Check, HostCheck, HostOutcome, ModuleCheck, RunCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.checks.registry import Registry, default_registry, validate_knowledge

__all__ = [
    "Check",
    "HostCheck",
    "HostContext",
    "HostFacts",
    "HostOutcome",
    "ModuleCheck",
    "Registry",
    "RunCheck",
    "default_registry",
    "finding",
    "validate_knowledge",
]
