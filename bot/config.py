"""Settings from the environment (and `.env`), validated with pydantic-settings.

Secrets are `SecretStr`: they never show in logs or reprs. Everything but the Slack credentials has
a default. `CampaignBotError`s raised here become one clear line and exit 2 in `bot/__main__.py`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

_TOKEN_PREFIX = {"slack_bot_token": ("xoxb-", "a bot token"), "slack_app_token": ("xapp-", "an app-level token")}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(3000, ge=1, le=65535)
    host: str = "0.0.0.0"  # noqa: S104 - the HTTP endpoint must be reachable by Slack
    campaign_bot_inventory: str | None = None
    campaign_bot_env: str | None = None
    campaign_bot_knowledge: str | None = None
    campaign_bot_audit_log: str = "campaign-bot-audit.jsonl"
    campaign_bot_state_db: str = "campaign-bot-state.sqlite3"  # event dedupe, shared by all workers
    campaign_bot_support_channels: str = ""  # comma-separated channel IDs where every message is answered
    campaign_bot_workers: int = Field(8, ge=1, le=64)
    campaign_bot_threads: int = Field(8, ge=1, le=64)  # HTTP server threads
    campaign_bot_concurrency: int = Field(64, ge=1, le=1024)  # hosts checked at once in one run
    campaign_bot_redis_url: SecretStr | None = None  # redis://host:port/db: shared state and job queue (scale-out)
    campaign_bot_alert_token: SecretStr | None = None  # bearer token of POST /alerts/alertmanager and /alerts/grafana
    campaign_bot_alert_channel: str | None = None  # where alerts go when the environment has no watch.channel
    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        level = v.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("slack_api_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("campaign_bot_redis_url")
    @classmethod
    def _redis(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if not v.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// (or rediss://, unix://) URL, e.g. redis://localhost:6379/0")
        return v

    @field_validator("campaign_bot_alert_token")
    @classmethod
    def _alert_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if len(v.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (a random token)")
        return v

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token")
    @classmethod
    def _secret(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """An empty value means "not set"; tokens must have the prefix of their kind."""
        if v is None or not v.get_secret_value():
            return None
        prefix, kind = _TOKEN_PREFIX.get(info.field_name or "", ("", ""))
        if prefix and not v.get_secret_value().startswith(prefix):
            raise ValueError(f"must be {kind} ({prefix}...)")
        return v

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def support_channels(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.campaign_bot_support_channels.split(",") if c.strip())

    def require_slack(self) -> None:
        """Slack mode needs the bot token, and the signing secret unless Socket Mode is used."""
        if self.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set (a bot token, xoxb-...)")
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set (needed for HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)"
            )


def load_settings(env_file: str | None = ".env") -> Settings:
    try:
        return Settings(_env_file=env_file)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(x) for x in first["loc"]).upper()
        raise ConfigError(f"setting {field}: {first['msg']}") from e
