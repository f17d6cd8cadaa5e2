"""The sub-account API: CRUD, filters, history, bulk actions, export; roles and isolation."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled
from openpyxl import load_workbook

from agency.models import SubAccount, SubAccountChange, SubAccountTag

from ..factories import SubAccountFactory


def base(world):
    return f"/api/v1/agencies/{world.agency.slug}/sub-accounts/"


NEW = {"platform": "weibo", "platform_account_id": "wb_9001", "display_name": "微博新号", "kind": "enterprise",
       "owner_mobile": "138 0013 8000", "owner_email": "Boss@Example.cn", "unwithdrawn_earnings": "1280.50",
       "tags": ["重点", " 直播 ", "重点"], "mcn_contract_end": "2027-03-31"}


@pytest.mark.django_db
def test_create_normalises_and_records_history(world_a):
    response = world_a.client("admin").post(base(world_a), NEW, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner_mobile"] == "+8613800138000"
    assert body["owner_email"] == "boss@example.cn"
    assert body["unwithdrawn_earnings"] == "1280.50"  # a decimal string, never a float
    assert body["tags"] == ["直播", "重点"]
    history = world_a.client("auditor").get(f"{base(world_a)}{body['id']}/history/").json()
    assert history["results"][0]["action"] == "created"
    assert history["results"][0]["actor"] == world_a.user("admin").email
    assert history["results"][0]["changes"]["platform_account_id"] == [None, "wb_9001"]


@pytest.mark.django_db
def test_edit_records_old_and_new_per_field(world_a, accounts_a):
    account = accounts_a[0]
    url = f"{base(world_a)}{account.pk}/"
    response = world_a.client("operator").patch(url, {"followers": 20000, "high_risk": True}, format="json")
    assert response.status_code == 200
    change = world_a.client("operator").get(url + "history/").json()["results"][0]
    assert change["action"] == "edited"
    assert change["changes"] == {"followers": [1200, 20000], "high_risk": [False, True]}


@pytest.mark.django_db
@pytest.mark.parametrize("field,value", [
    ("platform", "tiktok"), ("kind", "robot"), ("owner_mobile", "12345"), ("unwithdrawn_earnings", "-1"),
    ("mcn_contract_end", "2026-02-30"),
])
def test_bad_values_are_rejected_with_the_field_named(world_a, field, value):
    response = world_a.client("operator").post(base(world_a), {**NEW, field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    with world_a.scope():
        assert not SubAccount.objects.exists()


@pytest.mark.django_db
def test_duplicate_key_is_a_400_not_a_crash(world_a):
    client = world_a.client("operator")
    assert client.post(base(world_a), NEW, format="json").status_code == 201
    response = client.post(base(world_a), NEW, format="json")
    assert response.status_code == 400
    assert "platform_account_id" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_same_key_in_another_agency_is_fine(world_a, world_b):
    assert world_a.client("operator").post(base(world_a), NEW, format="json").status_code == 201
    assert world_b.client("operator").post(base(world_b), NEW, format="json").status_code == 201


@pytest.mark.django_db
def test_read_only_roles_cannot_write(world_a, accounts_a):
    auditor = world_a.client("auditor")
    assert auditor.get(base(world_a)).status_code == 200
    assert auditor.post(base(world_a), NEW, format="json").status_code == 403
    assert auditor.patch(f"{base(world_a)}{accounts_a[0].pk}/", {"followers": 1}, format="json").status_code == 403
    assert auditor.delete(f"{base(world_a)}{accounts_a[0].pk}/").status_code == 403
    response = auditor.post(f"{base(world_a)}bulk/", {"action": "tag", "ids": [accounts_a[0].pk], "add_tags": ["x"]},
                            format="json")
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403


@pytest.mark.django_db
def test_other_agency_ids_are_404_and_rejected_in_bodies(world_a, world_b, accounts_a, accounts_b):
    theirs = accounts_b[0]
    client = world_a.client("owner")
    for suffix in ("", "history/"):
        assert client.get(f"{base(world_a)}{theirs.pk}/{suffix}").status_code == 404
    assert client.patch(f"{base(world_a)}{theirs.pk}/", {"followers": 1}, format="json").status_code == 404
    assert client.delete(f"{base(world_a)}{theirs.pk}/").status_code == 404
    # Another agency's account as the main account: a validation error, never a link.
    response = client.post(base(world_a), {**NEW, "parent": theirs.pk}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()["error"]["details"]
    # Bulk actions naming another agency's ids change nothing.
    response = client.post(f"{base(world_a)}bulk/", {"action": "tag", "ids": [accounts_a[0].pk, theirs.pk],
                                                     "add_tags": ["x"]}, format="json")
    assert response.status_code == 400
    with scopes_disabled():
        assert SubAccount.objects.get(pk=accounts_a[0].pk).tags == []
        assert SubAccount.objects.get(pk=theirs.pk).tags == []
    # A member of agency B cannot reach A's list at all.
    assert world_b.client("owner").get(base(world_a)).status_code == 404
    assert world_b.client("owner").get(f"{base(world_a)}{accounts_a[0].pk}/").status_code == 404


@pytest.mark.django_db
def test_list_is_scoped_and_paginated(world_a, accounts_a, accounts_b):
    body = world_a.client("auditor").get(base(world_a) + "?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert {r["id"] for r in body["results"]} <= {a.pk for a in accounts_a}


def _make(world, n, **kw):
    return [SubAccountFactory(agency=world.agency, **kw) for _ in range(n)]


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_rows(world_a, django_assert_max_num_queries):
    client = world_a.client("auditor")
    _make(world_a, 3, tags=["a"])
    with django_assert_max_num_queries(8) as small:
        client.get(base(world_a) + "?page_size=100")
    parent = SubAccountFactory(agency=world_a.agency)
    _make(world_a, 60, tags=["a", "b"], parent=parent)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(base(world_a) + "?page_size=100&tag=a&ordering=-followers")
    assert response.json()["count"] == 63


@pytest.mark.django_db
def test_every_filter(world_a, world_b):
    today = date.today()
    a = SubAccountFactory(agency=world_a.agency, platform="weibo", kind="enterprise", region="international",
                          status="dormant", high_risk=True, followers=50_000, tags=["重点"],
                          mcn_contract_end=today - timedelta(days=10), display_name="星河美食")
    b = SubAccountFactory(agency=world_a.agency, platform="douyin", followers=500, owner_name="李四",
                          unwithdrawn_earnings=Decimal("10.00"), mcn_contract_end=today + timedelta(days=400))
    SubAccountFactory(agency=world_b.agency, platform="weibo", tags=["重点"], high_risk=True)
    client = world_a.client("auditor")

    def ids(query):
        response = client.get(base(world_a) + "?" + query)
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids("platform=weibo") == {a.pk}
    assert ids("platform=weibo&platform=douyin") == {a.pk, b.pk}
    assert ids("kind=enterprise") == {a.pk}
    assert ids("status=dormant") == {a.pk}
    assert ids("region=international") == {a.pk}
    assert ids("high_risk=true") == {a.pk}
    assert ids("high_risk=false") == {b.pk}
    assert ids("followers_min=1000") == {a.pk}
    assert ids("followers_max=1000") == {b.pk}
    assert ids(f"contract_end_before={today.isoformat()}") == {a.pk}
    assert ids("has_open_obligations=true") == {b.pk}
    assert ids("has_open_obligations=false") == {a.pk}
    assert ids("tag=重点") == {a.pk}
    assert ids("search=星河") == {a.pk}
    assert ids("search=李四") == {b.pk}
    assert ids("search=13800138000") == {a.pk, b.pk}
    assert [r["id"] for r in client.get(base(world_a) + "?ordering=-followers").json()["results"]] == [a.pk, b.pk]
    assert [r["id"] for r in client.get(base(world_a) + "?ordering=followers").json()["results"]] == [b.pk, a.pk]
    bad = client.get(base(world_a) + "?followers_min=many&platform=tiktok")
    assert bad.status_code == 400
    assert {"followers_min", "platform"} <= set(bad.json()["error"]["details"])


@pytest.mark.django_db
def test_archive_hides_restore_brings_back(world_a, accounts_a):
    client = world_a.client("operator")
    account = accounts_a[0]
    assert client.delete(f"{base(world_a)}{account.pk}/").status_code == 204
    assert account.pk not in {r["id"] for r in client.get(base(world_a)).json()["results"]}
    assert [r["id"] for r in client.get(base(world_a) + "?archived=true").json()["results"]] == [account.pk]
    assert client.delete(f"{base(world_a)}{account.pk}/").status_code == 409
    assert client.post(f"{base(world_a)}{account.pk}/restore/").status_code == 200
    actions = [c["action"] for c in client.get(f"{base(world_a)}{account.pk}/history/").json()["results"]]
    assert actions[:2] == ["restored", "archived"]


@pytest.mark.django_db
def test_bulk_tag_on_everything_matching_a_filter(world_a, world_b):
    weibo = _make(world_a, 3, platform="weibo")
    douyin = _make(world_a, 2, platform="douyin", tags=["旧"])
    theirs = _make(world_b, 2, platform="weibo")
    client = world_a.client("operator")
    response = client.post(f"{base(world_a)}bulk/", {"action": "tag", "filter": {"platform": "weibo"},
                                                     "add_tags": ["待评估"]}, format="json")
    assert response.json() == {"changed": 3}
    assert {r["id"] for r in client.get(base(world_a) + "?tag=待评估").json()["results"]} == {a.pk for a in weibo}
    response = client.post(f"{base(world_a)}bulk/", {"action": "tag", "ids": [d.pk for d in douyin],
                                                     "remove_tags": ["旧"]}, format="json")
    assert response.json() == {"changed": 2}
    with scopes_disabled():
        assert not SubAccountTag.objects.filter(name="旧").exists()
        assert all(SubAccount.objects.get(pk=t.pk).tags == [] for t in theirs)
        assert SubAccountChange.objects.filter(action="bulk_tag", agency=world_a.agency).count() == 5


@pytest.mark.django_db
def test_bulk_owner_change_validates_and_records(world_a, accounts_a):
    client = world_a.client("operator")
    ids = [a.pk for a in accounts_a[:2]]
    bad = client.post(f"{base(world_a)}bulk/", {"action": "owner", "ids": ids, "owner_mobile": "123"}, format="json")
    assert bad.status_code == 400
    assert "owner_mobile" in bad.json()["error"]["details"]
    ok = client.post(f"{base(world_a)}bulk/", {"action": "owner", "ids": ids, "owner_name": "王五",
                                               "owner_mobile": "13912345678"}, format="json")
    assert ok.json() == {"changed": 2}
    with world_a.scope():
        assert set(SubAccount.objects.filter(pk__in=ids).values_list("owner_mobile", flat=True)) == {"+8613912345678"}
        assert SubAccount.objects.get(pk=accounts_a[2].pk).owner_name == "张三"
        change = SubAccountChange.objects.filter(subaccount_id=ids[0]).latest("created_at")
    assert change.changes["owner_name"] == ["张三", "王五"]


@pytest.mark.django_db
def test_export_csv_opens_in_excel_and_neutralises_formulas(world_a, world_b):
    SubAccountFactory(agency=world_a.agency, display_name="=HYPERLINK(\"http://evil\")", platform="weibo",
                      tags=["重点"])
    SubAccountFactory(agency=world_a.agency, display_name="小红书号", platform="xiaohongshu")
    SubAccountFactory(agency=world_b.agency, display_name="别家的号", platform="weibo")
    response = world_a.client("legal").get(base(world_a) + "export.csv?platform=weibo")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel on Chinese Windows reads it
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("platform,platform_account_id,display_name")
    assert "'=HYPERLINK" in text
    assert "小红书号" not in text
    assert "别家的号" not in text
    assert "'+8613800138000" in text


@pytest.mark.django_db
def test_export_xlsx_has_numbers_and_dates(world_a):
    SubAccountFactory(agency=world_a.agency, followers=12345, mcn_contract_end=date(2027, 1, 31),
                      display_name="@cmd", unwithdrawn_earnings=Decimal("99.50"))
    response = world_a.client("auditor").get(base(world_a) + "export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert row["followers"] == 12345
    assert row["mcn_contract_end"].date() == date(2027, 1, 31)
    assert row["display_name"] == "@cmd"  # typed as text: no apostrophe needed
    assert sheet.cell(row=2, column=header.index("display_name") + 1).data_type == "s"


@pytest.mark.django_db
def test_export_of_a_selection_and_roles(world_a, world_b, accounts_a, accounts_b):
    client = world_a.client("finance")
    url = base(world_a) + f"export.csv?ids={accounts_a[0].pk}&ids={accounts_b[0].pk}"
    text = client.get(url).content.decode("utf-8-sig")
    assert accounts_a[0].platform_account_id in text
    assert accounts_b[0].platform_account_id not in text
    assert world_b.client("owner").get(base(world_a) + "export.csv").status_code == 404


@pytest.mark.django_db
def test_import_templates(world_a):
    client = world_a.client("auditor")
    csv_response = client.get(base(world_a) + "import-template.csv")
    lines = csv_response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("platform,platform_account_id,display_name")
    zh = client.get(base(world_a) + "import-template.xlsx?header=zh")
    sheet = load_workbook(io.BytesIO(zh.content)).active
    assert sheet.cell(row=1, column=1).value == "平台"
    assert sheet.max_row == 2


@pytest.mark.django_db
def test_schema_documents_the_registry(world_a):
    schema = world_a.client("owner").get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/agencies/{agency_slug}/sub-accounts/" in paths
    assert "/api/v1/agencies/{agency_slug}/sub-accounts/import/" in paths
    params = {p["name"] for p in paths["/api/v1/agencies/{agency_slug}/sub-accounts/"]["get"]["parameters"]}
    assert {"platform", "tag", "search", "ordering", "page_size", "has_open_obligations"} <= params
