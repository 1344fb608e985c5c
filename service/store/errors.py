"""Errors raised by the store package.

Tree::

    StoreError                    base (a ServiceError); ``retryable`` says whether trying
    │                             again can help
    ├── StoreUnavailableError     the database cannot be opened or reached (retryable)
    ├── UnknownCallError          no such call, or it has no final payload yet
    └── UnknownDeliveryError      no delivery with that id

Messages name ids and the database (password hidden), never caller data.
"""

from __future__ import annotations

from service.errors import ServiceError


class StoreError(ServiceError):
    """Base of every error raised by the store package."""


class StoreUnavailableError(StoreError):
    retryable = True


class UnknownCallError(StoreError):
    pass


class UnknownDeliveryError(StoreError):
    pass
