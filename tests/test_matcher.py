"""The symptom matcher: acceptance thresholds on the blind set, dev/extra/tuning sets, KB self-consistency,
abstention, and the text handling the matcher relies on (compounds, separable verbs, places, pasted code)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.text import keys

DATA = Path(__file__).parent / "data"
# The team's development set (a copy of ../shared/eval/symptoms-dev.jsonl, so a clone runs it too).
DEV = DATA / "symptoms-dev.jsonl"
EXTRA = DATA / "symptoms-extra.jsonl"
TUNING = DATA / "symptoms-tuning.jsonl"
# Written before the matcher was tuned and never tuned on (see docs/benchmarks.md, "How the sets were made").
BLIND = DATA / "symptoms-blind.jsonl"
BLIND2 = DATA / "symptoms-blind2.jsonl"
# The audit's blind set: measured once blind (top-1 98.2 %, NL 98.2 %, abstention 93.9 %), then tuned on.
BLIND3 = DATA / "symptoms-blind3.jsonl"
# Written by someone who never read the bot's code or data, measured blind twice (before and after the
# audits' changes: 95.0 % / NL 96.0 % / abstention 90.0 %, then 95.0 % / 96.0 % / 96.7 %); its misses were
# seen after that, so it is no longer blind (docs/benchmarks.md).
BLIND4 = DATA / "symptoms-blind4.jsonl"
# Written on 2026-12-08 by a helper that never opened the bot's code, data or the other sets (140
# questions, 55 Dutch; sha256 e02f7320...fecf recorded before scoring) and scored black-box once:
# top-1 89.1 %, EN 94.5 %, NL 83.6 %, top-3 93.6 %, abstention 83.3 %: below issue 9's targets. Three
# kinds of its misses were then taken up as general rules (uitvoer, connections per MX, Adobe's "the
# server's files show no trace of them" for trackinglogd), so it is no longer blind; this test keeps
# what it measures now from regressing (docs/benchmarks.md).
BLIND5 = DATA / "symptoms-blind5.jsonl"


def evaluate(matcher: Matcher, path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    on = [r for r in rows if r["expect_top1_in"]]
    off = [r for r in rows if not r["expect_top1_in"]]
    top1 = top3 = 0
    per_lang: dict[str, list[int]] = {}
    for r in on:
        names = [m.module for m in matcher.match(r["text"])]
        hit = bool(names) and names[0] in r["expect_top1_in"]
        top1 += hit
        top3 += all(x in names[:3] for x in r["expect_in_top3"])
        per_lang.setdefault(r["lang"], []).append(hit)
    abstain = sum(not matcher.match(r["text"]) for r in off)
    out = {"top1": top1 / len(on), "top3": top3 / len(on), "abstain": abstain / len(off) if off else 1.0}
    for lang, hits in per_lang.items():
        out[f"top1_{lang}"] = sum(hits) / len(hits)
    return out


@pytest.mark.parametrize(
    "path",
    [DEV, EXTRA, TUNING, BLIND3, BLIND4],
    ids=["dev-set", "extra-set", "tuning-set", "audit-set (tuned on)", "blind-set-4 (seen once)"],
)
def test_targets(matcher: Matcher, path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not present")
    r = evaluate(matcher, path)
    assert r["top1"] >= 0.90, r
    assert r["top3"] >= 0.95, r
    assert r["abstain"] >= 0.90, r
    assert r["top1_en"] >= 0.85 and r["top1_nl"] >= 0.85, r


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_blind_set_meets_the_acceptance_thresholds(matcher: Matcher) -> None:
    """Issue 9: top-1 >= 95 % overall and >= 92 % in Dutch, off-topic abstention >= 95 %.
    Only aggregate figures are reported: the blind set is not to be tuned on question by question."""
    rows = _rows(BLIND)
    assert len(rows) >= 100 and sum(r["lang"] == "nl" for r in rows) >= 40
    assert sum(not r["expect_top1_in"] for r in rows) >= 20
    r = evaluate(matcher, BLIND)
    assert r["top1"] >= 0.95 and r["top1_nl"] >= 0.92 and r["abstain"] >= 0.95, r


def test_blind_set_2_top1_meets_the_acceptance_thresholds(matcher: Matcher) -> None:
    """The second blind set (written after the first was measured): top-1 >= 95 %, Dutch >= 92 %."""
    rows = _rows(BLIND2)
    assert len(rows) >= 80 and sum(not r["expect_top1_in"] for r in rows) >= 20
    r = evaluate(matcher, BLIND2)
    assert r["top1"] >= 0.95 and r["top1_nl"] >= 0.92, r


def test_blind_set_2_abstention_meets_the_acceptance_threshold(matcher: Matcher) -> None:
    r = evaluate(matcher, BLIND2)
    assert r["abstain"] >= 0.95, r


def test_blind_set_2_abstention_does_not_regress(matcher: Matcher) -> None:
    r = evaluate(matcher, BLIND2)
    assert r["abstain"] >= 0.90, r


def test_blind_set_5_does_not_regress(matcher: Matcher) -> None:
    """Blind set 5 misses the targets (see BLIND5): its figures now are a floor, not a goal reached."""
    rows = _rows(BLIND5)
    assert len(rows) == 140 and sum(r["lang"] == "nl" for r in rows) >= 60
    r = evaluate(matcher, BLIND5)
    assert r["top1"] >= 0.936 and r["top1_nl"] >= 0.909 and r["top1_en"] >= 0.963, r
    assert r["top3"] >= 0.95 and r["abstain"] >= 0.83, r


def test_documented_symptoms_point_to_their_module(kb: KnowledgeBase, matcher: Matcher) -> None:
    """Each module's own symptom sentences (EN and NL) find it in the top 3: the knowledge is coherent."""
    misses = []
    for m in kb.modules:
        for s in (*m.symptoms.en, *m.symptoms.nl):
            names = [x.module for x in matcher.match(s)][:3]
            if m.name not in names:
                misses.append((m.name, s, names))
    assert len(misses) <= 2, misses


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("mial not sendng", "mta"),
        ("MAIL NOT SENDING!!!", "mta"),
        ("wokflow stuck", "wfserver"),
        ("is inMail healthy on prod?", "inMail"),
        ("check the waakhond", "watchdog"),
        ("stat server not reachable from the mta", "stat"),
        ("bounces worden niet verwerkt", "inMail"),
    ],
)
def test_typos_case_and_names(matcher: Matcher, text: str, first: str) -> None:
    assert matcher.match(text)[0].module == first


