"""Errors raised by the sip package.

Tree::

    SipError                 base; ``retryable`` says whether trying again can help
    ├── JobMetadataError     an outbound job's metadata is not what the API promised
    ├── RoutingError         an inbound call matches no flow
    └── TransferError        a transfer to a human could not be attempted
"""

from __future__ import annotations


class SipError(Exception):
    retryable: bool = False


class JobMetadataError(SipError):
    """Bad job metadata will be just as bad on a retry."""


class RoutingError(SipError):
    """No route and no default flow for the dialed number; fix the settings."""


class TransferError(SipError):
    retryable = True
