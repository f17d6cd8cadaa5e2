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
