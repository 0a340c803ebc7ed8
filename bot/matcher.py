"""Symptom matcher: free text (English or Dutch, typos welcome) -> Campaign modules with reasons.

Pure and deterministic. The knowledge supplies everything: each module's `signals` (weighted terms
over words and lexicon concepts) and `aliases`; this module only compiles and scores them.

Term syntax in `signals`: parts joined by ` + ` must all occur anywhere in the question; inside a
part, space-separated elements must occur next to each other; an element `@NAME` is any word or
phrase of that lexicon concept. In a phrase, `...` allows up to three words in between, for Dutch
separable verbs ("komen ... aan" matches "komen niet aan").

Reading a question (`tokens`): mail domains are masked; a hyphenated word is read whole when known,
else as its pieces; each word is kept when the knowledge has it, split when it is a compound of known
words, typo-corrected (rapidfuzz) when it is one or two edits from one, else read as a kind of its
last part (bevestigingsmails -> mails); Dutch separable verbs are joined (haalt ... op = ophalen).
Words meet the knowledge through their Snowball stems (`bot.text.keys`).

Deciding (`match`): every module sums the weights of its terms found; a module name inside a longer
name of another module does not count, and a name used as a place ("on the app server") or as a log's
name ("mta.log", "the wfserver log") counts half and does not make the module the subject. Nothing is returned when the best module has too little
evidence (less for a one- or two-word question), when off-topic words occur without Campaign jargon,
or when the text is pasted code or a command line, unless a module is named.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.kb.models import KnowledgeBase
from bot.models import Match
from bot.text import (
    TypoIndex,
    compound_tail,
    fold,
    is_common_word,
    keys,
    split_compound,
    undouble,
    word_groups,
    words,
)

ABSTAIN_BELOW = 1.5  # raw evidence the best module needs, or the matcher says nothing
TERSE_ABSTAIN_BELOW = 1.0  # the same for a question of one or two words
JARGON = 0.5  # context words this strong are Campaign's own: they outweigh an off-topic word
KEEP_RATIO = 0.25  # other modules need this share of the best module's evidence
MIN_EVIDENCE = 0.8
ALIAS_WEIGHT = 2.0  # an alias without an explicit signal weight
FIRST_MENTION_BONUS = 0.5  # "stat server not reachable from the mta": the subject wins
STRONG_ALIAS = 2.0

# Function words never typo-corrected, in both languages.
_FUNCTION_WORDS = frozenset(
    """the a an and or but if of to in on at for from with by is are was were be been being it its this
that these those there here what when where which who why how not no yes do does did have has had
can could would should will shall may might must our your their my we you they he she also just only
very still again some any all each every more most less many much few then than de het een en of
maar als van naar in op bij voor uit met door is zijn was waren wordt worden werd dit dat deze die
daar hier wat wanneer waar welke wie waarom hoe niet geen ja doe doet heeft hebben kan kunnen zou
zouden moet moeten wil willen ons onze jouw jullie hun mijn wij jij zij hij ook nog alleen heel erg
al alle elke meer meest minder veel weinig dan""".split()  # noqa: SIM905
)

# Command names that start a pasted command line (English words like `more` or `find` are left out).
_SHELL_START = frozenset(
    """ls cd rm cp mv cat tail head grep egrep awk sed sudo chmod chown ps kill pkill htop df du echo curl
