"""Redaction of the second secret corpus (tests/data/secrets-corpus-fresh.yaml): the forms a Campaign
Classic / Linux host holds, written without reading bot/redact.py's rules. Each case through redact(),
redact_lines(), redact_and_clip() and redact_data(); the survivors unchanged; the whole corpus at once, as
one JSON document and as the report quotes it; and the new forms stay linear on hostile input."""

from __future__ import annotations

import json
import time

import pytest

from bot.redact import redact, redact_and_clip, redact_data, redact_lines
from tests.secrets import FRESH_CORPUS, FRESH_SURVIVORS, Case, assert_no_secret

IDS = [c.id for c in FRESH_CORPUS]


def test_fresh_corpus_is_big_and_every_secret_is_in_its_text() -> None:
    assert len({s for c in FRESH_CORPUS for s in c.secrets}) >= 60 and len(FRESH_SURVIVORS) >= 30
    assert len(IDS) == len(set(IDS))
    for c in FRESH_CORPUS:
        for s in c.secrets:
            assert s in c.text, (c.id, s)
        for k in c.keep:
            assert k in c.text, (c.id, k)


@pytest.mark.parametrize("case", FRESH_CORPUS, ids=IDS)
def test_no_fresh_secret_survives_any_redaction_function(case: Case) -> None:
    out = redact(case.text)
    assert_no_secret(out, [case], where=case.id)
    for k in case.keep:  # the evidence around the secret is still there
        assert k in out, (k, out)
    assert out.count("\n") == case.text.count("\n")
    assert redact(out) == out  # idempotent
    assert_no_secret("\n".join(redact_lines(case.text.split("\n"))), [case], where=f"{case.id} (lines)")
    assert_no_secret(redact_and_clip(case.text, 120), [case], where=f"{case.id} (clipped)")
    assert_no_secret(json.dumps(redact_data({"text": case.text})), [case], where=f"{case.id} (data)")


@pytest.mark.parametrize("text", FRESH_SURVIVORS)
def test_fresh_survivors_are_unchanged_alone_and_in_a_log_line(text: str) -> None:
    assert redact(text) == text
    line = f"2026-12-08T03:14:15.000Z\t2320\t2320\t1\terror\tmta\t{text}"  # not at a line's start
    assert redact(line) == line


