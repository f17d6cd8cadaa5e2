"""Demo data of shutdown tasks: one task over accounts of all six platforms, split by the
platform order (R6), pre-checked, with blockers, an appeal with a file, a resolution, a
required document, a named topic-host target, a third-party unbinding confirmed with evidence
(R1.3) and the account with the largest audience in a shell transition (R9.2), with a few
preparation phases ticked (R9.1). Idempotent (found by title)."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from accounts.models import Membership
from accounts.roles import Role
from agency.models import AccountKind, Platform, Region, SubAccount
from shutdown.models import Blocker, DocumentKind, PreparationPhase, ShutdownTask, TaskItem
from shutdown.services.blockers import blocker_appeal, blocker_resolve
from shutdown.services.documents import document_upload
from shutdown.services.precheck import precheck_run, precheck_start
from shutdown.services.preparation import (
    UNBINDING_CODE,
    preparation_mark,
    shell_transition_start,
    unbinding_confirm,
)
from shutdown.services.tasks import OPEN_TASK_STATES, item_update, task_create
from shutdown.states import INACTIVE_ITEM_STATES

DEMO_TITLE = "演示：六平台分批关停（R6 平台顺序）"
PER_PLATFORM = 3
# A tiny valid PDF and PNG (checked by content like any upload).
DEMO_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DEMO_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
            b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def _pick_accounts() -> list[int]:
    busy = TaskItem.objects.filter(task__state__in=OPEN_TASK_STATES).exclude(state__in=INACTIVE_ITEM_STATES)
    free = SubAccount.objects.filter(archived_at__isnull=True).exclude(pk__in=busy.values("sub_account_id"))
    ids: list[int] = []
    for platform in Platform.values:
        ids += list(free.filter(platform=platform).order_by("pk").values_list("pk", flat=True)[:PER_PLATFORM])
    # make sure the special cases are on show: enterprise, international, inheritance, high risk
    for condition in ({"kind": AccountKind.ENTERPRISE}, {"region": Region.INTERNATIONAL},
                      {"owner_relation": "heir"}, {"high_risk": True}, {"hosted_topics__gt": 0}):
        extra = free.filter(**condition).exclude(pk__in=ids).order_by("pk").values_list("pk", flat=True).first()
        if extra:
            ids.append(extra)
    return ids


READY_TITLE = "演示：休眠模式（预检已通过，待提交审批）"


def seed_demo_data(*, agency) -> None:
    _seed_blocked_task(agency=agency)
    _seed_ready_task(agency=agency)


def _seed_ready_task(*, agency) -> None:
    """A small dormant-mode task whose accounts pass every check: ready for the approvals flow."""
    if ShutdownTask.objects.filter(title=READY_TITLE).exists():
        return
    busy = TaskItem.objects.filter(task__state__in=OPEN_TASK_STATES).exclude(state__in=INACTIVE_ITEM_STATES)
    ids = list(SubAccount.objects.filter(archived_at__isnull=True, kind=AccountKind.PERSONAL, region=Region.DOMESTIC)
               .exclude(owner_relation="heir").exclude(pk__in=busy.values("sub_account_id"))
               .order_by("-pk").values_list("pk", flat=True)[:6])
    if not ids:
        return
    operator = Membership.objects.filter(agency=agency, role=Role.OPERATOR).select_related("user").first()
    actor = operator.user if operator else None
    with transaction.atomic():
        task = task_create(agency=agency, actor=actor, title=READY_TITLE, strategy="dormant", sub_account_ids=ids,
                           reason="粉丝量较大、暂不关停的账号转为休眠（R5.1，演示数据）。", tier_rule="batch_size",
                           batch_size=3)
        precheck_start(agency=agency, task=task, actor=actor, publish=False)
    precheck_run(agency=agency, task_id=task.pk)


def _seed_blocked_task(*, agency) -> None:
    if ShutdownTask.objects.filter(title=DEMO_TITLE).exists():
        return
    operator = (Membership.objects.filter(agency=agency, role=Role.OPERATOR).select_related("user")
                .order_by("pk").first())
    actor = operator.user if operator else None
    ids = _pick_accounts()
    if not ids:
        return
    with transaction.atomic():
        task = task_create(agency=agency, actor=actor, title=DEMO_TITLE, strategy="shutdown", sub_account_ids=ids,
                           reason="合约到期的创作者账号按平台顺序分批关停（演示数据）。", tier_rule="platform")
        precheck_start(agency=agency, task=task, actor=actor, publish=False)
    precheck_run(agency=agency, task_id=task.pk)

    blockers = list(Blocker.objects.filter(task=task, check_type__in=["compliance", "permissions", "technical"])
                    .order_by("pk"))
    if blockers:
        blocker_appeal(agency=agency, blocker=blockers[0], actor=actor, note="已提交客服工单 #DEMO-0001，附申诉材料。",
                       upload=SimpleUploadedFile("申诉材料.png", DEMO_PNG))
    if len(blockers) > 1:
        blocker_resolve(agency=agency, blocker=blockers[1], actor=actor, note="机构后台已完成合约解除（演示）。")
    missing_doc = (Blocker.objects.filter(task=task, check_type="documents").exclude(code=UNBINDING_CODE)
                   .select_related("item").first())
    if missing_doc is not None:
        kind = missing_doc.code.split(".", 1)[1]
        document_upload(agency=agency, task=task, item=missing_doc.item, actor=actor,
                        kind=kind if kind in DocumentKind.values else DocumentKind.OTHER,
                        upload=SimpleUploadedFile("授权书.pdf", DEMO_PDF))
    topic = Blocker.objects.filter(task=task, code="handover.topic_target").select_related("item").first()
    if topic is not None:
        item_update(agency=agency, item=topic.item, actor=actor, topic_transfer_target="@星河官方号")
    # R1.3: a third-party authorised account, unbound on its original platform, confirmed with evidence.
    unbinding = Blocker.objects.filter(task=task, code=UNBINDING_CODE).select_related("item__task",
                                                                                       "item__sub_account").first()
    if unbinding is not None:
        unbinding_confirm(agency=agency, item=unbinding.item, actor=actor, publish=False,
                          note="已在原平台安全中心-应用授权管理解除授权（演示）。",
                          upload=SimpleUploadedFile("解绑截图.png", DEMO_PNG))
        precheck_run(agency=agency, task_id=task.pk)
    # R9.2: the account with the largest audience keeps an empty shell first; its shutdown waits.
    largest = (TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES)
               .select_related("task", "sub_account").order_by("-sub_account__followers", "pk").first())
    if largest is not None:
        shell_transition_start(agency=agency, item=largest, actor=actor, note="粉丝迁移到新账号期间保留空壳（演示）。")
    # R9.1: the first phase ticked for every account, the drafts backed up for some.
    preparation_mark(agency=agency, task=task, actor=actor, phase=PreparationPhase.EXPORT_INTERACTION,
                     all_items=True, note="已从数据中心-内容分析导出 CSV（演示）。")
    some = list(TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES).order_by("pk")
                .values_list("pk", flat=True)[:3])
    if some:
        preparation_mark(agency=agency, task=task, actor=actor, phase=PreparationPhase.BACKUP_DRAFTS,
                         item_ids=some, note="草稿已备份到本地（演示）。")
    # Re-check the items that were answered, so the page shows both cleared and remaining blockers.
    answered = {b.item_id for b in blockers[1:2]} | ({missing_doc.item_id} if missing_doc else set()) | (
        {topic.item_id} if topic else set())
    if answered:
        with transaction.atomic():
            precheck_start(agency=agency, task=task, actor=actor, item_ids=sorted(answered), publish=False)
        precheck_run(agency=agency, task_id=task.pk)
