"""Back-office pages of background jobs: a member's own jobs, one job with its progress bar
(polled by htmx while it runs) that turns into the result, its file, and cancelling it."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from agency.files import stored_file_response
from agency.models import Job
from agency.services.jobs import job_cancel, job_live_progress, jobs_of

from .base import AgencyScopedView

LIST_ROWS = 100
QUEUED_TOO_LONG = timedelta(minutes=3)


def job_url(job: Job) -> str:
    return reverse("agency:job_detail", kwargs={"agency_slug": job.agency.slug, "pk": job.pk})


def _get_job(view, pk) -> Job:
    job = jobs_of(agency=view.agency, user=view.request.user).filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such job."))
    return job_live_progress(job)


def job_context(job: Job) -> dict:
    """What the status partial shows: the progress, or the outcome."""
    from agency.jobs_registry import job_kind

    result = job.result or {}
    errors = result.get("errors") or []
    spec = job_kind(job.kind)  # a kind an app above registered: its message and its way back
    return {
        "job": job,
        "registered_kind": spec is not None,
        "back_link": spec.back_link(job) if spec is not None and spec.back_link else None,
        "result": result,
        "errors": errors[:500],
        "more_errors": max(len(errors) - 500, 0),
        "poll_ms": settings.JOB_POLL_MS,
        "download": bool(job.result_file),
        "retention_days": settings.JOB_FILE_RETENTION_DAYS,
        # Queued for minutes: no worker is taking jobs (or the message was lost; the sweep re-sends it).
        "waiting_long": job.state == Job.State.QUEUED and job.created_at < timezone.now() - QUEUED_TOO_LONG,
    }


class JobListView(AgencyScopedView, TemplateView):
    template_name = "agency/job_list.html"
    required_permission = "agency.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["jobs"] = list(
            jobs_of(agency=self.agency, user=self.request.user).select_related("agency")[:LIST_ROWS]
        )
        return context


class JobDetailView(AgencyScopedView, TemplateView):
    template_name = "agency/job_detail.html"
    required_permission = "agency.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(job_context(_get_job(self, kwargs["pk"])))
        return context


class JobStatusView(JobDetailView):
    """The status block alone, polled by htmx every JOB_POLL_MS while the job runs."""

    template_name = "agency/_job_status.html"


class JobDownloadView(AgencyScopedView):
    required_permission = "agency.view"

    def get(self, request, pk):
        job = _get_job(self, pk)
        if not job.result_file:
            raise Http404(_("This job has no file."))
        return stored_file_response(
            job.result_file, filename=job.result_filename, content_type=job.result_content_type
        )


class JobCancelView(AgencyScopedView):
    required_permission = "agency.view"

    def post(self, request, pk):
        job = _get_job(self, pk)
        job = job_cancel(agency=self.agency, actor=request.user, job_id=job.pk)
        messages.info(
            request,
            _("The job was cancelled.")
            if job.state == Job.State.CANCELLED
            else _("The job will stop at its next step; nothing it did will be kept."),
        )
        return HttpResponseRedirect(job_url(job))
