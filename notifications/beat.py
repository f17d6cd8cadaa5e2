BEAT_SCHEDULE = {
    "notifications-sweep": {
        "task": "notifications.tasks.messages_sweep",
        "schedule": 60.0,
        # A run that outlives the next tick is not worth queueing twice.
        "options": {"expires": 55},
    },
}
