"""In-memory fake hosts: answer a probe script section by section from canned outputs."""

from __future__ import annotations

import re

from bot.transports.base import CommandResult, Script


def fake_host(outputs: dict[str, str | tuple[str, int]], *, stop_after: str | None = None):  # type: ignore[no-untyped-def]
    """A responder for FakeTransport: each section of the script gets its canned text (and exit code)."""

    def respond(script: Script) -> CommandResult:
        token = re.search(r"@@CB:([0-9a-f]+):BEGIN", script.text)
        assert token, "not a probe script"
        t = token.group(1)
        out = []
        for sid in re.findall(rf"@@CB:{t}:BEGIN:(.+?)@@", script.text):
            val = outputs.get(sid, ("", 0))
            text, rc = (val, 0) if isinstance(val, str) else val
            out.append(f"@@CB:{t}:BEGIN:{sid}@@\n{text}")
            if stop_after == sid:
                return CommandResult(None, "\n".join(out).encode(), b"", 5, timed_out=True)
            out.append(f"@@CB:{t}:END:{sid}:{rc}@@")
        return CommandResult(0, ("\n".join(out) + "\n").encode(), b"", 5)

    return respond
