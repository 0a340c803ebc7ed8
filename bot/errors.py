"""The bot's own exception tree.

    CampaignBotError
    ├── ConfigError                 a setting or file is missing or invalid (names the file and field)
    │   ├── KnowledgeError          a knowledge-base file
    │   ├── InventoryError          the inventory
    │   └── StoreError              the state store cannot be opened or written
    ├── UnknownModuleError          a module argument matches no module (carries suggestions)
    ├── UnknownNameError            an environment, host or instance the inventory does not know
    ├── TransportError              a host could not be reached or could not run the checks
    │   ├── HostUnreachable         refused, timed out, unresolvable
    │   ├── HostKeyUnknown          not in known_hosts (never added)
    │   ├── HostKeyChanged          known_hosts has another key
    │   ├── HostKeyRevoked          the key is marked @revoked
    │   ├── AuthRefused             key authentication refused or timed out
    │   ├── SSHTimeout              the host accepted TCP but did not speak SSH in time
    │   ├── SSHProtocolError        any other SSH failure
    │   ├── ConnectionLost          the connection closed mid-stream
    │   ├── TransportConfigError    the bot's own key or known_hosts file is unusable
    │   └── CommandDeadline         no time left within the host's deadline
    └── CampaignApiError            Campaign's SOAP API refused or failed (a finding, never a crash)

Expected failures on a host (down, slow, wrong key) become *findings* (status `error`, with the
`ErrorKind` of the exception); bad input and bad configuration become one line and exit code 2.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar


class ErrorKind(str, Enum):
    """Why a host could not be checked; selects the next step that fixes the bot's access."""

    UNREACHABLE = "unreachable"
    HOST_KEY_UNKNOWN = "host_key_unknown"
    HOST_KEY_CHANGED = "host_key_changed"
    HOST_KEY_REVOKED = "host_key_revoked"
    AUTH = "auth"
    TIMEOUT = "timeout"
    SILENT = "silent"  # TCP accepted, but no SSH server spoke: nothing was sent, nothing can have hung
    SSH = "ssh"
    CONNECTION_LOST = "connection_lost"
    CONFIG = "config"
    LOCAL = "local"
    RUN = "run"
    API = "api"
    INTERNAL = "internal"


class CampaignBotError(Exception):
    """Base class of every error the bot raises on purpose."""


class ConfigError(CampaignBotError):
    """A configuration file or setting is missing or invalid (names the file and field)."""


class KnowledgeError(ConfigError):
    """A knowledge-base file is invalid."""


class InventoryError(ConfigError):
    """The inventory file is missing or invalid."""


class StoreError(ConfigError):
    """The state store (SQLite file or Redis) cannot be opened, read or written."""


class JobLost(CampaignBotError):
    """This worker's lease on a job ran out and the job is another worker's now (this one was frozen or cut
    off longer than the lease): it must stop without recording, sending or posting anything more."""


def _shown(argument: str) -> str:
    """The argument as written, cut, with control and invisible characters shown as `?` (a terminal
    or Slack must see that something odd was typed, never act on it or hide it)."""
    shown = "".join(c if c.isprintable() else "?" for c in argument)
    return shown if len(shown) <= 60 else shown[:57] + "..."


class UnknownModuleError(CampaignBotError):
    """A module argument matches no module; carries the closest suggestions."""

    def __init__(self, argument: str, suggestions: list[str]) -> None:
        self.argument = argument
        self.suggestions = suggestions
        msg = f"unknown module {_shown(argument)!r}"
        if suggestions:
            msg += "; did you mean: " + ", ".join(suggestions) + "?"
        super().__init__(msg)


class UnknownNameError(CampaignBotError):
    """An environment, host or instance argument is not in the inventory."""

    def __init__(self, kind: str, argument: str, known: list[str]) -> None:
        self.kind = kind
        self.argument = argument
        self.known = known
        if not argument:
            msg = f"which {kind}? none was given and there is no default (pass --env, or set default_environment)"
        else:
            msg = f"unknown {kind} {_shown(argument)!r}"
        if known:
            msg += "; known: " + ", ".join(known)
        super().__init__(msg)


class TransportError(CampaignBotError):
    """A transport could not connect or run a command (turned into an `error` finding)."""

    kind: ClassVar[ErrorKind] = ErrorKind.SSH


class HostUnreachable(TransportError):
    kind = ErrorKind.UNREACHABLE


class HostKeyUnknown(TransportError):
    kind = ErrorKind.HOST_KEY_UNKNOWN


class HostKeyChanged(TransportError):
    kind = ErrorKind.HOST_KEY_CHANGED


class HostKeyRevoked(TransportError):
    kind = ErrorKind.HOST_KEY_REVOKED


class AuthRefused(TransportError):
    kind = ErrorKind.AUTH


class SSHTimeout(TransportError):
    kind = ErrorKind.TIMEOUT


class SSHSilent(SSHTimeout):
    """The host accepted the TCP connection but sent no SSH banner in time (sshd down behind a proxy or
    load balancer, another service on the port, a firewall holding the connection)."""

    kind = ErrorKind.SILENT


class SSHProtocolError(TransportError):
    kind = ErrorKind.SSH


class ConnectionLost(TransportError):
    kind = ErrorKind.CONNECTION_LOST


class TransportConfigError(TransportError):
    kind = ErrorKind.CONFIG


class LocalRunError(TransportError):
    kind = ErrorKind.LOCAL


class CommandDeadline(TransportError):
    kind = ErrorKind.TIMEOUT


class CampaignApiError(CampaignBotError):
    """Campaign's SOAP API could not be used: refused logon, HTTP or SOAP fault, bad reply."""

    kind: ClassVar[ErrorKind] = ErrorKind.API
