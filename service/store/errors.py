"""Errors raised by the store package (a branch of the tree drawn in ``flows.errors``).

Tree::

    StoreError                    base (a ServiceError); ``retryable`` says whether trying
    │                             again can help
    ├── StoreUnavailableError     the database cannot be opened or reached (retryable)
    │   └── StoreUnusableError    it is read-only, full or corrupt: an operator must act
    ├── UnknownCallError          no such call, or it has no final payload yet
    ├── UnknownDeliveryError      no delivery with that id
    ├── NotFoundError             no such requested call, campaign or API key
    ├── ConflictError             the request contradicts the stored state (cancelling an
    │   │                         ended call, an Idempotency-Key reused with another body)
    │   └── DoNotCallError        the number is on the do-not-call list
    └── QuotaExceededError        the API key's calls per minute are used up;
                                  ``retry_after`` says in how many seconds they free up

Messages name ids and the database (password hidden), never caller data.
"""

from __future__ import annotations

from service.errors import ServiceError


class StoreError(ServiceError):
    """Base of every error raised by the store package."""


class StoreUnavailableError(StoreError):
    retryable = True


class StoreUnusableError(StoreUnavailableError):
    """Read-only, disk full, corrupt: waiting will not help (the API still answers 503)."""

    retryable = False


class UnknownCallError(StoreError):
    pass


class UnknownDeliveryError(StoreError):
    pass


class NotFoundError(StoreError):
    pass


class ConflictError(StoreError):
    pass


class DoNotCallError(ConflictError):
    pass


class QuotaExceededError(StoreError):
    retryable = True

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
