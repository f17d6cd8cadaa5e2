"""Job kinds of the apps above `agency` (the layer rule: agency never imports them).

An app registers its kinds in its AppConfig.ready():

    register_job_kind("shutdown_bulk", gettext_lazy("Bulk action on a task"), runner, back_link=...)

`runner(*, agency, job, run) -> dict` does the work (run: agency.services.jobs.JobRun, for
progress, budgets and cancellation) and returns the job's result; a result with a "message" (in
the requester's language: the job runs in it) shows on the job page. `back_link(job)` gives
(label, url) of the page the work came from ("back to the task"), or None.

The kinds of the agency app itself stay in Job.Kind and agency.services.jobs.RUNNERS.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    kind: str
    label: object  # a lazy translation
    runner: Callable
    back_link: Callable | None = None


JOB_KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: str, label, runner: Callable, *, back_link: Callable | None = None) -> JobKind:
    if len(kind) > 32:
        raise ValueError(f"job kind {kind!r} is longer than Job.kind's 32 characters")
    spec = JobKind(kind=kind, label=label, runner=runner, back_link=back_link)
    JOB_KINDS.setdefault(kind, spec)
    return JOB_KINDS[kind]


def job_kind(kind: str) -> JobKind | None:
    return JOB_KINDS.get(kind)
