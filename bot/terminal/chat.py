"""The terminal chat: one question per line, answered by the conversation core as Slack would be.

The whole session is one thread, so follow-ups work as in Slack ("check again", "and on prod?",
"show the mta log"); `/campaign-module mta prod` gives the same card. The local operator is
trusted (they hold the bot's keys already), so access lists do not apply and no action buttons
are offered: state-changing steps are shown as commands to copy. `run --env acc` pins the chat
to that environment as `diagnose --env` does: a question naming another one is refused.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable

from bot.conversation.core import Conversation
from bot.conversation.replies import Question
from bot.kb.models import KnowledgeBase
from bot.present.text import reply as render_reply

QUIT = frozenset({"quit", "exit", ":q"})


def _user() -> str:
    try:
        return f"terminal:{getpass.getuser()}"
    except Exception:  # no login name (containers)
        return "terminal"


def run_chat(
    lines: Iterable[str],
    write: Callable[[str], None],
    core: Conversation,
    kb: KnowledgeBase,
    *,
    simulated: bool,
    prompt: bool = False,
    env: str | None = None,
) -> int:
    """Answer each non-empty line; stop at end of input or on `quit`/`exit`. Returns the exit code (0).
    `env` is the environment given on the command line (`--env`), or None."""
    user = _user()
    if prompt:
        write("> ")
    for raw in lines:
        text = raw.strip()
        if text.lower() in QUIT:
            break
        if text:
            q = Question(
                text=text, user=user, place="terminal", thread="terminal", surface="terminal", trusted=True, env=env
            )
            write(render_reply(core.ask(q), kb, simulated=simulated) + "\n\n")
        if prompt:
            write("> ")
    return 0
