"""Handing out a stored file of an agency, whatever the storage.

The caller is an agency-scoped view (agency/views/base.py or agency/api/base.py) that has
already resolved the agency, checked the role and fetched the row through the scoped manager;
this only decides how the bytes reach the browser:

- local disk (FileSystemStorage): streamed by the view, as an attachment;
- object storage (django-storages S3Storage: AWS S3, Aliyun OSS, Tencent COS, MinIO): a 302 to
  a presigned URL that expires after STORAGE_SIGNED_URL_SECONDS (60 s by default), with the
  download name and type signed into it. The bucket itself stays private.

Nothing is ever served from MEDIA_URL.
"""

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _


def is_object_storage(storage) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is in the lock
        return False
    return isinstance(storage, S3Storage)


def stored_file_response(field_file, *, filename: str, content_type: str):
    """The response that delivers `field_file` (a FieldFile) to a user already allowed to have it."""
    filename = filename or field_file.name.rsplit("/", 1)[-1]
    storage = field_file.storage
    if is_object_storage(storage):
        url = storage.url(
            field_file.name,
            parameters={
                "ResponseContentDisposition": content_disposition_header(True, filename),
                "ResponseContentType": content_type or "application/octet-stream",
            },
            expire=settings.STORAGE_SIGNED_URL_SECONDS,
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response
    try:
        handle = field_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The file is missing from storage.")) from exc
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response