wget ssh scp git docker kubectl systemctl apt apt-get yum dnf pip python python3 bash sh zsh vi vim
nano tar gzip npm mkdir touch ln whoami netstat ss journalctl crontab""".split()  # noqa: SIM905
)
_SHELL_META = re.compile(
    r"(\|\s*\w|&&|;\s*\w|\$\(|`|\s>>?\s*/|\s-{1,2}[a-z]|^\s*[./~]/|\$\{?[A-Za-z_]"
    r"|\b(?:export|set)\s+[A-Za-z_][A-Za-z0-9_]*=)"
    # a browser's or a language's own objects: console.log, document.getElementById, System.out.println
    r"|\b(?:console|window|document|localStorage|sessionStorage|JSON|Math|System\.(?:out|err))\.[A-Za-z]+\b"
)
# Slack's inline code and code blocks (`No tasks`, ```nlserver pdump```), and the separators of a command line.
_CODE_SPAN = re.compile(r"`{1,3}([^`]*)`{1,3}")
_SEPARATOR = re.compile(r"&&|\|\||;|\|")
# `import os, sys`, `from x import y`, `import pandas as pd` (not "import failed, duplicates": the
# imported names must be words the knowledge does not know)
_PY_IMPORT = re.compile(
    r"^\s*(?:from\s+[\w.]+\s+import\s+([\w.]+(?:\s*,\s*[\w.]+)*)"
    r"|import\s+([\w.]+(?:\s+as\s+\w+|(?:\s*,\s*[\w.]+)+)))\s*$"
)
# The question names Adobe Campaign itself: "Adobe", "Neolane", "Campaign" written as the product's
# name, or "in/into/to/from Campaign" ("import from SAP into Campaign failed"), not "our Black Friday campaign".
_NAMES_CAMPAIGN = re.compile(
    r"\b(?:adobe|neolane)\b|(?<![\w-])(?-i:Campaign)\b"
    r"|\b(?:in|into|to|from|naar|uit|vanuit|in|via|met|on|op)\s+(?:adobe\s+)?campai?gne?\b",
    re.I,
)
# Asking for content rather than about a server: "write a subject line for our campaign", "schrijf een tekst".
_CONTENT_REQUEST = re.compile(
    r"^\W*(?:(?:please|pls|can you|could you|would you|kun je|kan je|wil je|zou je)\s+)?"
    r"(?:write|draft|compose|design|translate|rewrite|schrijf|bedenk|ontwerp|vertaal|herschrijf)\s+"
    r"(?:me\s+|us\s+|mij\s+|ons\s+|voor\s+(?:mij|ons)\s+)?(?:a|an|some|een|wat|the|de|het|nieuwe?|new)\b",
    re.I,
)
# "nothing runs on the app server": a module name after these words is a place
_PLACE_WORDS = frozenset("on at from op vanaf".split())  # noqa: SIM905
_ARTICLES = frozenset("the a an our this that de het een onze ons deze die".split())  # noqa: SIM905
PLACE_FACTOR = 0.5
_LOG_WORDS = frozenset("log logs logfile logfiles logbestand logbestanden logging".split())  # noqa: SIM905


GAP = None  # in a compiled phrase: up to three free words (Dutch separable verbs: "komen ... aan")
_GAP_TEXT = "..."
_MAX_GAP = 3
# Dutch separable-verb particles: "de mails komen niet binnen" also reads as "binnenkomen", "haalt de
# bounces niet op" as "ophalen". The joined form must be a known word, so stray particles add nothing.
_PARTICLES = frozenset(
    "op uit door in aan binnen vast terug af mee weg bij na over toe los neer stil".split()  # noqa: SIM905
)
_PARTICLE_REACH = 6  # words back from the particle to the verb
# Mail domains ("quotas met for outlook.com") name recipients' mail servers, not desktop software.
_DOMAIN_RE = re.compile(r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|nl|be|de|fr|eu|io|co\.uk)\b", re.I)
_DOMAIN_WORD = "maildomain"
# "mails to gmail are deferred", "quota voor hotmail": a mail provider after these words is where
# mail goes (a recipient domain), not someone's desktop mail client.
_RECIPIENT_WORDS = frozenset("to for towards at naar voor bij richting".split())  # noqa: SIM905
_MAIL_PROVIDERS = frozenset("outlook gmail hotmail yahoo icloud aol msn live ziggo kpn telenet".split())  # noqa: SIM905

# A compiled phrase: per word the set of its keys (English and Dutch stems); GAP between words.
_Alt = tuple[frozenset[str] | None, ...]
# A part is a set of alternatives; an alternative's words must be adjacent (or GAP-separated).
_Part = tuple[_Alt, ...]


def _match_at(alt: _Alt, toks: list[frozenset[str]], start: int) -> int | None:
    """End index if `alt` matches the question's tokens at `start`."""
    i = start
    k = 0
    while k < len(alt):
        el = alt[k]
        if el is None:
            k += 1
            nxt = alt[k]
            assert nxt is not None  # a compiled phrase never ends on a gap
            for j in range(i, min(i + _MAX_GAP + 1, len(toks))):
                if toks[j] & nxt:
                    i = j + 1
                    break
            else:
                return None
        elif i < len(toks) and toks[i] & el:
            i += 1
        else:
            return None
        k += 1
    return i


