"""Writes docs/loadtest.md from locust's CSV and the outbox (run by scripts/loadtest.sh)."""

import csv
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()
from django.db.models import Count  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from agency.models import SubAccount  # noqa: E402
from notifications.models import OutboundMessage  # noqa: E402

out_dir = Path(sys.argv[1])
rows = list(csv.DictReader(open(out_dir / "locust_stats.csv", encoding="utf-8")))
attempts = (out_dir / "sms" / "attempts.log").read_text().split() if (out_dir / "sms" / "attempts.log").exists() else []
with scopes_disabled():
    accounts = SubAccount.objects.filter(agency__slug="demo-mcn").count()
    reminders = dict(OutboundMessage.objects.filter(idempotency_key__startswith="load:")
                     .values_list("status").annotate(n=Count("id")).order_by())
load_attempts = [a for a in attempts if a.startswith("load:")]
lines = [
    "# Load test: one run",
    "",
    f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make loadtest` (`scripts/loadtest.sh`, `bench/loadtest/`).",
    "",
    f"- Set-up: {os.environ.get('LOADTEST_SETUP', '')}",
    f"- Agency demo-mcn with **{accounts:,} sub-accounts**; {os.environ.get('LOADTEST_USERS', '50')} simulated staff "
    f"for {os.environ.get('LOADTEST_DURATION', '2m')} (locust headless, arriving {os.environ.get('LOADTEST_SPAWN_RATE', '2')} a second), requests sent alternately to the two web servers.",
    f"- Reminders falling due during the run: {sum(reminders.values())}; status after the run: {reminders}; "
    f"handed to the SMS provider {len(load_attempts)} times for {len(set(load_attempts))} distinct reminders "
    f"(**{'every reminder once' if len(load_attempts) == len(set(load_attempts)) == sum(reminders.values()) == reminders.get('sent', 0) else 'NOT exactly once'}**).",
    "",
    "| request | count | errors | p50 ms | p95 ms | p99 ms | max ms | req/s |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]
for r in rows:
    lines.append(f"| {r['Name']} | {r['Request Count']} | {r['Failure Count']} | {r['50%']} | {r['95%']} | {r['99%']} | "
                 f"{float(r['Max Response Time']):.0f} | {float(r['Requests/s']):.1f} |")
failures = out_dir / "locust_failures.csv"
if failures.exists() and len(failures.read_text().splitlines()) > 1:
    lines += ["", "Errors:", "", "```", failures.read_text().strip(), "```"]
lines += ["", "Goal on this 2-core machine: 0 errors, p95 ≤ 500 ms for pages and API lists.", ""]
(ROOT / "docs" / "loadtest.md").write_text("\n".join(lines), encoding="utf-8")
print("\n".join(lines))
