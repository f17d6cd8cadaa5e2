import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mcn_shutdown")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _warm_up(sender=None, **kwargs):
    """Load what the first message would otherwise load (ops.warmup.warm_up_worker); off with
    WORKER_WARM_UP=0. A failure is logged, never stops the worker."""
    if os.environ.get("WORKER_WARM_UP", "1") == "0":
        return
    try:
        from ops.warmup import warm_up_worker

        warm_up_worker()
    except Exception:  # noqa: BLE001 - the worker starts regardless
        import logging

        logging.getLogger("ops.warmup").warning("worker warm-up failed", exc_info=True)
