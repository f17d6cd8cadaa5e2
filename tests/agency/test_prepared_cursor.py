"""agency.bulksql.prepared_cursor: on PostgreSQL a statement a worker runs thousands of times
(an email's record) is parsed and planned once per connection; still seen by Django's query
capture and execute wrappers; off with DB_PREPARED_STATEMENTS (behind a transaction pooler)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agency.bulksql import prepared_cursor

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL prepared statements")]

SQL = "SELECT %s::int + 1 AS prepared_cursor_test"


def _prepared(marker="prepared_cursor_test") -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{marker}%"])
        return [row[0] for row in cursor.fetchall()]


def test_the_statement_is_prepared_once_and_still_seen_by_django(settings):
    settings.DB_PREPARED_STATEMENTS = True
    seen = []
    with CaptureQueriesContext(connection) as queries, \
            connection.execute_wrapper(lambda execute, sql, params, many, context: seen.append(sql) or
                                       execute(sql, params, many, context)):
        for value in (1, 2, 3):
            with prepared_cursor() as cursor:
                cursor.execute(SQL, [value])
                assert cursor.fetchone() == (value + 1,)
    assert len(_prepared()) == 1  # one statement on the server, run three times
    assert seen == [SQL] * 3
    assert sum("prepared_cursor_test" in q["sql"] for q in queries.captured_queries) == 3


def test_turned_off_nothing_is_prepared(settings):
    settings.DB_PREPARED_STATEMENTS = False
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int + 1 AS prepared_cursor_off", [5])
        assert cursor.fetchone() == (6,)
    assert _prepared("prepared_cursor_off") == []
