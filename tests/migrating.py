"""Data-migration tests: move the test database's schema to a past state, then forward again."""

from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]):
    """Migrate the database to `targets` ([(app, migration name)]); the app registry of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@contextmanager
def schema_at(targets: list[tuple[str, str]]):
    """The schema as of `targets` for the block (yields that state's app registry); the latest schema
    again afterwards, whatever happens, so the tests that follow find the tables they expect."""
    try:
        yield migrate(targets)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
