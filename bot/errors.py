"""The bot's own exception tree.

Expected failures on a host (down, slow, wrong key) are *findings*, not exceptions;
these types are for bad input and bad configuration, which the CLI turns into exit 2.
"""

from __future__ import annotations


class CampaignBotError(Exception):
    """Base class of every error the bot raises on purpose."""


class ConfigError(CampaignBotError):
    """A configuration file or setting is missing or invalid (names the file and field)."""


class KnowledgeError(ConfigError):
    """A knowledge-base file is invalid."""


class InventoryError(ConfigError):
    """The inventory file is missing or invalid."""


class UnknownModuleError(CampaignBotError):
    """A module argument matches no module; carries the closest suggestions."""

    def __init__(self, argument: str, suggestions: list[str]) -> None:
        self.argument = argument
        self.suggestions = suggestions
        shown = argument if len(argument) <= 60 else argument[:57] + "..."
        msg = f"unknown module {shown!r}"
        if suggestions:
            msg += "; did you mean: " + ", ".join(suggestions) + "?"
        super().__init__(msg)


class UnknownNameError(CampaignBotError):
    """An environment, host or instance argument is not in the inventory."""

    def __init__(self, kind: str, argument: str, known: list[str]) -> None:
        self.kind = kind
        self.argument = argument
        self.known = known
        shown = argument if len(argument) <= 60 else argument[:57] + "..."
        msg = f"unknown {kind} {shown!r}"
        if known:
            msg += "; known: " + ", ".join(known)
        super().__init__(msg)


class TransportError(CampaignBotError):
    """A transport could not connect or run a command (turned into an `error` finding)."""

    def __init__(self, message: str, *, kind: str = "transport") -> None:
        self.kind = kind
        super().__init__(message)
