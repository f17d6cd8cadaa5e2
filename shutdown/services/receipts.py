"""Import platform receipts: a CSV/XLSX of (platform, platform account id or item id, receipt
number, effective date and time) marks the matching items of a task done.

The flow is the registry import's (agency.importers): the bounded reader, then a plan that
writes nothing (the preview, with row/column errors in the one error shape
{"row", "column", "field", "message"}), then the confirmation, which plans again against the
task as it is now and, only if no row has an error, marks every row's item done through
`execution.item_mark_done` (so deadlines and countdowns start exactly as when an operator
marks an item by hand), all in one transaction: all or nothing.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency import fields as field_rules
from agency.exceptions import Conflict
from agency.importers.reader import FileRejected, check_size, read_table
from agency.importers.subaccounts import file_error
from agency.models import Agency, Platform
from shutdown.events import event_record
from shutdown.models import EventKind, ReceiptImport, ShutdownTask, TaskItem, Tier
from shutdown.services.execution import item_mark_done
from shutdown.states import ItemState, TaskState

STORED_ERRORS = 1000
PREVIEW_ROWS = 200
RECEIPT_MAX_LENGTH = TaskItem._meta.get_field("receipt_number").max_length


@dataclass(frozen=True)
class ReceiptColumn:
    name: str
    title_zh: str
    title_en: str
    aliases: tuple[str, ...] = ()


COLUMNS = [
    ReceiptColumn("platform", "平台", "Platform", ("平台名称",)),
    ReceiptColumn(
        "platform_account_id", "平台账号ID", "Platform account id", ("账号id", "平台账号", "账号", "uid")
    ),
    ReceiptColumn("item", "条目ID", "Item id", ("item_id", "条目", "任务条目id", "任务条目")),
    ReceiptColumn(
        "receipt_number", "回执编号", "Receipt number", ("回执号", "回执单号", "回执", "受理编号", "receipt")
    ),
    ReceiptColumn(
        "effective_at",
        "生效时间",
        "Effective at",
        ("生效日期时间", "生效日期", "注销时间", "关停时间", "effective time", "effective"),
    ),
]
COLUMNS_BY_NAME = {c.name: c for c in COLUMNS}


def header_key(text) -> str:
    value = unicodedata.normalize("NFKC", str(text or "")).strip().lower().lstrip("\ufeff")
    return re.sub(r"[\s*_\-（）()【】\[\]：:]+", "", value)


HEADER_INDEX = {
    header_key(alias): c for c in COLUMNS for alias in (c.name, c.title_zh, c.title_en, *c.aliases)
}
DATETIME_RE = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：时](\d{1,2})"
    r"(?:[:：分](\d{1,2})秒?)?分?)?"
)


@dataclass
class ReceiptRow:
    row: int
    cells: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    item: TaskItem | None = None


@dataclass
class ReceiptPlan:
    columns: list = field(default_factory=list)  # [(name, header as written)]
    ignored_columns: list = field(default_factory=list)
    rows: list[ReceiptRow] = field(default_factory=list)
    file_errors: list = field(default_factory=list)
    rejected: FileRejected | None = None

    @property
    def errors(self) -> list[dict]:
        titles = dict(self.columns)
        out = list(self.file_errors)
        for r in self.rows:
            for name, message in r.errors.items():
                out.append(
                    {
                        "row": r.row,
                        "column": titles.get(
                            name, COLUMNS_BY_NAME[name].title_zh if name in COLUMNS_BY_NAME else name
                        ),
                        "field": name,
                        "message": str(message),
                    }
                )
        return out

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    def answer(self, *, dry_run: bool, applied: bool) -> dict:
        return {
            "done": len(self.rows) if (applied or (dry_run and self.ok)) else 0,
            "rows": len(self.rows),
            "errors": self.errors,
            "ignored_columns": self.ignored_columns,
            "dry_run": dry_run,
            "applied": applied,
        }


def effective_datetime(value, tz) -> datetime:
    """A date and time as people write it (or as Excel stores it), read in the agency's zone."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise field_rules.FieldError(_("Give the time too, e.g. 2026-12-01 10:30."))
    else:
        written = unicodedata.normalize("NFKC", field_rules.text(value))
        match = DATETIME_RE.fullmatch(written)
        if match is None:
            raise field_rules.FieldError(
                _("“%(value)s” is not a date and time (use YYYY-MM-DD HH:MM, e.g. 2026-12-01 10:30).")
                % {"value": written}
            )
        year, month, day, hour, minute, second = match.groups()
        if hour is None:
            raise field_rules.FieldError(_("Give the time too, e.g. 2026-12-01 10:30."))
        try:
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))  # noqa: DTZ001
        except ValueError as exc:
            raise field_rules.FieldError(
                _("“%(value)s” is not a real date and time.") % {"value": written}
            ) from exc
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=tz)
    if moment > timezone.now():
        raise field_rules.FieldError(_("The effective time cannot be in the future."))
    return moment


