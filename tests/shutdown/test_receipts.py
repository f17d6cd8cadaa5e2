"""Issue 15: a tier executed from a platform receipts file — upload → preview (row/column errors,
Chinese headers) → confirm → every row's item done, all or nothing, deadlines started."""

import io
from datetime import datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from deadlines.models import Deadline
from shutdown.models import EventKind, ReceiptImport, TaskEvent, TaskItem
from shutdown.services import execution
from shutdown.states import ItemState, TaskState
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import approve, clean, run_precheck


def url(world, name, **kwargs):
    return reverse(f"shutdown:{name}", kwargs={"agency_slug": world.agency.slug, **kwargs})


def executing_task(world, n: int = 4):
    accounts = [
        SubAccountFactory(
            agency=world.agency,
            platform="douyin" if i % 2 else "kuaishou",
            platform_account_id=f"acct_{i:03d}",
            **clean(),
        )
        for i in range(n)
    ]
    task = approve(world, run_precheck(world, make_task(world, accounts)))
    with world.scope():
        execution.execution_start(agency=world.agency, task=task, actor=world.user("operator"))
        task.refresh_from_db()
    assert task.state == TaskState.EXECUTING
    return task, accounts


def when(hours_ago: int = 2) -> str:
    return (timezone.localtime(timezone.now() - timedelta(hours=hours_ago))).strftime("%Y-%m-%d %H:%M")


