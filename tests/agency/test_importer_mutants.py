"""The importer's cell rules at their edges, as the user sees them: the value stored, or the
refusal with its exact reason (and, through an upload, the row and the field).

Written from the survivors of `make mutation MODULES=importer` (agency/fields.py and
agency/importers/columns.py): each test is the case a wrong comparison, a wrong constant or a
missing branch would get wrong."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from agency import fields
from agency.fields import FieldError
from agency.models import (
    AccountKind,
    AccountStage,
    ContentCost,
    IncomeNeed,
    OwnerRelation,
    Platform,
    Region,
    SubAccount,
    SubAccountStatus,
)
from agency.services.tags import TAG_MAX_LENGTH

from .subaccount_helpers import csv_bytes, upload


def refusal(function, value) -> str:
    with pytest.raises(FieldError) as exc:
        function(value)
    return str(exc.value)


# --- text -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written,stored",
    [
        (12345.0, "12345"),  # a whole number typed in Excel comes back without ".0"
        ("  小鹿  ", "小鹿"),
        ("'=SUM(A1)", "=SUM(A1)"),  # our own export's formula guard is undone
        ("'+8613800138000", "+8613800138000"),
        ("'abc", "'abc"),  # an apostrophe before ordinary text is kept
        ("A-Team", "A-Team"),  # a dash inside a name is not a formula
        ("x+1", "x+1"),
    ],
)
def test_text_cells(written, stored):
    assert fields.text(written) == stored


def test_text_of_exactly_the_maximum_length_is_kept_one_more_is_refused():
    assert fields.bounded_text("鹿" * 5, max_length=5) == "鹿" * 5
    assert fields.bounded_text("鹿", max_length=5) == "鹿"
    assert fields.bounded_text("鹿" * 500, max_length=None) == "鹿" * 500
    with pytest.raises(FieldError) as exc:
        fields.bounded_text("鹿" * 6, max_length=5)
    assert str(exc.value) == "Too long: at most 5 characters."


@pytest.mark.parametrize(
    "cell,blank", [(None, True), ("", True), ("   ", True), (0, False), ("0", False), ("x", False)]
)
def test_blank_cells(cell, blank):
    assert fields.is_blank(cell) is blank


# --- whole numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written,stored",
    [
        ("12", 12),
        ("0", 0),
        (7, 7),
        (12.0, 12),
        ("12,345", 12345),
        ("1.2万", 12_000),
        ("3万", 30_000),
        ("1.2亿", 120_000_000),
        ("2亿", 200_000_000),
        ("2147483647", 2147483647),
        (2147483647, 2147483647),
    ],
)
def test_whole_numbers_as_people_write_them(written, stored):
    assert fields.whole_number(written) == stored


@pytest.mark.parametrize(
    "written,message",
    [
        ("1.4", "“1.4” is not a whole number."),
        ("1.6", "“1.6” is not a whole number."),
        ("0.5", "“0.5” is not a whole number."),
        ("1.23456万", "“1.23456万” is not a whole number."),
        (1.5, "“1.5” is not a whole number."),
        (True, "“True” is not a whole number."),
        ("很多", "“很多” is not a whole number."),
        ("-1", "-1 is negative: it must be 0 or more."),
        (-3, "-3 is negative: it must be 0 or more."),
        ("2147483648", "2147483648 is too large."),
    ],
)
def test_whole_numbers_refused_with_the_reason(written, message):
    assert refusal(fields.whole_number, written) == message


# --- money ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written,stored",
    [
        ("1,280.50", Decimal("1280.50")),
        ("¥1280.5", Decimal("1280.50")),
        (1280.5, Decimal("1280.50")),
        (0, Decimal("0.00")),
        ("0", Decimal("0.00")),
        ("0.5", Decimal("0.50")),
        ("1.5", Decimal("1.50")),
        ("999999999999.99", Decimal("999999999999.99")),  # the largest amount the registry stores (14 digits)
    ],
)
def test_amounts_in_yuan(written, stored):
    amount = fields.money(written)
    assert amount == stored
    assert str(amount) == str(stored)  # always two decimals (fen)


@pytest.mark.parametrize(
    "written,message",
    [
        ("1000000000000", "1000000000000 is too large."),  # one fen more than the largest
        ("1000000000000.01", "1000000000000.01 is too large."),
        ("-0.01", "-0.01 is negative: an amount must be 0 or more."),
        ("-5", "-5 is negative: an amount must be 0 or more."),
        ("1.005", "1.005 has more than two decimal places (fen)."),
        ("0.999", "0.999 has more than two decimal places (fen)."),
        ("1.001", "1.001 has more than two decimal places (fen)."),
        ("一百", "“一百” is not an amount in yuan."),
        ("NaN", "“NaN” is not an amount in yuan."),
        ("Infinity", "“Infinity” is not an amount in yuan."),
        (True, "“True” is not an amount in yuan."),
    ],
)
def test_amounts_refused_with_the_reason(written, message):
    assert refusal(fields.money, written) == message


# --- yes / no -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written,stored",
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
        ("是", True),
        ("否", False),
        ("Yes", True),
        ("no", False),
        ("1", True),
        ("0", False),
        ("已开通", True),
    ],
)
def test_yes_no_cells(written, stored):
    assert fields.yes_no(written) is stored


@pytest.mark.parametrize("written", [2, -1, 0.5, "也许", "2"])
def test_yes_no_cells_refused(written):
    assert refusal(fields.yes_no, written) == f"“{written}” is not yes or no (use 是/否, yes/no or 1/0)."


# --- dates ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written,stored",
    [
        ("25/3/1", date(2025, 3, 1)),  # yy/m/d: a one-digit "year" is never read
        ("25年3月1日", date(2025, 3, 1)),
        ("99年12月31日", date(2099, 12, 31)),  # two digits are always this century
        ("00年1月1日", date(2000, 1, 1)),
        ("32/1/5", date(2032, 1, 5)),  # only yy/mm/dd is a date
        ("31.12.40", date(2040, 12, 31)),  # only dd.mm.yy is a date
        ("5/31/12", date(2012, 5, 31)),  # only mm/dd/yy is a date
        ("2026-12-31", date(2026, 12, 31)),
        ("2026年12月31日", date(2026, 12, 31)),
        ("2026/12/31 00:00", date(2026, 12, 31)),
        ("2026/12/31 10:30", date(2026, 12, 31)),
        ("20261231", date(2026, 12, 31)),
        (date(2026, 12, 31), date(2026, 12, 31)),
        (datetime(2026, 12, 31, 23, 30), date(2026, 12, 31)),
    ],
)
def test_dates_as_people_write_them(written, stored):
    assert fields.calendar_date(written) == stored
    assert type(fields.calendar_date(written)) is date


@pytest.mark.parametrize(
    "written,message",
    [
        (
            "25/3/12",
            "“25/3/12” can be read as 2012-03-25 or 2025-03-12: write the year in full (e.g. 2026-12-31).",
        ),
        (
            "26/12/31",
            "“26/12/31” can be read as 2026-12-31 or 2031-12-26: write the year in full (e.g. 2026-12-31).",
        ),
        (
            "12/31/5",
            "“12/31/5” is not a date (use YYYY-MM-DD, e.g. 2026-12-31).",
        ),  # a one-digit year is not read
        ("5/1/3", "“5/1/3” is not a date (use YYYY-MM-DD, e.g. 2026-12-31)."),
        ("26年13月1日", "“26年13月1日” is not a date (use YYYY-MM-DD, e.g. 2026-12-31)."),
        ("2026-02-30", "“2026-02-30” is not a date (use YYYY-MM-DD, e.g. 2026-12-31)."),
        ("明年", "“明年” is not a date (use YYYY-MM-DD, e.g. 2026-12-31)."),
    ],
)
def test_dates_refused_with_the_reason(written, message):
    assert refusal(fields.calendar_date, written) == message


# --- mobile, email, country, tags, parent ---------------------------------------------------------
@pytest.mark.parametrize(
    "written,stored",
    [
        ("13800138000", "+8613800138000"),
        ("+86 139 0013 9000", "+8613900139000"),
        ("8613800138000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        (13800138000, "+8613800138000"),
        ("+6591234567", "+6591234567"),
    ],
)
def test_mobile_numbers(written, stored):
    assert fields.mobile(written) == stored


def test_blank_mobile_is_no_number():
    assert fields.mobile_e164(None) == ""
    assert fields.mobile_e164("") == ""


@pytest.mark.parametrize("written", ["12012345678", "10000000000", "不是手机"])
def test_mobile_numbers_refused(written):
    assert refusal(fields.mobile, written) == f"“{written}” is not a valid mobile number."


def test_an_invalid_mobile_entered_in_a_form_is_named_in_the_error():
    # The services (API, back-office forms) show libphonenumber's message: it names the number typed.
    with pytest.raises(ValidationError) as exc:
        fields.mobile_e164("12012345678")
    assert exc.value.messages == ["“12012345678” is not a valid phone number."]


def test_emails():
    assert fields.email(" ZhangSan@Example.CN ") == "zhangsan@example.cn"
    assert fields.email_normalise(" ZhangSan@Example.CN ") == "zhangsan@example.cn"
    assert fields.email_normalise(None) == ""
    assert refusal(fields.email, "zhangsan@") == "“zhangsan@” is not an email address."


def test_countries():
    assert fields.country("中国") == "CN"
    assert fields.country("sg") == "SG"
    assert fields.country_normalise(" cn ") == "CN"
    assert fields.country_normalise(None) == ""
    assert refusal(fields.country, "CHN") == "“CHN” is not a two-letter country code (e.g. CN, SG)."


def test_tags_of_exactly_the_maximum_length_are_kept_longer_ones_named():
    exact, other = "甲" * TAG_MAX_LENGTH, "乙"
    assert fields.tags(f"{exact}; {other}") == sorted([exact, other])
    long_a, long_b = "甲" * (TAG_MAX_LENGTH + 1), "乙" * (TAG_MAX_LENGTH + 2)
    assert refusal(fields.tags, long_a) == f"A tag has at most {TAG_MAX_LENGTH} characters: “{long_a}”."
    first = sorted([long_a, long_b])[0]
    assert refusal(fields.tags, f"{long_a}; {other}; {long_b}") == (
        f"A tag has at most {TAG_MAX_LENGTH} characters: “{first}”."
    )


def test_parent_references():
    assert fields.parent_ref("抖音:dy_1") == ("douyin", "dy_1")
    assert fields.parent_ref("weibo: wb_9 ") == ("weibo", "wb_9")
    assert fields.parent_ref("dy_1") == (None, "dy_1")
    assert refusal(fields.parent_ref, "脸书:fb_1") == "“脸书:fb_1”: unknown platform before the colon."


# --- choices --------------------------------------------------------------------------------------
ALL_CHOICES = (
    Platform,
    AccountKind,
    Region,
    SubAccountStatus,
    OwnerRelation,
    AccountStage,
    IncomeNeed,
    ContentCost,
)


@pytest.mark.parametrize("choices", ALL_CHOICES, ids=lambda c: c.__name__)
def test_a_choice_reads_in_either_language_whatever_the_ui_language(choices):
    # A Chinese export imports back from the English UI, and the other way round.
    for value, label in choices.choices:
        for shown in ("en", "zh-hans"):
            with translation.override(shown):
                written = str(label)
            for ui in ("en", "zh-hans"):
                with translation.override(ui):
                    assert fields.choice(choices, written) == value, (shown, ui, written)
                    assert fields.choice(choices, value) == value
                    assert fields.choice(choices, written.upper()) == value


def test_choice_aliases_and_the_refusal_lists_the_labels():
    assert fields.choice(Platform, "B站") == "bilibili"
    assert fields.choice(SubAccountStatus, "已注销") == "shut_down"
    assert fields.choice(AccountKind, "Third-party authorised") == "third_party"
    assert (
        refusal(lambda v: fields.choice(Region, v), "火星")
        == "“火星” is not one of: Domestic, International."
    )


# --- through an upload: row, field, reason --------------------------------------------------------
def accounts(world):
    with world.scope():
        return {a.platform_account_id: a for a in SubAccount.objects.all()}


@pytest.mark.django_db
def test_an_upload_keeps_a_name_of_exactly_the_maximum_length_and_refuses_one_more(world_a):
    limit = SubAccount._meta.get_field("display_name").max_length
    header = ["platform", "platform_account_id", "display_name", "blue_v", "live_streaming", "followers"]
    rows = [header, ["douyin", "dy_1", "名" * limit, "是", "否", "1.2亿"]]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows)).json()
    assert body["errors"] == []
    stored = accounts(world_a)["dy_1"]
    assert stored.display_name == "名" * limit
    assert (stored.blue_v, stored.live_streaming, stored.followers) == (True, False, 120_000_000)

    rows = [
        header,
        ["douyin", "dy_2", "ok", "1", "0", "3万"],
        ["douyin", "dy_3", "名" * (limit + 1), "", "", ""],
    ]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows)).json()
    assert body["errors"] == [
        {
            "row": 3,
            "column": "display_name",
            "field": "display_name",
            "message": f"Too long: at most {limit} characters.",
        }
    ]
    assert set(accounts(world_a)) == {"dy_1"}


@pytest.mark.django_db
def test_an_upload_names_row_and_field_of_a_bad_yes_no_cell(world_a):
    rows = [
        ["平台", "平台账号ID", "账号名称", "蓝V认证"],
        ["抖音", "dy_1", "号", "是"],
        ["抖音", "dy_2", "号", "也许"],
    ]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows), dry_run=True).json()
    assert body["errors"] == [
        {
            "row": 3,
            "column": "蓝V认证",
            "field": "blue_v",
            "message": "“也许” is not yes or no (use 是/否, yes/no or 1/0).",
        }
    ]


@pytest.mark.django_db
def test_the_import_template_shows_a_complete_example_row(world_a):
    response = world_a.client("operator").get(
        f"/a/{world_a.agency.slug}/sub-accounts/import/template/?format=csv&form=codes"
    )
    header, example = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert dict(zip(header, example, strict=True)) == {
        "platform": "douyin",
        "platform_account_id": "dy_1234567",
        "display_name": "小鹿美食日记",
        "kind": "personal",
        "region": "domestic",
        "country": "CN",
        "followers": "12500",
        "blue_v": "false",
        "high_risk": "false",
        "parent": "",
        "status": "active",
        "tags": "重点; 直播",
        "notes": "",
        "owner_name": "张三",
        "owner_mobile": "'+8613800138000",
        "owner_email": "zhangsan@example.cn",
        "owner_relation": "creator",
        "live_streaming": "true",
        "unwithdrawn_earnings": "1280.50",
        "pending_ad_revenue": "320.00",
        "hosted_topics": "0",
        "bound_mini_programs": "0",
        "third_party_authorisations": "1",
        "api_anomaly": "false",
        "mcn_contract_end": "2026-12-31",
        "open_infringement_complaints": "0",
        "pending_orders": "2",
        "stage": "mature",
        "income_need": "low",
        "content_cost": "high",
    }
    # …and it imports as it reads.
    body = upload(world_a.client("operator"), world_a.agency.slug, response.content).json()
    assert body["errors"] == []
    stored = accounts(world_a)["dy_1234567"]
    assert (stored.followers, stored.unwithdrawn_earnings, stored.mcn_contract_end, stored.owner_mobile) == (
        12500,
        Decimal("1280.50"),
        date(2026, 12, 31),
        "+8613800138000",
    )
