"""Plan and apply a sub-account spreadsheet import.

`plan_import` reads and validates everything and writes nothing (the preview / dry run);
`apply_plan` writes a plan that has no errors, in bulk. The service in
agency.services.imports runs both inside one transaction, so an import is all-or-nothing.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.fields import FieldError, is_blank
from agency.models import Agency, SubAccount, SubAccountChange, SubAccountTag
from agency.privacy import CONTACT_FIELDS, MASK_MARK, unmask_unchanged
from agency.services.subaccounts import TRACKED_FIELDS, jsonable, subaccount_snapshot
from agency.services.tags import subaccount_tags_reindex
from agency.status import status_refusal

from .bulk import analyze_after_commit, insert_rows, insert_values, rows_by_keys, update_rows
from .columns import COLUMNS_BY_NAME, HEADER_INDEX, KEY_COLUMNS, REQUIRED_ON_CREATE, converter, header_key
from .reader import FileRejected, read_table

PREVIEW_ROWS = 200
HISTORY_COLUMNS = ["agency_id", "subaccount_id", "actor_id", "action", "changes", "import_batch_id", "created_at"]
# Columns whose converted values are immutable and often repeat from row to row: convert each
# distinct cell once per file (errors are not cached, so their messages are built as before).
CACHED_KINDS_COLUMNS = frozenset(
    name for name, col in COLUMNS_BY_NAME.items() if col.kind in ("choice", "int", "money", "bool", "date", "country")
)


@dataclass
class RowPlan:
    row: int
    action: str = ""  # create, update, unchanged, error
    key: tuple = ()
    cells: dict = field(default_factory=dict)  # field name → text as in the file (for the preview)
    values: dict = field(default_factory=dict)  # field name → converted value
    errors: dict = field(default_factory=dict)  # field name → message
    account: SubAccount | None = None
    parent_ref: tuple | None = None
    changes: dict = field(default_factory=dict)
    masked: dict = field(default_factory=dict)  # contact field → a masked value as exported (138****8013)


@dataclass
class ImportPlan:
    kind: str = ""
    encoding: str = ""
    columns: list = field(default_factory=list)  # [(field name, header as written)]
    ignored_columns: list = field(default_factory=list)
    rows: list[RowPlan] = field(default_factory=list)
    file_errors: list = field(default_factory=list)  # [{"row", "column", "field", "message"}]
    rejected: FileRejected | None = None  # the file broke a limit or is not a spreadsheet: nothing was planned

    @property
    def header_of(self) -> dict:
        return dict(self.columns)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> list[dict]:
        titles = self.header_of
        out = list(self.file_errors)
        for r in self.rows:
            for name, message in r.errors.items():
                out.append({"row": r.row, "column": titles.get(name, name), "field": name, "message": str(message)})
        return out

    @property
    def ok(self) -> bool:
        return not self.errors

    def answer(self, *, dry_run: bool, applied: bool) -> dict:
        return {
            "created": self.count("create") if (applied or dry_run) else 0,
            "updated": self.count("update") if (applied or dry_run) else 0,
            "unchanged": self.count("unchanged"),
            "errors": self.errors,
            "ignored_columns": self.ignored_columns,
            "dry_run": dry_run,
            "applied": applied,
        }


def file_error(message: str, *, row=None, column=None) -> dict:
    return {"row": row, "column": column, "field": None, "message": str(message)}


PROGRESS_EVERY = 500  # rows between two progress reports (background jobs)


def _reporting(rows, progress):
    """The rows unchanged, telling `progress(rows read)` every PROGRESS_EVERY rows (a background
    job shows it and checks its budget there: it may raise to stop the import)."""
    count = 0
    for item in rows:
        yield item
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(count)
    progress(count)


def plan_import(*, agency: Agency, content: bytes, lock: bool = False, progress=None) -> ImportPlan:
    """Read, convert and validate every row; match existing accounts by (platform, platform_account_id).
    The rows stream from the reader, which refuses the file (FileRejected) at the first limit it
    passes: the plan then holds that one refusal and no rows. `progress(rows)`, when given, is
    called as the rows are read."""
    plan = ImportPlan()
    try:
        table = read_table(content)
        plan.kind, plan.encoding = table.kind, table.encoding
        _plan_rows(plan, _reporting(table.rows, progress) if progress else table.rows)
    except FileRejected as exc:
        plan.rows, plan.file_errors, plan.rejected = [], [file_error(str(exc))], exc
        return plan
    if plan.file_errors:
        return plan
    _match_existing(agency=agency, plan=plan, lock=lock)
    _resolve_parents(agency=agency, plan=plan)
    for row in plan.rows:
        row.action = "error" if row.errors else (row.action or "unchanged")
    return plan


def _plan_rows(plan: ImportPlan, rows) -> None:
    """The header row, then every data row converted (plan.rows), or plan.file_errors."""
    rows = iter(rows)
    header_row = None
    for number, cells in rows:
        if any(not is_blank(c) for c in cells):
            header_row = (number, cells)
            break
    if header_row is None:
        plan.file_errors.append(file_error(_("The file has no header row and no data.")))
        return
    header_number, header_cells = header_row
    index: list[tuple[int, str]] = []
    seen_fields: dict[str, str] = {}
    for i, cell in enumerate(header_cells):
        if is_blank(cell):
            continue  # an empty extra column
        column = HEADER_INDEX.get(header_key(cell))
        title = str(cell).strip().lstrip("\ufeff")
        if column is None:
            plan.ignored_columns.append(title)
            continue
        if column.name in seen_fields:
            plan.file_errors.append(file_error(
                _("The column “%(title)s” appears twice (also as “%(other)s”).")
                % {"title": title, "other": seen_fields[column.name]}, row=header_number, column=title))
            continue
        seen_fields[column.name] = title
        index.append((i, column.name))
    plan.columns = [(name, seen_fields[name]) for _i, name in index]
    for name in KEY_COLUMNS:
        if name not in seen_fields:
            col = COLUMNS_BY_NAME[name]
            plan.file_errors.append(file_error(
                _("The column “%(name)s” (%(title)s) is missing from the header row.")
                % {"name": name, "title": col.title_zh}, row=header_number, column=name))
    if plan.file_errors:
        return

    first_row_of: dict[tuple, int] = {}
    converted: dict[tuple, object] = {}  # (column, type, cell) → value, for columns whose values repeat
    for number, cells in rows:
        if all(is_blank(c) for c in cells):
            continue  # extra empty rows
        row = RowPlan(row=number)
        for i, name in index:
            value = cells[i] if i < len(cells) else None
            if is_blank(value):
                continue
            row.cells[name] = value
            if name in CONTACT_FIELDS and isinstance(value, str) and MASK_MARK in value:
                row.masked[name] = value.strip()  # a masked export read back: judged against the stored value
                continue
            cache_key = (name, type(value), value)
            if cache_key in converted:
                row.values[name] = converted[cache_key]
                continue
            try:
                row.values[name] = converter(name)(value)
            except FieldError as exc:
                row.errors[name] = str(exc)
            else:
                if name in CACHED_KINDS_COLUMNS:
                    converted[cache_key] = row.values[name]
        for name in KEY_COLUMNS:
            if name not in row.cells:
                row.errors.setdefault(name, _("Required: the key of the account is platform + platform account id."))
        if all(n in row.values for n in KEY_COLUMNS):
            row.key = (row.values["platform"], row.values["platform_account_id"])
            if row.key in first_row_of:
                row.errors["platform_account_id"] = _(
                    "Duplicate: row %(row)d already has this platform and platform account id."
                ) % {"row": first_row_of[row.key]}
            else:
                first_row_of[row.key] = number
        if "parent" in row.values:
            platform, account_id = row.values.pop("parent")
            row.parent_ref = (platform or row.values.get("platform"), account_id)
        plan.rows.append(row)


def _fetch(agency: Agency, keys: set[tuple], lock: bool) -> dict[tuple, SubAccount]:
    """The accounts of this agency with these keys: one query for the keys' ids (the keys as one
    parameter), then the matched accounts only (none when every key is new), locked if asked."""
    by_key: dict[tuple, SubAccount] = {}
    pks = [pk for pk, platform, account_id in rows_by_keys(
        SubAccount, agency_id=agency.pk, names=["platform", "platform_account_id"], keys=keys)
        if (platform, account_id) in keys]
    if not pks:
        return by_key
    qs = SubAccount.objects.filter(agency=agency, pk__in_ids=pks)
    if lock:
        qs = qs.select_for_update()
    for account in qs:
        key = (account.platform, account.platform_account_id)
        if key in keys:  # still this key once locked
            by_key[key] = account
    return by_key


_AS_IS = frozenset({str, int, bool, float, type(None)})  # types `jsonable` returns unchanged


def _snap_value(name: str, value):
    """One field as `subaccount_snapshot` records it."""
    if name == "tags":
        return sorted(value or [])
    return value if type(value) in _AS_IS else jsonable(value)


_EMPTY = (None, "", [])  # what `creation_changes` leaves out


def _creation_template(new_snapshot: dict, names: tuple) -> tuple[dict, list]:
    """For rows with values for `names`: the history of a new account as `creation_changes`
    orders it (the snapshot's order, names outside it last), with placeholders for the names,
    and the defaults it keeps [(name, value)]; the same for every such row of the file."""
    after = dict(new_snapshot)
    after.update(dict.fromkeys(names, _EMPTY))  # a placeholder that is not itself empty
    template = {k: None for k, v in after.items() if k in names or v not in _EMPTY}
    defaults = [(k, v) for k, v in new_snapshot.items() if k in template and k not in names]
    return template, defaults


def _new_account(template: SubAccount) -> SubAccount:
    """A copy of a new, unsaved account with default values: the same as SubAccount(agency=…)
    (the model has no pre_init/post_init receivers) without running Model.__init__ per row."""
    if signals.pre_init.has_listeners(SubAccount) or signals.post_init.has_listeners(SubAccount):
        return SubAccount(agency=template.agency)
    account = SubAccount.__new__(SubAccount)
    values = template.__dict__.copy()
    values["tags"] = list(template.tags)  # the only mutable default
    state = ModelState()
    state.db, state.adding = template._state.db, template._state.adding
    state.fields_cache = dict(template._state.fields_cache)
    values["_state"] = state
    account.__dict__ = values
    return account


def _match_existing(*, agency: Agency, plan: ImportPlan, lock: bool) -> None:
    keyed = [r for r in plan.rows if r.key and not r.errors]
    existing = _fetch(agency, {r.key for r in keyed}, lock)
    new_snapshot = None  # the snapshot of a new, empty account: the same for every created row
    creation_templates: dict[tuple, tuple] = {}  # names of a row's values → _creation_template
    for row in keyed:
        account = existing.get(row.key)
        if row.masked:
            # PIPL: an export masked for the member's role, imported back: a masked value equal to
            # the stored one's mask leaves it unchanged (like an empty cell); any other is refused.
            _kept, masked_errors = unmask_unchanged(row.masked, current=account)
            if masked_errors:
                row.errors.update({name: messages[0] for name, messages in masked_errors.items()})
                row.action = "error"
                continue
        if account is None:
            missing = [n for n in REQUIRED_ON_CREATE if n not in row.values]
            for name in missing:
                row.errors[name] = _("Required for a new account.")
            if missing:
                continue
            if new_snapshot is None:
                template = SubAccount(agency=agency)
                new_snapshot = subaccount_snapshot(template)
            account = _new_account(template)
            for name, value in row.values.items():
                setattr(account, name, value)
            # creation_changes(snapshot of the account), without a snapshot per row: the defaults it
            # keeps are the same for every row, and so is the order for the same columns.
            names = tuple(row.values)
            if names not in creation_templates:
                creation_templates[names] = _creation_template(new_snapshot, names)
            order, defaults = creation_templates[names]
            changes = order.copy()
            for name, value in defaults:
                changes[name] = [None, value]
            for name, value in row.values.items():
                value = _snap_value(name, value)
                if value in _EMPTY:
                    del changes[name]
                else:
                    changes[name] = [None, value]
            row.account = account
            row.action = "create"
            row.changes = changes
            continue
        # An existing account: only the columns of the file can change (the parent is resolved later).
        changes = {}
        for name, value in row.values.items():
            old = _snap_value(name, getattr(account, name))
            new = _snap_value(name, value)
            if old != new:
                changes[name] = [old, new]
            setattr(account, name, value)
        if len(changes) > 1:  # in the order of a full snapshot diff
            changes = {k: changes[k] for k in TRACKED_FIELDS if k in changes}
        if "status" in changes:  # R9.3: the one status state machine
            refusal = status_refusal(agency=agency, sub_account=account, old=changes["status"][0],
                                     new=changes["status"][1])
            if refusal is not None:
                row.errors["status"] = str(refusal.message)
                row.action = "error"
                continue
        row.account = account
        row.changes = changes
        row.action = "update" if changes else "unchanged"


def _resolve_parents(*, agency: Agency, plan: ImportPlan) -> None:
    rows = [r for r in plan.rows if r.parent_ref and r.account is not None]
    if not rows:
        return
    in_file = {r.key: r for r in plan.rows if r.account is not None}
    outside = {r.parent_ref for r in rows if r.parent_ref not in in_file}
    found = _fetch(agency, outside, lock=False) if outside else {}
    for row in rows:
        if row.parent_ref == row.key:
            row.errors["parent"] = _("An account cannot be its own main account.")
            continue
        target = in_file.get(row.parent_ref)
        target_account = target.account if target else found.get(row.parent_ref)
        if target_account is None:
            row.errors["parent"] = _("No main account “%(platform)s:%(id)s” in this agency or in this file.") % {
                "platform": row.parent_ref[0], "id": row.parent_ref[1]}
            continue
        if target_account.pk is None or target_account.pk != row.account.parent_id:
            row.changes["parent"] = [row.account.parent_id, target_account.pk]
            if row.action == "unchanged":
                row.action = "update"
        row.values["parent"] = target_account


def _insert_accounts(agency: Agency, accounts: list[SubAccount], now) -> None:
    """INSERT new accounts and set their primary keys (read back by their unique key)."""
    if not accounts:
        return
    for account in accounts:
        account.created_at = account.updated_at = now
    insert_rows(SubAccount, accounts)
    by_key = {(a.platform, a.platform_account_id): a for a in accounts}
    for pk, platform, account_id in rows_by_keys(
        SubAccount, agency_id=agency.pk, names=["platform", "platform_account_id"], keys=by_key
    ):
        account = by_key.get((platform, account_id))
        if account is not None:
            account.pk = pk
            account._state.adding = False
            account._state.db = connection.alias


def apply_plan(*, agency: Agency, actor, plan: ImportPlan, import_batch=None) -> dict:
    """Write a plan without errors in bulk; history rows for every created or changed account."""
    assert plan.ok, "apply_plan needs a plan without errors"
    now = timezone.now()
    creates = [r for r in plan.rows if r.action == "create"]
    updates = [r for r in plan.rows if r.action == "update"]
    _insert_accounts(agency, [r.account for r in creates], now)
    # Parents last: a main account may be a new row of the same file.
    parent_fixes = []
    for row in [*creates, *updates]:
        if "parent" in row.values:
            row.account.parent = row.values["parent"]
            if "parent" in row.changes:
                row.changes["parent"] = [row.changes["parent"][0], row.account.parent_id]
            if row.action == "create":
                parent_fixes.append(row.account)
    if parent_fixes:
        update_rows(model=SubAccount, objs=parent_fixes, names=["parent"], agency_id=agency.pk)
    # Updates grouped by the set of changed fields: each group is one UPDATE statement run for
    # every row (executemany), not a CASE WHEN per field and row.
    groups: dict[tuple, list[SubAccount]] = {}
    for row in updates:
        row.account.updated_at = now
        fields = tuple(sorted(set(row.changes) - {"archived_at"}))
        groups.setdefault(fields, []).append(row.account)
    for fields, accounts in groups.items():
        update_rows(model=SubAccount, objs=accounts, names=[*fields, "updated_at"], agency_id=agency.pk)
    # History rows as tuples (no model instance per row), the same columns SubAccountChange(…) would give.
    actor_id = actor.pk if actor is not None else None
    batch_id = import_batch.pk if import_batch is not None else None
    action = SubAccountChange.Action.IMPORTED.value
    insert_values(SubAccountChange, HISTORY_COLUMNS, [
        (agency.pk, r.account.pk, actor_id, action, r.changes, batch_id, now) for r in [*creates, *updates]
    ])
    subaccount_tags_reindex(
        agency_id=agency.pk, accounts=[r.account for r in [*creates, *updates] if "tags" in r.changes]
    )
    analyze_after_commit([SubAccount, SubAccountTag, SubAccountChange], rows=len(creates) + len(updates))
    return {"created": len(creates), "updated": len(updates)}
