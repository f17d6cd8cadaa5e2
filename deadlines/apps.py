from django.apps import AppConfig


class DeadlinesConfig(AppConfig):
    name = "deadlines"

    def ready(self):
        from shutdown.signals import item_effective

        from . import receivers

        item_effective.connect(receivers.on_item_effective, dispatch_uid="deadlines.on_item_effective")
