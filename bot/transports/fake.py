"""In-memory transport for unit tests: a function (or a dict of canned outputs) stands in for a host."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from bot.errors import TransportError
from bot.transports.base import CommandResult, Script, Transport


class FakeTransport(Transport):
    name = "fake"

    def __init__(self, responder: Callable[[Script], CommandResult | bytes] | Exception) -> None:
        self.responder = responder
        self.scripts: list[Script] = []

    def run(self, script: Script, *, timeout_s: float) -> CommandResult:
        self.scripts.append(script)
        if isinstance(self.responder, Exception):
            if isinstance(self.responder, TransportError):
                raise self.responder
            raise TransportError(str(self.responder))
        started_at = time.time()
        out = self.responder(script)
        if isinstance(out, bytes):
            return CommandResult(exit_code=0, stdout=out, stderr=b"", duration_ms=1, started_at=started_at)
        return out if out.started_at else dataclasses.replace(out, started_at=started_at)
