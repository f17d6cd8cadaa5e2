from celery.schedules import crontab

BEAT_SCHEDULE = {
    "rulebook-calendar-sync": {
        "task": "rulebook.tasks.calendar_sync",
        "schedule": crontab(hour=3, minute=17),
    },
}
