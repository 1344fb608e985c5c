"""Where results are kept until delivered: calls, step progress, payloads, the outbox.

SQLAlchemy 2 (async) on a SQLite file by default or PostgreSQL for several machines;
Alembic migrations are applied by ``CallStore.open`` (or ``migrate``); ``CallStore.create``
touches no database, so a job process can have its store while the database is down.
Final payloads that could not be stored wait in a ``Spool`` of files until imported.
"""

from service.store.calls import CallStore
from service.store.errors import (
    StoreError,
    StoreUnavailableError,
    UnknownCallError,
    UnknownDeliveryError,
)
from service.store.outbox import (
    Attempt,
    DeliveryRecord,
    DeliveryResult,
    DueDelivery,
    Outbox,
    Verdict,
    VerdictStatus,
)
from service.store.schema import DEAD, DELIVERED, PENDING, SUPERSEDED

__all__ = [
    "DEAD",
    "DELIVERED",
    "PENDING",
    "SUPERSEDED",
    "Attempt",
    "CallStore",
    "DeliveryRecord",
    "DeliveryResult",
    "DueDelivery",
    "Outbox",
    "StoreError",
    "StoreUnavailableError",
    "UnknownCallError",
    "UnknownDeliveryError",
    "Verdict",
    "VerdictStatus",
]
