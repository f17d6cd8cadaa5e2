"""Helpers shared by the approval services: content hashing, eligibility, notifications."""

import hashlib
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from accounts.net import client_ip
from accounts.roles import Role, role_has
from agency.models import Agency
from notifications.services.enqueue import message_enqueue
from notifications.services.preferences import channels_by_user
from shutdown.models import TaskItem, Tier
from shutdown.states import INACTIVE_ITEM_STATES


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def task_content_hash(*, task) -> str:
    """SHA-256 of what approvers approve: strategy, tiers and the items in them."""
    tiers = list(Tier.objects.filter(task=task).order_by("position").values_list("id", "position", "name",
                                                                                 "planned_start"))
    items = list(
        TaskItem.objects.filter(task=task).exclude(state__in=INACTIVE_ITEM_STATES).order_by("id")
        .values_list("id", "sub_account_id", "tier_id", "topic_transfer_target")
    )
    payload = {"strategy": task.strategy, "matrix_target": task.matrix_target_id, "title": task.title,
               "tiers": tiers, "items": items}
    return sha256_hex(canonical_json(payload))


def member_ids_with_role(*, agency: Agency, role: str) -> list[int]:
    return list(Membership.objects.filter(agency=agency, role=role, user__is_active=True)
                .order_by("user_id").values_list("user_id", flat=True))


def decider_ids(*, agency: Agency, user_ids) -> list[int]:
    """The given users that are still members able to decide."""
    rows = Membership.objects.filter(agency=agency, user_id__in=list(user_ids), user__is_active=True)
    return sorted(m.user_id for m in rows if role_has(m.role, "approvals.decide"))


def owner_ids(*, agency: Agency) -> list[int]:
    return member_ids_with_role(agency=agency, role=Role.OWNER)


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def task_url(*, agency: Agency, task) -> str:
    """The task page as a path inside the back office: in-app notices and the inbox link to it
    as is; emails and SMS make it absolute from SITE_URL when sent (`{{ link|absolute }}`)."""
    return reverse("shutdown:task_detail", kwargs={"agency_slug": agency.slug, "pk": task.pk})


def approval_url(*, agency: Agency, task) -> str:
    """The task's approval page (summary, consequences, actions), as a path."""
    return reverse("approvals:task_approval", kwargs={"agency_slug": agency.slug, "pk": task.pk})


def notify_users(*, agency: Agency, user_ids, kind: str, template_code: str, key: str, params: dict, task=None,
                 channels=("inapp", "email")) -> int:
    """Store one message per user and channel in the outbox (same transaction as the change)."""
    users = list(User.objects.filter(pk__in=list(user_ids), is_active=True))
    # The members' notification settings replace the default channels where they chose.
    chosen = channels_by_user(agency=agency, users=users, kind=kind, default=channels)
    created = 0
    for user in users:
        for channel in chosen[user.pk]:
            if channel == "sms" and not user.mobile:
                continue
            _, was_created = message_enqueue(
                agency=agency, channel=channel, kind=kind, template_code=template_code,
                idempotency_key=f"{key}:{channel}:{user.pk}", params=params, recipient_user=user,
                recipient_address=user.mobile if channel == "sms" else (user.email if channel == "email" else ""),
                language=user.language or settings.LANGUAGE_CODE, task=task, send_after=timezone.now(),
            )
            created += was_created
    return created


def client_meta(request) -> dict:
    """Address (accounts.net.client_ip: the right end of X-Forwarded-For, per trusted proxy) and
    user agent of a request, as recorded in evidence and audit events."""
    if request is None:
        return {"ip_address": None, "user_agent": ""}
    return {"ip_address": client_ip(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:400]}
