"""Errors raised by the sip package.

Tree::

    SipError                 base; ``retryable`` says whether trying again can help
    └── TransferError        a transfer to a human could not be attempted
"""

from __future__ import annotations


class SipError(Exception):
    retryable: bool = False


class TransferError(SipError):
    retryable = True
