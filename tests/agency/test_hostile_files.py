"""Hostile files: each is refused with a 400 in the one error shape, in the user's language,
naming the limit, within a second or two and without the memory the file asks for."""

import time
import tracemalloc

import pytest

from agency.importers.reader import FileRejected, read_table

from .hostile_files import (
    declared_dimension_bomb,
    far_right_cell,
    inflate_bomb,
    other_zip,
    small_xlsx,
    without_dimension,
)
from .subaccount_helpers import HEADER, csv_bytes, upload, xlsx_bytes

MEMORY_CAP = 40 * 2**20  # what a refusal may allocate (the bombs ask for gigabytes)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return inflate_bomb()


def rows(n: int, width: int = len(HEADER)) -> list[list]:
    return [HEADER + [f"x{i}" for i in range(width - len(HEADER))]] + [
        ["douyin", f"dy_{i}", f"号{i}", "personal", i, "", "", "", ""] + [""] * (width - len(HEADER)) for i in range(n)]


def refused(world, content: bytes, name: str, language: str = "zh-hans"):
    """Upload through the API; the answer and the seconds it took."""
    client = world.client("operator")
    client.credentials(HTTP_ACCEPT_LANGUAGE=language)
    start = time.perf_counter()
    response = upload(client, world.agency.slug, content, name=name)
    seconds = time.perf_counter() - start
    assert response.status_code == 400, response.content[:300]
    return response.json(), seconds


