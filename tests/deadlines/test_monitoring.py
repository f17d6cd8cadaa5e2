"""R8 monitoring: metrics by API and CSV, alerts that notify like reminders."""

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled

from deadlines.models import Alert, MetricSample
from notifications.models import OutboundMessage
from tests.builders import make_task, only_item
from tests.factories import SubAccountFactory

from .helpers import BARE_TASK, at, take_effect

pytestmark = pytest.mark.django_db
NOW = at(2030, 1, 3, 12, 0)


@pytest.fixture
def shut_account(world_a):
    account = SubAccountFactory(agency=world_a.agency, followers=10000, platform_account_id="dy_777")
    with time_machine.travel(at(2030, 1, 2, 10), tick=False):
        take_effect(world_a.agency, only_item(make_task(world_a, [account], **BARE_TASK)), at(2030, 1, 2, 10))
    return account


def url(world, suffix="metrics/"):
    return f"/api/v1/agencies/{world.agency.slug}/{suffix}"


@time_machine.travel(NOW, tick=False)
def test_a_30_percent_follower_drop_within_72_hours_raises_one_alert(world_a, shut_account):
    client = world_a.client("operator")
    rows = [{"sub_account": shut_account.pk, "metric": "followers", "value": 6900,
             "measured_at": "2030-01-03T11:00:00+08:00"}]
    response = client.post(url(world_a), {"samples": rows}, format="json")
    assert response.status_code == 201
    assert len(response.json()["alerts"]) == 1
    again = client.post(url(world_a), {"samples": rows}, format="json")
    assert again.json()["alerts"] == []  # one open alert per account and rule
    with scope(agency=world_a.agency):
        alert = Alert.objects.get()
        assert alert.rule == "follower_drop"
        assert alert.data["drop_pct"] == 31.0
        notified = set(OutboundMessage.objects.filter(ref=f"alert:{alert.pk}").values_list("recipient_user_id",
                                                                                            flat=True))
    assert notified == {world_a.user(r).pk for r in ("owner", "admin", "operator")}
    page = world_a.client("auditor").get(f"/a/{world_a.agency.slug}/deadlines/alerts/").content.decode()
    assert "content-protection" in page


@time_machine.travel(NOW, tick=False)
def test_a_small_drop_or_a_sample_outside_the_window_raises_nothing(world_a, shut_account):
    client = world_a.client("operator")
    rows = [{"sub_account": shut_account.pk, "metric": "followers", "value": 7500,
             "measured_at": "2030-01-03T11:00:00+08:00"},
            {"sub_account": shut_account.pk, "metric": "pending_orders", "value": 9,
             "measured_at": "2029-12-01T11:00:00+08:00"}]
    assert client.post(url(world_a), {"samples": rows}, format="json").json()["alerts"] == []


@time_machine.travel(NOW, tick=False)
def test_csv_upload_unauthorised_call_and_pending_orders(world_a, shut_account):
    csv_text = ("platform,platform_account_id,metric,value,measured_at\n"
                "douyin,dy_777,unauthorised_api_calls,1,2030-01-03 09:00\n"
                "douyin,dy_777,pending_orders,6,2030-01-03 09:00\n")
    upload = SimpleUploadedFile("m.csv", csv_text.encode("utf-8-sig"), content_type="text/csv")
    response = world_a.client("operator").post(url(world_a, "metrics/upload/"), {"file": upload})
    assert response.status_code == 201, response.content
    with scope(agency=world_a.agency):
        assert set(Alert.objects.values_list("rule", flat=True)) == {"unauthorised_api", "pending_orders"}
        legal = OutboundMessage.objects.filter(kind="alert", recipient_user=world_a.user("legal")).count()
    assert legal == 2  # pending orders go to legal: email and in-app (SMS skipped: no mobile on file)
    # The alert can be acknowledged and resolved; the wrong role cannot.
    alert_id = response.json()["alerts"][0]
    assert world_a.client("auditor").post(url(world_a, f"alerts/{alert_id}/status/"), {"status": "resolved"},
                                          format="json").status_code == 403
    resolved = world_a.client("operator").post(url(world_a, f"alerts/{alert_id}/status/"), {"status": "resolved"},
                                               format="json")
    assert resolved.json()["status"] == "resolved"
    assert world_a.client("operator").post(url(world_a, f"alerts/{alert_id}/status/"), {"status": "resolved"},
                                           format="json").status_code == 409


