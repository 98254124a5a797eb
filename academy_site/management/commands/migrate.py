"""`migrate`, without the per-statement timeout (DB_STATEMENT_TIMEOUT_MS).

Pages and jobs run with a statement timeout so a stuck query cannot hold a worker forever;
a migration that rewrites or indexes a large table may legitimately take longer, and cutting
it halfway would leave the schema to be repaired by hand.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(*args, **options)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")  # this session only
        try:
            return super().handle(*args, **options)
        finally:
            # Back to the session's configured timeout before the connection returns to a pool.
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
