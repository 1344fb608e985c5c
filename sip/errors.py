"""Errors raised by the sip package: a branch of the one tree drawn in ``flows.errors``."""

from __future__ import annotations

from flows.errors import IntakeError


class SipError(IntakeError):
    """Base of every error raised by the sip package."""


class JobMetadataError(SipError):
    """Bad job metadata will be just as bad on a retry."""


class RoutingError(SipError):
    """No route and no default flow for the dialed number; fix the settings."""


class ProvisioningError(SipError):
    """The telephony file is invalid or unsafe (an open trunk): fix the file."""


class LiveKitRefusal(SipError):
    """LiveKit refused or failed a SIP admin call. ``retryable`` when the trouble was
    LiveKit's or the network's, not the request's."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
