"""Celery base task for agency work: carries `agency_id`, re-enters its scope, fails without one.

    @shared_task(base=AgencyTask)
    def precheck_task(*, agency_id: int, task_id: int): ...

Everything the task body does runs inside `scope(agency=...)`, and the scope is left
when the task returns, so two tasks back to back on one worker never share an agency.
"""

from celery import Task
from django_scopes import scope

from .exceptions import MissingAgencyError


class AgencyTask(Task):
    abstract = True
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, **kwargs):
        agency_id = kwargs.get("agency_id")
        if agency_id in (None, ""):
            raise MissingAgencyError(f"Task {self.name} was called without agency_id")
        from .models import Agency

        agency = Agency.objects.get(pk=agency_id)
        with scope(agency=agency):
            return super().__call__(*args, **kwargs)
