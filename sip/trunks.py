"""The outbound trunk a setting names: LiveKit's id (``ST_...``), or the trunk's name in
the telephony file of ``intake provision``.

A name lets ``docker compose up`` plus one ``intake provision`` be the whole setup: the
worker finds the trunk whenever it dials, so it may start before the trunk exists, and a
trunk that provisioning replaced (a new id) is found again without a restart.
"""

from __future__ import annotations

from livekit import api
from livekit.api.sip_service import SipService

from flows.engine.outcomes import DialFailure

TRUNK_ID_PREFIX = "ST_"


def no_trunk_named(name: str) -> DialFailure:
    # Retryable: the trunk may simply not be provisioned yet.
    return DialFailure("failed", True, None, f"LiveKit has no outbound trunk named {name}")


async def outbound_trunk_id(sip: SipService, trunk: str) -> str | None:
    """The id of ``trunk`` (an id is returned as it is), or None when LiveKit has no
    outbound trunk of that name. Raises what ListSIPOutboundTrunk raises."""
    if trunk.startswith(TRUNK_ID_PREFIX):
        return trunk
    listed = await sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    # Several of one name: provisioning keeps the first by id and deletes the others.
    ids = sorted(item.sip_trunk_id for item in listed.items if item.name == trunk)
    return ids[0] if ids else None
