"""After a big import, PostgreSQL's statistics are refreshed once the import commits: the list
filtered by a tag over 10,000 freshly imported accounts took 8 s (a plan made for an empty table)
instead of 30 ms until autovacuum came round."""

import logging

import pytest
from django.db import connection
from django_scopes import scope

from agency.bulksql import analyze_after_commit
from agency.models import SubAccount
from agency.services.imports import subaccount_import
from bench.bench_import import _file

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner statistics")


def _estimated_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def _import(world, rows, captured):
    with captured(execute=True), scope(agency=world.agency):
        return subaccount_import(agency=world.agency, actor=world.user("owner"), content=_file(rows),
                                 filename="名单.csv", dry_run=False)


@postgresql_only
def test_a_big_import_refreshes_the_statistics_of_the_tables_it_filled(world_a, settings,
                                                                       django_capture_on_commit_callbacks):
    settings.BULK_ANALYZE_MIN_ROWS = 1000
    before = {t: _estimated_rows(t) for t in ("agency_subaccount", "agency_subaccounttag")}
    assert _import(world_a, 1200, django_capture_on_commit_callbacks)["created"] == 1200
    after = {t: _estimated_rows(t) for t in before}
    assert after["agency_subaccount"] >= 1200 > before["agency_subaccount"]
    assert after["agency_subaccounttag"] >= 400  # every third account carries two tags
    # The tag filter is then planned for the rows there and answers.
    response = world_a.client("owner").get(
        f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/?page_size=100&tag=重点&ordering=-followers")
    assert response.status_code == 200 and response.json()["count"] == 400


@postgresql_only
def test_a_small_import_leaves_the_statistics_to_autovacuum(world_a, settings, django_capture_on_commit_callbacks):
    settings.BULK_ANALYZE_MIN_ROWS = 1000
    before = _estimated_rows("agency_subaccount")
    _import(world_a, 30, django_capture_on_commit_callbacks)
    assert _estimated_rows("agency_subaccount") == before


@postgresql_only
def test_a_failed_analyze_is_logged_and_the_import_stands(settings, django_capture_on_commit_callbacks,
                                                          monkeypatch, caplog):
    settings.BULK_ANALYZE_MIN_ROWS = 10
    monkeypatch.setattr(SubAccount._meta, "db_table", "no_such_table")
    with caplog.at_level(logging.WARNING, logger="agency.bulksql"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert analyze_after_commit([SubAccount], rows=20)
        monkeypatch.undo()
        with connection.cursor() as cursor:  # a failed statement inside the test's transaction
            cursor.execute("SAVEPOINT before_analyze")
            for callback in callbacks:
                callback()  # does not raise
            cursor.execute("ROLLBACK TO SAVEPOINT before_analyze")
    assert "ANALYZE" in caplog.text and "failed" in caplog.text


def test_sqlite_needs_no_analyze(settings):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    settings.BULK_ANALYZE_MIN_ROWS = 1
    assert analyze_after_commit([SubAccount], rows=10_000) is False
