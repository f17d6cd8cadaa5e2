#!/usr/bin/env bash
# The production way on one machine or many: `make serve` (ROLE=all) or one role per host.
#   ROLE=web     gunicorn (config/gunicorn.conf.py) — as many hosts as you like, behind the load balancer
#   ROLE=worker  Celery workers — as many hosts as you like
#   ROLE=beat    Celery beat — exactly one in the whole installation
#   ROLE=all     web + worker + beat on this machine (what `make serve` does)
# DEBUG is off; DATABASE_URL and REDIS_URL are required. Ctrl-C / SIGTERM stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=$VENV/bin/python
ROLE=${ROLE:-all}
export DEBUG=0

if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  cat >&2 <<'MSG'
make serve runs the product the production way: it needs PostgreSQL and Redis, e.g.
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/mcn REDIS_URL=redis://127.0.0.1:6379/0 make serve
(`make run` is the development server on SQLite with an embedded broker.)
MSG
  exit 2
fi
if [ -z "${SECRET_KEY:-}" ]; then
  # One machine trying it out: a random key kept in var/ (several hosts must share one: set SECRET_KEY).
  mkdir -p var
  [ -s var/serve-secret-key ] || $PY -c 'import secrets; print(secrets.token_urlsafe(50))' > var/serve-secret-key
  chmod 600 var/serve-secret-key
  SECRET_KEY=$(cat var/serve-secret-key)
  export SECRET_KEY
  echo "SECRET_KEY not set: using the one in var/serve-secret-key (set SECRET_KEY on every host in production)" >&2
fi
# On this machine over plain HTTP; behind a TLS load balancer set BEHIND_PROXY=1 SECURE_SSL_REDIRECT=1
# SESSION_COOKIE_SECURE=1 CSRF_COOKIE_SECURE=1 (see docs/operations.md).
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-0}
export SESSION_COOKIE_SECURE=${SESSION_COOKIE_SECURE:-0}
export CSRF_COOKIE_SECURE=${CSRF_COOKIE_SECURE:-0}
export SECURE_HSTS_SECONDS=${SECURE_HSTS_SECONDS:-0}
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus}
WORKERS=${CELERY_WORKERS:-1}
CONCURRENCY=${CELERY_CONCURRENCY:-2}

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ "$ROLE" = web ] || [ "$ROLE" = all ]; then
  if [ "${MIGRATE:-1}" = 1 ]; then $PY manage.py migrate --noinput -v 0; fi
  $PY manage.py compilemessages --ignore="$VENV" -v 0
  $PY manage.py collectstatic --noinput -v 0
  $VENV/bin/gunicorn -c config/gunicorn.conf.py &
  pids+=($!)
fi
if [ "$ROLE" = worker ] || [ "$ROLE" = all ]; then
  for i in $(seq 1 "$WORKERS"); do
    $VENV/bin/celery -A config worker --concurrency="$CONCURRENCY" --loglevel=INFO --without-gossip \
      --without-mingle -n "worker$i@%h" &
    pids+=($!)
  done
fi
if [ "$ROLE" = beat ] || [ "$ROLE" = all ]; then
  $VENV/bin/celery -A config beat --loglevel=INFO --schedule var/celerybeat-schedule &
  pids+=($!)
fi
echo "serving ($ROLE): web on ${GUNICORN_BIND:-${HOST:-0.0.0.0}:${PORT:-8000}}; /healthz /readyz /metrics" >&2
wait -n "${pids[@]}"
