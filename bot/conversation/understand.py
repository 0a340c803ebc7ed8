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
from bot.text import damerau, fold, words

MAX_QUESTION = 2000
CLARIFY_GAP = 0.03  # two candidates closer than this (and not tied by the docs) -> ask which one


def _vocab(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
_HEALTH_WORDS = _vocab(
    """everything all alles overall health healthy status ok okay fine good goed gezond wrong broken mis kapot
    problem problems issue issues storing storingen something iets anything fout fouten red rood down
    healthcheck sweep"""
)
_SCOPE_WORDS = _vocab(
    """campaign adobe acc nlserver platform servers server fleet omgeving environment instance instances
    neolane everything alles hosts machines systems systeem systemen"""
)
_HOST_VERBS = frozenset({"check", "host", "server", "machine", "on", "op", "controleer", "bekijk", "node", "vm"})
_AND = frozenset({"and", "en", "or", "of", "&", "plus"})
# Environment words that name an environment wherever they stand ("mail not sending (staging)");
# the short or everyday ones (test, dev, acc, prod, stage, qa) need "on X", "X environment", "env X".
_STRONG_ENV = _vocab(
    """acceptance acceptatie development ontwikkel pre-prod preprod productie production staging uat"""
)
_NAME_LIKE = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*[0-9_-][a-z0-9_-]*")  # staging2, acc-eu, prod_b
# "on v8", "on 7.0.3", "on rhel8", "on utf8": versions and technical names, not hosts.
_NOT_HOST_PREFIX = _vocab(
    """acc acs aes amd apache arm base build centos code cp dag day debian dkim ec err errno error fase gb h
    http imap ipv iso java jdk jre jsp k kb latin line m mb md ms mssql mysql nl nlserver node o office
    openssl oracle page pagina pg phase php pid pop port postgres postgresql python q regel release rhel rsa
    s sha smtp spf sql ssl stap step tb tls tomcat top ubuntu utf v versie version w week win windows x"""
)
_FILE_EXT = _vocab(
    """bak cfg conf csv err gz htm html ini js json jsp lock log md old out pid properties py sh sql tar tmp
    txt xml yaml yml zip"""
)
# "environment variable", "omgeving instellingen": the word after the noun is not a name there.
_NOT_ENV_AFTER_NOUN = _vocab(
    """variable variables var vars variabele variabelen setting settings instelling instellingen config
    configuration file files name names list lijst type types bestand"""
)
_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
_FQDN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?){2,}")
# Acknowledgements ("ok thanks", "top, opgelost"): answered briefly, never a sweep.
_ACK_WORDS = _vocab(
    """ok okay oke k kk thanks thank you thx ty tnx cheers bedankt dank dankje dankjewel je wel u top super
    great perfect nice cool prima mooi fijn fine good goed alles all sounds looks klinkt lijkt no problem np
    geen probleem solved resolved fixed opgelost got it yes ja yep yeah sure helder duidelijk clear
    understood will do doe ik i see zie ah oh aha awesome works werkt again weer now nu that dat was is
    helps helped geholpen lovely thx much veel many"""
)
# Words that name nothing specific: with a health word (or a host word, or an environment and "check"),
# a question made only of these is about everything ("is er iets mis?", "nothing works", "check prod").
_GENERAL_WORDS = _vocab(
    """is are was were be been being the a an it its there here any anything something nothing everything all
    what whats why how hows who which with on in at of for to from and or now right still again please pls
    do does did doing we our us i me my you your have has had got get going go seems seem looks look very so
    too many much high low up out no not dont doesnt isnt arent wont cant works work working wrong broken
    down dead failing fails failed fail issue issues problem problems error errors today tonight since this
    that these those can could would will anyone someone check checks status health healthy ok okay fine
    good bad slow running run runs state overall everywhere whole entire complete completely totally at all
    should zijn de het een er daar hier iets niets niks alles wat waarom hoe wie welke met op bij van voor
    naar en of nu nog weer graag doe doet we wij ons onze ik mij mijn je jij jullie u heb heeft hebben lijkt
    ziet uit erg te veel hoog laag geen niet werkt werken ligt liggen plat kapot stuk mis fout fouten
    probleem problemen storing storingen vandaag sinds dit dat deze die kan kunnen zou wordt worden gaat
    gaan goed traag draait loopt staat staan helemaal overal hele controleer controleren bekijk kijk even
    status gezond"""
)
# "nothing works", "alles ligt plat": everything is down, so everything is checked.
_BREAKDOWN_WORDS = _vocab("nothing niets niks plat broken kapot down dead stuk offline eruit")
_ASK_WORDS = _vocab("""bekijk check checks controleer controleren doing gaat hoe how hows kijk state status""")


