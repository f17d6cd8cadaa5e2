from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The top layer: pages that gather several apps (dashboard, navigation, agency switcher)
    and the demo seeding. Nothing below imports it."""

    name = "backoffice"
