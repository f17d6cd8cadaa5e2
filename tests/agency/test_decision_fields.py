"""Issue 21 (R9.4): the decision model's optional registry fields — stage, need to earn money,
content production cost — are imported with Chinese headers and labels, and exported."""

import pytest
from django_scopes import scopes_disabled

from agency.models import SubAccount
from tests.factories import SubAccountFactory

from .subaccount_helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db
HEADER = ["平台", "平台账号ID", "账号名称", "账号阶段", "变现需求", "内容生产成本"]


def test_import_reads_the_decision_fields_in_chinese_and_leaves_them_optional(world_a):
    content = csv_bytes(
        [
            HEADER,
            ["抖音", "dy_900", "小鹿美食日记", "成长期", "需要变现", "高"],
            ["快手", "ks_901", "阿紫旅行Vlog", "衰退", "否", ""],
            ["抖音", "dy_902", "星河旅拍", "", "", ""],
        ],
        encoding="utf-8",
        bom=True,
        delimiter=",",
    )
    response = upload(world_a.client("operator"), world_a.agency.slug, content)
    assert response.status_code == 200, response.json()
    with scopes_disabled():
        got = {
            a.platform_account_id: (a.stage, a.income_need, a.content_cost) for a in SubAccount.objects.all()
        }
    assert got == {
        "dy_900": ("growing", "high", "high"),
        "ks_901": ("declining", "low", ""),
        "dy_902": ("", "", ""),
    }


def test_a_wrong_stage_is_named_by_row_and_column_and_changes_nothing(world_a):
    content = csv_bytes(
        [HEADER, ["抖音", "dy_900", "小鹿美食日记", "巅峰期", "", ""]],
        encoding="utf-8",
        bom=True,
        delimiter=",",
    )
    response = upload(world_a.client("operator"), world_a.agency.slug, content)
    assert response.status_code == 400
    text = str(response.json())
    assert "巅峰期" in text and "stage" in text
    with scopes_disabled():
        assert not SubAccount.objects.exists()


def test_the_chinese_export_shows_the_decision_fields_as_words(world_a):
    SubAccountFactory(
        agency=world_a.agency, display_name="小鱼", stage="mature", income_need="low", content_cost="medium"
    )
    response = world_a.client("owner").get(
        f"/a/{world_a.agency.slug}/sub-accounts/export/?from_filter=1&format=csv",
        headers={"accept-language": "zh-hans"},
    )
    header, row = response.content.decode("utf-8-sig").splitlines()[:2]
    assert header.endswith("账号阶段,变现需求,内容生产成本")
    assert row.endswith("成熟期,无需变现,中")


def test_the_account_page_shows_the_decision_fields_in_words(world_a):
    account = SubAccountFactory(
        agency=world_a.agency, stage="growing", income_need="high", content_cost="low"
    )
    page = (
        world_a.client("operator")
        .get(f"/a/{world_a.agency.slug}/sub-accounts/{account.pk}/", headers={"accept-language": "zh-hans"})
        .content.decode()
    )
    assert "账号阶段" in page and "成长期" in page and "需要变现" in page
