from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the product on several machines: probes, metrics, JSON logs, error reporting.

    The top layer: it reads the models of every app below (for the gauges of /metrics) and
    nothing imports it except settings (middleware, logging) and the Celery signals below.
    """

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from . import celery_signals  # noqa: F401 - connects the request-id signals
