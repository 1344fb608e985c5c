"""Whether a dial's outcome is dialled again, and when.

``attempts`` of a rule counts dials in all, the first included, so a call is dialled again
while it has had fewer dials than the rule of its latest outcome allows. The retry is due
``after`` seconds from the end of that dial, moved to the calling window's next opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flows.engine.outcomes import CallStatus
from service.scheduler.rules import RetryPolicy, Window
from service.scheduler.window import next_opening


def next_dial(
    policy: RetryPolicy,
    window: Window,
    zones: Sequence[str],
    *,
    outcome: CallStatus,
    retryable: bool | None,
    dials: int,
    ended_at: datetime,
) -> datetime | None:
    """When to dial again after a dial that ended with ``outcome`` (a payload status) at
    ``ended_at``, ``dials`` made so far; None: the call is final. ``failed`` is retried
    only when the failure is retryable (None, unknown, is not); completed, incomplete,
    declined and transferred never are."""
    rule = policy.rule(outcome)
    if rule is None or dials >= rule.attempts:
        return None
    if outcome == "failed" and not retryable:
        return None
    return next_opening(window, zones, ended_at + timedelta(seconds=rule.after))
