from datetime import date

import pytest
from django.core.files.storage import default_storage

from agency.exceptions import Conflict, DomainValidationError
from agency.models import SubAccount
from shutdown import gates
from shutdown.events import chain_verify
from shutdown.models import Blocker, TaskDocument, TaskEvent, TaskItem, Tier
from shutdown.services import blockers as blocker_services
from shutdown.services import execution
from shutdown.services import tasks as task_services
from shutdown.services.documents import document_upload
from shutdown.services.precheck import precheck_start
from shutdown.signals import item_effective
from shutdown.states import ItemState, TaskState
from tests.builders import make_task
from tests.conftest import requires_postgres
from tests.factories import SubAccountFactory

from .helpers import PDF, PNG, approve, clean, run_precheck, upload


@pytest.fixture
def clean_accounts(world_a):
    return [SubAccountFactory(agency=world_a.agency, platform=p, **clean())
            for p in ("douyin", "wechat", "bilibili", "kuaishou")]


def test_create_rejects_other_agency_ids_and_writes_nothing(world_a, world_b, clean_accounts):
    foreign = SubAccountFactory(agency=world_b.agency)
    with pytest.raises(DomainValidationError) as exc, world_a.scope():
        task_services.task_create(agency=world_a.agency, actor=world_a.user("operator"), title="x",
                                  strategy="shutdown", sub_account_ids=[clean_accounts[0].pk, foreign.pk])
    assert str(foreign.pk) in str(exc.value.message)
    with world_a.scope():
        assert not TaskItem.objects.exists()


def test_an_account_cannot_be_in_two_open_tasks_and_is_named_by_platform_and_name(world_a, clean_accounts):
    make_task(world_a, clean_accounts[:2])
    busy = clean_accounts[1]
    with pytest.raises(DomainValidationError, match="already in a running task") as exc:
        make_task(world_a, clean_accounts[1:3])
    assert f"{busy.get_platform_display()} · {busy.display_name}" in str(exc.value.message)
    assert str(busy.pk) not in str(exc.value.message).replace(busy.display_name, "")


def test_busy_accounts_can_be_left_out_and_the_task_created_with_the_rest(world_a, clean_accounts):
    make_task(world_a, clean_accounts[:2])
    task = make_task(world_a, clean_accounts[1:4], leave_out_busy=True)
    with world_a.scope():
        held = set(TaskItem.objects.filter(task=task).values_list("sub_account_id", flat=True))
    assert held == {clean_accounts[2].pk, clean_accounts[3].pk}
    with pytest.raises(DomainValidationError, match="Every selected sub-account"):
        make_task(world_a, clean_accounts[:2], leave_out_busy=True)


def test_matrix_needs_a_target_outside_the_selection(world_a, clean_accounts):
    with pytest.raises(DomainValidationError, match="target"):
        make_task(world_a, clean_accounts, strategy="matrix")
    with pytest.raises(DomainValidationError, match="cannot be one of"):
        make_task(world_a, clean_accounts, strategy="matrix", matrix_target=clean_accounts[0])
    target = SubAccountFactory(agency=world_a.agency)
    task = make_task(world_a, clean_accounts, strategy="matrix", matrix_target=target)
    assert task.matrix_target_id == target.pk


def test_clean_accounts_reach_ready_with_expected_dates(world_a, clean_accounts):
    task = run_precheck(world_a, make_task(world_a, clean_accounts))
    assert task.state == TaskState.READY
    assert task.progress_done == task.progress_total == 4
    with world_a.scope():
        items = list(TaskItem.objects.filter(task=task))
    assert {i.state for i in items} == {ItemState.READY}
    # personal accounts: effective at once
    assert all(i.expected_effective_at == i.expected_effective_latest_at for i in items)


def test_blockers_name_the_rule_and_the_appeal_channel(world_a):
    account = SubAccountFactory(agency=world_a.agency, **clean(
        open_infringement_complaints=1, mcn_contract_end=date(2099, 1, 1), bound_mini_programs=1,
        kind="enterprise", region="international", owner_relation="heir", hosted_topics=2))
    task = run_precheck(world_a, make_task(world_a, [account]))
    assert task.state == TaskState.BLOCKED
    with world_a.scope():
        found = {b.code: b for b in Blocker.objects.filter(task=task)}
    assert set(found) == {"compliance.infringement_complaint", "permissions.mcn_contract_active",
                          "technical.mini_programs", "documents.legal_rep_authorisation",
                          "documents.gdpr_declaration", "documents.inheritance_certificate", "handover.topic_target"}
    assert found["compliance.infringement_complaint"].rule == "R4"
    assert "content appeal" in found["compliance.infringement_complaint"].appeal_channel
    assert found["documents.gdpr_declaration"].rule == "R7.3"
    assert found["handover.topic_target"].rule == "R3.3"


