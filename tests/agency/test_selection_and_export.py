"""Acting on "everything matching a filter" names only known filters; selection forms keep the
CSRF token out of URLs; exports neutralise formula triggers (ASCII and full-width)."""

import io

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from shutdown.models import ShutdownTask

from ..factories import SubAccountFactory


def api(world, suffix=""):
    return f"/api/v1/agencies/{world.agency.slug}/sub-accounts/{suffix}"


def page(world, suffix=""):
    return f"/a/{world.agency.slug}/sub-accounts/{suffix}"


@pytest.fixture
def weibo_and_douyin(world_a):
    return [SubAccountFactory(agency=world_a.agency, platform="weibo", display_name="微博号", tags=[]),
            SubAccountFactory(agency=world_a.agency, platform="douyin", display_name="抖音号", tags=[])]


def all_tags(accounts):
    with scopes_disabled():
        for account in accounts:
            account.refresh_from_db()
    return [account.tags for account in accounts]


@pytest.mark.django_db
def test_api_bulk_with_a_misspelled_filter_is_refused_naming_it(world_a, weibo_and_douyin):
    response = world_a.client("operator").post(api(world_a, "bulk/"), {
        "action": "tag", "filter": {"platfrom": "weibo"}, "add_tags": ["待评估"]}, format="json",
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert "platfrom" in body["error"]["message"]
    assert "platfrom" in body["error"]["details"]
    assert all_tags(weibo_and_douyin) == [[], []]


@pytest.mark.django_db
def test_api_bulk_with_a_known_filter_acts_on_the_matches(world_a, weibo_and_douyin):
    response = world_a.client("operator").post(api(world_a, "bulk/"), {
        "action": "tag", "filter": {"platform": "weibo"}, "add_tags": ["待评估"]}, format="json")
    assert response.status_code == 200
    assert all_tags(weibo_and_douyin) == [["待评估"], []]


@pytest.mark.django_db
def test_api_bulk_with_an_empty_selection_is_refused(world_a, weibo_and_douyin):
    client = world_a.client("operator")
    empty_ids = client.post(api(world_a, "bulk/"), {"action": "tag", "ids": [], "add_tags": ["x"]}, format="json")
    assert empty_ids.status_code == 400
    no_match = client.post(api(world_a, "bulk/"), {"action": "tag", "filter": {"platform": "bilibili"},
                                                   "add_tags": ["x"]}, format="json")
    assert no_match.status_code == 400
    assert all_tags(weibo_and_douyin) == [[], []]


@pytest.mark.django_db
def test_api_task_from_a_misspelled_filter_is_refused_naming_it(world_a, weibo_and_douyin):
    response = world_a.client("operator").post(f"/api/v1/agencies/{world_a.agency.slug}/shutdown-tasks/", {
        "title": "清理", "strategy": "restrict", "filter": {"platfrom": "weibo"}}, format="json",
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "platfrom" in response.json()["error"]["message"]
    with scopes_disabled():
        assert not ShutdownTask.objects.filter(agency=world_a.agency).exists()


@pytest.mark.django_db
def test_page_bulk_on_a_misspelled_filter_changes_nothing_and_says_why(world_a, weibo_and_douyin):
    client = world_a.client("operator")
    response = client.post(page(world_a, "bulk/"), {"from_filter": "1", "platfrom": "weibo", "action": "tag",
                                                    "add_tags": "待评估", "return_qs": "platfrom=weibo"},
                           HTTP_ACCEPT_LANGUAGE="en", HTTP_REFERER=page(world_a, "?platfrom=weibo"), follow=True)
    assert "Unknown filter “platfrom”" in response.content.decode()
    assert all_tags(weibo_and_douyin) == [[], []]


@pytest.mark.django_db
def test_selection_forms_post_so_the_csrf_token_never_lands_in_a_url(world_a, weibo_and_douyin):
    html = world_a.client("operator").get(page(world_a, "?platform=weibo")).content.decode()
    assert 'formmethod="get"' not in html
    assert 'id="bulk-form"' in html


@pytest.mark.django_db
def test_export_selection_by_post_from_the_selection_form(world_a, weibo_and_douyin):
    client = world_a.client("operator")
    response = client.post(page(world_a, "export/"), {
        "ids": [weibo_and_douyin[0].pk], "format": "csv", "return_qs": "", "add_tags": "", "owner_name": ""})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "微博号" in text
    assert "抖音号" not in text


@pytest.mark.django_db
def test_create_task_button_posts_the_selection_and_shows_the_form(world_a, weibo_and_douyin):
    client = world_a.client("operator")
    url = reverse("shutdown:task_create", kwargs={"agency_slug": world_a.agency.slug})
    response = client.post(url, {"from_filter": "1", "platform": "weibo", "return_qs": "platform=weibo",
                                 "add_tags": "", "owner_name": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "微博号" in html
    assert "抖音号" not in html
    with scopes_disabled():
        assert not ShutdownTask.objects.filter(agency=world_a.agency).exists()


NASTY = ["=1+1", "+8613800138000", "-2", "@cmd", "＝1+1", "＋86 138", "－2", "＠cmd"]


@pytest.mark.django_db
def test_csv_export_keeps_the_apostrophe_before_ascii_and_full_width_triggers(world_a):
    for i, name in enumerate(NASTY):
        SubAccountFactory(agency=world_a.agency, display_name=name, platform_account_id=f"n{i}", tags=[])
    text = world_a.client("auditor").get(api(world_a, "export.csv")).content.decode("utf-8-sig")
    for name in NASTY:
        assert f",'{name}," in text


@pytest.mark.django_db
def test_xlsx_export_types_text_as_text_without_an_apostrophe(world_a):
    for i, name in enumerate(NASTY):
        SubAccountFactory(agency=world_a.agency, display_name=name, platform_account_id=f"n{i}", tags=[],
                          owner_mobile="+8613800138000")
    content = world_a.client("admin").get(api(world_a, "export.xlsx")).content
    sheet = load_workbook(io.BytesIO(content)).active
    header = [c.value for c in sheet[1]]
    names = [row[header.index("display_name")] for row in sheet.iter_rows(min_row=2)]
    mobiles = {row[header.index("owner_mobile")].value for row in sheet.iter_rows(min_row=2)}
    assert sorted(c.value for c in names) == sorted(NASTY)
    assert {c.data_type for c in names} == {"s"}
    assert {c.number_format for c in names} == {"@"}
    assert mobiles == {"+8613800138000"}


@pytest.mark.django_db
def test_an_xlsx_export_of_a_name_with_control_characters_shows_them_replaced_instead_of_failing(world_a):
    """Found by the contract fuzzer: a display name holding \\x0e made export.xlsx a 500."""
    SubAccountFactory(agency=world_a.agency, display_name="小鱼\x0e的\x01日常", platform_account_id="ctl1")
    response = world_a.client("admin").get(api(world_a, "export.xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("display_name") + 1).value == "小鱼\ufffd的\ufffd日常"
    text = world_a.client("admin").get(api(world_a, "export.csv")).content.decode("utf-8-sig")
    assert "小鱼\x0e的\x01日常" in text
