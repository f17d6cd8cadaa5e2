"""Back-office pages of the registry, and the selector other apps use."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django_scopes import scopes_disabled

from agency.exceptions import DomainValidationError
from agency.models import SubAccount, SubAccountImport
from agency.selectors import subaccount_filter_queryset

from ..factories import SubAccountFactory
from .subaccount_helpers import HEADER, csv_bytes


def page(world, suffix=""):
    return f"/a/{world.agency.slug}/sub-accounts/{suffix}"


@pytest.mark.django_db
def test_list_page_filters_sorts_and_counts_flat(world_a, world_b, django_assert_max_num_queries):
    client = world_a.client("auditor")
    SubAccountFactory(agency=world_a.agency, display_name="星河美食", platform="weibo", tags=["重点"])
    SubAccountFactory(agency=world_b.agency, display_name="别家的号")
    with django_assert_max_num_queries(20) as small:
        response = client.get(page(world_a) + "?page_size=200")
    assert response.status_code == 200
    parent = SubAccountFactory(agency=world_a.agency)
    for _ in range(80):
        SubAccountFactory(agency=world_a.agency, parent=parent, tags=["重点", "直播"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(page(world_a) + "?page_size=200&tag=重点&ordering=-followers")
    html = response.content.decode()
    assert "星河美食" in html
    assert "别家的号" not in html
    response = client.get(page(world_a) + "?search=星河&platform=weibo")
    assert [a.display_name for a in response.context["subaccounts"]] == ["星河美食"]
    empty = client.get(page(world_a) + "?search=没有这个号").content.decode()
    assert "Clear the filters" in empty or "清除筛选" in empty


@pytest.mark.django_db
def test_list_offers_bulk_actions_by_role(world_a, accounts_a):
    operator_html = world_a.client("operator").get(page(world_a)).content.decode()
    assert 'name="ids"' in operator_html
    assert 'name="from_filter"' in operator_html
    assert 'value="tag"' in operator_html
    assert 'value="owner"' in operator_html
    auditor_html = world_a.client("auditor").get(page(world_a)).content.decode()
    assert 'value="tag"' not in auditor_html  # read-only: no bulk edit
    assert "export" in auditor_html


@pytest.mark.django_db
def test_create_edit_and_history_on_the_detail_page(world_a):
    client = world_a.client("operator")
    form = {"platform": "douyin", "platform_account_id": "dy_form", "display_name": "表单号", "kind": "personal",
            "region": "domestic", "followers": "10", "status": "active", "owner_relation": "creator",
            "owner_mobile": "13800138000", "unwithdrawn_earnings": "0", "pending_ad_revenue": "0",
            "hosted_topics": "0", "bound_mini_programs": "0", "third_party_authorisations": "0",
            "open_infringement_complaints": "0", "pending_orders": "0", "tags": "重点, 直播"}
    response = client.post(page(world_a, "new/"), form)
    assert response.status_code == 302
    with world_a.scope():
        account = SubAccount.objects.get(platform_account_id="dy_form")
    assert account.tags == ["直播", "重点"]
    assert account.owner_mobile == "+8613800138000"
    response = client.post(page(world_a, f"{account.pk}/edit/"), {**form, "followers": "99"})
    assert response.status_code == 302
    detail = client.get(page(world_a, f"{account.pk}/"))
    history = detail.context["history"]
    assert [h["change"].action for h in history] == ["edited", "created"]
    assert any(old == "10" and new == "99" for _label, old, new in history[0]["fields"])
    assert str(world_a.user("operator")) in detail.content.decode()
    bad = client.post(page(world_a, f"{account.pk}/edit/"), {**form, "owner_mobile": "123"})
    assert bad.status_code == 400
    with world_a.scope():
        account.refresh_from_db()
    assert account.owner_mobile == "+8613800138000"


@pytest.mark.django_db
def test_pages_forbid_wrong_roles_and_hide_other_agencies(world_a, world_b, accounts_a, accounts_b):
    auditor = world_a.client("auditor")
    assert auditor.get(page(world_a, "new/")).status_code == 403
    assert auditor.get(page(world_a, f"{accounts_a[0].pk}/edit/")).status_code == 403
    assert auditor.get(page(world_a, "import/")).status_code == 403
    assert auditor.post(page(world_a, f"{accounts_a[0].pk}/archive/")).status_code == 403
    owner = world_a.client("owner")
    for suffix in ("", "edit/"):
        assert owner.get(page(world_a, f"{accounts_b[0].pk}/{suffix}")).status_code == 404
    assert owner.post(page(world_a, f"{accounts_b[0].pk}/archive/")).status_code == 404
    assert world_b.client("owner").get(page(world_a, f"{accounts_a[0].pk}/")).status_code == 404


@pytest.mark.django_db
def test_bulk_tag_all_matching_filter_from_the_page(world_a, world_b):
    weibo = [SubAccountFactory(agency=world_a.agency, platform="weibo") for _ in range(3)]
    other = SubAccountFactory(agency=world_a.agency, platform="douyin")
    theirs = SubAccountFactory(agency=world_b.agency, platform="weibo")
    response = world_a.client("operator").post(page(world_a, "bulk/"), {
        "from_filter": "1", "platform": "weibo", "action": "tag", "add_tags": "待评估"})
    assert response.status_code == 302
    with scopes_disabled():
        assert all(SubAccount.objects.get(pk=a.pk).tags == ["待评估"] for a in weibo)
        assert SubAccount.objects.get(pk=other.pk).tags == []
        assert SubAccount.objects.get(pk=theirs.pk).tags == []


@pytest.mark.django_db
def test_bulk_with_foreign_ids_changes_nothing(world_a, world_b, accounts_a, accounts_b):
    response = world_a.client("operator").post(page(world_a, "bulk/"), {
        "ids": [accounts_a[0].pk, accounts_b[0].pk], "action": "owner", "owner_name": "黑客"})
    assert response.status_code == 302  # back with an error message
    with scopes_disabled():
        assert SubAccount.objects.filter(owner_name="黑客").count() == 0


@pytest.mark.django_db
def test_export_from_the_page(world_a, accounts_a):
    response = world_a.client("auditor").get(page(world_a, f"export/?ids={accounts_a[0].pk}&format=xlsx"))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')


@pytest.mark.django_db
def test_import_upload_preview_confirm(world_a):
    client = world_a.client("operator")
    good = csv_bytes([HEADER, ["douyin", "dy_p1", "预览号", "personal", "1,000", "", "", "", ""]], encoding="gb18030")
    response = client.post(page(world_a, "import/"), {"file": SimpleUploadedFile("a.csv", good)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "预览号" in html
    with world_a.scope():
        assert not SubAccount.objects.exists()  # nothing written before confirming
        batch = SubAccountImport.objects.get()
    response = client.post(page(world_a, f"import/{batch.pk}/confirm/"))
    assert response.status_code == 302
    with world_a.scope():
        assert SubAccount.objects.get().followers == 1000
    assert client.post(page(world_a, f"import/{batch.pk}/confirm/")).status_code == 302  # already applied: message
    with world_a.scope():
        assert SubAccount.objects.count() == 1


@pytest.mark.django_db
def test_import_preview_highlights_errors_and_offers_no_confirm(world_a):
    bad = csv_bytes([HEADER, ["tiktok", "x1", "坏号", "personal", "", "", "", "", ""]])
    html = world_a.client("operator").post(page(world_a, "import/"), {"file": SimpleUploadedFile("b.csv", bad)}
                                           ).content.decode()
    assert "tiktok" in html
    assert 'class="error"' in html
    assert "/confirm/" not in html


@pytest.mark.django_db
def test_import_confirm_of_another_agency_is_404(world_a, world_b):
    good = csv_bytes([HEADER, ["douyin", "dy_p1", "号", "", "", "", "", "", ""]])
    world_b.client("operator").post(page(world_b, "import/"), {"file": SimpleUploadedFile("a.csv", good)})
    with scopes_disabled():
        batch = SubAccountImport.objects.get(agency=world_b.agency)
    assert world_a.client("operator").post(page(world_a, f"import/{batch.pk}/confirm/")).status_code == 404


@pytest.mark.django_db
def test_filter_selector_for_shutdown_tasks(world_a, world_b):
    keep = SubAccountFactory(agency=world_a.agency, platform="weibo", followers=20000)
    archived = SubAccountFactory(agency=world_a.agency, platform="weibo", followers=20000)
    with world_a.scope():
        SubAccount.objects.filter(pk=archived.pk).update(archived_at="2026-01-01T00:00:00Z")
    SubAccountFactory(agency=world_b.agency, platform="weibo", followers=20000)
    qs = subaccount_filter_queryset(agency=world_a.agency, params={"platform": "weibo", "followers_min": 10000,
                                                                   "archived": True, "page": 2})
    assert list(qs) == [keep]
    qd = QueryDict("platform=weibo&platform=douyin&from_filter=1")
    assert list(subaccount_filter_queryset(agency=world_a.agency, params=qd)) == [keep]
    with pytest.raises(DomainValidationError) as exc:
        subaccount_filter_queryset(agency=world_a.agency, params={"platform": "tiktok"})
    assert "platform" in exc.value.details
