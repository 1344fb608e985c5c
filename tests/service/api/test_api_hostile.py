"""The API's part of the hostile-input table (tests/hostile/http_cases.py): every body
gets a 4xx and the one JSON error shape, each within a bounded time. One app and store
for the whole table (a fresh one per case would cost a minute)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from hostile.http_cases import HTTP_CASES, problems

if TYPE_CHECKING:
    from .conftest import Api


async def test_hostile_bodies_get_a_clean_4xx(api: Api) -> None:
    unclean: dict[str, list[str]] = {}
    for case in HTTP_CASES:
        started = time.perf_counter()
        response = await api.client.request(
            case.method,
            case.path,
            content=case.content,
            headers=api.auth | case.headers,
            files=case.files,
            data=case.data,
        )
        found = problems(response)
        if time.perf_counter() - started > 5:
            found.append("took more than 5 s")
        if found:
            unclean[case.name] = [*found, response.text[:200]]
    assert unclean == {}
    assert len(HTTP_CASES) >= 50


async def test_an_unclean_answer_is_caught(api: Api) -> None:
    """The check can fail: a request that succeeds is not a clean refusal."""
    from hostile.http_cases import CALL

    response = await api.post("/v1/calls", json=CALL)
    assert response.status_code == 202 and problems(response) == [
        "HTTP 202",
        "not the one error shape",
    ]
