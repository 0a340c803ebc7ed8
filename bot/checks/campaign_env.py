"""The Campaign environment the probes run in: `env.sh` and `customer.sh` (Campaign's own scripts are
bash; the probe runs under bash when the host has it, else under /bin/sh).

A file that cannot be sourced (a syntax error, an `exit`, a bash-ism under dash) no longer ends the
probe: it is skipped, the other sections run, and this finding says so with the first error line.
What that file would set (`XTK_VAR_DIR`, `TMPDIR`, `TRACE_ADDR`, `LD_LIBRARY_PATH`) is then unknown to
the bot, so the var folder, temporary folder and syslogd port it reads may not be Campaign's
(CC:installation/using/installing-packages-with-linux.md: customer.sh; domain reference section 2.6).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.models import Finding


class CampaignEnvCheck(HostCheck):
    name = "campaign_env"
    order = 185

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        env = facts.env
        for err in env.source_errors:
            file, _, message = err.partition(": ")
            consequence = (
                f"what it sets (XTK_VAR_DIR, TMPDIR, TRACE_ADDR) is unknown to the bot: it read var at {facts.var_dir}"
            )
            if env.shell == "bash":
                # Campaign's own scripts source it with bash too: the error is the file's.
                yield finding(
                    ctx,
                    None,
                    None,
                    self.name,
                    "warn",
                    f"{file} could not be sourced: {message or 'it failed'} (under bash, as Campaign's own scripts "
                    f"do); {consequence}",
                    [f"{ctx.host.nl_home}/{file}: {message}"],
                )
            else:
                yield finding(
                    ctx,
                    None,
                    None,
                    self.name,
                    "unknown",
                    f"{file} could not be sourced: {message or 'it failed'} (under /bin/sh: the host has no bash, "
                    f"and Campaign's scripts are bash); {consequence}",
                    [f"{ctx.host.nl_home}/{file}: {message}"],
                    ("cannot_tell",),
                    needs="bash on the host (Campaign's env.sh and customer.sh are bash scripts)",
                )


CHECK = CampaignEnvCheck()
