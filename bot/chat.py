"""The terminal chat: one question per line on stdin, answered as the Slack bot would."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def run_chat(
    lines: Iterable[str], write: Callable[[str], None], answer: Callable[[str], str], prompt: bool = False
) -> int:
    """Answer each non-empty line; stop at end of input or on `quit`/`exit`. Returns the exit code (0)."""
    if prompt:
        write("> ")
    for raw in lines:
        text = raw.strip()
        if text.lower() in ("quit", "exit", ":q"):
            break
        if text:
            write(answer(text) + "\n\n")
        if prompt:
            write("> ")
    return 0
