"""Helpers for the sub-account registry tests: build spreadsheets as people produce them."""

import csv
import io

from openpyxl import Workbook

HEADER = ["platform", "platform_account_id", "display_name", "kind", "followers", "owner_mobile",
          "unwithdrawn_earnings", "mcn_contract_end", "tags"]


def csv_bytes(rows, *, encoding="utf-8", delimiter=",", bom=False) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, slug, content: bytes, name="accounts.csv", dry_run=False):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content)}
    if dry_run:
        data["dry_run"] = "1"
    return client.post(f"/api/v1/agencies/{slug}/sub-accounts/import/", data, format="multipart")
