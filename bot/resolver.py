"""Module resolution for `/campaign-module ARG` and `campaign-bot module ARG`.

Accepts the canonical name in any case, `module@instance`, aliases (English, Dutch, spaced or
hyphenated) and near-misspellings. Needs no inventory. Anything else, including shell syntax, is
refused with the closest module names; nothing downstream ever sees an unvalidated argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UnknownModuleError
from bot.kb.models import KnowledgeBase, Module
from bot.text import damerau, fold

MAX_ARGUMENT = 100
INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ALLOWED = re.compile(r"^[A-Za-z0-9 _.@-]+$")


@dataclass(frozen=True)
class Resolution:
    module: Module
    instance: str | None
    how: str  # "name", "alias" or "typo"
    given: str


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


class ModuleResolver:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._keys: dict[str, tuple[Module, str]] = {}
        for m in kb.modules:
            self._keys[_key(m.name)] = (m, "name")
        for m in kb.modules:
            for alias in m.aliases:
                k = _key(alias.split("@")[0])
                if k and k not in self._keys:
                    self._keys[k] = (m, "alias")

    def resolve(self, argument: str) -> Resolution:
        """Resolve `argument` or raise UnknownModuleError carrying up to three suggestions."""
        arg = argument.strip()
        if not arg or len(arg) > MAX_ARGUMENT or not _ALLOWED.match(arg) or arg.count("@") > 1:
            raise UnknownModuleError(argument, self.suggest(arg))
        name, _, instance = arg.partition("@")
        inst: str | None = instance.strip() or None
        if inst is not None and not INSTANCE_RE.match(inst):
            raise UnknownModuleError(argument, self.suggest(name))
        key = _key(name)
        if not key:
            raise UnknownModuleError(argument, [])
        if key in self._keys:
            module, how = self._keys[key]
            return Resolution(module, self._instance(module, inst), how, argument)
        close = self._closest(key)
        if close and (len(close) == 1 or close[0][0] < close[1][0] or close[0][1] is close[1][1]):
            dist, module = close[0]
            if dist <= (1 if len(key) < 8 else 2) and len(key) >= 3:
                return Resolution(module, self._instance(module, inst), "typo", argument)
        raise UnknownModuleError(argument, self.suggest(name))

    def exact(self, text: str) -> Module | None:
        """The module `text` names exactly (its name or an alias, any case or spacing), else None.
        No typo tolerance: used to spot module names inside free text."""
        hit = self._keys.get(_key(text.split("@")[0]))
        return hit[0] if hit else None

    @staticmethod
    def _instance(module: Module, inst: str | None) -> str | None:
        # Server-wide modules always run as @default; keep what the user wrote otherwise.
        if module.scope == "server" and inst is None:
            return None
        return inst

    def _closest(self, key: str) -> list[tuple[int, Module]]:
        scored = sorted(
            ((damerau(key, k, 3), m.name, m) for k, (m, _) in self._keys.items()),
            key=lambda t: (t[0], t[1]),
        )
        return [(d, m) for d, _, m in scored if d <= 3]

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """Closest module names to `text` (by name, alias or a shared prefix), best first."""
        key = _key(text)[:40]
        if not key:
            return []
        ranked: dict[str, int] = {}
        for k, (m, _) in self._keys.items():
            d = damerau(key, k, 6)
            if k.startswith(key[:3]) or key.startswith(k[:3]):
                d = min(d, 2)
            if k in key and len(k) >= 3:
                d = min(d, 1)  # "mta; rm -rf /" still suggests mta
            if d <= (2 if len(key) <= 5 else 3):
                ranked[m.name] = min(d, ranked.get(m.name, 99))
        return [n for n, _ in sorted(ranked.items(), key=lambda t: (t[1], t[0]))][:limit]