@pytest.mark.parametrize(
    ("text", "together"),
    [("mail not sending", {"mta", "stat"}), ("tracking logs missing", {"tracking", "trackinglogd"})],
)
def test_modules_that_belong_together(matcher: Matcher, text: str, together: set[str]) -> None:
    assert together <= {m.module for m in matcher.match(text)[:3]}


@pytest.mark.parametrize(
    "text",
    [
        "good morning team",
        "thanks!",
        "lunch?",
        "ls -la /var/log",
        "sudo reboot",
        "",
        "   ",
        "?!",
        "my outlook is not sending emails",
        "import os, sys",
        "x" * 5000,
    ],
)
def test_abstains_off_topic(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == []


def test_scores_reasons_and_determinism(matcher: Matcher) -> None:
    a = matcher.match("emails are not being sent on prod")
    b = matcher.match("emails are not being sent on prod")
    assert a == b and a
    assert all(0 <= m.score <= 1 for m in a)
    assert [m.score for m in a] == sorted((m.score for m in a), reverse=True)
    assert all(m.reasons for m in a)
    assert any("'emails'" in r for r in a[0].reasons)


def test_naming_a_module_counts_most(matcher: Matcher) -> None:
    m = matcher.match("is inMail healthy?")
    assert m[0].module == "inMail" and m[0].mentioned


@pytest.mark.parametrize("text", ["prod", "productie", "staging", "on prd", "acceptatie?", "check prod"])
def test_environment_words_never_pull_a_module(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == []


def test_environment_words_do_not_change_the_answer(matcher: Matcher) -> None:
    plain = [m.module for m in matcher.match("mails worden niet verstuurd")]
    for env in ("op productie", "on staging", "in prd", "acc"):
        assert [m.module for m in matcher.match(f"mails worden niet verstuurd {env}")] == plain


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("de klikken komen niet binnen", "tracking"),  # separable verb: binnenkomen
        ("er zijn geen doorkliks geregistreerd", "tracking"),  # compound with a particle
        ("trackinglogbestanden ontbreken op de server", "trackinglogd"),  # compound, no space
        ("de MX-regels zijn niet geladen", "stat"),  # hyphenated word read as its pieces
        ("quotas met for gmail.com, sending slow", "stat"),  # a mail domain is not someone's Gmail
    ],
)
def test_dutch_morphology_compounds_and_domains(matcher: Matcher, text: str, first: str) -> None:
    got = matcher.match(text)
    assert got and got[0].module in ({first} | ({"mta"} if first == "stat" else set())), got