def plan_receipts(*, agency: Agency, task: ShutdownTask, content: bytes, lock: bool = False) -> ReceiptPlan:
    plan = ReceiptPlan()
    try:
        table = read_table(content)
        _plan_rows(plan, table.rows, tz=agency.tz)
    except FileRejected as exc:
        plan.rows, plan.file_errors, plan.rejected = [], [file_error(str(exc))], exc
        return plan
    if not plan.file_errors:
        _match_items(task=task, plan=plan, lock=lock)
    return plan


def _plan_rows(plan: ReceiptPlan, rows, *, tz) -> None:
    rows = iter(rows)
    header = None
    for number, cells in rows:
        if any(not field_rules.is_blank(c) for c in cells):
            header = (number, cells)
            break
    if header is None:
        plan.file_errors.append(file_error(_("The file has no header row and no data.")))
        return
    header_number, header_cells = header
    index: list[tuple[int, str]] = []
    seen: dict[str, str] = {}
    for i, cell in enumerate(header_cells):
        if field_rules.is_blank(cell):
            continue
        title = str(cell).strip().lstrip("\ufeff")
        column = HEADER_INDEX.get(header_key(cell))
        if column is None:
            plan.ignored_columns.append(title)
            continue
        if column.name in seen:
            plan.file_errors.append(
                file_error(
                    _("The column “%(title)s” appears twice (also as “%(other)s”).")
                    % {"title": title, "other": seen[column.name]},
                    row=header_number,
                    column=title,
                )
            )
            continue
        seen[column.name] = title
        index.append((i, column.name))
    plan.columns = [(name, seen[name]) for _i, name in index]
    for name in ("receipt_number", "effective_at"):
        if name not in seen:
            plan.file_errors.append(
                file_error(
                    _("The column “%(title)s” (%(name)s) is missing from the header row.")
                    % {"title": COLUMNS_BY_NAME[name].title_zh, "name": name},
                    row=header_number,
                    column=name,
                )
            )
    if "item" not in seen and "platform_account_id" not in seen:
        plan.file_errors.append(
            file_error(
                _(
                    "Name the accounts: a column “平台账号ID” (platform account id, with “平台”) or “条目ID” (item id)."
                ),
                row=header_number,
                column="platform_account_id",
            )
        )
    if plan.file_errors:
        return
    for number, cells in rows:
        if all(field_rules.is_blank(c) for c in cells):
            continue
        row = ReceiptRow(row=number)
        for i, name in index:
            value = cells[i] if i < len(cells) else None
            if field_rules.is_blank(value):
                continue
            row.cells[name] = value
            try:
                if name == "platform":
                    row.values[name] = field_rules.choice(Platform, value)
                elif name == "item":
                    row.values[name] = field_rules.whole_number(value)
                elif name == "effective_at":
                    row.values[name] = effective_datetime(value, tz)
                else:
                    row.values[name] = field_rules.bounded_text(
                        value, max_length=RECEIPT_MAX_LENGTH if name == "receipt_number" else 100
                    )
            except field_rules.FieldError as exc:
                row.errors[name] = str(exc)
        for name in ("receipt_number", "effective_at"):
            if name not in row.cells:
                row.errors.setdefault(name, _("Required."))
        if "item" not in row.cells and "platform_account_id" not in row.cells:
            row.errors.setdefault(
                "platform_account_id", _("Required: the platform account id or the item id.")
            )
        elif "item" not in row.cells and "platform" not in row.cells:
            row.errors.setdefault("platform", _("Required with the platform account id."))
        plan.rows.append(row)
    if not plan.rows:
        plan.file_errors.append(file_error(_("The file has a header row but no receipts.")))


def _match_items(*, task: ShutdownTask, plan: ReceiptPlan, lock: bool) -> None:
    """Each row's item among the task's items (one read, whatever the number of rows)."""
    qs = TaskItem.objects.filter(task=task).select_related("sub_account", "tier")
    if lock:
        qs = qs.select_for_update(of=("self",))
    by_id, by_account = {}, {}
    for item in qs:
        by_id[item.pk] = item
        by_account[(item.sub_account.platform, item.sub_account.platform_account_id)] = item
    first_row_of: dict[int, int] = {}
    for row in plan.rows:
        if row.errors and not ({"item", "platform_account_id", "platform"} - set(row.errors)):
            continue
        if "item" in row.values:
            item, where = by_id.get(row.values["item"]), "item"
            if item is None:
                row.errors.setdefault("item", _("No item %(id)s in this task.") % {"id": row.values["item"]})
                continue
        elif "platform_account_id" in row.values and "platform" in row.values:
            key = (row.values["platform"], row.values["platform_account_id"])
            item, where = by_account.get(key), "platform_account_id"
            if item is None:
                row.errors.setdefault(
                    "platform_account_id",
                    _("No account “%(platform)s:%(id)s” in this task.")
                    % {"platform": Platform(key[0]).label, "id": key[1]},
                )
                continue
        else:
            continue
        if item.pk in first_row_of:
            row.errors.setdefault(
                where,
                _("Duplicate: row %(row)d already names this account.") % {"row": first_row_of[item.pk]},
            )
            continue
        first_row_of[item.pk] = row.row
        row.item = item
        if item.state == ItemState.DONE:
            row.errors.setdefault(
                where,
                _("%(name)s is already done (receipt %(receipt)s).")
                % {"name": item.sub_account.display_name, "receipt": item.receipt_number or "—"},
            )
        elif item.state != ItemState.EXECUTING or not item.tier or item.tier.state != Tier.State.OPEN:
            row.errors.setdefault(
                where,
                _("%(name)s is not being executed (it is “%(state)s”): open its tier first.")
                % {"name": item.sub_account.display_name, "state": item.get_state_display()},
            )


