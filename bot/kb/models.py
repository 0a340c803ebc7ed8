"""Frozen pydantic models of the knowledge base (one YAML file per module in `bot/knowledge/modules`)."""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Risk(str, Enum):
    """Whether running a step changes anything on the server."""

    READ_ONLY = "read-only"
    CHANGES_STATE = "changes-state"


# What a check can find; next steps are selected by these conditions.
Condition = Literal[
    "always",
    "not_running",
    "not_configured",
    "no_tasks",
    "log_errors",
    "memory_high",
    "too_old",
    "port_closed",
    "disk_full",
    "health_failed",
    "tracking_stale",
    "host_error",
    "cannot_tell",
]


class DocLink(Frozen):
    title: str
    url: str

    @field_validator("url")
    @classmethod
    def _https(cls, v: str) -> str:
        if not v.startswith("https://"):
            raise ValueError("must be an https:// URL")
        return v


class Port(Frozen):
    port: int = Field(ge=1, le=65535)
    proto: Literal["tcp", "udp"]
    direction: Literal["listen", "outbound"]
    note: str = ""
    check: bool = False  # listen ports the `ports` check verifies on the host


class LogFile(Frozen):
    """A log file, relative to the install root; `{instance}` is filled per instance."""

    path: str
    note: str = ""
    unconfirmed: bool = False

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        if v.startswith("/") or ".." in v.split("/"):
            raise ValueError("must be relative to the install root, without '..'")
        if not re.fullmatch(r"[A-Za-z0-9_./{}-]+", v):
            raise ValueError("may only contain letters, digits, '_', '.', '/', '-' and {instance}")
        return v


class Step(Frozen):
    """A troubleshooting step or documented remedy.

    `command` is a fixed template; only `{instance}` and `{module}` are filled in, with
    values validated against the knowledge base and inventory.
    """

    id: str
    text: str
    command: str | None = None
    risk: Risk
    when: tuple[Condition, ...] = ("always",)
    unless: tuple[Condition, ...] = ()  # e.g. no "restart" advice for a module that is not running
    evidence: str | None = None  # regex: only when a finding's evidence matches (an error code, a message)
    source: str = ""
    unconfirmed: bool = False

    @field_validator("evidence")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a valid regular expression: {e}") from e
        return v

    @field_validator("command")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is None:
            return v
        for field in re.findall(r"{([^}]*)}", v):
            if field not in ("instance", "module", "host"):
                raise ValueError(f"unknown placeholder {{{field}}} (allowed: instance, module, host)")
        return v


class Symptoms(Frozen):
    en: tuple[str, ...] = Field(min_length=1)
    nl: tuple[str, ...] = Field(min_length=1)


class Module(Frozen):
    """One Campaign module (a `nlserver` process or utility)."""

    name: str  # canonical, exactly as Campaign writes it (inMail)
    title: str
    executes: str
    kind: Literal["daemon", "utility", "child"]
    scope: Literal["server", "instance"]
    description: str
    config_file: str | None = None  # where autoStart lives: config-default.xml or config-{instance}.xml
    ports: tuple[Port, ...] = ()
    logs: tuple[LogFile, ...] = ()
    related: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    symptoms: Symptoms
    signals: dict[str, float] = Field(default_factory=dict)
    checks: tuple[str, ...] = ()  # names of module checks in bot/checks/ (validated against the registry)
    steps: tuple[Step, ...] = ()
    docs: tuple[DocLink, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError("must be a plain identifier such as 'mta' or 'inMail'")
        return v

    @field_validator("signals")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        for term, w in v.items():
            if not 0 < w <= 5:
                raise ValueError(f"weight of {term!r} must be in (0, 5]")
        return v

    @model_validator(mode="after")
    def _unique_steps(self) -> Module:
        ids = [s.id for s in self.steps]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate step ids: {sorted(dupes)}")
        return self

    def process_name(self, instance: str | None) -> str:
        """The name `nlserver pdump` shows: `watchdog`, `web@default`, `mta@<instance>`."""
        if self.name == "watchdog":
            return "watchdog"
        if self.scope == "server":
            return f"{self.name}@default"
        return f"{self.name}@{instance or 'default'}"

    def log_paths(self, instance: str | None) -> list[str]:
        inst = instance if self.scope == "instance" and instance else "default"
        return [lf.path.replace("{instance}", inst) for lf in self.logs]


class Lexicon(Frozen):
    """Shared vocabulary: concept groups (`@MAIL`), words never typo-corrected, words of unrelated IT
    (which count against a match unless a module is named), and Campaign context words."""

    concepts: dict[str, tuple[str, ...]]
    common_words: tuple[str, ...] = ()
    offtopic_words: tuple[str, ...] = ()
    context_words: dict[str, float] = Field(default_factory=dict)
    environment_words: tuple[str, ...] = ()


class KnowledgeBase(Frozen):
    modules: tuple[Module, ...]
    lexicon: Lexicon

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeBase:
        names = [m.name for m in self.modules]
        lowered = [n.lower() for n in names]
        if len(set(lowered)) != len(lowered):
            raise ValueError("two modules share a name")
        for m in self.modules:
            for r in m.related:
                if r not in names:
                    raise ValueError(f"module {m.name}: related module {r!r} is not in the knowledge base")
        return self

    def get(self, name: str) -> Module:
        for m in self.modules:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.modules]
