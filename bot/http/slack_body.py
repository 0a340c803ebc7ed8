"""Is a (signed) Slack request body something Bolt can take without raising?

Bolt's WSGI adapter decodes the body as UTF-8, parses it (JSON, or a form with an optional
`payload` JSON field) and reads ids out of it before any listener runs; garbage there raises in
the adapter (HTTP 500 and a traceback from the WSGI server) or in Bolt's built-in middleware (500
and a logged traceback). `body_problem` finds those cases first, so the guard can answer 400:

1. the body must be UTF-8 and not empty, sent as application/json or
   application/x-www-form-urlencoded (the only two types Slack sends);
2. a form must be well formed (`key=value` pairs, valid percent-encoded UTF-8);
3. Bolt's own request object (`slack_bolt.request.BoltRequest`: Bolt's parser and id extraction)
   must build without raising — the same code the adapter runs next, not a copy of it;
4. the parsed payload must match `SlackEnvelope`: the fields Bolt's request parsing, built-in
   middleware and listener matchers read have the JSON kind Slack documents for them. Found by
   replacing each value of realistic event, block_actions, view_submission, shortcut,
   block_suggestion and url_verification payloads with every wrong JSON kind and watching Bolt
   (tests/http/test_slack_guard.py keeps that sweep). Other fields are not looked at.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, model_validator

SLACK_MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded")
_MAX_FORM_FIELDS = 200  # a slash command has about 12 fields, an interactivity post one

# Slack sends users, channels, teams and enterprises either as an id string or as an object (with
# an "id"), and sometimes null; Bolt tests `"id" in value`, which raises on numbers and booleans.
Identity = StrictStr | dict[str, Any] | None


class _Shape(BaseModel):
    """Only the listed fields are checked; every other field passes untouched."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class SlackMessage(_Shape):
    user: Identity = None
    channel: Identity = None
    team: Identity = None
    text: StrictStr | None = None
    ts: StrictStr | None = None
    thread_ts: StrictStr | None = None
    subtype: StrictStr | None = None
    bot_id: StrictStr | None = None


class SlackEvent(SlackMessage):
    type: StrictStr | None = None
    channel_type: StrictStr | None = None
    event_ts: StrictStr | None = None
    message: SlackMessage | None = None
    previous_message: SlackMessage | None = None


class SlackAuthorization(_Shape):
    enterprise_id: StrictStr | None = None
    team_id: StrictStr | None = None
    user_id: StrictStr | None = None
    is_bot: StrictBool | None = None
    is_enterprise_install: StrictBool | None = None


class SlackAction(_Shape):
    action_id: StrictStr | None = None
    block_id: StrictStr | None = None
    type: StrictStr | None = None


class SlackView(_Shape):
    id: StrictStr | None = None
    callback_id: StrictStr | None = None
    team_id: StrictStr | None = None
    app_installed_team_id: StrictStr | None = None


class SlackEnvelope(_Shape):
    """The top level of an Events API, interactivity or slash-command body."""

    type: StrictStr | None = None
    team: Identity = None
    user: Identity = None
    channel: Identity = None
    enterprise: Identity = None
    team_id: StrictStr | None = None
    enterprise_id: StrictStr | None = None
    user_id: StrictStr | None = None
    channel_id: StrictStr | None = None
    api_app_id: StrictStr | None = None
    event_id: StrictStr | None = None
    callback_id: StrictStr | None = None
    action_id: StrictStr | None = None
    block_id: StrictStr | None = None
    command: StrictStr | None = None
    trigger_id: StrictStr | None = None
    response_url: StrictStr | None = None
    is_enterprise_install: StrictBool | StrictStr | None = None  # a string in slash-command forms
    is_ext_shared_channel: StrictBool | None = None
    authorizations: list[SlackAuthorization] | None = None
    event: SlackEvent | None = None
    actions: list[SlackAction] | None = Field(default=None, min_length=1)
    view: SlackView | None = None
    message: SlackMessage | None = None
    container: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _objects_not_null(cls, data: Any) -> Any:
        # Bolt reads these with `body["event"]`-style access once the key is there: present means
        # an object (a list for actions), never null.
        if isinstance(data, dict):
            for key in ("event", "view", "actions", "message", "container", "authorizations"):
                if key in data and data[key] is None:
                    raise ValueError(f"{key} is null")
        return data

    @model_validator(mode="after")
    def _ids_bolt_matches_on(self) -> SlackEnvelope:
        # Bolt routes an event on event.type and block_actions on every action's action_id.
        if self.type == "event_callback" and (self.event is None or self.event.type is None):
            raise ValueError("an event_callback without event.type")
        if self.type == "block_actions" and any(a.action_id is None for a in self.actions or []):
            raise ValueError("a block action without action_id")
        return self


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def body_problem(body: bytes, content_type: str | None, headers: dict[str, Any], query: str) -> str | None:
    """None when Bolt can take `body`; otherwise a short reason (no body content in it) for the log.

    `headers` and `query` are what Bolt's WSGI adapter passes to BoltRequest.
    """
    if not body:
        return "empty body"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    kind = media_type(content_type)
    if kind not in SLACK_MEDIA_TYPES:
        return f"unsupported content type {kind[:60]!r}" if kind else "no content type"
    if kind == "application/x-www-form-urlencoded":
        try:
            parse_qsl(
                text, keep_blank_values=True, strict_parsing=True, errors="strict", max_num_fields=_MAX_FORM_FIELDS
            )
        except (ValueError, UnicodeDecodeError) as e:
            return f"malformed form body ({type(e).__name__})"
    from slack_bolt.request import BoltRequest  # Bolt is only needed once a signed body arrives

    try:
        parsed = BoltRequest(body=text, query=query, headers=headers).body
    except Exception as e:  # whatever Bolt's parser raises on, the body is malformed
        return f"malformed body ({type(e).__name__})"
    if not isinstance(parsed, dict) or not parsed:
        return "body is not a Slack payload"
    try:
        SlackEnvelope.model_validate(parsed)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"][:4])
        return f"unexpected payload shape at {where[:80]}"
    return None
