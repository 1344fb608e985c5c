"""The one error tree: every error class the project defines hangs under IntakeError, and
the tree drawn in flows.errors names each of them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from pydantic import BaseModel, ValidationError

import flows
import flows.errors
import service
import sip
from flows.errors import IntakeError, one_line_reason

# Not errors: control flow, a private retry signal, Starlette's own HTTP error.
NOT_IN_THE_TREE = {"CallEnding", "_Raced", "BodyTooLarge"}


def project_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (flows, sip, service):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in info.name:
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == module.__name__
                    and name not in NOT_IN_THE_TREE
                ):
                    found[f"{value.__module__}.{name}"] = value
    return list(found.values())


def test_every_error_hangs_under_the_one_root_and_is_drawn() -> None:
    errors = project_exceptions()
    assert len(errors) >= 20
    outside = [e.__qualname__ for e in errors if not issubclass(e, IntakeError)]
    assert outside == []
    drawing = flows.errors.__doc__ or ""
    undrawn = [e.__qualname__ for e in errors if e.__qualname__ not in drawing]
    assert undrawn == []


class _Endpoint(BaseModel):
    url: str
    port: int


def test_one_line_reason_says_where_and_what_never_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        _Endpoint.model_validate({"url": "x", "port": "secret-value"})
    reason = one_line_reason(caught.value)
    assert reason.startswith("port: ")
    assert "secret-value" not in reason and "\n" not in reason
    assert one_line_reason(caught.value, where=lambda loc: f"--{loc[0]}").startswith("--port: ")
    assert one_line_reason([{"loc": (), "msg": "Value error, both or neither"}]) == (
        "both or neither"
    )
