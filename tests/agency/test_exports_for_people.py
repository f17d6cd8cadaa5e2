"""Exports as people open them (issue 14): Chinese headers and labels by default in zh-hans, or
codes; CSV in UTF-8 with BOM or GB18030; XLSX; both import back. Account holders' contacts are
masked unless the role may see them, and every unmasked export is an audit record."""

import io

import pytest
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from agency.models import AgencyAuditEvent
from tests.factories import SubAccountFactory

pytestmark = pytest.mark.django_db
ZH = {"accept-language": "zh-hans"}


@pytest.fixture
def account(world_a):
    return SubAccountFactory(agency=world_a.agency, platform="douyin", kind="personal", display_name="小鱼",
                             owner_name="张三", owner_mobile="+8613800138013", owner_email="zhangsan@example.cn")


def _export(world, role, query="", headers=ZH):
    url = f"/a/{world.agency.slug}/sub-accounts/export/?from_filter=1{query}"
    return world.client(role).get(url, headers=headers)


def test_zh_hans_export_has_chinese_headers_labels_and_a_bom_and_masks_contacts_for_an_operator(world_a, account):
    response = _export(world_a, "operator", "&format=csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    header, row = text.splitlines()[:2]
    assert header.startswith("平台,平台账号ID,账号名称,账号类型")
    assert "账号主体" in header
    assert row.startswith("抖音,") and "个人号" in row
    assert "138****8013" in row and "13800138013" not in row
    assert "z***@example.cn" in row
    with scopes_disabled():
        assert not AgencyAuditEvent.objects.exists()


def test_an_owner_sees_contacts_and_the_unmasked_export_is_recorded(world_a, account):
    response = _export(world_a, "owner", "&format=csv&encoding=gb18030")
    assert "gb18030" in response["Content-Type"]
    text = response.content.decode("gb18030")
    assert "平台账号ID" in text and "+8613800138013" in text
    with scopes_disabled():
        event = AgencyAuditEvent.objects.get()
    assert event.actor == world_a.user("owner") and event.action == "export_unmasked"
    assert event.data["rows"] == 1 and event.data["format"] == "csv"


def test_codes_for_integrations_and_xlsx(world_a, account):
    text = _export(world_a, "legal", "&format=csv&form=codes").content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("platform,platform_account_id,display_name,kind")
    assert text.splitlines()[1].startswith("douyin,")
    sheet = load_workbook(io.BytesIO(_export(world_a, "operator", "&format=xlsx").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "平台" and rows[1][0] == "抖音"
    assert "138****8013" in rows[1]


@pytest.mark.parametrize("query", ["&format=csv&form=labels&encoding=gb18030", "&format=xlsx&form=codes",
                                   "&format=xlsx&form=labels"])
def test_both_forms_import_back_unchanged(world_a, account, query):
    content = _export(world_a, "owner", query).content
    name = "export.xlsx" if "xlsx" in query else "export.csv"
    page = world_a.client("owner").post(
        f"/a/{world_a.agency.slug}/sub-accounts/import/",
        {"file": _upload(content, name)}, headers=ZH).content.decode()
    assert "无需修改" in page and '<div class="stat">1</div>无变化' in page, page[page.find("<main"):][:3000]
    table = page.split('id="import-preview-rows"')[1]
    assert "抖音</td>" in table and ">douyin<" not in table  # the preview shows words either way
    if "codes" in query:
        assert "平台 <code>platform</code>" in table


def _upload(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_the_list_masks_contacts_unless_the_role_may_see_them(world_a, account):
    url = f"/a/{world_a.agency.slug}/sub-accounts/"
    assert "138****8013" in world_a.client("operator").get(url).content.decode()
    assert "+8613800138013" not in world_a.client("operator").get(url).content.decode()
    assert "+8613800138013" in world_a.client("admin").get(url).content.decode()


def test_xlsx_template_has_a_labelled_example_row_and_drop_downs(world_a):
    response = world_a.client("operator").get(
        f"/a/{world_a.agency.slug}/sub-accounts/import/template/?format=xlsx&form=labels", headers=ZH)
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    header, example = [list(r) for r in sheet.iter_rows(max_row=2, values_only=True)]
    assert example[header.index("平台")] == "抖音"
    assert example[header.index("账号类型")] == "个人号"
    validated = {str(dv.sqref).split(":")[0][:-1] for dv in sheet.data_validations.dataValidation}
    platform_col = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("平台")]
    kind_col = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("账号类型")]
    assert {platform_col, kind_col} <= validated
