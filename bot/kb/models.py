"""Frozen pydantic models of the knowledge base (one YAML file per module in `bot/knowledge/modules`)."""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.kb.placeholders import fill

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
    # Campaign's own API (bot/checks/api_*.py): a workflow failed / paused / late, a delivery stuck,
    # monitor.jsp reporting a problem.
    "workflow_failed",
    "workflow_paused",
    "workflow_late",
    "delivery_stuck",
    "monitoring_failed",
    # Host facts over SSH (bot/checks/*.py, issue 7): pdump blind while nlserver runs, a silent log,
    # the front serving /r/test, mtachild memory, core files, clocks, TMPDIR, system indicators,
    # IP affinities.
    "wrong_user",
    "log_silent",
    "redir_failed",
    "front_unreachable",
    "front_redirect",
    "tls_error",
    "redirect_loop",
    "mtachild_memory",
    "core_file",
    "clock_skew",
    "tmp_cross_device",
    "swap_high",
    "files_high",
    "load_high",
    "zombies",
    "shm_segments",
    "affinity_mismatch",
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

    `command` is a fixed template; only `{instance}`, `{module}` and `{host}` are filled in, with
    values validated against the knowledge base and inventory; paths relative to the install root
    (`var/...`, `conf/...`) are anchored on the host's. In `text`, `<instance>` and `<nl_home>` are
    replaced when the diagnosis knows them (and `var/`, `conf/` anchored for a known host); the
    module card shows them as they are.

    `when` is matched against the conditions of the module's findings on a host; `unless` also
    against the host's own conditions (a host check such as `tmp_device` covering the same fix).
    `generic` marks a catch-all remedy for `log_errors` (a restart, a verbose restart): it is not
    offered for log errors that steps with an `evidence` pattern explain, every error entry shown
    matching one of them; its other `when` conditions (an old or oversized process) still select it.
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
    generic: bool = False  # a catch-all for log_errors, dropped when specific steps explain the errors

    @model_validator(mode="after")
    def _generic(self) -> Step:
        if self.generic and (self.evidence is not None or "log_errors" not in self.when):
            raise ValueError("generic: only for a step selected by log_errors without an evidence pattern")
        return self

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
    # Where Adobe says one process of this per-instance module may serve several instances (stat: "keep
    # one stat and disable the others"): then an instance whose own is enabled nowhere is no warning
    # while another instance's runs or is enabled in the environment.
    shared_by_instances: str | None = None

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
        return [fill(lf.path, module=self.name, instance=inst, paths="never") for lf in self.logs]


class Lexicon(Frozen):
    """Shared vocabulary: concept groups (`@MAIL`), words never typo-corrected, words of unrelated IT
    (which count against a match unless a module is named), and Campaign context words."""

    concepts: dict[str, tuple[str, ...]]
    common_words: tuple[str, ...] = ()
    offtopic_words: tuple[str, ...] = ()
    context_words: dict[str, float] = Field(default_factory=dict)
    environment_words: tuple[str, ...] = ()
    # What a host-level check looks at (disk, memory, clock, cores): a question made only of these and
    # general words ("disk full", "klok loopt achter") is about every host's health, not a module.
    host_words: tuple[str, ...] = ()
    # Prefixes of Campaign's documented error codes (`PGS-220000`): a question quoting one is about
    # Campaign, whatever else it says.
    error_code_prefixes: tuple[str, ...] = ()


# --- Campaign's own API (issue 10): bot/knowledge/campaign-api.yaml -------------------------------

_API_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_SCHEMA_RE = re.compile(r"^[a-z][a-zA-Z0-9]*:[a-zA-Z][a-zA-Z0-9]*$")
_ATTR_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def _schema(v: str) -> str:
    if not _SCHEMA_RE.match(v):
        raise ValueError("must be a Campaign schema name such as 'xtk:workflow'")
    return v


class WorkflowQuery(Frozen):
    """How workflows in trouble are selected in `xtk:workflow` (documented values)."""

    schema_: str = Field("xtk:workflow", alias="schema")
    paused_state: int = Field(ge=0, le=255)
    stopped_state: int = Field(ge=0, le=255)
    source: str
    max_rows: int = Field(200, ge=1, le=10000)

    @field_validator("schema_")
    @classmethod
    def _schema(cls, v: str) -> str:
        return _schema(v)


class TechnicalWorkflow(Frozen):
    """A technical workflow to watch: its internal name, the module that brings it in, its period."""

    name: str
    label: str
    module: str
    period: str
    late_after_s: int | None = Field(None, ge=60)
    source: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _API_NAME_RE.match(v):
            raise ValueError("must be a workflow internal name (letters, digits, '_')")
        return v


class JournalQuery(Frozen):
    """Where a workflow's journal (last run) is read; `assumed` when Adobe does not document it."""

    schema_: str = Field(alias="schema")
    date_attribute: str
    workflow_key: str
    assumed: bool = False
    source: str

    @field_validator("schema_")
    @classmethod
    def _schema(cls, v: str) -> str:
        return _schema(v)

    @field_validator("date_attribute", "workflow_key")
    @classmethod
    def _attr(cls, v: str) -> str:
        if not _ATTR_RE.match(v):
            raise ValueError("must be an attribute name (letters, digits, '_', '-')")
        return v


class DeliveryState(Frozen):
    value: int = Field(ge=0, le=255)
    name: str
    label: str
    group: Literal["pending", "preparation", "waiting_user", "other"]


class DeliveryQuery(Frozen):
    """How stuck deliveries are selected in `nms:delivery`: the state enumeration and its source."""

    schema_: str = Field("nms:delivery", alias="schema")
    max_preparation_s: int = Field(3600, ge=60)
    max_preparation_source: str
    max_rows: int = Field(200, ge=1, le=10000)
    states_source: str
    states_assumed: bool = True
    states: tuple[DeliveryState, ...] = Field(min_length=1)

    @field_validator("schema_")
    @classmethod
    def _schema(cls, v: str) -> str:
        return _schema(v)

    @model_validator(mode="after")
    def _unique(self) -> DeliveryQuery:
        values = [s.value for s in self.states]
        if len(set(values)) != len(values):
            raise ValueError("states: two states share a value")
        return self

    def group(self, name: str) -> tuple[DeliveryState, ...]:
        return tuple(s for s in self.states if s.group == name)

    def state(self, value: int) -> DeliveryState | None:
        return next((s for s in self.states if s.value == value), None)


class CampaignApiKnowledge(Frozen):
    """`campaign-api.yaml`: what the API checks read, with the source of every value."""

    workflows: WorkflowQuery
    technical_workflows: tuple[TechnicalWorkflow, ...] = Field(min_length=1)
    journal: JournalQuery
    deliveries: DeliveryQuery

    @model_validator(mode="after")
    def _unique_workflows(self) -> CampaignApiKnowledge:
        names = [w.name for w in self.technical_workflows]
        if len(set(names)) != len(names):
            raise ValueError("technical_workflows: two entries share a name")
        return self

    def technical(self, name: str) -> TechnicalWorkflow | None:
        return next((w for w in self.technical_workflows if w.name == name), None)


class KnowledgeBase(Frozen):
    modules: tuple[Module, ...]
    lexicon: Lexicon
    campaign_api: CampaignApiKnowledge | None = None  # campaign-api.yaml, when the folder has one

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
        if self.campaign_api is not None:
            for w in self.campaign_api.technical_workflows:
                if w.module not in names:
                    raise ValueError(f"campaign-api.yaml: technical_workflows.{w.name}.module {w.module!r} is unknown")
        return self

    def get(self, name: str) -> Module:
        for m in self.modules:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.modules]
