import os

BEAT_SCHEDULE = {
    "notifications-sweep": {
        "task": "notifications.tasks.messages_sweep",
        # Every minute; fault tests shorten it (this module is read while settings load).
        "schedule": float(os.environ.get("NOTIFY_SWEEP_INTERVAL_SECONDS", "60")),
        # A run that outlives the next tick is not worth queueing twice.
        "options": {"expires": 55},
    },
}
