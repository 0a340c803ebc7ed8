"""The inventory: environments, their Campaign instances, hosts and access rules (YAML, validated).

Found through `--inventory PATH`, else `CAMPAIGN_BOT_INVENTORY`, else `./inventory.yaml`. Every
validation error names the file and the field (`environments.prod.hosts.1.port`).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import InventoryError, KnowledgeError, UnknownNameError
from bot.kb.loader import read_yaml

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ADDRESS_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$")
PATH_RE = re.compile(r"^/[A-Za-z0-9_./+-]*$")
SLACK_ID_RE = re.compile(r"^[A-Z][A-Z0-9]{2,20}$")
ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_URL_SAFE = re.compile(r"^[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+$")
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)?\s*$", re.I)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _safe_name(v: str, what: str = "name") -> str:
    if not NAME_RE.match(v):
        raise ValueError(f"{what} may only hold letters, digits, '.', '_' and '-' (at most 63)")
    return v


def http_url(v: str, what: str = "URL") -> str:
    """An http(s) URL with a host and nothing a shell or a log could misread; no credentials in it."""
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL with a host name")
    if not _URL_SAFE.match(v) or parts.username or parts.password:
        raise ValueError(f"{what} must be a plain URL (no spaces, quotes or credentials)")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must not carry a query or a fragment")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 and parts.netloc.rsplit("]", 1)[-1].count(":"):
        raise ValueError(f"{what} has a port that is not a number from 1 to 65535")
    return v.rstrip("/")


def parse_interval(v: str | float | int) -> float:
    """`30s`, `5m`, `1h`, or a number of seconds; at least 1 s."""
    if isinstance(v, bool):
        raise ValueError("must be an interval such as 30s, 5m or 1h")
    if isinstance(v, (int, float)):
        seconds = float(v)
        if not math.isfinite(seconds):  # YAML's .nan and .inf
            raise ValueError("must be an interval such as 30s, 5m or 1h (not .nan or .inf)")
    else:
        m = _INTERVAL_RE.match(v)
        if not m:
            raise ValueError("must be an interval such as 30s, 5m or 1h")
        unit = (m.group(2) or "s")[0].lower()
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[unit]
    if seconds < 1:
        raise ValueError("must be at least 1 s")
    return seconds


class HostSettings(_Frozen):
    """Settings every host inherits from `defaults` and may override."""

    user: str = "neolane"
    port: int = Field(22, ge=1, le=65535)
    key_file: str = "~/.ssh/campaign-bot_ed25519"
    known_hosts: str = "~/.ssh/known_hosts"
    nl_home: str = "/usr/local/neolane/nl6"
    connect_timeout_s: float = Field(5, gt=0, le=120)
    command_timeout_s: float = Field(15, gt=0, le=600)
    front_url: str = "http://localhost"  # the web server front (Apache/IIS) that serves /r/test, fetched on the host
    tomcat_port: int = Field(8080, ge=1, le=65535)  # Tomcat: /nl/jsp/ping.jsp
    log_window_min: int = Field(60, ge=1, le=10080)
    tracking_stale_min: int = Field(90, ge=1, le=10080)

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_.-]{0,31}", v):
            raise ValueError("must be a plain Unix user name")
        return v

    @field_validator("front_url")
    @classmethod
    def _front_url(cls, v: str) -> str:
        return http_url(v, "front_url")

    @field_validator("nl_home")
    @classmethod
    def _nl_home(cls, v: str) -> str:
        if not PATH_RE.match(v) or ".." in v.split("/"):
            raise ValueError("must be an absolute path of letters, digits, '_', '.', '-', '+' and '/'")
        return v.rstrip("/") or "/"


class Host(HostSettings):
    name: str
    address: str | None = None
    transport: Literal["ssh", "local"] = "ssh"
    # What the host runs, overriding its own config (autoStart): `mta` (every instance) or, on a host
    # that runs a module for one instance only, `mta@prod2`.
    modules: tuple[str, ...] | None = None
    simulated: bool = False  # set only for the built-in simulated fleet
    env_path: str | None = None  # local transport: directories put first on PATH (simulator)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _safe_name(v, "host name")

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not ADDRESS_RE.match(v):
            raise ValueError("must be a host name or an IP address")
        return v

    @field_validator("modules")
    @classmethod
    def _modules(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for m in v or ():
            name, at, inst = m.partition("@")
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or (at and not INSTANCE_RE.match(inst)):
                raise ValueError(f"{m!r} is not a module name (`mta`) or a module of one instance (`mta@prod`)")
        return v

    def lists_module(self, name: str, instance: str | None = None) -> bool:
        """Whether `modules` names module `name` (any case): `mta` for every instance; `mta@prod2` only
        for that instance (with `instance` None: for any instance). False when there is no `modules`."""
        for m in self.modules or ():
            mod, at, inst = m.partition("@")
            if mod.lower() == name.lower() and (not at or instance is None or inst.lower() == instance.lower()):
                return True
        return False

    @model_validator(mode="after")
    def _needs_address(self) -> Host:
        if self.transport == "ssh" and not self.address:
            raise ValueError("address is required for transport 'ssh'")
        return self

    @property
    def deadline_s(self) -> float:
        """One deadline for all of the host's checks."""
        return self.connect_timeout_s + self.command_timeout_s

    def expand(self, path: str) -> Path:
        return Path(os.path.expanduser(path))


