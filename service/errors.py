"""Errors raised by the service package: a branch of the one tree drawn in ``flows.errors``."""

from __future__ import annotations

from flows.errors import IntakeError


class ServiceError(IntakeError):
    """Base of every error raised by the service package."""


class ConfigError(ServiceError):
    """A setting is missing or invalid. The message names the environment variable."""
