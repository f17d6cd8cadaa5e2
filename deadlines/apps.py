from django.apps import AppConfig


class DeadlinesConfig(AppConfig):
    name = "deadlines"

    def ready(self):
        from agency.badges import register_subaccount_links
        from rulebook.signals import calendar_updated
        from shutdown.signals import item_effective, shell_transition_changed

        from . import receivers
        from .views.links import timeline_links

        register_subaccount_links(timeline_links)

        item_effective.connect(receivers.on_item_effective, dispatch_uid="deadlines.on_item_effective")

        from django.db.models.signals import post_save

        from . import robots
        from .models import Alert

        post_save.connect(robots.on_alert_saved, sender=Alert, dispatch_uid="deadlines.robots.on_alert_saved")
        calendar_updated.connect(receivers.on_calendar_updated, dispatch_uid="deadlines.on_calendar_updated")
        shell_transition_changed.connect(receivers.on_shell_transition_changed,
                                         dispatch_uid="deadlines.on_shell_transition_changed")

        from agency.status import reopen_date_provider_register
        from deadlines.services.deadlines import reopen_possible_from

        reopen_date_provider_register(reopen_possible_from)
