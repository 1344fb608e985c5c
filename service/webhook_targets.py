"""Where a webhook may be sent: the rule against server-side request forgery (SSRF).

A payload is POSTed to whatever URL the operator configured, from inside their network:
an endpoint that is, or resolves to, a loopback, private, link-local (cloud metadata),
unique-local, multicast or otherwise non-public address would let a URL reach what the
internet cannot. So those are refused, three times: when the settings load (URLs that
name such an address), when ``intake deliver`` starts (each endpoint's name resolved),
and at every connection (``service.delivery.guarded``: the addresses actually dialled,
so a name re-pointed after start, DNS rebinding, does not get through).

Exceptions: a URL naming this machine (``localhost``, ``127.0.0.1``, ``[::1]``) for
development, as before; ``INTAKE_WEBHOOKS__ALLOW_PRIVATE=true`` for receivers inside the
operator's own network (private and loopback addresses; link-local, multicast and cloud
metadata addresses stay refused). Messages never quote the URL: it may carry a token.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services outside link-local: AWS's IPv6 one and Alibaba's (in 100.64.0.0/10)
METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))


def is_loopback_name(host: str) -> bool:
    """A URL host that means this machine: ``localhost`` (RFC 6761) or a loopback literal."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = literal_address(host)
    return address is not None and address.is_loopback


def literal_address(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    return mapped or address


def refusal(host: str, address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address``, which ``host`` resolved to, may not receive webhooks; None if it may."""
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    if address in METADATA or address.is_link_local:
        return "a link-local or cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:  # before "reserved": ::1 is in IPv6's reserved ::/8
        if is_loopback_name(host) or allow_private:
            return None
        return "a loopback address (only a URL naming localhost may use one)"
    if address.is_unspecified or address.is_reserved:
        return "an unspecified or reserved address"
    if not address.is_global and not allow_private:
        return "a private address (INTAKE_WEBHOOKS__ALLOW_PRIVATE=true allows one)"
    return None


def resolved_refusal(
    host: str, addresses: Iterable[IPAddress], *, allow_private: bool
) -> str | None:
    """Why ``host``, resolved to ``addresses``, may not receive webhooks; None if it may.
    The first refused address is enough: a name that also points inside is not trusted."""
    for address in addresses:
        problem = refusal(host, address, allow_private=allow_private)
        if problem:
            return problem
    return None


def check_endpoint_url(url: str, *, allow_private: bool) -> str | None:
    """Why the URL cannot be an endpoint, judged without DNS; None if it may be one."""
    import httpx  # here: a tenth of a second at start, for commands that send nothing

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "not a URL"
    host = parsed.host
    if not host:
        return "the URL has no host"
    if not (parsed.scheme == "https" or (parsed.scheme == "http" and is_loopback_name(host))):
        return "endpoints must use https:// (http:// only for localhost)"
    address = literal_address(host)
    if address is None:
        return None  # a name: resolved when the deliverer starts and at every connection
    problem = refusal(host, address, allow_private=allow_private)
    return f"the host is {problem}" if problem else None


def masked_url(url: str) -> str:
    """The URL as it may be shown (CLI output, logs, errors): user info and every query
    value masked, the fragment dropped; receivers often put their token in one of them."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = ("***@" if "@" in parts.netloc else "") + host + port
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if "=" in pair else "***"
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
