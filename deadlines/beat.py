from celery.schedules import crontab

BEAT_SCHEDULE = {
    # R5.1: a dormant login deadline that passed without a login is marked missed, the next one follows.
    "deadlines-dormant-logins": {
        "task": "deadlines.tasks.dormant_logins_roll",
        "schedule": crontab(minute=7),
    },
}
