"""Spreadsheet bytes → rows, for files as people really produce them: XLSX, or CSV saved
by Excel on Chinese Windows (GB18030/GBK), UTF-8 with or without a BOM, UTF-16
("Unicode text"), comma, semicolon or tab separated."""

import csv
import io
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.utils.translation import gettext as _

XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls


class FileRejected(ValueError):
    """The file as a whole cannot be read (type, size, encoding)."""


@dataclass
class Table:
    kind: str  # "csv" or "xlsx"
    rows: list[tuple[int, list]]  # (row number as the spreadsheet shows it, cells)
    encoding: str = ""


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_BYTES


def check_size(size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise FileRejected(
            _("The file is %(size).1f MB; the limit is %(limit).0f MB. Split it into smaller files.")
            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024}
        )


def read_table(content: bytes) -> Table:
    check_size(len(content))
    if not content.strip():
        raise FileRejected(_("The file is empty."))
    if content.startswith(XLSX_MAGIC):
        return _read_xlsx(content)
    if content.startswith(OLE2_MAGIC):
        raise FileRejected(_("This is an old Excel 97–2003 (.xls) file. Save it as .xlsx or CSV and upload again."))
    return _read_csv(content)


def _read_xlsx(content: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRejected(_("The file is neither a CSV nor an XLSX spreadsheet.")) from exc
    except Exception as exc:  # openpyxl raises its own InvalidFileException for other zip files
        raise FileRejected(_("The file is neither a CSV nor an XLSX spreadsheet.")) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = [(number, list(values)) for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()
    return Table(kind="xlsx", rows=rows)


def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16"), "utf-16"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page (GBK); GB18030 is its superset.
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileRejected(
            _("The file's text encoding cannot be read. Save it as “CSV UTF-8” or as XLSX and upload again.")
        ) from exc


def _read_csv(content: bytes) -> Table:
    kind = filetype.guess(content)
    if kind is not None:
        raise FileRejected(
            _("The file is a %(type)s, neither a CSV nor an XLSX spreadsheet.") % {"type": kind.extension.upper()}
        )
    try:
        text, encoding = _decode(content)
    except UnicodeDecodeError as exc:
        raise FileRejected(_("The file is neither a CSV nor an XLSX spreadsheet.")) from exc
    if "\x00" in text:
        raise FileRejected(_("The file is neither a CSV nor an XLSX spreadsheet."))
    sample = "\n".join(line for line in text[:20000].splitlines() if line.strip())[:8000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(number, cells) for number, cells in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise FileRejected(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc
    return Table(kind="csv", rows=rows, encoding=encoding)