@pytest.mark.parametrize(
    ("text", "verb", "joined"),
    [("ze halen de bounces niet op", "halen", "ophalen"), ("de instantie start vandaag niet op", "start", "opstarten")],
)
def test_separable_verbs_are_read_joined(matcher: Matcher, text: str, verb: str, joined: str) -> None:
    toks, _ = matcher.tokens(text)
    tok = next(t for t in toks if t.word == verb)
    assert keys(joined) & tok.keys and " ... " in tok.raw


def test_a_name_inside_a_longer_name_does_not_count(matcher: Matcher) -> None:
    got = matcher.match("the tracking log writer is not running")
    assert got[0].module == "trackinglogd" and got[0].mentioned
    assert not any(m.module == "syslogd" and m.mentioned for m in got)  # "log writer" is syslogd's alias


def test_a_module_named_as_a_place_is_not_the_subject(matcher: Matcher) -> None:
    got = matcher.match("nothing is running on the app server")
    assert got[0].module == "watchdog" and not got[0].mentioned


@pytest.mark.parametrize(
    "text",
    ["export PATH=$PATH:/opt/bin", "import pandas as pd", "from os import path", "echo $HOME", "git log shows nothing"],
)
def test_pasted_code_is_not_a_question(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == []


@pytest.mark.parametrize(("text", "first"), [("export", "export"), ("exports", "export"), ("bounces?", "inMail")])
def test_terse_questions(matcher: Matcher, text: str, first: str) -> None:
    assert matcher.match(text)[0].module == first


def test_thread_safe_and_deterministic(kb: KnowledgeBase) -> None:
    """One matcher shared by worker threads gives every thread the answer a fresh matcher gives."""
    texts = [json.loads(x)["text"] for x in TUNING.read_text().splitlines() if x.strip()][:120]
    fresh = Matcher(kb)
    expected = [fresh.match(t) for t in texts]
    shared = Matcher(kb)
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(shared.match, texts * 3))
    assert got == expected * 3


# --- after the audit of issue 9 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Session has expired or is invalid when opening the client console", "web"),
        ("sessie verlopen of ongeldig bij openen van de console", "web"),
        ("the console does not open", "web"),
        ("emails are opened but the opens are not counted", "tracking"),
        ("geen openingen meer geregistreerd sinds gisteren", "tracking"),
        ("opens aren't being counted", "tracking"),
    ],
)
def test_opening_is_tracking_only_with_a_mail_a_count_or_data(matcher: Matcher, text: str, first: str) -> None:
    got = matcher.match(text)
    assert got and got[0].module == first, got
    if first == "web":
        assert all(m.module != "tracking" for m in got)


@pytest.mark.parametrize(
    "text", ["open the door please", "the file does not open", "open a ticket for the network team"]
)
def test_opening_something_else_is_not_tracking(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == []


def test_ties_go_to_the_more_specific_evidence_never_to_the_module_order(kb: KnowledgeBase) -> None:
    """Equal evidence: the longer concept combination wins, and no answer depends on the order of the
    modules (the first alphabetically used to win)."""
    shuffled = Matcher(kb.model_copy(update={"modules": tuple(reversed(kb.modules))}))
    plain = Matcher(kb)
    got = plain.match("mail bounce quota")  # stat: quota for mail (two concepts); inMail: bounce (one)
    assert got[0].module == "stat" and got[0].evidence == got[1].evidence
    texts = [r["text"] for p in (DEV, EXTRA, TUNING, BLIND3) for r in _rows(p)]
    texts += ["stuck clicks console", "sent stuck mailbox", "mail clicks slow", "mail workflow slow"]
    differ = [t for t in texts if plain.match(t)[:1] != shuffled.match(t)[:1]]
    assert not differ, differ


@pytest.mark.parametrize(
    "text",
    [
        "the approval workflow in SAP is stuck",
        "our HR workflow for onboarding is stuck",
        "the expense approval workflow in Concur hangs",
        "import photos from my camera",
        "the finance import of bank statements failed",
        "de import van bankafschriften is mislukt",
        "console.log prints nothing in my javascript",
        "document.getElementById returns null",
        "open the door please",
        "write a subject line for our Black Friday campaign",
        "can you draft an email to the customer about the delay",
        "schrijf een tekst voor de nieuwsbrief",
        "the timesheet import failed again",
    ],
)
def test_campaign_nouns_of_another_system_or_object_are_off_topic(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == [], matcher.match(text)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("import from SAP into Campaign failed", "import"),
        ("import from Salesforce failed in Adobe Campaign", "import"),
        ("nlserver import fails for the SAP file", "import"),
        ("the Black Friday newsletter did not go out", "mta"),
        ("the mta stopped sending the Workday notifications", "mta"),
        ("our campaign workflow is stuck", "wfserver"),
    ],
)
def test_campaign_questions_that_mention_other_systems_stay_on_topic(matcher: Matcher, text: str, first: str) -> None:
    got = matcher.match(text)
    assert got and got[0].module == first, got


