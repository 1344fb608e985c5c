"""Errors raised by the sip package.

Tree::

    SipError                 base; ``retryable`` says whether trying again can help
    ├── JobMetadataError     an outbound job's metadata is not what the API promised
    ├── RoutingError         an inbound call matches no flow
    ├── TransferError        a transfer to a human could not be attempted
    ├── ProvisioningError    the telephony file of ``intake provision`` is invalid or unsafe
    └── LiveKitRefusal       LiveKit refused or failed a trunk or dispatch-rule call
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


class ProvisioningError(SipError):
    """The telephony file is invalid or unsafe (an open trunk): fix the file."""


class LiveKitRefusal(SipError):
    """LiveKit refused or failed a SIP admin call. ``retryable`` when the trouble was
    LiveKit's or the network's, not the request's."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
