"""Alembic migrations of the store, applied by ``CallStore.open`` (no alembic.ini needed).

A new revision: copy the newest file in ``versions/``, give it the next number as
``revision`` and the previous one as ``down_revision``, and keep ``schema.py`` in step
(``tests/service/test_store.py`` checks that the two agree).
"""
