"""Where var is: `XTK_VAR_DIR` set in customer.sh moves Campaign's data folder
(CC:installation/using/configuring-campaign-server.md#enabling-processes). The probes already read
logs, redirection files and disk there; this finding says so, and next steps use the path
(`evidence[0]` is the folder, exactly)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.models import Finding


class VarDirCheck(HostCheck):
    name = "var_dir"
    order = 190

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        if facts.env.var_dir is None or not facts.var_moved:
            return
        yield finding(
            ctx,
            None,
            None,
            self.name,
            "ok",
            f"var is {facts.var_dir} (XTK_VAR_DIR in the Campaign environment), not {ctx.host.nl_home}/var: logs, "
            "tracking logs and disk are read there",
            [facts.var_dir],
        )


CHECK = VarDirCheck()
