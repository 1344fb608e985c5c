"""Revision files; alembic skips this one."""
