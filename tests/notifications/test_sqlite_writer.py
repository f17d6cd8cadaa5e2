"""SQLite (one writer at a time): the delivery's writes queue for one another on a lock file
instead of polling SQLite's busy handler (notifications.services.delivery._one_writer)."""

import threading
import time

from notifications.services import delivery


def test_a_second_writer_waits_until_the_first_one_is_done(tmp_path, monkeypatch):
    monkeypatch.setattr(delivery, "_writer_lock_path", lambda: str(tmp_path / "db.sqlite3-writer.lock"))
    events: list[str] = []
    inside = threading.Event()

    def first():
        with delivery._one_writer():
            events.append("first in")
            inside.set()
            time.sleep(0.2)
            with delivery._one_writer():  # nested in the same thread: no wait for itself
                events.append("first nested")
            events.append("first out")

    def second():
        inside.wait(5)
        with delivery._one_writer():
            events.append("second in")

    threads = [threading.Thread(target=first, daemon=True), threading.Thread(target=second, daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert events == ["first in", "first nested", "first out", "second in"]


class _Connection:
    def __init__(self, vendor="sqlite", name="/srv/mcn/db.sqlite3", in_atomic_block=False):
        self.vendor, self.settings_dict, self.in_atomic_block = vendor, {"NAME": name}, in_atomic_block


def test_the_lock_file_sits_next_to_a_sqlite_file_and_nowhere_else(monkeypatch):
    cases = [
        (("sqlite", "/srv/mcn/db.sqlite3"), "/srv/mcn/db.sqlite3-writer.lock"),
        (("sqlite", ":memory:"), None),
        (("sqlite", "".join([":mem", "ory:"])), None),  # read from the environment, not a literal
        (("sqlite", ""), None),
        (("sqlite", "file:memorydb_default?mode=memory&cache=shared"), None),
        (("postgresql", "mcn"), None),
    ]
    for (vendor, name), expected in cases:
        monkeypatch.setattr(delivery, "connection", _Connection(vendor, name))
        assert delivery._writer_lock_path() == expected, (vendor, name)


def _held_elsewhere(path):
    import fcntl
    import os

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _free(path) -> bool:
    import fcntl
    import os

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_inside_a_transaction_the_write_lock_is_held_already_so_nothing_is_queued_for(tmp_path, monkeypatch):
    import os

    path = str(tmp_path / "db.sqlite3-writer.lock")
    monkeypatch.setattr(delivery, "_writer_lock_path", lambda: path)
    monkeypatch.setattr(delivery, "connection", _Connection(in_atomic_block=True))
    fd = _held_elsewhere(path)  # another worker holds the lock file
    entered = threading.Event()

    def write():
        with delivery._one_writer():
            entered.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        assert entered.wait(2), "queued for a lock its own transaction makes pointless"
    finally:
        os.close(fd)  # let a queued writer through, so a failure does not hang
        thread.join(5)


def test_the_lock_is_released_after_each_write_and_after_a_failed_one(tmp_path, monkeypatch):
    path = str(tmp_path / "db.sqlite3-writer.lock")
    monkeypatch.setattr(delivery, "_writer_lock_path", lambda: path)
    monkeypatch.setattr(delivery, "connection", _Connection())
    with delivery._one_writer():
        assert not _free(path)  # held while writing
        assert delivery._writer.held
    assert _free(path) and not delivery._writer.held
    try:
        with delivery._one_writer():
            raise RuntimeError("database is locked")
    except RuntimeError:
        pass
    assert _free(path) and not delivery._writer.held


def test_a_worker_forked_from_a_process_that_wrote_already_still_waits_for_it(tmp_path, monkeypatch):
    """The descriptor is kept open between writes; a prefork child must not share its parent's
    (a flock belongs to the open file, so parent and child would both 'hold' it at once)."""
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    path = str(tmp_path / "db.sqlite3-writer.lock")
    monkeypatch.setattr(delivery, "_writer_lock_path", lambda: path)
    monkeypatch.setattr(delivery, "connection", _Connection())
    with delivery._one_writer():
        pass  # the parent has its descriptor now
    go, child_in = fork.Event(), fork.Event()

    def child():
        go.wait(5)
        with delivery._one_writer():
            child_in.set()

    process = fork.Process(target=child, daemon=True)
    process.start()
    try:
        with delivery._one_writer():
            go.set()
            assert not child_in.wait(0.5), "the child wrote while its parent held the lock"
        assert child_in.wait(5), "the child never got its turn"
    finally:
        go.set()
        process.join(5)


def test_a_process_forked_during_a_write_does_not_hold_the_lock(tmp_path, monkeypatch):
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    path = str(tmp_path / "db.sqlite3-writer.lock")
    monkeypatch.setattr(delivery, "_writer_lock_path", lambda: path)
    monkeypatch.setattr(delivery, "connection", _Connection())
    child_in = fork.Event()

    def child():
        with delivery._one_writer():
            child_in.set()

    with delivery._one_writer():
        process = fork.Process(target=child, daemon=True)
        process.start()
        assert not child_in.wait(0.5), "the child took its parent's turn for its own"
    assert child_in.wait(5), "the child never got its turn"
    process.join(5)


def _autocheckpoint() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        return cursor.fetchone()[0]


def test_the_sweep_checkpoints_between_batches_not_inside_a_record_and_restores_the_setting(
        tmp_path, monkeypatch, django_db_blocker):
    """SQLite only: no commit of the sweep copies the log into the database while another worker
    waits for its turn; the sweep does it after each batch (PASSIVE), then the connection's own
    setting is back."""
    import pytest
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")
    monkeypatch.setattr(delivery, "_writer_lock_path", lambda: str(tmp_path / "db.sqlite3-writer.lock"))
    seen: list[int] = []
    monkeypatch.setattr(delivery, "_deliver_claimed",
                        lambda batch, now: seen.append(_autocheckpoint()) or {"sent": len(batch)})
    claims = iter([([object()] * 2, 0), ([object()], 0), ([], 0), ([], 0)])
    monkeypatch.setattr(delivery, "_claim", lambda queryset, now, limit: next(claims))
    with django_db_blocker.unblock():
        before = _autocheckpoint()
        with CaptureQueriesContext(connection) as queries:
            totals = delivery.messages_deliver_due(batch_size=2)
        after = _autocheckpoint()
    assert totals["sent"] == 3 and totals["batches"] == 2
    assert seen == [0, 0]  # while the batches were delivered, no commit checkpointed
    assert [q["sql"] for q in queries.captured_queries].count("PRAGMA wal_checkpoint(PASSIVE)") == 2
    assert after == before > 0
