"""Demo data of approvals (demo-mcn only, idempotent: found by task title).

- a three-level policy (operator → legal → finance) and a one-level policy for dormant mode;
- a delegation (finance → admin, this week);
- task A: rejected at the legal level, fixed, resubmitted, approved at every level by
  different people (the finance level by the admin as delegate), owners signing: some
  signed, one declined, the rest pending;
- task B: waiting at level 1 past its SLA: reminded, then escalated to the owner;
- task C: waiting for legal (shows in the inbox of legal@ / legal2@).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from agency.models import SubAccount
from notifications.models import OutboundMessage
from notifications.secrets import unseal
from shutdown.events import event_record
from shutdown.models import EventKind, ShutdownTask, TaskItem, Tier
from shutdown.services.transitions import task_transition
from shutdown.states import INACTIVE_ITEM_STATES, ItemState, TaskState

from .models import ApprovalPolicy, ApprovalStage, Delegation, SignatureRequest
from .services.decisions import approval_decide, task_submit
from .services.policy import approval_policy_save
from .services.signatures import signature_code_send, signature_confirm, signature_decline
from .services.sla import approval_sla_sweep

TITLE_A = "演示：合约到期账号关停（驳回后重新提交）"
TITLE_B = "演示：直播账号关停（超时升级）"
TITLE_C = "演示：美食矩阵账号关停（待法务审批）"
DEMO_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 (demo)"


def _user(local: str, agency) -> User | None:
    return User.objects.filter(email=f"{local}@{agency.slug}.cn").first()


def _free_accounts(count: int, offset: int) -> list[SubAccount]:
    busy = TaskItem.objects.exclude(state__in=INACTIVE_ITEM_STATES).values("sub_account_id")
    clean = (SubAccount.objects.filter(archived_at__isnull=True, open_infringement_complaints=0, bound_mini_programs=0,
                                       api_anomaly=False, third_party_authorisations=0, hosted_topics=0)
             .exclude(pk__in=busy).order_by("pk"))
    return list(clean[offset:offset + count])


def _ready_task(*, agency, title: str, accounts, creator, strategy: str = "shutdown") -> ShutdownTask:
    """A task that passed its checks (the shutdown app's job), created directly for the demo."""
    task = ShutdownTask.objects.create(agency=agency, title=title, strategy=strategy, created_by=creator,
                                       reason="演示数据：合约到期、不再运营的账号。")
    event_record(agency=agency, task=task, kind=EventKind.TASK_CREATED, actor=creator, data={"items": len(accounts)})
    tier = Tier.objects.create(agency=agency, task=task, position=1, name="第一批")
    effective = timezone.now() + timedelta(days=3)
    TaskItem.objects.bulk_create([
        TaskItem(agency=agency, task=task, tier=tier, sub_account=a, state=ItemState.READY,
                 expected_effective_at=effective) for a in accounts])
    task_transition(agency=agency, task=task, to=TaskState.CHECKING, actor=creator, kind=EventKind.TASK_CHECKING)
    task_transition(agency=agency, task=task, to=TaskState.READY, actor=None, kind=EventKind.TASK_CHECKED,
                    data={"blocked": 0})
    return task


def _back_to_ready(*, agency, task, actor) -> None:
    task_transition(agency=agency, task=task, to=TaskState.CHECKING, actor=actor, kind=EventKind.TASK_CHECKING)
    TaskItem.objects.filter(task=task, state=ItemState.DRAFT).update(state=ItemState.READY)
    task_transition(agency=agency, task=task, to=TaskState.READY, actor=None, kind=EventKind.TASK_CHECKED,
                    data={"blocked": 0})


def _owner_code(*, req, channel: str) -> str:
    """The demo plays the owner's phone: it reads the sealed code, as otherwise only delivery does."""
    signature_code_send(req=req, channel=channel)
    message = OutboundMessage.objects.filter(kind="signing_code", idempotency_key__startswith=f"signing_code:{req.pk}:"
                                             ).order_by("-pk").first()
    return unseal(message.sealed)["code"]


def _owner_signs(*, req, channel: str) -> None:
    signature_confirm(req=req, code=_owner_code(req=req, channel=channel), shown_sha256="", language="zh-hans",
                      ip_address="203.0.113.24", user_agent=DEMO_UA)


def seed_demo_data(*, agency) -> None:
    if agency.slug != "demo-mcn" or ShutdownTask.objects.filter(title=TITLE_A).exists():
        return
    people = {k: _user(k, agency) for k in ("owner", "admin", "operator", "operator2", "legal", "legal2",
                                            "finance")}
    if any(v is None for v in people.values()):
        return
    accounts = _free_accounts(14, 0)
    if len(accounts) < 14:
        return
    with transaction.atomic():
        if not ApprovalPolicy.objects.filter(strategy="").exists():
            approval_policy_save(agency=agency, name="标准三级审批（运营→法务→财务）", levels=[
                {"name": "运营复核", "role": "operator", "mode": "any", "sla_hours": 24},
                {"name": "法务审核", "role": "legal", "mode": "any", "sla_hours": 48},
                {"name": "财务确认", "role": "finance", "mode": "any", "sla_hours": 24},
            ])
        if not ApprovalPolicy.objects.filter(strategy="dormant").exists():
            approval_policy_save(agency=agency, name="休眠降级（单级）", strategy="dormant", levels=[
                {"name": "运营主管", "members": [people["admin"], people["owner"]], "mode": "any", "sla_hours": 24}])
        now = timezone.now()
        Delegation.objects.get_or_create(
            agency=agency, delegator=people["finance"], delegate=people["admin"],
            defaults={"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=7),
                      "reason": "财务休年假，本周由钱浩然代审", "created_by": people["finance"]})

        # Task A: reject → resubmit → three levels → signatures
        task = _ready_task(agency=agency, title=TITLE_A, accounts=accounts[:6], creator=people["operator2"])
        task_submit(agency=agency, task=task, actor=people["operator2"], comment="6 个合约到期账号，请审批。")
        approval_decide(agency=agency, task=task, actor=people["operator"], decision="approve", comment="名单核对无误")
        approval_decide(agency=agency, task=task, actor=people["legal"], decision="reject",
                        comment="其中一个账号的 MCN 合约尚未到期，请先确认解约。")
        _back_to_ready(agency=agency, task=task, actor=people["operator2"])
        task_submit(agency=agency, task=task, actor=people["operator2"], comment="已确认解约，重新提交。")
        approval_decide(agency=agency, task=task, actor=people["operator"], decision="approve", comment="同意")
        approval_decide(agency=agency, task=task, actor=people["legal2"], decision="approve", comment="解约函已归档")
        approval_decide(agency=agency, task=task, actor=people["admin"], decision="approve",
                        comment="代财务确认：无未结算款项")
        requests = list(SignatureRequest.objects.filter(task=task).order_by("pk"))
        for req, channel in zip(requests[:3], ("sms", "email", "sms"), strict=False):
            _owner_signs(req=req, channel=channel)
        if len(requests) > 3:
            signature_decline(req=requests[3], reason="账号还有未完成的品牌合作，暂不同意关停。", language="zh-hans",
                              code=_owner_code(req=requests[3], channel="sms"), ip_address="198.51.100.7",
                              user_agent=DEMO_UA)

        # Task B: past its SLA → reminder → escalation to the owner
        task_b = _ready_task(agency=agency, title=TITLE_B, accounts=accounts[6:10], creator=people["operator"])
        task_submit(agency=agency, task=task_b, actor=people["operator"], comment="直播权限冻结前需尽快处理。")
        stage = ApprovalStage.objects.get(task=task_b, state=ApprovalStage.State.OPEN)
        past = now - timedelta(hours=stage.sla_hours * 3)
        ApprovalStage.objects.filter(pk=stage.pk).update(opened_at=past, due_at=past + timedelta(hours=stage.sla_hours))
        approval_sla_sweep(agency=agency, now=now)  # reminder
        approval_sla_sweep(agency=agency, now=now)  # escalation (past the grace period as well)

        # Task C: level 1 done, waiting for legal
        task_c = _ready_task(agency=agency, title=TITLE_C, accounts=accounts[10:14], creator=people["operator2"])
        task_submit(agency=agency, task=task_c, actor=people["operator2"])
        approval_decide(agency=agency, task=task_c, actor=people["operator"], decision="approve", comment="可以")
