"""Sub-account spreadsheets out: the import template and the export of a filtered list.

CSV is UTF-8 with a BOM and CRLF line ends (Excel on Chinese Windows opens it without
garbling); XLSX keeps numbers as numbers and dates as dates. In CSV, text that a spreadsheet
would run as a formula (=, +, -, @ and their full-width forms) is neutralised with a leading
apostrophe (the importer strips it); in XLSX text cells are typed as text, which no
spreadsheet runs, so they need no apostrophe (a mobile stays `+86…`).
"""

import csv
import io
from datetime import date
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone

from agency.fields import FORMULA_PREFIXES
from agency.importers.columns import COLUMNS
from agency.privacy import CONTACT_FIELDS, mask_contact

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"  # money cells: numbers (sums work) shown with two decimals and thousands


TEXT_FORMAT = "@"


def neutralise(value):
    """For CSV, where a cell has no type: a leading apostrophe before a formula trigger."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def xlsx_text_cell(sheet, value: str):
    """A text cell typed as text (shown and kept as written, never run as a formula)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # Control characters (U+0000–U+001F but tab and line breaks) cannot be stored in an XLSX cell:
    # each is shown as U+FFFD rather than failing the whole export (CSV keeps them as they are).
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    cell.data_type = "s"
    cell.number_format = TEXT_FORMAT
    return cell


def header_row(header: str = "en") -> list[str]:
    return [c.title_zh if header == "zh" else c.name for c in COLUMNS]


def account_values(account) -> list:
    out = []
    for col in COLUMNS:
        if col.name == "parent":
            parent = account.parent
            value = f"{parent.platform}:{parent.platform_account_id}" if parent else ""
        elif col.name == "tags":
            value = "; ".join(account.tags or [])
        else:
            value = getattr(account, col.name)
        out.append(value)
    return out


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def render_csv(rows, header: str = "en") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header_row(header))
    for values in rows:
        writer.writerow([_csv_cell(v) for v in values])
    return buffer.getvalue().encode("utf-8-sig")


def render_xlsx(rows, header: str = "en", sheet_title: str = "sub-accounts") -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    sheet.append(header_row(header))
    for values in rows:
        cells = []
        for value in values:
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = DATE_FORMAT
                cells.append(cell)
            elif isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = MONEY_FORMAT
                cells.append(cell)
            elif isinstance(value, str):
                cells.append(xlsx_text_cell(sheet, value))
            else:
                cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_queryset_rows(queryset):
    for account in queryset.select_related("parent").iterator(chunk_size=2000):
        yield account_values(account)


def masked_row(values: list) -> list:
    """A row with the account holder's mobile number and email masked (PIPL)."""
    return [mask_contact(col.name, value) if col.name in CONTACT_FIELDS and value else value
            for col, value in zip(COLUMNS, values, strict=True)]


def template_rows() -> list[list]:
    return [[c.example for c in COLUMNS]]


def file_response(content: bytes, *, filename: str, fmt: str) -> HttpResponse:
    response = HttpResponse(content, content_type=CSV_CONTENT_TYPE if fmt == "csv" else XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_filename(agency, fmt: str) -> str:
    stamp = timezone.localtime(timezone.now(), agency.tz).strftime("%Y%m%d-%H%M")
    return f"sub-accounts-{agency.slug}-{stamp}.{fmt}"


def export_response(*, agency, queryset, fmt: str, header: str = "en", masked: bool = True) -> HttpResponse:
    rows = export_queryset_rows(queryset)
    if masked:
        rows = map(masked_row, rows)
    content = render_csv(rows, header) if fmt == "csv" else render_xlsx(rows, header)
    return file_response(content, filename=export_filename(agency, fmt), fmt=fmt)


def template_response(*, fmt: str, header: str = "en") -> HttpResponse:
    rows = template_rows()
    content = render_csv(rows, header) if fmt == "csv" else render_xlsx(rows, header)
    return file_response(content, filename=f"sub-accounts-import-template.{fmt}", fmt=fmt)