@pytest.mark.parametrize(
    ("short", "longer"),
    [
        ("mails stuck", "mails stuck since midnight"),
        ("mails stuck", "mails stuck again tonight"),
        ("mail hangt", "mail hangt weer"),
        ("mail hangt", "mail blijft hangen"),
        ("mails hangen", "mails blijven hangen op prod"),
        ("nieuwsbrief hangt", "de nieuwsbrief blijft hangen"),
        ("kliks ontbreken", "kliks ontbreken sinds gisteren"),
        ("bounces stuck", "bounces stuck since friday"),
        ("export stuck", "export stuck again tonight"),
        ("proefzending komt niet aan", "de proefzending komt sinds vanochtend niet meer aan"),
        ("verzending loopt vast", "de verzending loopt steeds vast op app2"),
    ],
)
def test_filler_words_do_not_raise_the_bar(matcher: Matcher, short: str, longer: str) -> None:
    """Time phrases, "weer", "blijft", numbers, host and environment names say when or where, not what:
    a symptom the matcher gets stays the same symptom with them."""
    a, b = matcher.match(short), matcher.match(longer)
    assert a, short
    assert b and b[0].module == a[0].module, (longer, b)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("de mails blijven al uren hangen", "mta"),
        ("de verzending liep vast", "mta"),
        ("de mails lopen vast in de wachtrij", "mta"),
        ("de proefzending kwam niet aan", "mta"),
        ("proefmails komen niet aan", "mta"),
        ("de workflow blijft hangen", "wfserver"),
        ("de workflows lopen vast", "wfserver"),
    ],
)
def test_dutch_forms_of_hangen_vastlopen_and_aankomen(matcher: Matcher, text: str, first: str) -> None:
    got = matcher.match(text)
    assert got and got[0].module == first, got


@pytest.mark.parametrize(
    "text", ["the black screen", "black friday mail not sending", "iemand een idee waarom mail niet verstuurd wordt?"]
)
def test_real_words_are_read_as_written(matcher: Matcher, text: str) -> None:
    _, notes = matcher.tokens(text)
    assert not notes, notes  # nothing "read as" something else


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("gaps in the mta log", "syslogd"),  # Adobe's table: entries missing from the log files -> syslogd
        ("inMail.log is empty", "syslogd"),
        ("het wfserver logbestand blijft leeg", "syslogd"),
        ("errors in mta.log", "mta"),  # the module's own errors stay the module's
        ("show the mta log", "mta"),  # so does asking for its log
        ("show the mta log (0)", "mta"),
        ("the wfserver log is full of errors", "wfserver"),
    ],
)
def test_a_module_named_as_its_logs_name_is_not_the_subject(matcher: Matcher, question: str, first: str) -> None:
    names = [m.module for m in matcher.match(question)]
    assert names and names[0] == first, (question, names)


@pytest.mark.parametrize(
    ("text", "module"),
    [
        ("nlserver pdump says `No tasks`", "watchdog"),
        ("workflow stuck since 2am | cleanup failed", "wfserver"),
        ("mail not sending; help", "mta"),
        ("mail not sending; rm -rf / && echo pwned", "mta"),
    ],
)
def test_a_question_quoting_a_command_or_with_a_separator_is_still_answered(
    matcher: Matcher, text: str, module: str
) -> None:
    ms = matcher.match(text)
    assert ms and ms[0].module == module, ms


@pytest.mark.parametrize(
    "text",
    [
        "cat /etc/hosts | grep app",
        "ps aux | grep java",
        "`ls -la`",
        "export PATH=$PATH:/opt",
        "how do I pipe grep | sort",
    ],
)
def test_a_command_line_in_parts_or_in_backticks_is_still_code(matcher: Matcher, text: str) -> None:
    assert matcher.match(text) == []
