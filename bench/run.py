"""`make bench`: runs every bench/bench_*.py and prints one `name: value unit` line per figure.

Each module defines `run() -> list[tuple[str, float, str]]`. Benchmarks run on a throwaway
database (SQLite file under a temp dir, or DATABASE_URL's server with a `_bench` suffix).
"""

import importlib.util
import os
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("TESTING", "1")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="mcn-bench-"))
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def main() -> int:
    import django
    from django.conf import settings
    from django.test.utils import get_runner  # noqa: F401

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    failures = 0
    try:
        # e.g. BENCH_ONLY=approvals, or BENCH_ONLY=import,precheck (in file-name order, as in a full run)
        only = [part for part in os.environ.get("BENCH_ONLY", "").split(",") if part]
        for path in sorted(Path(__file__).parent.glob("bench_*.py")):
            if only and not any(part in path.stem for part in only):
                continue
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            try:
                for name, value, unit in module.run():
                    print(f"{name}: {value:.3f} {unit}" if isinstance(value, float) else f"{name}: {value} {unit}",
                          flush=True)
            except Exception as exc:  # noqa: BLE001
                failures += 1
                print(f"# {path.name} failed: {exc!r}", file=sys.stderr)
                traceback.print_exc()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
