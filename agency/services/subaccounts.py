"""Writes to the sub-account registry. Every change leaves a SubAccountChange row
(who, when, old → new per field)."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency import fields
from agency.exceptions import Conflict, DomainValidationError
from agency.models import Agency, OwnerRelation, SubAccount, SubAccountChange, SubAccountStatus
from agency.privacy import unmask_unchanged
from agency.selectors import subaccount_selection_queryset
from agency.status import status_transition_check

from .tags import subaccount_tags_reindex, tags_normalise

# Fields a user writes (API, form, import); the rest is bookkeeping.
EDITABLE_FIELDS = [
    "platform", "platform_account_id", "display_name", "kind", "region", "country", "followers", "blue_v",
    "high_risk", "parent", "status", "tags", "notes",
    "owner_name", "owner_mobile", "owner_email", "owner_relation",
    "live_streaming", "unwithdrawn_earnings", "pending_ad_revenue", "hosted_topics", "bound_mini_programs",
    "third_party_authorisations", "api_anomaly", "mcn_contract_end", "open_infringement_complaints",
    "pending_orders", "stage", "income_need", "content_cost",
]
OWNER_FIELDS = ["owner_name", "owner_mobile", "owner_email", "owner_relation"]
TRACKED_FIELDS = [*EDITABLE_FIELDS, "archived_at"]


def jsonable(value):
    """A field value as the history (SubAccountChange.changes) records it."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, SubAccount):
        return value.pk
    return value


def subaccount_snapshot(account: SubAccount) -> dict:
    snap = {}
    for name in TRACKED_FIELDS:
        if name == "parent":
            snap[name] = account.parent_id
        elif name == "tags":
            snap[name] = sorted(account.tags or [])  # order carries no meaning
        else:
            snap[name] = jsonable(getattr(account, name))
    return snap


def snapshot_diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def creation_changes(after: dict) -> dict:
    """History of a new account: every field that has a value, from nothing."""
    return {k: [None, v] for k, v in after.items() if v not in (None, "", [])}