@time_machine.travel(NOW, tick=False)
def test_bad_rows_are_named_and_nothing_is_stored(world_a, world_b, shut_account):
    other = SubAccountFactory(agency=world_b.agency)
    rows = [{"sub_account": shut_account.pk, "metric": "followers", "value": 10, "measured_at": "2030-01-03T09:00"},
            {"sub_account": other.pk, "metric": "followers", "value": 10, "measured_at": "2030-01-03T09:00"},
            {"sub_account": shut_account.pk, "metric": "likes", "value": "x", "measured_at": "yesterday"}]
    response = world_a.client("operator").post(url(world_a), {"samples": rows}, format="json")
    assert response.status_code == 400
    errors = response.json()["error"]["details"]["rows"]
    assert {(e["row"], e["field"]) for e in errors} == {(2, "sub_account"), (3, "metric"), (3, "value"),
                                                        (3, "measured_at")}
    with scopes_disabled():
        assert MetricSample.objects.count() == 0


def test_metrics_forbidden_and_other_agency(world_a, world_b, shut_account):
    body = {"samples": [{"sub_account": shut_account.pk, "metric": "followers", "value": 1,
                         "measured_at": "2030-01-03T09:00"}]}
    assert world_a.client("auditor").post(url(world_a), body, format="json").status_code == 403
    assert world_b.client("owner").post(url(world_a), body, format="json").status_code == 404


def test_csv_upload_page_shows_row_errors(world_a, shut_account):
    upload = SimpleUploadedFile("m.csv", b"sub_account_id,metric,value,measured_at\n999999,followers,1,2030-01-01\n")
    page = world_a.client("operator").post(f"/a/{world_a.agency.slug}/deadlines/metrics/upload/", {"file": upload})
    assert page.status_code == 200
    assert "999999" in page.content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_drop_that_recovers_within_the_same_upload_still_alerts(world_a, shut_account):
    """R8: −40 % at 08:00, back to −20 % at 11:00 in one upload: the drop happened, alert once."""
    rows = [{"sub_account": shut_account.pk, "metric": "followers", "value": 6000,
             "measured_at": "2030-01-03T08:00:00+08:00"},
            {"sub_account": shut_account.pk, "metric": "followers", "value": 8000,
             "measured_at": "2030-01-03T11:00:00+08:00"}]
    response = world_a.client("operator").post(url(world_a), {"samples": rows}, format="json")
    assert response.status_code == 201
    assert len(response.json()["alerts"]) == 1
    with scope(agency=world_a.agency):
        alert = Alert.objects.get()
    assert alert.data["drop_pct"] == 40.0
    assert alert.data["lowest"] == 6000
    assert alert.data["latest"] == 8000


@time_machine.travel(NOW, tick=False)
def test_pending_orders_above_the_limit_at_any_sample_of_the_window_alert(world_a, shut_account):
    rows = [{"sub_account": shut_account.pk, "metric": "pending_orders", "value": 7,
             "measured_at": "2030-01-03T08:00:00+08:00"},
            {"sub_account": shut_account.pk, "metric": "pending_orders", "value": 2,
             "measured_at": "2030-01-03T11:00:00+08:00"}]
    response = world_a.client("operator").post(url(world_a), {"samples": rows}, format="json")
    assert len(response.json()["alerts"]) == 1
    with scope(agency=world_a.agency):
        assert Alert.objects.get().data["pending_orders"] == 7
