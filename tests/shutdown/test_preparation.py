"""Issue 21: the source document's advice as the product's defaults (R9.1, R9.2, R1.3, R4, R9.4, R2.4)."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from agency.exceptions import Conflict, DomainValidationError
from rulebook.consequences import consequences_preview
from rulebook.policy import DEFAULTS
from shutdown import rules
from shutdown.models import Blocker, EventKind, ItemPreparation, PreparationPhase, TaskEvent, TaskItem
from shutdown.services import execution, preparation
from shutdown.services.documents import document_upload
from shutdown.services.precheck import precheck_run
from shutdown.states import ItemState, TaskState
from tests.builders import make_task
from tests.factories import SubAccountFactory

from .helpers import PNG, approve, clean, run_precheck, upload


def url(world, name, **kwargs):
    return reverse(f"shutdown:{name}", kwargs={"agency_slug": world.agency.slug, **kwargs})


@pytest.fixture
def approved(world_a):
    """An approved full-shutdown task of two clean accounts, nothing prepared yet."""
    accounts = [
        SubAccountFactory(agency=world_a.agency, display_name=name, **clean())
        for name in ("小鹿美食日记", "星河旅拍")
    ]
    return approve(world_a, run_precheck(world_a, make_task(world_a, accounts)), prepared=False)


def _items(world, task):
    with world.scope():
        return list(TaskItem.objects.filter(task=task).select_related("sub_account").order_by("pk"))


# --- R9.1 preparation phases ---------------------------------------------------------------------


def test_tier_waits_for_the_preparation_checklist_naming_accounts_and_phases(world_a, approved):
    items = _items(world_a, approved)
    with world_a.scope():
        preparation.preparation_mark(
            agency=world_a.agency,
            task=approved,
            actor=world_a.user("operator"),
            phase=PreparationPhase.EXPORT_INTERACTION,
            all_items=True,
        )
        with pytest.raises(Conflict) as refused:
            execution.execution_start(agency=world_a.agency, task=approved, actor=world_a.user("operator"))
        message = str(refused.value.message)
        assert "Preparation (R9.1)" in message
        assert "小鹿美食日记" in message and "星河旅拍" in message
        assert "Back up drafts locally" in message and "Remove third-party authorisations" in message
        assert "Export the last six months" not in message  # ticked
        approved.refresh_from_db()
        assert approved.state == TaskState.APPROVED  # nothing changed
        # the rest: one ticked for both, one waived for one account with a reason, ticked for the other
        preparation.preparation_mark(
            agency=world_a.agency,
            task=approved,
            actor=world_a.user("operator"),
            phase=PreparationPhase.BACKUP_DRAFTS,
            item_ids=[i.pk for i in items],
        )
        preparation.preparation_mark(
            agency=world_a.agency,
            task=approved,
            actor=world_a.user("operator"),
            phase=PreparationPhase.REMOVE_AUTHORISATIONS,
            item_ids=[items[0].pk],
            waive=True,
            note="从未授权第三方应用",
        )
        with pytest.raises(Conflict) as still:
            execution.execution_start(agency=world_a.agency, task=approved, actor=None)
        assert "星河旅拍" in str(still.value.message) and "小鹿美食日记" not in str(still.value.message)
        preparation.preparation_mark(
            agency=world_a.agency,
            task=approved,
            actor=world_a.user("operator"),
            phase=PreparationPhase.REMOVE_AUTHORISATIONS,
            item_ids=[items[1].pk],
        )
        task = execution.execution_start(agency=world_a.agency, task=approved, actor=None)
        assert task.state == TaskState.EXECUTING
        kinds = list(
            TaskEvent.objects.filter(task=task, kind__startswith="preparation.").values_list(
                "kind", flat=True
            )
        )
    assert kinds.count(EventKind.PREPARATION_TICKED) == 3 and kinds.count(EventKind.PREPARATION_WAIVED) == 1


def test_waiving_needs_a_reason_and_bad_input_changes_nothing(world_a, approved):
    items = _items(world_a, approved)
    with world_a.scope():
        with pytest.raises(DomainValidationError, match="Say why"):
            preparation.preparation_mark(
                agency=world_a.agency,
                task=approved,
                actor=None,
                waive=True,
                phase=PreparationPhase.BACKUP_DRAFTS,
                item_ids=[items[0].pk],
            )
        with pytest.raises(DomainValidationError, match="phase"):
            preparation.preparation_mark(
                agency=world_a.agency, task=approved, actor=None, phase="nope", item_ids=[items[0].pk]
            )
        with pytest.raises(DomainValidationError, match="not in this task"):
            preparation.preparation_mark(
                agency=world_a.agency,
                task=approved,
                actor=None,
                phase=PreparationPhase.BACKUP_DRAFTS,
                item_ids=[items[0].pk, 999999],
            )
        assert not ItemPreparation.objects.exists()


def test_bulk_tick_from_the_task_page_with_one_note_and_evidence(world_a, approved):
    items = _items(world_a, approved)
    client = world_a.client("operator")
    page = client.get(url(world_a, "task_detail", pk=approved.pk)).content.decode()
    assert 'id="preparation-form"' in page and "Preparation before the shutdown (R9.1)" in page
    assert "creator service centre" in page  # R2.4
    assert "Preparation (R9.1) is not finished for 2 account(s)" in page  # what the next tier waits for
    response = client.post(
        url(world_a, "preparation_mark", pk=approved.pk),
        {
            "item": [i.pk for i in items],
            "phase": PreparationPhase.BACKUP_DRAFTS,
            "mark": "done",
            "note": "草稿已下载到 NAS",
            "file": upload(PNG, "backup.png"),
        },
    )
    assert response.status_code == 302
    with world_a.scope():
        marks = list(ItemPreparation.objects.filter(task=approved).select_related("document", "by"))
    assert len(marks) == 2
    assert {m.note for m in marks} == {"草稿已下载到 NAS"}
    assert all(
        m.by == world_a.user("operator") and m.document and m.document.original_name == "backup.png"
        for m in marks
    )
    page = client.get(url(world_a, "task_detail", pk=approved.pk)).content.decode()
    assert page.count('class="pill ok">done<') >= 2
    item_page = client.get(url(world_a, "item_detail", pk=approved.pk, item_id=items[0].pk)).content.decode()
    assert "1 of 3 preparation phases done or waived" in item_page
    assert "backup.png" in item_page


def test_the_bulk_tick_refuses_a_foreign_item_and_a_reader(world_a, world_b, approved):
    other = make_task(world_b, items=1)
    foreign = _items(world_b, other)[0]
    client = world_a.client("operator")
    response = client.post(
        url(world_a, "preparation_mark", pk=approved.pk),
        {"item": [foreign.pk], "phase": PreparationPhase.BACKUP_DRAFTS, "mark": "done"},
        HTTP_REFERER=url(world_a, "task_detail", pk=approved.pk),
    )
    assert response.status_code == 302
    with world_a.scope():
        assert not ItemPreparation.objects.exists()
    page = client.get(url(world_a, "task_detail", pk=approved.pk)).content.decode()
    assert "not in this task" in page
    auditor = world_a.client("auditor")
    assert (
        auditor.post(url(world_a, "preparation_mark", pk=approved.pk), {"all_items": "1"}).status_code == 403
    )


def test_dormant_tasks_have_no_preparation_gate(world_a):
    accounts = [SubAccountFactory(agency=world_a.agency, **clean())]
    task = approve(
        world_a, run_precheck(world_a, make_task(world_a, accounts, strategy="dormant")), prepared=False
    )
    with world_a.scope():
        assert (
            execution.execution_start(agency=world_a.agency, task=task, actor=None).state
            == TaskState.EXECUTING
        )


# --- R9.2 shell transition -------------------------------------------------------------------------


def test_the_recommendation_proposes_a_shell_transition_for_a_large_audience():
    big = rules.recommend(sub_account=_ns(followers=DEFAULTS.shell_followers_threshold), policy=DEFAULTS)
    small = rules.recommend(
        sub_account=_ns(followers=DEFAULTS.shell_followers_threshold - 1), policy=DEFAULTS
    )
    assert big.shell_transition and big.shell_months == 3
    assert any(r["rule"] == "R9.2" and "empty shell for 3 months" in r["reason"] for r in big.reasons)
    assert not small.shell_transition


def test_no_shell_is_kept_after_the_shutdown(world_a):
    account = SubAccountFactory(agency=world_a.agency, followers=50000)
    with world_a.scope():
        kinds = {
            c.kind
            for c in consequences_preview(
                agency=world_a.agency, sub_account=account, strategy="shutdown", effective_at=timezone.now()
            )
        }
    assert "shell_transition" not in kinds


def test_shell_transition_schedules_the_shutdown_at_its_end(world_a, approved):
    from deadlines.models import Deadline
    from notifications.models import OutboundMessage

    item = _items(world_a, approved)[0]
    start = datetime(2026, 3, 2, 10, 0, tzinfo=world_a.agency.tz)
    with time_machine.travel(start, tick=False), world_a.scope():
        for phase in PreparationPhase.values:
            preparation.preparation_mark(
                agency=world_a.agency, task=approved, actor=None, phase=phase, all_items=True
            )
        item = preparation.shell_transition_start(
            agency=world_a.agency, item=item, actor=world_a.user("operator")
        )
        assert item.shell_transition_until.astimezone(world_a.agency.tz).date() == date(2026, 6, 2)
        deadlines = list(Deadline.objects.filter(item=item).order_by("due_at"))
        assert [d.kind for d in deadlines] == ["shell_checkin", "shell_checkin", "shell_transition"]
        assert [d.due_at.astimezone(world_a.agency.tz).date() for d in deadlines] == [
            date(2026, 4, 2),
            date(2026, 5, 2),
            date(2026, 6, 2),
        ]
        assert OutboundMessage.objects.filter(ref__in=[f"deadline:{d.pk}" for d in deadlines]).exists()
        with pytest.raises(Conflict) as refused:
            execution.execution_start(agency=world_a.agency, task=approved, actor=None)
        assert "2026-06-02" in str(refused.value.message) and "Shell transition (R9.2)" in str(
            refused.value.message
        )
        item.refresh_from_db()
        assert item.expected_effective_at >= item.shell_transition_until
        # the shutdown's own countdowns are not there yet
        assert not Deadline.objects.filter(item=item, kind="drafts_expire").exists()
    with (
        time_machine.travel(datetime(2026, 6, 3, 10, 0, tzinfo=world_a.agency.tz), tick=False),
        world_a.scope(),
    ):
        execution.execution_start(agency=world_a.agency, task=approved, actor=None)
        done = execution.item_mark_done(agency=world_a.agency, item=item, actor=None)
        drafts = Deadline.objects.get(item=done, kind="drafts_expire")
        assert drafts.due_at.astimezone(world_a.agency.tz).date() == date(
            2026, 7, 3
        )  # 30 days from the shutdown


def test_cancelling_the_shell_transition_withdraws_its_check_ins(world_a, approved):
    from deadlines.models import Deadline
    from notifications.models import OutboundMessage

    item = _items(world_a, approved)[0]
    with world_a.scope():
        item = preparation.shell_transition_start(agency=world_a.agency, item=item, actor=None)
        refs = [f"deadline:{pk}" for pk in Deadline.objects.filter(item=item).values_list("pk", flat=True)]
        with pytest.raises(DomainValidationError):
            preparation.shell_transition_cancel(agency=world_a.agency, item=item, actor=None, reason=" ")
        preparation.shell_transition_cancel(
            agency=world_a.agency, item=item, actor=None, reason="粉丝已迁移完毕"
        )
        assert not Deadline.objects.filter(item=item).exists()
        assert not OutboundMessage.objects.filter(
            ref__in=refs, status=OutboundMessage.Status.PENDING
        ).exists()
        assert TaskEvent.objects.filter(item=item, kind=EventKind.SHELL_TRANSITION_CANCELLED).exists()


def test_shell_transition_from_the_item_page(world_a, approved):
    item = _items(world_a, approved)[0]
    client = world_a.client("operator")
    response = client.post(
        url(world_a, "item_preparation", pk=approved.pk, item_id=item.pk, action="shell_start")
    )
    assert response.status_code == 302
    page = client.get(url(world_a, "item_detail", pk=approved.pk, item_id=item.pk)).content.decode()
    assert "the shutdown is scheduled for" in page
    task_page = client.get(url(world_a, "task_detail", pk=approved.pk)).content.decode()
    assert "empty shell until" in task_page


# --- R1.3 third-party unbinding -----------------------------------------------------------------------


def test_third_party_account_is_blocked_until_the_unbinding_is_confirmed_with_evidence(world_a):
    account = SubAccountFactory(agency=world_a.agency, **clean(kind="third_party"))
    task = run_precheck(world_a, make_task(world_a, [account]))
    with world_a.scope():
        blocker = Blocker.objects.get(task=task)
        assert blocker.rule == "R1.3" and "unbinding" in blocker.reason
        item = TaskItem.objects.select_related("task", "sub_account").get(task=task)
        with pytest.raises(DomainValidationError, match="confirmation"):  # not a plain upload
            document_upload(
                agency=world_a.agency,
                task=task,
                item=item,
                actor=None,
                kind="unbinding_evidence",
                upload=upload(PNG, "x.png"),
            )
        with pytest.raises(DomainValidationError, match="evidence"):
            preparation.unbinding_confirm(
                agency=world_a.agency, item=item, actor=None, note="已解绑", upload=None
            )
        preparation.unbinding_confirm(
            agency=world_a.agency,
            item=item,
            actor=world_a.user("operator"),
            note="2026-03-01 在安全中心-应用授权管理解除",
            upload=upload(PNG, "unbind.png"),
        )
        blocker.refresh_from_db()
        assert blocker.state == Blocker.State.RESOLVED
        assert TaskEvent.objects.filter(task=task, kind=EventKind.UNBINDING_CONFIRMED).exists()
        precheck_run(agency=world_a.agency, task_id=task.pk)
        assert TaskItem.objects.get(task=task).state == ItemState.READY


def test_the_unbinding_form_is_on_a_third_party_item_page(world_a):
    account = SubAccountFactory(agency=world_a.agency, **clean(kind="third_party"))
    task = run_precheck(world_a, make_task(world_a, [account]))
    item = _items(world_a, task)[0]
    client = world_a.client("operator")
    page = client.get(url(world_a, "item_detail", pk=task.pk, item_id=item.pk)).content.decode()
    assert "Confirm the unbinding" in page
    client.post(
        url(world_a, "item_preparation", pk=task.pk, item_id=item.pk, action="unbinding"),
        {"note": "已在原平台解绑", "file": upload(PNG, "proof.png")},
    )
    with world_a.scope():
        assert Blocker.objects.get(task=task).state == Blocker.State.RESOLVED


# --- R4 contract end --------------------------------------------------------------------------------


@pytest.mark.parametrize("days_after_end,blocked", [(-1, True), (0, True), (1, False)])
def test_a_contract_ending_today_has_not_expired(world_a, days_after_end, blocked):
    today = timezone.now().astimezone(world_a.agency.tz).date()
    account = SubAccountFactory(
        agency=world_a.agency, **clean(mcn_contract_end=today - timedelta(days=days_after_end))
    )
    task = run_precheck(world_a, make_task(world_a, [account]))
    with world_a.scope():
        codes = set(
            Blocker.objects.filter(task=task, state=Blocker.State.OPEN).values_list("code", flat=True)
        )
    assert ("permissions.mcn_contract_active" in codes) is blocked


def test_the_contract_blocker_clears_the_day_after_the_end(world_a):
    end = date(2026, 5, 20)
    account = SubAccountFactory(agency=world_a.agency, **clean(mcn_contract_end=end))
    with time_machine.travel(datetime(2026, 5, 20, 23, 0, tzinfo=world_a.agency.tz), tick=False):
        task = run_precheck(world_a, make_task(world_a, [account]))
        assert task.state == TaskState.BLOCKED
    with time_machine.travel(datetime(2026, 5, 21, 0, 30, tzinfo=world_a.agency.tz), tick=False):
        with world_a.scope():
            from shutdown.services.precheck import precheck_start

            precheck_start(agency=world_a.agency, task=task, actor=None, publish=False)
            precheck_run(agency=world_a.agency, task_id=task.pk)
            task.refresh_from_db()
            assert task.state == TaskState.READY


# --- R9.4 decision model ---------------------------------------------------------------------------


def _ns(**overrides):
    from types import SimpleNamespace

    base = {
        "followers": 500,
        "unwithdrawn_earnings": 0,
        "pending_ad_revenue": 0,
        "pending_orders": 0,
        "high_risk": False,
        "stage": "",
        "income_need": "",
        "content_cost": "",
    }
    return SimpleNamespace(**{**base, **overrides})


def test_stage_income_need_and_content_cost_are_weighed_with_reasons():
    plain = rules.recommend(sub_account=_ns(), policy=DEFAULTS)
    assert plain.strategy == "shutdown"
    growing = rules.recommend(sub_account=_ns(stage="growing", income_need="high"), policy=DEFAULTS)
    assert growing.strategy != "shutdown"
    texts = " ".join(r["reason"] for r in growing.reasons if r["rule"] == "R9.4")
    assert "Growing account" in texts and "must keep earning" in texts
    declining = rules.recommend(
        sub_account=_ns(followers=50000, stage="declining", income_need="low", content_cost="high"),
        policy=DEFAULTS,
    )
    assert "Declining account" in " ".join(r["reason"] for r in declining.reasons)


def test_the_override_of_the_recommendation_keeps_a_reason(world_a):
    account = SubAccountFactory(
        agency=world_a.agency, **clean(stage="growing", income_need="high", followers=50000)
    )
    task = run_precheck(world_a, make_task(world_a, [account]))
    item = _items(world_a, task)[0]
    client = world_a.client("operator")
    page = client.get(url(world_a, "item_detail", pk=task.pk, item_id=item.pk)).content.decode()
    assert "Growing account" in page and "Not following the recommendation (R9.4)" in page
    client.post(
        url(world_a, "item_preparation", pk=task.pk, item_id=item.pk, action="override"),
        {"reason": "创作者本人要求关停"},
    )
    page = client.get(url(world_a, "item_detail", pk=task.pk, item_id=item.pk)).content.decode()
    assert "创作者本人要求关停" in page
    with world_a.scope():
        assert TaskEvent.objects.filter(task=task, kind=EventKind.RECOMMENDATION_OVERRIDDEN).exists()


# --- R2.4 fan profile ------------------------------------------------------------------------------


def test_the_preview_and_checklist_say_where_the_fan_profile_is_read(world_a):
    account = SubAccountFactory(agency=world_a.agency)
    with world_a.scope():
        fan = [
            c
            for c in consequences_preview(
                agency=world_a.agency, sub_account=account, strategy="shutdown", effective_at=timezone.now()
            )
            if c.kind == "fan_profile"
        ][0]
    assert "creator service centre" in str(fan.note) and "fresh authorised login" in str(fan.note)
    steps = rules.checklist(
        sub_account=_ns(
            followers=10,
            third_party_authorisations=0,
            kind="personal",
            region="domestic",
            owner_relation="creator",
            platform="douyin",
            live_streaming=False,
            hosted_topics=0,
            blue_v=False,
        ),
        strategy="shutdown",
        policy=DEFAULTS,
    )
    assert any(s.rule == "R2.4" and "fresh authorised login" in s.text for s in steps)


@pytest.mark.parametrize("n", [3, 30])
def test_bulk_tick_queries_do_not_grow_with_items(world_a, n, django_assert_max_num_queries):
    accounts = [SubAccountFactory(agency=world_a.agency, **clean()) for _ in range(n)]
    task = make_task(world_a, accounts)
    with world_a.scope(), django_assert_max_num_queries(16):
        assert (
            preparation.preparation_mark(
                agency=world_a.agency,
                task=task,
                actor=None,
                all_items=True,
                phase=PreparationPhase.BACKUP_DRAFTS,
            )
            == n
        )


def test_the_timeline_and_the_audit_show_the_transition_in_chinese(world_a, approved):
    item = _items(world_a, approved)[0]
    with world_a.scope():
        preparation.shell_transition_start(agency=world_a.agency, item=item, actor=None)
        preparation.preparation_mark(
            agency=world_a.agency,
            task=approved,
            actor=None,
            all_items=True,
            phase=PreparationPhase.BACKUP_DRAFTS,
        )
    client = world_a.client("operator")
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    slug = world_a.agency.slug
    timeline = client.get(
        reverse("deadlines:task_timeline", kwargs={"agency_slug": slug, "pk": approved.pk}), **zh
    ).content.decode()
    assert "粉丝迁移检查" in timeline and "空壳过渡期结束" in timeline
    audit = client.get(
        reverse("approvals:task_audit", kwargs={"agency_slug": slug, "pk": approved.pk}), **zh
    ).content.decode()
    assert "准备阶段已勾选完成" in audit and "本地备份草稿" in audit and "选择空壳过渡" in audit


def test_a_third_party_account_in_a_dormant_task_needs_no_unbinding(world_a):
    account = SubAccountFactory(agency=world_a.agency, **clean(kind="third_party"))
    task = run_precheck(world_a, make_task(world_a, [account], strategy="dormant"))
    assert task.state == TaskState.READY
