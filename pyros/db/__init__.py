"""The long-lived state of the observatory: SQLAlchemy 2 models, Alembic migrations, workflows.

Modules (import what you need; this package imports nothing, so that the
command line starts fast):

* :mod:`pyros.db.engine` — :class:`~pyros.db.engine.Database`: engine, sessions, write transactions
  (SQLite in WAL mode, or PostgreSQL).
* :mod:`pyros.db.models` — the entities, one concept per module.
* :mod:`pyros.db.lifecycle` — status lifecycles of requests and sequences (transition tables).
* :mod:`pyros.db.request_workflow` — status changes with quota charging and refunds.
* :mod:`pyros.db.quota_accounting` — the quota ledger.
* :mod:`pyros.db.migrate` — running the migrations (``pyros/db/migrations``) from Python.
* :mod:`pyros.db.demo_site` — the demo site of ``pyros db init --demo``.
* :mod:`pyros.db.cli` — the ``pyros db`` commands.

The data model is described in ``docs/data-model.md``.
"""
