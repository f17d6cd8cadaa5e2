"""Deadlines created when an item takes effect; reminders; reopening; pages and API."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django_scopes import scope, scopes_disabled

from deadlines.models import Deadline, ReminderRule
from notifications.models import OutboundMessage
from rulebook.consequences import consequences_preview
from tests.builders import make_task, only_item
from tests.factories import SubAccountFactory

from .helpers import BARE_TASK, at, take_effect

pytestmark = pytest.mark.django_db


def deadlines_of(agency, account):
    with scope(agency=agency):
        return {d.kind: d for d in Deadline.objects.filter(sub_account=account)}


@time_machine.travel(at(2025, 9, 30, 10, 0), tick=False)
def test_shutting_down_an_item_creates_its_deadlines_with_the_right_dates(world_a):
    account = SubAccountFactory(agency=world_a.agency, followers=25000, unwithdrawn_earnings=Decimal("88.50"),
                                hosted_topics=2, pending_ad_revenue=Decimal("620"))
    item = only_item(make_task(world_a, [account], **BARE_TASK))
    take_effect(world_a.agency, item, at(2025, 9, 30, 10, 0))
    d = deadlines_of(world_a.agency, account)
    local = lambda k: d[k].due_at.astimezone(world_a.agency.tz)  # noqa: E731
    assert local("drafts_expire").date().isoformat() == "2025-10-30"           # R2.1 30 days
    # R3.1: 7 working days across National Day (1–8 Oct off; 9, 10, Sat 11 make-up, 13–16), end of day.
    assert local("earnings_settlement").isoformat() == "2025-10-16T23:59:59+08:00"
    assert d["earnings_settlement"].provisional is False
    assert local("topic_transfer_revocable").date().isoformat() == "2025-10-30"  # R3.3
    assert local("fan_profile").date().isoformat() == "2025-12-29"               # R2.4 90 days
    assert local("interaction_data").date().isoformat() == "2026-03-29"          # R2.3 180 days
    assert local("reopen_blocked").date().isoformat() == "2026-03-29"            # R9.3
    # R9.2: the empty shell is kept before the shutdown (a shell transition), never after it.
    assert "shell_transition" not in d
    assert local("monitor_activity").isoformat() == "2025-10-03T10:00:00+08:00"  # R8 72 hours
    # Preview and storage agree.
    with scope(agency=world_a.agency):
        preview = consequences_preview(agency=world_a.agency, sub_account=account, strategy="shutdown",
                                       effective_at=at(2025, 9, 30, 10, 0))
    assert {c.kind: c.due_at for c in preview} == {k: v.due_at for k, v in d.items()}


@time_machine.travel(at(2026, 12, 25, 10, 0), tick=False)
def test_across_the_year_boundary_the_deadline_is_provisional_until_the_notice_arrives(world_a, eager_celery,
                                                                                        django_capture_on_commit_callbacks):
    from rulebook.calendar import calendar_import_notice

    account = SubAccountFactory(agency=world_a.agency, unwithdrawn_earnings=Decimal("10"))
    take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2026, 12, 25, 10, 0))
    settlement = deadlines_of(world_a.agency, account)["earnings_settlement"]
    assert settlement.provisional is True
    assert settlement.due_at.astimezone(world_a.agency.tz).date().isoformat() == "2027-01-06"
    with scope(agency=world_a.agency):
        pending = list(OutboundMessage.objects.filter(ref=f"deadline:{settlement.pk}", status="pending"))
    assert pending
    before = {m.pk: m.send_after for m in pending}
    # The 2027 notice gives 4 January off as well: the deadline moves one working day, reminders too.
    with django_capture_on_commit_callbacks(execute=True):
        calendar_import_notice(text="2027-01-01..2027-01-04 holiday 元旦", year=2027)
    settlement.refresh_from_db()
    assert settlement.provisional is False
    assert settlement.due_at.astimezone(world_a.agency.tz).date().isoformat() == "2027-01-07"
    with scope(agency=world_a.agency):
        for m in OutboundMessage.objects.filter(pk__in=before):
            assert m.send_after - before[m.pk] == timedelta(days=1)
            assert m.params["provisional"] is False


@time_machine.travel(at(2025, 6, 2, 10, 0), tick=False)
def test_reminders_are_stored_rows_seven_days_one_day_and_the_morning_of(world_a):
    account = SubAccountFactory(agency=world_a.agency, owner_mobile="+8613800138000")
    take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2025, 6, 2, 10, 0))
    drafts = deadlines_of(world_a.agency, account)["drafts_expire"]  # due 2025-07-02 10:00
    with scope(agency=world_a.agency):
        rows = OutboundMessage.objects.filter(ref=f"deadline:{drafts.pk}")
        times = sorted({m.send_after.astimezone(world_a.agency.tz).isoformat() for m in rows})
        owner_rows = rows.filter(recipient_address__in=[account.owner_email, account.owner_mobile])
        keys = list(rows.values_list("idempotency_key", flat=True))
    assert times == ["2025-06-25T09:00:00+08:00", "2025-07-01T09:00:00+08:00", "2025-07-02T09:00:00+08:00"]
    assert owner_rows.count() == 6  # email + SMS, three times
    assert len(keys) == len(set(keys))
    assert {m for m in ["email", "sms", "inapp"]} == set(rows.values_list("channel", flat=True))


def test_the_signal_twice_stores_nothing_twice(world_a):
    account = SubAccountFactory(agency=world_a.agency)
    item = only_item(make_task(world_a, [account], **BARE_TASK))
    take_effect(world_a.agency, item, at(2030, 1, 2, 10))
    with scopes_disabled():
        counts = (Deadline.objects.count(), OutboundMessage.objects.count())
    take_effect(world_a.agency, item, at(2030, 1, 2, 10))
    with scopes_disabled():
        assert (Deadline.objects.count(), OutboundMessage.objects.count()) == counts


def test_agency_rule_for_one_kind_replaces_the_defaults(world_a):
    with scope(agency=world_a.agency):
        ReminderRule.objects.create(agency=world_a.agency, deadline_kind="drafts_expire", days_before=3,
                                    channels=["inapp"], recipient_roles=["legal"])
    account = SubAccountFactory(agency=world_a.agency)
    take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2030, 1, 2, 10))
    drafts = deadlines_of(world_a.agency, account)["drafts_expire"]
    with scope(agency=world_a.agency):
        rows = list(OutboundMessage.objects.filter(ref=f"deadline:{drafts.pk}"))
    assert [(m.channel, m.recipient_user_id) for m in rows] == [("inapp", world_a.user("legal").pk)]


# --- Reopening (R9.3) -----------------------------------------------------------------------------
def reopen_url(world, account):
    return f"/api/v1/agencies/{world.agency.slug}/sub-accounts/{account.pk}/reopen-request/"


def test_reopening_inside_180_days_is_refused_with_the_date(world_a):
    account = SubAccountFactory(agency=world_a.agency)
    with time_machine.travel(at(2025, 9, 30, 10), tick=False):
        take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2025, 9, 30, 10))
    with time_machine.travel(at(2026, 1, 5, 10), tick=False):
        response = world_a.client("operator").post(reopen_url(world_a, account), {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["possible_from_date"] == "2026-03-29"
    assert "2026-03-29" in response.json()["error"]["message"]
    with time_machine.travel(at(2026, 3, 30, 10), tick=False):
        response = world_a.client("operator").post(reopen_url(world_a, account), {"reason": "回归"}, format="json")
    assert response.status_code == 201


def test_reopening_forbidden_for_auditor_and_404_for_other_agency(world_a, world_b):
    account = SubAccountFactory(agency=world_a.agency)
    assert world_a.client("auditor").post(reopen_url(world_a, account), {}, format="json").status_code == 403
    assert world_b.client("owner").post(reopen_url(world_a, account), {}, format="json").status_code == 404
    other = SubAccountFactory(agency=world_b.agency)
    assert world_a.client("owner").post(reopen_url(world_a, other), {}, format="json").status_code == 404


def test_reopen_button_on_the_account_timeline_shows_the_refusal(world_a):
    account = SubAccountFactory(agency=world_a.agency)
    take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2030, 1, 2, 10))
    url = f"/a/{world_a.agency.slug}/deadlines/accounts/{account.pk}/"
    client = world_a.client("operator")
    page = client.get(url)
    assert page.status_code == 200
    assert "2030-07-01" in page.content.decode()
    response = client.post(url, {"reason": "x"}, follow=True)
    assert "2030-07-01" in response.content.decode()
    with scope(agency=world_a.agency):
        assert not account.reopen_requests.exists()


# --- API ---------------------------------------------------------------------------------------------
def test_deadline_api_lists_with_provisional_and_flat_queries(world_a, world_b, django_assert_max_num_queries):
    url = f"/api/v1/agencies/{world_a.agency.slug}/deadlines/"
    client = world_a.client("auditor")
    first = SubAccountFactory(agency=world_a.agency, unwithdrawn_earnings=Decimal("1"))
    take_effect(world_a.agency, only_item(make_task(world_a, [first], **BARE_TASK)), at(2026, 12, 25, 10))
    with django_assert_max_num_queries(8) as small:
        body = client.get(url + "?page_size=200").json()
    assert any(d["provisional"] for d in body["results"])
    for _ in range(5):
        account = SubAccountFactory(agency=world_a.agency, unwithdrawn_earnings=Decimal("1"))
        take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2026, 12, 25, 10))
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = client.get(url + "?page_size=200").json()
    assert body["count"] > 30
    provisional = client.get(url + "?provisional=true").json()
    assert provisional["count"] == 6
    assert all(d["kind"] == "earnings_settlement" for d in provisional["results"])
    assert world_b.client("owner").get(url).status_code == 404
    b_body = world_b.client("owner").get(f"/api/v1/agencies/{world_b.agency.slug}/deadlines/").json()
    assert b_body["count"] == 0


def test_policy_api_and_page(world_a, world_b):
    body = world_a.client("auditor").get(f"/api/v1/agencies/{world_a.agency.slug}/deadline-policy/").json()
    assert body["reopen_block_days"] == {"value": "180", "rule": "R9.3"}
    page_url = f"/a/{world_a.agency.slug}/deadlines/policy/"
    assert world_a.client("auditor").post(page_url, {"drafts_days": "20"}).status_code == 403
    response = world_a.client("owner").post(page_url, {"drafts_days": "20"})
    assert response.status_code == 302
    body = world_a.client("auditor").get(f"/api/v1/agencies/{world_a.agency.slug}/deadline-policy/").json()
    assert body["drafts_days"]["value"] == "20"
    bad = world_a.client("owner").post(page_url, {"drafts_days": "-3"})
    assert bad.status_code == 400
    assert "drafts_days" in bad.content.decode()
    assert world_b.client("owner").get(page_url).status_code == 404


def test_reminder_rules_api(world_a, world_b):
    url = f"/api/v1/agencies/{world_a.agency.slug}/reminder-rules/"
    listed = world_a.client("auditor").get(url).json()
    assert sorted(r["days_before"] for r in listed) == [0, 1, 7]
    payload = {"deadline_kind": "fan_profile", "days_before": 14, "channels": ["email"], "recipient_roles": ["legal"]}
    assert world_a.client("operator").post(url, payload, format="json").status_code == 403
    assert world_a.client("admin").post(url, payload, format="json").status_code == 201
    bad = world_a.client("admin").post(url, {**payload, "channels": ["fax"], "days_before": 2}, format="json")
    assert bad.status_code == 400
    assert "channels" in bad.json()["error"]["details"]
    assert world_b.client("owner").get(url).status_code == 404


def test_pages_render_for_every_role(world_a, accounts_a):
    take_effect(world_a.agency, only_item(make_task(world_a, [accounts_a[0]], **BARE_TASK)), at(2030, 1, 2, 10))
    with scopes_disabled():
        task_id = Deadline.objects.first().task_id
    slug = world_a.agency.slug
    for path in ["", "calendar/", "alerts/", "policy/", "reminder-rules/", f"tasks/{task_id}/",
                 f"accounts/{accounts_a[0].pk}/"]:
        response = world_a.client("auditor").get(f"/a/{slug}/deadlines/{path}")
        assert response.status_code == 200, path
    assert world_a.client("auditor").get(f"/a/{slug}/deadlines/metrics/upload/").status_code == 403
    assert world_a.client("operator").get(f"/a/{slug}/deadlines/metrics/upload/").status_code == 200


def test_deadline_list_empty_state_and_filters(world_a):
    page = world_a.client("owner").get(f"/a/{world_a.agency.slug}/deadlines/?kind=fan_profile")
    assert "start a shutdown task" in page.content.decode()


def test_ics_feed_behind_a_secret_url(world_a, world_b, client):
    account = SubAccountFactory(agency=world_a.agency, display_name="小鹿")
    with time_machine.travel(at(2030, 1, 2, 10), tick=False):
        take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2030, 1, 2, 10))
        assert world_a.client("auditor").post(f"/a/{world_a.agency.slug}/deadlines/calendar/").status_code == 403
        world_a.client("owner").post(f"/a/{world_a.agency.slug}/deadlines/calendar/")
        with scopes_disabled():
            from deadlines.models import CalendarFeed

            token = CalendarFeed.objects.get(agency=world_a.agency).token
        page = world_a.client("owner").get(f"/a/{world_a.agency.slug}/deadlines/calendar/").content.decode()
        assert token in page
        response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "BEGIN:VEVENT" in body
    assert "小鹿" in body
    assert client.get("/calendar/not-a-valid-token-at-all-xxxxxxxx.ics").status_code == 404


def test_delayed_review_counts_from_the_submission_and_only_for_full_shutdowns(world_a):
    """R7.2: a high-risk account's delayed review runs 15 days from the submission to the
    platform (not from when the shutdown took effect); a downgrade has none."""
    account = SubAccountFactory(agency=world_a.agency, high_risk=True)
    submitted, effective = at(2026, 3, 2, 10, 0), at(2026, 3, 9, 10, 0)
    with scope(agency=world_a.agency):
        full = {c.kind: c for c in consequences_preview(agency=world_a.agency, sub_account=account,
                                                        strategy="shutdown", effective_at=effective,
                                                        review_started_at=submitted)}
        dormant = {c.kind for c in consequences_preview(agency=world_a.agency, sub_account=account,
                                                        strategy="dormant", effective_at=effective,
                                                        review_started_at=submitted)}
    assert full["delayed_review"].due_at == at(2026, 3, 17, 10, 0)
    assert "delayed_review" not in dormant


def test_the_expected_dates_of_a_downgrade_add_no_delayed_review(world_a):
    from rulebook.policy import DEFAULTS
    from shutdown import rules

    account = SubAccountFactory(agency=world_a.agency, high_risk=True, kind="personal", region="mainland")
    start = at(2026, 3, 2, 10, 0)
    full = rules.expected_effective(sub_account=account, policy=DEFAULTS, start=start, tz=world_a.agency.tz)
    restrict = rules.expected_effective(sub_account=account, policy=DEFAULTS, start=start, tz=world_a.agency.tz,
                                        strategy="restrict")
    assert full.latest == at(2026, 3, 17, 10, 0)
    assert restrict.latest == start


def test_a_reminder_rule_with_roles_that_are_not_a_list_is_a_400(world_a):
    response = world_a.client("owner").post(f"/api/v1/agencies/{world_a.agency.slug}/reminder-rules/",
                                            {"deadline_kind": "ad_revenue", "days_before": 0, "channels": ["email"],
                                             "recipient_roles": True}, format="json")
    assert response.status_code == 400
    assert "recipient_roles" in response.json()["error"]["details"]
