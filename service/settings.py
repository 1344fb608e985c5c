"""Settings: environment variables with the ``INTAKE_`` prefix, nested sections with ``__``.

The store's and webhook delivery's (``INTAKE_DATABASE__*``, ``INTAKE_WEBHOOKS__*``) are
validated here too, so that a bad endpoint fails at start with the variable's name, never
at the first delivery. Lists are JSON (``INTAKE_WEBHOOKS__ENDPOINTS='[{...}]'``).

Built once in ``main()`` and passed down; nothing reads the environment at import time.
Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from flows.errors import AnswerError, one_line_reason, os_reason
from service.errors import ConfigError

if TYPE_CHECKING:  # specs load when a command needs flows, not for every start-up
    from flows.spec.catalog import FlowCatalog

ENV_PREFIX = "INTAKE_"
DEFAULT_DATA_DIR = Path("data")
# Standard Webhooks keys: 24 bytes at least (192 bits), 64 at most
WHSEC_BYTES = (24, 64)

# Seconds before each attempt: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h
# (about three days from the first attempt to the last).
DEFAULT_SCHEDULE = [0.0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


# Numbers are finite (NaN and infinities are refused) in every section.
FINITE = ConfigDict(allow_inf_nan=False)
WEEK = 7 * 86400.0


def _json_list(value: Any) -> Any:
    """Decode a JSON list ourselves, so that bad JSON is a validation error naming the field."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(_not_json(exc)) from None


def _not_json(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON ({exc.msg} at character {exc.pos})"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class DatabaseSettings(BaseModel):
    model_config = FINITE
    # Settings puts the default file in INTAKE_DATA_DIR; this is that default's default.
    url: str = sqlite_url(Path("data/intake.db"))

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value.startswith("sqlite+aiosqlite:///"):  # the default's form: no SQLAlchemy at start
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
            backend = url.get_backend_name()
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            backend = None
        if backend not in {"sqlite", "postgresql"}:
            raise ValueError("expected a sqlite:///PATH or postgresql://HOST/DATABASE URL")
        if backend == "postgresql":
            from service.libpq import libpq_options

            libpq_options(url.query)  # sslmode=require and the like; ValueError names one
        return value


class EndpointSettings(BaseModel):
    """One receiver: its URL, the secrets it is signed with, the flows it wants."""

    model_config = FINITE

    url: str
    secrets: list[SecretStr] = Field(min_length=1)  # several during a rotation; all sign
    flows: list[str] | None = None  # None: every flow

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, value: list[SecretStr]) -> list[SecretStr]:
        for position, secret in enumerate(value):
            text = secret.get_secret_value()
            try:
                if not text.startswith("whsec_"):
                    raise ValueError
                key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
            except ValueError:  # binascii.Error is a ValueError
                raise ValueError(f"secret {position} must be whsec_ followed by base64") from None
            if not WHSEC_BYTES[0] <= len(key) <= WHSEC_BYTES[1]:
                raise ValueError(
                    f"secret {position} must decode to {WHSEC_BYTES[0]}-{WHSEC_BYTES[1]} bytes"
                    f" (it decodes to {len(key)})"
                )
        return value

    def wants(self, flow: str) -> bool:
        return self.flows is None or flow in self.flows


class WebhookSettings(BaseModel):
    model_config = FINITE

    # Receivers inside the operator's own network (private addresses); off: refused.
    # Before the endpoints: their check reads it.
    allow_private: bool = False
    endpoints: Annotated[list[EndpointSettings], NoDecode] = []
    # seconds before each attempt, after the previous one failed; its length is the attempts
    schedule: Annotated[list[float], NoDecode] = DEFAULT_SCHEDULE
    jitter: float = Field(default=0.2, ge=0, lt=1)  # retry delays vary by up to this fraction
    attempt_timeout: float = Field(default=15.0, gt=0, le=300)  # seconds for one POST
    concurrency: int = Field(default=32, ge=1, le=1000)  # attempts in flight, per process
    poll_interval: float = Field(default=0.25, gt=0, le=60)  # between looks at the outbox
    heartbeat_interval: float = Field(default=10.0, gt=0, le=3600)  # a live call says it lives
    orphan_after: float = Field(default=60.0, gt=0, le=WEEK)  # no heartbeat: finalised
    sweep_interval: float = Field(default=10.0, gt=0, le=3600)  # between looks for orphans
    health_port: int | None = Field(default=None, ge=1, le=65535)  # intake deliver's /healthz

    @field_validator("endpoints", mode="wrap")
    @classmethod
    def _endpoints(cls, value: Any, handler: Any, info: ValidationInfo) -> list[EndpointSettings]:
        # One message under the variable's own name, INTAKE_WEBHOOKS__ENDPOINTS, saying which
        # entry is wrong; neither a secret nor the URL (it may hold a token) appears in it.
        try:
            endpoints: list[EndpointSettings] = handler(_json_list(value))
        except ValidationError as exc:
            raise ValueError(one_line_reason(exc, template="[{where}]: {what}")) from None
        from service.webhook_targets import check_endpoint_url

        allow_private = bool(info.data.get("allow_private"))
        for position, endpoint in enumerate(endpoints):
            problem = check_endpoint_url(endpoint.url, allow_private=allow_private)
            if problem:
                raise ValueError(f"[{position}.url]: {problem}")
        urls = [endpoint.url for endpoint in endpoints]
        if len(set(urls)) != len(urls):
            raise ValueError("each endpoint URL may appear only once")
        return endpoints

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_json(cls, value: Any) -> Any:
        return _json_list(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: list[float]) -> list[float]:
        if not 0 < len(value) <= 100 or value[0] != 0 or any(not 0 <= d <= WEEK for d in value):
            raise ValueError(
                "expected a JSON list of at most 100 delays in seconds starting with 0 (the"
                " first attempt is made at once), each from 0 to 604800 (a week)"
            )
        return value


