"""Truncation on structure (bot.render.slack.truncate, esc, code, join_lines), property-style over random
inputs: whatever is cut, the result fits its limit, splits no entity, link, emoji code or backtick run, and
leaves no code fence or code span open; what is kept is the start of the text."""

from __future__ import annotations

import html
import random
import re

import pytest
from slack_sdk.models.blocks import Block

from bot.models import Diagnosis, Finding
from bot.render import slack as R

PIECES = [
    "<instance>",
    "<nl_home>",
    "a&b",
    "x>y",
    ":white_check_mark:",
    ":warning:",
    "`nlserver pdump`",
    "```tail -n 200 log```",
    "word",
    "longwordwithoutspaces" * 3,
    "é",
    "e\u0301",
    "👍🏽",
    "👨\u200d💻",
    " ",
    " ",
    " ",
    "\n",
    "&amp;",
]
EMOJI = (":white_check_mark:", ":warning:")


def _balanced(text: str) -> bool:
    return R._open_marks(text) == (False, False)


def _emoji_cut(raw: str, at: int) -> bool:
    """Whether position `at` of the raw text falls inside one of its emoji codes."""
    return any(m.start() < at < m.end() for e in EMOJI for m in re.finditer(re.escape(e), raw))


def _check_raw_cut(raw: str, out: str, limit: int) -> None:
    assert len(out) <= limit, (limit, len(out))
    assert not re.search(r"&(?!amp;|lt;|gt;)", out), out[-80:]
    assert "<" not in out and ">" not in out  # every < and > of the raw text is escaped
    if len(R.escape(raw)) <= limit:
        assert out == R.escape(raw)
        return
    assert "…" in out and _balanced(out), out[-80:]
    kept = html.unescape(out[: out.rindex("…")])
    assert raw.startswith(kept)
    assert not _emoji_cut(raw, len(kept)), out[-80:]
    after = raw[len(kept) : len(kept) + 1]
    assert not re.fullmatch(r"[\u0300-\u036f\u200d\ufe0f\U0001f3fb-\U0001f3ff]", after), "half a grapheme"
    assert not kept.endswith("\u200d")


@pytest.mark.parametrize("seed", range(8))
def test_esc_cuts_on_structure_for_random_texts(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(400):
        raw = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 300)))
        limit = rnd.randint(8, 700)
        _check_raw_cut(raw, R.esc(raw, limit), limit)
        fb = R.fallback(raw * 12)
        _check_raw_cut(raw * 12, fb, R.MAX_FALLBACK)


@pytest.mark.parametrize("seed", range(4))
def test_code_blocks_stay_one_block(seed: int) -> None:
    rnd = random.Random(100 + seed)
    for _ in range(300):
        raw = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 300)))
        limit = rnd.randint(8, 1500)
        out = R.code(raw, limit)
        assert out.startswith("```") and out.endswith("```") and out.count("```") == 2, out[-60:]
        assert len(out) <= limit + 6 and not re.search(r"&(?!amp;|lt;|gt;)", out)


@pytest.mark.parametrize("seed", range(4))
def test_sections_of_many_lines_close_what_they_open(seed: int) -> None:
    rnd = random.Random(200 + seed)
    for _ in range(120):
        lines = []
        for _ in range(rnd.randint(1, 80)):
            raw = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 60))).replace("\n", " ")
            line = R.esc(raw, rnd.randint(10, 400))
            if _balanced(line):  # the precondition: lines that close what they open
                lines.append(line)
        if rnd.random() < 0.5:  # a multi-line code block in the middle, as action outputs have
            at = rnd.randint(0, len(lines))
            lines[at:at] = [
                "```first line",
                *(f"output line {i} &amp; more" for i in range(rnd.randint(1, 200))),
                "```",
            ]
        block = R.section("\n".join(lines))
        text = block["text"]["text"]
        assert len(text) <= R.MAX_SECTION and _balanced(text), text[-120:]
        assert not re.search(r"&(?!amp;|lt;|gt;)", text)
        Block.parse(block).validate_json()  # type: ignore[union-attr]


def test_an_overlong_escaped_line_is_cut_outside_entities_and_links() -> None:
    line = ("see <https://experienceleague.adobe.com/docs/x.html|the docs> &amp; `a code span` " * 80).strip()
    out = R.join_lines([line])
    assert len(out) <= R.MAX_SECTION and _balanced(out)
    assert out.count("<") == out.count(">") and not re.search(r"&(?!amp;|lt;|gt;)", out)


def test_a_long_summary_cut_inside_its_code_span_closes_it() -> None:
    cmd = "nlserver javascript -instance:prod -file /usr/local/neolane/nl6/" + "very_long_script_name_" * 30 + ".js"
    summary = f"1 core file(s) on app2; newest core.3120, from `{cmd}`: a module crashed, and the watchdog restarted it"
    f = Finding(host="app2", check="cores", subject="app2", status="warn", summary=summary, module=None, instance=None)
    line = R.finding_lines(f)[0]
    assert _balanced(line) and line.endswith("…`"), line[-40:]


def test_a_long_action_output_keeps_its_fence_closed() -> None:
    out = "\n".join(f"12:17:{i:02d} >   Running task 'mta@prod' <step {i}> & more output text here" for i in range(90))
    blocks, _ = R.action_blocks(
        "failed", "nlserver start mta@prod " + "-x " * 120, "app2", "UOPS", out, 1200, "x " * 300
    )
    text = blocks[0]["text"]["text"]
    assert len(text) <= R.MAX_SECTION and _balanced(text)
    Block.parse(blocks[0]).validate_json()  # type: ignore[union-attr]


def test_result_blocks_stay_valid_with_long_texts(kb) -> None:  # type: ignore[no-untyped-def]
    findings = [
        Finding(
            host=f"h{i}",
            check="log",
            subject="mta@prod",
            module="mta",
            instance="prod",
            status="fail",
            summary="error `" + "x" * 900 + "` :white_check_mark: " * 3,
            evidence=("`quoted` " * 100,),
        )
        for i in range(5)
    ]
    d = Diagnosis(
        question="mail not sending",
        environment="prod",
        simulated=False,
        modules=("mta",),
        hosts=tuple(f.host for f in findings),
        findings=tuple(findings),
        status="fail",
        verdict="mta fails: " + "`a span` " * 400,
        duration_ms=10,
    )
    blocks, text = R.result_blocks(d, kb)
    for b in blocks:
        Block.parse(b).validate_json()  # type: ignore[union-attr]
        for t in [b.get("text", {}).get("text", "")] + [e.get("text", "") for e in b.get("elements", [])]:
            assert _balanced(t), t[-80:]
    assert _balanced(text)
