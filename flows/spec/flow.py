"""The flow spec: what a flow author declares in YAML, validated by pydantic.

A flow is a welcome, ordered steps of fields, an ending, an optional transfer target,
emergency phrases and limits. Field types are a discriminated union on ``type``.
Everything here is data; behaviour lives in the collector and the compiler.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import Field, model_validator

from flows.spec.fields import (
    FieldSpec,
    Identifier,
    ListField,
    ScalarField,
    SpecModel,
    require_unique,
)
from flows.spec.paths import FieldPath


class StepSpec(SpecModel):
    id: Identifier
    description: str | None = Field(
        default=None, description="What the step collects; used when the caller goes back to it."
    )
    fields: Annotated[list[FieldSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_fields(self) -> StepSpec:
        require_unique([f.id for f in self.fields], "field ids in a step")
        return self

    @property
    def summary(self) -> str:
        return self.description or "Collect " + ", ".join(f.label for f in self.fields)


class WelcomeSpec(SpecModel):
    message: str
    question: str | None = Field(default=None, description="A 'no' ends the call as declined.")
    declined_message: str = "No problem. Thank you for your time, goodbye."


class EndingSpec(SpecModel):
    message: str = "Thank you, that's everything I needed. Goodbye."
    summary: bool = True


TransferReason = Literal["caller_request", "collection_failed", "emergency", "error"]
ALL_TRANSFER_REASONS: tuple[TransferReason, ...] = (
    "caller_request",
    "collection_failed",
    "emergency",
    "error",
)


class TransferSpec(SpecModel):
    destination: str | None = Field(
        default=None,
        description="E.164 number or sip: URI; unset = the INTAKE_TRANSFER_TO setting.",
    )
    triggers: list[TransferReason] = Field(default_factory=lambda: list(ALL_TRANSFER_REASONS))
    message: str = "Let me connect you with a member of our team. Please hold."
    fallback_message: str = (
        "I'm sorry, no one is available right now. Someone from our team will call you back. "
        "Goodbye."
    )


class EmergencySpec(SpecModel):
    phrases: Annotated[list[str], Field(min_length=1)]
    message: str = Field(
        default="If this is a medical emergency, please hang up and dial 911 now.",
        description="The safety message, said first whether or not a transfer follows.",
    )
    connecting_message: str = Field(
        default="I'm connecting you with our staff.",
        description="Said after the safety message, only when a transfer will be tried.",
    )


class LimitsSpec(SpecModel):
    spoken_attempts_before_keypad: Annotated[int, Field(ge=1, le=10)] = 2
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 4
    no_input_reprompts: Annotated[int, Field(ge=0, le=10)] = 2


class FlowSpec(SpecModel):
    id: Identifier
    name: str
    description: str | None = None
    persona: str = "You are a friendly, efficient phone assistant."
    instructions: str | None = Field(default=None, description="Extra guidance for the model.")
    welcome: WelcomeSpec
    steps: Annotated[list[StepSpec], Field(min_length=1)]
    ending: EndingSpec = Field(default_factory=EndingSpec)
    transfer: TransferSpec | None = None
    emergency: EmergencySpec | None = None
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    voicemail_message: str | None = None

    @model_validator(mode="after")
    def _references(self) -> FlowSpec:
        require_unique([s.id for s in self.steps], "step ids")
        seen: dict[FieldPath, FieldSpec] = {}
        for step in self.steps:
            for field in step.fields:
                ref = self.condition_path(step, field)
                if field.when is not None and ref is not None:
                    target = seen.get(ref)
                    if target is None:
                        raise ValueError(
                            f"{step.id}.{field.id}: 'when' refers to {field.when.field!r}, "
                            "which is not an earlier field"
                        )
                    if isinstance(target, ListField):
                        raise ValueError(f"{step.id}.{field.id}: 'when' cannot test a list")
                seen[FieldPath(step.id, field.id)] = field
        return self

    def paths(self) -> list[FieldPath]:
        """Every field's path, in the order the call asks them."""
        return [FieldPath(step.id, field.id) for step in self.steps for field in step.fields]

    def field_paths(self) -> list[str]:
        """The same paths as text: how payloads, scenarios and the model name fields."""
        return [str(path) for path in self.paths()]

    def field(self, path: FieldPath | str) -> FieldSpec:
        """The field a path belongs to (for ``step.field[].sub``, the list field)."""
        if isinstance(path, str):
            path = FieldPath.parse(path)
        step_id, field_id = path.step, path.field
        for step in self.steps:
            if step.id == step_id:
                for field in step.fields:
                    if field.id == field_id:
                        return field
        raise KeyError(str(path))

    def answer_field(self, path: FieldPath) -> FieldSpec | ScalarField:
        """The field an answer on ``path`` fills: an item's sub-field, or the field itself."""
        field = self.field(path)
        if path.sub is not None and isinstance(field, ListField) and field.item.type == "object":
            for sub in field.item.fields:
                if sub.id == path.sub:
                    return sub
            raise KeyError(str(path))
        return field

    def condition_path(self, step: StepSpec, field: FieldSpec) -> FieldPath | None:
        """The full path of the field that ``field.when`` tests."""
        if field.when is None:
            return None
        return FieldPath.parse(field.when.field, step=step.id)

    @property
    def version(self) -> str:
        """Short hash of the validated spec, so a payload names the exact flow behind it."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:8]