def _pattern(text: str) -> _Alt:
    """The keys of each word of a lexicon phrase, keeping `...` gaps (never leading or trailing)."""
    out: list[frozenset[str] | None] = []
    for piece in text.split():
        if piece == _GAP_TEXT:
            if out and out[-1] is not None:
                out.append(GAP)
        else:
            out.extend(keys(w) for w in words(piece))
    while out and out[-1] is None:
        out.pop()
    return tuple(out)


def _written_phrases(phrases: Iterable[str]) -> dict[str, list[_Alt]]:
    """Phrases to match on written words and their plurals, by their first word."""
    out: dict[str, list[_Alt]] = {}
    for phrase in dict.fromkeys(phrases):
        ws = words(phrase)
        if ws:
            alt = tuple(frozenset((w, w + "s")) for w in ws)
            for first in (ws[0], ws[0] + "s"):
                out.setdefault(first, []).append(alt)
    return out


def _single(phrase: str) -> frozenset[str]:
    """The keys of a one-word phrase (none for longer ones)."""
    ws = words(phrase)
    return keys(ws[0]) if len(ws) == 1 else frozenset()


def _more(specific: dict[str, tuple[int, float, int, int]], module: str, parts: int, weight: float) -> None:
    """Record one more term found for `module` (see the tie-break in `Matcher.match`)."""
    top_parts, top_weight, n, total = specific.get(module, (0, 0.0, 0, 0))
    top_parts, top_weight = max((top_parts, top_weight), (parts, weight))
    specific[module] = (top_parts, top_weight, n + 1, total + parts)


