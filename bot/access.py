"""Who may run checks and actions: pure decisions over the inventory's access settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.inventory import Environment


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def may_check(env: Environment, user: str, channel: str, user_groups: Iterable[str] = ()) -> Decision:
    """Read-only checks.

    A protected environment allows only the users, user groups and channels it lists. An environment
    that is not protected and lists nobody lets anyone in the workspace run read-only checks; one that
    lists people allows only them.
    """
    acc = env.access
    if acc.empty:
        if env.protected:
            return Decision(False, f"{env.name} is protected and lists nobody who may run checks")
        return Decision(True, f"{env.name} is open to everyone in the workspace for read-only checks")
    if user in acc.users:
        return Decision(True, f"<@{user}> is listed for {env.name}")
    if channel in acc.channels:
        return Decision(True, f"this channel is listed for {env.name}")
    groups = set(user_groups) & set(acc.groups)
    if groups:
        return Decision(True, f"<@{user}> is in user group {sorted(groups)[0]}")
    what = "is protected: only" if env.protected else "allows only"
    return Decision(
        False, f"{env.name} {what} the users, user groups and channels listed in the inventory may run checks"
    )


def may_act(env: Environment, user: str) -> Decision:
    """State-changing actions: only where `actions: enabled` and the user is one of the `operators`."""
    if env.actions != "enabled":
        return Decision(False, f"actions are disabled for {env.name}: copy the command and run it yourself")
    if user not in env.operators:
        return Decision(False, f"<@{user}> is not an operator of {env.name}")
    return Decision(True, f"<@{user}> is an operator of {env.name}")
