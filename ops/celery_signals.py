"""The request id follows a request into the Celery jobs it starts: the publisher puts it in
a message header, the worker restores it for the job's log lines (and for jobs it starts).
And a worker warms up when it starts (`worker_init`)."""

import logging
import os

from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init

from .context import new_request_id, request_id_var

HEADER = "request_id"


@before_task_publish.connect(weak=False)
def _add_request_id_header(sender=None, headers=None, **kwargs):
    if headers is not None and not headers.get(HEADER):
        current = request_id_var.get()
        if current:
            headers[HEADER] = current


@task_prerun.connect(weak=False)
def _restore_request_id(sender=None, task=None, **kwargs):
    value = None
    if task is not None:
        # A worker turns message headers into request attributes; an eager call keeps them in .headers.
        value = getattr(task.request, HEADER, None) or (getattr(task.request, "headers", None) or {}).get(HEADER)
    # A job started by beat has no request: it gets its own id, so its lines still group.
    token = request_id_var.set(value or f"job-{new_request_id()}")
    if task is not None:
        task.request._ops_request_id_token = token


@task_postrun.connect(weak=False)
def _clear_request_id(sender=None, task=None, **kwargs):
    token = getattr(getattr(task, "request", None), "_ops_request_id_token", None)
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context (eager calls nest): clear instead
            request_id_var.set("")


@worker_init.connect(weak=False, dispatch_uid="ops.worker_warm_up")
def _warm_up(sender=None, **kwargs):
    """Load what the first message would otherwise load (ops.warmup.warm_up_worker); off with
    WORKER_WARM_UP=0. A failure is logged, never stops the worker. (Sent after Django is set up:
    the worker imports its modules, and Celery's Django fixup sets Django up, before worker_init.)"""
    if os.environ.get("WORKER_WARM_UP", "1") == "0":
        return
    try:
        from . import warmup

        warmup.warm_up_worker()
    except Exception:  # noqa: BLE001 - the worker starts regardless
        logging.getLogger("ops.warmup").warning("worker warm-up failed", exc_info=True)
