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
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

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
_BARE_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?")
_EMPHASIS = re.compile(r"(?<![\w*_~])[*_~]+(?=\S)|(?<=\S)[*_~]+(?![\w*_~])")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")
_PREPOSITIONS = frozenset(
    {"on", "in", "op", "bij", "for", "voor", "from", "van", "at", "naar", "to", "with", "met", "binnen", "within"}
)
# After an environment word, these keep it an environment ("on the staging server"); any other word
# makes it a modifier ("test delivery", "staging table", "qa team", "dev laptop").
_ENV_FOLLOWERS = frozenset(
    {
        "server",
        "servers",
        "host",
        "hosts",
        "machine",
        "machines",
        "instance",
        "instances",
        "platform",
        "cluster",
        "box",
        "boxes",
        "side",
        "kant",
        "site",
        "too",
        "ook",
        "also",
        "now",
        "nu",
        "again",
        "weer",
        "today",
        "vandaag",
        "please",
        "pls",
        "graag",
        "as",
        "als",
        "but",
        "maar",
        "since",
        "sinds",
    }
)
_VERSION = re.compile(r"v?\d+(?:[._]\d+)*|build|versie|version|release")
_EVERYDAY_ENV = _vocab(
    """test tests testing demo live training sandbox stage dev qa local preview beta pilot trial proef"""
)
# Adobe's health URL of the redirection module (`<front>/r/test`): never an environment called test.
_R_TEST = re.compile(r"(?<!\w)/?r/test\b", re.I)
# Dutch compounds of an environment's name with "omgeving" (testomgeving, productie-omgeving).
_ENV_COMPOUND = re.compile(r"-?omgeving(en)?$")
_ENV_NOUNS = frozenset({"env", "environment", "omgeving", "environments", "omgevingen"})
_AGAIN = re.compile(
    r"\b(again|re-?run|retry|refresh|re-?check|once more|opnieuw|nogmaals|nog een keer|nog eens|herhaal)\b", re.I
)
# An error message or log line pasted into the question names hosts of its own (a relay, a database).
_ERROR_TEXT = re.compile(
    r"\b(error|errors|fout|failed|failure|unable|cannot|can't|could not|couldn't|kan niet|refused|timed out|"
    r"timeout|exception)\b|\b[A-Z]{2,5}-\d{3,6}\b",
    re.I,
)
_LOG_WORDS = re.compile(r"\b(logs?|logging|logboek|logbestand(en)?|logfile|tracefile)\b", re.I)
_STILL = re.compile(
    r"\b(still|nog steeds|nog altijd|nog steeds niet|and now|en nu|now what|same again)\b|^\s*(now|nu)\s*\??\s*$",
    re.I,
)
_OR_NOT = re.compile(r"\b(or not|of niet|of nog niet)\b")
_PRONOUN = re.compile(r"\b(it|they|them|that|het|ze|die|dat)\b", re.I)
_FOLLOWUP_START = re.compile(r"^\s*(and|en|what about|how about|hoe zit het met|ook|also)\b", re.I)
_RUNNING_WORDS = re.compile(
    r"\b(running|runing|runnning|runnig|runs|run|up|alive|started|active|draait|draaien|loopt|lopen|actief|"
    r"gestart|aan)\b",
    re.I,
)
_QUESTION_START = re.compile(r"^\s*(is|are|does|do|did|draait|draaien|loopt|lopen|staat|staan|werkt|check)\b", re.I)
_STATE_START = re.compile(r"^\s*(has|have|ligt|liggen|zijn|isnt|arent|doesnt)\b", re.I)  # "has mta crashed?"
# The state question negated: "is mta down?", "has mta crashed?", "is de mta gestopt?", "ligt de mta plat?"
_DOWN_WORDS = re.compile(
    r"\b(down|stopped|dead|crashed|died|offline|gestopt|plat|dood|gecrasht|gecrashed|uitgevallen|gestorven|eruit|"
    r"not running|niet actief|draait niet|loopt niet)\b"
)
_WHY = re.compile(r"^\s*(why|waarom|how come|hoe komt)\b")
_NEGATION = re.compile(r"\b(not|no|never|niet|geen|nooit|dont|doesnt|isnt|arent|stopped|down|dead|crashed)\b", re.I)
_HEALTH_WORDS = _vocab(
    """everything all alles overall health healthy status ok okay fine good goed gezond wrong broken mis kapot
    problem problems issue issues storing storingen something iets anything fout fouten red rood down
    healthcheck sweep error errors outage incident incidents alert alerts slow traag running draait
    gestart plat"""
)
_SCOPE_WORDS = _vocab(
    """campaign adobe acc nlserver platform servers server fleet omgeving environment instance instances
    neolane everything alles hosts machines systems systeem systemen"""
)
# Where a name stands as a host: "on web01", "op web01", "at srv1", "de logs van web01", "for web01".
_HOST_PREPS = frozenset({"on", "op", "at", "van", "for", "voor"})
# ... unless the preposition follows another kind of server: "the database at 10.0.5.12", "relay at mx1".
_OTHER_SERVERS = _vocab(
    """database databases db relay relays smtp mx dns proxy ldap gateway mailserver resolver firewall lb
    loadbalancer postgres postgresql oracle mysql sql sqlserver connection connections verbinding"""
)
_STATE_VERBS = _vocab("is are was zijn staat staan ligt liggen lijkt seems looks gaat")
_ARTICLES = _vocab("the a an our this that de het een onze ons deze die")
# Campaign's codes (DM7207 deliveries, WKF1234 workflows, BAS-010010 errors) are not hosts.
_CODE = re.compile(r"[a-z]{1,5}-?\d{3,}")
_CODE_PREFIX = _vocab("dm wkf op bas xsv int pgs odb tim jst xtk iob nms sop ora ogc inc chg")
_HOST_VERBS = frozenset({"check", "host", "server", "machine", "on", "op", "controleer", "bekijk", "node", "vm"})
# Words after which a name with digits is a host ("check web01", "server mail01"), unlike "on" ("on el8").
_HOST_NOUNS = frozenset({"check", "host", "server", "machine", "controleer", "bekijk", "node", "vm", "hostname"})
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
    s sha smtp spf sql ssl stap step tb tls tomcat top ubuntu utf v versie version w week win windows x
    rocky alma almalinux sles suse el ol oel rh redhat amzn aarch kernel glibc openjdk jvm mx pop imap ldap dns
    dm wkf wf op nms xtk batch wave segment seg list lst campaign campagne newsletter nieuwsbrief delivery
    levering workflow job task taak proof seed item row rij column kolom target query activity tpl template
    sprint wk kw qtr fy jan feb mar mrt apr may mei jun jul aug sep sept oct okt nov dec inc chg ticket case
    req ritm prb ipv ip tlsv sslv ie edge chrome ff ios osx macos klant customer client user gebruiker"""
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
    helps helped geholpen lovely thx much veel many het its appreciated green groen working runs running
    back terug"""
)
_THANKS = _vocab("thanks thank thx tnx ty cheers bedankt dank dankje dankjewel merci")
# Health words that make a question of one or two words a sweep ("status", "prod down"); "good",
# "fine", "all" alone do not ("good morning").
_PROBLEM_WORDS = _vocab(
    """status health healthcheck sweep down broken kapot storing storingen problem problems issue issues wrong
    mis red rood fout fouten error errors outage incident incidents alert alerts alarm slow traag plat"""
)
# Words that name nothing specific: with a health word (or a host word, or an environment and "check"),
# a question made only of these is about everything ("is er iets mis?", "nothing works", "check prod").
_GENERAL_WORDS = _vocab(
    """meer more anymore langer longer ervoor sanity hand aan is are was were be been being the a an it its there here any anything something nothing everything all
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
# Words that say the next or previous one names a module ("check module mtx", "the mtx process").
_MODULE_NOUNS = _vocab("module modules daemon daemons process processes proces processen")
_ASK_WORDS = _vocab("""bekijk check checks controleer controleren doing gaat hoe how hows kijk state status""")


def _letters(t: str) -> str:
    """The letters a name starts with: web01 -> web, x86_64 -> x, nlprd-app01 -> nlprd."""
    m = re.match(r"[a-z]*", t)
    return m.group(0) if m else ""


def _capital_code(t: str) -> bool:
    """An identifier written in capitals that is a code, not a host: DM7207, WKF1234, BAS-010010 (SRV123
    and WEB01 are hosts)."""
    return bool(_CODE.fullmatch(t)) and (_letters(t) in _CODE_PREFIX or len(re.sub(r"\D", "", t)) >= 4)


def _digit_confused(t: str, k: str) -> bool:
    """Same length, one position differs, and there a digit was read as a letter ("appl" / "app1")."""
    if len(t) != len(k) or len(t) < 3:
        return False
    diff = [(a, b) for a, b in zip(t, k, strict=True) if a != b]
    return len(diff) == 1 and (diff[0][0].isdigit() != diff[0][1].isdigit())


def normalize(text: str) -> str:
    """The question without Slack markup: mentions go, a link becomes its label (Slack links host
    names: `<http://app1.example.com|app1.example.com>`), bold/italic/strike marks go, entities are
    decoded, spaces collapse."""
    text = _SLACK_LINK.sub(_link_label, text[: MAX_QUESTION * 2])
    text = _SLACK_REF.sub(" ", text)
    text = _EMPHASIS.sub(" ", text)
    text = html.unescape(text)
    return " ".join(text.split())[:MAX_QUESTION]


def _link_label(m: re.Match[str]) -> str:
    """Slack links a bare host name the user typed (`<http://app1.example.com|app1.example.com>`):
    that name is kept. Any other link (a page, a labelled link, mail) goes."""
    inner = m.group(0)[1:-1]
    target, _, label = inner.partition("|")
    bare = re.sub(r"^(?:https?|ftp)://", "", target).rstrip("/")
    if _BARE_HOST.fullmatch(bare) and (not label or label.rstrip("/") in (bare, target)):
        return f" {bare} "
    return " "


def tokens(text: str) -> list[str]:
    """Words with the characters host, instance and environment names may hold (`nlprd-app01`,
    `mta@prod`, `app1.example.com`): lower-cased, accents stripped, hyphens kept."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return [t.rstrip(".-") for t in _TOKEN.findall(plain)]


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
        # Modules whose own name the matcher reads as naming them (mta, wfserver), not an everyday word.
        self._strong_names = {
            m.name for m in kb.modules if any(x.mentioned and x.module == m.name for x in matcher.match(m.name))
        }
        self._offtopic = [words(w) for w in kb.lexicon.offtopic_words if words(w)]
        prefixes = "|".join(re.escape(p) for p in kb.lexicon.error_code_prefixes)
        self._error_code = re.compile(rf"(?<![\w-])(?:{prefixes})-\d{{6}}(?!\w)", re.I) if prefixes else None
        # Environment names that are everyday words too ("test delivery", "demo account"): like the
        # short environment words, they name an environment only where they stand as one.
        self._everyday = _EVERYDAY_ENV | {fold(w) for w in kb.lexicon.common_words}

    # ------------------------------------------------------------------ names
    def named_environments(
        self, toks: Sequence[str], inv: Inventory, text: str = ""
    ) -> tuple[list[str], list[str], str | None]:
        """(the environments the question names, in order; known names of 4 letters or more standing
        anywhere else ("prod workflows stuck"); an environment-like name it does not know).

        A name counts where it stands as an environment: after "on"/"in"/"env"/"with" with nothing
        after it but general words ("on staging", "in the staging environment", "on prod now"), before
        "environment" or "server", in brackets or before a colon ("[prd]", "acc: ..."), as the last
        word ("mail not sending acc"), after "check"/"status" ("check acc"), or in "is acc ok?". Not
        before a version ("on ACC 7.3": the product) or a noun ("test delivery", "staging table").
        An unknown one is refused rather than answered from the
        default: an environment word or a name with digits in such a position, or a known name with
        a number or one typo ("prd2", "on prdo")."""
        names = inv.environment_names()
        hosts = {h.name.lower() for e in inv.environments.values() for h in e.hosts}
        low = text.lower()
        found: list[str] = []
        loose_known: list[str] = []
        unknown: str | None = None
        for i, t in enumerate(toks):
            if t in hosts or "@" in t:
                continue
            base = _ENV_COMPOUND.sub("", t)
            if base != t and len(base) >= 2:
                # Dutch writes "the test environment" as one word: testomgeving, productieomgeving
                if base in names:
                    if names[base] not in found:
                        found.append(names[base])
                elif base in self._env_words or _NAME_LIKE.fullmatch(base):
                    unknown = unknown or base
                continue
            ref = self._env_ref(toks, i, low, bool(found))
            if t in names:
                everyday = t in self._everyday
                if everyday and ref == "position":
                    continue  # an environment called "test": "mail not sending during test" is not it
                if ref and names[t] not in found:
                    found.append(names[t])
                elif len(t) >= 4 and not everyday and names[t] not in loose_known:
                    loose_known.append(names[t])  # "prod workflows stuck", not "test delivery"
                continue
            prev = toks[i - 1] if i > 0 else ""
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            env_like = t in self._env_words
            if env_like and ref == "position" and t not in _STRONG_ENV:
                continue  # "mail not sending during test": a last word alone names only strong ones
            if (
                (env_like and ref)
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
                or self._near_environment(t, names, prev in _PREPOSITIONS and bool(ref))
            ):
                unknown = unknown or t
        return found, loose_known, unknown

    @staticmethod
    def _env_ref(toks: Sequence[str], i: int, low: str, after_env: bool) -> str:
        """How token `i` stands as an environment name: "placed", "marked", "position", or "" (not)."""
        t = toks[i]
        prev = toks[i - 1] if i > 0 else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if nxt and _VERSION.fullmatch(nxt):
            return ""  # "on ACC 7.3", "to ACC v8": the product and its version
        if nxt in _ENV_NOUNS or nxt in ("server", "servers", "omgeving"):
            return "placed"
        escaped = re.escape(t)
        free = (
            not nxt
            or nxt in _GENERAL_WORDS
            or nxt in _ENV_FOLLOWERS
            or nxt in _PREPOSITIONS
            or re.search(rf"\b{escaped}\s*[,.;!?)]", low) is not None  # "on prod, same as yesterday"
        )
        if len(toks) == 1:
            return "placed"  # "acc?"
        if (prev in _PREPOSITIONS or prev in _ENV_NOUNS or (after_env and prev in _AND)) and free:
            return "placed"
        if re.search(rf"[\[(]\s*{escaped}\s*[\])]|^\W*{escaped}\s*:", low):
            return "marked"
        if prev in _ASK_WORDS and free:
            return "placed"  # "check acc", "status acc"
        if prev in ("is", "are", "zijn", "was", "staat", "gaat", "doet") and (nxt in _HEALTH_WORDS or free):
            return "placed"  # "is acc ok?", "hoe staat acc ervoor?"
        if not nxt and i > 0:
            return "position"  # "mail not sending acc"
        return ""

    def _near_environment(self, t: str, names: dict[str, str], after_preposition: bool) -> bool:
        for n in names:
            if len(n) >= 3 and re.fullmatch(re.escape(n) + r"[-_]?\d{1,3}", t):
                return True  # prod2, production-2: a sibling the inventory does not have
            if (
                after_preposition
                and len(n) >= 3
                and re.fullmatch(rf"{re.escape(n)}[-_][a-z]{{1,6}}|[a-z]{{1,6}}[-_]{re.escape(n)}", t)
            ):
                return True  # "on prod-eu", "on eu-prod", "on prod_b": a sibling, not prod itself
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

    def named_hosts(
        self, toks: Sequence[str], inv: Inventory, text: str = ""
    ) -> tuple[list[tuple[Environment, Host]], str | None]:
        """(the hosts the question names, a host-like name the inventory does not know).

        Known: a host's name or address, or a fully qualified name whose first label is a host's
        name. Unknown, refused: a word shaped like a host name (letters with digits, `nlprd-app01`,
        `srv123.example.com`, an IP address) standing in a host's place: after "check"/"host"/
        "server", after "on"/"op"/"at"/"van"/"for"/"voor" ("mail not sending on web01"), or as the
        subject of a health word ("why is web01 red", "web01 disk full"); and a name like the known
        ones anywhere in a short question ("app9" beside app1), or a known name with a digit read as a
        letter ("check appl"). Never a version, an OS or Campaign term (v8, rocky9, dm7207, step3),
        an environment or module name, a quoted or all-capitals code, nor, in a pasted error or log
        line, the relays and databases it names ("rejected by mx1.gmail.com", "database at 10.0.5.12")."""
        by_address = {
            h.address.lower(): (e, h) for e in inv.environments.values() for h in e.hosts if h.address is not None
        }
        known = [h.name.lower() for e in inv.environments.values() for h in e.hosts]
        env_names = inv.environment_names()
        capitals = {w.lower() for w in _TOKEN.findall(text) if w.isupper()}
        pasted = bool(_ERROR_TEXT.search(text))
        # A pasted log line or error message names hosts of its own ("Unable to resolve host smtp.x",
        # 'on host "pgdb02"'): there only a short question refuses, and only a plain name in a host's place.
        short = len(toks) <= 10 and not pasted
        quoted = {q.lower() for q in re.findall(r"[\"'`‘’“”]([^\"'`‘’“”\s]+)[\"'`‘’“”]", text)}
        found: list[tuple[Environment, Host]] = []
        unknown: str | None = None
        for i, t in enumerate(toks):
            hit = inv.host_named(t) or by_address.get(t)
            if hit is None and "." in t and not _IPV4.fullmatch(t):
                hit = inv.host_named(t.split(".", 1)[0])  # app1.example.com
            if hit is not None:
                if hit not in found:
                    found.append(hit)
                continue
            if unknown is not None or t in quoted or (t in capitals and _capital_code(t)):
                continue  # 'pgdb02', DM7207, WKF1234, BAS-010010: a quoted name or one of Campaign's codes
            if not self._host_shaped(t, env_names):
                if short and self._like_known(t, toks[i - 1] if i > 0 else "", known):
                    unknown = t
                continue
            place = self._host_place(toks, i)
            if place is None:
                if short and self._like_known(t, toks[i - 1] if i > 0 else "", known):
                    unknown = t
                continue
            if not pasted:
                unknown = t
            elif "." not in t and t not in capitals and len(toks) <= 12:
                # "mta errors on web01": a plain name ending the question is still where it happens
                rest = toks[i + 1 :]
                if place != "after" or all(w in _GENERAL_WORDS or w in _ENV_FOLLOWERS for w in rest):
                    unknown = t
        if unknown is not None:  # as it was written (WEB01), not folded
            unknown = next((w.rstrip(".-") for w in _TOKEN.findall(text) if w.rstrip(".-").lower() == unknown), unknown)
        return found, unknown

    def _host_shaped(self, t: str, env_names: dict[str, str]) -> bool:
        """Whether `t` is written like a host name: an IP address, a fully qualified name, or a name
        of letters with digits (web01, nlprd-app01, camp-mta-02), and is none of the things such words
        also are (versions, OS names, Campaign terms and codes, environment or module names)."""
        if "@" in t or t in env_names or t in self._env_words or self.resolver.exact(t) is not None:
            return False
        if _IPV4.fullmatch(t):
            return True
        if "." in t:
            last = t.rsplit(".", 1)[-1]
            first = t.split(".", 1)[0]
            if not _FQDN.fullmatch(t) or last.isdigit() or last in _FILE_EXT:
                return bool(re.fullmatch(r"[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z]{2,}", t)) and last not in _FILE_EXT
            return _letters(first) not in _NOT_HOST_PREFIX
        if not re.fullmatch(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*", t) or not re.search(r"\d", t):
            return False
        if _VERSION.fullmatch(t) or (_CODE.fullmatch(t) and _letters(t) in _CODE_PREFIX):
            return False
        lead = _letters(t)
        return (len(lead) >= 2 or "-" in t) and lead not in _NOT_HOST_PREFIX

    def _host_place(self, toks: Sequence[str], i: int) -> str | None:
        """Where token `i` stands as a host: "noun" (check web01, server web01), "after" (on web01,
        op web01, van web01), "subject" (why is web01 red, web01 disk full), or None."""
        t = toks[i]
        j = i - 1
        while j >= 0 and toks[j] in _ARTICLES:
            j -= 1
        prev = toks[j] if j >= 0 else ""
        before = toks[j - 1] if j >= 1 else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if prev in _HOST_NOUNS:
            return "noun"
        if prev in _HOST_PREPS and before not in _OTHER_SERVERS:
            if prev in ("for", "voor") and "-" not in t and "." not in t and len(_letters(t)) > 8:
                return None  # "deliveries stuck for blackfriday2025": a campaign's name, not a host
            return "after"  # not "connection to the database at 10.0.5.12", "relay at mx1"
        state = (
            nxt in _HEALTH_WORDS
            or nxt in _BREAKDOWN_WORDS
            or nxt in self._host_words
            or bool(_RUNNING_WORDS.fullmatch(nxt))
        )
        if prev in _STATE_VERBS and state:
            return "subject"  # "why is web01 red", "is web01 down?"
        if i == 0 and (state or nxt in _STATE_VERBS or len(toks) == 1):
            return "subject"  # "web01 disk full", "web01 is down", "web01?"
        if i == 0 and len(toks) <= 6 and ("-" in t or "." in t or len(_letters(t)) <= 8):
            return "subject"  # "web01 reageert niet", "srv123.example.com not responding"
        return None

    @staticmethod
    def _like_known(t: str, prev: str, known: Sequence[str]) -> bool:
        """A name like the inventory's ("app9" beside app1), or a known one with a digit read as a
        letter after a host word ("check appl")."""
        if t[0].isalpha() and re.search(r"\d", t):
            stem = re.sub(r"[-_]?\d+$", "", t)
            stems = {re.sub(r"[-_]?\d+$", "", k) for k in known}
            return stem in stems and len(stem) >= 2
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
        # Longest names first: "tracking log daemon" is trackinglogd, not also syslogd's "log daemon".
        used = [False] * len(toks)
        hits: list[tuple[int, Module]] = []
        for n in (3, 2, 1):
            for i in range(len(toks) - n + 1):
                cand = " ".join(toks[i : i + n])
                if any(used[i : i + n]) or len(cand) < 3:
                    continue
                m = self.resolver.exact(cand)
                if m is not None:
                    hits.append((i, m))
                    used[i : i + n] = [True] * n
        out: list[Module] = []
        for _, m in sorted(hits, key=lambda h: h[0]):
            if m not in out:
                out.append(m)
        for mt in matches:
            if mt.mentioned and self.kb.get(mt.module) not in out:
                out.append(self.kb.get(mt.module))
        return tuple(out)

    def is_running_question(self, text: str, named: Sequence[Module]) -> bool:
        """ "is mta running?", "draait de wfserver?": yes/no per host, for the modules named; and the
        same question negated ("is mta down?", "has mta crashed?", "ligt de mta plat?", "is mta dood?")."""
        if not named:
            return False
        asked = bool(_QUESTION_START.match(text) or _STATE_START.match(fold(text))) or text.rstrip().endswith("?")
        plain = _OR_NOT.sub(" ", fold(text))  # "is mta running on app2 or not?" asks, it does not say
        if not asked or _WHY.match(plain):
            return False  # "why is mta down?" wants the diagnosis, not a yes/no
        # "is mta down?", and "is mta not running?", "draait de mta niet?": the same question
        return bool(_DOWN_WORDS.search(plain) or _RUNNING_WORDS.search(text))

    def asked_module(self, text: str, toks: Sequence[str], inv: Inventory) -> Module | UnknownModuleError | None:
        """The module a short question about a module's state asks about by a name it does not know
        exactly: the one word that is not a general, health, place or inventory word in "is mtaa
        running?", "draait de fooserver?", "check module mtx", "the mtx module is down". A typo of a
        module's name or alias is that module (the resolver's rule, as for /campaign-module); a word
        written like a module ("fooserver", "module foo") is an UnknownModuleError with the closest
        names; anything else is None ("is jenkins running?" is not about Campaign)."""
        if len(toks) > 8 or self.offtopic(text):
            return None
        noun = any(t in _MODULE_NOUNS for t in toks)
        asked = bool(_QUESTION_START.match(text) or _STATE_START.match(fold(text))) or text.rstrip().endswith("?")
        state = bool(_RUNNING_WORDS.search(text) or _DOWN_WORDS.search(fold(text)))
        if not (noun or (state and (asked or len(toks) <= 3))):  # "mtaa down"
            return None
        names = inv.environment_names()
        rest = [
            t
            for t in toks
            if t not in _GENERAL_WORDS
            and t not in _HEALTH_WORDS
            and t not in _SCOPE_WORDS
            and t not in _ARTICLES
            and t not in _PREPOSITIONS
            and t not in _MODULE_NOUNS
            and t not in _BREAKDOWN_WORDS
            and t not in _OTHER_SERVERS
            and t not in self._host_words
            and t not in self._env_words
            and t not in names
            and not _RUNNING_WORDS.fullmatch(t)
            and not _DOWN_WORDS.fullmatch(t)
            and inv.host_named(t) is None
        ]
        if len(rest) != 1 or not re.fullmatch(r"[a-z][a-z0-9_-]{2,30}", rest[0]):
            return None
        try:
            return self.resolver.resolve(rest[0]).module
        except UnknownModuleError as e:
            module_like = noun or rest[0].endswith("server") or rest[0].startswith("nl")
            return e if module_like else None

    def is_acknowledgement(self, text: str) -> bool:
        """ "ok thanks", "top, opgelost", "mta is back, thanks!": a reply to the bot, not a question.
        A thank-you with news in it counts too, unless it still reports a problem."""
        ws = words(text)
        if not ws or "?" in text:
            return False
        if len(ws) <= 6 and all(w in _ACK_WORDS for w in ws):
            return True
        return (
            len(ws) <= 15
            and bool(set(ws) & _THANKS)
            and not _NEGATION.search(fold(text))
            and not set(ws) & (_PROBLEM_WORDS | {"but", "maar", "still", "nog"})
        )

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
        if env_named and all(w in names for w in ws):
            return True  # "acc?": how is that environment
        signal = any(
            w in _HEALTH_WORDS or w in self._host_words or w in _BREAKDOWN_WORDS
            for w in ws
            if w not in ("all", "alles")
        )
        return signal or (env_named and any(w in _ASK_WORDS for w in ws))

    def is_sweep(self, text: str, env_named: bool) -> bool:
        toks = words(text)
        health = set(toks) & _HEALTH_WORDS
        if "up" in toks and set(toks) & _SCOPE_WORDS:
            health.add("up")  # "is campaign up?" (but not "what's up?")
        if not health or self.offtopic(text) or self.is_acknowledgement(text):
            return False
        question = "?" in text or bool(_QUESTION_START.match(text))
        short = len(toks) <= 2 and bool(set(toks) & _PROBLEM_WORDS)
        return env_named or bool(set(toks) & _SCOPE_WORDS) or short or (question and len(toks) <= 5)

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
        named_text = _R_TEST.sub(" ", text)
        toks = tokens(named_text)

        # -- names: an unknown or contradictory one stops here, before anything runs
        named, loosely, unknown_env = self.named_environments(toks, inv, named_text)
        follow_up = bool(_FOLLOWUP_START.match(text)) or (context is not None and len(toks) <= 3)
        if unknown_env is not None and not named and not follow_up and not self._about_campaign(text, inv):
            # "who broke the staging database": not about Campaign, so not refused; but in a thread,
            # "and on staging?" asks the thread's question there
            unknown_env = None
        loose = not named and q.env is None and bool(loosely)
        if loose:
            named = loosely[:1]  # "prod workflows stuck"; an explicit --env wins over a loose mention
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
        host_hits, unknown_host = self.named_hosts(toks, inv, named_text)
        all_hosts = sorted(h.name for e in inv.environments.values() for h in e.hosts)
        if unknown_host is not None:
            return Refusal(
                why="unknown_host",
                reason=f"unknown host {unknown_host!r}; known: {', '.join(all_hosts)}",
                known=tuple(all_hosts),
                subject=unknown_host,
            )
        host_envs = {e.name for e, _ in host_hits}
        if loose and named_env is not None and host_envs and named_env.name not in host_envs:
            named_env = None  # a host says more than a word that happens to be an environment's name
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
        inst_env: Environment | None = None
        early = self.named_instance(toks)
        if early is not None and named_env is None and host_env is None:
            # "mta@nlacc down": the instance says which environment
            owners = [e for e in inv.environments.values() if early[1] in e.instances]
            inst_env = owners[0] if len(owners) == 1 else None
        env: Environment | None = named_env or host_env or inst_env
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
            if (
                not matches
                and not self.is_sweep(text, False)
                and not self.names_nothing(text, False, inv)
                and not self.modules_named(toks, ())
            ):
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
            instance = env.known_instance(instance) or instance  # `mta@PROD2` is mta@prod2
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

        show_logs = asks_for_logs(text) or (context is not None and bool(_LOG_WORDS.search(text)))
        named_mods = self.modules_named(toks, matches)
        if not named_mods and not matches:
            asked = self.asked_module(text, toks, inv)
            if isinstance(asked, UnknownModuleError):
                return Refusal(
                    why="unknown_module",
                    reason=str(asked),
                    suggestions=tuple(asked.suggestions),
                    known=() if asked.suggestions else tuple(self.kb.names),
                    subject=asked.argument[:100],
                    environment=env.name,
                )
            if asked is not None:
                named_mods = (asked,)  # "is mtaa running?", "check module mtx": a typo of a module's name
        follow_start = bool(_FOLLOWUP_START.match(text))
        # "check again", "still broken", "nog steeds niet", "and now?": the same question once more
        again = bool(_AGAIN.search(text) or (context is not None and _STILL.search(text))) and not named_mods
        again = again and (not matches or (context is not None and bool(_STILL.search(text))))
        sweep_like = self.names_nothing(text, named_env is not None, inv)
        # "and on acc?", "acc?", "op productie?": the thread's question on another environment. A
        # question of its own that names one ("is everything ok on prod?", "check acc") is asked as
        # written: repeating the thread's narrower question there would hide what else is down.
        bare_place = all(t in _PREPOSITIONS or t in _AND or t in inv.environment_names() for t in toks)
        env_switch = (
            named_env is not None and not named_mods and not matches and (follow_start or bare_place or not sweep_like)
        )
        logs_only = show_logs and not matches and not named_mods
        if (
            context is not None
            and context.host
            and hosts is None
            and named_env is None
            and show_logs
            and all(m.name in context.modules for m in named_mods)
        ):
            # "check app2", then "show the mta log": on app2. Not after "is stat running on track1":
            # the mta's log is wherever the mta runs, not on the host the thread asked about for stat.
            hosts = self._hosts(env, context.host)
        ctx_mods = tuple(self.kb.get(n) for n in context.modules if n in self.kb.names) if context is not None else ()
        if (
            context is not None
            and not named_mods
            and _PRONOUN.search(text)
            and (_RUNNING_WORDS.search(text) or _DOWN_WORDS.search(fold(text)))
        ):
            named_mods = ctx_mods  # "is it running on app2?", "is it down?" after "is mta running?"

        # -- follow-ups: only with a thread's context and nothing new to ask about
        # ("is mta running?", then "and on acc?": again a yes/no per host)
        again_intent: Intent = "running" if context is not None and context.intent == "running" else "followup"
        if context is not None and hosts is None and (again or env_switch or logs_only):
            same_host = self._hosts(env, context.host) if context.host and named_env is None else None
            return self.decision(
                again_intent, text, env, ctx_mods, same_host, (), show_logs or logs_only, rerun_of=context.question
            )
        if context is not None and hosts is not None and not named_mods and ctx_mods and (follow_start or again):
            # "and on app2?": the same question, on that host
            return self.decision(again_intent, text, env, ctx_mods, hosts, (), show_logs, rerun_of=context.question)
        if (
            context is None
            and not matches
            and not named_mods
            and not sweep_like
            and hosts is None
            and (again or logs_only or (named_env is not None and follow_start))
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

        running = self.is_running_question(text, named_mods) or (
            context is not None and context.intent == "running" and follow_start and bool(named_mods)
        )  # "is mta running?", then "what about wfserver?"

        if hosts is not None:
            if running:
                return self.decision(
                    "running", text, env, named_mods, hosts, tuple(matches), show_logs, instance=instance
                )
            picked = (
                select_modules(matches, self.kb) if matches and named_mods else list(named_mods or self.host_modules())
            )
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

        strong = tuple(m for m in named_mods if m.name in self._strong_names)
        if strong and not self.offtopic(text) and not self.matcher.looks_like_code(text):
            # "wfserver won't start after the edit": no symptom the matcher knows, but the module is named
            # by a name that is not an everyday word (unlike "export" in "export the Jira board").
            return self.decision("module", text, env, strong, None, (), show_logs)

        if self.is_sweep(text, named_env is not None):
            return self.decision("sweep", text, env, self.host_modules(), None, (), show_logs)

        if self.quotes_error_code(text) and not self.offtopic(text):
            # "PGS-220000 errors everywhere": a Campaign error code that no module's symptoms name. Every
            # module writes them to its log, so every module is checked and the logs are shown.
            return self.decision("sweep", text, env, self.host_modules(), None, (), True)

        return Help(
            environment=env.name,
            environments=known_envs,
            modules=tuple(self.kb.names),
            not_campaign=True,
        )

    def quotes_error_code(self, text: str) -> bool:
        """Whether the text quotes one of Campaign's documented error codes (`PGS-220000`, `xsv-350008`)."""
        return self._error_code is not None and self._error_code.search(text) is not None

    def _about_campaign(self, text: str, inv: Inventory) -> bool:
        words_ = set(words(text))
        return (
            self.quotes_error_code(text)
            or bool(self.matcher.match(self._without_hosts(text, inv)))
            or self.names_nothing(text, True, inv)
            or bool(words_ & _SCOPE_WORDS)
            or bool(self.modules_named(tokens(text), ()))
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
