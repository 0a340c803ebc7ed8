"""Pure text helpers shared by the matcher and the module resolver: folding, stems, typos, compounds.

Stemming is Snowball's (the `snowballstemmer` package: the Porter2 English stemmer and the Dutch
Kraaij-Pohlmann stemmer, which also strips the `ge-` of past participles: geklikt -> klik). A word's
*keys* are its English and its Dutch stem, so a question and the knowledge meet whatever the
language of either, and a Dutch question with English words in it ("workflows draaien niet") works.
Edit distances are rapidfuzz's optimal-string-alignment distance (adjacent swaps count as one edit).

A word is only typo-corrected when it is not a common English or Dutch word: "black" is not a typo of
"blank", "iemand" (someone) not of "niemand" (nobody). Which words are common comes from the English
and Dutch word-frequency lists that the `pyspellchecker` package ships (words seen at least once per
million words), read once, the first time a correction is considered.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

_WORD_RE = re.compile(r"[a-z0-9_]+")
# Hyphenated or apostrophe'd words are joined: e-mail -> email, in-mail -> inmail, don't -> dont.
# Error codes keep their parts apart: XSV-350013 -> xsv, 350013.
_JOIN_RE = re.compile(r"(?<=[a-z])['’`-](?=[a-z])")
# Dutch stems keep long vowels doubled in some forms only (ophalen -> ophaal, binnenkomen ->
# binnenkoom, but binnenkom- from "komt ... binnen"); `undouble` lets such forms meet.
_LONG_VOWEL = re.compile(r"([aeou])\1")


def undouble(stem: str) -> str:
    """A Dutch stem with long vowels written single: binnenkoom -> binnenkom."""
    return _LONG_VOWEL.sub(r"\1", stem)


def fold(text: str) -> str:
    """Lower-case, strip accents (geïmporteerd -> geimporteerd), join hyphenated and apostrophe'd words."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _JOIN_RE.sub("", text)


def words(text: str) -> list[str]:
    """Folded words of `text`, split on everything that is not a letter, digit or underscore."""
    return _WORD_RE.findall(fold(text))


_GROUP_RE = re.compile(r"[a-z0-9_]+(?:(?<=[a-z])['’`-](?=[a-z])[a-z0-9_]+)*")
_JOINER_RE = re.compile(r"['’`-]")


