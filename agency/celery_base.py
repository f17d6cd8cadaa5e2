"""Celery base task for agency work: carries `agency_id`, re-enters its scope, fails without one.

    @shared_task(base=AgencyTask)
    def precheck_task(*, agency_id: int, task_id: int): ...

Everything the task body does runs inside `scope(agency=...)`, and the scope is left
when the task returns, so two tasks back to back on one worker never share an agency.
"""

import importlib
import logging

from celery import Task
from django.db import transaction
from django_scopes import scope

from .exceptions import MissingAgencyError

logger = logging.getLogger(__name__)


class AgencyTask(Task):
    abstract = True
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, **kwargs):
        agency_id = kwargs.get("agency_id")
        if agency_id in (None, ""):
            raise MissingAgencyError(f"Task {self.name} was called without agency_id")
        from .models import Agency

        agency = Agency.objects.filter(pk=agency_id).first()
        if agency is None:  # deleted since the job was queued (e.g. demo data seeded again): nothing to do
            logger.warning("%s: agency %s no longer exists; the job is dropped", self.name, agency_id)
            return None
        with scope(agency=agency):
            return super().__call__(*args, **kwargs)


def task_publish(name: str, *, kwargs: dict, after_commit: bool = True) -> None:
    """Publish the Celery task registered as `name` (after the current transaction commits).

    Services publish their jobs by name, so that no service imports its app's `tasks.py`
    (which imports the services): one direction only. The row a job works on is the source
    of truth; when the broker is unreachable the job's beat sweep picks the work up, so a
    failed publish is logged, not raised.
    """

    def publish():
        from celery import current_app

        if name not in current_app.tasks:
            # The module the name points at ("shutdown.tasks" for "shutdown.tasks.task_precheck"):
            # importing every app's tasks.py takes a web process a second or more on its first publish.
            try:
                importlib.import_module(name.rpartition(".")[0])
            except ImportError:
                pass
        if name not in current_app.tasks:
            current_app.loader.import_default_modules()  # autodiscovery of every app's tasks.py
        task = current_app.tasks[name]  # an unknown task name is a programming error: fail loudly
        try:
            task.apply_async(
                kwargs=kwargs, retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
            )
        except Exception:  # noqa: BLE001 - broker down: the periodic sweep does the work later
            logger.warning("could not publish %s(%s); its sweep will pick the work up", name, kwargs, exc_info=True)

    if after_commit:
        transaction.on_commit(publish)
    else:
        publish()
