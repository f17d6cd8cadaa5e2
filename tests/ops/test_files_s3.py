"""Documents on S3-compatible object storage, over HTTP, against moto's standalone S3 server
(started here on a free port; the client is not patched). Also: nothing under /media/."""

import socket
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.urls import reverse
from moto.server import ThreadedMotoServer

from config.settings import s3_storage_options
from shutdown.models import TaskDocument, TaskItem
from tests.builders import make_task
from tests.factories import SubAccountFactory
from tests.shutdown.helpers import PDF, clean, upload

BUCKET = "mcn-documents"
CREDENTIALS = {"access_key": "test-access-key", "secret_key": "test-secret-key-0123456789", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["access_key"],
                          aws_secret_access_key=CREDENTIALS["secret_key"], region_name=CREDENTIALS["region_name"])
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_endpoint):
    endpoint, client = s3_endpoint
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage",
                    "OPTIONS": s3_storage_options(BUCKET, endpoint_url=endpoint, addressing_style="path",
                                                  **CREDENTIALS)},
    }
    settings.STORAGE_SIGNED_URL_SECONDS = 60
    return client


def _download_url(world, task, document):
    return reverse("shutdown:document_download",
                   kwargs={"agency_slug": world.agency.slug, "pk": task.pk, "document_id": document.pk})


