"""Settings: environment variables with the ``INTAKE_`` prefix, nested sections with ``__``.

Built once in ``main()`` and passed down; nothing reads the environment at import time.
Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import phonenumbers
from pydantic import BaseModel, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigError

ENV_PREFIX = "INTAKE_"


class LiveKitSettings(BaseModel):
    url: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    agent_name: str = "intake"


class OpenAISettings(BaseModel):
    api_key: SecretStr | None = None
    model: str = "gpt-4.1-mini"
    base_url: str | None = None


class DeepgramSettings(BaseModel):
    api_key: SecretStr | None = None
    model: str = "nova-3"


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

    livekit: LiveKitSettings = LiveKitSettings()
    openai: OpenAISettings = OpenAISettings()
    deepgram: DeepgramSettings = DeepgramSettings()

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
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValueError("expected an E.164 number such as +14155550123, or a sip: URI")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def load_settings() -> Settings:
    """Read the environment; a bad value raises ConfigError naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
        raise ConfigError(f"{name}: {error['msg'].removeprefix('Value error, ')}") from None
