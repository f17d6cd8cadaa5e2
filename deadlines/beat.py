from celery.schedules import crontab

BEAT_SCHEDULE = {
    "deadlines-calendar-sync": {
        "task": "deadlines.tasks.calendar_sync",
        "schedule": crontab(hour=3, minute=17),
    },
}
