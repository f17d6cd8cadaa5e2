"""PIPL in the API and the pages (issue 14): account holders' mobile numbers and emails are masked
for roles without the contact permission (operator, finance, auditor) in the list, one account,
its history and the exports; a masked value sent back unchanged keeps the stored one, any other
masked value is refused; an unmasked API export is an audit event."""

import pytest
from django_scopes import scopes_disabled

from agency.forms import SubAccountForm
from agency.models import AgencyAuditEvent, SubAccount
from tests.factories import SubAccountFactory

pytestmark = pytest.mark.django_db
FULL_MOBILE, FULL_EMAIL = "+8613800138013", "zhangsan@example.cn"
MASKED_MOBILE, MASKED_EMAIL = "138****8013", "z***@example.cn"


@pytest.fixture
def account(world_a):
    return SubAccountFactory(agency=world_a.agency, platform="douyin", display_name="小鱼", owner_name="张三",
                             owner_mobile=FULL_MOBILE, owner_email=FULL_EMAIL)


def _url(world, suffix=""):
    return f"/api/v1/agencies/{world.agency.slug}/sub-accounts/{suffix}"


@pytest.mark.parametrize("role", ["operator", "finance", "auditor"])
def test_roles_without_the_permission_read_masked_contacts_everywhere(world_a, account, role):
    client = world_a.client(role)
    listed = client.get(_url(world_a)).json()["results"][0]
    one = client.get(_url(world_a, f"{account.pk}/")).json()
    for body in (listed, one):
        assert (body["owner_mobile"], body["owner_email"]) == (MASKED_MOBILE, MASKED_EMAIL)
    history = client.get(_url(world_a, f"{account.pk}/history/")).content.decode()
    exported = client.get(_url(world_a, "export.csv")).content.decode("utf-8-sig")
    for text in (history, exported, str(listed), str(one)):
        assert "13800138013" not in text and FULL_EMAIL not in text
    assert MASKED_MOBILE in exported and MASKED_EMAIL in exported
    with scopes_disabled():
        assert not AgencyAuditEvent.objects.exists()


@pytest.mark.parametrize("role", ["owner", "admin", "legal"])
def test_roles_with_the_permission_read_full_contacts_and_the_export_is_audited(world_a, account, role):
    client = world_a.client(role)
    assert client.get(_url(world_a, f"{account.pk}/")).json()["owner_mobile"] == FULL_MOBILE
    assert FULL_EMAIL in client.get(_url(world_a, "export.csv?platform=douyin")).content.decode("utf-8-sig")
    with scopes_disabled():
        event = AgencyAuditEvent.objects.get()
    assert event.actor == world_a.user(role) and event.action == "export_unmasked"
    assert event.data["rows"] == 1 and event.data["filter"] == {"platform": ["douyin"]}


def test_an_operator_puts_back_what_they_read_and_the_contacts_stay(world_a, account):
    client = world_a.client("operator")
    body = client.get(_url(world_a, f"{account.pk}/")).json()
    body["display_name"] = "小鱼（改名）"
    response = client.put(_url(world_a, f"{account.pk}/"), body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["owner_mobile"] == MASKED_MOBILE
    with scopes_disabled():
        stored = SubAccount.objects.get(pk=account.pk)
        assert (stored.display_name, stored.owner_mobile, stored.owner_email) == ("小鱼（改名）", FULL_MOBILE, FULL_EMAIL)
        assert set(stored.changes.latest("created_at").changes) == {"display_name"}


def test_an_operator_may_replace_a_contact_but_not_store_a_mask(world_a, account):
    client = world_a.client("operator")
    response = client.patch(_url(world_a, f"{account.pk}/"), {"owner_mobile": "139****0000"}, format="json")
    assert response.status_code == 400
    assert "owner_mobile" in response.json()["error"]["details"]
    response = client.patch(_url(world_a, f"{account.pk}/"), {"owner_mobile": "13900139000"}, format="json")
    assert response.status_code == 200 and response.json()["owner_mobile"] == "139****9000"
    with scopes_disabled():
        assert SubAccount.objects.get(pk=account.pk).owner_mobile == "+8613900139000"


def test_the_edit_page_shows_masks_and_keeps_the_contacts_when_saved_as_shown(world_a, account):
    client = world_a.client("operator")
    url = f"/a/{world_a.agency.slug}/sub-accounts/{account.pk}/edit/"
    page = client.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    assert MASKED_MOBILE in page and "13800138013" not in page and FULL_EMAIL not in page
    detail = client.get(f"/a/{world_a.agency.slug}/sub-accounts/{account.pk}/").content.decode()
    assert "13800138013" not in detail and FULL_EMAIL not in detail
    # what the browser sends back: every field as the page shows it, the name changed
    with scopes_disabled():
        shown = SubAccountForm(instance=SubAccount.objects.get(pk=account.pk), agency=world_a.agency,
                               may_see_contacts=False)
        form = {name: shown[name].value() for name in shown.fields}
    form = {k: ("" if v is None else v) for k, v in form.items()}
    assert (form["owner_mobile"], form["owner_email"]) == (MASKED_MOBILE, MASKED_EMAIL)
    form["display_name"] = "小鱼二号"
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        stored = SubAccount.objects.get(pk=account.pk)
    assert (stored.display_name, stored.owner_mobile, stored.owner_email) == ("小鱼二号", FULL_MOBILE, FULL_EMAIL)


def test_a_masked_export_imports_back_unchanged_and_a_foreign_mask_is_a_row_error(world_a, account):
    client, slug = world_a.client("operator"), world_a.agency.slug
    exported = client.get(_url(world_a, "export.csv")).content
    assert MASKED_MOBILE.encode() in exported
    body = client.post(f"/api/v1/agencies/{slug}/sub-accounts/import/",
                       {"file": _file(exported), "dry_run": "1"}, format="multipart").json()
    assert body["errors"] == [] and body["unchanged"] == 1, body
    tampered = exported.replace(MASKED_MOBILE.encode(), b"139****0000")
    body = client.post(f"/api/v1/agencies/{slug}/sub-accounts/import/", {"file": _file(tampered)},
                       format="multipart").json()
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "owner_mobile")]
    assert "139****0000" in body["errors"][0]["message"]
    with scopes_disabled():
        assert SubAccount.objects.get(pk=account.pk).owner_mobile == FULL_MOBILE


def _file(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("export.csv", content, content_type="text/csv")
