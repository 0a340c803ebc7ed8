"""Symptom matcher: free text (English or Dutch, typos welcome) -> Campaign modules with reasons.

Pure and deterministic. The knowledge supplies everything: each module's `signals` (weighted terms
over words and lexicon concepts) and `aliases`; this module only compiles and scores them.

Term syntax in `signals`: parts joined by ` + ` must all occur anywhere in the question; inside a
part, space-separated elements must occur next to each other; an element `@NAME` is any word or
phrase of that lexicon concept. In a phrase, `...` allows up to three words in between, for Dutch
separable verbs ("komen ... aan" matches "komen niet aan").
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from bot.kb.models import KnowledgeBase
from bot.models import Match
from bot.text import TypoIndex, fold, stem, words

ABSTAIN_BELOW = 1.5  # raw evidence the best module needs, or the matcher says nothing
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
_SHELL_META = re.compile(r"(\|\s*\w|&&|;\s*\w|\$\(|`|\s>>?\s*/|\s-{1,2}[a-z]|^\s*[./~]/)")


GAP = "..."
_MAX_GAP = 3


def _match_at(alt: tuple[str, ...], toks: list[str], start: int) -> int | None:
    """End index if `alt` (stemmed tokens, GAP = up to three free words) matches at `start`."""
    i = start
    k = 0
    while k < len(alt):
        if alt[k] == GAP:
            k += 1
            nxt = alt[k]
            for j in range(i, min(i + _MAX_GAP + 1, len(toks))):
                if toks[j] == nxt:
                    i = j + 1
                    break
            else:
                return None
        elif i < len(toks) and toks[i] == alt[k]:
            i += 1
        else:
            return None
        k += 1
    return i


def _pattern(text: str) -> tuple[str, ...]:
    """Stemmed tokens of a lexicon phrase, keeping `...` gaps."""
    out: list[str] = []
    for piece in text.split():
        if piece == GAP:
            out.append(GAP)
        else:
            out.extend(stem(w) for w in words(piece))
    return tuple(out)


# A part is a set of alternatives; an alternative is a tuple of stemmed tokens that must be adjacent.
_Part = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Term:
    label: str
    parts: tuple[int, ...]  # ids into Matcher._parts
    weight: float
    is_alias: bool


class Matcher:
    """Compiled matcher over one knowledge base. `match()` is thread-safe (no shared mutable state
    besides the typo cache, whose races are benign)."""

    def __init__(self, kb: KnowledgeBase, extra_protected: tuple[str, ...] = ()) -> None:
        self.kb = kb
        self._parts: list[_Part] = []
        self._part_ids: dict[_Part, int] = {}
        self._concepts: dict[str, tuple[tuple[str, ...], ...]] = {
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
            signal_keys: set[tuple[str, ...]] = set()
            for label, weight in m.signals.items():
                parts = tuple(self._compile_part(p.strip(), vocab) for p in label.split("+") if p.strip())
                if len(parts) == 1 and len(self._parts[parts[0]]) == 1:
                    signal_keys.add(self._parts[parts[0]][0])
                terms.append(_Term(label, parts, weight, is_alias=False))
            for name in (m.name, *m.aliases):
                toks = tuple(stem(w) for w in words(name))
                vocab.update(words(name))
                if not toks:
                    continue
                if toks in signal_keys:
                    # the explicit signal weight wins; it still counts as naming the module
                    terms = [
                        _Term(t.label, t.parts, t.weight, True)
                        if len(t.parts) == 1 and self._parts[t.parts[0]] == (toks,)
                        else t
                        for t in terms
                    ]
                    continue
                signal_keys.add(toks)
                terms.append(_Term(name, (self._intern(((toks),)),), ALIAS_WEIGHT, is_alias=True))
            self._terms[m.name] = terms
        protected = {fold(w) for w in (*kb.lexicon.common_words, *kb.lexicon.environment_words, *extra_protected)}
        protected.update(_FUNCTION_WORDS)
        self._typos = TypoIndex(vocab, protected=protected - vocab)
        self._context = {stem(fold(k)): v for k, v in kb.lexicon.context_words.items()}
        self._offtopic = {_pattern(w) for w in kb.lexicon.offtopic_words if words(w)}

    # -- compilation -------------------------------------------------------------------------
    def _intern(self, part: _Part) -> int:
        if part not in self._part_ids:
            self._part_ids[part] = len(self._parts)
            self._parts.append(part)
        return self._part_ids[part]

    def _compile_part(self, text: str, vocab: set[str]) -> int:
        elements: list[tuple[tuple[str, ...], ...]] = []
        for el in text.split():
            if el.startswith("@"):
                elements.append(self._concepts[el[1:]])
            elif el == GAP:
                elements.append(((GAP,),))
            else:
                vocab.update(words(el))
                elements.append((tuple(stem(w) for w in words(el)),))
        alternatives = tuple(
            dict.fromkeys(tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*elements))
        )
        return self._intern(alternatives)

    # -- matching ----------------------------------------------------------------------------
    def tokens(self, text: str) -> tuple[list[str], list[str], list[str]]:
        """(original words, stemmed tokens after typo correction, typo notes)."""
        raw: list[str] = []
        for w in words(text):
            split = self._split_compound(w)
            raw.extend(split if split else (w,))
        toks: list[str] = []
        notes: list[str] = []
        for w in raw:
            fixed = self._typos.correct(w)
            if fixed is not None:
                notes.append(f"read '{w}' as '{fixed}'")
                toks.append(stem(fixed))
            else:
                toks.append(stem(w))
        return raw, toks, notes

    def match(self, text: str, limit: int = 5) -> list[Match]:
        """Modules ranked by score, best first; empty when the text is not about Campaign operations."""
        raw, toks, notes = self.tokens(text[:2000])
        if not toks:
            return []
        positions: dict[str, list[int]] = {}
        for i, t in enumerate(toks):
            positions.setdefault(t, []).append(i)
        part_cache: dict[int, tuple[int, str] | None] = {}

        def part_hit(pid: int) -> tuple[int, str] | None:
            if pid not in part_cache:
                part_cache[pid] = self._find(self._parts[pid], toks, raw, positions)
            return part_cache[pid]

        scored: list[tuple[float, int, str, list[str], bool]] = []
        first_mention: tuple[int, str] | None = None
        for order, m in enumerate(self.kb.modules):
            total = 0.0
            reasons: list[str] = []
            mentioned = False
            for term in self._terms[m.name]:
                hits = [part_hit(p) for p in term.parts]
                if any(h is None for h in hits):
                    continue
                found = [h for h in hits if h is not None]
                total += term.weight
                shown = " + ".join(f"'{h[1]}'" for h in found)
                if term.is_alias:
                    reasons.append(f"names the module: {shown}")
                    if term.weight >= STRONG_ALIAS:
                        mentioned = True
                        pos = min(h[0] for h in found)
                        if first_mention is None or pos < first_mention[0]:
                            first_mention = (pos, m.name)
                else:
                    reasons.append(f"{shown} ~ {term.label}")
            if total > 0:
                scored.append((total, order, m.name, reasons, mentioned))
        if not scored:
            return []
        bonus = min(sum(v for k, v in self._context.items() if k in positions), 0.6)
        offtopic = any(_match_at(alt, toks, i) is not None for alt in self._offtopic for i in positions.get(alt[0], ()))
        if first_mention is not None:
            scored = [
                (t + FIRST_MENTION_BONUS if n == first_mention[1] else t, o, n, r, mm) for t, o, n, r, mm in scored
            ]
        scored.sort(key=lambda s: (-s[0], s[1]))
        best, named = scored[0][0], scored[0][4]
        if named:
            if best < ABSTAIN_BELOW:
                return []
        elif offtopic or best + bonus < ABSTAIN_BELOW or self._looks_like_shell(text):
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

    def _split_compound(self, word: str, depth: int = 0) -> tuple[str, ...] | None:
        """Split an unknown compound into known words: trackinglogs -> tracking logs,
        smtpverzendstatistieken -> smtp verzend statistieken (at most three parts)."""
        vocab = self._typos.vocabulary
        if word in vocab or len(word) < 7 or word.isdigit() or depth > 1:
            return None
        for i in range(3, len(word) - 2):
            head, tail = word[:i], word[i:]
            if head in vocab:
                if tail in vocab:
                    return head, tail
                rest = self._split_compound(tail, depth + 1)
                if rest:
                    return (head, *rest)
        return None

    @staticmethod
    def _find(part: _Part, toks: list[str], raw: list[str], positions: dict[str, list[int]]) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for alt in part:
            for start in positions.get(alt[0], ()):
                end = _match_at(alt, toks, start)
                if end is not None:
                    hit = (start, " ".join(raw[start:end]))
                    if best is None or hit[0] < best[0]:
                        best = hit
                    break
        return best

    @staticmethod
    def _looks_like_shell(text: str) -> bool:
        first = words(text.strip().split(" ", 1)[0]) if text.strip() else []
        if first and first[0] in _SHELL_START and first[0] not in ("nlserver",):
            return True
        return bool(_SHELL_META.search(text))