def peak_memory(world, content: bytes, name: str) -> int:
    """The most memory (bytes, as Python allocates it) that refusing `content` took."""
    read_table(small_xlsx())  # imports (openpyxl …) are not the file's doing
    tracemalloc.start()
    try:
        response = upload(world.client("operator"), world.agency.slug, content, name=name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    return peak


@pytest.mark.django_db
def test_declared_dimension_bomb_is_refused_from_its_declaration(world_a):
    content = declared_dimension_bomb()
    assert len(content) < 10_000
    body, seconds = refused(world_a, content, "bomb.xlsx")
    assert body["error"]["message"] == "表格声明了 1,048,576 行，上限为 100,000 行。"
    assert body["error"]["details"]["limit"] == "rows"
    assert seconds < 2
    assert peak_memory(world_a, content, "bomb.xlsx") < MEMORY_CAP


@pytest.mark.django_db
def test_declared_width_over_the_column_limit(world_a):
    body, _s = refused(world_a, declared_dimension_bomb("A1:XFD10"), "wide.xlsx", language="en")
    assert body["error"]["message"] == "The sheet declares 16,384 columns; the limit is 200 columns."


@pytest.mark.django_db
def test_inflate_bomb_is_refused_from_the_zip_entries(world_a, bomb):
    assert len(bomb) < 5 * 2**20
    body, seconds = refused(world_a, bomb, "bomb.xlsx")
    assert "380" in body["error"]["message"]
    assert "200" in body["error"]["message"]
    assert body["error"]["details"]["limit"] == "unpacked_size"
    assert seconds < 2
    assert peak_memory(world_a, bomb, "bomb.xlsx") < MEMORY_CAP


@pytest.mark.django_db
def test_compression_ratio_over_the_limit(world_a, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 10**9
    body, seconds = refused(world_a, inflate_bomb(unpacked_mb=30), "ratio.xlsx", language="en")
    assert body["error"]["details"]["limit"] == "compression_ratio"
    assert "the limit is 100 times" in body["error"]["message"]
    assert seconds < 2


@pytest.mark.django_db
@pytest.mark.parametrize("name,build", [
    ("big.csv", lambda: csv_bytes(rows(300))),
    ("big.xlsx", lambda: xlsx_bytes(rows(300))),
])
def test_over_size(world_a, settings, name, build):
    content = build()
    settings.MAX_UPLOAD_BYTES = len(content) - 1
    body, seconds = refused(world_a, content, name, language="en")
    assert body["error"]["details"]["limit"] == "file_size"
    assert "the limit is" in body["error"]["message"]
    assert seconds < 2


@pytest.mark.django_db
@pytest.mark.parametrize("name,build,message", [
    ("rows.csv", lambda: csv_bytes(rows(60)), "The file has more than 50 rows. Split it into smaller files."),
    ("rows.xlsx", lambda: xlsx_bytes(rows(60)), "The sheet declares 61 rows; the limit is 50 rows."),
    ("rows.xlsx", lambda: without_dimension(xlsx_bytes(rows(60))),
     "The file has more than 50 rows. Split it into smaller files."),
])
def test_over_rows(world_a, settings, name, build, message):
    settings.IMPORT_MAX_ROWS = 50
    body, seconds = refused(world_a, build(), name, language="en")
    assert body["error"]["message"] == message
    assert body["errors"][0]["message"] == message
    assert seconds < 2


@pytest.mark.django_db
def test_rows_just_under_the_limit_import(world_a, settings):
    settings.IMPORT_MAX_ROWS = 61
    response = upload(world_a.client("operator"), world_a.agency.slug, xlsx_bytes(rows(60)), name="ok.xlsx",
                      dry_run=True)
    assert response.status_code == 200
    assert response.json()["created"] == 60


@pytest.mark.django_db
@pytest.mark.parametrize("name,build,message", [
    ("wide.csv", lambda: csv_bytes(rows(3, width=250)), "Row 1 has 250 columns; the limit is 200 columns."),
    ("wide.xlsx", lambda: without_dimension(xlsx_bytes(rows(3, width=250))),
     "Row 1 has 250 columns; the limit is 200 columns."),
    ("far.xlsx", lambda: far_right_cell(), "Row 2 has 16,384 columns; the limit is 200 columns."),
])
def test_over_columns(world_a, name, build, message):
    content = build()
    body, seconds = refused(world_a, content, name, language="en")
    assert body["error"]["message"] == message
    assert body["error"]["details"]["limit"] == "columns"
    assert seconds < 2
    assert peak_memory(world_a, content, name) < MEMORY_CAP


@pytest.mark.django_db
@pytest.mark.parametrize("name,content,needle", [
    ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG"),
    ("archive.xlsx", other_zip(), "neither a CSV nor an XLSX"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
])
def test_wrong_type(world_a, name, content, needle):
    body, seconds = refused(world_a, content, name, language="en")
    assert needle in body["error"]["message"]
    assert body["error"]["details"]["limit"] == "type"
    assert seconds < 2


@pytest.mark.django_db
def test_time_budget_names_its_limit(world_a, settings):
    settings.IMPORT_TIME_BUDGET_SECONDS = 0
    body, _s = refused(world_a, csv_bytes(rows(1200)), "slow.csv", language="en")
    assert body["error"]["details"]["limit"] == "time"
    assert "longer than" in body["error"]["message"]


@pytest.mark.django_db
def test_refusal_in_the_back_office_is_a_400_on_the_upload_form(world_a):
    client = world_a.client("operator")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(f"/a/{world_a.agency.slug}/sub-accounts/import/",
                           {"file": SimpleUploadedFile("bomb.xlsx", declared_dimension_bomb())},
                           HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "表格声明了 1,048,576 行，上限为 100,000 行。" in response.content.decode()


def test_rows_stream_and_are_not_padded_to_the_declared_width():
    table = read_table(small_xlsx())
    assert not isinstance(table.rows, list)
    header = next(table.rows)
    assert header == (1, HEADER)


def test_a_gap_of_a_million_rows_is_a_refusal_not_a_million_empty_rows():
    xml_row = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    from .hostile_files import rewrite_sheet

    content = without_dimension(rewrite_sheet(small_xlsx(), lambda xml: xml.replace(b"</sheetData>",
                                                                                     xml_row + b"</sheetData>")))
    table = read_table(content)
    with pytest.raises(FileRejected) as caught:
        list(table.rows)
    assert caught.value.limit == "rows"


@pytest.mark.django_db
@pytest.mark.parametrize("name,build,limit", [
    ("bomb.xlsx", lambda: declared_dimension_bomb(), "rows"),
    ("wide.csv", lambda: csv_bytes(rows(2, width=250)), "columns"),
    ("photo.csv", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "type"),
])
def test_monitoring_metrics_upload_is_bounded_too(world_a, name, build, limit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = world_a.client("operator")
    response = client.post(f"/api/v1/agencies/{world_a.agency.slug}/metrics/upload/",
                           {"file": SimpleUploadedFile(name, build())}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["limit"] == limit


@pytest.mark.django_db
def test_monitoring_metrics_over_the_size_limit(world_a, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MAX_UPLOAD_BYTES = 10
    response = world_a.client("operator").post(f"/api/v1/agencies/{world_a.agency.slug}/metrics/upload/",
                                               {"file": SimpleUploadedFile("m.csv", b"metric,value\n" * 10)})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["limit"] == "file_size"
