"""Hypothesis against the loaders and the settings: whatever the text or the values,
the only failure is the project's own error (one line, no traceback), never another
exception and never a hang."""

from __future__ import annotations

import contextlib
import json
import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.errors import FlowError
from flows.spec.catalog import parse_spec
from flows.testing.scenario import parse_scenario
from service.errors import ConfigError
from service.settings import load_settings

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

# YAML's own characters, so that structure (anchors, tags, flows, blocks) comes up often.
YAML_ALPHABET = st.sampled_from(
    list(string.ascii_letters[:8] + "0123456789 :-[]{},&*!|>'\"#?\n\t%@`\\\x00\xe9")
)
yaml_text = st.text(YAML_ALPHABET, max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(yaml_text)
def test_the_spec_loader_fails_only_with_its_own_error(text: str) -> None:
    try:
        parse_spec(text, "fuzz.yaml")
    except FlowError as error:
        assert str(error).startswith("fuzz.yaml")


@FUZZ
@given(yaml_text)
def test_the_scenario_loader_fails_only_with_its_own_error(text: str) -> None:
    try:
        parse_scenario(text, "fuzz.yaml")
    except FlowError as error:
        assert str(error).startswith("fuzz.yaml")


@FUZZ
@given(st.dictionaries(st.sampled_from(["steps", "id", "name", "welcome", "version"]), json_values))
def test_the_spec_model_takes_any_structure(data: dict[str, object]) -> None:
    with contextlib.suppress(FlowError):
        parse_spec(json.dumps(data), "fuzz.yaml")  # JSON is YAML


VARIABLES = [
    "INTAKE_ROUTES",
    "INTAKE_LIVEKIT",
    "INTAKE_LIVEKIT__URL",
    "INTAKE_WEBHOOKS__ENDPOINTS",
    "INTAKE_WEBHOOKS__SCHEDULE",
    "INTAKE_WEBHOOKS__ATTEMPT_TIMEOUT",
    "INTAKE_VOICE",
    "INTAKE_VOICE__NO_INPUT_TIMEOUT",
    "INTAKE_WORKER__MAX_CALLS",
    "INTAKE_DATABASE__URL",
    "INTAKE_API",
    "INTAKE_DEFAULT_REGION",
    "INTAKE_MAX_DOCUMENT_BYTES",
]
env_value = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40),
    json_values.map(json.dumps),
    st.sampled_from(["NaN", "inf", "-1", "1e308", "{bad", "[0, NaN]", "postgresql://h/d?x=1"]),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(VARIABLES), env_value, min_size=1, max_size=3))
def test_the_settings_fail_only_with_a_config_error_naming_a_variable(
    values: dict[str, str],
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        try:
            loaded = load_settings()
        except ConfigError as error:
            message = str(error)
            assert message.startswith("INTAKE_") and "\n" not in message
            return
    # accepted: every number it holds is finite
    assert math.isfinite(loaded.webhooks.attempt_timeout)
    assert all(math.isfinite(step) for step in loaded.webhooks.schedule)
