"""The Bolt app: listeners that only acknowledge and hand work over.

Events and clicks become jobs (`submit(kind, payload, job_id)`); the job id of an event is its
`event_id`, so a re-delivered event (Slack retries, both of two replicas behind a load balancer)
is accepted once deployment-wide. `/campaign-module` is answered in the acknowledgement itself
(a card; nothing runs from it). Nothing here talks to hosts.

The job is recorded *before* Slack gets its acknowledgement (Bolt's `process_before_response`): Slack
never re-delivers an event it got a 200 for, so a serve killed between the 200 and the record would lose
the question for good, 👀 never shown. Only the store write is on that path: Slack calls a listener makes
(telling a thread that its question was not taken, publishing App Home) go to `executor`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.conversation.core import Conversation
from bot.kb.models import KnowledgeBase
from bot.present import slack as present

log = logging.getLogger(__name__)

Submit = Callable[[str, dict[str, Any], str | None], object]

# Message subtypes that are a person writing: a plain message, one with a file (a pasted log or a
# screenshot), a thread reply also sent to the channel, a /me message. Any other subtype is not a question.
PEOPLE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})


def build_bolt(
    *,
    core: Conversation,
    kb: KnowledgeBase,
    client: WebClient,
    signing_secret: str | None,
    executor: Executor,
    submit: Submit,
    support_channels: frozenset[str] = frozenset(),
    socket_mode: bool = False,
    home: Callable[[str], dict[str, Any]] | None = None,
) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret or "socket-mode",
        request_verification_enabled=not socket_mode,
        process_before_response=True,  # the job is recorded before the 200 (see the module docstring)
        listener_executor=executor,
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    def drop_bots(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        event = body.get("event") or {}
        if event.get("bot_id") or event.get("subtype") in ("bot_message", "message_changed", "message_deleted"):
            return BoltResponse(status=200, body="")
        return next()

    def refuse_in_thread(event: dict[str, Any], why: str) -> None:
        """The question was acknowledged but cannot be taken: say so in its thread (never silence)."""
        channel, ts = event.get("channel"), event.get("ts")
        if not channel or not ts:
            return
        bl, text = present.problem(why)
        try:
            client.chat_postMessage(channel=channel, thread_ts=event.get("thread_ts") or ts, blocks=bl, text=text)
            client.reactions_add(channel=channel, timestamp=ts, name="x")
        except Exception as e:
            log.error("could not tell %s that its question was not taken: %s", channel, type(e).__name__)

    def accept(body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = body.get("event_id")
        job_id = f"ev:{event_id}" if event_id else f"msg:{event.get('channel')}:{event.get('ts')}"
        try:
            submit("question", {"event": event}, job_id)
        except Exception as e:  # the state store or the queue failed: the question must still end visibly
            log.error("question not accepted: %s", e)
            executor.submit(
                refuse_in_thread,
                event,
                f"the bot cannot take questions right now ({type(e).__name__}: its state store "
                "failed); the operators have it in the bot's log",
            )

    @app.event("app_mention")
    def on_mention(body: dict[str, Any]) -> None:
        accept(body, body["event"])

    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> None:
        if event.get("subtype") not in PEOPLE_SUBTYPES:
            return  # joins, topic changes, edits, deletions, other apps' messages
        direct = event.get("channel_type") == "im"
        bot_user = context.get("bot_user_id")
        if not direct and bot_user and f"<@{bot_user}>" in (event.get("text") or ""):
            # The app_mention event answers it; Slack sends none for a direct message, so a DM that
            # mentions the bot is answered from here.
            return
        if direct or event.get("channel") in support_channels:
            accept(body, event)

    @app.command("/campaign-module")
    def on_command(ack: Callable[..., None], command: dict[str, Any]) -> None:
        try:
            user = str(command.get("user_id", ""))
            reply = core.module_command(str(command.get("text", "")), user, str(command.get("channel_id", "")))
            bl, text = present.reply(reply, kb, user=user)
        except Exception:  # the ack must go out whatever happens
            log.exception("/campaign-module failed")
            bl, text = present.problem("the card could not be built; the error is in the bot's log")
        ack(blocks=bl, text=text)

    def click(ack: Callable[..., None], body: dict[str, Any]) -> None:
        ack()
        # Slack does not re-deliver interactions (an unacknowledged click shows an error instead),
        # so every click is a job of its own; the one-time action id guards against double runs.
        try:
            submit("click", {"body": body}, None)
        except Exception as e:
            log.error("click not accepted: %s", e)
            channel = (body.get("channel") or {}).get("id")
            user = (body.get("user") or {}).get("id")
            if channel and user:
                executor.submit(tell_not_taken, str(channel), str(user))

    def tell_not_taken(channel: str, user: str) -> None:
        try:
            client.chat_postEphemeral(
                channel=channel, user=user, text="The bot cannot take this right now (its state store failed)."
            )
        except Exception as err:
            log.error("could not tell the user: %s", type(err).__name__)

    app.action("run_checks")(click)
    app.action(re.compile(r"^clarify:"))(click)
    app.action(re.compile(r"^act:"))(click)
    app.action(re.compile(r"^alert:"))(click)

    if home is not None:

        @app.event("app_home_opened")
        def on_home(event: dict[str, Any], client: WebClient) -> None:
            if event.get("tab") not in (None, "home"):
                return
            user = str(event.get("user") or "")
            executor.submit(publish_home, client, user)

        def publish_home(client: WebClient, user: str) -> None:
            try:
                client.views_publish(user_id=user, view=home(user))
            except Exception as e:
                log.warning("App Home not published: %s", type(e).__name__)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener error: %s", type(error).__name__)

    return app
