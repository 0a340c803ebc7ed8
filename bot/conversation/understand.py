"""Understanding a question (pure): which environment, which hosts, which modules, which intent.

Order of decisions, the same on every surface:
1. Slack markup (mentions, links) is removed; an empty question gets help.
2. Names first: an environment the question names but the inventory does not know, an unknown
   instance (`mta@staging`) or an unknown host are refused with the known ones; nothing runs.
3. A follow-up in a thread with context ("check again", "and on prod?", "show the mta log").
4. A host named ("check app2", "disk full on app2"): that host's health (its environment follows).
5. "is mta running on prod?": a direct answer per host.
6. A symptom the matcher maps to modules (or a clarifying question when two are equally likely).
7. A general health question ("is everything ok on prod?", "something is wrong with campaign"): a
   sweep of every module on every host.
8. Anything else is not about Campaign: help, said plainly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.conversation.replies import Clarify, Help, Intent, Plan, Question, Refusal
from bot.diagnosis import asks_for_logs, select_modules
from bot.errors import UnknownModuleError
from bot.inventory import INSTANCE_RE, Environment, Host, Inventory
from bot.kb.models import KnowledgeBase, Module
from bot.matcher import Matcher
from bot.models import Match
from bot.resolver import ModuleResolver
from bot.text import fold, words

MAX_QUESTION = 2000
CLARIFY_GAP = 0.03  # two candidates closer than this (and not tied by the docs) -> ask which one

_SLACK_LINK = re.compile(r"<(?:https?|mailto|ftp|slack)://?[^>]*>|<mailto:[^>]*>")
_SLACK_REF = re.compile(r"<[@#!][^>]*>")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")
_PREPOSITIONS = frozenset({"on", "in", "op", "bij", "for", "voor", "from", "van", "at", "naar", "to"})
_ENV_NOUNS = frozenset({"env", "environment", "omgeving", "environments", "omgevingen"})
_AGAIN = re.compile(
    r"\b(again|re-?run|retry|refresh|re-?check|once more|opnieuw|nogmaals|nog een keer|nog eens|herhaal)\b", re.I
)
_FOLLOWUP_START = re.compile(r"^\s*(and|en|what about|how about|hoe zit het met|ook|also)\b", re.I)
_RUNNING_WORDS = re.compile(
    r"\b(running|runs|run|up|alive|started|active|draait|draaien|loopt|lopen|actief|gestart|aan)\b", re.I
)
_QUESTION_START = re.compile(r"^\s*(is|are|does|do|did|draait|draaien|loopt|lopen|staat|staan|werkt|check)\b", re.I)
_NEGATION = re.compile(r"\b(not|no|never|niet|geen|nooit|dont|doesnt|isnt|arent|stopped|down|dead|crashed)\b", re.I)
_HEALTH_WORDS = frozenset(
    [
        "everything",
        "all",
        "alles",
        "overall",
        "health",
        "healthy",
        "status",
        "ok",
        "okay",
        "fine",
        "good",
        "goed",
        "gezond",
        "wrong",
        "broken",
        "mis",
        "kapot",
        "problem",
        "problems",
        "issue",
        "issues",
        "storing",
        "storingen",
        "something",
        "iets",
        "anything",
        "fout",
        "fouten",
        "red",
        "rood",
        "down",
        "healthcheck",
        "sweep",
    ]
)
_SCOPE_WORDS = frozenset(
    [
        "campaign",
        "adobe",
        "acc",
        "nlserver",
        "platform",
        "servers",
        "server",
        "fleet",
        "omgeving",
        "environment",
        "instance",
        "instances",
        "neolane",
        "everything",
        "alles",
        "hosts",
        "machines",
        "systems",
        "systeem",
        "systemen",
    ]
)
_HOST_VERBS = frozenset({"check", "host", "server", "machine", "on", "op", "controleer", "bekijk"})


def normalize(text: str) -> str:
    """The question without Slack markup: mentions and links go, entities are decoded, spaces collapse."""
    text = _SLACK_LINK.sub(" ", text[: MAX_QUESTION * 2])
    text = _SLACK_REF.sub(" ", text)
    text = html.unescape(text)
    return " ".join(text.split())[:MAX_QUESTION]


def tokens(text: str) -> list[str]:
    """Words with the characters host, instance and environment names may hold (`app-2`, `mta@prod`)."""
    return [t.rstrip(".-").lower() for t in _TOKEN.findall(fold(text))]


@dataclass(frozen=True)
class Context:
    """What a thread remembers for follow-ups."""

    environment: str
    modules: tuple[str, ...]
    intent: Intent
    question: str
    host: str | None = None

    def public(self) -> dict[str, object]:
        return {
            "environment": self.environment,
            "modules": list(self.modules),
            "intent": self.intent,
            "question": self.question,
            "host": self.host,
        }

    @classmethod
    def from_record(cls, data: dict[str, object]) -> Context | None:
        env = data.get("environment")
        mods = data.get("modules")
        intent = data.get("intent")
        if (
            not isinstance(env, str)
            or not isinstance(mods, list)
            or intent not in ("symptom", "sweep", "host", "running", "module", "followup")
        ):
            return None
        host = data.get("host")
        question = data.get("question")
        kind: Intent = intent
        return cls(env, tuple(str(m) for m in mods), kind, str(question or ""), host if isinstance(host, str) else None)


@dataclass(frozen=True)
class Decision:
    """A question understood: the plan, and the objects it names."""

    plan: Plan
    env: Environment
    modules: tuple[Module, ...]
    hosts: tuple[Host, ...] | None  # None: every host of the environment
    instance: str | None = None  # a module asked about on one instance (`mta@prod`)


Understood = Decision | Help | Clarify | Refusal


class Understanding:
    """Turns questions into decisions; handed the knowledge, the matcher and the resolver."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, resolver: ModuleResolver) -> None:
        self.kb = kb
        self.matcher = matcher
        self.resolver = resolver
        self._env_words = {fold(w) for w in kb.lexicon.environment_words}
        self._offtopic = [words(w) for w in kb.lexicon.offtopic_words if words(w)]

    # ------------------------------------------------------------------ names
    def named_environment(self, toks: Sequence[str], inv: Inventory) -> tuple[Environment | None, str | None]:
        """(the environment the question names, an environment-like name it does not know)."""
        names = inv.environment_names()
        unknown: str | None = None
        for i, t in enumerate(toks):
            prev = toks[i - 1] if i > 0 else ""
            if t in names:
                # "acc" is also Adobe Campaign Classic: short names need "on acc" or "env acc"
                if prev in _PREPOSITIONS or prev in _ENV_NOUNS or len(t) >= 4 or len(toks) == 1:
                    return inv.find_environment(names[t]), None
            elif (prev in _PREPOSITIONS and t in self._env_words) or (
                prev in _ENV_NOUNS and re.fullmatch(r"[a-z0-9_.-]{2,30}", t)
            ):
                unknown = unknown or t
        return None, unknown

    def named_host(self, toks: Sequence[str], inv: Inventory) -> tuple[tuple[Environment, Host] | None, str | None]:
        """(the host the question names, a host-like name the inventory does not know)."""
        for t in toks:
            found = inv.host_named(t)
            if found is not None:
                return found, None
        known = [h.name.lower() for e in inv.environments.values() for h in e.hosts]
        for i, t in enumerate(toks):
            prev = toks[i - 1] if i > 0 else ""
            if prev not in _HOST_VERBS or not re.search(r"\d", t) or "@" in t:
                continue
            if self._is_module_word(t):
                continue
            if any(fuzz.ratio(t, k) >= 70 or re.sub(r"\d+$", "", t) == re.sub(r"\d+$", "", k) for k in known):
                return None, t
        return None, None

    def _is_module_word(self, t: str) -> bool:
        try:
            self.resolver.resolve(t)
        except UnknownModuleError:
            return False
        return True

    def named_instance(self, toks: Sequence[str]) -> tuple[Module, str] | None:
        """`mta@prod` in the question: the module and the instance written."""
        for t in toks:
            if "@" in t:
                try:
                    res = self.resolver.resolve(t)
                except UnknownModuleError:
                    continue
                if res.instance is not None:
                    return res.module, res.instance
        return None

    # ------------------------------------------------------------------ intents
    def is_running_question(self, text: str, matches: Sequence[Match]) -> bool:
        if not matches or not matches[0].mentioned or _NEGATION.search(fold(text)):
            return False
        return bool(_RUNNING_WORDS.search(text)) and (bool(_QUESTION_START.match(text)) or text.rstrip().endswith("?"))

    def is_sweep(self, text: str, env_named: bool) -> bool:
        toks = set(words(text))
        if not toks & _HEALTH_WORDS or self.offtopic(text):
            return False
        return env_named or bool(toks & _SCOPE_WORDS) or len(toks) <= 2

    def offtopic(self, text: str) -> bool:
        ws = words(text)
        joined = " " + " ".join(ws) + " "
        return any(" " + " ".join(p) + " " in joined for p in self._offtopic)

    def ambiguous(self, matches: Sequence[Match]) -> bool:
        if len(matches) < 2 or matches[0].mentioned:
            return False
        a, b = matches[0], matches[1]
        tied = b.module in self.kb.get(a.module).related or a.module in self.kb.get(b.module).related
        return not tied and a.score - b.score < CLARIFY_GAP

    def host_modules(self) -> tuple[Module, ...]:
        """Every module with something to check (a sweep, a host's health)."""
        return tuple(m for m in self.kb.modules if m.checks)

    # ------------------------------------------------------------------ the decision
    def decide(
        self,
        q: Question,
        text: str,
        inv: Inventory,
        context: Context | None,
        default_env: str | None,
        channel_env: str | None,
    ) -> Understood:
        if not text:
            return Help(environments=tuple(sorted(inv.environments)), modules=tuple(self.kb.names), not_campaign=False)
        toks = tokens(text)
        named_env, unknown_env = self.named_environment(toks, inv)
        if q.env is not None:
            named_env = inv.find_environment(q.env)
            if named_env is None:
                unknown_env = q.env
        if named_env is None and unknown_env is not None:
            return Refusal(
                why="unknown_environment",
                reason=f"unknown environment {unknown_env!r}; known: {', '.join(sorted(inv.environments))}",
                known=tuple(sorted(inv.environments)),
            )
        host_hit, unknown_host = self.named_host(toks, inv)
        if host_hit is None and unknown_host is not None:
            hosts = sorted(h.name for e in inv.environments.values() for h in e.hosts)
            return Refusal(
                why="unknown_host",
                reason=f"unknown host {unknown_host!r}; known: {', '.join(hosts)}",
                known=tuple(hosts),
            )

        ctx_env = context.environment if context is not None and inv.find_environment(context.environment) else None
        fallback = next(
            (n for n in (ctx_env, channel_env, default_env, inv.default_environment) if n and inv.find_environment(n)),
            None,
        )
        if named_env is not None:
            env = named_env
        elif host_hit is not None:
            env = host_hit[0]
        elif fallback is not None:
            env = inv.environment(fallback)
        elif len(inv.environments) == 1:
            env = next(iter(inv.environments.values()))
        else:
            env = None
        if env is None:
            # Several environments and nothing says which: never pick one silently.
            if not self.matcher.match(text) and not self.is_sweep(text, False):
                return Help(environments=tuple(sorted(inv.environments)), modules=tuple(self.kb.names))
            return Refusal(
                why="unknown_environment",
                reason=f"which environment? name one in the question: {', '.join(sorted(inv.environments))}",
                known=tuple(sorted(inv.environments)),
            )

        inst_hit = self.named_instance(toks)
        instance: str | None = None
        if inst_hit is not None:
            module, instance = inst_hit
            if module.scope == "instance" and (
                not INSTANCE_RE.match(instance) or (env.instances and instance not in env.instances)
            ):
                return Refusal(
                    why="unknown_instance",
                    reason=f"unknown instance {instance!r} in {env.name}; known: {', '.join(env.instances) or '(read from the hosts)'}",
                    environment=env.name,
                    known=tuple(env.instances),
                )
            if module.scope == "server":
                instance = None

        matches = self.matcher.match(text)
        show_logs = asks_for_logs(text)

        # Follow-ups: only with a thread's context and nothing new to ask about.
        if context is not None and host_hit is None:
            again = bool(_AGAIN.search(text))
            env_switch = named_env is not None and (not matches or _FOLLOWUP_START.match(text))
            logs_only = show_logs and not matches
            if again or env_switch or logs_only:
                mods = tuple(self.kb.get(n) for n in context.modules if n in self.kb.names)
                same_host = self._hosts(env, context.host) if context.host and named_env is None else None
                return self.decision(
                    "followup", text, env, mods, same_host, (), show_logs or logs_only, rerun_of=context.question
                )

        if host_hit is not None:
            host = host_hit[1]
            picked = select_modules(matches, self.kb) if matches and matches[0].mentioned else list(self.host_modules())
            return self.decision("host", text, env, tuple(picked), (host,), tuple(matches), show_logs)

        if inst_hit is not None and (not matches or matches[0].module == inst_hit[0].name):
            module = inst_hit[0]
            intent: Intent = "running" if self.is_running_question(text, matches) else "module"
            return self.decision(intent, text, env, (module,), None, tuple(matches), show_logs, instance=instance)

        if self.is_running_question(text, matches):
            mods = tuple(self.kb.get(m.module) for m in matches if m.mentioned)
            return self.decision("running", text, env, mods, None, tuple(matches), show_logs)

        if matches:
            if self.ambiguous(matches):
                return Clarify(question=text, environment=env.name, candidates=tuple(matches[:2]))
            return self.decision(
                "symptom", text, env, tuple(select_modules(matches, self.kb)), None, tuple(matches), show_logs
            )

        if self.is_sweep(text, named_env is not None):
            return self.decision("sweep", text, env, self.host_modules(), None, (), show_logs)

        return Help(
            environment=env.name,
            environments=tuple(sorted(inv.environments)),
            modules=tuple(self.kb.names),
            not_campaign=True,
        )

    @staticmethod
    def _hosts(env: Environment, name: str | None) -> tuple[Host, ...] | None:
        if name is None:
            return None
        found = [h for h in env.hosts if h.name == name]
        return tuple(found) or None

    def decision(
        self,
        intent: Intent,
        text: str,
        env: Environment,
        modules: tuple[Module, ...],
        hosts: tuple[Host, ...] | None,
        matches: tuple[Match, ...],
        show_logs: bool,
        *,
        rerun_of: str | None = None,
        instance: str | None = None,
    ) -> Decision:
        targets = hosts if hosts is not None else env.hosts
        plan = Plan(
            intent=intent,
            question=text,
            environment=env.name,
            simulated=env.simulated,
            modules=tuple(m.name for m in modules),
            hosts=tuple(h.name for h in targets),
            matches=matches,
            show_logs=show_logs,
            rerun_of=rerun_of,
        )
        return Decision(plan, env, modules, hosts, instance)