def word_groups(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """`words(text)`, each with the pieces it was joined from: MX-quota -> ("mxquota", ("mx", "quota")),
    mail -> ("mail", ("mail",)). Lets a caller fall back to the pieces when the joined word is unknown."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    out: list[tuple[str, tuple[str, ...]]] = []
    for m in _GROUP_RE.finditer(plain):
        pieces = tuple(p for p in _JOINER_RE.split(m.group()) if p)
        out.append(("".join(pieces), pieces))
    return out


# Snowball stemmer objects keep state between calls: one pair per thread.
_local = threading.local()


def _stemmers() -> tuple[snowballstemmer.stemmer, snowballstemmer.stemmer]:
    pair: tuple[snowballstemmer.stemmer, snowballstemmer.stemmer] | None = getattr(_local, "pair", None)
    if pair is None:
        pair = (snowballstemmer.stemmer("english"), snowballstemmer.stemmer("dutch"))
        _local.pair = pair
    return pair


@lru_cache(maxsize=16384)
def stem_en(word: str) -> str:
    """English (Porter2) stem of one folded word: bounces, bounced, bouncing -> bounc."""
    if word.isdigit() or len(word) <= 2:
        return word
    return str(_stemmers()[0].stemWord(word))


@lru_cache(maxsize=16384)
def stem_nl(word: str) -> str:
    """Dutch stem of one folded word: verwerkt, verwerken -> verwerk; geklikt, klikken -> klik."""
    if word.isdigit() or len(word) <= 2:
        return word
    return str(_stemmers()[1].stemWord(word))


# Words whose stems would meet a different word: niets (nothing) is not niet (not), alles is not alle,
# gaten (holes) is not gaat (goes), stats (football stats) is not the module stat, volgende (next) is
# not volgen (to follow, to track), uitvoering (execution: "in uitvoering") is not uitvoer (output, export).
_UNSTEMMED = frozenset(
    {"niets", "alles", "gaten", "stats", "status", "news", "dns", "tls", "ssl", "https", "jsp", "volgende", "volgend"}
    | {"uitvoering", "uitvoeringen"}
)


@lru_cache(maxsize=16384)
def keys(word: str) -> frozenset[str]:
    """Every form a folded word is matched by: its English stem (`e:`) and its Dutch stem (`n:`).

    Stems only meet stems of the same language: the English stem of a Dutch word is noise
    (ontvangers -> ontvang) and must not meet the Dutch stem of another (ontvangen -> ontvang)."""
    if word in _UNSTEMMED:
        return frozenset((word,))
    return frozenset(("e:" + stem_en(word), "n:" + stem_nl(word)))


def damerau(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (edits incl. adjacent swaps), capped at `limit + 1`."""
    d = int(OSA.distance(a, b, score_cutoff=limit))
    return min(d, limit + 1)


def allowed_distance(word: str) -> int:
    """How many edits a typo of this length may have: short words must be (nearly) exact."""
    n = len(word)
    if n < 4:
        return 0
    if n < 8:
        return 1
    return 2


COMMON_PER_MILLION = 1.0  # a word seen this often (per million words) in English or Dutch is a real word
_COMMON_LANGUAGES = ("en", "nl")
# Corrections that would turn a word into its opposite (reachable -> unreachable, unprocessed -> processed).
_NEGATING_PREFIXES = ("un", "non", "in", "im", "dis", "on", "niet")


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Common English and Dutch words of three letters or more, folded (pyspellchecker's frequency lists)."""
    from importlib.resources import files

    out: set[str] = set()
    for lang in _COMMON_LANGUAGES:
        data: dict[str, int] = json.loads(
            gzip.decompress(files("spellchecker").joinpath("resources", f"{lang}.json.gz").read_bytes())
        )
        floor = sum(data.values()) * COMMON_PER_MILLION / 1e6
        out.update(fold(w) for w, n in data.items() if n >= floor and len(w) >= 3 and w.isalpha())
    return frozenset(out)


def is_common_word(word: str) -> bool:
    """Whether `word` (folded) is a common real English or Dutch word, so never anyone's typo."""
    return word in common_words()


def _negates(word: str, cand: str) -> bool:
    return any(cand == p + word or word == p + cand for p in _NEGATING_PREFIXES)


class TypoIndex:
    """Closest known word for a misspelt one (rapidfuzz search over the vocabulary).

    Four-letter words are only corrected by an adjacent swap (mial -> mail), so everyday
    words one letter away from a Campaign word stay what they are; protected words and common
    English or Dutch words (`is_common_word`) are never corrected, nor is a word corrected into its
    opposite (reachable -> unreachable). Ties go to the longer common prefix, then alphabetical order
    (deterministic).
    """

    def __init__(self, vocabulary: Iterable[str], protected: Iterable[str] = ()) -> None:
        self.vocabulary = frozenset(w for w in vocabulary if w)
        self.protected = frozenset(protected)
        self._choices = sorted(w for w in self.vocabulary if len(w) >= 4)
        self._cache: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def correct(self, word: str) -> str | None:
        """The vocabulary word `word` most likely stands for, or None (also for exact or protected words)."""
        hit = self._cache.get(word, "")
        if hit != "":
            return hit
        result = self._lookup(word)
        with self._lock:
            if len(self._cache) < 20000:
                self._cache[word] = result
        return result

    def _lookup(self, word: str) -> str | None:
        if word in self.vocabulary or word in self.protected or word.isdigit():
            return None
        limit = allowed_distance(word)
        if limit == 0:
            return None
        best: tuple[int, int, int, str] | None = None
        for cand, dist, _ in process.extract(word, self._choices, scorer=OSA.distance, score_cutoff=limit, limit=None):
            dist = int(dist)
            if dist > min(limit, allowed_distance(cand) or 1):
                continue
            if len(word) == 4 and not (dist == 1 and sorted(word) == sorted(cand) and len(cand) == 4):
                continue  # four letters: only a swap counts
            if _negates(word, cand):
                continue
            # closest first, then the same length (a swap: statrs -> starts, not stats), then prefix
            key = (dist, abs(len(word) - len(cand)), -_common_prefix(word, cand), cand)
            if best is None or key < best:
                best = key
        if best is None or is_common_word(word):
            return None  # a real word is what it says, never a typo of a domain word (black, blank)
        return best[3]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


# Dutch compounds join their parts directly or with a linking s or e(n):
# verbindingsstatistieken = verbinding + s + statistieken, klikgegevens = klik + gegevens.
_LINKS = ("", "s", "e", "en")


def split_compound(word: str, known: Callable[[str], bool], parts: int = 3) -> tuple[str, ...] | None:
    """Split `word` into at most `parts` pieces that are each `known` (head first, longest head
    first): trackinglogbestanden -> tracking, logbestanden; mxregels -> mx, regels. The last piece
    has at least three letters. None when no split covers the whole word."""
    if parts < 2 or len(word) < 5 or word.isdigit():
        return None
    for i in range(len(word) - 3, 1, -1):
        head, tail = word[:i], word[i:]
        for link in _LINKS:
            if link and not head.endswith(link):
                continue
            base = head[: len(head) - len(link)] if link else head
            if len(base) < 2 or not known(base):
                continue
            if known(tail):
                return base, tail
            rest = split_compound(tail, known, parts - 1)
            if rest:
                return (base, *rest)
    return None


def compound_tail(word: str, known: Callable[[str], bool]) -> tuple[str, str] | None:
    """A Dutch (or English) compound is a kind of its last part: bevestigingsmails are mails,
    opschoonworkflow is a workflow. The longest known last part of at least four letters, after a
    first part of at least three, or None."""
    for i in range(3, len(word) - 3):
        if known(word[i:]):
            return word[:i], word[i:]
    return None
