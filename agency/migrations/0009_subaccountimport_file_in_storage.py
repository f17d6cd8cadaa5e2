"""Spreadsheets waiting for confirmation move from the `content` column to Django's storage
(local disk, or the bucket when STORAGE_S3_BUCKET is set), so that every web host and worker can
read them. Pending imports keep their file; an applied import no longer keeps a copy of its file
(its counts and its history stay), as after this change."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import migrations, models

import agency.models


def move_pending_files_to_storage(apps, schema_editor):
    SubAccountImport = apps.get_model("agency", "SubAccountImport")
    pending = SubAccountImport.objects.filter(status="previewed").values_list("pk", flat=True)
    for pk in list(pending):
        batch = SubAccountImport.objects.only("pk", "agency_id", "original_name", "content").get(pk=pk)
        content = bytes(batch.content or b"")
        if not content:
            continue
        name = default_storage.save(
            agency.models.import_file_path(batch, batch.original_name or ""), ContentFile(content)
        )
        SubAccountImport.objects.filter(pk=pk).update(file=name)


def move_pending_files_back(apps, schema_editor):
    SubAccountImport = apps.get_model("agency", "SubAccountImport")
    for pk, name in list(SubAccountImport.objects.exclude(file="").values_list("pk", "file")):
        try:
            with default_storage.open(name, "rb") as handle:
                content = handle.read()
        except FileNotFoundError:
            continue
        SubAccountImport.objects.filter(pk=pk).update(content=content, file="")
        default_storage.delete(name)


class Migration(migrations.Migration):
    dependencies = [
        ("agency", "0008_merge_20261203_0252"),
    ]

    operations = [
        migrations.AddField(
            model_name="subaccountimport",
            name="file",
            field=models.FileField(
                blank=True, max_length=300, upload_to=agency.models.import_file_path, verbose_name="file"
            ),
        ),
        migrations.AlterField(
            model_name="subaccountimport",
            name="status",
            field=models.CharField(
                choices=[
                    ("previewed", "Previewed"),
                    ("applied", "Applied"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                ],
                default="previewed",
                max_length=16,
                verbose_name="status",
            ),
        ),
        # A default, so that unapplying re-adds the column over existing rows.
        migrations.AlterField(
            model_name="subaccountimport",
            name="content",
            field=models.BinaryField(blank=True, default=b"", verbose_name="content"),
        ),
        migrations.RunPython(move_pending_files_to_storage, move_pending_files_back),
        migrations.RemoveField(
            model_name="subaccountimport",
            name="content",
        ),
    ]