def test_the_whole_fresh_corpus_at_once_as_text_json_and_a_quoted_report() -> None:
    everything = "\n".join([*(c.text for c in FRESH_CORPUS), *FRESH_SURVIVORS])
    out = redact(everything)
    assert_no_secret(out, FRESH_CORPUS)
    assert out.count("\n") == everything.count("\n")
    for s in FRESH_SURVIVORS:  # a value hidden once is hidden everywhere: no survivor may be caught by that
        assert s in out, s
    as_json = json.dumps({c.id: c.text for c in FRESH_CORPUS})
    assert_no_secret(redact(as_json), FRESH_CORPUS, where="one JSON document")
    json.loads(redact(as_json))
    quoted = "\n".join("           > " + line for line in everything.split("\n"))
    out = redact(quoted)
    assert_no_secret(out, FRESH_CORPUS, where="the report's quoted lines")
    assert redact(out) == out


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        # a value wrapped to the next line (a terminal at 80 columns, a log that wraps)
        ("X-Api-Key: " + "Ab1" * 20 + "\n" + "Zq9" * 8 + "\nport=5432", "Zq9Zq9Zq9", "port=5432"),
        ("secret=\nWrapped-Value-77\nhost=db1", "Wrapped-Value-77", "host=db1"),
        # ... but a path after a secret that ends its line (a flattened evidence piece) is no part of it
        ("api_key=" + "Ab1" * 8 + " | /usr/local/neolane/nl6/var/prod/redir", "Ab1Ab1", "/usr/local/neolane/nl6"),
        # an empty value before the next assignment, on the same line or the next
        ("password= user=neolane host=db1", None, "password= user=neolane host=db1"),
        ("DB_PASSWORD=\nDB_HOST=pgprod01", None, "DB_PASSWORD=\nDB_HOST=pgprod01"),
        # .pgpass entries, a MAC address and times of day that look like them
        ("localhost:*:*:neolane:Local-Pg-Pw-1", "Local-Pg-Pw-1", "localhost:*:*:neolane:"),
        ("00:1a:2b:3c:4d:5e", None, "00:1a:2b:3c:4d:5e"),
        ("12:30:45:10:20", None, "12:30:45:10:20"),
        # .netrc on several lines; prose about a default password is no entry
        ("machine ftp.corp.invalid\n  login feeds\n  password Ftp-Netrc-Pw9", "Ftp-Netrc-Pw9", "login feeds"),
        ("the default password policy is strict", None, "the default password policy is strict"),
        # crypt(3) hashes keep their scheme
        ("admin:$2y$10$abcdefghijklmnopqrstuuB7cD9eF1gH3iJ5kL7mN9oP1qR3sT5u", "abcdefghijklmnop", "admin:$2y$"),
        # login fields carrying user/password; a path is none
        ("user=app/App-Slash-Pw-4 db=prod", "App-Slash-Pw-4", "user=app/"),
        ("user=/home/neolane", None, "user=/home/neolane"),
        # placeholders and references stay; a value that only starts like one does not
        ("api_token: (none)", None, "api_token: (none)"),
        ("password=$Ecret-9x", "$Ecret-9x", "password="),
        ("password=%DB_PASS%", None, "password=%DB_PASS%"),
    ],
)
def test_new_forms_and_their_look_alikes(text: str, hidden: str | None, kept: str) -> None:
    out = redact(text)
    if hidden is not None:
        assert hidden not in out, out
    else:
        assert out == text
    assert kept in out, out
    assert redact(out) == out


@pytest.mark.parametrize(
    ("text", "hidden", "expected"),
    [
        ("htpasswd -b /etc/httpd/.htpasswd monitoring Htp-Cli-Pw-8", "Htp-Cli-Pw-8", None),
        ("htpasswd -nbB admin Htp-N-Pw-9; echo done", "Htp-N-Pw-9", "htpasswd -nbB admin [REDACTED]; echo done"),
        ("zip -r -P 'Zip Q Pw 1' /tmp/export.zip /data | tee log", "Zip Q Pw 1", None),
        ("unzip -o -P Unzip-Pw-2 /tmp/in.zip -d /data", "Unzip-Pw-2", None),
        ("7za a -pSevenZ-Pw-3 -mhe=on out.7z file", "SevenZ-Pw-3", None),
        # no password on these lines
        ("htpasswd -c /etc/httpd/.htpasswd admin", None, "htpasswd -c /etc/httpd/.htpasswd admin"),
        ("7z a -p out.7z file", None, "7z a -p out.7z file"),
        ("gzip -P x; ls backup.zip -P", None, "gzip -P x; ls backup.zip -P"),
    ],
)
def test_archive_and_htpasswd_command_lines(text: str, hidden: str | None, expected: str | None) -> None:
    out = redact(text)
    if hidden is not None:
        assert hidden not in out, out
    assert out == (expected or out)
    assert redact(out) == out


def test_new_forms_stay_linear_on_hostile_input() -> None:
    hostile = [
        "a" * 100000 + ":",  # a long host field before a .pgpass colon
        ("h" * 50 + ":5432:" + "d" * 50 + ":") * 2000,
        "\tx:1:y:z:" * 12000,
        "machine m login l " * 6000,
        "$6$" + "a" * 100000,
        "token=" + "A" * 20 + ("\n" + "B" * 16) * 6000,
        "login=" + "a" * 100000 + "/",
        "password=\n" * 10000,
        "htpasswd -b " * 10000,
        "zip -P " * 10000,
    ]
    for text in hostile:
        start = time.perf_counter()
        out = redact(text)
        assert time.perf_counter() - start < 3.0, text[:20]
        assert redact(out) == out
