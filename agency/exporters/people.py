"""Exports as people open them, kept apart from the file writers in subaccounts.py:

- the form: Chinese headers and labels (抖音, 个人号, 是; the default in zh-hans) or the codes
  (for re-import and integrations); the importer reads both back;
- the encoding of a CSV: UTF-8 with BOM (default) or GB18030 (Excel on older Chinese Windows);
- masking: account holders' mobile numbers and emails hidden (138****8013) unless the member
  may see them (agency.privacy);
- the import template: its example row in labels and, in XLSX, a drop-down on every choice column.
"""

import io

from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from agency.exporters.subaccounts import (
    CSV_CONTENT_TYPE,
    MONEY_FORMAT,
    XLSX_CONTENT_TYPE,
    export_filename,
    export_queryset_rows,
    file_response,
    masked_row,
    render_csv,
    render_xlsx,
)
from agency.importers.columns import COLUMNS
from agency.models import Platform

LABELS, CODES = "labels", "codes"
UTF8, GB18030 = "utf-8", "gb18030"
TEMPLATE_VALIDATION_ROWS = 2000


def default_form() -> str:
    """Labels for people reading Chinese, codes otherwise (both can be chosen on the page)."""
    return LABELS if (translation.get_language() or "").startswith("zh") else CODES


def _label(col, value):
    if value in (None, ""):
        return value
    if col.kind == "choice":
        return str(dict(col.choices.choices).get(value, value))
    if col.kind == "bool":
        return _("yes") if value else _("no")
    if col.kind == "parent" and isinstance(value, str) and ":" in value:
        platform, _sep, account_id = value.partition(":")
        return f"{Platform(platform).label if platform in Platform.values else platform}:{account_id}"
    if col.kind == "tags" and isinstance(value, str):
        return value
    return value


def people_row(values: list, *, labels: bool, masked: bool) -> list:
    if masked:
        values = masked_row(values)
    return [_label(col, value) for col, value in zip(COLUMNS, values, strict=True)] if labels else list(values)


def people_rows(rows, *, labels: bool, masked: bool):
    for values in rows:
        yield people_row(values, labels=labels, masked=masked)


def encode_csv(content: bytes, encoding: str) -> bytes:
    """render_csv writes UTF-8 with BOM; GB18030 is the same text for older Excel."""
    if encoding == GB18030:
        return content.decode("utf-8-sig").encode("gb18030", errors="replace")
    return content


def _response(content: bytes, *, filename: str, fmt: str, encoding: str) -> HttpResponse:
    response = file_response(content, filename=filename, fmt=fmt)
    if fmt == "csv" and encoding == GB18030:
        response["Content-Type"] = CSV_CONTENT_TYPE.replace("utf-8", "gb18030")
    return response


def export_bytes_for_people(*, rows, fmt: str, form: str, encoding: str, masked: bool) -> bytes:
    """The export file's bytes from account rows (`export_queryset_rows`), as a person reads them."""
    labels = form == LABELS
    rows = people_rows(rows, labels=labels, masked=masked)
    header = "zh" if labels else "en"
    return encode_csv(render_csv(rows, header), encoding) if fmt == "csv" else render_xlsx(rows, header)


def export_content_type(fmt: str, encoding: str = UTF8) -> str:
    if fmt == "csv":
        return CSV_CONTENT_TYPE.replace("utf-8", "gb18030") if encoding == GB18030 else CSV_CONTENT_TYPE
    return XLSX_CONTENT_TYPE


def export_for_people(*, agency, queryset, fmt: str, form: str, encoding: str, masked: bool) -> HttpResponse:
    content = export_bytes_for_people(rows=export_queryset_rows(queryset), fmt=fmt, form=form, encoding=encoding,
                                      masked=masked)
    return _response(content, filename=export_filename(agency, fmt), fmt=fmt, encoding=encoding)


def template_example_row(*, labels: bool) -> list:
    return people_row([c.example for c in COLUMNS], labels=labels, masked=False)


def _choice_words(col) -> list[str]:
    if col.kind == "bool":
        return [_("yes"), _("no")]
    return [str(label) for _value, label in col.choices.choices]


def template_xlsx(*, labels: bool) -> bytes:
    """The import template: headers, one example row, a drop-down list on every choice and
    yes/no column (people pick 抖音 instead of typing it)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("sub-accounts")[:31]
    sheet.append([c.title_zh if labels else c.name for c in COLUMNS])
    sheet.append(template_example_row(labels=labels))
    for index, col in enumerate(COLUMNS, start=1):
        if col.kind == "money":
            sheet.cell(row=2, column=index).number_format = MONEY_FORMAT
    lists = workbook.create_sheet(_("choices")[:31])
    list_column = 0
    for index, col in enumerate(COLUMNS, start=1):
        if col.kind not in ("choice", "bool"):
            continue
        words = _choice_words(col) if labels else (
            ["true", "false"] if col.kind == "bool" else list(col.choices.values))
        list_column += 1
        letter = get_column_letter(list_column)
        lists.cell(row=1, column=list_column, value=col.title_zh if labels else col.name)
        for row, word in enumerate(words, start=2):
            lists.cell(row=row, column=list_column, value=word)
        validation = DataValidation(type="list", formula1=f"'{lists.title}'!${letter}$2:${letter}${len(words) + 1}",
                                    allow_blank=True, showErrorMessage=True,
                                    error=_("Choose one of the listed values."),
                                    errorTitle=pgettext("spreadsheet", "Not in the list"))
        target = get_column_letter(index)
        validation.add(f"{target}2:{target}{TEMPLATE_VALIDATION_ROWS}")
        sheet.add_data_validation(validation)
    lists.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_for_people(*, fmt: str, form: str, encoding: str) -> HttpResponse:
    labels = form == LABELS
    if fmt == "xlsx":
        content = template_xlsx(labels=labels)
    else:
        content = encode_csv(render_csv([template_example_row(labels=labels)], "zh" if labels else "en"), encoding)
    return _response(content, filename=f"sub-accounts-import-template.{fmt}", fmt=fmt, encoding=encoding)
