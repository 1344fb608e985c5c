from __future__ import annotations

from datetime import date

import pytest

from flows.answers import AnswerContext
from flows.catalog import FlowCatalog
from flows.spec import FlowSpec

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="session")
def catalog() -> FlowCatalog:
    return FlowCatalog()


@pytest.fixture(scope="session")
def intake(catalog: FlowCatalog) -> FlowSpec:
    return catalog.load("patient_intake")


@pytest.fixture(scope="session")
def feedback(catalog: FlowCatalog) -> FlowSpec:
    return catalog.load("customer_feedback")


@pytest.fixture
def ctx() -> AnswerContext:
    return AnswerContext(region="US", today=TODAY)
