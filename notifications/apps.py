from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from celery.signals import worker_init

        from notifications import checks  # registers the SMS template check

        worker_init.connect(checks.refuse_to_start_on_sms_template_problems, weak=False,
                            dispatch_uid="notifications.sms_templates")