def _same(a: _Alt, b: _Alt) -> bool:
    """Two phrases that read the same words (each word shares a stem): import ~ imports."""
    if len(a) != len(b):
        return False
    return all(x is y is None or (x is not None and y is not None and x & y) for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Token:
    raw: str  # the word as shown in reasons
    keys: frozenset[str]
    word: str = ""  # the word as written (set by __post_init__ when not given)

    def __post_init__(self) -> None:
        if not self.word:
            object.__setattr__(self, "word", self.raw)


@dataclass(frozen=True)
class _Term:
    label: str
    parts: tuple[int, ...]  # ids into Matcher._parts
    weight: float
    is_alias: bool


class Matcher:
    """Compiled matcher over one knowledge base. `match()` is thread-safe (no shared mutable state
    besides the caches of stems and typos, which only ever gain entries)."""

    def __init__(self, kb: KnowledgeBase, extra_protected: tuple[str, ...] = ()) -> None:
        self.kb = kb
        self._parts: list[_Part] = []
        self._part_ids: dict[_Part, int] = {}
        # per part: its alternatives by the keys of their first word, and those keys (fast rejection)
        self._part_index: list[dict[str, tuple[_Alt, ...]]] = []
        self._part_first: list[frozenset[str]] = []
        self._parts_by_key: dict[str, set[int]] = {}  # a key -> the parts an alternative starts with it
        self._concepts: dict[str, tuple[_Alt, ...]] = {
            name: tuple(dict.fromkeys(_pattern(p) for p in members if words(p)))
            for name, members in kb.lexicon.concepts.items()
        }
        self._terms: dict[str, list[_Term]] = {}
        vocab: set[str] = set()
        for members in kb.lexicon.concepts.values():
            for p in members:
                vocab.update(words(p))
        for m in kb.modules:
            terms: list[_Term] = []
            signal_keys: list[_Alt] = []
            for label, weight in m.signals.items():
                parts = tuple(self._compile_part(p.strip(), vocab) for p in label.split("+") if p.strip())
                if len(parts) == 1 and len(self._parts[parts[0]]) == 1:
                    signal_keys.append(self._parts[parts[0]][0])
                terms.append(_Term(label, parts, weight, is_alias=False))
            for name in (m.name, *m.aliases):
                alt = _pattern(name)
                vocab.update(words(name))
                if not alt:
                    continue
                same = next((k for k in signal_keys if _same(k, alt)), None)
                if same is not None:
                    # an explicit signal (or an alias already listed: imports ~ import) wins; an
                    # explicit signal still counts as naming the module
                    terms = [
                        _Term(t.label, t.parts, t.weight, True)
                        if len(t.parts) == 1 and self._parts[t.parts[0]] == (same,)
                        else t
                        for t in terms
                    ]
                    continue
                signal_keys.append(alt)
                terms.append(_Term(name, (self._intern((alt,)),), ALIAS_WEIGHT, is_alias=True))
            self._terms[m.name] = terms
        offtopic_words = {w for phrase in kb.lexicon.offtopic_words for w in words(phrase)}
        self._offtopic_words = frozenset(offtopic_words)
        # Words the question is split and corrected into: everything the knowledge can match.
        self._known_keys = frozenset(k for w in vocab for k in keys(w))
        # Separable verbs join into lexicon words only (never into a module name: "mailing ... in").
        self._undoubled: dict[str, frozenset[str]] = {}
        for members in kb.lexicon.concepts.values():
            for w in (w for p in members for w in words(p) if len(w) >= 5):
                for k in keys(w):
                    if k.startswith("n:"):  # Dutch stems only: binnenkoom / binnenkom
                        self._undoubled[undouble(k)] = self._undoubled.get(undouble(k), frozenset()) | {k}
        self._split_keys = self._known_keys | frozenset(k for w in offtopic_words for k in keys(w))
        protected = {
            fold(w)
            for w in (
                *kb.lexicon.common_words,
                *kb.lexicon.environment_words,
                *kb.lexicon.host_words,
                *extra_protected,
            )
        }
        protected.update(_FUNCTION_WORDS)
        # Off-topic words are corrected too ("laaptop"), so the off-topic veto sees them.
        self._typos = TypoIndex(vocab | offtopic_words, protected=protected - vocab - offtopic_words)
        self._vocab = frozenset(vocab)
        self._no_split = frozenset(protected)
        self._context = {k: v for w, v in kb.lexicon.context_words.items() for k in keys(fold(w))}
        # Off-topic phrases match written words (and plurals), not stems: the Dutch stem of "meeting"
        # is that of "gemeten" (measured).
        self._offtopic = _written_phrases(kb.lexicon.offtopic_words)
        # Other systems, departments and objects (lexicon concept ELSEWHERE), matched the same way; and the
        # words that only say when or how often (FILLER), which never count as words of the question.
        self._elsewhere = _written_phrases(kb.lexicon.concepts.get("ELSEWHERE", ()))
        self._filler = frozenset(w for p in kb.lexicon.concepts.get("FILLER", ()) for w in words(p))
        # A department (DEPARTMENT) qualifies a workflow or an import as theirs, but their mail is Campaign's.
        self._department = _written_phrases(kb.lexicon.concepts.get("DEPARTMENT", ()))
        self._mailish = frozenset(
            k
            for c in ("MAIL", "DELIVERY", "BOUNCE", "TRACK")
            for p in kb.lexicon.concepts.get(c, ())
            for k in _single(p)
        )
        # Lines missing from a log (MISSING, or WRITE with NEG): then a module named as its log's name
        # ("gaps in mta.log") is where, not what; a log's own errors or "show the mta log" stay the module's.
        self._concept_keys = {
            c: frozenset(k for p in kb.lexicon.concepts.get(c, ()) for k in _single(p))
            for c in ("MISSING", "WRITE", "NEG")
        }

    # -- compilation -------------------------------------------------------------------------
    def _intern(self, part: _Part) -> int:
        if part not in self._part_ids:
            self._part_ids[part] = len(self._parts)
            self._parts.append(part)
            index: dict[str, list[_Alt]] = {}
            for alt in part:
                first = alt[0]
                assert first is not None  # a compiled phrase never starts with a gap
                for k in first:
                    index.setdefault(k, []).append(alt)
            self._part_index.append({k: tuple(v) for k, v in index.items()})
            self._part_first.append(frozenset(index))
            for k in index:
                self._parts_by_key.setdefault(k, set()).add(len(self._parts) - 1)
        return self._part_ids[part]

    def _compile_part(self, text: str, vocab: set[str]) -> int:
        elements: list[tuple[_Alt, ...]] = []
        for el in text.split():
            if el.startswith("@"):
                elements.append(self._concepts[el[1:]])
            elif el == _GAP_TEXT:
                elements.append(((GAP,),))
            else:
                vocab.update(words(el))
                elements.append((_pattern(el),))
        alternatives = tuple(
            dict.fromkeys(tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*elements))
        )
        return self._intern(alternatives)

    # -- matching ----------------------------------------------------------------------------
    def _known(self, word: str) -> bool:
        return bool(keys(word) & self._known_keys)

    def _splittable(self, word: str) -> bool:
        # Dutch compounds may start with a particle: doorkliks = door + kliks, aangeklikt = aan + geklikt.
        # A piece known only by a stem much shorter than itself is noise (ining -> in).
        if word in _PARTICLES or word in self._vocab or word in self._offtopic_words:
            return True
        if word in self._no_split:
            return False
        floor = max(3, len(word) - 3)
        return any(len(k) - 2 >= floor for k in keys(word) & self._split_keys)

    def _word(self, w: str) -> tuple[list[_Token], str | None]:
        """Tokens for one word (known as is, split as a compound, or typo-corrected) and a note."""
        if w in self._vocab or w in self._no_split or w in self._offtopic_words:
            return [_Token(w, keys(w))], None
        if is_common_word(w):
            # a real English or Dutch word is what it says: never a typo of a domain word (black, blank),
            # never pieces of one (phishing is not phis + hing)
            return [_Token(w, keys(w))], None
        split = split_compound(w, self._splittable)
        fixed = None if split and all(self._written(p) for p in split) else self._typos.correct(w)
        if split and fixed is None:
            # trackinglogs = tracking + logs, and still the word itself (the alias trackinglog)
            whole = keys(w) if self._known(w) else frozenset()
            return [_Token(split[0], keys(split[0]) | whole), *(_Token(p, keys(p)) for p in split[1:])], None
        if self._known(w):
            return [_Token(w, keys(w))], None
        if fixed is not None:
            # a misspelt word beats a split into pieces known only by their stems (workslows)
            return [_Token(w, keys(fixed), fixed)], f"read '{w}' as '{fixed}'"
        if len(w) >= 8:
            tail = compound_tail(w, self._splittable)
            if tail:
                return [_Token(tail[0], keys(tail[0])), _Token(tail[1], keys(tail[1]))], None
        return [_Token(w, keys(w))], None

    def _written(self, piece: str) -> bool:
        """A compound piece that is a word of the knowledge as written (not only by its stem)."""
        return piece in self._vocab or piece in self._offtopic_words or piece in _PARTICLES

    def tokens(self, text: str) -> tuple[list[_Token], list[str]]:
        """The question's tokens (after domain masking, compound splitting, typo correction and
        Dutch separable-verb joining) and notes on what was read differently."""
        text = _DOMAIN_RE.sub(f" {_DOMAIN_WORD} ", text)
        toks: list[_Token] = []
        notes: list[str] = []
        for joined, pieces in word_groups(text):
            if joined == _DOMAIN_WORD:
                toks.append(_Token(joined, frozenset((joined,))))
                continue
            # e-mail -> email (known); MX-quota -> mx, quota (the joined word is not); the team's -> team
            # (a possessive is not "teams"), de mta's -> mta
            if len(pieces) == 2 and pieces[1] == "s":
                group = [pieces[0]]
            elif len(pieces) > 1 and not (joined in self._vocab or self._known(joined)):
                group = [p for p in pieces if len(p) > 1]
            else:
                group = [joined]
            for w in group:
                new, note = self._word(w)
                toks.extend(new)
                if note:
                    notes.append(note)
        for i, t in enumerate(toks):
            if t.word not in _PARTICLES:
                continue
            for j in range(max(0, i - _PARTICLE_REACH), i):
                verb = toks[j].word
                if len(verb) < 3 or verb in _FUNCTION_WORDS or verb in _PARTICLES:
                    continue
                forms = {t.raw + verb}
                if len(verb) > 3 and verb[-1] in "td":
                    forms.add(t.raw + verb[:-1])  # haalt ... op -> ophaal(t)
                joined_keys = frozenset(
                    known for f in forms for k in keys(f) for known in self._undoubled.get(undouble(k), ())
                )
                if joined_keys:
                    toks[j] = _Token(f"{verb} ... {t.word}", toks[j].keys | joined_keys, verb)
        return toks, notes

    def match(self, text: str, limit: int = 5) -> list[Match]:
        """Modules ranked by score, best first; empty when the text is not about Campaign operations."""
        toks, notes = self.tokens(text[:2000])
        if not toks:
            return []
        sets = [t.keys for t in toks]
        positions: dict[str, list[int]] = {}
        for i, ks in enumerate(sets):
            for k in ks:
                positions.setdefault(k, []).append(i)
        present = frozenset(positions)
        # parts that may occur at all: a term needing any other part cannot match (fast rejection)
        possible: set[int] = set()
        for k in present:
            possible.update(self._parts_by_key.get(k, ()))
        part_cache: dict[int, _Hit | None] = {}
        ck = self._concept_keys
        lines_missing = bool(present & ck["MISSING"]) or bool(present & ck["WRITE"] and present & ck["NEG"])

        def part_hit(pid: int) -> _Hit | None:
            if pid not in part_cache:
                part_cache[pid] = self._find(pid, present, sets, toks, positions)
            return part_cache[pid]

        # Which module names are written where; a name inside a longer one of another module does not
        # count ("tracking log writer" names trackinglogd, not tracking or the log writer syslogd).
        named: list[tuple[str, _Hit]] = []
        for m in self.kb.modules:
            for term in self._terms[m.name]:
                if term.is_alias and term.parts[0] in possible:
                    hit = part_hit(term.parts[0])
                    if hit is not None:
                        named.append((m.name, hit))
        covered = {
            (name, hit)
            for name, hit in named
            for other, big in named
            if other != name
            and big.start <= hit.start
            and hit.end <= big.end
            and big.end - big.start > hit.end - hit.start
        }

        scored: list[tuple[float, int, str, list[str], bool]] = []
        first_mention: tuple[int, str] | None = None
        # per module: its most specific term (parts, weight), then how many terms and parts agree
        specific: dict[str, tuple[int, float, int, int]] = {}
        own_name = False  # a module named by a name of its own (mta, wfserver), not an everyday word (import)
        for order, m in enumerate(self.kb.modules):
            total = 0.0
            reasons: list[str] = []
            mentioned = False
            for term in self._terms[m.name]:
                if not possible.issuperset(term.parts):
                    continue
                found: list[_Hit] = []
                for p in term.parts:
                    h = part_hit(p)
                    if h is None:
                        break
                    found.append(h)
                if len(found) < len(term.parts):
                    continue
                shown = " + ".join(f"'{h.text}'" for h in found)
                if term.is_alias:
                    hit = found[0]
                    if (m.name, hit) in covered:
                        continue
                    weight = term.weight
                    if self._is_place(toks, hit.start) or (lines_missing and self._names_a_log(toks, hit.end)):
                        # "nothing runs on the app server": where it happens, not what is wrong
                        total += weight * PLACE_FACTOR
                        reasons.append(f"names a place: {shown}")
                        continue
                    total += weight
                    reasons.append(f"names the module: {shown}")
                    _more(specific, m.name, 9, weight)
                    if weight >= STRONG_ALIAS:
                        mentioned = True
                        own_name = own_name or not all(is_common_word(w) for w in words(hit.text))
                        if first_mention is None or hit.start < first_mention[0]:
                            first_mention = (hit.start, m.name)
                else:
                    total += term.weight
                    reasons.append(f"{shown} ~ {term.label}")
                    _more(specific, m.name, len(term.parts), term.weight)
            if total > 0:
                scored.append((total, order, m.name, reasons, mentioned))
        if not scored:
            return []
        context = {k for ks in sets for k in ks} & self._context.keys()
        bonus = min(sum(self._context[k] for k in context), 0.6)
        jargon = any(self._context[k] >= JARGON for k in context)
        written = [frozenset((t.word,)) for t in toks]
        offtopic = any(
            _match_at(alt, written, i) is not None
            and not (i > 0 and t.word in _MAIL_PROVIDERS and toks[i - 1].word in _RECIPIENT_WORDS)
            for i, t in enumerate(toks)
            for alt in self._offtopic.get(t.word, ())
        )
        if first_mention is not None:
            scored = [
                (t + FIRST_MENTION_BONUS if n == first_mention[1] else t, o, n, r, mm) for t, o, n, r, mm in scored
            ]
        # Equal evidence goes to the more specific: the longer concept combination, then the heavier term
        # (never the first module in alphabetical order).
        scored.sort(key=lambda s: (-round(s[0], 6), *(-x for x in specific.get(s[2], (0, 0.0, 0, 0))), s[1]))
        best, strong = scored[0][0], scored[0][4]
        # Another system, department or object qualifies the Campaign noun ("the approval workflow in SAP",
        # "import photos from my camera"): not Campaign's, unless the question names Campaign or a module
        # by a name of its own ("import from SAP into Campaign failed").
        elsewhere = (
            self._hits(toks, self._elsewhere)
            or (self._hits(toks, self._department) and not any(t.keys & self._mailish for t in toks))
        ) and not (jargon or own_name or _NAMES_CAMPAIGN.search(text))
        if elsewhere or _CONTENT_REQUEST.match(text):
            return []
        if strong:
            if best < ABSTAIN_BELOW:
                return []
        elif (offtopic and not jargon) or best + bonus < self._threshold(toks) or self.looks_like_code(text):
            # not about Campaign, someone's desktop or office tools, or a pasted command line
            return []
        out: list[Match] = []
        for total, _, name, reasons, mentioned in scored:
            if total < max(MIN_EVIDENCE, best * KEEP_RATIO):
                continue
            evidence = total + bonus
            score = round(min(1.0, evidence / (evidence + 1.5)), 3)
            out.append(
                Match(
                    module=name,
                    score=score,
                    reasons=tuple(notes + reasons),
                    mentioned=mentioned,
                    evidence=round(total, 3),
                )
            )
            if len(out) >= limit:
                break
        return out

    def _threshold(self, toks: list[_Token]) -> float:
        """Evidence the best module needs. A question of one or two words ("workflows?", "clicks")
        is a topic by itself: what it names is all the evidence there will be. Words that only say
        when or how often ("since midnight", "weer", "blijft"), numbers, host and environment names
        do not count as words of the question ("mails stuck since midnight" is two words)."""
        content = [
            t
            for t in toks
            if t.word not in _FUNCTION_WORDS
            and t.word not in self._no_split
            and t.word not in self._filler
            and t.word not in _PARTICLES  # "komen ... binnen": the particle is part of the verb
            and not any(c.isdigit() for c in t.word)
        ]
        return TERSE_ABSTAIN_BELOW if len(content) <= 2 else ABSTAIN_BELOW

    @staticmethod
    def _hits(toks: list[_Token], phrases: dict[str, list[_Alt]]) -> bool:
        """Whether one of `phrases` (matched on written words and their plurals) occurs; not after a
        number, where it is a unit ("stuck for 2 hr")."""
        written = [frozenset((t.word,)) for t in toks]
        return any(
            _match_at(alt, written, i) is not None and not (i > 0 and toks[i - 1].word.isdigit())
            for i, t in enumerate(toks)
            for alt in phrases.get(t.word, ())
        )

    @staticmethod
    def _names_a_log(toks: list[_Token], end: int) -> bool:
        """Whether the name is a log's ("mta.log", "the wfserver log", "inMail-logbestand"): with lines
        missing, the question is about the log, whose lines every module sends to syslogd, not the module."""
        return end < len(toks) and toks[end].raw in _LOG_WORDS

    @staticmethod
    def _is_place(toks: list[_Token], start: int) -> bool:
        """Whether the words before `start` make it a place: "on the app server", "vanaf de mta"."""
        j = start - 1
        while j >= 0 and start - j <= 3 and toks[j].raw in _ARTICLES:
            j -= 1
        return j >= 0 and toks[j].raw in _PLACE_WORDS

    def _find(
        self,
        pid: int,
        present: frozenset[str],
        sets: list[frozenset[str]],
        toks: list[_Token],
        positions: dict[str, list[int]],
    ) -> _Hit | None:
        """The earliest place where one of the part's alternatives occurs, or None."""
        best: tuple[int, int] | None = None
        index = self._part_index[pid]
        for k in self._part_first[pid] & present:
            for alt in index[k]:
                for start in positions[k]:
                    if best is not None and start >= best[0]:
                        break
                    end = start + 1 if len(alt) == 1 else _match_at(alt, sets, start)
                    if end is not None:
                        best = (start, end)
                        break
        if best is None:
            return None
        return _Hit(best[0], best[1], " ".join(t.raw for t in toks[best[0] : best[1]]))

    def looks_like_code(self, text: str) -> bool:
        """A pasted command line or code: `ls -la`, `export PATH=$PATH:...`, `import os, sys`,
        `cat /etc/hosts | grep app`. A question that quotes a command or what it printed between
        Slack's backticks ("nlserver pdump says `No tasks`") or that has a command or a second
        sentence after a separator ("mail not sending; help", "workflow stuck | cleanup failed",
        "mail not sending; rm -rf /") is code only when none of its parts is prose: a part is a
        backtick span or a piece between `;`, `|`, `||` and `&&`, and each is judged on its own."""
        parts: list[str] = []
        for i, piece in enumerate(_CODE_SPAN.split(text)):
            parts.extend([piece] if i % 2 else _SEPARATOR.split(piece))
        parts = [p for p in parts if words(p)]
        if len(parts) > 1 or (parts and parts[0].strip() != text.strip()):
            return all(self._code_part(p) for p in parts)
        return self._code_part(text)

    def _code_part(self, text: str) -> bool:
        if _SHELL_META.search(text):
            return True
        code = _PY_IMPORT.match(text)
        if code and not any(len(w) > 2 and w in self._vocab for w in words(code.group(1) or code.group(2))):
            return True
        first = words(text.strip().split(" ", 1)[0]) if text.strip() else []
        return bool(first) and first[0] in _SHELL_START
