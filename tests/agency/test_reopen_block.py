"""R9.3 through every channel: a shut-down account cannot become active, dormant or
restricted before its reopen date (API PATCH/PUT, edit page, import, shutdown tasks' status
changes); the refusal is a 409 that names the date a reopening can be asked from."""

import pytest
import time_machine
from django.forms.models import model_to_dict
from django_scopes import scopes_disabled

from agency.exceptions import Conflict
from agency.models import SubAccount
from agency.services.subaccounts import EDITABLE_FIELDS, subaccounts_status_set
from tests.deadlines.helpers import at, make_item, take_effect
from tests.factories import SubAccountFactory

from .subaccount_helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db
SHUT = at(2025, 3, 3, 10, 0)  # reopen possible from 2025-08-30 (180 days)


@pytest.fixture
def shut_down(world_a):
    account = SubAccountFactory(agency=world_a.agency, platform="douyin", platform_account_id="dy_shut",
                                status="shut_down")
    with time_machine.travel(SHUT, tick=False):
        take_effect(world_a.agency, make_item(world_a.agency, account), SHUT)
    return account


def status_of(account) -> str:
    with scopes_disabled():
        return SubAccount.objects.get(pk=account.pk).status


@time_machine.travel(at(2025, 4, 1, 10, 0), tick=False)
@pytest.mark.parametrize("status", ["active", "dormant", "restricted"])
def test_api_patch_is_refused_with_the_reopen_date(world_a, shut_down, status):
    url = f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/{shut_down.pk}/"
    response = world_a.client("operator").patch(url, {"status": status}, format="json")
    assert response.status_code == 409
    assert "2025-08-30" in str(response.json())
    assert status_of(shut_down) == "shut_down"


@time_machine.travel(at(2025, 4, 1, 10, 0), tick=False)
def test_api_put_is_refused_too(world_a, shut_down):
    url = f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/{shut_down.pk}/"
    client = world_a.client("operator")
    body = client.get(url).json()
    body = {k: v for k, v in body.items() if k in EDITABLE_FIELDS and v is not None}
    body["status"] = "active"
    response = client.put(url, body, format="json")
    assert response.status_code == 409, response.json()
    assert status_of(shut_down) == "shut_down"


@time_machine.travel(at(2025, 4, 1, 10, 0), tick=False)
def test_edit_page_shows_the_refusal_and_the_date(world_a, shut_down):
    data = {k: v for k, v in model_to_dict(shut_down, fields=EDITABLE_FIELDS).items() if v is not None}
    data["tags"] = ",".join(data.get("tags") or [])
    data["status"] = "active"
    response = world_a.client("operator").post(f"/a/{world_a.agency.slug}/sub-accounts/{shut_down.pk}/edit/", data)
    assert response.status_code == 409
    assert "cannot be reopened before 2025-08-30" in response.content.decode()
    assert status_of(shut_down) == "shut_down"


@time_machine.travel(at(2025, 4, 1, 10, 0), tick=False)
def test_import_names_the_row_and_the_date_and_applies_nothing(world_a, shut_down):
    rows = [["platform", "platform_account_id", "display_name", "status"],
            ["douyin", "dy_shut", shut_down.display_name, "active"]]
    body = upload(world_a.client("operator"), world_a.agency.slug, csv_bytes(rows)).json()
    assert "2025-08-30" in str(body)
    assert status_of(shut_down) == "shut_down"


@time_machine.travel(at(2025, 4, 1, 10, 0), tick=False)
def test_status_changes_by_tasks_go_through_the_same_rule(world_a, shut_down):
    with world_a.scope(), pytest.raises(Conflict, match="2025-08-30"):
        subaccounts_status_set(agency=world_a.agency, actor=None, subaccount_ids=[shut_down.pk], status="active")


@time_machine.travel(at(2025, 8, 30, 10, 0), tick=False)
def test_from_the_reopen_date_on_the_account_can_be_reopened(world_a, shut_down):
    url = f"/api/v1/agencies/{world_a.agency.slug}/sub-accounts/{shut_down.pk}/"
    assert world_a.client("operator").patch(url, {"status": "active"}, format="json").status_code == 200
    assert status_of(shut_down) == "active"