class Access(_Frozen):
    """Who may run checks: Slack user, user-group and channel IDs."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @field_validator("users", "groups", "channels")
    @classmethod
    def _ids(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i in v:
            if not SLACK_ID_RE.match(i):
                raise ValueError(f"{i!r} is not a Slack ID (like U0123ABCD, S0123ABCD or C0123ABCD)")
        return v

    @property
    def empty(self) -> bool:
        return not (self.users or self.groups or self.channels)


class CampaignApi(_Frozen):
    """Campaign's own API for one environment (read-only): soaprouter.jsp, ping.jsp, monitor.jsp.

    Secrets never live in the inventory: `password_env` / `session_token_env` name environment
    variables read when the API is used.
    """

    url: str
    login: str | None = None
    password_env: str | None = None
    session_token_env: str | None = None
    tls_verify: bool = True
    timeout_s: float = Field(10, gt=0, le=120)  # per call; the environment's calls share one deadline of 3 x this
    # Deliveries waiting or preparing longer than this are stuck (the instance's maxPreparationJobsSec;
    # default: the knowledge's, Campaign's packaged 3600 s). Seconds, or 30m / 2h.
    max_preparation_s: float | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        url = http_url(v, "url")
        if "/nl/jsp/" in urlsplit(url).path:
            raise ValueError(
                "must be the application server's address (https://host[:port]), without /nl/jsp/soaprouter.jsp: "
                "the bot adds the page's path itself"
            )
        return url

    @field_validator("max_preparation_s", mode="before")
    @classmethod
    def _max_preparation(cls, v: object) -> float | None:
        return None if v is None else parse_interval(v)  # type: ignore[arg-type]

    @field_validator("login")
    @classmethod
    def _login(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", v):
            raise ValueError("must be an operator login (letters, digits, '_', '.', '@', '-')")
        return v

    @field_validator("password_env", "session_token_env")
    @classmethod
    def _env_var(cls, v: str | None) -> str | None:
        if v is not None and not ENV_VAR_RE.match(v):
            raise ValueError("must be the name of an environment variable (the secret itself never goes in the file)")
        return v

    @model_validator(mode="after")
    def _one_way_in(self) -> CampaignApi:
        if self.session_token_env is None and (self.login is None or self.password_env is None):
            raise ValueError("needs login and password_env, or session_token_env")
        if self.session_token_env is not None and self.password_env is not None:
            raise ValueError("give either password_env (with login) or session_token_env, not both")
        return self


class Watch(_Frozen):
    """Scheduled checks of one environment: how often, where alert threads go, which modules."""

    every: float | None = None  # seconds; written as 30s, 5m, 1h
    cron: str | None = None  # "*/5 * * * *" (minute hour day month weekday)
    channel: str | None = None
    modules: tuple[str, ...] | None = None  # default: every module the hosts run
    flap_threshold: int = Field(4, ge=2, le=100)  # state changes within flap_window that make a problem "flapping"
    flap_window: float = 3600.0

    @field_validator("every", "flap_window", mode="before")
    @classmethod
    def _interval(cls, v: object) -> float | None:
        if v is None:
            return None
        if not isinstance(v, (str, int, float)):
            raise ValueError("must be an interval such as 30s, 5m or 1h")
        return parse_interval(v)

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from bot.schedule import parse_cron

        parse_cron(v)  # raises ValueError with the field that is wrong
        return " ".join(v.split())

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v is not None and not SLACK_ID_RE.match(v):
            raise ValueError(f"{v!r} is not a Slack channel ID (like C0123ABCD)")
        return v

    @model_validator(mode="after")
    def _when(self) -> Watch:
        if (self.every is None) == (self.cron is None):
            raise ValueError('give either every (30s, 5m, 1h) or cron ("*/5 * * * *")')
        return self


class Environment(_Frozen):
    name: str
    aliases: tuple[str, ...] = ()  # other names people use: production, productie, prd
    instances: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # Slack channels whose questions default to this environment
    hosts: tuple[Host, ...] = Field(min_length=1)
    protected: bool = False
    access: Access = Access()
    actions: Literal["enabled", "disabled"] = "disabled"
    operators: tuple[str, ...] = ()
    campaign_api: CampaignApi | None = None
    watch: Watch | None = None
    simulated: bool = False

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for a in v:
            _safe_name(a, "alias")
        return tuple(a.lower() for a in v)

    @field_validator("instances")
    @classmethod
    def _instances(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i in v:
            if not INSTANCE_RE.match(i):
                raise ValueError(f"instance {i!r} may only hold letters, digits, '_' and '-'")
        return v

    @model_validator(mode="after")
    def _unique_hosts(self) -> Environment:
        names = [h.name for h in self.hosts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate host names: {dupes}")
        return self

    def known_instance(self, name: str) -> str | None:
        """The inventory's spelling of instance `name`, matched in any case (`PROD2` is `prod2`, as
        pdump and `monitor -missing` are read); None when the inventory lists no such instance."""
        for i in self.instances:
            if i.lower() == name.lower():
                return i
        return None

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise UnknownNameError("host", name, [h.name for h in self.hosts])


class Inventory(_Frozen):
    environments: dict[str, Environment]
    default_environment: str | None = None
    source: str = ""
    simulated: bool = False

    def environment(self, name: str | None) -> Environment:
        """The named environment (by name or alias, any case), else the default one, else the only one."""
        if name is None:
            name = self.default_environment or (next(iter(self.environments)) if len(self.environments) == 1 else None)
            if name is None:
                raise UnknownNameError("environment", "", sorted(self.environments))
        found = self.find_environment(name)
        if found is None:
            raise UnknownNameError("environment", name, sorted(self.environments))
        return found

    def find_environment(self, name: str) -> Environment | None:
        """The environment called `name` or having it as an alias (case-insensitive), else None."""
        if name in self.environments:
            return self.environments[name]
        low = name.lower()
        for env in self.environments.values():
            if env.name.lower() == low or low in env.aliases:
                return env
        return None

    def environment_names(self) -> dict[str, str]:
        """Every name and alias, lower-cased, to the environment's name."""
        out: dict[str, str] = {}
        for env in self.environments.values():
            out[env.name.lower()] = env.name
            for a in env.aliases:
                out.setdefault(a, env.name)
        return out

    def host_named(self, name: str) -> tuple[Environment, Host] | None:
        """The (environment, host) with this host name (case-insensitive), if exactly one has it."""
        low = name.lower()
        found = [(e, h) for e in self.environments.values() for h in e.hosts if h.name.lower() == low]
        return found[0] if len(found) == 1 else None

    def environment_for_channel(self, channel: str) -> str | None:
        for env in self.environments.values():
            if channel in env.channels:
                return env.name
        return None


