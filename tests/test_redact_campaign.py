"""Campaign session tokens in text the bot did not get from its own Logon (a pasted log, a page, a
header dump): the SDK's shape `___<GUID>` anywhere, any `___…` value after a session/token word."""

from __future__ import annotations

import pytest

from bot.redact import redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("session ___C8B4A541-48DC-4C97-95AD-066930FD3892 opened", "___C8B4A541-48DC-4C97-95AD-066930FD3892"),
        ("loaded ___c8b4a541-48dc-4c97-95ad-066930fd3892 from cache", "___c8b4a541-48dc-4c97-95ad-066930fd3892"),
        ("X-Session-Token: ___C8B4A541-48DC-4C97-95AD-066930FD3892", "___C8B4A541"),
        ("session token ___4f3a9b2c1d0e$sess was refused", "___4f3a9b2c1d0e$sess"),
        ("Cookie: __sessiontoken=___deep$sess; Path=/", "___deep$sess"),
        ("<pstrSessionToken xsi:type='xsd:string'>___abc1$sess</pstrSessionToken>", "___abc1$sess"),
        ("token (___a1b2c3d4) expired", "___a1b2c3d4"),
    ],
)
def test_campaign_session_tokens_are_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "[REDACTED]" in out
    assert redact(out) == out


@pytest.mark.parametrize(
    "text",
    ["the __init__ ___ marker", "session ___ end", "my_var___x = 1", "tokens ___ab", "a ___ line of ___ dashes"],
)
def test_other_underscores_are_left_alone(text: str) -> None:
    assert redact(text) == text
