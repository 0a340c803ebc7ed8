"""The transport interface: run one fixed script on a host within a deadline.

A `Script` can only be made by `bot.probes.script` from fixed templates, with every variable part
validated and shell-quoted; transports accept nothing else, so user text cannot reach a shell.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

MAX_OUTPUT_BYTES = 1 << 20  # per stream; beyond it the command is stopped and the result marked truncated


@dataclass(frozen=True)
class Script:
    """A shell script built from the probe templates (never from user text)."""

    text: str
    description: str  # what it runs, for the audit log: e.g. "nlserver pdump; nlserver monitor -missing"
    verbs: tuple[str, ...] = ()  # the nlserver verbs it sends, checked against the read-only allow-list


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None  # None: killed at the deadline or stopped at the output cap
    stdout: bytes
    stderr: bytes
    duration_ms: int
    timed_out: bool = False
    truncated: bool = False
    # Wall-clock time (epoch seconds, the bot's clock) when the command was sent: with the host's own
    # `date` read first thing in the script, it gives the host's clock offset (clock-skew check).
    started_at: float = 0.0


class Transport(abc.ABC):
    """Runs scripts on one host. Implementations raise `TransportError` when they cannot run at all."""

    name: str = "transport"

    @abc.abstractmethod
    def run(self, script: Script, *, timeout_s: float) -> CommandResult:
        """Run `script`; return within about `timeout_s` seconds whatever the host does."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection (pooled transports may keep it)."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
