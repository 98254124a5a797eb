"""PostgreSQL connections: a bounded pool per process, timeouts, and what a request does when they run out.

Under ASGI every concurrent request runs its ORM calls on a thread of its own; with persistent
per-thread connections (CONN_MAX_AGE) a burst of 50 requests left 50 idle connections open per
web process, and two bursts filled PostgreSQL's max_connections. psycopg's pool caps the process
at DB_POOL_MAX connections, shared by its threads; a request that cannot get one within
DB_POOL_TIMEOUT seconds is answered 503 (academy_site.views.server_error), not 500.
"""

from __future__ import annotations

POSTGRES_ENGINES = ("django.db.backends.postgresql",)


def postgres_options(database: dict, *, pool_min: int, pool_max: int, pool_timeout: float, conn_max_age: int,
                     connect_timeout: int, statement_timeout_ms: int) -> dict:
    """The CONN_MAX_AGE and OPTIONS of a PostgreSQL DATABASES entry (other engines: unchanged).

    pool_max 0 turns the pool off (a connection per thread, kept conn_max_age seconds); with the
    pool on, Django requires CONN_MAX_AGE 0 (a request hands its connection back when it ends).
    """
    if database.get("ENGINE") not in POSTGRES_ENGINES:
        return {}
    options = dict(database.get("OPTIONS") or {})
    options["connect_timeout"] = connect_timeout
    if statement_timeout_ms:
        # Sent with the startup packet, so it holds from the first statement on (libpq "options").
        extra = options.get("options", "")
        options["options"] = f"{extra} -c statement_timeout={statement_timeout_ms}".strip()
    if pool_max:
        options["pool"] = {"min_size": pool_min, "max_size": pool_max, "timeout": pool_timeout}
        return {"CONN_MAX_AGE": 0, "OPTIONS": options}
    return {"CONN_MAX_AGE": conn_max_age, "OPTIONS": options}


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) says the database cannot serve now: no pool slot in time,
    no connection, a statement cut by its timeout, a locked SQLite file. Those answer 503."""
    import psycopg
    from django.db import InterfaceError, OperationalError

    unavailable = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, unavailable):  # psycopg_pool.PoolTimeout is a psycopg.OperationalError
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def forget_inherited_pool(**_kwargs) -> None:
    """In a forked worker process: drop the parent's pool without touching its sockets.

    A pool is not fork-safe: its idle connections are the parent's sockets, and its filler
    threads did not survive the fork. Closing them here would end the parent's sessions, so the
    objects are only set aside (kept referenced, never finalised); this process opens its own
    pool on its first query.
    """
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    if not DatabaseWrapper._connection_pools:
        return
    _inherited.extend(DatabaseWrapper._connection_pools.values())
    DatabaseWrapper._connection_pools.clear()
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None and wrapper.settings_dict["OPTIONS"].get("pool"):
            _inherited.append(wrapper.connection)
            wrapper.connection = None


_inherited: list = []