def test_resolve_appeal_upload_and_recheck_unblock_the_item(world_a, clean_accounts):
    blocked = SubAccountFactory(agency=world_a.agency, **clean(open_infringement_complaints=1, pending_orders=2,
                                                                kind="enterprise", hosted_topics=1))
    task = run_precheck(world_a, make_task(world_a, [*clean_accounts, blocked]))
    op = world_a.user("operator")
    with world_a.scope():
        item = TaskItem.objects.get(task=task, sub_account=blocked)
        assert item.state == ItemState.BLOCKED
        complaint = Blocker.objects.get(item=item, code="compliance.infringement_complaint")
        orders = Blocker.objects.get(item=item, code="permissions.pending_orders")
        blocker_services.blocker_appeal(agency=world_a.agency, blocker=complaint, actor=op,
                                        note="工单 #8812", upload=upload(PNG, "appeal.png"))
        with pytest.raises(Conflict):  # an appealed blocker cannot be appealed twice
            blocker_services.blocker_appeal(agency=world_a.agency, blocker=complaint, actor=op, note="again")
        blocker_services.blocker_resolve(agency=world_a.agency, blocker=complaint, actor=op, note="投诉已撤回")
        blocker_services.blocker_resolve(agency=world_a.agency, blocker=orders, actor=op, note="订单已转交")
        with pytest.raises(Conflict):  # a missing document is answered by uploading it
            blocker_services.blocker_resolve(agency=world_a.agency, blocker=Blocker.objects.get(
                item=item, code="documents.legal_rep_authorisation"), actor=op, note="trust me")
        document_upload(agency=world_a.agency, task=task, item=item, actor=op, kind="legal_rep_authorisation",
                        upload=upload())
        task_services.item_update(agency=world_a.agency, item=item, actor=op, topic_transfer_target="@新主持人")
    task = run_precheck(world_a, task)
    with world_a.scope():
        item.refresh_from_db()
        states = dict(Blocker.objects.filter(item=item).values_list("code", "state"))
    assert item.state == ItemState.READY
    assert task.state == TaskState.READY
    assert states["compliance.infringement_complaint"] == "resolved"
    assert states["documents.legal_rep_authorisation"] == "cleared"
    assert states["handover.topic_target"] == "cleared"


def test_excluding_the_last_blocked_item_makes_the_task_ready(world_a, clean_accounts):
    blocked = SubAccountFactory(agency=world_a.agency, **clean(api_anomaly=True))
    task = run_precheck(world_a, make_task(world_a, [*clean_accounts, blocked]))
    assert task.state == TaskState.BLOCKED
    with world_a.scope():
        item = TaskItem.objects.get(task=task, sub_account=blocked)
        task_services.item_exclude(agency=world_a.agency, item=item, actor=world_a.user("operator"), reason="later")
        task.refresh_from_db()
    assert task.state == TaskState.READY


def test_upload_checks_content_size_and_stores_under_the_agency(world_a, clean_accounts, settings):
    task = make_task(world_a, clean_accounts)
    op = world_a.user("operator")
    with world_a.scope():
        with pytest.raises(DomainValidationError, match="not a PDF"):
            document_upload(agency=world_a.agency, task=task, actor=op, kind="other",
                            upload=upload(b"MZ\x90\x00 not really a pdf", "letter.pdf"))
        limit = settings.MAX_UPLOAD_BYTES
        settings.MAX_UPLOAD_BYTES = 10
        with pytest.raises(DomainValidationError, match="limit"):
            document_upload(agency=world_a.agency, task=task, actor=op, kind="other", upload=upload())
        settings.MAX_UPLOAD_BYTES = limit
        doc = document_upload(agency=world_a.agency, task=task, actor=op, kind="other", upload=upload(PDF, "x.exe"))
        assert TaskDocument.objects.count() == 1
    import hashlib

    assert doc.sha256 == hashlib.sha256(PDF).hexdigest()
    assert f"agency_{world_a.agency.pk}/" in doc.file.name
    assert doc.file.name.endswith(".pdf")
    assert default_storage.exists(doc.file.name)


def test_tiers_by_platform_order(world_a, clean_accounts):
    task = make_task(world_a, clean_accounts, tier_rule="platform")
    with world_a.scope():
        tiers = list(Tier.objects.filter(task=task).order_by("position"))
        platforms = [sorted(TaskItem.objects.filter(tier=t).values_list("sub_account__platform", flat=True))
                     for t in tiers]
    assert platforms == [["douyin", "kuaishou"], ["wechat"], ["bilibili"]]