def csv_file(
    rows, header=("平台", "平台账号ID", "回执编号", "生效时间"), encoding="gb18030", name="回执.csv"
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = "\r\n".join(",".join(str(c) for c in row) for row in [header, *rows]) + "\r\n"
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def receipt_rows(accounts, hours_ago=2):
    labels = {"douyin": "抖音", "kuaishou": "快手"}
    return [
        (labels[a.platform], a.platform_account_id, f"HZ-{i:04d}", when(hours_ago))
        for i, a in enumerate(accounts)
    ]


def test_preview_confirms_then_marks_every_account_done_with_its_receipt(world_a):
    task, accounts = executing_task(world_a)
    client = world_a.client("operator")
    page = client.get(url(world_a, "task_detail", pk=task.pk))
    assert url(world_a, "receipts_import", pk=task.pk) in page.content.decode()
    preview = client.post(
        url(world_a, "receipts_import", pk=task.pk), {"file": csv_file(receipt_rows(accounts))}
    )
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Yes, mark 4 accounts done" in html
    assert "This cannot be undone." in html
    assert "R9.3" in html and "R2.1" in html  # the consequences and their dates
    with world_a.scope():
        assert not TaskItem.objects.filter(task=task, state=ItemState.DONE).exists()  # nothing yet
        batch = ReceiptImport.objects.get()
    response = client.post(url(world_a, "receipts_confirm", pk=task.pk, import_id=batch.pk))
    assert response.status_code == 302
    message = [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert message.startswith("4 accounts marked done from the receipts file.")
    assert "deadlines" in message  # what is next
    with world_a.scope():
        task.refresh_from_db()
        assert task.state == TaskState.DONE
        items = {
            i.sub_account.platform_account_id: i
            for i in TaskItem.objects.filter(task=task).select_related("sub_account")
        }
        assert items["acct_000"].receipt_number == "HZ-0000"
        assert timezone.localtime(items["acct_000"].effective_at).strftime("%Y-%m-%d %H:%M") == when(2)
        # the deadlines start as when marking by hand
        assert Deadline.objects.filter(item=items["acct_000"]).count() >= 3
        assert TaskEvent.objects.filter(task=task, kind=EventKind.ITEM_DONE).count() == 4
        assert TaskEvent.objects.filter(task=task, kind=EventKind.RECEIPTS_IMPORTED).count() == 1
    # the same file again: refused, nothing twice
    again = client.post(
        url(world_a, "receipts_confirm", pk=task.pk, import_id=batch.pk), HTTP_REFERER="/back/"
    )
    assert [str(m) for m in get_messages(again.wsgi_request)][
        -1
    ] == "This receipts file has already been imported."


def test_row_and_column_errors_name_the_row_and_change_nothing(world_a):
    task, accounts = executing_task(world_a)
    rows = receipt_rows(accounts)
    rows[1] = ("抖音", "no_such_account", "HZ-9", when())
    rows[2] = (rows[2][0], rows[2][1], "", when())
    rows[3] = (
        rows[3][0],
        rows[3][1],
        "HZ-3",
        (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M"),
    )
    rows.append(rows[0])
    client = world_a.client("operator")
    preview = client.post(url(world_a, "receipts_import", pk=task.pk), {"file": csv_file(rows)})
    assert preview.status_code == 400
    errors = preview.context["preview"]["errors"]
    assert {(e["row"], e["column"]) for e in errors} == {
        (3, "平台账号ID"),
        (4, "回执编号"),
        (5, "生效时间"),
        (6, "平台账号ID"),
    }
    html = preview.content.decode()
    assert "No account “Douyin:no_such_account” in this task." in html or "no_such_account" in html
    assert "Duplicate: row 2 already names this account." in html
    assert "The effective time cannot be in the future." in html
    assert "Yes, mark" not in html  # no confirmation button
    with world_a.scope():
        assert not TaskItem.objects.filter(task=task, state=ItemState.DONE).exists()


def test_missing_columns_and_english_headers_and_item_ids(world_a):
    task, accounts = executing_task(world_a, 2)
    client = world_a.client("operator")
    bad = client.post(
        url(world_a, "receipts_import", pk=task.pk),
        {"file": csv_file([("x",)], header=("备注",), encoding="utf-8")},
    )
    assert bad.status_code == 400
    messages = [e["message"] for e in bad.context["preview"]["errors"]]
    assert any("“回执编号” (receipt_number) is missing" in m for m in messages)
    with world_a.scope():
        item_ids = list(TaskItem.objects.filter(task=task).order_by("pk").values_list("pk", flat=True))
    rows = [(pk, f"R{pk}", when()) for pk in item_ids]
    preview = client.post(
        url(world_a, "receipts_import", pk=task.pk),
        {"file": csv_file(rows, header=("Item id", "Receipt number", "Effective at"), encoding="utf-8-sig")},
    )
    assert preview.status_code == 200, preview.context["preview"]["errors"]
    assert preview.context["accounts"] == 2


def test_all_or_nothing_when_the_task_changed_after_the_preview(world_a):
    task, accounts = executing_task(world_a, 3)
    client = world_a.client("operator")
    client.post(url(world_a, "receipts_import", pk=task.pk), {"file": csv_file(receipt_rows(accounts))})
    with world_a.scope():
        batch = ReceiptImport.objects.get()
        first = TaskItem.objects.get(task=task, sub_account=accounts[0])
        execution.item_mark_done(
            agency=world_a.agency, item=first, actor=world_a.user("operator"), receipt_number="BY-HAND"
        )
    response = client.post(url(world_a, "receipts_confirm", pk=task.pk, import_id=batch.pk))
    assert "nothing was marked done" in [str(m) for m in get_messages(response.wsgi_request)][-1]
    with world_a.scope():
        assert TaskItem.objects.filter(task=task, state=ItemState.DONE).count() == 1


def test_xlsx_file_with_real_datetimes(world_a):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    task, accounts = executing_task(world_a, 2)
    wb = Workbook()
    ws = wb.active
    ws.append(["平台", "平台账号ID", "回执号", "生效日期时间"])
    moment = (timezone.localtime(timezone.now()) - timedelta(days=1)).replace(
        tzinfo=None, second=0, microsecond=0
    )
    for a in accounts:
        ws.append([a.get_platform_display(), a.platform_account_id, "X-1", moment])
    buf = io.BytesIO()
    wb.save(buf)
    upload = SimpleUploadedFile("receipts.xlsx", buf.getvalue())
    response = world_a.client("operator").post(url(world_a, "receipts_import", pk=task.pk), {"file": upload})
    assert response.status_code == 200, response.context["preview"]["errors"]
    assert response.context["first_effective"] == moment.replace(tzinfo=world_a.agency.tz)


def test_receipts_need_an_executing_task_and_the_execute_permission(world_a, world_b):
    task = make_task(world_a)
    client = world_a.client("operator")
    response = client.post(
        url(world_a, "receipts_import", pk=task.pk),
        {"file": csv_file([("抖音", "x", "1", when())])},
        HTTP_REFERER="/back/",
    )
    assert response.status_code == 302
    assert (
        "receipts are imported while it executes" in [str(m) for m in get_messages(response.wsgi_request)][-1]
    )
    assert world_a.client("auditor").get(url(world_a, "receipts_import", pk=task.pk)).status_code == 403
    assert world_b.client("owner").get(url(world_a, "receipts_import", pk=task.pk)).status_code == 404


def test_api_takes_the_same_file(world_a, world_b):
    task, accounts = executing_task(world_a, 3)
    api = f"/api/v1/agencies/{world_a.agency.slug}/shutdown-tasks/{task.pk}/receipts/"
    client = world_a.client("operator")
    dry = client.post(api, {"file": csv_file(receipt_rows(accounts)), "dry_run": "1"}, format="multipart")
    assert dry.status_code == 200, dry.content
    assert dry.json() | {} == {
        "done": 3,
        "rows": 3,
        "errors": [],
        "ignored_columns": [],
        "dry_run": True,
        "applied": False,
    }
    rows = receipt_rows(accounts)
    rows[0] = ("抖音", "nobody", "1", when())
    bad = client.post(api, {"file": csv_file(rows)}, format="multipart")
    assert bad.status_code == 400
    body = bad.json()
    assert body["error"]["code"] == "invalid_import"
    assert body["errors"][0]["row"] == 2 and body["errors"][0]["column"] == "平台账号ID"
    with world_a.scope():
        assert not TaskItem.objects.filter(task=task, state=ItemState.DONE).exists()
    ok = client.post(api, {"file": csv_file(receipt_rows(accounts))}, format="multipart")
    assert ok.status_code == 200
    assert ok.json()["applied"] is True and ok.json()["done"] == 3
    assert world_b.client("owner").post(api, {"file": csv_file([])}, format="multipart").status_code == 404
    assert world_a.client("auditor").post(api, {"file": csv_file([])}, format="multipart").status_code == 403


@pytest.mark.parametrize(
    "value,ok",
    [
        ("2026-11-30 10:30", True),
        ("2026/11/30 10:30:15", True),
        ("2026年11月30日 10:30", True),
        ("2026-11-30", False),
        ("yesterday", False),
    ],
)
def test_effective_time_as_people_write_it(value, ok):
    from zoneinfo import ZoneInfo

    from agency.fields import FieldError
    from shutdown.services.receipts import effective_datetime

    tz = ZoneInfo("Asia/Shanghai")
    if ok:
        moment = effective_datetime(value, tz)
        assert moment == datetime(2026, 11, 30, 10, 30, moment.second, tzinfo=tz)
    else:
        with pytest.raises(FieldError):
            effective_datetime(value, tz)
