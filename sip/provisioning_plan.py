"""What must change in LiveKit for it to hold what the telephony file asks, and doing it.

:func:`plan_changes` is pure: records in, a :class:`Plan` out. Only marked objects are
compared (``provisioning_state``); an object of ours that the file no longer names is
deleted, one the file names is created or replaced, and equal ones are left as they are,
so a second run finds nothing to do. :func:`apply_plan` carries a plan out through the
port in an order LiveKit accepts: deletions first (a number freed by one trunk can then
go to another without a conflict), trunks before the rules that name them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from sip.errors import LiveKitRefusal, ProvisioningError
from sip.provisioning_state import (
    SECRET_FIELDS,
    DispatchRule,
    Existing,
    Kind,
    Owned,
    Record,
    TelephonyPort,
    kept,
)

Action = Literal["create", "update", "delete"]
ORDER: list[tuple[Action, Kind]] = [
    ("delete", "dispatch rule"),
    ("delete", "inbound trunk"),
    ("delete", "outbound trunk"),
    ("update", "inbound trunk"),
    ("update", "outbound trunk"),
    ("create", "inbound trunk"),
    ("create", "outbound trunk"),
    ("update", "dispatch rule"),
    ("create", "dispatch rule"),
]
PAST = {"create": "created", "update": "updated", "delete": "deleted"}


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Kind
    name: str
    object_id: str | None = None  # the object updated or deleted
    record: Record | None = None  # what it becomes (create, update)
    fields: tuple[str, ...] = ()  # an update's differences, secrets named only

    def describe(self) -> str:
        what = f"{self.action:6} {self.kind:14} {self.name}"
        if self.object_id:
            what += f" ({self.object_id})"
        return what + (f": {'; '.join(self.fields)}" if self.fields else "")


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]  # in the order they are applied
    unchanged: int
    foreign: int  # objects in LiveKit without the marker, left alone

    def summary(self) -> str:
        others = f"; {self.foreign} not made by intake provision left alone" if self.foreign else ""
        if not self.changes:
            return (
                f"nothing to change: LiveKit holds what the file asks"
                f" ({self.unchanged} objects){others}"
            )
        counts = dict.fromkeys(PAST, 0)
        for change in self.changes:
            counts[change.action] += 1
        said = ", ".join(f"{n} to {action}" for action, n in counts.items() if n)
        return f"{said}; {self.unchanged} unchanged{others}"


def plan_changes(desired: Sequence[Record], existing: Existing) -> Plan:
    changes: list[Change] = []
    unchanged = 0
    groups: list[tuple[Kind, Sequence[Owned[Record]]]] = [
        ("inbound trunk", existing.inbound),
        ("outbound trunk", existing.outbound),
        ("dispatch rule", existing.rules),
    ]
    for kind, have in groups:
        keep = kept(have)
        changes += [
            Change("delete", kind, o.record.name, o.id) for o in have if o not in keep.values()
        ]
        for record in (r for r in desired if r.kind == kind):
            found = keep.pop(record.name, None)
            if found is None:
                changes.append(Change("create", kind, record.name, record=record))
            elif found.record != record:
                fields = _differences(found.record, record)
                changes.append(Change("update", kind, record.name, found.id, record, fields))
            else:
                unchanged += 1
        changes += [Change("delete", kind, o.record.name, o.id) for o in keep.values()]
    changes.sort(key=lambda c: (ORDER.index((c.action, c.kind)), c.name, c.object_id or ""))
    return Plan(tuple(changes), unchanged, existing.foreign)


def _differences(old: Record, new: Record) -> tuple[str, ...]:
    said = []
    for field in dataclasses.fields(new):
        before, after = getattr(old, field.name), getattr(new, field.name)
        if before == after:
            continue
        label = field.name.replace("auth_", "auth.")
        if field.name in SECRET_FIELDS:
            said.append(f"{label} changed")
        else:
            said.append(f"{label} {_shown(before)} -> {_shown(after)}")
    return tuple(said)


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if value is None or value == "":
        return "none"
    return str(value)


@dataclass(frozen=True)
class Done:
    change: Change
    object_id: str

    def describe(self) -> str:
        change = self.change
        return f"{PAST[change.action]} {change.kind} {change.name} ({self.object_id})"


async def apply_plan(plan: Plan, existing: Existing, port: TelephonyPort) -> AsyncIterator[Done]:
    """Make each change, reporting each as it is done. A refusal stops the run with
    a LiveKitRefusal naming the change; what came before it stays done (run it again)."""
    trunk_ids = {name: owned.id for name, owned in kept(existing.inbound).items()}
    for change in plan.changes:
        trunk_id = None
        if isinstance(change.record, DispatchRule):
            trunk = change.record.trunk
            trunk_id = trunk_ids.get(trunk) if trunk is not None else None
            if trunk_id is None:  # the file always names one; a defect if not
                raise ProvisioningError(f"dispatch rule {change.name}: no inbound trunk {trunk}")
        try:
            object_id = await _carry_out(change, port, trunk_id)
        except LiveKitRefusal as exc:
            what = f"{change.action} {change.kind} {change.name}"
            raise LiveKitRefusal(f"{what}: {exc}", retryable=exc.retryable) from None
        if change.action == "create" and change.kind == "inbound trunk":
            trunk_ids[change.name] = object_id
        yield Done(change, object_id)


async def _carry_out(change: Change, port: TelephonyPort, trunk_id: str | None) -> str:
    if change.action == "delete":
        assert change.object_id is not None
        await port.delete(change.kind, change.object_id)
        return change.object_id
    assert change.record is not None
    if change.action == "create":
        return await port.create(change.record, trunk_id)
    assert change.object_id is not None
    await port.update(change.object_id, change.record, trunk_id)
    return change.object_id
