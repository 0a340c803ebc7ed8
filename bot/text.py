"""Pure text helpers shared by the matcher and the module resolver: tokens, stems, typo distance."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_WORD_RE = re.compile(r"[a-z0-9_]+")
# Hyphenated or apostrophe'd words are joined: e-mail -> email, in-mail -> inmail, don't -> dont.
# Error codes keep their parts apart: XSV-350013 -> xsv, 350013.
_JOIN_RE = re.compile(r"(?<=[a-z])['’`-](?=[a-z])")


def fold(text: str) -> str:
    """Lower-case, strip accents (geïmporteerd -> geimporteerd), join hyphenated and apostrophe'd words."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _JOIN_RE.sub("", text)


def words(text: str) -> list[str]:
    """Folded words of `text`, split on everything that is not a letter, digit or underscore."""
    return _WORD_RE.findall(fold(text))


_KEEP = frozenset({"stats", "status", "news", "process", "dns", "tls", "ssl", "https", "jsp", "yes", "niets", "alles"})


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A light English stemmer, applied identically to the question and to the knowledge.

    It only folds the plural and verb endings operators type (mails, sending, bounced, logging);
    the lexicon lists Dutch and irregular forms explicitly.
    """
    w = word
    if w in _KEEP or w.isdigit() or len(w) <= 3:
        return w
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    stripped = False
    if len(w) > 5 and w.endswith("ing"):
        w, stripped = w[:-3], True
    elif len(w) > 4 and w.endswith("ed"):
        w, stripped = w[:-2], True
    elif len(w) > 4 and w.endswith("es") and w[-3] in "sxh":
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if stripped and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # logging -> log, stopped -> stop, running -> run
    if len(w) > 5 and w.endswith("e"):
        w = w[:-1]  # bounce/bounced/bounces -> bounc
    return w


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


def damerau(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (edits incl. adjacent swaps); returns > limit early."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        best = cur[0]
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[lb]


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        nxt = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        out |= nxt
        frontier = nxt
    return out


def allowed_distance(word: str) -> int:
    """How many edits a typo of this length may have: short words must be (nearly) exact."""
    n = len(word)
    if n < 4:
        return 0
    if n < 8:
        return 1
    return 2


class TypoIndex:
    """Symmetric-delete index over a vocabulary: `correct(word)` finds the closest known word.

    Four-letter words are only corrected by an adjacent swap (mial -> mail), so everyday
    words one letter away from a Campaign word stay what they are.
    """

    def __init__(self, vocabulary: Iterable[str], protected: Iterable[str] = ()) -> None:
        self.vocabulary = frozenset(w for w in vocabulary if w)
        self.protected = frozenset(protected)
        self._index: dict[str, set[str]] = {}
        for w in self.vocabulary:
            for d in _deletes(w, min(2, allowed_distance(w) or 1)):
                self._index.setdefault(d, set()).add(w)
        self._cache: dict[str, str | None] = {}

    def correct(self, word: str) -> str | None:
        """The vocabulary word `word` most likely stands for, or None (also for exact or protected words)."""
        if word in self._cache:
            return self._cache[word]
        result = self._lookup(word)
        if len(self._cache) < 20000:
            self._cache[word] = result
        return result

    def _lookup(self, word: str) -> str | None:
        if word in self.vocabulary or word in self.protected or word.isdigit():
            return None
        limit = allowed_distance(word)
        if limit == 0:
            return None
        candidates: set[str] = set()
        for d in _deletes(word, limit):
            candidates |= self._index.get(d, set())
        best: tuple[int, int, str] | None = None
        for cand in candidates:
            dist = damerau(word, cand, limit)
            if dist > min(limit, allowed_distance(cand) or 1):
                continue
            if len(word) == 4 and not (dist == 1 and sorted(word) == sorted(cand) and len(cand) == 4):
                continue  # four letters: only a swap counts
            key = (dist, -_common_prefix(word, cand), cand)
            if best is None or key < best:
                best = key
        return best[2] if best else None


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
