"""`campaign-bot watch --env ENV [--once]`: the same watch, printed in the terminal.

Each round prints what is new, ongoing and recovered; the exit code is 1 when a finding is `fail`
or `error` (as `campaign-bot check`), so `--once` fits cron and monitoring systems. Alert state
lives in the state store, so "new" and "ongoing" keep their meaning between cron runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from bot.errors import CampaignBotError, ConfigError, UnknownNameError
from bot.models import Diagnosis
from bot.redact import redact, strip_control
from bot.schedule import Schedule, schedule_of
from bot.watch.engine import Watch
from bot.watch.model import AlertState, WatchRound

if TYPE_CHECKING:
    from bot.__main__ import Services

log = logging.getLogger(__name__)
EXIT_ROUND_FAILED = 1  # as a failing check: a round that could not run is no "all is well"

LABEL = {
    "opened": "NEW      ",
    "ongoing": "ONGOING  ",
    "changed": "CHANGED  ",
    "recovered": "RECOVERED",
    "flapping": "FLAPPING ",
    "snooze_ended": "WORSE    ",
    "settled": "SETTLED  ",
    "unwatched": "UNWATCHED",
}


class QuietNotifier:
    """The terminal prints rounds, not threads: nothing to post."""

    def opened(self, alert: AlertState, detail: Diagnosis) -> tuple[str, str] | None:
        return None

    def refresh(self, alert: AlertState, detail: Diagnosis | None) -> None:
        return None

    def note(self, alert: AlertState, text: str, detail: Diagnosis | None = None) -> None:
        return None

    def recovered(self, alert: AlertState) -> None:
        return None

    def mark(self, alert: AlertState) -> None:
        return None


def render_round(rnd: WatchRound, watch: Watch) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(rnd.at))
    sim = " [SIMULATED FLEET]" if rnd.simulated else ""
    lines = [f"{when} {rnd.environment}{sim}: {rnd.status.upper()} - {rnd.verdict}"]
    for e in rnd.events:
        lines.append(f"  {LABEL[e.kind]} {e.status:<5} {e.subject}: {e.summary}")
    still = [a for a in watch.open_alerts(rnd.environment) if a.key not in {e.key for e in rnd.events}]
    for a in still:
        lines.append(f"  {'OPEN':<9} {a.status:<5} {a.subject}: {a.summary}")
    if not rnd.events and not still:
        lines.append("  no problem")
    return strip_control("\n".join(lines))


def run_terminal_watch(args: argparse.Namespace, svc: Services, out: TextIO) -> int:
    """Run rounds until stopped (or one with `--once`); the exit code of the last round."""
    inv = svc.inventory()
    wanted = args.env or svc.default_env
    if args.env is None and wanted is not None and inv.find_environment(wanted) is None:
        wanted = None  # CAMPAIGN_BOT_ENV names an environment this inventory does not have
    try:
        env = inv.environment(wanted)
    except UnknownNameError as e:
        raise ConfigError(str(e)) from e
    watch = Watch(kb=svc.kb, diagnoser=svc.diagnoser, store=svc.store, notifier=QuietNotifier(), audit=svc.audit)
    sched = schedule_of(env) or Schedule(every_s=60.0)  # no watch configured: one round a minute
    stop = threading.Event()
    if not args.once:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    code = 0
    last_slot: str | None = None
    while True:
        now = time.time()
        slot = sched.slot(now)
        if args.once or (slot is not None and slot != last_slot):
            last_slot = slot
            try:
                rnd = watch.run(env, now)
            except CampaignBotError:
                raise  # one line and exit 2 (bot/__main__.py)
            except Exception as e:  # a round that broke is said, never a traceback nor exit 0
                log.debug("watch round of %s failed", env.name, exc_info=True)  # the traceback at DEBUG only
                print(
                    f"campaign-bot: the watch round of {env.name} failed: {type(e).__name__}: {redact(str(e))[:300]}",
                    file=sys.stderr,
                )
                code = EXIT_ROUND_FAILED
            else:
                code = rnd.exit_code
                out.write(
                    json.dumps(rnd.model_dump(mode="json")) + "\n" if args.json else render_round(rnd, watch) + "\n\n"
                )
                out.flush()
        if args.once or stop.wait(1.0):
            return code
