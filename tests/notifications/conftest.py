import pytest


@pytest.fixture
def eager_celery():
    """Run Celery tasks inline (as the bench and CELERY_TASK_ALWAYS_EAGER=1 do)."""
    from config.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = old


@pytest.fixture(autouse=True)
def _sms_locmem(settings):
    from notifications.sms.backends import locmem

    settings.SMS_BACKEND = "notifications.sms.backends.locmem.SmsBackend"
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()
