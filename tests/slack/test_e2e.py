"""`campaign-bot serve` end to end: signed requests over a real socket, a fake Slack Web API on
loopback, and real sshd hosts with simulated Campaign servers behind the bot."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.slack.conftest import Bot, sign

N = [0]


def next_ts() -> str:
    N[0] += 1
    return f"17000{int(time.time()) % 100000:05d}.{N[0]:06d}"


def texts_of(bot: Bot, method: str, channel: str | None = None, thread_ts: str | None = None) -> list[str]:
    out = []
    for c in bot.fake.of(method):
        if channel and c.params.get("channel") != channel:
            continue
        if thread_ts and c.params.get("thread_ts") != thread_ts:
            continue
        out.append(json.dumps(c.params.get("blocks", "")) + " " + str(c.params.get("text", "")))
    return out


def mention(
    bot: Bot, text: str, user: str = "UALICE", channel: str = "CPROD", event_id: str | None = None
) -> tuple[str, str]:
    ts = next_ts()
    eid = event_id or f"Ev{ts.replace('.', '')}"
    status, _, elapsed = bot.event(
        {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "ts": ts, "channel": channel, "event_ts": ts},
        eid,
    )
    assert status == 200 and elapsed < 3
    return ts, eid


def final_update(bot: Bot, ts_parent: str, needle: str, timeout: float = 30) -> str:
    """The last chat.update/postMessage in the thread that contains `needle`."""

    def find() -> str | None:
        posted = {c.result.get("ts") for c in bot.fake.of("chat.postMessage") if c.params.get("thread_ts") == ts_parent}
        for c in reversed(bot.fake.calls):
            if c.method == "chat.update" and c.params.get("ts") in posted:
                body = json.dumps(c.params.get("blocks", "")) + str(c.params.get("text"))
                if needle in body:
                    return body
        return None

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = find()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"no update with {needle!r}; calls: {[c.method for c in bot.fake.calls][-20:]}")


def action_button(bot: Bot, command: str) -> dict[str, Any]:
    """The "Run it" button offered for `command` in the latest answer that offers any."""
    blocks = next(
        c.params["blocks"]
        for c in reversed(bot.fake.of("chat.update"))
        if "act:" in json.dumps(c.params.get("blocks", ""))
    )
    return next(
        b["accessory"]
        for b in blocks
        if b.get("accessory", {}).get("action_id", "").startswith("act:") and command in b["text"]["text"]
    )


def test_forged_and_stale_requests_get_401(bot: Bot) -> None:
    before = len(bot.fake.calls)
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "EvForged",
            "event": {"type": "app_mention", "text": "mail", "channel": "CPROD", "ts": "1.1", "user": "U1"},
        }
    )
    assert bot.post(body, sign(body, secret="wrong"), "application/json")[0] == 401
    assert bot.post(body, sign(body, ts=str(int(time.time()) - 600)), "application/json")[0] == 401
    assert bot.post(body, {}, "application/json")[0] == 401
    time.sleep(0.5)
    assert len(bot.fake.calls) == before


def test_slash_command_card_for_dutch_name(bot: Bot) -> None:
    status, body, elapsed = bot.command("waakhond")
    assert status == 200 and elapsed < 3
    data = json.loads(body)
    text = json.dumps(data["blocks"])
    assert "*watchdog*" in text and "nlserver watchdog -svc -noconsole" in text
    assert '"action_id": "run_checks"' in text
    assert len(data["blocks"]) <= 50


def test_slash_command_with_environment_and_list(bot: Bot) -> None:
    _, body, _ = bot.command("wf server prod")
    assert "*wfserver*" in json.dumps(json.loads(body)["blocks"])
    _, body, _ = bot.command("")
    assert "Campaign modules" in body


def test_hostile_slash_text_runs_nothing(bot: Bot) -> None:
    logs = {n: (bot.fleet.homes[n] / "sim" / "invocations.log") for n in ("good1", "good2")}
    before = {n: p.read_text() for n, p in logs.items()}
    posts = len(bot.fake.of("chat.postMessage"))
    for text in ("mta; rm -rf /", "$(reboot)", "`id` prod", "mta@prod && curl evil", "a" * 3000):
        status, body, _ = bot.command(text)
        assert status == 200 and "Unknown module" in body
    time.sleep(0.5)
    assert {n: p.read_text() for n, p in logs.items()} == before
    assert len(bot.fake.of("chat.postMessage")) == posts


def test_a_mention_typed_in_a_slash_command_stays_text(bot: Bot) -> None:
    # Slack sends a literally typed `<@U...>` as entities; decoded, it must not come back as a mention
    # (the refusal would ping that person) nor as a broadcast.
    for text in ("&lt;@UBOSS&gt;", "mta &lt;@UBOSS&gt;", "mta@&lt;@UBOSS&gt;", "&lt;!channel&gt;"):
        status, body, _ = bot.command(text)
        assert status == 200
        data = json.loads(body)
        shown = json.dumps(data["blocks"]) + data["text"]
        assert "<@UBOSS>" not in shown and "<!channel>" not in shown, shown
        assert "&lt;@UBOSS&gt;" in shown or "&lt;!channel&gt;" in shown


def test_mention_mail_not_sending_answers_in_thread_with_findings(bot: Bot) -> None:
    ts, _ = mention(bot, "mail not sending")
    assert bot.fake.wait_for(
        lambda: any(
            c.params.get("timestamp") == ts and c.params.get("name") == "eyes" for c in bot.fake.of("reactions.add")
        )
    )
    assert bot.fake.wait_for(lambda: texts_of(bot, "chat.postMessage", thread_ts=ts))
    first = texts_of(bot, "chat.postMessage", thread_ts=ts)[0]
    assert "mta" in first and "stat" in first and "prod" in first  # modules, why, environment, host count
    final = final_update(bot, ts, "nlserver start mta@prod")
    assert "good2" in final and "mta@prod" in final and "monitor -missing" in final
    assert "Environment" in final and "prod" in final
    assert bot.fake.wait_for(
        lambda: any(
            c.params.get("timestamp") == ts and c.params.get("name") == "x" for c in bot.fake.of("reactions.add")
        )
    )
    updates = [c for c in bot.fake.of("chat.update")]
    assert len(updates) >= 2  # progress while hosts finish, then the result
    # The full report (every finding and its evidence) goes into the thread as a file.
    uploads = [c for c in bot.fake.of("files.completeUploadExternal") if c.params.get("thread_ts") == ts]
    assert uploads and bot.fake.uploads
    assert any(b"mta@prod" in body for body in bot.fake.uploads.values())
    recs = [r for r in bot.audit_records() if r.get("question") == "mail not sending"]
    assert recs and recs[-1]["user"] == "UALICE" and recs[-1]["environment"] == "prod"
    assert any("nlserver pdump" in c for c in recs[-1]["commands"])  # type: ignore[union-attr]
    assert recs[-1]["outcome"] == "fail"


def test_retried_event_is_not_answered_twice(bot: Bot) -> None:
    ts, eid = mention(bot, "is wfserver running?")
    assert bot.fake.wait_for(lambda: len(texts_of(bot, "chat.postMessage", thread_ts=ts)) >= 1)
    status, _, _ = bot.event(
        {
            "type": "app_mention",
            "user": "UALICE",
            "text": "<@UBOT> is wfserver running?",
            "ts": ts,
            "channel": "CPROD",
            "event_ts": ts,
        },
        eid,
        retry=1,
    )
    assert status == 200
    final_update(bot, ts, "wfserver")
    time.sleep(1.0)
    assert len(texts_of(bot, "chat.postMessage", thread_ts=ts)) == 1
    assert (
        len(
            [
                c
                for c in bot.fake.of("reactions.add")
                if c.params.get("timestamp") == ts and c.params.get("name") == "eyes"
            ]
        )
        == 1
    )


def test_off_topic_gets_help_not_silence(bot: Bot) -> None:
    ts, _ = mention(bot, "good morning team")
    assert bot.fake.wait_for(
        lambda: any("mail not sending" in t for t in texts_of(bot, "chat.postMessage", thread_ts=ts))
    )


def test_rate_limited_post_is_retried(bot: Bot) -> None:
    bot.fake.rate_limit["chat.postMessage"] = 1
    ts, _ = mention(bot, "hello there, nothing starts, pdump says no tasks")
    assert bot.fake.wait_for(lambda: texts_of(bot, "chat.postMessage", thread_ts=ts), timeout=15)
    assert bot.fake.rate_limit["chat.postMessage"] == 0
    final_update(bot, ts, "watchdog")


def test_rate_limited_reactions_do_not_hold_the_answer(bot: Bot) -> None:
    # Slack limits each method on its own: while reactions are limited for 20 s, the first reply and the
    # answer still go out at once (a reaction is not worth 3 x 20 s of waiting); a short wait is retried.
    bot.fake.retry_after = "20"
    bot.fake.rate_limit["reactions.add"] = 2
    try:
        start = time.monotonic()
        ts, _ = mention(bot, "is the mta up?")
        assert bot.fake.wait_for(lambda: texts_of(bot, "chat.postMessage", thread_ts=ts), timeout=15)
        assert time.monotonic() - start < 5, "the first reply waited for a reaction"
        final_update(bot, ts, "mta@prod", timeout=15)
        assert bot.fake.rate_limit["reactions.add"] == 0
    finally:
        bot.fake.rate_limit.pop("reactions.add", None)
        bot.fake.retry_after = "1"
    bot.fake.rate_limit["reactions.add"] = 1
    ts, _ = mention(bot, "is the mta up?")
    assert bot.fake.wait_for(lambda: "eyes" in bot.fake.reactions("CPROD", ts), timeout=10), "a 1 s wait is retried"
    final_update(bot, ts, "mta@prod")  # its checks are over before the next test counts invocations
    assert bot.fake.wait_for(lambda: len(bot.fake.reactions("CPROD", ts)) == 2, timeout=10)


def test_a_rate_limited_progress_update_does_not_hold_the_answer(bot: Bot) -> None:
    # The first progress update ("1/2 hosts done") gets a 429 with Retry-After 20: it is skipped, not
    # waited for (3 x 20 s) while the run's results and the answer wait behind it.
    bot.fake.retry_after = "20"
    bot.fake.rate_limit["chat.update"] = 1
    try:
        start = time.monotonic()
        ts, _ = mention(bot, "is the mta up?")
        final_update(bot, ts, "mta@prod", timeout=15)
        assert time.monotonic() - start < 8, "the answer waited for a progress update"
        assert bot.fake.rate_limit["chat.update"] == 0, "a progress update was rate limited"
        assert bot.fake.wait_for(lambda: len(bot.fake.reactions("CPROD", ts)) == 2, timeout=10)
    finally:
        bot.fake.rate_limit.pop("chat.update", None)
        bot.fake.retry_after = "1"


def test_protected_environment_refuses_with_reason(bot: Bot) -> None:
    before = (bot.fleet.homes["good1"] / "sim" / "invocations.log").read_text()
    ts, _ = mention(bot, "mail not sending on locked", user="UNOBODY")
    assert bot.fake.wait_for(lambda: any("protected" in t for t in texts_of(bot, "chat.postMessage", thread_ts=ts)))
    time.sleep(0.3)
    assert (bot.fleet.homes["good1"] / "sim" / "invocations.log").read_text() == before
    assert any(r.get("outcome") == "refused" and r.get("user") == "UNOBODY" for r in bot.audit_records())


def test_user_group_member_may_check_protected_environment(bot: Bot) -> None:
    ts, _ = mention(bot, "is syslogd running on locked?", user="UGROUPIE")
    final_update(bot, ts, "syslogd")
    assert any(c.params.get("usergroup") == "SOPS" for c in bot.fake.of("usergroups.users.list"))


def test_follow_up_keeps_the_environment_and_modules(bot: Bot) -> None:
    ts, _ = mention(bot, "is syslogd running on locked?", user="UBOSS")
    final_update(bot, ts, "syslogd")
    n = len(texts_of(bot, "chat.postMessage", thread_ts=ts))
    t2 = next_ts()
    bot.event(
        {
            "type": "app_mention",
            "user": "UBOSS",
            "text": "<@UBOT> check again",
            "ts": t2,
            "thread_ts": ts,
            "channel": "CPROD",
        },
        f"Ev{t2.replace('.', '')}",
    )
    assert bot.fake.wait_for(lambda: len(texts_of(bot, "chat.postMessage", thread_ts=ts)) > n)
    follow = texts_of(bot, "chat.postMessage", thread_ts=ts)[n]
    assert "syslogd" in follow and "locked" in follow


def test_guarded_action_needs_operator_and_confirmation(bot: Bot) -> None:
    log = bot.fleet.homes["good2"] / "sim" / "invocations.log"
    ts, _ = mention(bot, "mail not sending", user="UOPS")
    final = final_update(bot, ts, "nlserver start mta@prod")
    assert '"confirm"' in final and "Change a server?" in final
    assert "start mta@prod" not in log.read_text()  # nothing ran before the click
    button = action_button(bot, "nlserver start mta@prod")
    # Someone who is not an operator clicks: refused to them alone (never in the thread), nothing runs.
    other = "UALICE"
    bot.action(button["action_id"], button["value"], user=other, thread_ts=ts)
    assert bot.fake.wait_for(
        lambda: any(
            "not an operator" in c.params.get("text", "") and c.params.get("user") == other
            for c in bot.fake.of("chat.postEphemeral")
        )
    )
    assert not any("not an operator" in t for t in texts_of(bot, "chat.postMessage", thread_ts=ts))
    assert "start mta@prod" not in log.read_text()
    # The offered action is used up; the operator gets it offered again by asking again.
    ts2, _ = mention(bot, "mail not sending", user="UOPS")
    final_update(bot, ts2, "nlserver start mta@prod")
    button = action_button(bot, "nlserver start mta@prod")
    status, _, elapsed = bot.action(button["action_id"], button["value"], user="UOPS", thread_ts=ts2)
    assert status == 200 and elapsed < 3
    assert bot.fake.wait_for(
        lambda: any(
            "nlserver start mta@prod" in t and "good2" in t and "exit 3" in t
            for t in texts_of(bot, "chat.postMessage", thread_ts=ts2)
        )
    )
    assert "start mta@prod" in log.read_text()  # it reached the host (the simulator refuses to change state)
    rec = [r for r in bot.audit_records() if str(r.get("outcome", "")).startswith("action")]
    assert any(r["outcome"] == "action-refused" and r["user"] == other for r in rec)
    assert any(
        r["outcome"] == "action-failed" and r["user"] == "UOPS" and "good2: nlserver start mta@prod" in r["commands"]
        for r in rec
    )
    # A second click on the same button does nothing.
    bot.action(button["action_id"], button["value"], user="UOPS", thread_ts=ts2)
    assert bot.fake.wait_for(
        lambda: any(
            c.params.get("text", "").startswith("That action was already used")
            for c in bot.fake.of("chat.postEphemeral")
        )
    )


def test_run_checks_button_posts_findings_in_a_thread(bot: Bot) -> None:
    posts = len(bot.fake.of("chat.postMessage"))
    status, _, _ = bot.action(
        "run_checks", json.dumps({"module": "wfserver", "instance": "prod", "env": "prod"}), user="UALICE"
    )
    assert status == 200
    assert bot.fake.wait_for(lambda: len(bot.fake.of("chat.postMessage")) >= posts + 2)
    parent = bot.fake.of("chat.postMessage")[posts]
    assert "Checks of *wfserver*" in json.dumps(parent.params.get("blocks"))
    assert bot.fake.of("chat.postMessage")[posts + 1].params.get("thread_ts")


def test_tokens_never_in_audit(bot: Bot) -> None:
    assert "xoxb-test-token-123" not in bot.audit.read_text()


def test_direct_message_is_answered_in_its_thread(bot: Bot) -> None:
    ts = next_ts()
    bot.event(
        {
            "type": "message",
            "channel_type": "im",
            "user": "UALICE",
            "text": "is the mta up?",
            "ts": ts,
            "channel": "DALICE",
        },
        f"Ev{ts.replace('.', '')}",
    )
    assert bot.fake.wait_for(lambda: texts_of(bot, "chat.postMessage", thread_ts=ts))
    final_update(bot, ts, "mta@prod")


def test_direct_message_that_mentions_the_bot_is_answered(bot: Bot) -> None:
    # Slack sends no app_mention for a direct message, mention or not: the message event answers it.
    ts = next_ts()
    bot.event(
        {
            "type": "message",
            "channel_type": "im",
            "user": "UALICE",
            "text": "<@UBOT> is the mta up?",
            "ts": ts,
            "channel": "DALICE",
        },
        f"Ev{ts.replace('.', '')}",
    )
    assert bot.fake.wait_for(lambda: texts_of(bot, "chat.postMessage", thread_ts=ts))
    final_update(bot, ts, "mta@prod")


def test_a_direct_message_with_a_file_or_sent_to_the_channel_too_is_answered(bot: Bot) -> None:
    # A pasted log or a screenshot makes a `file_share` message; a thread reply also sent to the
    # channel a `thread_broadcast`: both are a person asking. A channel join is not.
    for subtype, extra in (("file_share", {"files": [{"id": "F1", "name": "mta.log"}]}), ("thread_broadcast", {})):
        ts = next_ts()
        bot.event(
            {
                "type": "message",
                "subtype": subtype,
                "channel_type": "im",
                "user": "UALICE",
                "text": "is the mta up?",
                "ts": ts,
                "channel": "DALICE",
                **extra,
            },
            f"Ev{ts.replace('.', '')}",
        )
        final_update(bot, ts, "mta@prod")
    ts = next_ts()
    bot.event(
        {
            "type": "message",
            "subtype": "channel_join",
            "channel_type": "im",
            "user": "UALICE",
            "text": "<@UALICE> has joined",
            "ts": ts,
            "channel": "DALICE",
        },
        f"Ev{ts.replace('.', '')}",
    )
    time.sleep(1)
    assert not texts_of(bot, "chat.postMessage", thread_ts=ts)


def test_channel_message_without_mention_is_ignored_outside_support_channels(bot: Bot) -> None:
    ts = next_ts()
    bot.event(
        {
            "type": "message",
            "channel_type": "channel",
            "user": "UALICE",
            "text": "mail not sending",
            "ts": ts,
            "channel": "CRANDOM",
        },
        f"Ev{ts.replace('.', '')}",
    )
    time.sleep(1)
    assert not texts_of(bot, "chat.postMessage", thread_ts=ts)


def test_clarify_button_checks_the_chosen_module_in_the_thread(bot: Bot) -> None:
    parent = next_ts()
    status, _, _ = bot.action(
        "clarify:wfserver", json.dumps({"module": "wfserver", "env": "prod"}), user="UALICE", thread_ts=parent
    )
    assert status == 200
    final_update(bot, parent, "wfserver@prod")


def test_messages_from_bots_are_ignored(bot: Bot) -> None:
    ts = next_ts()
    bot.event(
        {
            "type": "app_mention",
            "user": "UOTHER",
            "bot_id": "BOTHER",
            "text": "<@UBOT> mail not sending",
            "ts": ts,
            "channel": "CPROD",
        },
        f"Ev{ts.replace('.', '')}",
    )
    time.sleep(1)
    assert not texts_of(bot, "chat.postMessage", thread_ts=ts)


def test_show_the_log_attaches_the_last_lines(bot: Bot) -> None:
    ts, _ = mention(bot, "show the mta log")
    final_update(bot, ts, "mta")
    assert bot.fake.wait_for(
        lambda: any(c.params.get("thread_ts") == ts for c in bot.fake.of("files.completeUploadExternal"))
    )
    # good2's mta log is read across the rotated mta_2.log: its last 6 lines, the DETAIL line of a database error too
    assert any(
        b"last 6 lines:" in body and b"PGS-220000" in body and b"DETAIL:" in body for body in bot.fake.uploads.values()
    )