def _digit_confused(t: str, k: str) -> bool:
    """Same length, one position differs, and there a digit was read as a letter ("appl" / "app1")."""
    if len(t) != len(k) or len(t) < 3:
        return False
    diff = [(a, b) for a, b in zip(t, k, strict=True) if a != b]
    return len(diff) == 1 and (diff[0][0].isdigit() != diff[0][1].isdigit())


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
        self._host_words = {w for p in kb.lexicon.host_words for w in words(p)}
        self._offtopic = [words(w) for w in kb.lexicon.offtopic_words if words(w)]

    # ------------------------------------------------------------------ names
    def named_environments(self, toks: Sequence[str], inv: Inventory) -> tuple[list[str], str | None, str | None]:
        """(the environments the question names, in order; an environment-like name it does not know;
        a strong environment word it does not know, standing alone: "(staging)", "staging:").

        A known name counts after "on"/"in"/"env", before "environment", after "and" following another
        environment, or when it is long enough not to be an everyday word ("acc" is also Adobe Campaign
        Classic). An unknown one is refused rather than answered from the default environment: a
        strong environment word anywhere ("(staging)"), an environment word or a name with digits in
        those positions ("the staging environment", "env eu2"), or a known name with a number or one
        typo ("prd2", "on prdo")."""
        names = inv.environment_names()
        hosts = {h.name.lower() for e in inv.environments.values() for h in e.hosts}
        found: list[str] = []
        unknown: str | None = None
        loose: str | None = None
        for i, t in enumerate(toks):
            prev = toks[i - 1] if i > 0 else ""
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            if t in hosts or "@" in t:
                continue
            placed = prev in _PREPOSITIONS or prev in _ENV_NOUNS or nxt in _ENV_NOUNS or (bool(found) and prev in _AND)
            if t in names:
                if (placed or len(t) >= 4 or len(toks) == 1) and names[t] not in found:
                    found.append(names[t])
                continue
            env_like = t in self._env_words
            if env_like and t in _STRONG_ENV and not placed:
                loose = loose or t  # "(staging)": counts when the question is about Campaign at all
            elif (
                (env_like and placed)
                or (
                    (prev in _ENV_NOUNS or nxt in _ENV_NOUNS)
                    and _NAME_LIKE.fullmatch(t)
                    and not self._is_module_word(t)
                )
                or (
                    # "env nope": right after the noun, any name that is not an ordinary word
                    prev in _ENV_NOUNS
                    and re.fullmatch(r"[a-z][a-z0-9_.-]{1,29}", t) is not None
                    and t not in _GENERAL_WORDS
                    and t not in _NOT_ENV_AFTER_NOUN
                    and t not in self._host_words
                    and not self._is_module_word(t)
                )
                or self._near_environment(t, names, prev in _PREPOSITIONS)
            ):
                unknown = unknown or t
        return found, unknown, loose

    def _near_environment(self, t: str, names: dict[str, str], after_preposition: bool) -> bool:
        for n in names:
            if len(n) >= 3 and re.fullmatch(re.escape(n) + r"[-_]?\d{1,3}", t):
                return True  # prod2, production-2: a sibling the inventory does not have
            if (
                after_preposition
                and len(n) >= 4
                and len(t) >= 4
                and damerau(t, n, 2) == 1
                and t not in self._env_words
                and t not in self._host_words
                and not self._is_module_word(t)
            ):
                return True  # "on prdo"
        return False

    def named_hosts(self, toks: Sequence[str], inv: Inventory) -> tuple[list[tuple[Environment, Host]], str | None]:
        """(the hosts the question names, a host-like name the inventory does not know).

        Known: a host's name or address. Unknown: an IP address or a fully qualified name; a name
        with digits after "check"/"host"/"server", or anywhere when it looks like a known host
        ("app9" beside app1); a known host's name with a digit read as a letter ("appl" for "app1").
        Versions and technical words ("on v8", "on rhel8", "utf8") are not hosts."""
        by_address = {
            h.address.lower(): (e, h) for e in inv.environments.values() for h in e.hosts if h.address is not None
        }
        known = [h.name.lower() for e in inv.environments.values() for h in e.hosts]
        env_names = inv.environment_names()
        found: list[tuple[Environment, Host]] = []
        unknown: str | None = None
        for i, t in enumerate(toks):
            hit = inv.host_named(t) or by_address.get(t)
            if hit is not None:
                if hit not in found:
                    found.append(hit)
                continue
            if unknown is None and self._host_like(t, toks[i - 1] if i > 0 else "", known, env_names):
                unknown = t
        return found, unknown

    def _host_like(self, t: str, prev: str, known: Sequence[str], env_names: dict[str, str]) -> bool:
        if "@" in t or t in env_names or self._is_module_word(t):
            return False
        if _IPV4.fullmatch(t):
            return True
        if "." in t:
            last = t.rsplit(".", 1)[-1]
            return bool(_FQDN.fullmatch(t)) and not last.isdigit() and last not in _FILE_EXT
        stem = re.sub(r"[-_]?\d+$", "", t)
        if t[0].isalpha() and re.search(r"\d", t):
            stems = {re.sub(r"[-_]?\d+$", "", k) for k in known}
            similar = stem in stems or any(fuzz.ratio(t, k) >= 70 for k in known)
            return (similar or prev in _HOST_VERBS) and (stem not in _NOT_HOST_PREFIX or stem in stems)
        return prev in _HOST_VERBS and any(_digit_confused(t, k) for k in known)

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
    def modules_named(self, toks: Sequence[str], matches: Sequence[Match]) -> tuple[Module, ...]:
        """Modules the question names: by name or alias ("web", "app server", "mta@prod"), or that the
        matcher found named."""
        out: list[Module] = []
        for i, t in enumerate(toks):
            for cand in (t, f"{t} {toks[i + 1]}" if i + 1 < len(toks) else ""):
                m = self.resolver.exact(cand) if len(cand) >= 3 else None
                if m is not None and m not in out:
                    out.append(m)
        for mt in matches:
            if mt.mentioned and self.kb.get(mt.module) not in out:
                out.append(self.kb.get(mt.module))
        return tuple(out)

    def is_running_question(self, text: str, named: Sequence[Module]) -> bool:
        """ "is mta running?", "draait de wfserver?": yes/no per host, for the modules named."""
        if not named or _NEGATION.search(fold(text)):
            return False
        return bool(_RUNNING_WORDS.search(text)) and (bool(_QUESTION_START.match(text)) or text.rstrip().endswith("?"))

    def is_acknowledgement(self, text: str) -> bool:
        """ "ok thanks", "top, opgelost": a reply to the bot, not a question."""
        ws = words(text)
        return bool(ws) and "?" not in text and len(ws) <= 6 and all(w in _ACK_WORDS for w in ws)

    def names_nothing(self, text: str, env_named: bool, inv: Inventory) -> bool:
        """A health question that names nothing specific: every word is general, a health word, a host
        word (disk, memory, clock) or a name of the inventory ("is er iets mis?", "nothing works",
        "schijf vol", "check prod", "hoe gaat het met productie?")."""
        ws = words(text)
        if not ws or self.offtopic(text):
            return False
        names = {w for n in inv.environment_names() for w in words(n)}
        names |= {w for e in inv.environments.values() for h in e.hosts for w in words(h.name)}
        specific = [
            w
            for w in ws
            if w not in _GENERAL_WORDS
            and w not in _HEALTH_WORDS
            and w not in _SCOPE_WORDS
            and w not in self._host_words
            and w not in names
            and w not in self._env_words
        ]
        if specific:
            return False
        signal = any(
            w in _HEALTH_WORDS or w in self._host_words or w in _BREAKDOWN_WORDS
            for w in ws
            if w not in ("all", "alles")
        )
        return signal or (env_named and any(w in _ASK_WORDS for w in ws))

    def is_sweep(self, text: str, env_named: bool) -> bool:
        toks = words(text)
        if not set(toks) & _HEALTH_WORDS or self.offtopic(text) or self.is_acknowledgement(text):
            return False
        question = "?" in text or bool(_QUESTION_START.match(text))
        return env_named or bool(set(toks) & _SCOPE_WORDS) or len(toks) <= 2 or (question and len(toks) <= 5)

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
        known_envs = tuple(sorted(inv.environments))
        if not text:
            return Help(environments=known_envs, modules=tuple(self.kb.names), not_campaign=False)
        if self.is_acknowledgement(text):
            return Help(note="👍 Nothing checked. Ask me again any time.", brief=True, not_campaign=False)
        toks = tokens(text)

        # -- names: an unknown or contradictory one stops here, before anything runs
        named, unknown_env, loose_env = self.named_environments(toks, inv)
        if unknown_env is None and loose_env is not None and not named:
            # "mail not sending (staging)" is refused; "who broke the staging database" is not about Campaign.
            about = bool(self.matcher.match(self._without_hosts(text, inv))) or self.names_nothing(text, True, inv)
            unknown_env = loose_env if about else None
        if unknown_env is not None:
            return Refusal(
                why="unknown_environment",
                reason=f"unknown environment {unknown_env!r}; known: {', '.join(known_envs)}",
                known=known_envs,
                subject=unknown_env,
            )
        if len(named) > 1:
            return Refusal(
                why="several_environments",
                reason=f"one environment per question: this one names {' and '.join(named)}; "
                "ask about each in its own question",
                known=known_envs,
            )
        named_env = inv.find_environment(named[0]) if named else None
        if q.env is not None:
            given = inv.find_environment(q.env)
            if given is None:
                return Refusal(
                    why="unknown_environment",
                    reason=f"unknown environment {q.env!r}; known: {', '.join(known_envs)}",
                    known=known_envs,
                    subject=q.env,
                )
            if named_env is not None and named_env.name != given.name:
                return Refusal(
                    why="several_environments",
                    reason=f"the question names {named_env.name} but the environment given is {given.name}; "
                    "ask again with one of them",
                    known=known_envs,
                )
            named_env = given
        host_hits, unknown_host = self.named_hosts(toks, inv)
        all_hosts = sorted(h.name for e in inv.environments.values() for h in e.hosts)
        if unknown_host is not None:
            return Refusal(
                why="unknown_host",
                reason=f"unknown host {unknown_host!r}; known: {', '.join(all_hosts)}",
                known=tuple(all_hosts),
                subject=unknown_host,
            )
        host_envs = {e.name for e, _ in host_hits}
        if host_hits and (len(host_envs) > 1 or (named_env is not None and named_env.name not in host_envs)):
            where = ", ".join(f"{h.name} is in {e.name}" for e, h in host_hits)
            if named_env is not None and len(host_envs) == 1:
                where += f", not in {named_env.name}"
            return Refusal(
                why="several_environments",
                reason=f"{where}: ask about the hosts of one environment at a time",
                known=known_envs,
            )
        host_env = host_hits[0][0] if host_hits else None
        hosts = tuple(h for _, h in host_hits) or None

        # -- which environment
        ctx_env = context.environment if context is not None and inv.find_environment(context.environment) else None
        channel = channel_env if channel_env and inv.find_environment(channel_env) else None
        env: Environment | None = named_env or host_env
        if env is None and (ctx_env or channel):
            env = inv.environment(ctx_env or channel)
        if env is None and default_env:
            env = inv.find_environment(default_env)
            if env is None:
                return Refusal(
                    why="configuration",
                    reason=f"the default environment {default_env!r} (--env or CAMPAIGN_BOT_ENV) is not in the "
                    f"inventory; known: {', '.join(known_envs)}",
                    known=known_envs,
                )
        if env is None and inv.default_environment:
            env = inv.find_environment(inv.default_environment)
        if env is None and len(inv.environments) == 1:
            env = next(iter(inv.environments.values()))

        # The matcher reads the question without host names ("track1" is not a typo of "tracking").
        matches = self.matcher.match(self._without_hosts(text, inv))
        if env is None:
            # Several environments and nothing says which: never pick one silently.
            if not matches and not self.is_sweep(text, False) and not self.names_nothing(text, False, inv):
                return Help(environments=known_envs, modules=tuple(self.kb.names))
            return Refusal(
                why="unknown_environment",
                reason=f"which environment? name one in the question: {', '.join(known_envs)}",
                known=known_envs,
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
                    reason=f"unknown instance {instance!r} in {env.name}; known: "
                    f"{', '.join(env.instances) or '(read from the hosts)'}",
                    environment=env.name,
                    known=tuple(env.instances),
                    subject=instance,
                )
            if module.scope == "server":
                instance = None

        show_logs = asks_for_logs(text)
        again = bool(_AGAIN.search(text))
        env_switch = named_env is not None and (not matches or bool(_FOLLOWUP_START.match(text)))
        logs_only = show_logs and not matches

        # -- follow-ups: only with a thread's context and nothing new to ask about
        if context is not None and hosts is None and (again or env_switch or logs_only):
            mods = tuple(self.kb.get(n) for n in context.modules if n in self.kb.names)
            same_host = self._hosts(env, context.host) if context.host and named_env is None else None
            return self.decision(
                "followup", text, env, mods, same_host, (), show_logs or logs_only, rerun_of=context.question
            )
        sweep_like = self.names_nothing(text, named_env is not None, inv)
        if (
            context is None
            and not matches
            and not sweep_like
            and hosts is None
            and (again or logs_only or (named_env is not None and _FOLLOWUP_START.match(text)))
        ):
            return Help(
                environment=env.name,
                environments=known_envs,
                modules=tuple(self.kb.names),
                not_campaign=False,
                note="There is nothing to repeat yet: ask the question itself (a symptom, a host, or "
                "'is everything ok?')"
                + (", and name the module whose log you want ('show the mta log')." if logs_only else "."),
            )

        named_mods = self.modules_named(toks, matches)
        running = self.is_running_question(text, named_mods)

        if hosts is not None:
            if running:
                return self.decision(
                    "running", text, env, named_mods, hosts, tuple(matches), show_logs, instance=instance
                )
            picked = select_modules(matches, self.kb) if named_mods else list(self.host_modules())
            return self.decision("host", text, env, tuple(picked), hosts, tuple(matches), show_logs)

        if inst_hit is not None and (not matches or matches[0].module == inst_hit[0].name):
            module = inst_hit[0]
            intent: Intent = "running" if running else "module"
            return self.decision(intent, text, env, (module,), None, tuple(matches), show_logs, instance=instance)

        if running:
            return self.decision("running", text, env, named_mods, None, tuple(matches), show_logs)

        if sweep_like and not named_mods:
            return self.decision("sweep", text, env, self.host_modules(), None, (), show_logs)

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
            environments=known_envs,
            modules=tuple(self.kb.names),
            not_campaign=True,
        )

    @staticmethod
    def _without_hosts(text: str, inv: Inventory) -> str:
        names = {h.name for e in inv.environments.values() for h in e.hosts}
        names |= {h.address for e in inv.environments.values() for h in e.hosts if h.address}
        for n in sorted(names, key=len, reverse=True):
            text = re.sub(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", " ", text, flags=re.I)
        return text

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