def test_manual_tiers_must_cover_every_item(world_a, clean_accounts):
    task = make_task(world_a, clean_accounts)
    with world_a.scope():
        ids = list(TaskItem.objects.filter(task=task).values_list("pk", flat=True))
        with pytest.raises(DomainValidationError, match="missing"):
            task_services.tiers_split(agency=world_a.agency, task=task, actor=None,
                                      tiers=[{"name": "一批", "item_ids": ids[:2]}])
        tiers = task_services.tiers_split(agency=world_a.agency, task=task, actor=None, tiers=[
            {"name": "一批", "item_ids": ids[:2]}, {"name": "二批", "item_ids": ids[2:]}])
    assert [t.name for t in tiers] == ["一批", "二批"]


def test_illegal_transitions_answer_conflict(world_a, clean_accounts):
    task = make_task(world_a, clean_accounts)
    with world_a.scope():
        with pytest.raises(Conflict) as exc:
            execution.execution_start(agency=world_a.agency, task=task, actor=None)
        assert exc.value.code == "illegal_transition"
    task = approve(world_a, run_precheck(world_a, task))
    with world_a.scope(), pytest.raises(Conflict):
        precheck_start(agency=world_a.agency, task=task, actor=None)
    with world_a.scope(), pytest.raises(Conflict):
        task_services.task_update(agency=world_a.agency, task=task, actor=None, title="new")


def test_changing_the_strategy_sends_the_task_back_to_draft(world_a, clean_accounts):
    task = run_precheck(world_a, make_task(world_a, clean_accounts))
    with world_a.scope():
        task = task_services.task_update(agency=world_a.agency, task=task, actor=None, strategy="dormant")
        assert task.state == TaskState.DRAFT
        assert set(TaskItem.objects.filter(task=task).values_list("state", flat=True)) == {ItemState.DRAFT}


def test_execution_respects_gates(world_a, clean_accounts):
    task = approve(world_a, run_precheck(world_a, make_task(world_a, clean_accounts)))

    def unsigned(*, agency, task):
        return "Two owners have not signed."

    gates.register_execution_gate(unsigned)
    try:
        with world_a.scope(), pytest.raises(Conflict) as exc:
            execution.execution_start(agency=world_a.agency, task=task, actor=None)
        assert exc.value.details["reasons"] == ["Two owners have not signed."]
    finally:
        gates.EXECUTION_GATES.remove(unsigned)


def test_tier_by_tier_execution_sends_item_effective(world_a, clean_accounts):
    task = make_task(world_a, clean_accounts, tier_rule="platform")
    task = approve(world_a, run_precheck(world_a, task))
    received = []

    def on_effective(sender, agency, item, effective_at, **kwargs):
        received.append((item.pk, effective_at))

    item_effective.connect(on_effective)
    op = world_a.user("operator")
    try:
        with world_a.scope():
            execution.execution_start(agency=world_a.agency, task=task, actor=op)
            t1, t2, t3 = Tier.objects.filter(task=task).order_by("position")
            t1.refresh_from_db()
            assert t1.state == Tier.State.OPEN
            with pytest.raises(Conflict, match="complete or closed"):
                execution.tier_start(agency=world_a.agency, tier=t2, actor=op)
            first, second = TaskItem.objects.filter(tier=t1).select_related("sub_account")
            assert first.sub_account.status == "shutdown_pending"
            execution.item_mark_done(agency=world_a.agency, item=first, actor=op, receipt_number="DY-1",
                                     screenshot=upload(PNG, "done.png"))
            execution.item_mark_failed(agency=world_a.agency, item=second, actor=op, reason="平台驳回")
            execution.tier_close(agency=world_a.agency, tier=t1, actor=op)
            t1.refresh_from_db()
            assert t1.state == Tier.State.CLOSED_WITH_FAILURES
            execution.tier_start(agency=world_a.agency, tier=t2, actor=op)
            for item in TaskItem.objects.filter(tier=t2):
                execution.item_mark_done(agency=world_a.agency, item=item, actor=op)
            t2.refresh_from_db()
            assert t2.state == Tier.State.COMPLETE
            execution.tier_start(agency=world_a.agency, tier=t3, actor=op)
            for item in TaskItem.objects.filter(tier=t3):
                execution.item_mark_done(agency=world_a.agency, item=item, actor=op)
            task.refresh_from_db()
            assert task.state == TaskState.DONE
            first.refresh_from_db()
            assert first.receipt_number == "DY-1"
            assert first.effective_at is not None
            assert SubAccount.objects.get(pk=first.sub_account_id).status == "shut_down"
            closed = TaskEvent.objects.get(task=task, kind="tier.closed")
            assert closed.data["failures"][0]["failure_reason"] == "平台驳回"
            assert chain_verify(task=task)["ok"]
    finally:
        item_effective.disconnect(on_effective)
    assert len(received) == 3


