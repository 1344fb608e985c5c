"""The SIP objects ``intake provision`` manages, as plain records, and the port it reads and
writes them through.

A record holds exactly what the telephony file decides, so two records are equal when
LiveKit already holds what the file asks for, whatever else the server adds (timestamps,
media defaults). Lists are kept sorted for the same reason. Every object ``intake
provision`` makes carries :data:`MARKER` in its metadata; objects without it belong to
someone else and are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Literal, Protocol, TypeVar

MANAGED_BY = "intake"
MARKER_KEY = "managed_by"

Kind = Literal["inbound trunk", "outbound trunk", "dispatch rule"]
Transport = Literal["auto", "udp", "tcp", "tls"]


@dataclass(frozen=True)
class InboundTrunk:
    name: str
    numbers: tuple[str, ...]
    allowed_addresses: tuple[str, ...] = ()
    allowed_numbers: tuple[str, ...] = ()
    auth_username: str = ""
    auth_password: str = field(default="", repr=False)  # a secret: never printed
    password_env: str = ""  # where the file takes the password from; kept in the marker
    krisp: bool = False

    kind: ClassVar[Kind] = "inbound trunk"


@dataclass(frozen=True)
class OutboundTrunk:
    name: str
    address: str
    numbers: tuple[str, ...]
    transport: Transport = "auto"
    auth_username: str = ""
    auth_password: str = field(default="", repr=False)
    password_env: str = ""

    kind: ClassVar[Kind] = "outbound trunk"


@dataclass(frozen=True)
class DispatchRule:
    """Calls to ``number`` on the inbound trunk ``trunk`` get a room of their own, named
    with ``room_prefix``, and the agent ``agent_name`` with the flow in its dispatch."""

    name: str
    trunk: str | None  # the inbound trunk's name; None: bound to no trunk this tool made
    number: str
    flow: str
    agent_name: str
    room_prefix: str = "call-"

    kind: ClassVar[Kind] = "dispatch rule"


Record = InboundTrunk | OutboundTrunk | DispatchRule
R = TypeVar("R", bound=Record, covariant=True)

# What an update may say about each field; secrets are only ever "changed".
SECRET_FIELDS = frozenset({"auth_password"})


def rule_name(trunk: str, number: str) -> str:
    return f"{trunk}/{number}"


@dataclass(frozen=True)
class Owned(Generic[R]):
    """An object in LiveKit that carries the marker: its id and what it holds."""

    id: str
    record: R


@dataclass(frozen=True)
class Existing:
    """What LiveKit holds: the marked objects by name, and how many others there are."""

    inbound: tuple[Owned[InboundTrunk], ...] = ()
    outbound: tuple[Owned[OutboundTrunk], ...] = ()
    rules: tuple[Owned[DispatchRule], ...] = ()
    foreign: int = 0  # trunks and rules without the marker: left alone


def marker(password_env: str = "") -> str:
    """The metadata of every object this tool makes; the password's variable name, never
    the password, so ``--export`` can write the file back."""
    data = {MARKER_KEY: MANAGED_BY} | ({"password_env": password_env} if password_env else {})
    return json.dumps(data, separators=(",", ":"))


def read_marker(metadata: str) -> dict[str, str] | None:
    """The marker's fields, or None for an object someone else made."""
    try:
        data = json.loads(metadata) if metadata else None
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get(MARKER_KEY) != MANAGED_BY:
        return None
    return {str(k): str(v) for k, v in data.items()}


class TelephonyPort(Protocol):
    """LiveKit's SIP admin API, as much of it as provisioning needs."""

    async def read(self) -> Existing:
        """Every trunk and dispatch rule; the marked ones as records."""
        ...

    async def create(self, record: Record, trunk_id: str | None) -> str:
        """Make the object (a rule bound to ``trunk_id``); its new id."""
        ...

    async def update(self, object_id: str, record: Record, trunk_id: str | None) -> None:
        """Replace the object with what the record says."""
        ...

    async def delete(self, kind: Kind, object_id: str) -> None: ...


def kept(objects: Iterable[Owned[R]]) -> dict[str, Owned[R]]:
    """One object per name, the first by id: the one provisioning keeps when an earlier run
    left two (the others are deleted), and the one a rule's trunk id must name."""
    chosen: dict[str, Owned[R]] = {}
    for owned in sorted(objects, key=lambda o: o.id):
        chosen.setdefault(owned.record.name, owned)
    return chosen
