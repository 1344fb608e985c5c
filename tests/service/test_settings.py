"""Settings from the environment."""

from __future__ import annotations

import pytest

from service.errors import ConfigError
from service.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTAKE_TRANSFER_TO", "INTAKE_DEFAULT_REGION", "INTAKE_LOG_PII"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.default_region, settings.transfer_to, settings.log_pii) == ("US", None, False)
    assert settings.livekit.agent_name == "intake"


def test_values_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_TRANSFER_TO", "+44 20 7946 0958")
    monkeypatch.setenv("INTAKE_DEFAULT_REGION", "gb")
    monkeypatch.setenv("INTAKE_LOG_PII", "1")
    monkeypatch.setenv("INTAKE_OPENAI__API_KEY", "sk-secret")
    settings = load_settings()
    assert settings.transfer_to == "+442079460958"
    assert settings.default_region == "GB" and settings.log_pii is True
    assert "sk-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INTAKE_DEFAULT_REGION", "Narnia"),
        ("INTAKE_TRANSFER_TO", "12"),
        ("INTAKE_LOG_LEVEL", "loud"),
        ("INTAKE_LOG_PII", "perhaps"),
    ],
)
def test_bad_values_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings()