class LiveKitSettings(BaseModel):
    model_config = FINITE

    url: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    agent_name: str = "intake"
    # The trunk to dial out and warm-transfer through: its id (ST_...), or its name in the
    # telephony file of `intake provision`, looked up at each dial (sip.trunks).
    sip_outbound_trunk: str | None = None
    ringing_timeout: float = Field(default=30.0, gt=0, le=80)

    @field_validator("url")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 -- raises ValueError for a port that is not one
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in {"ws", "wss", "http", "https"}
            or not parts.hostname
        ):
            raise ValueError(
                "expected the LiveKit server's wss:// (or ws://, https://, http://) URL,"
                f" not {value!r}"
            )
        return value

    def credentials(self, needed_to: str) -> tuple[str, str, str]:
        """URL, API key and secret; ConfigError naming the first one unset."""
        url, key, secret = self.url, self.api_key, self.api_secret
        for name, value in (("URL", url), ("API_KEY", key), ("API_SECRET", secret)):
            if not value:
                raise ConfigError(f"INTAKE_LIVEKIT__{name}: needed to {needed_to}")
        assert url and key and secret
        return url, key.get_secret_value(), secret.get_secret_value()


class OpenAISettings(BaseModel):
    model_config = FINITE

    api_key: SecretStr | None = None
    model: str = "gpt-4.1-mini"
    base_url: str | None = None
    tts_model: str = "gpt-4o-mini-tts"
    tts_voice: str = "alloy"


class DeepgramSettings(BaseModel):
    model_config = FINITE

    api_key: SecretStr | None = None
    model: str = "nova-3"
    tts_model: str = "aura-2-thalia-en"


class VoiceSettings(BaseModel):
    """How a call sounds and waits: the speech pipeline and its telephony timings."""

    model_config = FINITE

    tts: Literal["openai", "deepgram"] = "openai"
    language: str = "en-US"
    no_input_timeout: float = Field(default=8.0, gt=0, le=120)  # silence before a re-prompt
    inter_digit_timeout: float = Field(default=4.0, gt=0, le=60)  # keypad entry ends after this
    min_endpointing_delay: float = Field(default=0.6, ge=0, le=10)
    max_endpointing_delay: float = Field(default=3.0, gt=0, le=30)
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
    model_config = FINITE

    idle_processes: int = Field(default=2, ge=0, le=500)
    drain_timeout: int = Field(
        default=1800, ge=0, le=86400
    )  # seconds running calls may take to finish
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

    model_config = FINITE

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
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
        allow_inf_nan=False,
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
    # flow specs, scenarios and telephony files larger than this are refused unread
    max_document_bytes: int = Field(default=1_000_000, ge=1024, le=10_000_000)

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

    @field_validator("flows_dir")
    @classmethod
    def _a_flows_directory(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError("not a directory of *.yaml flow specs")
        return value

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
    from flows.engine.phones import to_e164

    try:
        return to_e164(value, None)
    except AnswerError:
        raise ValueError(f"expected an E.164 number such as +14155550123, not {value!r}") from None


def flow_catalog(settings: Settings) -> FlowCatalog:
    """The built-in flows plus those in INTAKE_FLOWS_DIR."""
    from flows.spec.catalog import FlowCatalog

    return FlowCatalog(
        [settings.flows_dir] if settings.flows_dir else [],
        max_document_bytes=settings.max_document_bytes,
    )


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
        raise ConfigError(f"INTAKE_DATA_DIR: cannot write to {spool}: {os_reason(exc)}") from None
    return spool


def load_settings() -> Settings:
    """Read the environment; a bad value raises ConfigError naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        # a rule across settings (no location) names its variables itself
        raise ConfigError(one_line_reason(exc, where=_variable)) from None
    except SettingsError as exc:  # pydantic-settings could not decode a JSON value
        raise ConfigError(_undecodable(exc)) from None


def _undecodable(exc: SettingsError) -> str:
    """Which variable held bad JSON, and why; pydantic-settings only names the field."""
    field = re.search(r'field "(\w+)"', str(exc))
    variable = ENV_PREFIX + (field.group(1).upper() if field else "*")
    cause = exc.__cause__
    while cause is not None and not isinstance(cause, json.JSONDecodeError):
        cause = cause.__cause__
    why = _not_json(cause) if cause is not None else "not valid JSON"
    return f"{variable}: {why}"


def _variable(loc: tuple[str | int, ...]) -> str:
    """INTAKE_WEBHOOKS__SCHEDULE[1] for ("webhooks", "schedule", 1)."""
    names = [str(part) for part in loc if isinstance(part, str)]
    items = "".join(f"[{part}]" for part in loc if isinstance(part, int))
    return ENV_PREFIX + "__".join(names).upper() + items if loc else ""
