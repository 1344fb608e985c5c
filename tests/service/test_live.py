"""The live call's ports as settings resolve them: transfer mode, noise cancellation, room."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from service.errors import ConfigError
from service.live import noise_cancellation, room_options, transfer_mode
from service.settings import Settings

CLOUD = "wss://acme-1a2b3c.livekit.cloud"
SELF_HOSTED = "wss://livekit.clinic.example"


def settings(url: str, **voice: Any) -> Settings:
    return Settings.model_validate({"livekit": {"url": url}, "voice": voice})


@pytest.mark.parametrize(
    ("url", "mode", "resolved"),
    [
        (CLOUD, "auto", "warm"),
        (SELF_HOSTED, "auto", "cold"),  # no MoveParticipant to merge a warm transfer
        ("ws://127.0.0.1:7880", "auto", "cold"),
        (SELF_HOSTED, "warm", "warm"),  # an explicit choice is kept
        (CLOUD, "cold", "cold"),
    ],
)
def test_transfer_mode(url: str, mode: str, resolved: str) -> None:
    assert transfer_mode(settings(url, transfer_mode=mode)) == resolved


def test_auto_is_the_default_transfer_mode() -> None:
    assert Settings().voice.transfer_mode == "auto"


def test_noise_cancellation_is_off_where_livekit_does_not_offer_it() -> None:
    assert noise_cancellation(settings(SELF_HOSTED)) is None
    assert noise_cancellation(settings(CLOUD, noise_cancellation="off")) is None


def test_noise_cancellation_on_without_its_plugin_is_a_configuration_error() -> None:
    if importlib.util.find_spec("livekit.plugins.noise_cancellation") is not None:
        pytest.skip("the noise-cancellation extra is installed here")
    with pytest.raises(ConfigError, match="INTAKE_VOICE__NOISE_CANCELLATION=on needs"):
        noise_cancellation(settings(SELF_HOSTED, noise_cancellation="on"))


def test_the_session_listens_to_the_caller_and_leaves_the_room_to_the_job() -> None:
    options = room_options(settings(SELF_HOSTED), "sip_caller")
    assert options.participant_identity == "sip_caller"
    assert options.close_on_disconnect
    assert not options.delete_room_on_close  # the job decides: not after a warm transfer


def test_recording_is_off_unless_asked_for() -> None:
    assert Settings().voice.record is False
