"""Instructions for a cloud model on a phone line: short turns, spoken forms, tools for all."""

from __future__ import annotations

from flows.spec.flow import FlowSpec, StepSpec

PHONE_STYLE = (
    "You are speaking on a phone call, so everything you say is read aloud. "
    "Ask one short question at a time and wait for the answer. "
    "Use plain spoken sentences: no markdown, lists, emoji or symbols. "
    'Read numbers back digit by digit in groups ("four one five, five five five"), dates '
    'as words ("March fifth, nineteen eighty") and e-mail addresses the way people say '
    'them ("bob underscore smith at acme dot io"). '
    "Never guess or invent an answer; record only what the caller said, with the matching "
    "tool, as soon as they say it. When a tool tells you what to ask next, ask that."
)


def _common(spec: FlowSpec) -> str:
    parts = [spec.persona, PHONE_STYLE]
    parts.append(
        "If the caller asks for a person, call transfer_to_person. "
        "If they cannot or will not answer, call skip_question."
    )
    if spec.emergency is not None:
        parts.append(
            "If the caller describes an emergency or a danger to anyone, call "
            "report_emergency at once."
        )
    if spec.instructions:
        parts.append(spec.instructions)
    return "\n\n".join(parts)


def welcome_instructions(spec: FlowSpec) -> str:
    return (
        _common(spec)
        + "\n\nYou have just greeted the caller and asked whether they agree to continue. "
        "Record their answer with answer_yes_no."
    )


def step_instructions(spec: FlowSpec, step: StepSpec) -> str:
    return (
        _common(spec) + f"\n\nIn this part of the call: {step.summary}. "
        "If the caller wants to change an earlier answer, call correct_earlier_answer."
    )
