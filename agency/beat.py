BEAT_SCHEDULE = {
    "agency-jobs-sweep": {
        "task": "agency.tasks.jobs_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