def parse_inventory(data: Any, source: str) -> Inventory:
    """Validate raw YAML data: `defaults` merged into every host, then the models."""
    if not isinstance(data, dict):
        raise InventoryError(f"{source}: (top level): expected a mapping with 'environments'")
    unknown = set(data) - {"defaults", "environments", "default_environment"}
    if unknown:
        raise InventoryError(f"{source}: {sorted(unknown)[0]}: unknown field (expected defaults, environments)")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InventoryError(f"{source}: defaults: expected a mapping")
    try:
        HostSettings.model_validate(defaults)
    except ValidationError as e:
        raise InventoryError(_prefixed(source, "defaults", e)) from e
    envs_raw = data.get("environments")
    if not isinstance(envs_raw, dict) or not envs_raw:
        raise InventoryError(f"{source}: environments: expected a mapping of at least one environment")
    envs: dict[str, Environment] = {}
    for env_name, env_raw in envs_raw.items():
        where = f"environments.{env_name}"
        if not isinstance(env_name, str) or not NAME_RE.match(env_name):
            raise InventoryError(f"{source}: {where}: environment name may only hold letters, digits, '.', '_', '-'")
        if not isinstance(env_raw, dict):
            raise InventoryError(f"{source}: {where}: expected a mapping with 'hosts'")
        hosts_raw = env_raw.get("hosts")
        if not isinstance(hosts_raw, list) or not hosts_raw:
            raise InventoryError(f"{source}: {where}.hosts: expected a list of at least one host")
        merged_hosts = []
        for i, h in enumerate(hosts_raw):
            if not isinstance(h, dict):
                raise InventoryError(f"{source}: {where}.hosts.{i}: expected a mapping with name and address")
            merged_hosts.append({**defaults, **h})
        try:
            envs[env_name] = Environment.model_validate({**env_raw, "name": env_name, "hosts": merged_hosts})
        except ValidationError as e:
            raise InventoryError(_prefixed(source, where, e)) from e
    default_env = data.get("default_environment")
    if default_env is not None and default_env not in envs:
        raise InventoryError(f"{source}: default_environment: {default_env!r} is not one of {sorted(envs)}")
    names: dict[str, str] = {n.lower(): n for n in envs}
    for env in envs.values():
        for i, alias in enumerate(env.aliases):
            if alias in names and names[alias] != env.name:
                raise InventoryError(
                    f"{source}: environments.{env.name}.aliases.{i}: {alias!r} already names environment {names[alias]!r}"
                )
            names[alias] = env.name
    return Inventory(environments=envs, default_environment=default_env, source=source)


