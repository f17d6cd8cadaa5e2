from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Group robots that chose "deadline in 1 day" hear of each deadline once (deadlines/robots.py).
    "deadlines-due-soon-robots": {
        "task": "deadlines.tasks.deadlines_due_soon_to_robots",
        "schedule": crontab(minute="*/15"),
    },
    # R5.1: a dormant login deadline that passed without a login is marked missed, the next one follows.
    "deadlines-dormant-logins": {
        "task": "deadlines.tasks.dormant_logins_roll",
        "schedule": crontab(minute=7),
    },
}
