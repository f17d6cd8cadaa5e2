"""Spreadsheet import as people really produce files: encodings, Chinese headers, Excel
quirks; every bad input named by row and column; all-or-nothing; re-import updates."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from agency.models import SubAccount, SubAccountChange, SubAccountImport

from ..factories import SubAccountFactory
from .subaccount_helpers import HEADER, csv_bytes, upload, xlsx_bytes

ZH_HEADER = ["平台", "平台账号ID", "账号名称", "账号类型", "粉丝数", "手机号", "未提现收益（元）", "MCN合约到期日", "标签"]
ROW1 = ["抖音", "dy_001", "小鹿美食日记", "个人号", "12,345", "13800138000", "1,280.50", "2026/12/31", "重点、直播"]
ROW2 = ["kuaishou", "ks_002", "阿紫旅行Vlog", "enterprise", "1.2万", "+86 139 0013 9000", "0", "2027-01-01", ""]


def accounts(world):
    with world.scope():
        return {a.platform_account_id: a for a in SubAccount.objects.all()}


def check_two_rows(world):
    got = accounts(world)
    assert set(got) == {"dy_001", "ks_002"}
    first, second = got["dy_001"], got["ks_002"]
    assert (first.platform, first.kind, first.followers) == ("douyin", "personal", 12345)
    assert first.owner_mobile == "+8613800138000"
    assert first.unwithdrawn_earnings == Decimal("1280.50")
    assert first.mcn_contract_end == date(2026, 12, 31)
    assert first.tags == ["直播", "重点"]
    assert (second.kind, second.followers, second.owner_mobile) == ("enterprise", 12000, "+8613900139000")


@pytest.mark.django_db
@pytest.mark.parametrize("encoding,bom,delimiter", [
    ("gb18030", False, ","),   # "CSV (comma delimited)" from Excel on Chinese Windows (GBK)
    ("gbk", False, ","),
    ("utf-8", True, ","),      # "CSV UTF-8" from Excel: with a BOM
    ("utf-8", False, ","),
    ("utf-8", False, ";"),
    ("utf-16", False, "\t"),   # Excel's "Unicode text"
])
def test_csv_encodings_and_chinese_headers(world_a, encoding, bom, delimiter):
    content = csv_bytes([ZH_HEADER, ROW1, ROW2], encoding=encoding, bom=bom, delimiter=delimiter)
    response = upload(world_a.client("operator"), world_a.agency.slug, content)
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 2
    check_two_rows(world_a)


@pytest.mark.django_db
def test_xlsx_with_real_dates_numbers_and_noise(world_a):
    rows = [
        [],  # an empty first row
        [*HEADER, None, "内部备注列"],  # an empty extra column and one that is not ours
        ["douyin", "dy_001", "小鹿美食日记", "personal", 12345, 13800138000, 1280.5, datetime(2026, 12, 31), "重点, 直播",
         None, "忽略"],
        [None] * 5,  # an empty row in the middle
        ["kuaishou", "ks_002", "阿紫旅行Vlog", "企业", "1.2万", "+86 139 0013 9000", 0, date(2027, 1, 1), None],
    ]
    response = upload(world_a.client("operator"), world_a.agency.slug, xlsx_bytes(rows), name="a.xlsx")
    body = response.json()
    assert response.status_code == 200, body
    assert body["created"] == 2
    assert body["ignored_columns"] == ["内部备注列"]
    check_two_rows(world_a)


@pytest.mark.django_db
def test_dry_run_writes_nothing(world_a):
    content = csv_bytes([HEADER, ROW1, ROW2])
    body = upload(world_a.client("operator"), world_a.agency.slug, content, dry_run=True).json()
    assert body == {"created": 2, "updated": 0, "unchanged": 0, "errors": [], "ignored_columns": [],
                    "dry_run": True, "applied": False}
    assert accounts(world_a) == {}


@pytest.mark.django_db
def test_reimport_updates_instead_of_duplicating(world_a):
    client, slug = world_a.client("operator"), world_a.agency.slug
    upload(client, slug, csv_bytes([ZH_HEADER, ROW1, ROW2]))
    changed = list(ROW1)
    changed[4] = "20000"
    body = upload(client, slug, csv_bytes([ZH_HEADER, changed, ROW2])).json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 1)
    got = accounts(world_a)
    assert len(got) == 2
    assert got["dy_001"].followers == 20000
    with world_a.scope():
        change = SubAccountChange.objects.filter(subaccount=got["dy_001"]).first()
    assert change.action == "imported"
    assert change.changes == {"followers": [12345, 20000]}
    assert change.import_batch.original_name == "accounts.csv"


@pytest.mark.django_db
def test_blank_cells_leave_existing_values(world_a):
    account = SubAccountFactory(agency=world_a.agency, platform="douyin", platform_account_id="dy_001",
                                followers=777, owner_name="原负责人")
    body = upload(world_a.client("operator"), world_a.agency.slug,
                  csv_bytes([["platform", "platform_account_id", "followers", "owner_name"],
                             ["douyin", "dy_001", "", "新负责人"]])).json()
    assert body["updated"] == 1
    with world_a.scope():
        account.refresh_from_db()
    assert (account.followers, account.owner_name) == (777, "新负责人")


BAD_CASES = [
    ("platform", "tiktok", "platform"),
    ("kind", "robot", "kind"),
    ("owner_mobile", "12345", "owner_mobile"),
    ("unwithdrawn_earnings", "-5", "unwithdrawn_earnings"),
    ("mcn_contract_end", "31/02/2026", "mcn_contract_end"),
    ("followers", "lots", "followers"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("column,value,field", BAD_CASES)
def test_each_bad_cell_names_row_and_column_and_nothing_is_written(world_a, column, value, field):
    rows = [HEADER, ["douyin", "dy_ok", "好号", "personal", "1", "", "", "", ""],
            [], ["douyin", "dy_bad", "坏号", "personal", "1", "", "", "", ""]]
    rows[3][HEADER.index(column)] = value
    response = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows))
    body = response.json()
    assert response.status_code == 400
    assert body["applied"] is False
    assert body["created"] == 0
    assert body["error"]["code"] == "invalid_import"
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["row"] == 4  # as the spreadsheet shows it: header 1, row 2, empty row 3
    assert error["column"] == column
    assert error["field"] == field
    assert value.lstrip("-") in error["message"]
    assert accounts(world_a) == {}  # the good row is not written either


@pytest.mark.django_db
def test_errors_name_the_column_as_written(world_a):
    rows = [ZH_HEADER, ["抖音", "dy_1", "号", "个人", "1", "不是手机", "0", "2026-01-01", ""]]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows), dry_run=True).json()
    assert body["errors"] == [{"row": 2, "column": "手机号", "field": "owner_mobile",
                               "message": body["errors"][0]["message"]}]


@pytest.mark.django_db
def test_duplicate_key_inside_one_file(world_a):
    rows = [HEADER, ["douyin", "dy_1", "一", "", "", "", "", "", ""], ["抖音", "dy_1", "二", "", "", "", "", "", ""]]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows)).json()
    assert body["errors"][0]["row"] == 3
    assert body["errors"][0]["column"] == "platform_account_id"
    assert "2" in body["errors"][0]["message"]
    assert accounts(world_a) == {}


@pytest.mark.django_db
def test_missing_key_column_and_required_name(world_a):
    body = upload(world_a.client("operator"), world_a.agency.slug,
                  csv_bytes([["platform", "display_name"], ["douyin", "号"]])).json()
    assert body["errors"][0]["column"] == "platform_account_id"
    assert body["errors"][0]["row"] == 1
    body = upload(world_a.client("operator"), world_a.agency.slug,
                  csv_bytes([["platform", "platform_account_id"], ["douyin", "dy_new"]])).json()
    assert body["errors"][0]["field"] == "display_name"


@pytest.mark.django_db
@pytest.mark.parametrize("content,needle", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
    (b"PK\x03\x04" + b"\x00" * 64, "CSV"),
    (b"", "empty"),
])
def test_files_that_are_not_spreadsheets(world_a, content, needle):
    response = upload(world_a.client("operator"), world_a.agency.slug, content, name="x.csv", dry_run=True)
    assert response.status_code == 400
    body = response.json()
    assert needle.lower() in body["errors"][0]["message"].lower()
    assert body["error"]["status"] == 400


@pytest.mark.django_db
def test_file_over_the_size_limit(world_a, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    content = csv_bytes([HEADER] + [["douyin", f"dy_{i}", "号", "", "", "", "", "", ""] for i in range(100)])
    response = upload(world_a.client("operator"), world_a.agency.slug, content)
    assert response.status_code == 400
    assert "MB" in response.json()["errors"][0]["message"]
    assert accounts(world_a) == {}


@pytest.mark.django_db
def test_parent_by_key_in_the_same_file(world_a):
    rows = [["platform", "platform_account_id", "display_name", "parent"],
            ["douyin", "dy_child", "子号", "dy_main"],
            ["douyin", "dy_main", "主号", ""],
            ["weibo", "wb_child", "微博子号", "douyin:dy_main"],
            ["weibo", "wb_orphan", "孤儿", "douyin:nope"]]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows)).json()
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(5, "parent")]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows[:4])).json()
    assert body["created"] == 3
    got = accounts(world_a)
    assert got["dy_child"].parent_id == got["dy_main"].pk == got["wb_child"].parent_id


@pytest.mark.django_db
def test_export_then_reimport_round_trips(world_a):
    client, slug = world_a.client("operator"), world_a.agency.slug
    main = SubAccountFactory(agency=world_a.agency, display_name="=1+1", tags=["重点", "直播"],
                             unwithdrawn_earnings=Decimal("12345.60"), mcn_contract_end=date(2027, 5, 1),
                             country="SG", region="international", owner_relation="agent")
    SubAccountFactory(agency=world_a.agency, parent=main, followers=1_234_567)
    for fmt in ("csv", "xlsx"):
        exported = client.get(f"/api/v1/agencies/{slug}/sub-accounts/export.{fmt}").content
        body = upload(client, slug, exported, name=f"export.{fmt}", dry_run=True).json()
        assert body["errors"] == [], fmt
        assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 2), fmt


@pytest.mark.django_db
def test_import_roles_and_isolation(world_a, world_b):
    content = csv_bytes([HEADER, ROW1])
    assert upload(world_a.client("auditor"), world_a.agency.slug, content).status_code == 403
    assert upload(world_a.client("finance"), world_a.agency.slug, content).status_code == 403
    assert upload(world_b.client("owner"), world_a.agency.slug, content).status_code == 404
    # The same key in another agency is that agency's account: importing creates, never updates it.
    SubAccountFactory(agency=world_b.agency, platform="douyin", platform_account_id="dy_001", followers=5)
    assert upload(world_a.client("operator"), world_a.agency.slug, content).json()["created"] == 1
    with scopes_disabled():
        assert SubAccount.objects.get(agency=world_b.agency, platform_account_id="dy_001").followers == 5
        assert SubAccountImport.objects.filter(agency=world_b.agency).count() == 0


@pytest.mark.django_db
def test_bulk_writes_keep_history_tag_index_and_parents(world_a, world_b):
    from agency.models import SubAccountTag

    other = SubAccountFactory(agency=world_b.agency, platform="douyin", platform_account_id="dy_main", followers=5)
    client, slug = world_a.client("operator"), world_a.agency.slug
    rows = [["platform", "platform_account_id", "display_name", "followers", "tags", "parent", "手机号"],
            ["douyin", "dy_child", "子号", "10", "甲; 乙", "dy_main", "13800138000"],
            ["douyin", "dy_main", "主号", "20", "", "", "13800138001"]]
    body = upload(client, slug, csv_bytes(rows)).json()
    assert body["created"] == 2
    assert body["errors"] == []
    got = accounts(world_a)
    child, main = got["dy_child"], got["dy_main"]
    assert child.parent_id == main.pk
    assert child.created_at
    assert child.updated_at
    assert (child.owner_mobile, main.owner_mobile) == ("+8613800138000", "+8613800138001")
    with world_a.scope():
        created = SubAccountChange.objects.get(subaccount=child)
        assert created.changes["parent"] == [None, main.pk]
        assert created.changes["tags"] == [None, ["乙", "甲"]]
        assert created.changes["followers"] == [None, 10]
        assert "notes" not in created.changes
        assert sorted(SubAccountTag.objects.filter(subaccount=child).values_list("name", flat=True)) == ["乙", "甲"]
    rows[1][3], rows[1][4], rows[1][5] = "11", "乙; 丙", ""
    rows[2][2] = "主号2"
    body = upload(client, slug, csv_bytes(rows)).json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 2, 0)
    got = accounts(world_a)
    assert (got["dy_child"].followers, got["dy_child"].tags, got["dy_main"].display_name) == (11, ["丙", "乙"], "主号2")
    assert got["dy_child"].updated_at > child.updated_at
    with world_a.scope():
        changes = [c.changes for c in SubAccountChange.objects.filter(subaccount=child).order_by("id")]
        assert changes[-1] == {"followers": [10, 11], "tags": [["乙", "甲"], ["丙", "乙"]]}
        assert SubAccountChange.objects.filter(subaccount=main).order_by("id").last().changes == {
            "display_name": ["主号", "主号2"]}
        assert sorted(SubAccountTag.objects.filter(subaccount=child).values_list("name", flat=True)) == ["丙", "乙"]
    with world_b.scope():
        other.refresh_from_db()
        assert other.followers == 5
