"""Clock skew: between the hosts of one run, or, with one host, against the bot's own clock.

All servers and the database must have synchronised clocks
(CC:installation/using/email-deliverability.md#clock-synchronization). Each host reads its clock
first thing in its script (`date -u +%s.%N`, section `now`). The bot knows, on its own clock, when
it sent the script (`CommandResult.started_at`) and how long the round trip took until the whole
answer was in (`duration_ms`), so the host read its clock at some bot time within
[sent, sent + round trip], and its offset from the bot lies within
[host clock - sent - round trip, host clock - sent].

- Two hosts or more: hosts are compared with each other, not with the bot (`host clock - sent`
  carries a start-up delay about the same for every host, which cancels out): the reference is the
  median offset (with two hosts, the one closer to the bot's clock). A host more than 2 s from the
  reference gets a warning naming it and its offset.
- One host (or one whose clock could be read): compared with the bot's clock, which is taken as
  synchronised. Skew is reported only when the whole interval above lies beyond 2 s, ok only when it
  lies within 2 s; when it straddles the threshold (a round trip too long for the offset at stake)
  the check cannot tell, and says so with what it needs. The interval is in the evidence.
- A host whose clock could not be read is "cannot tell", never left out silently. A host that could
  not be checked, or whose script did not finish, has its own error finding: its clock (read first)
  is still compared with the other hosts', but never alone with the bot's (its round trip is the
  deadline), and a missing reading adds nothing to its error.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from bot.checks.base import HostOutcome, RunCheck
from bot.models import Finding

MAX_SKEW_S = 2.0
WHY = "Campaign servers and the database must have synchronised clocks"


@dataclass(frozen=True)
class Reading:
    """One host's clock against the bot's: the offset lies within [low, high]."""

    host: str
    host_time: float  # the host's clock when the script started (epoch s)
    sent: float  # the bot's clock when it sent the script
    round_trip: float  # seconds from sending to the whole answer (the bot's measure)

    @property
    def high(self) -> float:
        """The offset if the host read its clock the moment the script was sent (the likely value)."""
        return self.host_time - self.sent

    @property
    def low(self) -> float:
        """The offset if the host read its clock only when the answer was complete."""
        return self.high - self.round_trip

    def evidence(self) -> tuple[str, ...]:
        return (
            f"{self.host}: clock read {_utc(self.host_time)}; the bot sent the script at {_utc(self.sent)} "
            f"(its own clock) and had the whole answer {self.round_trip:.3f} s later",
            f"offset from the bot's clock: between {self.low:+.3f} and {self.high:+.3f} s (the host read its clock "
            f"somewhere in that round trip; the bot's clock is taken as synchronised); threshold {MAX_SKEW_S:g} s",
        )


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


class ClockCheck(RunCheck):
    name = "clock"
    order = 910

    def evaluate_run(
        self, outcomes: Sequence[HostOutcome], findings: Sequence[Finding], complete: bool
    ) -> Iterable[Finding]:
        readings: dict[str, Reading] = {}
        # Hosts whose run did not complete (connect, deadline, output cap); an unreadable pdump is not one:
        # the script ran to its end, the clock was read first.
        errored = {f.host for f in findings if f.status == "error" and f.module is None and f.check != "pdump"}
        for o in outcomes:
            if o.facts is None:
                continue  # the host could not be checked: its error finding says so
            host = o.ctx.host.name
            now_f, result = o.facts.now_f, o.facts.result
            if (now_f is None or result.started_at <= 0) and host in errored:
                continue  # its error finding already says the check of this host did not finish
            if now_f is None:
                yield self._unknown(
                    host,
                    f"cannot tell whether the clock of {host} is off: `date -u +%s.%N` gave no usable time",
                    "`date` on the host, run by the bot's user",
                )
            elif result.started_at <= 0:
                yield self._unknown(
                    host,
                    f"cannot tell whether the clock of {host} is off: the transport did not say when it sent the script",
                    "the send time of the script (CommandResult.started_at) from the host's transport",
                )
            else:
                readings[host] = Reading(host, now_f, result.started_at, max(0.0, result.duration_ms / 1000))
        if len(readings) >= 2:
            yield from self._between_hosts(readings)
        elif readings:
            only = next(iter(readings.values()))
            if only.host not in errored:
                yield self._against_bot(only)

    def _between_hosts(self, readings: dict[str, Reading]) -> Iterable[Finding]:
        offsets = {h: r.high for h, r in readings.items()}
        values = sorted(offsets.values())
        ref = statistics.median(values) if len(values) > 2 else min(values, key=abs)
        off = {h: v - ref for h, v in offsets.items()}
        skewed = {h: d for h, d in off.items() if abs(d) > MAX_SKEW_S}
        spread = max(values) - min(values)
        ev = [f"{h}: {d:+.1f} s" for h, d in sorted(off.items(), key=lambda kv: -abs(kv[1]))][:8]
        for host, d in sorted(skewed.items(), key=lambda kv: -abs(kv[1])):
            yield Finding(
                host=host,
                module=None,
                instance=None,
                check=self.name,
                status="warn",
                summary=f"the clock of {host} is {d:+.1f} s off the other hosts of this run (more than "
                f"{MAX_SKEW_S:g} s): {WHY}",
                evidence=tuple(ev),
                conditions=("clock_skew",),
            )
        if not skewed:
            yield Finding(
                host="(all hosts)",
                module=None,
                instance=None,
                check=self.name,
                status="ok",
                summary=f"the clocks of the {len(offsets)} hosts agree within {spread:.1f} s",
                evidence=tuple(ev),
            )

    def _against_bot(self, r: Reading) -> Finding:
        if r.low > MAX_SKEW_S or r.high < -MAX_SKEW_S:
            nearest = r.low if r.low > 0 else r.high
            return Finding(
                host=r.host,
                module=None,
                instance=None,
                check=self.name,
                status="warn",
                summary=f"the clock of {r.host} is {r.high:+.1f} s off the bot's clock (at least {nearest:+.1f} s "
                f"given the {r.round_trip:.1f} s round trip; more than {MAX_SKEW_S:g} s): {WHY}",
                evidence=r.evidence(),
                conditions=("clock_skew",),
            )
        if r.low >= -MAX_SKEW_S and r.high <= MAX_SKEW_S:
            return Finding(
                host=r.host,
                module=None,
                instance=None,
                check=self.name,
                status="ok",
                summary=f"the clock of {r.host} agrees with the bot's clock within {MAX_SKEW_S:g} s (offset between "
                f"{r.low:+.1f} and {r.high:+.1f} s)",
                evidence=r.evidence(),
            )
        return self._unknown(
            r.host,
            f"cannot tell whether the clock of {r.host} is off by more than {MAX_SKEW_S:g} s: the answer took "
            f"{r.round_trip:.1f} s, so its offset from the bot's clock is only known to lie between "
            f"{r.low:+.1f} and {r.high:+.1f} s",
            "a quicker answer from the host (the round trip bounds the measure), or another host of the "
            "environment in the same check to compare clocks with",
            r.evidence(),
        )

    def _unknown(self, host: str, summary: str, needs: str, evidence: tuple[str, ...] = ()) -> Finding:
        return Finding(
            host=host,
            module=None,
            instance=None,
            check=self.name,
            status="unknown",
            summary=summary,
            evidence=evidence,
            conditions=("cannot_tell",),
            needs=needs,
        )


CHECK = ClockCheck()
