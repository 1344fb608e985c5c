"""Webhook targets (SSRF): the address rule, the URL check at configuration, the client's
check at every connection with a resolver the test controls (DNS rebinding), and the one
way a URL is shown with its tokens masked."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
import pytest

from service.delivery.guarded import (
    GuardedBackend,
    GuardedTransport,
    blocked_reason,
    check_endpoint_hosts,
)
from service.errors import ConfigError
from service.settings import EndpointSettings
from service.webhook_targets import IPAddress, check_endpoint_url, masked_url, refusal

if TYPE_CHECKING:
    from conftest import WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FORBIDDEN = [
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # cloud metadata
    "100.100.100.200",  # Alibaba's metadata
    "fd00:ec2::254",  # AWS's IPv6 metadata
    "fe80::1",
    "fc00::1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "127.0.0.1",  # loopback, reached through a name that is not localhost
    "::1",
    "::ffff:10.0.0.1",  # IPv4-mapped
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_non_public_addresses_are_refused_for_a_public_name(address: str) -> None:
    assert refusal("hooks.example.com", ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal("hooks.example.com", ipaddress.ip_address(address), allow_private=False) is None


def test_allow_private_lets_the_operators_network_in_but_never_metadata_or_multicast() -> None:
    def allowed(address: str) -> bool:
        found = refusal("hooks.internal", ipaddress.ip_address(address), allow_private=True)
        return found is None

    assert all(allowed(a) for a in ("10.1.2.3", "192.168.1.1", "fc00::1", "127.0.0.1"))
    assert not any(allowed(a) for a in ("169.254.169.254", "fd00:ec2::254", "224.0.0.1", "::"))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://localhost:8080/hook", None),
        ("http://127.0.0.1:9/x", None),
        ("http://[::1]:9/x", None),
        ("https://hooks.example.com/x", None),
        ("https://hooks.example.com/x?token=abc", None),
        ("http://hooks.example.com/x", "https://"),
        ("ftp://hooks.example.com/x", "https://"),
        ("https://10.0.0.5/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[fd00:ec2::254]/x", "metadata"),
        ("https://[::ffff:192.168.0.1]/x", "private"),
        ("https://224.0.0.1/x", "multicast"),
        ("https:///x", "no host"),
    ],
)
def test_endpoint_urls_at_configuration(url: str, problem: str | None) -> None:
    found = check_endpoint_url(url, allow_private=False)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_private_endpoints_pass_only_with_allow_private(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.settings import load_settings

    endpoints = f'[{{"url": "https://10.0.0.5/hook?token=T0KEN", "secrets": ["{SECRET}"]}}]'
    monkeypatch.setenv("INTAKE_WEBHOOKS__ENDPOINTS", endpoints)
    with pytest.raises(ConfigError, match=r"INTAKE_WEBHOOKS__ENDPOINTS: \[0.url\].*private") as e:
        load_settings()
    assert "T0KEN" not in str(e.value) and "10.0.0.5" not in str(e.value)
    monkeypatch.setenv("INTAKE_WEBHOOKS__ALLOW_PRIVATE", "true")
    assert load_settings().webhooks.allow_private


class Resolver:
    """DNS as the test says: each call for a name takes the next answer (the last repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers, self.asked = answers, list[str]()

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        queue = self.answers[host]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(a) for a in answer]


class RecordingBackend(httpcore.AsyncMockBackend):
    """Connects nowhere; records which host it was asked to dial."""

    def __init__(self) -> None:
        super().__init__([b"HTTP/1.1 204 No Content\r\n\r\n"])
        self.dialled: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.dialled.append(host)
        return await super().connect_tcp(host, port, *args, **kwargs)


async def test_a_name_re_pointed_inside_after_a_check_is_refused_at_connect() -> None:
    # DNS rebinding: public at the first look, the metadata service at the next.
    resolver = Resolver({"hooks.example.com": [["93.184.216.34"], ["169.254.169.254"]]})
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=False, resolver=resolver, inner=inner)
    await backend.connect_tcp("hooks.example.com", 443)
    assert inner.dialled == ["93.184.216.34"]  # the checked address, not the name again
    with pytest.raises(httpcore.ConnectError, match=r"blocked: .*metadata"):
        await backend.connect_tcp("hooks.example.com", 443)
    assert inner.dialled == ["93.184.216.34"]


async def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    resolver = Resolver({"hooks.example.com": [["93.184.216.34", "10.0.0.9"]]})
    backend = GuardedBackend(allow_private=False, resolver=resolver, inner=RecordingBackend())
    with pytest.raises(httpcore.ConnectError, match="private"):
        await backend.connect_tcp("hooks.example.com", 443)


async def test_the_webhook_client_refuses_a_name_resolving_to_loopback(
    receiver: WebhookReceiver,
) -> None:
    resolver = Resolver({"hooks.example.com": [["127.0.0.1"]]})
    url = f"http://hooks.example.com:{receiver.port}/hook"
    transport = GuardedTransport(httpx.Limits(), allow_private=False, resolver=resolver)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.post(url, content=b"{}")
    assert blocked_reason(caught.value) == "blocked: the host resolves to a loopback address" + (
        " (only a URL naming localhost may use one)"
    )
    assert receiver.received == []
    # the same name with ALLOW_PRIVATE reaches the receiver, at the address checked
    transport = GuardedTransport(httpx.Limits(), allow_private=True, resolver=resolver)
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.post(url, content=b"{}")).status_code == 200
    assert len(receiver.received) == 1


async def test_redirects_are_not_followed_and_localhost_still_works(
    receiver: WebhookReceiver,
) -> None:
    from conftest import Reply

    from service.delivery.process import http_client
    from service.settings import WebhookSettings

    receiver.script.append(Reply(302, {"location": "http://169.254.169.254/latest"}))
    webhooks = WebhookSettings()
    async with http_client(webhooks) as client:
        response = await client.post(receiver.url().replace("127.0.0.1", "localhost"))
    assert response.status_code == 302 and len(receiver.received) == 1


async def test_the_deliverer_refuses_to_start_when_an_endpoint_resolves_inside() -> None:
    endpoints = [
        EndpointSettings(url="https://ok.example.com/x", secrets=[SECRET]),
        EndpointSettings(url="https://inside.example.com/x?t=1", secrets=[SECRET]),
    ]
    resolver = Resolver(
        {"ok.example.com": [["93.184.216.34"]], "inside.example.com": [["10.9.8.7"]]}
    )
    with pytest.raises(ConfigError, match=r"\[1.url\]: the host resolves to a private address"):
        await check_endpoint_hosts(endpoints, allow_private=False, resolver=resolver)
    await check_endpoint_hosts(endpoints, allow_private=True, resolver=resolver)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/x", "https://hooks.example.com/x"),
        (
            "https://hooks.example.com/x?token=abc&v=2",
            "https://hooks.example.com/x?token=***&v=***",
        ),
        ("https://user:pa55@hooks.example.com:8443/x#frag", "https://***@hooks.example.com:8443/x"),
        ("https://t0ken@[::1]/x?abc", "https://***@[::1]/x?***"),
        ("http://[bad", "(an unreadable URL)"),
    ],
)
def test_urls_are_shown_with_their_tokens_masked(url: str, shown: str) -> None:
    assert masked_url(url) == shown
