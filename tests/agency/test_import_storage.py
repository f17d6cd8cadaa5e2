"""A spreadsheet waiting for its confirmation lives in Django's storage (not in a database column),
under its agency's folder, and is deleted once the import is applied, cancelled or expired."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scopes_disabled

from agency.models import Job, SubAccount, SubAccountImport
from agency.services import jobs as job_services
from agency.services.imports import subaccount_import_cancel, subaccount_import_confirm

from .subaccount_helpers import HEADER, csv_bytes

GOOD = csv_bytes([HEADER, ["douyin", "dy_store_1", "存储号", "personal", "1,000", "", "", "", ""]])


def page(world, suffix=""):
    return f"/a/{world.agency.slug}/sub-accounts/{suffix}"


def upload(world, content=GOOD, name="名单.csv"):
    response = world.client("operator").post(
        page(world, "import/"), {"file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    with scopes_disabled():
        return SubAccountImport.objects.filter(agency=world.agency).latest("pk")


def accounts(world):
    with scopes_disabled():
        return list(
            SubAccount.objects.filter(agency=world.agency).values_list("platform_account_id", flat=True)
        )


def reload(batch):
    with scopes_disabled():
        return SubAccountImport.objects.get(pk=batch.pk)


@pytest.mark.django_db
def test_the_waiting_file_is_in_storage_under_its_agency_not_in_the_database(world_a):
    batch = upload(world_a)
    name = batch.file.name
    assert name.startswith(f"imports/agency_{world_a.agency.pk}/")
    assert "名单" not in name  # the user's file name is on the row, not in the storage path
    assert batch.original_name == "名单.csv"
    with default_storage.open(name, "rb") as handle:
        assert handle.read() == GOOD
    # The row holds no copy of the bytes: every column is a short value.
    with scopes_disabled():
        row = SubAccountImport.objects.filter(pk=batch.pk).values().get()
    assert not [k for k, v in row.items() if isinstance(v, bytes | memoryview)]
    assert GOOD.decode() not in repr(row)


@pytest.mark.django_db
def test_confirming_imports_the_stored_file_then_deletes_it(world_a, django_capture_on_commit_callbacks):
    batch = upload(world_a)
    name = batch.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = world_a.client("operator").post(page(world_a, f"import/{batch.pk}/confirm/"))
    assert response.status_code == 302
    assert accounts(world_a) == ["dy_store_1"]
    batch = reload(batch)
    assert batch.status == SubAccountImport.Status.APPLIED and not batch.file
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_a_rolled_back_confirmation_keeps_the_file(world_a, django_capture_on_commit_callbacks):
    """The file is deleted after the commit, never before: a confirmation that fails can be retried."""
    batch = upload(world_a)
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True) as callbacks:
        from django.db import transaction

        with transaction.atomic():
            with world_a.scope():
                subaccount_import_confirm(agency=world_a.agency, actor=None, import_id=batch.pk)
            raise RuntimeError("the request died after the import")
    assert callbacks == []
    assert reload(batch).status == SubAccountImport.Status.PREVIEWED
    assert default_storage.exists(batch.file.name)
    assert accounts(world_a) == []


@pytest.mark.django_db
def test_cancelling_deletes_the_file_and_imports_nothing(world_a, django_capture_on_commit_callbacks):
    batch = upload(world_a)
    name = batch.file.name
    client = world_a.client("operator")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(world_a, f"import/{batch.pk}/cancel/"))
    assert response.status_code == 302 and response["Location"] == page(world_a, "import/")
    assert not default_storage.exists(name)
    assert reload(batch).status == SubAccountImport.Status.CANCELLED
    # Confirming afterwards writes nothing and says why.
    response = client.post(
        page(world_a, f"import/{batch.pk}/confirm/"), follow=True, HTTP_REFERER=page(world_a, "import/")
    )
    assert "no longer there" in response.content.decode()
    assert accounts(world_a) == []


@pytest.mark.django_db
def test_the_preview_offers_cancel_as_a_post(world_a):
    html = (
        world_a.client("operator")
        .post(page(world_a, "import/"), {"file": SimpleUploadedFile("a.csv", GOOD)})
        .content.decode()
    )
    with scopes_disabled():
        batch = SubAccountImport.objects.get(agency=world_a.agency)
    assert f'formaction="{page(world_a, f"import/{batch.pk}/cancel/")}"' in html
    assert world_a.client("operator").get(page(world_a, f"import/{batch.pk}/cancel/")).status_code == 405


@pytest.mark.django_db
def test_an_applied_import_cannot_be_cancelled(world_a, django_capture_on_commit_callbacks):
    batch = upload(world_a)
    with django_capture_on_commit_callbacks(execute=True):
        world_a.client("operator").post(page(world_a, f"import/{batch.pk}/confirm/"))
    from agency.exceptions import Conflict

    with world_a.scope(), pytest.raises(Conflict):
        subaccount_import_cancel(agency=world_a.agency, actor=None, import_id=batch.pk)
    assert reload(batch).status == SubAccountImport.Status.APPLIED
    assert accounts(world_a) == ["dy_store_1"]


@pytest.mark.django_db
def test_one_agency_cannot_confirm_or_cancel_another_agencys_pending_import(world_a, world_b):
    theirs = upload(world_b)
    intruder = world_a.client("owner")
    assert intruder.post(page(world_a, f"import/{theirs.pk}/confirm/")).status_code == 404
    assert intruder.post(page(world_a, f"import/{theirs.pk}/cancel/")).status_code == 404
    # Nor through the services with the wrong agency.
    with world_a.scope():
        with pytest.raises(SubAccountImport.DoesNotExist):
            subaccount_import_confirm(agency=world_a.agency, actor=None, import_id=theirs.pk)
        with pytest.raises(SubAccountImport.DoesNotExist):
            subaccount_import_cancel(agency=world_a.agency, actor=None, import_id=theirs.pk)
    assert accounts(world_a) == [] and accounts(world_b) == []
    assert reload(theirs).status == SubAccountImport.Status.PREVIEWED
    assert default_storage.exists(theirs.file.name)
    # Its owner still can.
    assert world_b.client("operator").post(page(world_b, f"import/{theirs.pk}/confirm/")).status_code == 302
    assert accounts(world_b) == ["dy_store_1"]


@pytest.mark.django_db
def test_an_unconfirmed_file_expires(world_a, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_PENDING_RETENTION_HOURS = 24
    fresh, old = upload(world_a), upload(world_a)
    with scopes_disabled():
        SubAccountImport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        assert job_services.jobs_sweep()["imports_expired"] == 1
    assert not default_storage.exists(old.file.name)
    assert reload(old).status == SubAccountImport.Status.EXPIRED and not reload(old).file
    assert default_storage.exists(fresh.file.name)  # within its hours: kept
    assert reload(fresh).status == SubAccountImport.Status.PREVIEWED
    response = world_a.client("operator").post(
        page(world_a, f"import/{old.pk}/confirm/"), follow=True, HTTP_REFERER=page(world_a, "import/")
    )
    assert "no longer there" in response.content.decode()
    assert accounts(world_a) == []


@pytest.mark.django_db
def test_a_file_a_queued_job_still_needs_does_not_expire(
    world_a, settings, django_capture_on_commit_callbacks
):
    batch = upload(world_a)
    with scopes_disabled():
        SubAccountImport.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(days=3))
        Job.objects.create(
            agency=world_a.agency,
            kind=Job.Kind.IMPORT,
            params={"import_id": batch.pk},
            time_budget_seconds=900,
            row_budget=1000,
            created_at=timezone.now(),
        )
    settings.IMPORT_PENDING_RETENTION_HOURS = 24
    with django_capture_on_commit_callbacks(execute=True):
        assert job_services.jobs_sweep()["imports_expired"] == 0
    assert default_storage.exists(batch.file.name)