def test_simulated_connector_runs_a_tier(world_a, clean_accounts):
    world_a.agency.settings = {"shutdown_connector": "simulated"}
    world_a.agency.save()
    task = approve(world_a, run_precheck(world_a, make_task(world_a, clean_accounts, strategy="dormant")))
    with world_a.scope():
        execution.execution_start(agency=world_a.agency, task=task, actor=None)
        tier = Tier.objects.get(task=task)
        result = execution.tier_run_connector(agency=world_a.agency, tier=tier, actor=None)
        task.refresh_from_db()
        statuses = set(SubAccount.objects.filter(pk__in=[a.pk for a in clean_accounts])
                       .values_list("status", flat=True))
    assert result == {"done": 4, "failed": 0}
    assert task.state == TaskState.DONE
    assert statuses == {"dormant"}


def test_manual_connector_refuses_to_run(world_a, clean_accounts):
    task = approve(world_a, run_precheck(world_a, make_task(world_a, clean_accounts)))
    with world_a.scope():
        execution.execution_start(agency=world_a.agency, task=task, actor=None)
        with pytest.raises(Conflict, match="manual"):
            execution.tier_run_connector(agency=world_a.agency, tier=Tier.objects.get(task=task), actor=None)


def test_precheck_runs_as_celery_task_and_is_idempotent(world_a, clean_accounts, settings,
                                                         django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    task = make_task(world_a, clean_accounts)
    try:
        with django_capture_on_commit_callbacks(execute=True), world_a.scope():
            precheck_start(agency=world_a.agency, task=task, actor=None)
    finally:
        app.conf.task_always_eager = False
    task.refresh_from_db()
    assert task.state == TaskState.READY
    from shutdown.tasks import task_precheck

    assert task_precheck.apply(kwargs={"agency_id": world_a.agency.pk, "task_id": task.pk}).get() == {
        "task": task.pk, "skipped": "ready"}


def test_precheck_queries_do_not_grow_with_accounts(world_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shutdown.services.precheck import precheck_run

    def queries(n, offset):
        accounts = [SubAccountFactory(agency=world_a.agency, platform=("douyin", "wechat", "bilibili")[i % 3],
                                      **clean(pending_orders=i % 2, kind="enterprise" if i % 3 == 0 else "personal"))
                    for i in range(offset, offset + n)]
        task = make_task(world_a, accounts, tier_rule="platform")
        with world_a.scope():
            precheck_start(agency=world_a.agency, task=task, actor=None)
            with CaptureQueriesContext(connection) as captured:
                precheck_run(agency=world_a.agency, task_id=task.pk)
        return len(captured.captured_queries)

    # 20 and 90 accounts both write 9 progress updates (at most PROGRESS_STEPS - 1 whatever the size);
    # blockers go in as rows (COPY / executemany), states and dates in one UPDATE … FROM (VALUES …).
    small = queries(20, 0)
    assert small == queries(90, 100)
    assert small <= 60, small


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_mark_done_takes_effect_once(world_a, clean_accounts):
    """Two operators mark the same item done at the same moment: one wins, the other gets 409."""
    import threading

    from django.db import connection

    task = approve(world_a, run_precheck(world_a, make_task(world_a, clean_accounts)))
    with world_a.scope():
        execution.execution_start(agency=world_a.agency, task=task, actor=None)
        item = TaskItem.objects.filter(task=task).first()
    received, outcomes = [], []

    def on_effective(sender, item, **kwargs):
        received.append(item.pk)

    item_effective.connect(on_effective)
    barrier = threading.Barrier(2)

    def worker():
        try:
            with world_a.scope():
                barrier.wait()
                execution.item_mark_done(agency=world_a.agency, item=item, actor=None, receipt_number="R")
            outcomes.append("done")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        item_effective.disconnect(on_effective)
    assert sorted(outcomes) == ["conflict", "done"]
    assert received == [item.pk]


def test_execution_leaves_history_on_the_account(world_a, clean_accounts):
    """A status set by execution shows in the account's history: who, and old → new."""
    from agency.models import SubAccountChange

    task = make_task(world_a, clean_accounts, tier_rule="platform")
    task = approve(world_a, run_precheck(world_a, task))
    op = world_a.user("operator")
    with world_a.scope():
        t1 = Tier.objects.filter(task=task).order_by("position").first()
        item = TaskItem.objects.filter(tier=t1).first()
        before = SubAccount.objects.get(pk=item.sub_account_id).status
        execution.execution_start(agency=world_a.agency, task=task, actor=op)
        execution.item_mark_done(agency=world_a.agency, item=item, actor=op)
        history = list(SubAccountChange.objects.filter(subaccount_id=item.sub_account_id,
                                                       action=SubAccountChange.Action.STATUS).order_by("id"))
    assert [h.changes["status"] for h in history] == [[before, "shutdown_pending"], ["shutdown_pending", "shut_down"]]
    assert {h.actor_id for h in history} == {op.pk}
