"""The conversation issue's table, end to end through `campaign-bot serve` and a fake Slack API:
the same answers as the terminal chat (tests/terminal), rendered as Block Kit."""

from __future__ import annotations

import json
import time

import pytest

from tests.slack.conftest import Bot
from tests.slack.test_e2e import final_update, mention, texts_of


def thread_texts(bot: Bot, ts: str) -> str:
    posted = {c.result.get("ts") for c in bot.fake.of("chat.postMessage") if c.params.get("thread_ts") == ts}
    parts = texts_of(bot, "chat.postMessage", thread_ts=ts)
    parts += [
        json.dumps(c.params.get("blocks", "")) for c in bot.fake.of("chat.update") if c.params.get("ts") in posted
    ]
    return "\n".join(parts)


def wait_thread(bot: Bot, ts: str, needle: str) -> str:
    assert bot.fake.wait_for(lambda: needle in thread_texts(bot, ts), timeout=30), thread_texts(bot, ts)[-2000:]
    return thread_texts(bot, ts)


def test_vague_question_sweeps_and_names_what_is_down(bot: Bot) -> None:
    ts, _ = mention(bot, "is everything ok on prod?")
    final = final_update(bot, ts, ":books:")
    assert "mta@prod" in final and "good2" in final and "good1" in final


def test_host_question_checks_that_host(bot: Bot) -> None:
    ts, _ = mention(bot, "why is good2 red")
    final = final_update(bot, ts, ":books:")
    assert "1 host" in final and "good2" in final and "*good1*" not in final


def test_environment_alias_from_another_channel(bot: Bot) -> None:
    ts, _ = mention(bot, "mail not sending in production", channel="CELSE")
    final = final_update(bot, ts, ":books:")
    assert "mta" in final


def test_unknown_environment_and_instance_are_refused(bot: Bot) -> None:
    ts, _ = mention(bot, "mail not sending on staging")
    text = wait_thread(bot, ts, "unknown environment")
    assert "known: locked, prod" in text
    ts2, _ = mention(bot, "mta@staging")
    assert "known: prod" in wait_thread(bot, ts2, "unknown instance")


def test_single_word_and_slack_link(bot: Bot) -> None:
    ts, _ = mention(bot, "exports")
    assert "export" in final_update(bot, ts, ":books:")
    ts2, _ = mention(bot, "mail not sending <https://status.example.com/incidents/1|status>")
    assert "mta" in final_update(bot, ts2, ":books:")


def test_is_mta_running_gets_a_direct_answer(bot: Bot) -> None:
    ts, _ = mention(bot, "is mta running on prod?")
    final = final_update(bot, ts, ":speech_balloon:")
    assert "mta@prod runs on good1" in final and "mta@prod is NOT running on good2" in final


def test_placeholders_are_escaped_in_mrkdwn(bot: Bot) -> None:
    status, body, _ = bot.command("mta")
    assert status == 200
    card = json.loads(body)
    text = json.dumps(card["blocks"])
    assert "&lt;instance&gt;" in text and "<instance>" not in text


def test_run_checks_where_the_bot_is_not_a_member_answers_through_response_url(bot: Bot) -> None:
    bot.fake.absent_channels.add("CNOTIN")
    before = len(bot.fake.responses)
    status, _, _ = bot.action(
        "run_checks", json.dumps({"module": "stat", "instance": "prod", "env": "prod"}), user="UALICE", channel="CNOTIN"
    )
    assert status == 200
    assert bot.fake.wait_for(
        lambda: any("stat" in json.dumps(r) and "Environment" in json.dumps(r) for r in bot.fake.responses[before:]),
        timeout=30,
    )


