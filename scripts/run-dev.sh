#!/usr/bin/env bash
# Starts the web server and a Celery worker with embedded beat; Ctrl-C stops all of them.
set -euo pipefail
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

.venv/bin/celery -A config worker -B --concurrency=2 --loglevel=INFO --without-gossip --without-mingle \
  --schedule var/celerybeat-schedule &
pids+=($!)
$PY manage.py runserver --noreload "$HOST:$PORT" &
pids+=($!)
sleep 2
cat <<MSG

  Back office:   http://$HOST:$PORT/accounts/login/
  Django admin:  http://$HOST:$PORT/admin/    (platform operator)
  API docs:      http://$HOST:$PORT/api/v1/docs/
  Demo logins (password demo-pass-2026): owner@demo-mcn.cn, admin@demo-mcn.cn, operator@demo-mcn.cn,
    legal@demo-mcn.cn, finance@demo-mcn.cn, auditor@demo-mcn.cn, owner@rival-mcn.cn, platform@mcn-demo.cn
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
