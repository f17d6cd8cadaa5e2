"""The approval actions Chinese offices use besides approve and reject (DingTalk / WeCom / Feishu):

- 加签 `approval_add_approver`: add an approver before oneself (they decide first, then the
  level comes back) or after oneself (a level of their own right after this one);
- 转交 `approval_hand_over`: give one's own seat at the open level to another eligible member;
- 退回上一级 `approval_send_back`: the previous level decides again (its votes are superseded);
  returning to the submitter is a rejection (`approval_decide`);
- 抄送 `approval_copy`: tell members who should know (in-app), who may then follow the page;
- 催办 `approval_urge`: remind the approvers still to decide, at most once per interval per level.

Each locks the task row first (`task_lock`, like every approval service), checks the level the
user saw is still the open one (a stale page is a Conflict, HTTP 409), writes an audit event
with who, when and why, and tells the people concerned through the outbox.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.roles import role_has
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency
from shutdown.events import event_record
from shutdown.models import EventKind
from shutdown.services.lifecycle import task_lock
from shutdown.states import TaskState

from ..conf import urge_interval_minutes
from ..models import ApprovalCopy, ApprovalDecision, ApprovalRound, ApprovalStage, LevelMode
from .common import approval_url, notify_users
from .decisions import _current_round, _open, _open_stage, active_delegator_ids, check_stage_seen, vote_for

Stage = ApprovalStage.State
WHERE = ("before", "after")


def _name(user) -> str:
    return user.get_full_name() or user.email


def _in_progress(*, task, stage_id=None):
    """(locked task, round, open stage, current decisions) or Conflict."""
    locked = task_lock(task_id=task.pk)
    rnd = _current_round(locked)
    stage = _open_stage(rnd) if rnd is not None else None
    if (
        locked.state != TaskState.IN_APPROVAL
        or rnd is None
        or rnd.state != ApprovalRound.State.IN_PROGRESS
        or stage is None
    ):
        raise Conflict(
            _("This task is not waiting for an approval decision (it is “%(state)s”).")
            % {"state": TaskState(locked.state).label},
            code="not_in_approval",
        )
    check_stage_seen(stage=stage, stage_id=stage_id)
    stage.round = rnd
    decisions = list(ApprovalDecision.objects.filter(round=rnd, superseded_at__isnull=True))
    return locked, rnd, stage, decisions


def _must_be_deciding(*, agency, stage, actor, decisions) -> int:
    """The vote `actor` may cast at the open level, or a Conflict saying why not."""
    vote = vote_for(
        stage=stage,
        user_id=actor.pk,
        decided_ids={d.decided_by_id for d in decisions},
        used_votes={d.vote_of_id for d in decisions},
        delegators=active_delegator_ids(agency=agency, delegate_id=actor.pk),
    )
    if vote is None:
        raise Conflict(
            _("Level %(position)s (“%(name)s”) is not yours to decide, or you have decided already.")
            % {"position": stage.position, "name": stage.name},
            code="not_allowed_now",
        )
    return vote


def _comment(comment: str, *, required: bool, what: str) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise DomainValidationError(
            _("Say why: %(what)s needs a comment.") % {"what": what},
            details={"comment": [_("This field is required.")]},
        )
    return comment


def _target(*, agency: Agency, user_id, rnd, stage, decisions, actor) -> User:
    """A member who may approve and has no seat or vote in this round yet."""
    try:
        user_id = int(getattr(user_id, "pk", user_id))
    except (TypeError, ValueError):
        user_id = None
    membership = (
        Membership.objects.filter(agency=agency, user_id=user_id, user__is_active=True)
        .select_related("user")
        .first()
        if user_id
        else None
    )
    problem = None
    if membership is None:
        problem = _("Choose a member of this agency.")
    elif not role_has(membership.role, "approvals.decide"):
        problem = _("%(who)s may not approve (role “%(role)s”).") % {
            "who": _name(membership.user),
            "role": membership.get_role_display(),
        }
    elif user_id == actor.pk:
        problem = _("Choose somebody else than yourself.")
    elif user_id == rnd.submitted_by_id:
        problem = _("%(who)s submitted this task and cannot approve it.") % {"who": _name(membership.user)}
    elif user_id in {d.decided_by_id for d in decisions} | {d.vote_of_id for d in decisions}:
        problem = _("%(who)s has already decided on this task.") % {"who": _name(membership.user)}
    elif user_id in set(stage.approver_ids) | set(stage.escalated_to_ids):
        problem = _("%(who)s already decides at this level.") % {"who": _name(membership.user)}
    if problem:
        raise DomainValidationError(problem, details={"user": [problem]})
    return membership.user


def _shift_from(*, rnd, position: int) -> None:
    """Make room at `position`: every level from there moves one down (highest first, so that
    the unique (round, position) never sees two levels at one place)."""
    for stage in ApprovalStage.objects.filter(round=rnd, position__gte=position).order_by("-position"):
        stage.position += 1
        stage.save(update_fields=["position"])


def approval_add_approver(
    *,
    agency: Agency,
    task,
    actor,
    user,
    where: str,
    comment: str = "",
    stage_id=None,
    ip_address=None,
    user_agent: str = "",
) -> ApprovalStage:
    """加签: a level of one approver (`user`) before or after the open one. Before: they decide
    first, then the open level comes back with the same approvers. After: it opens once the
    open level is approved. Returns the added level."""
    if where not in WHERE:
        raise DomainValidationError(
            _("Choose whether the approver decides before or after you."),
            details={"where": [_("before or after")]},
        )
    comment = _comment(comment, required=False, what="")
    with transaction.atomic():
        locked, rnd, stage, decisions = _in_progress(task=task, stage_id=stage_id)
        _must_be_deciding(agency=agency, stage=stage, actor=actor, decisions=decisions)
        target = _target(agency=agency, user_id=user, rnd=rnd, stage=stage, decisions=decisions, actor=actor)
        if ApprovalStage.objects.filter(
            round=rnd, member_ids=[target.pk], added_by__isnull=False, state__in=[Stage.WAITING, Stage.OPEN]
        ).exists():
            raise DomainValidationError(
                _("%(who)s has already been added to this round.") % {"who": _name(target)},
                details={"user": [_("Already added.")]},
            )
        now = timezone.now()
        position = stage.position if where == "before" else stage.position + 1
        _shift_from(rnd=rnd, position=position)
        added = ApprovalStage.objects.create(
            agency=agency,
            round=rnd,
            task=locked,
            position=position,
            name=_("Added by %(who)s: %(name)s") % {"who": _name(actor), "name": _name(target)},
            role="",
            member_ids=[target.pk],
            mode=LevelMode.ANY,
            required_count=1,
            sla_hours=stage.sla_hours,
            added_by=actor,
        )
        _level_event(
            agency=agency,
            task=locked,
            kind=EventKind.APPROVAL_APPROVER_ADDED,
            actor=actor,
            ip_address=ip_address,
            user_agent=user_agent,
            rnd=rnd,
            level=stage.position if where == "after" else stage.position + 1,
            name=stage.name,
            where=where,
            users=[target.pk],
            comment=comment,
        )
        if where == "before":
            stage.refresh_from_db(fields=["position"])
            stage.state = Stage.WAITING
            stage.save(update_fields=["state"])
            decided = {d.decided_by_id for d in decisions} | {d.vote_of_id for d in decisions}
            _open(
                agency=agency,
                stage=added,
                rnd=rnd,
                now=now,
                decided_ids=decided,
                task=locked,
                notice=("approval_added", {"by": _name(actor), "reason": comment}),
            )
        else:
            notify_users(
                agency=agency,
                user_ids=[target.pk],
                kind="approval_added",
                template_code="approval_added",
                key=f"approval_added:{added.pk}",
                task=locked,
                params={
                    "task": locked.title,
                    "by": _name(actor),
                    "reason": comment,
                    "level": added.name,
                    "link": approval_url(agency=agency, task=locked),
                },
            )
    return added


def approval_hand_over(
    *,
    agency: Agency,
    task,
    actor,
    user,
    comment: str = "",
    stage_id=None,
    ip_address=None,
    user_agent: str = "",
) -> ApprovalStage:
    """转交: `actor` gives their own seat at the open level to `user` (who then decides instead)."""
    comment = _comment(comment, required=False, what="")
    with transaction.atomic():
        locked, rnd, stage, decisions = _in_progress(task=task, stage_id=stage_id)
        voted = {d.vote_of_id for d in decisions} | {d.decided_by_id for d in decisions}
        seats = set(stage.approver_ids) | set(stage.escalated_to_ids)
        if actor.pk not in seats or actor.pk in voted:
            raise Conflict(
                _(
                    "Only an approver of the open level who has not decided yet can hand the decision "
                    "over (a delegate cannot pass on a delegated vote)."
                ),
                code="not_allowed_now",
            )
        target = _target(agency=agency, user_id=user, rnd=rnd, stage=stage, decisions=decisions, actor=actor)
        stage.approver_ids = [target.pk if u == actor.pk else u for u in stage.approver_ids]
        stage.escalated_to_ids = [target.pk if u == actor.pk else u for u in stage.escalated_to_ids]
        stage.save(update_fields=["approver_ids", "escalated_to_ids"])
        _level_event(
            agency=agency,
            task=locked,
            kind=EventKind.APPROVAL_HANDED_OVER,
            actor=actor,
            ip_address=ip_address,
            user_agent=user_agent,
            rnd=rnd,
            level=stage.position,
            name=stage.name,
            users=[target.pk],
            comment=comment,
        )
        notify_users(
            agency=agency,
            user_ids=[target.pk],
            kind="approval_handed_over",
            template_code="approval_handed_over",
            key=f"approval_handed_over:{stage.pk}:{target.pk}",
            task=locked,
            params={
                "task": locked.title,
                "level": stage.name,
                "by": _name(actor),
                "reason": comment,
                "link": approval_url(agency=agency, task=locked),
            },
        )
    return stage


def approval_send_back(
    *, agency: Agency, task, actor, comment: str, stage_id=None, ip_address=None, user_agent: str = ""
) -> ApprovalStage:
    """退回上一级: the level before the open one decides again (its votes, and any already cast at
    the open level, are superseded but stay on record); the open level waits for it again.
    Returns the level that decides now."""
    comment = _comment(comment, required=True, what=_("sending back"))
    with transaction.atomic():
        locked, rnd, stage, decisions = _in_progress(task=task, stage_id=stage_id)
        _must_be_deciding(agency=agency, stage=stage, actor=actor, decisions=decisions)
        previous = (
            ApprovalStage.objects.filter(round=rnd, position__lt=stage.position, state=Stage.APPROVED)
            .order_by("-position")
            .first()
        )
        if previous is None:
            raise Conflict(
                _(
                    "This is the first level: there is no previous level. To return the task to the "
                    "submitter, reject it with a reason."
                ),
                code="first_level",
            )
        now = timezone.now()
        ApprovalDecision.objects.filter(
            round=rnd, stage__in=[stage, previous], superseded_at__isnull=True
        ).update(superseded_at=now)
        stage.state = Stage.WAITING
        stage.save(update_fields=["state"])
        previous.round = rnd
        previous.state, previous.completed_at, previous.carried_over = Stage.WAITING, None, False
        previous.save(update_fields=["state", "completed_at", "carried_over"])
        _level_event(
            agency=agency,
            task=locked,
            kind=EventKind.APPROVAL_SENT_BACK,
            actor=actor,
            ip_address=ip_address,
            user_agent=user_agent,
            rnd=rnd,
            level=stage.position,
            name=stage.name,
            to_level=previous.position,
            comment=comment,
        )
        remaining = ApprovalDecision.objects.filter(round=rnd, superseded_at__isnull=True)
        decided = set(remaining.values_list("decided_by_id", flat=True)) | set(
            remaining.values_list("vote_of_id", flat=True)
        )
        _open(
            agency=agency,
            stage=previous,
            rnd=rnd,
            now=now,
            decided_ids=decided,
            task=locked,
            notice=("approval_sent_back", {"by": _name(actor), "reason": comment}),
        )
    return previous


def approval_copy(
    *, agency: Agency, task, actor, users, comment: str = "", ip_address=None, user_agent: str = ""
) -> int:
    """抄送: members of the agency are told (in-app) about the approval of the task; returns how
    many were newly copied. Anyone of the current round may be copied once."""
    comment = _comment(comment, required=False, what="")
    ids = sorted({int(getattr(u, "pk", u)) for u in users or [] if str(getattr(u, "pk", u)).isdigit()})
    if not ids:
        raise DomainValidationError(
            _("Choose at least one member to copy."), details={"users": [_("Required.")]}
        )
    with transaction.atomic():
        locked = task_lock(task_id=task.pk)
        rnd = _current_round(locked)
        if rnd is None:
            raise Conflict(_("The task has not been submitted for approval yet."), code="not_submitted")
        members = {
            m.user_id: m.user
            for m in Membership.objects.filter(
                agency=agency, user_id__in=ids, user__is_active=True
            ).select_related("user")
        }
        unknown = [i for i in ids if i not in members]
        if unknown:
            raise DomainValidationError(
                _("Only members of this agency can be copied."), details={"users": [str(i) for i in unknown]}
            )
        already = set(
            ApprovalCopy.objects.filter(round=rnd, user_id__in=ids).values_list("user_id", flat=True)
        )
        new = [i for i in ids if i not in already and i != actor.pk]
        if not new:
            raise Conflict(_("Those members have already been copied on this round."), code="already_copied")
        now = timezone.now()
        ApprovalCopy.objects.bulk_create(
            [
                ApprovalCopy(
                    agency=agency,
                    task=locked,
                    round=rnd,
                    user_id=i,
                    copied_by=actor,
                    comment=comment,
                    created_at=now,
                )
                for i in new
            ]
        )
        event_record(
            agency=agency,
            task=locked,
            kind=EventKind.APPROVAL_COPIED,
            actor=actor,
            ip_address=ip_address,
            user_agent=user_agent,
            data={"round": rnd.number, "users": new, "comment": comment},
        )
        notify_users(
            agency=agency,
            user_ids=new,
            kind="approval_copied",
            template_code="approval_copied",
            key=f"approval_copied:{rnd.pk}",
            task=locked,
            channels=("inapp",),
            params={
                "task": locked.title,
                "by": _name(actor),
                "reason": comment,
                "link": approval_url(agency=agency, task=locked),
            },
        )
    return len(new)


def approval_urge(
    *,
    agency: Agency,
    task,
    actor,
    comment: str = "",
    stage_id=None,
    ip_address=None,
    user_agent: str = "",
    now=None,
) -> list[int]:
    """催办: remind the approvers of the open level who have not decided yet (in-app and email).
    Once per `urge_interval_minutes()` per level; sooner is a Conflict that says when. Returns
    the ids of the approvers reminded."""
    comment = _comment(comment, required=False, what="")
    with transaction.atomic():
        locked, rnd, stage, decisions = _in_progress(task=task, stage_id=stage_id)
        locked_stage = ApprovalStage.objects.select_for_update().get(pk=stage.pk)
        now = now or timezone.now()
        interval = timedelta(minutes=urge_interval_minutes())
        if locked_stage.urged_at is not None and now < locked_stage.urged_at + interval:
            next_at = timezone.localtime(locked_stage.urged_at + interval, agency.tz)
            raise Conflict(
                _(
                    "The approvers of this level were reminded at %(at)s. You can remind them again "
                    "after %(next)s."
                )
                % {
                    "at": timezone.localtime(locked_stage.urged_at, agency.tz).strftime("%H:%M"),
                    "next": next_at.strftime("%Y-%m-%d %H:%M"),
                },
                code="too_soon",
            )
        voted = {d.vote_of_id for d in decisions} | {d.decided_by_id for d in decisions}
        waiting = [
            u
            for u in dict.fromkeys(list(stage.approver_ids) + list(stage.escalated_to_ids))
            if u not in voted
        ]
        if not waiting:
            raise Conflict(_("Nobody at this level is left to decide."), code="nobody_waiting")
        locked_stage.urged_at = now
        locked_stage.save(update_fields=["urged_at"])
        _level_event(
            agency=agency,
            task=locked,
            kind=EventKind.APPROVAL_URGED,
            actor=actor,
            ip_address=ip_address,
            user_agent=user_agent,
            rnd=rnd,
            level=stage.position,
            name=stage.name,
            approvers=waiting,
            comment=comment,
        )
        notify_users(
            agency=agency,
            user_ids=waiting,
            kind="approval_urged",
            template_code="approval_urged",
            key=f"approval_urged:{stage.pk}:{now.timestamp():.0f}",
            task=locked,
            params={
                "task": locked.title,
                "level": stage.name,
                "by": _name(actor),
                "reason": comment,
                "due_at": timezone.localtime(stage.due_at, agency.tz).strftime("%Y-%m-%d %H:%M"),
                "link": approval_url(agency=agency, task=locked),
            },
        )
    return waiting


def _level_event(*, agency, task, kind, actor, ip_address, user_agent, rnd, level, name, comment, **details):
    """One approval action in the task's audit trail: the round, the level acted on, what was done
    (details) and the actor's comment."""
    event_record(
        agency=agency,
        task=task,
        kind=kind,
        actor=actor,
        ip_address=ip_address,
        user_agent=user_agent,
        data={"round": rnd.number, "level": level, "name": name, **details, "comment": comment},
    )