def test_ephemeral_errors_do_not_echo_button_values(bot: Bot) -> None:
    before = len(bot.fake.of("chat.postMessage")) + len(bot.fake.of("chat.postEphemeral"))
    bot.action("run_checks", json.dumps({"module": "<script>mta", "env": "prod`$(id)`"}), user="UALICE")
    bot.action("act:forged", "forged-<value>", user="UOPS", thread_ts="1700000000.000001")
    assert bot.fake.wait_for(
        lambda: len(bot.fake.of("chat.postEphemeral")) + len(bot.fake.of("chat.postMessage")) >= before + 2
    )
    sent = json.dumps([c.params for c in bot.fake.calls if c.method in ("chat.postEphemeral", "chat.postMessage")])
    assert "$(id)" not in sent and "<script>" not in sent and "forged-<value>" not in sent


def test_an_acknowledgement_gets_a_short_reply_and_a_tick_and_runs_nothing(bot: Bot) -> None:
    ts, _ = mention(bot, "ok thanks")
    text = wait_thread(bot, ts, "Nothing checked")
    assert "Checking" not in text
    assert bot.fake.wait_for(
        lambda: any(
            c.params.get("timestamp") == ts and c.params.get("name") == "white_check_mark"
            for c in bot.fake.of("reactions.add")
        )
    )
    bot.fake.assert_all_valid()


def _posted_in(bot: Bot, channel: str, since: int) -> list[str]:
    return [
        json.dumps(c.params)
        for c in bot.fake.calls[since:]
        if c.method == "chat.postMessage" and c.params.get("channel") == channel
    ]


def test_an_access_refusal_on_a_run_checks_click_is_told_to_the_clicker_only(bot: Bot) -> None:
    """`locked` lets only UBOSS (and the SOPS group) check: UALICE's click is refused to her alone,
    no public "Checks of ..." head and no thread; nothing runs."""
    since = len(bot.fake.calls)
    value = json.dumps({"module": "mta", "instance": "prod", "env": "locked"})
    status, _, _ = bot.action("run_checks", value, user="UALICE", channel="CPROD")
    assert status == 200
    assert bot.fake.wait_for(
        lambda: any(
            c.method == "chat.postEphemeral"
            and c.params.get("user") == "UALICE"
            and "locked" in c.params.get("text", "")
            for c in bot.fake.calls[since:]
        ),
        timeout=30,
    )
    time.sleep(1)
    assert _posted_in(bot, "CPROD", since) == []
    assert any(r.get("outcome") == "refused" and r.get("environment") == "locked" for r in bot.audit_records())


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"module": "mta", "instance": None, "env": "staging"}, "not one of the bot's"),  # a stale button
        ({"module": "nosuch", "instance": None, "env": "prod"}, "not one of the bot's"),
        ({"module": "mta", "instance": "prod", "env": "locked"}, "locked"),  # no access
    ],
)
def test_a_refused_click_where_the_bot_is_not_a_member_answers_through_the_response_url(
    bot: Bot, value: dict[str, object], needle: str
) -> None:
    bot.fake.absent_channels.add("CNOTIN2")
    before, since = len(bot.fake.responses), len(bot.fake.calls)
    status, _, _ = bot.action("run_checks", json.dumps(value), user="UALICE", channel="CNOTIN2")
    assert status == 200
    assert bot.fake.wait_for(lambda: any(needle in json.dumps(r) for r in bot.fake.responses[before:]), timeout=30), (
        bot.fake.responses[before:]
    )
    got = [r for r in bot.fake.responses[before:] if needle in json.dumps(r)]
    assert all(r.get("response_type") == "ephemeral" for r in got)
    assert _posted_in(bot, "CNOTIN2", since) == []


def test_an_expired_action_where_the_bot_is_not_a_member_answers_through_the_response_url(bot: Bot) -> None:
    bot.fake.absent_channels.add("CNOTIN3")
    before = len(bot.fake.responses)
    bot.action("act:gone", "no-such-action-id", user="UOPS", channel="CNOTIN3", thread_ts="1700000000.000001")
    assert bot.fake.wait_for(
        lambda: any("already used or has expired" in json.dumps(r) for r in bot.fake.responses[before:]), timeout=30
    )
