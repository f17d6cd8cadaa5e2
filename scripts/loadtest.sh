#!/usr/bin/env bash
# make loadtest: two gunicorns (2 workers each), two Celery workers and one beat on PostgreSQL +
# Redis; locust headless with 50 staff for 2 minutes while reminders fall due; the figures go
# to docs/loadtest.md. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=$VENV/bin/python
export DATABASE_URL=${LOADTEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/mcn_loadtest}
export REDIS_URL=${LOADTEST_REDIS_URL:-redis://127.0.0.1:6379/14}
export LOADTEST_ACCOUNTS=${LOADTEST_ACCOUNTS:-100000} LOADTEST_REMINDERS=${LOADTEST_REMINDERS:-2000}
export LOADTEST_USERS=${LOADTEST_USERS:-50} LOADTEST_DURATION=${LOADTEST_DURATION:-2m}
# Staff arrive over the first half minute (2 a second), not all in the same second.
export LOADTEST_SPAWN_RATE=${LOADTEST_SPAWN_RATE:-2}
OUT=var/loadtest
rm -rf "$OUT" && mkdir -p "$OUT"
export VAR_DIR=$PWD/var SMS_FILE_PATH=$PWD/$OUT/sms SMS_BACKEND=tests.notifications.slow_backend.SmsBackend
export SMS_QUIET_HOURS_START=0 SMS_QUIET_HOURS_END=0 NOTIFY_SWEEP_INTERVAL_SECONDS=15
export SECRET_KEY=loadtest-$(head -c 24 /dev/urandom | base64 | tr -d '/+=') ALLOWED_HOSTS=127.0.0.1,localhost
export SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0 AXES_ENABLED=0
export LOG_LEVEL=WARNING

$PY - <<'PY'
import os, psycopg
from urllib.parse import urlsplit
u = urlsplit(os.environ["DATABASE_URL"]); name = u.path.lstrip("/")
with psycopg.connect(os.environ["DATABASE_URL"].replace(u.path, "/postgres"), autocommit=True) as c:
    if not c.execute("select 1 from pg_database where datname=%s", (name,)).fetchone():
        c.execute(f'create database "{name}"')
PY
$VENV/bin/celery -A config purge -f >/dev/null 2>&1 || true
DEBUG=1 $PY manage.py migrate --noinput -v 0
echo "seeding…"; DEBUG=1 $PY bench/loadtest/seed.py
DEBUG=0 $PY manage.py compilemessages --ignore=$VENV -v 0
[ -s var/staticfiles/staticfiles.json ] || DEBUG=0 $PY manage.py collectstatic --noinput -v 0

pids=()
cleanup() { trap - INT TERM EXIT; for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT
export DEBUG=0
for port in 8101 8102; do
  WEB_CONCURRENCY=2 GUNICORN_THREADS=2 GUNICORN_BIND=127.0.0.1:$port PROMETHEUS_MULTIPROC_DIR=$PWD/$OUT/prom-$port \
    $VENV/bin/gunicorn -c config/gunicorn.conf.py >"$OUT/web-$port.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do
  $VENV/bin/celery -A config worker --concurrency=1 --without-gossip --without-mingle -n "load$i@%h" >"$OUT/worker$i.log" 2>&1 &
  pids+=($!)
done
$VENV/bin/celery -A config beat --schedule "$OUT/beat-schedule" >"$OUT/beat.log" 2>&1 &
pids+=($!)
for port in 8101 8102; do
  for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 1; done
done
$VENV/bin/locust -f bench/loadtest/locustfile.py --headless -u "$LOADTEST_USERS" -r "$LOADTEST_SPAWN_RATE" -t "$LOADTEST_DURATION" \
  --csv "$OUT/locust" --only-summary 2>&1 | tail -30 || true  # failures go to the report, not fatal
echo "waiting for every reminder to go out…"
for _ in $(seq 1 90); do
  left=$($PY manage.py shell -c "from django_scopes import scopes_disabled
from notifications.models import OutboundMessage
with scopes_disabled(): print(OutboundMessage.objects.filter(idempotency_key__startswith='load:', status='pending').count())" 2>/dev/null | tail -1)
  [ "$left" = 0 ] && break; sleep 2
done
LOADTEST_SETUP="$(nproc) cores; gunicorn ×2 (2 workers × 2 threads each) on :8101 and :8102, Celery workers ×2 (concurrency 1), one beat (sweep every 15 s); PostgreSQL $(psql --version 2>/dev/null | awk '{print $3}') and Redis on the same machine" \
  $PY bench/loadtest/report.py "$OUT"
