"""Settings of the store and of webhook delivery: ``INTAKE_DATABASE__*``, ``INTAKE_WEBHOOKS__*``.

Validated at the boundary so that a bad endpoint fails at start with the variable's name,
never at the first delivery. Lists are JSON (``INTAKE_WEBHOOKS__ENDPOINTS='[{...}]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import NoDecode
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# Seconds before each attempt: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h
# (about three days from the first attempt to the last).
DEFAULT_SCHEDULE = [0.0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


def _json_list(value: Any) -> Any:
    """Decode a JSON list ourselves, so that bad JSON is a validation error naming the field."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class DatabaseSettings(BaseModel):
    # Settings puts the default file in INTAKE_DATA_DIR; this is that default's default.
    url: str = sqlite_url(Path("data/intake.db"))

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            backend = None
        if backend not in {"sqlite", "postgresql"}:
            raise ValueError("expected a sqlite:///PATH or postgresql://HOST/DATABASE URL")
        return value


class EndpointSettings(BaseModel):
    """One receiver: its URL, the secrets it is signed with, the flows it wants."""

    url: str
    secrets: list[SecretStr] = Field(min_length=1)  # several during a rotation; all sign
    flows: list[str] | None = None  # None: every flow

    @field_validator("url")
    @classmethod
    def _https_or_local(cls, value: str) -> str:
        import httpx  # here: a tenth of a second at start, for commands that send nothing

        url = httpx.URL(value)
        if url.scheme == "https" and url.host:
            return value
        if url.scheme == "http" and url.host in LOCAL_HOSTS:
            return value
        raise ValueError(f"{value!r}: endpoints must use https:// (http:// only for localhost)")

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, value: list[SecretStr]) -> list[SecretStr]:
        for position, secret in enumerate(value):
            text = secret.get_secret_value()
            try:
                if not text.startswith("whsec_"):
                    raise ValueError
                Webhook(text)  # decodes the key as the receivers' library will
            except (ValueError, EmptyWebhookSecretError):  # binascii.Error is a ValueError
                raise ValueError(f"secret {position} must be whsec_ followed by base64") from None
        return value

    def wants(self, flow: str) -> bool:
        return self.flows is None or flow in self.flows


class WebhookSettings(BaseModel):
    endpoints: Annotated[list[EndpointSettings], NoDecode] = []
    # seconds before each attempt, after the previous one failed; its length is the attempts
    schedule: Annotated[list[float], NoDecode] = DEFAULT_SCHEDULE
    jitter: float = Field(default=0.2, ge=0, lt=1)  # retry delays vary by up to this fraction
    attempt_timeout: float = Field(default=15.0, gt=0)  # seconds for one POST, start to end
    concurrency: int = Field(default=32, ge=1)  # attempts in flight at once, per process
    poll_interval: float = Field(default=0.25, gt=0)  # seconds between looks at the outbox
    heartbeat_interval: float = Field(default=10.0, gt=0)  # a live call's worker says it lives
    orphan_after: float = Field(default=60.0, gt=0)  # no heartbeat for this long: finalised
    sweep_interval: float = Field(default=10.0, gt=0)  # seconds between looks for orphans

    @field_validator("endpoints", mode="wrap")
    @classmethod
    def _endpoints(cls, value: Any, handler: Any) -> list[EndpointSettings]:
        # One message under the variable's own name, INTAKE_WEBHOOKS__ENDPOINTS, saying which
        # entry is wrong; a secret's value never appears in it.
        try:
            endpoints: list[EndpointSettings] = handler(_json_list(value))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ValueError(f"[{where}]: {error['msg'].removeprefix('Value error, ')}") from None
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
        if not value or value[0] != 0 or any(delay < 0 for delay in value):
            raise ValueError(
                "expected a JSON list of delays in seconds starting with 0 (the first attempt"
                " is made at once), none negative"
            )
        return value
