"""The Transport seam: one interface, SSH, local and in-memory implementations."""

from bot.transports.base import CommandResult, Script, Transport

__all__ = ["CommandResult", "Script", "Transport"]
