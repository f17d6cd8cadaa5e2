"""People words, not codes (issue 14): each page named in the issue shows labels in zh-hans
and in English, and each person has one word."""

import pytest
from django.utils import translation
from django_scopes import scopes_disabled

from agency.fields import FieldError, choice
from agency.models import Platform
from shutdown.events import event_record
from shutdown.models import EventKind
from tests.builders import make_task

pytestmark = pytest.mark.django_db


def _zh(world, url, role="owner"):
    client = world.client(role)
    return client.get(url, headers={"accept-language": "zh-hans"}).content.decode()


def test_deadline_policy_names_explains_and_gives_units_and_its_button_says_what_it_saves(world_a):
    page = _zh(world_a, f"/a/{world_a.agency.slug}/deadlines/policy/")
    assert "关停后草稿保留" in page and "天" in page and "已发布内容转入草稿箱" in page
    assert "<code>drafts_days</code>" not in page
    assert "保存本机构的期限数值" in page
    english = world_a.client("owner").get(f"/a/{world_a.agency.slug}/deadlines/policy/").content.decode()
    assert "Drafts kept after shutdown" in english and "Save the agency's deadline numbers" in english


def test_reminder_rules_show_channel_and_role_labels(world_a):
    client = world_a.client("owner")
    url = f"/a/{world_a.agency.slug}/deadlines/reminder-rules/"
    client.post(url, {"days_before": "3", "channels": ["email", "sms"], "recipient_roles": ["owner", "legal"]})
    page = _zh(world_a, url)
    row = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "邮箱" in row and "短信" in row and "机构负责人" in row and "法务" in row
    assert "email" not in row and "owner" not in row


def test_audit_details_are_words(world_a):
    task = make_task(world_a, service=False)
    with scopes_disabled():
        event_record(agency=world_a.agency, task=task, kind=EventKind.TASK_CHECKING, actor_label="system",
                     data={"from": "draft", "to": "checking", "content_hash": "ab" * 32,
                           "due_at": "2030-01-02T02:00:00+00:00", "strategy": "shutdown"})
    page = _zh(world_a, f"/a/{world_a.agency.slug}/approvals/tasks/{task.pk}/audit/")
    table = page.split('class="audit-table"')[1]
    assert "草稿 → 预检中" in table
    assert "内容指纹" in table and "content_hash" not in table
    assert "due_at" not in table and "2030-01-02 10:00" in table
    assert ">task.checking<" not in table and "<td>system" not in table and "系统" in table
    kinds = page.split('name="kind"')[1].split("</select>")[0]
    assert ">task<" not in kinds and "任务" in kinds


def test_import_errors_list_the_allowed_values_as_labels():
    with translation.override("zh-hans"), pytest.raises(FieldError) as exc:
        choice(Platform, "weibo2")
    assert "抖音" in str(exc.value) and "douyin" not in str(exc.value)
    with translation.override("en"), pytest.raises(FieldError) as exc:
        choice(Platform, "weibo2")
    assert "Douyin" in str(exc.value)


def test_the_parent_of_a_matrix_account_is_written_with_the_platform_name(world_a):
    from tests.factories import SubAccountFactory

    parent = SubAccountFactory(agency=world_a.agency, platform="douyin", platform_account_id="dy_10001")
    client = world_a.client("owner")
    response = client.post(f"/a/{world_a.agency.slug}/sub-accounts/new/", {
        "platform": "douyin", "platform_account_id": "dy_20002", "display_name": "矩阵小号", "kind": "personal",
        "region": "domestic", "status": "active", "followers": "10", "owner_relation": "creator",
        "parent": "抖音:dy_10001", "unwithdrawn_earnings": "0", "pending_ad_revenue": "0", "hosted_topics": "0",
        "bound_mini_programs": "0", "third_party_authorisations": "0", "open_infringement_complaints": "0",
        "pending_orders": "0"}, headers={"accept-language": "zh-hans"})
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        from agency.models import SubAccount

        assert SubAccount.objects.get(platform_account_id="dy_20002").parent_id == parent.pk
    form = _zh(world_a, f"/a/{world_a.agency.slug}/sub-accounts/new/")
    assert "抖音:dy_10001" in form and "douyin:dy_10001" not in form
    assert "- Select an option -" not in form


def test_one_word_per_person_in_zh_hans(world_a):
    members = _zh(world_a, f"/a/{world_a.agency.slug}/members/")
    assert "机构负责人" in members
    listing = _zh(world_a, f"/a/{world_a.agency.slug}/sub-accounts/")
    assert "账号主体" in listing
    for page in (members, listing):
        assert "账号持有人" not in page and "账号管理员" not in page and "机构所有者" not in page


def test_delegation_form_speaks_the_users_language(world_a):
    page = _zh(world_a, f"/a/{world_a.agency.slug}/approvals/delegations/", role="legal")
    assert "选择一位同事" in page and "---------" not in page


def test_outbox_kind_filter_is_a_select_of_labels(world_a):
    page = _zh(world_a, f"/a/{world_a.agency.slug}/notifications/outbox/")
    kind = page.split('name="kind"')[1].split("</select>")[0]
    assert "<option" in kind and "签署" in kind
    assert ">signature_declined<" not in kind


def test_in_english_the_creator_who_signs_is_the_account_holder_never_the_owner(world_a):
    """One word for each person in English too: "Agency owner" is the role, "Account holder" the
    creator whose account it is (the list column, the account page, the signatures page)."""
    from tests.factories import SubAccountFactory

    account = SubAccountFactory(agency=world_a.agency, owner_name="张三")
    client = world_a.client("owner")
    slug = world_a.agency.slug
    for url in (f"/a/{slug}/sub-accounts/", f"/a/{slug}/sub-accounts/{account.pk}/"):
        page = client.get(url, headers={"accept-language": "en"}).content.decode()
        assert "Account holder" in page, url
        assert ">Owner<" not in page and "Change owner" not in page and "Owner name" not in page, url
