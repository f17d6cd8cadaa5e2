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

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert events == ["first in", "first nested", "first out", "second in"]