def _prefixed(source: str, prefix: str, err: ValidationError) -> str:
    """One line per problem, `file: field.path: message`. A list that is "too short" only because
    one of its items failed (pydantic reports both) is left out: the item's line says what is wrong."""
    errors = err.errors()
    failed = [tuple(e["loc"]) for e in errors]
    lines = []
    for e in errors:
        here = tuple(e["loc"])
        if e["type"] == "too_short" and any(len(f) > len(here) and f[: len(here)] == here for f in failed):
            continue
        loc = ".".join(str(p) for p in (prefix, *e["loc"]))
        lines.append(f"{source}: {loc}: {e['msg']}")
    return "\n".join(lines)


def find_inventory_path(explicit: str | None, env_value: str | None, cwd: Path | None = None) -> Path | None:
    """`--inventory`, else CAMPAIGN_BOT_INVENTORY, else ./inventory.yaml if it exists, else None."""
    if explicit:
        return Path(explicit)
    if env_value:
        return Path(env_value)
    candidate = (cwd or Path.cwd()) / "inventory.yaml"
    return candidate if candidate.is_file() else None


def load_inventory(path: Path) -> Inventory:
    if not path.is_file():
        raise InventoryError(f"{path}: inventory file not found")
    try:
        data = read_yaml(path)
    except KnowledgeError as e:
        raise InventoryError(str(e)) from e
    return parse_inventory(data, str(path))
