"""Background jobs over the API: big imports, exports and bulk actions answer 202 Accepted with
`{"job": {…}}` and a Location header; the client polls GET …/jobs/<id>/ until `state` is
succeeded, failed or cancelled, then reads `result` (or downloads `download_url`)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from agency.api.base import AgencyScopedAPIView
from agency.files import stored_file_response
from agency.models import Job
from agency.services.jobs import job_live_progress, jobs_of


class JobSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField(help_text="poll this until `state` is finished")
    page_url = serializers.SerializerMethodField(help_text="the job's page in the back office")
    download_url = serializers.SerializerMethodField(help_text="the result file (exports), once succeeded")
    result = serializers.DictField(
        read_only=True,
        help_text="counts (created, updated, unchanged, changed, rows), "
        "`errors` by row and field, or the `limit` a job hit",
    )
    stage = serializers.CharField(read_only=True, help_text="checking or writing, while an import runs")

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "kind_display",
            "state",
            "state_display",
            "stage",
            "progress_done",
            "progress_total",
            "progress_percent",
            "result",
            "error",
            "url",
            "page_url",
            "download_url",
            "time_budget_seconds",
            "row_budget",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, job) -> str:
        return self._absolute(
            reverse("api-job-detail", kwargs={"agency_slug": job.agency.slug, "pk": job.pk})
        )

    def get_page_url(self, job) -> str:
        return self._absolute(
            reverse("agency:job_detail", kwargs={"agency_slug": job.agency.slug, "pk": job.pk})
        )

    def get_download_url(self, job) -> str | None:
        if not job.result_file:
            return None
        return self._absolute(
            reverse("api-job-download", kwargs={"agency_slug": job.agency.slug, "pk": job.pk})
        )


class JobAcceptedSerializer(serializers.Serializer):
    job = JobSerializer()


JOB_ACCEPTED = OpenApiResponse(
    JobAcceptedSerializer,
    description="The work is big: it runs as a background job. Poll `job.url` (also the Location header).",
)


def accepted(request, job: Job) -> Response:
    """202 Accepted with the job and where to poll it."""
    data = JobSerializer(job, context={"request": request}).data
    return Response({"job": data}, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


def _own_job(view, pk) -> Job:
    job = jobs_of(agency=view.agency, user=view.request.user).select_related("agency").filter(pk=pk).first()
    if job is None:
        raise NotFound()
    return job_live_progress(job)


class JobDetailAPIView(AgencyScopedAPIView):
    default_permission = "agency.view"

    @extend_schema(summary="A background job of yours: state, progress, result", responses=JobSerializer)
    def get(self, request, pk):
        return Response(JobSerializer(_own_job(self, pk), context={"request": request}).data)


class _AnyFileRenderer(JSONRenderer):
    media_type = "*/*"
    format = "file"


class JobDownloadAPIView(AgencyScopedAPIView):
    default_permission = "agency.view"
    renderer_classes = [JSONRenderer, _AnyFileRenderer]

    @extend_schema(
        summary="The result file of a job (an export)",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY
            ),
        },
    )
    def get(self, request, pk):
        job = _own_job(self, pk)
        if not job.result_file:
            raise NotFound()
        return stored_file_response(
            job.result_file, filename=job.result_filename, content_type=job.result_content_type
        )

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
