"""Small things people hit: a CSV saved by LibreOffice in a zh-CN locale writes dates as shown
(26年12月31日); money in XLSX exports reads as money (two decimals)."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from agency.fields import FieldError, calendar_date
from agency.models import SubAccount
from tests.factories import SubAccountFactory

from .subaccount_helpers import HEADER, csv_bytes


@pytest.mark.parametrize("written,expected", [
    ("26年12月31日", date(2026, 12, 31)),
    ("26年1月5日", date(2026, 1, 5)),
    ("２６年１２月３１日", date(2026, 12, 31)),  # full-width digits
    ("32/1/5", date(2032, 1, 5)),        # only yy/mm/dd is a date
    ("31.12.40", date(2040, 12, 31)),    # only dd.mm.yy is a date
    ("2026年12月31日", date(2026, 12, 31)),
    ("2026/12/31", date(2026, 12, 31)),
])
def test_two_digit_years_where_they_can_mean_one_date_only(written, expected):
    assert calendar_date(written) == expected


@pytest.mark.parametrize("written,message", [
    ("26/12/31", "can be read as 2026-12-31 or 2031-12-26"),
    ("05/06/07", "write the year in full"),
    ("26年13月1日", "is not a date"),
])
def test_ambiguous_or_impossible_short_dates_are_refused_with_the_reason(written, message):
    with pytest.raises(FieldError) as exc:
        calendar_date(written)
    assert message in str(exc.value)


def page(world, suffix=""):
    return f"/a/{world.agency.slug}/sub-accounts/{suffix}"


@pytest.mark.django_db
def test_the_preview_says_how_a_two_digit_year_was_read(world_a):
    content = csv_bytes([HEADER, ["douyin", "dy_s1", "短年份", "personal", "", "", "", "26年12月31日", ""],
                         ["douyin", "dy_s2", "长年份", "personal", "", "", "", "2027-01-01", ""]], encoding="utf-8")
    html = world_a.client("operator").post(page(world_a, "import/"),
                                           {"file": SimpleUploadedFile("a.csv", content)}).content.decode()
    assert "26年12月31日" in html
    assert "read as 2026-12-31 (two-digit year, this century)" in html
    assert html.count("two-digit year") == 1  # the four-digit year needs no note


@pytest.mark.django_db
def test_an_ambiguous_short_date_is_an_error_in_the_preview(world_a):
    content = csv_bytes([HEADER, ["douyin", "dy_s1", "短年份", "personal", "", "", "", "26/12/31", ""]])
    html = world_a.client("operator").post(page(world_a, "import/"),
                                           {"file": SimpleUploadedFile("a.csv", content)}).content.decode()
    assert "can be read as 2026-12-31 or 2031-12-26" in html
    assert "/confirm/" not in html
    with world_a.scope():
        assert not SubAccount.objects.exists()


@pytest.mark.django_db
def test_money_cells_in_xlsx_exports_have_two_decimals(world_a):
    SubAccountFactory(agency=world_a.agency, platform="douyin", unwithdrawn_earnings=Decimal("1280.5"),
                      pending_ad_revenue=Decimal("0"))
    for form in ("labels", "codes"):
        response = world_a.client("operator").get(page(world_a, f"export/?from_filter=1&format=xlsx&form={form}"))
        sheet = load_workbook(io.BytesIO(response.content)).active
        header = [c.value for c in sheet[1]]
        row = sheet[2]
        for title in ("unwithdrawn_earnings", "未提现收益", "pending_ad_revenue", "待结算广告分成"):
            if title in header:
                cell = row[header.index(title)]
                assert cell.number_format == "#,##0.00", (form, title)
                assert isinstance(cell.value, (int, float))
    template = world_a.client("operator").get(page(world_a, "import/template/?format=xlsx&form=labels"))
    sheet = load_workbook(io.BytesIO(template.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert sheet[2][header.index("未提现收益")].number_format == "#,##0.00"