def _validation_details(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _apply(*, agency: Agency, account: SubAccount, data: dict) -> None:
    """Copy user data onto the instance, normalised; raise DomainValidationError naming fields."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainValidationError(
            _("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            details={f: [_("Unknown field.")] for f in sorted(unknown)},
        )
    for name, value in data.items():
        if name == "owner_mobile":
            try:
                value = fields.mobile_e164(value)
            except ValidationError as exc:
                errors[name] = [str(m) for m in exc.messages]
                continue
        elif name == "owner_email":
            value = fields.email_normalise(value)
        elif name == "tags":
            try:
                value = fields.tags(value)
            except fields.FieldError as exc:
                errors[name] = [str(exc)]
                continue
        elif name == "country":
            value = fields.country_normalise(value)
        elif name in fields.STRIPPED_TEXT_FIELDS and isinstance(value, str):
            value = value.strip()
        elif name == "parent":
            if value is not None and not isinstance(value, SubAccount):
                value = SubAccount.objects.filter(agency=agency, pk=value).first()
                if value is None:
                    errors[name] = [_("No such main account in this agency.")]
                    continue
            if value is not None:
                if value.agency_id != agency.pk:
                    errors[name] = [_("No such main account in this agency.")]
                    continue
                if account.pk and (value.pk == account.pk or value.parent_id == account.pk):
                    errors[name] = [_("An account cannot be its own main account.")]
                    continue
        setattr(account, name, value)
    if errors:
        raise DomainValidationError(_("Some fields are invalid."), details=errors)
    try:
        account.full_clean(exclude=["parent"])
    except ValidationError as exc:
        details = _validation_details(exc)
        if "__all__" in details:  # the (agency, platform, platform_account_id) constraint
            details["platform_account_id"] = details.pop("__all__")
        raise DomainValidationError(_("Some fields are invalid."), details=details) from exc


def _record(*, agency, account, actor, action, changes, import_batch=None) -> SubAccountChange:
    return SubAccountChange.objects.create(
        agency=agency, subaccount=account, actor=actor, action=action, changes=changes, import_batch=import_batch
    )


def _lock(*, agency: Agency, subaccount_id) -> SubAccount:
    account = SubAccount.objects.select_for_update().filter(agency=agency, pk=subaccount_id).first()
    if account is None:
        raise SubAccount.DoesNotExist
    return account


def subaccount_create(*, agency: Agency, actor, data: dict) -> SubAccount:
    with transaction.atomic():
        account = SubAccount(agency=agency)
        _apply(agency=agency, account=account, data=data)
        account.save()
        changes = creation_changes(subaccount_snapshot(account))
        _record(agency=agency, account=account, actor=actor, action=SubAccountChange.Action.CREATED, changes=changes)
    return account


def subaccount_update(*, agency: Agency, actor, subaccount_id: int, data: dict) -> SubAccount:
    with transaction.atomic():
        account = _lock(agency=agency, subaccount_id=subaccount_id)
        if account.archived_at:
            raise Conflict(_("This sub-account is archived: restore it before editing."))
        before = subaccount_snapshot(account)
        data, masked_errors = unmask_unchanged(data, current=account)
        if masked_errors:
            raise DomainValidationError(_("Some fields are invalid."), details=masked_errors)
        _apply(agency=agency, account=account, data=data)
        status_transition_check(agency=agency, sub_account=account, old=before["status"], new=account.status)
        changes = snapshot_diff(before, subaccount_snapshot(account))
        if changes:
            account.save()
            _record(agency=agency, account=account, actor=actor, action=SubAccountChange.Action.EDITED,
                    changes=changes)
    return account


def subaccount_archive(*, agency: Agency, actor, subaccount_id: int) -> SubAccount:
    with transaction.atomic():
        account = _lock(agency=agency, subaccount_id=subaccount_id)
        if account.archived_at:
            raise Conflict(_("This sub-account is already archived."))
        if account.status == SubAccountStatus.SHUTDOWN_PENDING:
            raise Conflict(_("This sub-account is in a running shutdown task and cannot be archived."))
        before = subaccount_snapshot(account)
        account.archived_at = timezone.now()
        account.save(update_fields=["archived_at", "updated_at"])
        _record(agency=agency, account=account, actor=actor, action=SubAccountChange.Action.ARCHIVED,
                changes=snapshot_diff(before, subaccount_snapshot(account)))
    return account


def subaccount_restore(*, agency: Agency, actor, subaccount_id: int) -> SubAccount:
    with transaction.atomic():
        account = _lock(agency=agency, subaccount_id=subaccount_id)
        if not account.archived_at:
            raise Conflict(_("This sub-account is not archived."))
        before = subaccount_snapshot(account)
        account.archived_at = None
        account.save(update_fields=["archived_at", "updated_at"])
        _record(agency=agency, account=account, actor=actor, action=SubAccountChange.Action.RESTORED,
                changes=snapshot_diff(before, subaccount_snapshot(account)))
    return account


def _locked_selection(*, agency, ids, params) -> list[SubAccount]:
    if ids is None and params is None:
        raise DomainValidationError(_("Select at least one sub-account."), details={"ids": [_("Nothing selected.")]})
    qs = subaccount_selection_queryset(agency=agency, ids=ids, params=params)
    # Lock by primary key: the filter may join or use DISTINCT, which FOR UPDATE refuses on PostgreSQL.
    selected = list(qs.values_list("pk", flat=True))
    accounts = list(SubAccount.objects.filter(pk__in=selected).order_by("pk").select_for_update())
    if ids is not None:
        unknown = sorted({str(i) for i in ids} - {str(a.pk) for a in accounts})
        if unknown:
            raise DomainValidationError(
                _("These sub-accounts do not exist in this agency (or are archived): %(ids)s.")
                % {"ids": ", ".join(unknown[:20])}, details={"ids": unknown[:100]},
            )
    if not accounts:
        raise DomainValidationError(_("Select at least one sub-account."), details={"ids": [_("Nothing selected.")]})
    return accounts


def _bulk_write(*, agency, actor, action, accounts, befores, fields) -> int:
    changed, history = [], []
    now = timezone.now()
    for account, before in zip(accounts, befores, strict=True):
        changes = snapshot_diff(before, subaccount_snapshot(account))
        if changes:
            account.updated_at = now
            changed.append(account)
            history.append(SubAccountChange(agency=agency, subaccount=account, actor=actor, action=action,
                                            changes=changes, created_at=now))
    if changed:
        SubAccount.objects.bulk_update(changed, [*fields, "updated_at"], batch_size=500)
        SubAccountChange.objects.bulk_create(history, batch_size=500)
    return len(changed)


def bulk_tag_arguments(*, add: list[str] | None, remove: list[str] | None) -> tuple[list[str], set[str]]:
    """The tags to add and remove, normalised; DomainValidationError when there is nothing to do or a
    tag is too long (checked before a selection is read, and before a bulk job is queued)."""
    add, remove = tags_normalise(add or []), set(tags_normalise(remove or []))
    if not add and not remove:
        raise DomainValidationError(_("Name at least one tag to add or remove."),
                                    details={"add_tags": [_("This field is required.")]})
    too_long = fields.too_long_tags(add)
    if too_long:
        raise DomainValidationError(fields.tag_too_long_message(too_long[0]), details={"add_tags": too_long})
    return add, remove


def subaccount_bulk_tag(
    *, agency: Agency, actor, ids=None, params=None, add: list[str] | None = None, remove: list[str] | None = None
) -> int:
    """Add and/or remove tags on a selection (ids) or on everything matching `params`. Returns how many changed."""
    add, remove = bulk_tag_arguments(add=add, remove=remove)
    with transaction.atomic():
        accounts = _locked_selection(agency=agency, ids=ids, params=params)
        befores = [subaccount_snapshot(a) for a in accounts]
        for account in accounts:
            account.tags = sorted((set(tags_normalise(account.tags)) | set(add)) - remove)
        count = _bulk_write(agency=agency, actor=actor, action=SubAccountChange.Action.BULK_TAG,
                            accounts=accounts, befores=befores, fields=["tags"])
        subaccount_tags_reindex(agency_id=agency.pk, accounts=accounts)
    return count


def subaccount_bulk_set_owner(
    *, agency: Agency, actor, ids=None, params=None, owner_name: str | None = None, owner_mobile: str | None = None,
    owner_email: str | None = None, owner_relation: str | None = None,
) -> int:
    """Set the owner contact fields that are given (None = leave as is) on a selection."""
    values = bulk_owner_values(owner_name=owner_name, owner_mobile=owner_mobile, owner_email=owner_email,
                               owner_relation=owner_relation)
    with transaction.atomic():
        accounts = _locked_selection(agency=agency, ids=ids, params=params)
        befores = [subaccount_snapshot(a) for a in accounts]
        for account in accounts:
            for name, value in values.items():
                setattr(account, name, value)
        return _bulk_write(agency=agency, actor=actor, action=SubAccountChange.Action.BULK_OWNER,
                           accounts=accounts, befores=befores, fields=list(values))


def bulk_owner_values(*, owner_name: str | None = None, owner_mobile: str | None = None,
                      owner_email: str | None = None, owner_relation: str | None = None) -> dict:
    """The owner fields to set, normalised; DomainValidationError naming each invalid one."""
    values = {k: v for k, v in {"owner_name": owner_name, "owner_mobile": owner_mobile, "owner_email": owner_email,
                                "owner_relation": owner_relation}.items() if v not in (None, "")}
    if not values:
        raise DomainValidationError(_("Give at least one owner field to change."),
                                    details={"owner_name": [_("This field is required.")]})
    errors = {}
    if "owner_mobile" in values:
        try:
            values["owner_mobile"] = fields.mobile_e164(values["owner_mobile"])
        except ValidationError as exc:
            errors["owner_mobile"] = [str(m) for m in exc.messages]
    if "owner_email" in values:
        values["owner_email"] = fields.email_normalise(values["owner_email"])
        try:
            SubAccount._meta.get_field("owner_email").clean(values["owner_email"], None)
        except ValidationError as exc:
            errors["owner_email"] = [str(m) for m in exc.messages]
    if "owner_relation" in values and values["owner_relation"] not in OwnerRelation.values:
        errors["owner_relation"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(OwnerRelation.values)}]
    if "owner_name" in values:
        values["owner_name"] = values["owner_name"].strip()[: SubAccount._meta.get_field("owner_name").max_length]
    if errors:
        raise DomainValidationError(_("Some fields are invalid."), details=errors)
    return values


def subaccounts_status_set(*, agency: Agency, actor, subaccount_ids: list[int], status: str) -> int:
    """A shutdown task changed these accounts' status (a tier opened, an item took effect).
    Like every other change, it leaves a history row per account. Returns how many changed."""
    if status not in SubAccountStatus.values:
        raise DomainValidationError(_("Unknown status “%(s)s”.") % {"s": status}, details={"status": [status]})
    with transaction.atomic():
        accounts = list(SubAccount.objects.select_for_update().filter(agency=agency, pk__in=list(subaccount_ids))
                        .order_by("pk"))
        befores = [subaccount_snapshot(a) for a in accounts]
        for account in accounts:
            status_transition_check(agency=agency, sub_account=account, old=account.status, new=status)
            account.status = status
        return _bulk_write(agency=agency, actor=actor, action=SubAccountChange.Action.STATUS, accounts=accounts,
                           befores=befores, fields=["status"])
