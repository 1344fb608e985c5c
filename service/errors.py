"""Errors raised by the service package.

Tree::

    ServiceError                  base; ``retryable`` says whether trying again can help
    └── ConfigError               a setting is missing or invalid; names the variable
"""

from __future__ import annotations


class ServiceError(Exception):
    retryable: bool = False


class ConfigError(ServiceError):
    """A setting is missing or invalid. The message names the environment variable."""