def _fetch(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the moto endpoint
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _upload_document(world):
    accounts = [SubAccountFactory(agency=world.agency, platform="douyin", **clean())]
    task = make_task(world, accounts)
    with world.scope():
        item = TaskItem.objects.filter(task=task).first()
    response = world.client("operator").post(
        reverse("shutdown:task_action", kwargs={"agency_slug": world.agency.slug, "pk": task.pk, "action": "upload"}),
        {"kind": "other", "item": item.pk, "file": upload(name="授权书.pdf")})
    assert response.status_code == 302
    with world.scope():
        return task, TaskDocument.objects.get(task=task)


def test_a_document_goes_to_the_bucket_and_comes_back_through_a_short_lived_signed_url(worlds, s3_storage):
    world_a, world_b = worlds
    task, document = _upload_document(world_a)

    # Stored in the bucket under the agency's folder, not on this machine's disk.
    stored = s3_storage.get_object(Bucket=BUCKET, Key=document.file.name)
    assert stored["Body"].read() == PDF
    assert document.file.name.startswith(f"shutdown/agency_{world_a.agency.pk}/task_{task.pk}/")

    # Any role of the agency gets a redirect to a signed URL that expires in a minute…
    response = world_a.client("auditor").get(_download_url(world_a, task, document))
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(s3_storage.meta.endpoint_url)
    assert query["X-Amz-Expires"] == ["60"] and query["X-Amz-Signature"]
    # …which the browser follows to the object store: the file, under its original name.
    status, headers, body = _fetch(location)
    assert status == 200 and body == PDF
    assert "attachment" in headers["Content-Disposition"] and "%E6%8E%88%E6%9D%83%E4%B9%A6.pdf" in headers[
        "Content-Disposition"]

    # Another agency sees nothing (404), and no URL is handed out.
    other = world_b.client("owner").get(_download_url(world_a, task, document))
    assert other.status_code == 404 and "Location" not in other
    # Logged out: to the login page, no URL either.
    anonymous = world_a.client("owner")
    anonymous.logout()
    assert anonymous.get(_download_url(world_a, task, document))["Location"].startswith("/accounts/login/")


def test_the_bucket_is_not_public(worlds, s3_storage):
    world_a, _ = worlds
    task, document = _upload_document(world_a)
    unsigned = f"{s3_storage.meta.endpoint_url}/{BUCKET}/{document.file.name}"
    acl = s3_storage.get_object_acl(Bucket=BUCKET, Key=document.file.name)
    assert not [g for g in acl["Grants"] if g["Grantee"].get("URI", "").endswith("AllUsers")]
    signed = world_a.client("auditor").get(_download_url(world_a, task, document))["Location"]
    assert urlsplit(signed).path == urlsplit(unsigned).path  # the signature is what opens it


def test_nothing_is_served_under_media(worlds, settings, tmp_path):
    """Local disk: the file exists under MEDIA_ROOT, but /media/… is not a route (DEBUG or not);
    only the checked view hands it out."""
    world_a, world_b = worlds
    task, document = _upload_document(world_a)
    assert (settings.MEDIA_ROOT / document.file.name).exists()
    client = world_a.client("owner")
    assert client.get(settings.MEDIA_URL + document.file.name).status_code == 404
    response = world_a.client("auditor").get(_download_url(world_a, task, document))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Cache-Control"] == "private, no-store"
    assert world_b.client("owner").get(_download_url(world_a, task, document)).status_code == 404


def test_an_import_previewed_on_one_web_host_is_confirmed_on_another(worlds, s3_storage, settings, tmp_path,
                                                                      django_capture_on_commit_callbacks):
    """The spreadsheet waiting for confirmation is in the bucket, so the confirmation may land on
    another host (a fresh storage object and an empty local disk); it is deleted from the bucket after."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_scopes import scopes_disabled

    from agency.models import SubAccount, SubAccountImport
    from tests.agency.subaccount_helpers import HEADER, csv_bytes

    world_a, world_b = worlds
    content = csv_bytes([HEADER, ["douyin", "dy_s3_1", "桶里的号", "personal", "", "", "", "", ""]])
    base = f"/a/{world_a.agency.slug}/sub-accounts/import/"

    # Host 1: upload and preview.
    settings.MEDIA_ROOT = tmp_path / "host-1"
    response = world_a.client("operator").post(base, {"file": SimpleUploadedFile("名单.csv", content)})
    assert response.status_code == 200 and "桶里的号" in response.content.decode()
    with scopes_disabled():
        batch = SubAccountImport.objects.get(agency=world_a.agency)
        assert not SubAccount.objects.filter(agency=world_a.agency).exists()
    key = batch.file.name
    assert key.startswith(f"imports/agency_{world_a.agency.pk}/")
    assert s3_storage.get_object(Bucket=BUCKET, Key=key)["Body"].read() == content
    assert not (tmp_path / "host-1").exists()  # nothing on the first host's disk

    # Host 2: its own storage object (settings reloaded) and its own, empty, disk.
    settings.MEDIA_ROOT = tmp_path / "host-2"
    settings.STORAGES = {**settings.STORAGES}
    with django_capture_on_commit_callbacks(execute=True):
        response = world_a.client("operator").post(f"{base}{batch.pk}/confirm/")
    assert response.status_code == 302
    with scopes_disabled():
        assert list(SubAccount.objects.filter(agency=world_a.agency).values_list("display_name", flat=True)) == [
            "桶里的号"]
        assert SubAccountImport.objects.get(pk=batch.pk).status == SubAccountImport.Status.APPLIED
    assert s3_storage.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0  # deleted after confirm
    # Another agency cannot confirm it, from any host.
    assert world_b.client("owner").post(f"/a/{world_b.agency.slug}/sub-accounts/import/{batch.pk}/confirm/"
                                        ).status_code == 404


def test_a_cancelled_import_leaves_nothing_in_the_bucket(worlds, s3_storage, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_scopes import scopes_disabled

    from agency.models import SubAccountImport
    from tests.agency.subaccount_helpers import HEADER, csv_bytes

    world_a, _ = worlds
    content = csv_bytes([HEADER, ["douyin", "dy_s3_2", "作废", "personal", "", "", "", "", ""]])
    base = f"/a/{world_a.agency.slug}/sub-accounts/import/"
    world_a.client("operator").post(base, {"file": SimpleUploadedFile("a.csv", content)})
    with scopes_disabled():
        batch = SubAccountImport.objects.filter(agency=world_a.agency).latest("pk")
    assert s3_storage.list_objects_v2(Bucket=BUCKET, Prefix=batch.file.name)["KeyCount"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert world_a.client("operator").post(f"{base}{batch.pk}/cancel/").status_code == 302
    assert s3_storage.list_objects_v2(Bucket=BUCKET, Prefix=batch.file.name)["KeyCount"] == 0