def _check_task(task: ShutdownTask) -> None:
    if task.state != TaskState.EXECUTING:
        raise Conflict(
            _("The task is “%(s)s”: receipts are imported while it executes.")
            % {"s": task.get_state_display()},
            code="illegal_transition",
        )


def _apply(*, agency, task, actor, plan: ReceiptPlan, filename: str, content: bytes, progress=None) -> None:
    for done, row in enumerate(plan.rows):
        if progress is not None:  # a background job's progress (and its budgets and cancellation)
            progress(done)
        item_mark_done(
            agency=agency,
            item=row.item,
            actor=actor,
            receipt_number=row.values["receipt_number"],
            effective_at=row.values["effective_at"],
        )
    event_record(
        agency=agency,
        task=task,
        kind=EventKind.RECEIPTS_IMPORTED,
        actor=actor,
        data={"file": filename[:255], "count": len(plan.rows), "sha256": hashlib.sha256(content).hexdigest()},
    )


def receipts_import(
    *, agency: Agency, task: ShutdownTask, actor, content: bytes, filename: str, dry_run: bool
) -> dict:
    """The API's one call: validate (dry run) or validate and apply, all-or-nothing."""
    check_size(len(content))
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        _check_task(task)
        plan = plan_receipts(agency=agency, task=task, content=content, lock=not dry_run)
        if plan.rejected:
            raise plan.rejected
        if dry_run or not plan.ok:
            return plan.answer(dry_run=dry_run, applied=False)
        batch = ReceiptImport.objects.create(
            agency=agency,
            task=task,
            original_name=filename[:255],
            content=content,
            created_by=actor,
            status=ReceiptImport.Status.APPLIED,
            applied_at=timezone.now(),
        )
        _apply(agency=agency, task=task, actor=actor, plan=plan, filename=filename, content=content)
        answer = plan.answer(dry_run=False, applied=True)
        batch.result = answer
        batch.save(update_fields=["result"])
    return answer


def receipts_upload(
    *, agency: Agency, task: ShutdownTask, actor, content: bytes, filename: str
) -> tuple[ReceiptImport, ReceiptPlan]:
    """Keep the file and preview it (nothing else is written). FileRejected when the file breaks a limit."""
    check_size(len(content))
    _check_task(task)
    plan = plan_receipts(agency=agency, task=task, content=content)
    if plan.rejected:
        raise plan.rejected
    answer = plan.answer(dry_run=True, applied=False)
    batch = ReceiptImport.objects.create(
        agency=agency,
        task=task,
        original_name=filename[:255],
        content=content,
        created_by=actor,
        result={**answer, "errors": answer["errors"][:STORED_ERRORS]},
    )
    return batch, plan


def receipts_confirm(*, agency: Agency, task: ShutdownTask, actor, import_id: int, progress=None) -> dict:
    """Apply a previewed file, planned again against the task as it is now; all-or-nothing.
    `progress(rows_done)` is called before each row (a background job's progress bar)."""
    with transaction.atomic():
        task = ShutdownTask.objects.select_for_update().get(pk=task.pk)
        batch = ReceiptImport.objects.select_for_update().filter(task=task, pk=import_id).first()
        if batch is None:
            raise ReceiptImport.DoesNotExist
        if batch.status == ReceiptImport.Status.APPLIED:
            raise Conflict(_("This receipts file has already been imported."), code="already_applied")
        _check_task(task)
        content = bytes(batch.content)
        plan = plan_receipts(agency=agency, task=task, content=content, lock=True)
        if not plan.ok:
            answer = plan.answer(dry_run=False, applied=False)
            batch.result = {**answer, "errors": answer["errors"][:STORED_ERRORS]}
            batch.save(update_fields=["result"])
            return answer
        _apply(
            agency=agency,
            task=task,
            actor=actor,
            plan=plan,
            filename=batch.original_name,
            content=content,
            progress=progress,
        )
        answer = plan.answer(dry_run=False, applied=True)
        batch.status, batch.applied_at, batch.result = ReceiptImport.Status.APPLIED, timezone.now(), answer
        batch.save(update_fields=["status", "applied_at", "result"])
    return answer
