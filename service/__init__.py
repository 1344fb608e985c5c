"""Processes of the intake service: CLI, worker, API, settings, logging."""
