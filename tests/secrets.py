"""The secret corpus (tests/data/secrets-corpus.yaml) and helpers to plant it and to prove it never leaks.

For end-to-end tests: `plant(path)` writes corpus texts into a file on a (simulated) host, in the shape a
Campaign module log has; then every sink (Slack blocks, uploaded files, the audit log, the bot's own logs,
CLI output) is passed to `assert_no_secret`. A leak is a whole secret, or any `FRAGMENT`-character piece of
a longer one (so a half-redacted secret counts), found in the sink's text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import yaml

CORPUS_FILE = Path(__file__).parent / "data" / "secrets-corpus.yaml"
FRAGMENT = 12  # a piece this long of a secret, found anywhere, is a leak


@dataclass(frozen=True)
class Case:
    """One text with secrets in it. `kind`: where such text comes from (log, config, http, pem, ...)."""

    id: str
    kind: str
    text: str
    secrets: tuple[str, ...]
    keep: tuple[str, ...] = ()

    @property
    def lines(self) -> int:
        return self.text.count("\n") + 1


def load_corpus(path: Path = CORPUS_FILE) -> tuple[tuple[Case, ...], tuple[str, ...]]:
    """The cases and the survivors of a corpus file (the shape of secrets-corpus.yaml)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = tuple(
        Case(c["id"], c["kind"], c["text"], tuple(c["secrets"]), tuple(c.get("keep", ()))) for c in doc["cases"]
    )
    return cases, tuple(doc["survivors"])


CORPUS, SURVIVORS = load_corpus()
# A second corpus, written without reading bot/redact.py's rules (Campaign and Linux host forms).
FRESH_CORPUS_FILE = CORPUS_FILE.with_name("secrets-corpus-fresh.yaml")
FRESH_CORPUS, FRESH_SURVIVORS = load_corpus(FRESH_CORPUS_FILE)
SECRETS: tuple[str, ...] = tuple(dict.fromkeys(s for c in CORPUS for s in c.secrets))


def _pieces(secret: str) -> Iterable[str]:
    if len(secret) <= FRAGMENT + 4:
        yield secret
        return
    for i in range(0, len(secret) - FRAGMENT + 1):
        yield secret[i : i + FRAGMENT]


def leaks(text: str, cases: Iterable[Case] = CORPUS) -> list[str]:
    """The corpus secrets (whole or in part) that occur in `text`; JSON-escaped, URL-encoded and Slack
    mrkdwn-escaped forms are looked for too."""
    found = []
    haystacks = (text, text.replace("\\n", "\n").replace('\\"', '"'))
    for case in cases:
        for secret in case.secrets:
            forms = {
                secret,
                json.dumps(secret)[1:-1],
                quote(secret, safe=""),
                quote_plus(secret, safe=""),
                secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            }
            if any(p in h for h in haystacks for f in forms for p in _pieces(f)):
                found.append(f"{case.id}: {secret[:24]}...")
    return found


def assert_no_secret(text: str, cases: Iterable[Case] = CORPUS, where: str = "output") -> None:
    """Fail with the list of leaked secrets (by case id) when any corpus secret survives in `text`."""
    found = leaks(text, cases)
    assert not found, f"{len(found)} secret(s) leaked into {where}: {found}"


def find_case(case_id: str) -> Case:
    return next(c for c in CORPUS if c.id == case_id)


def batches(cases: Sequence[Case] = CORPUS, max_lines: int = 20) -> list[tuple[Case, ...]]:
    """The cases in groups of at most `max_lines` lines each (a log check shows a log's last 20 lines)."""
    out: list[tuple[Case, ...]] = []
    cur: list[Case] = []
    n = 0
    for c in cases:
        if cur and n + c.lines > max_lines:
            out.append(tuple(cur))
            cur, n = [], 0
        cur.append(c)
        n += c.lines
    if cur:
        out.append(tuple(cur))
    return out


_DATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z", re.M)


def as_log_lines(case: Case, when: datetime, pid: int = 4242, level: str = "error") -> str:
    """The case's text as a Campaign module log writes it: text that is not already a dated log line gets a
    dated first line (`<time>\\t<pid>\\t<tid>\\t1\\t<level>\\tlog\\t...`); further lines are continuation
    lines, as a stack trace or a dumped config appears in a log."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if _DATED.match(case.text):  # already Campaign log lines: only their dates change
        return _DATED.sub(stamp, case.text)
    first, *rest = case.text.split("\n")
    return "\n".join([f"{stamp}\t{pid}\t{pid}\t1\t{level}\tlog\t{first}", *rest])


def plant(
    path: Path,
    cases: Iterable[Case] = CORPUS,
    *,
    now: datetime | None = None,
    minutes_ago: int = 5,
    level: str = "error",
    raw: bool = False,
) -> tuple[Case, ...]:
    """Append `cases` to the file at `path` (created with its parents) and return them.

    By default each case is written as Campaign log lines dated `minutes_ago` before `now` (so a log check
    reads them as recent `level` lines; the corpus' own log lines are re-dated the same way); `raw=True`
    writes the texts as they are (a config file, a health page body).
    """
    planted = tuple(cases)
    when = (now or datetime.now(timezone.utc)) - timedelta(minutes=minutes_ago)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(c.text if raw else as_log_lines(c, when, level=level) for c in planted)
    with path.open("a", encoding="utf-8") as f:
        f.write(body + "\n")
    return planted


def corpus_json() -> str:
    """Every case text in one JSON document (for sinks that take structured data)."""
    data: dict[str, Any] = {c.id: c.text for c in CORPUS}
    return json.dumps(data)
