"""Submitting a task for approval and deciding on it, level by level.

This module decides the approval levels (rounds, stages, votes, appeals); the states of the
task and its items change through the shutdown lifecycle (shutdown.services.lifecycle), called
inside the same transaction. Cancelling is a shutdown use case: its `task_cancelled` signal
closes the open round here (see approvals.receivers).

Every service locks the task row first (`select_for_update`), so two approvers pressing
at the same moment, or one pressing twice, are serialised: the second sees the first's
decision and gets a Conflict (HTTP 409). A unique constraint on (round, decider) backs it up.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import role_has
from accounts.selectors import membership_get
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from shutdown.events import event_record
from shutdown.models import DocumentKind, EventKind, ShutdownTask
from shutdown.services.lifecycle import (
    check_submittable,
    task_enter_approval,
    task_lock,
    task_mark_approved,
    task_return_to_draft,
)
from shutdown.states import TaskState

from ..conf import fallback_level_sla_hours
from ..models import (
    Appeal,
    ApprovalDecision,
    ApprovalLevel,
    ApprovalPolicy,
    ApprovalRound,
    ApprovalStage,
    Delegation,
    LevelMode,
)
from .common import (
    approval_url,
    decider_ids,
    member_ids_with_role,
    notify_users,
    owner_ids,
    task_content_hash,
    task_url,
)

MAX_ATTACHMENTS = 5
Stage = ApprovalStage.State
Round = ApprovalRound.State
DECISION_EVENTS = {ApprovalDecision.Kind.APPROVE: EventKind.APPROVAL_APPROVE,
                   ApprovalDecision.Kind.REJECT: EventKind.APPROVAL_REJECT}
APPEAL_EVENTS = {Appeal.State.UPHELD: EventKind.APPROVAL_APPEAL_UPHELD,
                 Appeal.State.DENIED: EventKind.APPROVAL_APPEAL_DENIED}


# --- reading the current state ---------------------------------------------------------------

def policy_for_strategy(*, agency: Agency, strategy: str):
    """(policy name, [level dicts]) for a strategy: its own policy, else the default, else one owner level."""
    policies = {p.strategy: p for p in ApprovalPolicy.objects.filter(is_active=True, strategy__in=[strategy, ""])}
    policy = policies.get(strategy) or policies.get("")
    if policy is None:
        return _("Built-in: agency owner"), [{"position": 1, "name": _("Agency owner"), "role": "owner",
                                               "member_ids": [], "mode": LevelMode.ANY, "required_count": 1,
                                               "sla_hours": fallback_level_sla_hours()}]
    levels = []
    for level in ApprovalLevel.objects.filter(policy=policy).prefetch_related("member_links").order_by("position"):
        levels.append({"position": level.position, "name": level.name, "role": level.role,
                       "member_ids": sorted(link.user_id for link in level.member_links.all()),
                       "mode": level.mode, "required_count": level.required_count, "sla_hours": level.sla_hours})
    return policy.name, levels


def _current_round(task) -> ApprovalRound | None:
    return ApprovalRound.objects.filter(task=task).order_by("-number").first()


def _open_stage(rnd) -> ApprovalStage | None:
    return ApprovalStage.objects.filter(round=rnd, state=Stage.OPEN).order_by("position").first()


def active_delegator_ids(*, agency: Agency, delegate_id, at=None) -> set[int]:
    at = at or timezone.now()
    return set(Delegation.objects.filter(delegate_id=delegate_id, starts_at__lte=at, ends_at__gt=at,
                                         revoked_at__isnull=True).values_list("delegator_id", flat=True))


def vote_for(*, stage, user_id, decided_ids: set[int], used_votes: set[int], delegators: set[int]) -> int | None:
    """Whose vote `user_id` may cast on an open stage (their own, or a delegator's), or None."""
    if user_id in decided_ids or user_id == stage.round.submitted_by_id:
        return None
    eligible = set(stage.approver_ids) | set(stage.escalated_to_ids)
    if user_id in eligible and user_id not in used_votes:
        return user_id
    for delegator in sorted(delegators & set(stage.approver_ids)):
        if delegator not in used_votes and delegator != stage.round.submitted_by_id:
            return delegator
    return None


def _refuse_reason(*, task, rnd, stage, user, decided_ids, used_votes, delegators) -> str:
    if task.state != TaskState.IN_APPROVAL or rnd is None or rnd.state != Round.IN_PROGRESS or stage is None:
        return _("This task is not waiting for an approval decision (it is “%(state)s”).") % {
            "state": TaskState(task.state).label}
    if user.pk == rnd.submitted_by_id:
        return _("You submitted this task: somebody else must approve it.")
    if user.pk in decided_ids:
        return _("You have already decided on this task.")
    return _("Level %(position)s (“%(name)s”) is not yours to decide, or its vote has been cast.") % {
        "position": stage.position, "name": stage.name}


# --- submit ------------------------------------------------------------------------------------

def _open(*, agency: Agency, stage, rnd, now, decided_ids: set[int], task, notice: tuple[str, dict] | None = None) -> None:
    """Open a level: fix its approvers, its due time, tell them. `notice`: (kind, extra params) of
    the message they get instead of a plain approval request (e.g. a send-back, with its reason)."""
    reopened = stage.opened_at is not None
    if reopened and stage.approver_ids:
        # Opened before (an approver was added before it, or it was sent back): same approvers,
        # those who left the agency or may no longer decide aside.
        approvers = decider_ids(agency=agency, user_ids=stage.approver_ids)
    else:
        if stage.member_ids:
            candidates = decider_ids(agency=agency, user_ids=stage.member_ids)
        else:
            candidates = member_ids_with_role(agency=agency, role=stage.role)
        approvers = [uid for uid in candidates if uid != rnd.submitted_by_id and uid not in decided_ids]
    stage.approver_ids = approvers
    stage.state = Stage.OPEN
    stage.opened_at = now
    stage.due_at = now + timedelta(hours=stage.sla_hours)
    fields = ["approver_ids", "state", "opened_at", "due_at"]
    if reopened:
        stage.reminded_at = None  # the SLA reminder counts from the new opening
        fields.append("reminded_at")
    if not approvers:
        # Nobody eligible is left at this level: it goes to the agency owner at once.
        stage.escalated_to_ids = [u for u in owner_ids(agency=agency) if u != rnd.submitted_by_id] or owner_ids(
            agency=agency)
        stage.escalated_at = now
        fields += ["escalated_to_ids", "escalated_at"]
    stage.save(update_fields=fields)
    event_record(agency=agency, task=task, kind=EventKind.APPROVAL_LEVEL_OPENED, actor_label="system",
                 data={"round": rnd.number, "level": stage.position, "name": stage.name,
                       "approvers": approvers, "escalated_to": stage.escalated_to_ids,
                       "due_at": stage.due_at.isoformat()})
    params = {"task": task.title, "level": stage.name, "position": stage.position, "agency": agency.name,
              "link": approval_url(agency=agency, task=task), "due_at": timezone.localtime(stage.due_at, agency.tz)
              .strftime("%Y-%m-%d %H:%M")}
    kind = "approval_request"
    if notice is not None:
        kind, extra = notice
        params.update(extra)
    notify_users(agency=agency, user_ids=approvers or stage.escalated_to_ids, kind=kind,
                 template_code=kind, key=f"{kind}:{stage.pk}" + (f":{now.timestamp():.0f}" if reopened else ""),
                 params=params, task=task)


def task_submit(*, agency: Agency, task: ShutdownTask, actor, comment: str = "", ip_address=None,
                user_agent: str = "") -> ApprovalRound:
    """READY → IN_APPROVAL: freeze the content (hash), copy the policy's levels, open level 1."""
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        check_submittable(locked)
        now = timezone.now()
        content_hash = task_content_hash(task=locked)
        previous = _current_round(locked)
        number = (previous.number + 1) if previous else 1
        policy_name, levels = policy_for_strategy(agency=agency, strategy=locked.strategy)
        rnd = ApprovalRound.objects.create(agency=agency, task=locked, number=number, policy_name=policy_name,
                                           content_hash=content_hash, submitted_by=actor, submitted_at=now,
                                           comment=comment)
        stages = ApprovalStage.objects.bulk_create([
            ApprovalStage(agency=agency, round=rnd, task=locked, **level) for level in levels
        ])
        locked = task_enter_approval(agency=agency, task=locked, actor=actor, content_hash=content_hash,
                                     submitted_at=now, ip_address=ip_address, user_agent=user_agent,
                                     data={"round": number, "content_hash": content_hash, "policy": policy_name,
                                           "levels": len(levels), "comment": comment})
        # An owner-upheld appeal of the previous round carries its approvals over (same content only).
        start = 0
        appeal = None
        if previous is not None and previous.state == Round.REJECTED:
            appeal = Appeal.objects.filter(round=previous, state=Appeal.State.UPHELD, used=False).first()
        if appeal is not None and previous.content_hash == content_hash:
            rejected_at = ApprovalStage.objects.filter(round=previous, state=Stage.REJECTED).values_list(
                "position", flat=True).first() or 0
            for stage in stages:
                if stage.position <= rejected_at:
                    stage.state, stage.carried_over, stage.completed_at = Stage.APPROVED, True, now
                    stage.save(update_fields=["state", "carried_over", "completed_at"])
                    start += 1
            appeal.used = True
            appeal.save(update_fields=["used"])
            event_record(agency=agency, task=locked, kind=EventKind.APPROVAL_APPEAL_APPLIED, actor_label="system",
                         data={"round": number, "appeal": appeal.pk, "levels_carried_over": start})
        if start >= len(stages):
            _finish_approved(agency=agency, task=locked, rnd=rnd, actor=actor, now=now)
        else:
            _open(agency=agency, stage=stages[start], rnd=rnd, now=now, decided_ids=set(), task=locked)
    task.state = locked.state
    return rnd


# --- decide ------------------------------------------------------------------------------------

def check_stage_seen(*, stage, stage_id) -> None:
    """The level the user acted on (from their page) must still be the open one."""
    if stage_id is not None and str(stage_id) != "" and (stage is None or int(stage_id) != stage.pk):
        raise Conflict(_("The approval moved on since you opened the page (another level is deciding now). "
                         "Reload the page and check again."), code="stale")


def attachments_store(*, agency: Agency, task, actor, uploads) -> list:
    """Store the files given with a decision or an action as documents of the task (checked by content)."""
    uploads = [u for u in (uploads or []) if u]
    if len(uploads) > MAX_ATTACHMENTS:
        raise DomainValidationError(_("Attach at most %(n)s files.") % {"n": MAX_ATTACHMENTS},
                                    details={"attachments": [_("Too many files.")]})
    from shutdown.services.documents import document_upload

    return [document_upload(agency=agency, task=task, actor=actor, kind=DocumentKind.OTHER, upload=upload,
                            record=False) for upload in uploads]


def _finish_approved(*, agency: Agency, task, rnd, actor, now) -> None:
    rnd.state, rnd.closed_at = Round.APPROVED, now
    rnd.save(update_fields=["state", "closed_at"])
    task_mark_approved(agency=agency, task=task, actor=actor, data={"round": rnd.number})
    from .signatures import signatures_start

    signatures_start(agency=agency, task=task)


def approval_decide(*, agency: Agency, task: ShutdownTask, actor, decision: str, comment: str = "", ip_address=None,
                    user_agent: str = "", attachments=(), stage_id: int | None = None) -> ApprovalDecision:
    """Record one approver's decision at the open level; open the next level or finish.

    `attachments`: uploaded files (PDF, JPEG, PNG) stored as documents of the task with the
    decision. `stage_id`: the level the approver saw; another level open now is a Conflict
    (the page was stale), so a decision never lands on a level its author did not see."""
    comment = (comment or "").strip()
    if decision not in ApprovalDecision.Kind.values:
        raise DomainValidationError(_("Unknown decision “%(value)s”.") % {"value": decision})
    if decision == ApprovalDecision.Kind.REJECT and not comment:
        raise DomainValidationError(_("A rejection needs a reason: fill in the comment."),
                                    details={"comment": [_("A rejection needs a reason.")]})
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        rnd = _current_round(locked)
        stage = _open_stage(rnd) if rnd is not None else None
        decisions = (list(ApprovalDecision.objects.filter(round=rnd, superseded_at__isnull=True))
                     if rnd is not None else [])
        decided_ids = {d.decided_by_id for d in decisions}
        used_votes = {d.vote_of_id for d in decisions}
        delegators = active_delegator_ids(agency=agency, delegate_id=actor.pk)
        vote = None
        if stage is not None and locked.state == TaskState.IN_APPROVAL and rnd.state == Round.IN_PROGRESS:
            stage.round = rnd
            vote = vote_for(stage=stage, user_id=actor.pk, decided_ids=decided_ids, used_votes=used_votes,
                            delegators=delegators)
        if stage is not None:  # a page showing another level than the open one: say so first
            check_stage_seen(stage=stage, stage_id=stage_id)
        if vote is None:
            raise Conflict(_refuse_reason(task=locked, rnd=rnd, stage=stage, user=actor, decided_ids=decided_ids,
                                          used_votes=used_votes, delegators=delegators), code="not_allowed_now")
        if task_content_hash(task=locked) != rnd.content_hash:
            raise Conflict(_("The task changed after it was submitted: withdraw it and submit it again."),
                           code="content_changed")
        now = timezone.now()
        escalated = actor.pk in stage.escalated_to_ids and actor.pk not in stage.approver_ids
        documents = attachments_store(agency=agency, task=locked, actor=actor, uploads=attachments)
        try:
            with transaction.atomic():
                made = ApprovalDecision.objects.create(
                    agency=agency, task=locked, round=rnd, stage=stage, decided_by=actor, vote_of_id=vote,
                    decision=decision, comment=comment, escalated=escalated, created_at=now,
                    document_ids=[d.pk for d in documents])
        except IntegrityError as exc:
            raise Conflict(_("You have already decided on this task."), code="already_decided") from exc
        data = {"round": rnd.number, "level": stage.position, "name": stage.name, "comment": comment,
                "on_behalf_of": vote if vote != actor.pk else None, "escalated": escalated,
                "content_hash": rnd.content_hash}
        if documents:
            data["attachments"] = [d.original_name for d in documents]
        event_record(agency=agency, task=locked, kind=DECISION_EVENTS[decision], actor=actor,
                     ip_address=ip_address, user_agent=user_agent, data=data)
        if decision == ApprovalDecision.Kind.REJECT:
            _reject(agency=agency, task=locked, rnd=rnd, stage=stage, actor=actor, comment=comment, now=now)
        else:
            approvals = {d.vote_of_id for d in decisions if d.stage_id == stage.pk
                         and d.decision == ApprovalDecision.Kind.APPROVE} | {vote}
            if escalated or len(approvals) >= stage.needed:
                stage.state, stage.completed_at = Stage.APPROVED, now
                stage.save(update_fields=["state", "completed_at"])
                event_record(agency=agency, task=locked, kind=EventKind.APPROVAL_LEVEL_APPROVED, actor_label="system",
                             data={"round": rnd.number, "level": stage.position, "name": stage.name})
                following = ApprovalStage.objects.filter(round=rnd, state=Stage.WAITING).order_by("position").first()
                if following is None:
                    _finish_approved(agency=agency, task=locked, rnd=rnd, actor=actor, now=now)
                else:
                    _open(agency=agency, stage=following, rnd=rnd, now=now,
                          decided_ids=decided_ids | used_votes | {actor.pk, vote}, task=locked)
    task.state = locked.state
    return made


def _close_round(*, rnd, state, now) -> None:
    rnd.state, rnd.closed_at = state, now
    rnd.save(update_fields=["state", "closed_at"])
    ApprovalStage.objects.filter(round=rnd, state__in=[Stage.OPEN, Stage.WAITING]).update(state=Stage.CLOSED)


def round_cancel_open(*, agency: Agency, task) -> None:
    """The task was cancelled (shutdown's `task_cancelled`): its round in progress, if any, closes."""
    rnd = _current_round(task)
    if rnd is not None and rnd.state == Round.IN_PROGRESS:
        _close_round(rnd=rnd, state=Round.CANCELLED, now=timezone.now())


def _reject(*, agency: Agency, task, rnd, stage, actor, comment, now) -> None:
    stage.state, stage.completed_at = Stage.REJECTED, now
    stage.save(update_fields=["state", "completed_at"])
    _close_round(rnd=rnd, state=Round.REJECTED, now=now)
    task_return_to_draft(agency=agency, task=task, actor=actor, kind=EventKind.APPROVAL_TASK_REJECTED,
                         data={"round": rnd.number, "level": stage.position, "reason": comment})
    if rnd.submitted_by_id:
        notify_users(agency=agency, user_ids=[rnd.submitted_by_id], kind="task_rejected",
                     template_code="task_rejected", key=f"task_rejected:{rnd.pk}",
                     params={"task": task.title, "level": stage.name, "reason": comment,
                             "by": actor.get_full_name(), "link": task_url(agency=agency, task=task)}, task=task)


def task_withdraw(*, agency: Agency, task, actor, comment: str = "", ip_address=None, user_agent: str = "") -> None:
    """The submitter takes the task back (to draft) while the last level has not opened."""
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        rnd = _current_round(locked)
        if locked.state != TaskState.IN_APPROVAL or rnd is None or rnd.state != Round.IN_PROGRESS:
            raise Conflict(_("Only a task in approval can be withdrawn (this one is “%(state)s”).")
                           % {"state": TaskState(locked.state).label}, code="wrong_state")
        if rnd.submitted_by_id != actor.pk:
            raise Conflict(_("Only the person who submitted the task can withdraw it."), code="not_submitter")
        stage = _open_stage(rnd)
        last = ApprovalStage.objects.filter(round=rnd).order_by("-position").values_list("position", flat=True)[0]
        if stage is not None and stage.position >= last:
            raise Conflict(_("The last level is already deciding: the task can no longer be withdrawn."),
                           code="last_level")
        _close_round(rnd=rnd, state=Round.WITHDRAWN, now=timezone.now())
        task_return_to_draft(agency=agency, task=locked, actor=actor, kind=EventKind.APPROVAL_WITHDRAWN,
                             data={"round": rnd.number, "comment": comment}, ip_address=ip_address,
                             user_agent=user_agent)
    task.state = locked.state


# --- appeals -----------------------------------------------------------------------------------

def appeal_file(*, agency: Agency, task, actor, reason: str) -> Appeal:
    """Appeal the last rejection to the agency owner."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainValidationError(_("An appeal needs a reason."), details={"comment": [_("Give a reason.")]})
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        rnd = _current_round(locked)
        if rnd is None or rnd.state != Round.REJECTED or locked.state != TaskState.DRAFT:
            raise Conflict(_("Only the last rejection of a task in draft can be appealed."), code="wrong_state")
        membership = membership_get(user=actor, agency=agency)
        if rnd.submitted_by_id != actor.pk and not (membership and role_has(membership.role, "tasks.submit")):
            raise Conflict(_("Only the submitter or an operator can appeal."), code="not_allowed")
        if Appeal.objects.filter(round=rnd).exists():
            raise Conflict(_("This rejection has already been appealed."), code="already_appealed")
        appeal = Appeal.objects.create(agency=agency, task=locked, round=rnd, appellant=actor, reason=reason)
        event_record(agency=agency, task=locked, kind=EventKind.APPROVAL_APPEAL_FILED, actor=actor,
                     data={"round": rnd.number, "appeal": appeal.pk, "reason": reason})
        notify_users(agency=agency, user_ids=owner_ids(agency=agency), kind="approval_appeal",
                     template_code="approval_appeal", key=f"approval_appeal:{appeal.pk}",
                     params={"task": locked.title, "reason": reason, "by": actor.get_full_name(),
                             "link": task_url(agency=agency, task=locked)}, task=locked)
    return appeal


def appeal_decide(*, agency: Agency, appeal: Appeal, actor, uphold: bool, comment: str = "") -> Appeal:
    membership = membership_get(user=actor, agency=agency)
    if membership is None or not role_has(membership.role, "appeals.decide"):
        raise Conflict(_("Only the agency owner decides appeals."), code="not_owner")
    with transaction.atomic():
        task_lock(task_id=appeal.task_id)
        locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
        if locked.state != Appeal.State.OPEN:
            raise Conflict(_("This appeal has already been decided."), code="already_decided")
        locked.state = Appeal.State.UPHELD if uphold else Appeal.State.DENIED
        locked.decided_by, locked.decided_at, locked.decision_comment = actor, timezone.now(), comment
        locked.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
        event_record(agency=agency, task=locked.task, kind=APPEAL_EVENTS[locked.state], actor=actor,
                     data={"appeal": locked.pk, "comment": comment})
        notify_users(agency=agency, user_ids=[locked.appellant_id], kind="approval_appeal_decided",
                     template_code="approval_appeal_decided", key=f"approval_appeal_decided:{locked.pk}",
                     params={"task": locked.task.title, "upheld": uphold, "comment": comment,
                             "link": task_url(agency=agency, task=locked.task)}, task=locked.task)
    return locked
