"""Hand-written SQL on the hot paths of machine clients (the DCI sync search, the audit append).

On PostgreSQL `fetch_prepared` runs a statement as a server-side prepared statement of the connection
(psycopg's `prepare=True`): it is parsed and planned once per connection and then only executed, which matters
for a statement run hundreds of times a second. Django's own cursors bind parameters on the client and so
plan every query each time. The raw psycopg cursor skips Django's query logging (debug toolbar,
`CaptureQueriesContext`). With a transaction-pooling proxy (PgBouncer in transaction mode) prepared statements
need its `max_prepared_statements` setting. Elsewhere (SQLite) the statement goes through Django's cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection


def fetch_prepared(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """All rows of `sql` (placeholders `%s`, or `%(name)s` with a mapping) with `params`, prepared on PostgreSQL
    (see the module); database errors are Django's, as from its own cursors."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description is not None else []
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django turns preparing off; only server-binding cursors (this one) use it
        raw.prepare_threshold = 5
    # Django's connections make client-side-binding cursors (which cannot prepare): this one binds on the server
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        return list(cursor.fetchall()) if cursor.description is not None else []
