"""Databases kept between `make bench` runs (large data is built once) and the child processes
that use them (bench/child.py).

SQLite: a file under BENCH_CACHE_DIR (default var/bench-cache/). PostgreSQL (DATABASE_URL set):
a database named after DATABASE_URL's with a `_bench_<label>` suffix on the same server, created
when missing. Delete the file or drop the database to rebuild.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "child.py"


def database_url(label: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        folder = Path(os.environ.get("BENCH_CACHE_DIR", ROOT / "var" / "bench-cache"))
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / f'{label}.sqlite3'}"
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'mcn'}_bench_{label}"
    _create_pg_database(parts, name)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _create_pg_database(parts, name: str) -> None:
    import psycopg
    from psycopg import sql

    admin = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def child_env(url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "TESTING": "1", "CELERY_TASK_ALWAYS_EAGER": "1",
           "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)  # eager tasks, in-process cache: the figures are the database's
    return env


def start_child(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(CHILD), *args], cwd=ROOT, env=child_env(url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_child(proc: subprocess.Popen, timeout: float = 3600) -> dict:
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"bench child {proc.args[2:]} failed: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def run_child(url: str, *args: str, timeout: float = 3600) -> dict:
    return finish_child(start_child(url, *args), timeout=timeout)


def settle(url: str, timeout: float = 60.0) -> None:
    """PostgreSQL: before a timed run, let the server finish what earlier benchmarks' writes set
    off (a CHECKPOINT now rather than during the timing; autovacuum workers, polled until none is
    left or `timeout`), so a figure does not depend on which benchmarks ran before it."""
    if not url.startswith("postgres"):
        return
    import time

    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql")), autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.Error:  # not a superuser: the server's own checkpoints then
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                                ).fetchone()[0]
            if not busy:
                break
            time.sleep(0.5)
