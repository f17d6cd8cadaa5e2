"""Load-test data: the demo agencies (seed_demo), ACCOUNTS more sub-accounts in demo-mcn, and
REMINDERS outbox reminders falling due over the run. Run with DEBUG=1 (seed_demo needs it)."""

import os
import random
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from agency.models import Agency, SubAccount  # noqa: E402
from notifications.models import OutboundMessage  # noqa: E402

ACCOUNTS = int(os.environ.get("LOADTEST_ACCOUNTS", "100000"))
REMINDERS = int(os.environ.get("LOADTEST_REMINDERS", "3000"))
SPREAD = int(os.environ.get("LOADTEST_REMINDER_SPREAD_SECONDS", "100"))

call_command("seed_demo")
agency = Agency.objects.get(slug="demo-mcn")
rng = random.Random(17)
platforms = ["weibo", "douyin", "kuaishou", "wechat", "bilibili", "xiaohongshu"]
with scope(agency=agency):
    have = SubAccount.objects.filter(platform_account_id__startswith="load_").count()
    SubAccount.objects.bulk_create([
        SubAccount(agency=agency, platform=platforms[i % 6], platform_account_id=f"load_{i}",
                   display_name=f"压测账号{i}", kind=rng.choices(["personal", "enterprise", "third_party"], [70, 20, 10])[0],
                   region="international" if rng.random() < 0.08 else "domestic", followers=rng.randint(0, 500000),
                   owner_name=f"机主{i}", owner_mobile="+8613800138000", owner_email=f"owner{i}@example.cn",
                   high_risk=rng.random() < 0.05, mcn_contract_end=date(2026, 1, 1) + timedelta(days=rng.randint(0, 900)))
        for i in range(have, ACCOUNTS)
    ], batch_size=5000)
    total = SubAccount.objects.count()
now = timezone.now()
with scopes_disabled():
    OutboundMessage.objects.filter(idempotency_key__startswith="load:").delete()
    OutboundMessage.objects.bulk_create([
        OutboundMessage(agency=agency, channel="sms", kind="reminder", template_code="deadline_reminder",
                        recipient_address="+8613800138000", body=f"压测提醒 {i}",
                        send_after=now + timedelta(seconds=20 + SPREAD * i / max(REMINDERS, 1)),
                        idempotency_key=f"load:{i}") for i in range(REMINDERS)
    ], batch_size=5000)
if connection.vendor == "postgresql":  # statistics and visibility map for the rows just loaded (autovacuum would, later)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
print(f"demo-mcn: {total} sub-accounts; {REMINDERS} reminders falling due over {SPREAD} s from +20 s")
