"""Settings: environment variables with the ``INTAKE_`` prefix, nested sections with ``__``.

Built once in ``main()`` and passed down; nothing reads the environment at import time.
Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import phonenumbers
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigError
from service.store_settings import DatabaseSettings, WebhookSettings, sqlite_url

if TYPE_CHECKING:  # specs load when a command needs flows, not for every start-up
    from flows.spec.catalog import FlowCatalog

ENV_PREFIX = "INTAKE_"
DEFAULT_DATA_DIR = Path("data")


class LiveKitSettings(BaseModel):
    url: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    agent_name: str = "intake"
    sip_outbound_trunk: str | None = None  # ST_... used to dial out and for warm transfers
    ringing_timeout: float = Field(default=30.0, gt=0, le=80)

    def credentials(self, needed_to: str) -> tuple[str, str, str]:
        """URL, API key and secret; ConfigError naming the first one unset."""
        url, key, secret = self.url, self.api_key, self.api_secret
        for name, value in (("URL", url), ("API_KEY", key), ("API_SECRET", secret)):
            if not value:
                raise ConfigError(f"INTAKE_LIVEKIT__{name}: needed to {needed_to}")
        assert url and key and secret
        return url, key.get_secret_value(), secret.get_secret_value()


class OpenAISettings(BaseModel):
    api_key: SecretStr | None = None
    model: str = "gpt-4.1-mini"
    base_url: str | None = None
    tts_model: str = "gpt-4o-mini-tts"
    tts_voice: str = "alloy"


class DeepgramSettings(BaseModel):
    api_key: SecretStr | None = None
    model: str = "nova-3"
    tts_model: str = "aura-2-thalia-en"


class VoiceSettings(BaseModel):
    """How a call sounds and waits: the speech pipeline and its telephony timings."""

    tts: Literal["openai", "deepgram"] = "openai"
    language: str = "en-US"
    no_input_timeout: float = Field(default=8.0, gt=0)  # silence before a re-prompt
    inter_digit_timeout: float = Field(default=4.0, gt=0)  # keypad entry ends after this
    min_endpointing_delay: float = Field(default=0.6, ge=0)
    max_endpointing_delay: float = Field(default=3.0, gt=0)
    answering_machine_detection: bool = True
    # auto: warm on LiveKit Cloud URLs, cold elsewhere (the merge needs MoveParticipant).
    transfer_mode: Literal["auto", "warm", "cold"] = "auto"
    transfer_timeout: float = Field(default=120.0, gt=0, le=900)  # ringing, briefing, merge
    max_call_duration: float = Field(default=1800.0, gt=0, le=14400)  # then wrapped up
    record: bool = False  # LiveKit Cloud session recording: off, answers are sensitive
    # Krisp telephony noise cancellation (LiveKit Cloud): auto = on when the URL is Cloud's.
    noise_cancellation: Literal["auto", "on", "off"] = "auto"


# Calls one worker takes at once when INTAKE_WORKER__MAX_CALLS is unset. A job process
# costs about 125 MB (PSS; 205 MB resident), a call in a thread about 15 MB of the worker's
# (bench/concurrent_calls.py); either way the worker itself about 250 MB.
DEFAULT_MAX_CALLS = {"thread": 25, "process": 10}


class WorkerSettings(BaseModel):
    idle_processes: int = Field(default=2, ge=0)
    drain_timeout: int = Field(default=1800, ge=0)  # seconds running calls may take to finish
    job_executor: Literal["process", "thread"] = "process"
    http_port: int = Field(default=8081, ge=0, le=65535)  # health checks; 0 picks a free one
    max_calls: int | None = Field(default=None, ge=1, le=500)  # unset: DEFAULT_MAX_CALLS
    # A job process above this (PSS, about 125 MB when idle) is killed; a warning comes at
    # 80 %. 0: no limit. Threads have none: they share the worker's memory.
    job_memory_limit_mb: int = Field(default=512, ge=0, le=65536)
    connect_retries: int = Field(default=16, ge=0, le=1000)  # to LiveKit, then exit 1

    @field_validator("job_memory_limit_mb")
    @classmethod
    def _room_for_a_call(cls, value: int) -> int:
        if 0 < value < 256:
            raise ValueError("0 (no limit) or at least 256: a job process starts near 125 MB")
        return value

    @property
    def call_limit(self) -> int:
        return self.max_calls or DEFAULT_MAX_CALLS[self.job_executor]


class ApiSettings(BaseModel):
    """``intake serve``: the HTTP API and the scheduler that runs inside it."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1024, le=100_000_000)  # JSON bodies
    max_csv_bytes: int = Field(default=20_000_000, ge=1024, le=1_000_000_000)  # uploads
    max_contacts: int = Field(default=100_000, ge=1, le=10_000_000)  # per campaign
    calls_per_minute: int = Field(default=600, ge=1, le=1_000_000)  # per key, unless set on it
    # The scheduler: how often it looks for due calls and results, and how fast one trunk
    # may dial (carriers enforce 1 call per second unless agreed otherwise).
    poll_interval: float = Field(default=0.5, gt=0, le=60)
    trunk_calls_per_second: float = Field(default=1.0, gt=0, le=100)
    # A dispatched call that no worker has started within this is given up and retried.
    dispatch_timeout: float = Field(default=120.0, gt=0, le=3600)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore", frozen=True
    )

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_pii: bool = False
    default_region: str = "US"
    transfer_to: str | None = None
    flows_dir: Path | None = None
    routes: dict[str, str] = {}  # dialed number (E.164) -> flow id, JSON
    default_flow: str | None = None  # inbound calls to a number not in routes
    # the default SQLite store and the spool of payloads the store could not take yet
    data_dir: Path = DEFAULT_DATA_DIR

    livekit: LiveKitSettings = LiveKitSettings()
    openai: OpenAISettings = OpenAISettings()
    deepgram: DeepgramSettings = DeepgramSettings()
    voice: VoiceSettings = VoiceSettings()
    worker: WorkerSettings = WorkerSettings()
    database: DatabaseSettings = DatabaseSettings()
    webhooks: WebhookSettings = WebhookSettings()
    api: ApiSettings = ApiSettings()

    @model_validator(mode="after")
    def _transfer_outlasts_its_ringing(self) -> Settings:
        if self.voice.transfer_timeout <= self.livekit.ringing_timeout:
            raise ValueError(
                "INTAKE_VOICE__TRANSFER_TIMEOUT must be longer than INTAKE_LIVEKIT__RINGING_TIMEOUT"
                " (the whole transfer includes the human's phone ringing)"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _database_in_data_dir(cls, data: Any) -> Any:
        """Without INTAKE_DATABASE__URL, the store is ``intake.db`` in the data directory."""
        if not isinstance(data, dict):
            return data
        database = data.get("database")
        if isinstance(database, DatabaseSettings) or (
            isinstance(database, dict) and database.get("url")
        ):
            return data
        data_dir = Path(str(data.get("data_dir") or DEFAULT_DATA_DIR))
        given = database if isinstance(database, dict) else {}
        return data | {"database": given | {"url": sqlite_url(data_dir / "intake.db")}}

    @field_validator("data_dir", mode="before")
    @classmethod
    def _a_directory_name(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():  # Path("") would be the cwd
            raise ValueError("expected a directory for the data, such as ./data or /var/lib/intake")
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not a phone region code such as US, GB or DE")
        return region

    @field_validator("transfer_to")
    @classmethod
    def _dialable(cls, value: str | None) -> str | None:
        if not value or value.startswith("sip:"):
            return value or None
        return _e164(value)

    @field_validator("routes")
    @classmethod
    def _route_numbers(cls, value: dict[str, str]) -> dict[str, str]:
        return {_e164(number): flow for number, flow in value.items()}


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(f"expected an E.164 number such as +14155550123, not {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def flow_catalog(settings: Settings) -> FlowCatalog:
    """The built-in flows plus those in INTAKE_FLOWS_DIR."""
    from flows.spec.catalog import FlowCatalog

    return FlowCatalog([settings.flows_dir] if settings.flows_dir else [])


def spool_dir(settings: Settings) -> Path:
    """Where final payloads wait for the store (``service.store.spool``)."""
    return settings.data_dir / "spool"


def prepare_data_dir(settings: Settings) -> Path:
    """Create INTAKE_DATA_DIR and its spool directory, and prove a file can be written
    there; returns the spool directory. ConfigError, naming the variable, if not."""
    spool = spool_dir(settings)
    try:
        spool.mkdir(parents=True, exist_ok=True)
        probe = spool / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        why = exc.strerror or exc.__class__.__name__
        raise ConfigError(f"INTAKE_DATA_DIR: cannot write to {spool}: {why}") from None
    return spool


def load_settings() -> Settings:
    """Read the environment; a bad value raises ConfigError naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings names its variables itself
            raise ConfigError(message) from None
        name = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
        raise ConfigError(f"{name}: {message}") from None
