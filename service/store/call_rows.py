"""What a requested call's row is made of beyond the request: ids in creation order, and
whether a time zone can be found for its number (else it is blocked)."""

from __future__ import annotations

import functools

from flows.engine.ids import ulid
from service.scheduler.zones import callee_zones

NO_ZONE = "no time zone could be found for the number"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# A number's zones come from its prefix: the same numbers and prefixes recur (retries,
# campaigns), and the lookup costs as much as the rest of a request's checks.
zones_of = functools.lru_cache(maxsize=65_536)(callee_zones)


def sequential_call_ids(count: int) -> list[str]:
    """``count`` call ids in order: a fresh ULID and its successors, so that a campaign's
    calls sort (and its results stream) in the order its contacts were given."""
    first = sum(_CROCKFORD.index(c) << (5 * i) for i, c in enumerate(reversed(ulid())))
    return [
        "call_" + "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
        for value in range(first, first + count)
    ]
