from datetime import timedelta

BEAT_SCHEDULE = {
    "approvals-sla-sweep": {"task": "approvals.sla_sweep", "schedule": timedelta(minutes=5)},
}
