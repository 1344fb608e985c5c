"""INTAKE_DATA_DIR, INTAKE_DATABASE__* and INTAKE_WEBHOOKS__*: parsed, and refused at start
when wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.errors import ConfigError
from service.settings import Settings, load_settings, prepare_data_dir

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTAKE_DATABASE__URL", "INTAKE_WEBHOOKS__ENDPOINTS", "INTAKE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.database.url == "sqlite+aiosqlite:///data/intake.db"
    assert settings.webhooks.endpoints == []
    assert settings.webhooks.schedule[:3] == [0, 5, 300] and len(settings.webhooks.schedule) == 10
    assert settings.webhooks.attempt_timeout == 15


def test_the_default_database_lives_in_the_data_dir_unless_a_url_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("INTAKE_DATABASE__URL", raising=False)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "state"))
    assert load_settings().database.url == f"sqlite+aiosqlite:///{tmp_path}/state/intake.db"
    monkeypatch.setenv("INTAKE_DATABASE__URL", "postgresql://intake@db.internal/intake")
    settings = load_settings()
    assert settings.database.url == "postgresql://intake@db.internal/intake"
    assert settings.data_dir == tmp_path / "state"  # the spool stays local either way
    monkeypatch.setenv("INTAKE_DATA_DIR", " ")
    with pytest.raises(ConfigError, match=r"^INTAKE_DATA_DIR: expected a directory"):
        load_settings()


def test_the_data_dir_is_created_or_refused_in_one_line(tmp_path: Path) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path / "a" / "b"})
    assert prepare_data_dir(settings) == tmp_path / "a" / "b" / "spool"
    assert (tmp_path / "a" / "b" / "spool").is_dir()
    assert list((tmp_path / "a" / "b" / "spool").iterdir()) == []  # the probe is gone
    (tmp_path / "file").write_text("")
    blocked = Settings.model_validate({"data_dir": tmp_path / "file" / "data"})
    with pytest.raises(
        ConfigError, match=r"^INTAKE_DATA_DIR: cannot write to .*/file/data/spool: "
    ):
        prepare_data_dir(blocked)


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
            "[0.url]: endpoints must use https://",
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
