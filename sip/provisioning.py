"""The telephony file of ``intake provision``: LiveKit SIP trunks and dispatch rules, declared.

```yaml
inbound:                                  # calls from the carrier to LiveKit
  - name: main
    numbers: ["+18005550100"]             # the numbers this trunk answers
    allowed_addresses: ["54.172.60.0/30"] # the carrier's signalling addresses ...
    allowed_numbers: []                   # ... and/or the callers let in
    auth: {username: intake, password_env: INBOUND_TRUNK_PASSWORD}   # ... and/or digest auth
    krisp: true                           # Krisp noise cancellation (LiveKit Cloud)
    routes:                               # one dispatch rule each: a room per call, agent `intake`
      - {number: "+18005550100", flow: patient_intake, room_prefix: "call-"}
outbound:                                 # calls from LiveKit through the carrier
  - name: carrier
    address: example.pstn.twilio.com      # host name or IP, no "sip:"
    transport: tcp                        # auto | udp | tcp | tls
    numbers: ["+18005550100"]             # caller ids it may use
    auth: {username: intake, password_env: OUTBOUND_TRUNK_PASSWORD}
```

Secrets never sit in the file: ``password_env`` names the environment variable that holds
each password. Every problem is reported with its path and line, like flow specs.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from flows.engine.phones import to_e164
from flows.errors import AnswerError, Location, os_reason
from flows.spec.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentError,
    format_path,
    read_document,
    read_text,
    validate,
)
from sip.errors import ProvisioningError
from sip.provisioning_state import (
    DispatchRule,
    Existing,
    InboundTrunk,
    OutboundTrunk,
    Transport,
    rule_name,
)

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def _e164(value: str) -> str:
    if not value.startswith("+"):
        raise ValueError("expected an E.164 number such as +14155550123")
    try:
        return to_e164(value, None)
    except AnswerError:
        raise ValueError("expected a valid E.164 number such as +14155550123") from None


def _address(value: str) -> str:
    """An IP address, a CIDR block or a host name: what LiveKit matches a caller's
    signalling address against."""
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        pass
    if not _HOST.match(value) or value.replace(".", "").isdigit():
        raise ValueError("expected an IP address, a CIDR block such as 54.172.60.0/30, or a host")
    return value


def _host(value: str) -> str:
    if value.lower().startswith(("sip:", "sips:")) or ";" in value:
        raise ValueError("expected a host name or IP, without sip: or ;transport")
    return value


Number = Annotated[str, AfterValidator(_e164)]
Address = Annotated[str, AfterValidator(_address)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Strict):
    username: Annotated[str, Field(min_length=1, max_length=256)]
    password_env: EnvName  # the environment variable holding the password


class Route(_Strict):
    number: Number
    flow: Annotated[str, Field(min_length=1, max_length=200)]
    room_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "call-"


class InboundTrunkSpec(_Strict):
    name: Name
    numbers: Annotated[list[Number], Field(min_length=1)]
    allowed_addresses: list[Address] = []
    allowed_numbers: list[Number] = []
    auth: Auth | None = None
    krisp: bool = False
    routes: list[Route] = []


class OutboundTrunkSpec(_Strict):
    name: Name
    address: Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_host)]
    transport: Transport = "auto"
    numbers: Annotated[list[Number], Field(min_length=1)]
    auth: Auth | None = None


class TelephonyFile(_Strict):
    inbound: list[InboundTrunkSpec] = []
    outbound: list[OutboundTrunkSpec] = []


FlowCheck = Callable[[str], str | None]  # a flow id -> why it cannot run, or None


def load_telephony(
    path: Path,
    *,
    agent_name: str,
    flow_problem: FlowCheck,
    env: Mapping[str, str] | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> tuple[TelephonyFile, list[InboundTrunk | OutboundTrunk | DispatchRule]]:
    """The validated file and the records it asks for. ProvisioningError, one line with
    the path and line of the first problem, for anything wrong or unsafe in it."""
    env = os.environ if env is None else env
    try:
        text = read_text(path, max_bytes=max_bytes)
    except OSError as exc:
        why = os_reason(exc)
        raise ProvisioningError(f"{path}: cannot read the telephony file ({why})") from None
    except DocumentError as exc:
        raise ProvisioningError(str(exc)) from None
    try:
        doc = read_document(text, str(path))
        spec = validate(TelephonyFile, doc)
    except DocumentError as exc:
        raise ProvisioningError(str(exc)) from None
    for where, problem in _problems(spec, env, flow_problem):
        line = doc.line(where)
        place = format_path(where) + (f" (line {line})" if line is not None else "")
        raise ProvisioningError(f"{path}: {place}: {problem}")
    return spec, list(records_of(spec, agent_name, env))


def _problems(
    spec: TelephonyFile, env: Mapping[str, str], flow_problem: FlowCheck
) -> Iterator[tuple[Location, str]]:
    """What pydantic cannot see alone: names, routes against their trunk, open trunks,
    flows, and the passwords the file points at."""
    sections: list[tuple[str, Sequence[InboundTrunkSpec | OutboundTrunkSpec]]] = [
        ("inbound", spec.inbound),
        ("outbound", spec.outbound),
    ]
    for section, trunks in sections:
        seen: set[str] = set()
        for i, trunk in enumerate(trunks):
            if trunk.name in seen:
                yield (section, i, "name"), f"a second {section} trunk named {trunk.name}"
            seen.add(trunk.name)
            if trunk.auth and not env.get(trunk.auth.password_env):
                yield (
                    (section, i, "auth", "password_env"),
                    f"the environment variable {trunk.auth.password_env} is not set",
                )
    for i, trunk in enumerate(spec.inbound):
        if not (trunk.allowed_addresses or trunk.allowed_numbers or trunk.auth):
            yield (
                ("inbound", i),
                f"inbound trunk {trunk.name} is open to anyone: set allowed_addresses,"
                " allowed_numbers or auth (an open trunk is toll fraud waiting to happen)",
            )
        routed: set[str] = set()
        for j, route in enumerate(trunk.routes):
            where = ("inbound", i, "routes", j)
            if route.number not in trunk.numbers:
                yield (*where, "number"), f"{route.number} is not one of this trunk's numbers"
            if route.number in routed:
                yield (*where, "number"), f"{route.number} is routed twice"
            routed.add(route.number)
            if problem := flow_problem(route.flow):
                yield (*where, "flow"), problem


def records_of(
    spec: TelephonyFile, agent_name: str, env: Mapping[str, str]
) -> Iterator[InboundTrunk | OutboundTrunk | DispatchRule]:
    def password(auth: Auth | None) -> str:
        return env.get(auth.password_env, "") if auth else ""

    for trunk in spec.inbound:
        yield InboundTrunk(
            name=trunk.name,
            numbers=tuple(sorted(set(trunk.numbers))),
            allowed_addresses=tuple(sorted(set(trunk.allowed_addresses))),
            allowed_numbers=tuple(sorted(set(trunk.allowed_numbers))),
            auth_username=trunk.auth.username if trunk.auth else "",
            auth_password=password(trunk.auth),
            password_env=trunk.auth.password_env if trunk.auth else "",
            krisp=trunk.krisp,
        )
        for route in trunk.routes:
            yield DispatchRule(
                name=rule_name(trunk.name, route.number),
                trunk=trunk.name,
                number=route.number,
                flow=route.flow,
                agent_name=agent_name,
                room_prefix=route.room_prefix,
            )
    for out in spec.outbound:
        yield OutboundTrunk(
            name=out.name,
            address=out.address,
            numbers=tuple(sorted(set(out.numbers))),
            transport=out.transport,
            auth_username=out.auth.username if out.auth else "",
            auth_password=password(out.auth),
            password_env=out.auth.password_env if out.auth else "",
        )


def export_file(existing: Existing) -> str:
    """What LiveKit holds (the marked objects), as a telephony file; passwords by the name
    of their variable only. Rules bound to no trunk of this tool cannot be written."""
    routes: dict[str, list[Route]] = {}
    for rule in sorted((owned.record for owned in existing.rules), key=lambda r: r.name):
        if rule.trunk is not None:
            route = Route(number=rule.number, flow=rule.flow, room_prefix=rule.room_prefix)
            routes.setdefault(rule.trunk, []).append(route)
    spec = TelephonyFile(
        inbound=[
            InboundTrunkSpec(
                name=t.name,
                numbers=list(t.numbers),
                allowed_addresses=list(t.allowed_addresses),
                allowed_numbers=list(t.allowed_numbers),
                auth=_auth(t.name, t.auth_username, t.password_env),
                krisp=t.krisp,
                routes=routes.get(t.name, []),
            )
            for t in sorted((owned.record for owned in existing.inbound), key=lambda t: t.name)
        ],
        outbound=[
            OutboundTrunkSpec(
                name=t.name,
                address=t.address,
                transport=t.transport,
                numbers=list(t.numbers),
                auth=_auth(t.name, t.auth_username, t.password_env),
            )
            for t in sorted((owned.record for owned in existing.outbound), key=lambda t: t.name)
        ],
    )
    data = spec.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True) if data else "{}\n"


def _auth(name: str, username: str, password_env: str) -> Auth | None:
    if not username:
        return None
    fallback = "TRUNK_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_PASSWORD"
    return Auth(username=username, password_env=password_env or fallback)
