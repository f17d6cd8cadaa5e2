"""Start-up checks: a wrong SMS template setting stops `manage.py check`, runserver, migrate
and the workers (Django runs system checks before each) with a message saying what is wrong,
instead of SMS that the provider refuses one by one."""

from django.core import checks


@checks.register(checks.Tags.compatibility)
def sms_templates_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from notifications.sms.config import problems

    return [
        checks.Error(text, hint="See the README, section “SMS templates”.", id="notifications.E001")
        for text in problems()
    ]


def refuse_to_start_on_sms_template_problems(**kwargs) -> None:
    """Celery's worker_init: a worker does not run Django's checks, so it asks the same question
    and refuses to start on a wrong SMS template setting (SystemExit: Celery's signal dispatch
    logs and swallows ordinary exceptions)."""
    from notifications.sms.config import problems

    found = problems()
    if found:
        raise SystemExit("SMS templates: " + " ".join(found))
