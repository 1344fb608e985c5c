"""Hostile HTTP bodies for the API: each must get a 4xx with the one JSON error shape
(``{"error": {"code", "message"}}``, one line), never a 500 or a traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

JSON = {"content-type": "application/json"}
CALL = {"to": "+14155550123", "flow": "customer_feedback"}
CAMPAIGN = {"name": "n", "flow": "customer_feedback", "contacts": [{"to": "+14155550123"}]}


@dataclass(frozen=True)
class HttpCase:
    name: str
    method: str
    path: str
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None


def _call(**changes: Any) -> bytes:
    return json.dumps({**CALL, **changes}).encode()


def _campaign(**changes: Any) -> bytes:
    return json.dumps({**CAMPAIGN, **changes}).encode()


def _nested(depth: int) -> bytes:
    return b'{"to": "+14155550123", "flow": "customer_feedback", "metadata": ' + (
        b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    )


BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not-json", b"hello"),
    ("truncated", b'{"to": "+1415'),
    ("array", b"[]"),
    ("string", b'"call me"'),
    ("null", b"null"),
    ("number", b"42"),
    ("nan", b'{"to": "+14155550123", "flow": "customer_feedback", "metadata": {"x": NaN}}'),
    (
        "infinity",
        b'{"to": "+14155550123", "flow": "customer_feedback", "metadata": {"x": [1e999]}}',
    ),
    ("latin1", b'{"to": "+1415555\xe9", "flow": "customer_feedback"}'),
    ("utf16", json.dumps(CALL).encode("utf-16")),
    ("nul", b'{"to": "+14155550123\x00", "flow": "customer_feedback"}'),
    ("binary", bytes(range(256))),
    ("deep-metadata", _nested(5000)),
    ("duplicate-keys", b'{"to": "+14155550123", "to": "+14155550124", "flow": "x", "flow": 1}'),
    ("no-to", json.dumps({"flow": "customer_feedback"}).encode()),
    ("no-flow", json.dumps({"to": "+14155550123"}).encode()),
    ("to-number", _call(to=14155550123)),
    ("to-list", _call(to=["+14155550123"])),
    ("to-garbage", _call(to="not a phone")),
    ("to-huge", _call(to="+1" * 5000)),
    ("to-sip-injection", _call(to="sip:evil@10.0.0.1;transport=tcp")),
    ("flow-unknown", _call(flow="nope")),
    ("flow-traversal", _call(flow="../../etc/passwd")),
    ("flow-object", _call(flow={"id": "customer_feedback"})),
    ("extra-key", _call(admin=True)),
    ("metadata-list", _call(metadata=[1, 2])),
    ("metadata-string", _call(metadata="x")),
    ("simulate-not-allowed", _call(simulate={"answers": {}})),
    (
        "huge-int",
        b'{"to": "+14155550123", "flow": "customer_feedback", "window": ' + b"9" * 5000 + b"}",
    ),
    ("bad-window", _call(window={"start": "25:00", "end": "26:00"})),
    ("window-number", _call(window={"start": 5, "end": 6})),
]
CAMPAIGN_BODIES: list[tuple[str, bytes]] = [
    ("campaign-empty", b""),
    ("campaign-not-json", b"{"),
    ("campaign-no-contacts", _campaign(contacts=[])),
    ("campaign-contacts-string", _campaign(contacts="x")),
    (
        "campaign-contact-nan-metadata",
        _campaign(contacts=["CONTACT"]).replace(
            b'"CONTACT"', b'{"to": "+14155550123", "metadata": {"x": -Infinity}}'
        ),
    ),
    ("campaign-concurrency-zero", _campaign(concurrency=0)),
    (
        "campaign-rate-nan",
        _campaign(calls_per_second="RATE").replace(b'"RATE"', b"NaN"),
    ),
    (
        "campaign-rate-infinity",
        _campaign(calls_per_second="RATE").replace(b'"RATE"', b"1e999"),
    ),
    ("campaign-contact-extra-key", _campaign(contacts=[{"to": "+14155550123", "admin": True}])),
    ("campaign-unknown-flow", _campaign(flow="nope")),
]
HTTP_CASES: list[HttpCase] = [
    *(HttpCase(f"call-{name}", "POST", "/v1/calls", body) for name, body in BODIES),
    *(HttpCase(name, "POST", "/v1/campaigns", body) for name, body in CAMPAIGN_BODIES),
    HttpCase(
        "csv-binary",
        "POST",
        "/v1/campaigns",
        None,
        {},
        {"contacts": ("c.csv", bytes(range(256)) * 4)},
        {"name": "n", "flow": "customer_feedback"},
    ),
    HttpCase(
        "csv-no-header",
        "POST",
        "/v1/campaigns",
        None,
        {},
        {"contacts": ("c.csv", b"")},
        {"name": "n", "flow": "customer_feedback"},
    ),
    HttpCase(
        "csv-no-to-column",
        "POST",
        "/v1/campaigns",
        None,
        {},
        {"contacts": ("c.csv", b"name\nx\n")},
        {"name": "n", "flow": "customer_feedback"},
    ),
    HttpCase(
        "csv-no-file",
        "POST",
        "/v1/campaigns",
        None,
        {},
        None,
        {"name": "n", "flow": "customer_feedback"},
    ),
    HttpCase(
        "csv-bad-window",
        "POST",
        "/v1/campaigns",
        None,
        {},
        {"contacts": ("c.csv", b"to\n+14155550123\n")},
        {"name": "n", "flow": "customer_feedback", "window": "{"},
    ),
    HttpCase("get-call-injection", "GET", "/v1/calls/'%20OR%201=1--", None, {}),
    HttpCase("get-call-huge", "GET", "/v1/calls/" + "x" * 10_000, None, {}),
    HttpCase("get-campaign-unknown", "GET", "/v1/campaigns/nope", None, {}),
    HttpCase("dnc-put-garbage", "PUT", "/v1/dnc/not-a-number", None, {}),
    HttpCase("flow-unknown", "GET", "/v1/flows/nope", None, {}),
]


def problems(response: httpx.Response) -> list[str]:
    """Why an answer to a hostile request is not clean; empty when it is."""
    found = []
    if not 400 <= response.status_code < 500:
        found.append(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return [*found, "the body is not JSON"]
    if not (
        isinstance(body, dict)
        and set(body) == {"error"}
        and set(body["error"]) == {"code", "message"}
    ):
        found.append("not the one error shape")
    elif "\n" in body["error"]["message"] or "Traceback" in response.text:
        found.append("a multi-line message or a traceback")
    return found
