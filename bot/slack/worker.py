"""Entry point of the Slack worker process that `campaign-bot serve` starts beside itself.

It builds the same services from the same settings (through the composition root's helpers) and
takes jobs from the shared queue; the serving process only acknowledges and enqueues.
"""

from __future__ import annotations

import argparse


def worker_main(inventory: str | None, knowledge: str | None) -> None:
    from bot.__main__ import build_services, configure_logging
    from bot.config import load_settings
    from bot.slack.server import run_worker

    settings = load_settings()
    configure_logging(settings)
    opts = argparse.Namespace(inventory=inventory, knowledge=knowledge, env=None)
    svc, pool = build_services(opts, settings, allow_simulated=False)
    try:
        run_worker(settings, svc)
    finally:
        pool.close()
