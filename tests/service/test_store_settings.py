"""INTAKE_DATABASE__* and INTAKE_WEBHOOKS__*: parsed, and refused at start when wrong."""

from __future__ import annotations

import json

import pytest

from service.errors import ConfigError
from service.settings import load_settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTAKE_DATABASE__URL", "INTAKE_WEBHOOKS__ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database.url == "sqlite+aiosqlite:///intake.db"
    assert settings.webhooks.endpoints == []
    assert settings.webhooks.schedule[:3] == [0, 5, 300] and len(settings.webhooks.schedule) == 10
    assert settings.webhooks.attempt_timeout == 15


def test_endpoints_and_schedule_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = [
        {
            "url": "https://hooks.example.com/intake",
            "secrets": [SECRET, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
        },
        {"url": "http://localhost:8080/hook", "secrets": [SECRET], "flows": ["patient_intake"]},
    ]
    monkeypatch.setenv("INTAKE_WEBHOOKS__ENDPOINTS", json.dumps(endpoints))
    monkeypatch.setenv("INTAKE_WEBHOOKS__SCHEDULE", "[0, 0.05, 0.1]")
    monkeypatch.setenv("INTAKE_DATABASE__URL", "postgresql://intake@db.internal/intake")
    settings = load_settings()
    first, second = settings.webhooks.endpoints
    assert first.wants("lead_qualification") and not second.wants("lead_qualification")
    assert settings.webhooks.schedule == [0, 0.05, 0.1]
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        (
            "INTAKE_WEBHOOKS__ENDPOINTS",
            json.dumps([{"url": "http://hooks.example.com/x", "secrets": [SECRET]}]),
            "[0.url]: 'http://hooks.example.com/x': endpoints must use https://",
        ),
        (
            "INTAKE_WEBHOOKS__ENDPOINTS",
            json.dumps([{"url": "https://a.example/x", "secrets": ["hunter2-not-whsec"]}]),
            "[0.secrets]: secret 0 must be whsec_ followed by base64",
        ),
        (
            "INTAKE_WEBHOOKS__ENDPOINTS",
            json.dumps([{"url": "https://a.example/x", "secrets": []}]),
            "[0.secrets]",
        ),
        (
            "INTAKE_WEBHOOKS__ENDPOINTS",
            json.dumps([{"url": "https://a.example/x", "secrets": [SECRET]}] * 2),
            "each endpoint URL may appear only once",
        ),
        ("INTAKE_WEBHOOKS__ENDPOINTS", '[{"url": ', "not valid JSON"),
        ("INTAKE_WEBHOOKS__SCHEDULE", "[5, 10]", "starting with 0"),
        ("INTAKE_WEBHOOKS__ATTEMPT_TIMEOUT", "0", "greater than 0"),
        ("INTAKE_DATABASE__URL", "mysql://db/intake", "sqlite:///PATH or postgresql://"),
    ],
)
def test_bad_values_name_their_variable_and_hide_secrets(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{name}: ") and needle in message
    assert "hunter2" not in message and SECRET not in message
