"""Alembic migrations of the PyROS schema (run them with :mod:`pyros.db.migrate` or ``pyros db upgrade``)."""
